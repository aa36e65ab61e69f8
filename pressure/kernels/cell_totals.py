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

from pressure.kernels import counted_above


def cell_totals(frames: np.ndarray, above=None) -> np.ndarray:
    """``frames.sum(axis=0, dtype=np.float64)`` of (time, rows, cols) frames; with ``above``, of
    the values above it only (``np.where(frames > above, frames, 0)``: a cell counts while it is
    loaded, as in every other measure)."""
    if frames.ndim != 3:
        raise ValueError(f"frames must be (time, rows, cols), got {frames.shape}")
    if not frames.dtype.isnative or not (frames.dtype.kind in "biu" or frames.dtype == np.float32):
        # float64 (nothing to convert: NumPy's loop is the faster, 7.9 against 10.9 ms), float16,
        # byte-swapped: NumPy's own
        counted = frames if above is None else np.where(frames > above, frames, frames.dtype.type(0))
        return counted.sum(axis=0, dtype=np.float64)
    flat = np.ascontiguousarray(frames).reshape(len(frames), frames.shape[1] * frames.shape[2])
    if frames.dtype.kind == "b":
        flat = flat.view(np.uint8)
    above = None if above is None else counted_above(flat.dtype, above)
    thresholded, above = above is not None, flat.dtype.type(0 if above is None else above)
    totals = np.zeros(flat.shape[1])
    kind, size = flat.dtype.kind, flat.dtype.itemsize
    if kind == "u" and size <= 2:
        _narrow_totals(flat, np.zeros(flat.shape[1], np.uint32), 1 << (32 - 8 * size), totals, above, thresholded)
    elif kind == "i" and size <= 2:
        _narrow_totals(flat, np.zeros(flat.shape[1], np.int32), 1 << (31 - 8 * size), totals, above, thresholded)
    else:
        _wide_totals(flat, totals, above, thresholded)
    return totals.reshape(frames.shape[1:])


@njit(cache=True, nogil=True, inline="always")
def _add_frame(into, row, above, thresholded):
    """``into += row`` (cells), only where ``row > above`` when ``thresholded``."""
    if thresholded:
        zero = row.dtype.type(0)
        for c in range(row.shape[0]):
            into[c] += row[c] if row[c] > above else zero
    else:
        for c in range(row.shape[0]):
            into[c] += row[c]


@njit(cache=True, nogil=True)
def _narrow_totals(flat, partial, strip, totals, above, thresholded):
    """``strip`` frames at most into ``partial`` (no overflow: strip * the type's largest value
    fits), then into ``totals``; when ``thresholded``, values above ``above`` only."""
    n_frames, n_cells = flat.shape
    for first in range(0, n_frames, strip):
        partial[:] = 0
        for t in range(first, min(first + strip, n_frames)):
            _add_frame(partial, flat[t], above, thresholded)
        for c in range(n_cells):
            totals[c] += partial[c]


@njit(cache=True, nogil=True)
def _wide_totals(flat, totals, above, thresholded):
    for t in range(flat.shape[0]):
        _add_frame(totals, flat[t], above, thresholded)
