"""Plain NumPy frames: a ``.npy`` array (time, rows, cols) in kPa, with pitch and rate given.

The header is read and checked before any data: its shape must be three positive sizes whose
data the file actually holds, so a damaged header never makes this allocate more than the file.
"""

from __future__ import annotations

import math
import tokenize
import warnings

import numpy as np
from numpy.lib import format as npy_format

from drivers.base import Counters, DriverError
from drivers.files.metadata import GEOMETRY_OPTIONS, check_pressures, plain_info
from drivers.recording import Recording

FORMAT_NAME = "NumPy"
OPTIONS = GEOMETRY_OPTIONS
HEADER_ERRORS = (ValueError, SyntaxError, TypeError, KeyError, tokenize.TokenError, RecursionError, MemoryError,
                 OverflowError, EOFError)


def read(path, options, url) -> Recording:
    size = path.stat().st_size
    if size == 0:
        raise DriverError(f"{path}: the file is empty")
    with open(path, "rb") as f:
        shape, fortran_order, dtype = _header(path, f)
        offset = f.tell()
        if len(shape) != 3:
            raise DriverError(f"{path}: frames must be a (time, rows, cols) array, got {len(shape)}-D {shape}")
        if dtype.kind not in "iuf" or dtype.fields is not None or dtype.subdtype is not None:
            raise DriverError(f"{path}: frames must be numbers, got {dtype}")
        if shape[0] == 0:
            raise DriverError(f"{path}: no frames in the file (shape {shape})")
        if shape[1] == 0 or shape[2] == 0:
            raise DriverError(f"{path}: frames of {shape[1]}x{shape[2]} cells hold nothing (shape {shape})")
        info = plain_info(path, options, shape[1], shape[2], dtype.newbyteorder("="), "NumPy frames", shape[0])
        count = math.prod(shape)
        need, have = count * dtype.itemsize, size - offset
        if need > have:
            raise DriverError(f"{path}: cut short or damaged: the header announces {shape} {dtype} "
                              f"({need} bytes) but only {have} bytes follow it")
        data = np.fromfile(f, dtype=dtype, count=count)
    if len(data) != count:
        raise DriverError(f"{path}: cut short: {len(data)} of {count} values could be read")
    frames = data.reshape(shape[::-1]).transpose() if fortran_order else data.reshape(shape)
    check_pressures(path, frames, lambda index: f"frame {index[0] + 1}")
    n = shape[0]
    frames = np.ascontiguousarray(frames, dtype=info.dtype)
    return Recording(frames, np.arange(n, dtype=np.int64), np.arange(n) / info.rate_hz,
                     info, Counters(), url)


def _header(path, f) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from a .npy header; any damage is a DriverError."""
    try:
        version = npy_format.read_magic(f)
    except HEADER_ERRORS:
        raise DriverError(f"{path}: not a NumPy .npy file (it does not start with the .npy signature)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "created on Python 2": the header is checked below anyway
            if version == (1, 0):
                shape, fortran_order, dtype = npy_format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran_order, dtype = npy_format.read_array_header_2_0(f)
            elif version == (3, 0) and hasattr(npy_format, "_read_array_header"):
                shape, fortran_order, dtype = npy_format._read_array_header(f, version)
            else:
                raise DriverError(f"{path}: .npy format version {version[0]}.{version[1]} is not one NumPy writes")
    except HEADER_ERRORS as error:
        detail = " ".join(str(error).split())[:120]
        raise DriverError(f"{path}: the .npy header is damaged ({detail})") from None
    if not all(isinstance(size, int) and size >= 0 for size in shape):
        raise DriverError(f"{path}: the .npy header gives an impossible shape {shape}")
    return tuple(shape), bool(fortran_order), np.dtype(dtype)
