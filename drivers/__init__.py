"""Frame sources for pressure mats: simulator, stored files and vendor exports.

Frames flow one way: this package never imports ``pressure``. A driver is chosen by URL
scheme (and, for files, by extension); its module is imported only when it is asked for.
"""

from __future__ import annotations

import dataclasses
import importlib

from drivers.base import Counters, DriverError, EndOfStream, Frame, MatDriver, MatInfo
from drivers.recording import Recording
from drivers.url import DriverURL, parse_url

SCHEMES: dict[str, tuple[str, str]] = {
    "sim": ("drivers.simulator", "SimMat"),
    "file": ("drivers.files", "open_file"),
    "serial": ("drivers.serial_mat", "SerialMat"),
    "pair": ("drivers.pair", "open_pair"),
}

__all__ = [
    "Counters", "DriverError", "EndOfStream", "Frame", "MatDriver", "MatInfo", "Recording",
    "DriverURL", "SCHEMES", "open_url", "load", "parse_url",
]


def open_url(url: str, fallbacks: dict[str, str] | None = None, stream_above_bytes: int | None = None) -> MatDriver:
    """Open the frame source that ``url`` names (see DESIGN.md section 3).

    ``fallbacks`` are options used where the source accepts them and the URL does not set them.
    A stored session whose frames take more than ``stream_above_bytes`` leaves them in its file,
    read block by block when used (``drivers.session_frames``).
    """
    parsed = dataclasses.replace(parse_url(url), fallbacks=dict(fallbacks or {}),
                                 stream_above_bytes=stream_above_bytes)
    try:
        module_name, attribute = SCHEMES[parsed.scheme]
    except KeyError:
        known = ", ".join(f"{scheme}://" for scheme in SCHEMES)
        raise DriverError(f"unknown scheme {parsed.scheme}:// in {url}; known: {known}") from None
    factory = getattr(importlib.import_module(module_name), attribute)
    return factory(parsed)


def load(url: str, max_frames: int | None = None, fallbacks: dict[str, str] | None = None,
         stream_above_bytes: int | None = None) -> Recording:
    """Every frame of a finite source as one :class:`Recording` (a stored session's frames left
    in their file when they take more than ``stream_above_bytes``)."""
    with open_url(url, fallbacks, stream_above_bytes) as source:
        return source.load(max_frames)
