"""Stored sessions written by ``pressure capture``."""

from drivers.session_file import read_session

FORMAT_NAME = "HDF5 session"
OPTIONS: dict = {}
STREAMS = True  # its frames can stay in the file (drivers.session_frames)


def read(path, options, url, stream_above_bytes=None):
    return read_session(path, url, stream_above_bytes)
