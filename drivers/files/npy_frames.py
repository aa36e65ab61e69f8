"""Plain NumPy frames: a ``.npy`` array (time, rows, cols) in kPa, with pitch and rate given."""

from __future__ import annotations

import numpy as np

from drivers.base import Counters, DriverError
from drivers.files.metadata import GEOMETRY_OPTIONS, plain_info
from drivers.recording import Recording

FORMAT_NAME = "NumPy"
OPTIONS = GEOMETRY_OPTIONS


def read(path, options, url) -> Recording:
    frames = np.load(path, allow_pickle=False)
    if frames.ndim != 3:
        raise DriverError(f"{path}: frames must be a (time, rows, cols) array, got {frames.ndim}-D {frames.shape}")
    if frames.dtype.kind not in "iuf":
        raise DriverError(f"{path}: frames must be numbers, got {frames.dtype}")
    info = plain_info(path, options, frames.shape[1], frames.shape[2], frames.dtype, "NumPy frames")
    n = len(frames)
    return Recording(np.ascontiguousarray(frames), np.arange(n, dtype=np.int64), np.arange(n) / info.rate_hz,
                     info, Counters(), url)
