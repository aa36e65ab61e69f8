"""Per-cell summaries of a session: highest and lowest value, and whether the cell was loaded
long enough to belong to a foot. The session may be read in blocks of frames: the summary
carries each cell's running state from one block to the next."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pressure.kernels import FASTMATH, threads_for


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _cell_summary(frames, threshold, peak, floor, run, longest):
    """Branch-free per cell so the column loop vectorises; rows are shared out between threads.
    ``peak``, ``floor``, ``run`` (the loaded run still going) and ``longest`` are updated in place."""
    n_frames, rows, cols = frames.shape
    for r in prange(rows):
        high = peak[r].copy()
        low = floor[r].copy()
        going = run[r].copy()
        best = longest[r].copy()
        for t in range(n_frames):
            line = frames[t, r]
            for c in range(cols):
                value = line[c]
                high[c] = value if value > high[c] else high[c]
                low[c] = value if value < low[c] else low[c]
                going[c] = (going[c] + 1) if value > threshold else 0
                best[c] = going[c] if going[c] > best[c] else best[c]
        peak[r] = high
        floor[r] = low
        run[r] = going
        longest[r] = best


class CellSummary:
    """Per cell: the highest value (0 at least; NaN never wins), the lowest value (NaN for a cell
    that is NaN in the first frame), and whether it exceeded ``threshold`` (in the frames' units)
    for ``min_run`` consecutive frames, which random noise spikes do not; fed block by block."""

    def __init__(self, shape: tuple[int, int], dtype, threshold: float, min_run: int):
        if min_run < 1:
            raise ValueError("min_run must be >= 1")
        dtype = np.dtype(dtype)
        if np.issubdtype(dtype, np.integer):
            threshold = dtype.type(min(np.floor(threshold), np.iinfo(dtype).max))
        else:
            threshold = dtype.type(threshold)
        self.threshold, self.min_run = threshold, int(min_run)
        self.peak = np.zeros(shape, dtype)
        self.floor: np.ndarray | None = None  # the first frame, once seen
        self.run = np.zeros(shape, np.int64)
        self.longest = np.zeros(shape, np.int64)

    def feed(self, frames: np.ndarray) -> None:
        if frames.ndim != 3 or frames.shape[1:] != self.peak.shape:
            raise ValueError(f"frames must be (time, {self.peak.shape[0]}, {self.peak.shape[1]}), got {frames.shape}")
        if len(frames) == 0:
            return
        if self.floor is None:
            self.floor = frames[0].astype(self.peak.dtype, copy=True)
        with threads_for(frames.size):
            _cell_summary(np.ascontiguousarray(frames, self.peak.dtype), self.threshold, self.peak, self.floor,
                          self.run, self.longest)

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.floor is None:
            raise ValueError("no frames were fed")
        return self.peak, self.floor, self.longest >= self.min_run


def cell_summary(frames: np.ndarray, threshold: float, min_run: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:class:`CellSummary` of a whole session at once."""
    if frames.ndim != 3 or frames.shape[0] == 0:
        raise ValueError(f"frames must be a non-empty (time, row, col) array, got {frames.shape}")
    summary = CellSummary(frames.shape[1:], frames.dtype, threshold, min_run)
    summary.feed(frames)
    return summary.result()
