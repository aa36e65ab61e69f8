"""Per-cell summaries of a session: highest and lowest value, and whether the cell was loaded
long enough to belong to a foot."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pressure.kernels import FASTMATH, threads_for


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _cell_summary(frames, threshold, min_run):
    """Branch-free per cell so the column loop vectorises; rows are shared out between threads."""
    n_frames, rows, cols = frames.shape
    peak = np.zeros((rows, cols), frames.dtype)
    floor = frames[0].copy()
    sustained = np.zeros((rows, cols), np.bool_)
    for r in prange(rows):
        high = peak[r].copy()
        low = floor[r].copy()
        run = np.zeros(cols, np.int32)
        longest = np.zeros(cols, np.int32)
        for t in range(n_frames):
            line = frames[t, r]
            for c in range(cols):
                value = line[c]
                high[c] = value if value > high[c] else high[c]
                low[c] = value if value < low[c] else low[c]
                run[c] = (run[c] + 1) if value > threshold else 0
                longest[c] = run[c] if run[c] > longest[c] else longest[c]
        peak[r] = high
        floor[r] = low
        for c in range(cols):
            sustained[r, c] = longest[c] >= min_run
    return peak, floor, sustained


def cell_summary(frames: np.ndarray, threshold: float, min_run: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell: the highest value (0 at least; NaN never wins), the lowest value (NaN for a cell
    that is NaN in the first frame), and whether it exceeded ``threshold`` (in the frames' units)
    for ``min_run`` consecutive frames, which random noise spikes do not."""
    if frames.ndim != 3 or frames.shape[0] == 0:
        raise ValueError(f"frames must be a non-empty (time, row, col) array, got {frames.shape}")
    if min_run < 1:
        raise ValueError("min_run must be >= 1")
    if np.issubdtype(frames.dtype, np.integer):
        threshold = frames.dtype.type(min(np.floor(threshold), np.iinfo(frames.dtype).max))
    else:
        threshold = frames.dtype.type(threshold)
    with threads_for(frames.size):
        return _cell_summary(np.ascontiguousarray(frames), threshold, int(min_run))
