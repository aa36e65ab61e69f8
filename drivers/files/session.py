"""Stored sessions written by ``pressure capture``."""

from drivers.session_file import read_session

FORMAT_NAME = "HDF5 session"
OPTIONS: dict = {}


def read(path, options, url):
    return read_session(path, url)
