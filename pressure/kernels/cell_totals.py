"""Each cell's sum over a block of frames (the standing frames' mean pressure image).

NumPy's ``frames.sum(axis=0, dtype=np.float64)`` converts every value to float64 before adding it:
6.7 ms a block of 4,075 64x64 uint16 frames here. Integers of 16 bits or fewer add exactly in 32-bit
accumulators, eight to a vector instruction, flushed to float64 before they could overflow: 1.3 ms.
Other types add in float64 in time order, as NumPy adds along the first axis of frames stored
frame after frame (the same sums, bit for bit: tests/test_kernels.py); float64, float16 and
byte-swapped frames are NumPy's to add.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def cell_totals(frames: np.ndarray) -> np.ndarray:
    """``frames.sum(axis=0, dtype=np.float64)`` of (time, rows, cols) frames."""
    if frames.ndim != 3:
        raise ValueError(f"frames must be (time, rows, cols), got {frames.shape}")
    if not frames.dtype.isnative or not (frames.dtype.kind in "biu" or frames.dtype == np.float32):
        # float64 (nothing to convert: NumPy's loop is the faster, 7.9 against 10.9 ms), float16,
        # byte-swapped: NumPy's own
        return frames.sum(axis=0, dtype=np.float64)
    flat = np.ascontiguousarray(frames).reshape(len(frames), frames.shape[1] * frames.shape[2])
    totals = np.zeros(flat.shape[1])
    kind, size = frames.dtype.kind, frames.dtype.itemsize
    if kind in "ub" and size <= 2:
        _narrow_totals(flat.view(np.uint8) if kind == "b" else flat, np.zeros(flat.shape[1], np.uint32),
                       1 << (32 - 8 * size), totals)
    elif kind == "i" and size <= 2:
        _narrow_totals(flat, np.zeros(flat.shape[1], np.int32), 1 << (31 - 8 * size), totals)
    else:
        _wide_totals(flat, totals)
    return totals.reshape(frames.shape[1:])


@njit(cache=True, nogil=True)
def _narrow_totals(flat, partial, strip, totals):
    """``strip`` frames at most into ``partial`` (no overflow: strip * the type's largest value
    fits), then into ``totals``."""
    n_frames, n_cells = flat.shape
    for first in range(0, n_frames, strip):
        partial[:] = 0
        for t in range(first, min(first + strip, n_frames)):
            row = flat[t]
            for c in range(n_cells):
                partial[c] += row[c]
        for c in range(n_cells):
            totals[c] += partial[c]


@njit(cache=True, nogil=True)
def _wide_totals(flat, totals):
    n_frames, n_cells = flat.shape
    for t in range(n_frames):
        row = flat[t]
        for c in range(n_cells):
            totals[c] += row[c]
