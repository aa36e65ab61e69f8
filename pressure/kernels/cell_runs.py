"""Per-cell loading runs: the stretches of time each cell carries load, with hysteresis.

A cell's run starts when its value rises above ``high`` and lasts while it stays above ``low``;
dips to ``low`` or below that last at most ``bridge`` frames do not end it (a sensor's brief
dropout, or a toe lifting for a frame). A run also ends when the cell has not been above ``high``
for ``hold`` frames: a sensor that creeps back slowly after the foot left (reading a little under
the threshold for seconds) must not hold the spot's next contact to the last one. Each run
records how many frames it was above ``low``, so that noise (spikes a few frames apart, bridged
into one run) can be told from load. The kernel reads a session chunk by chunk: the open runs are
carried in a small per-cell state, so a session of any length is read in bounded memory and a
chunk boundary changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from pressure.kernels.peak_image import CellExtremes


# nogil: a streamed session's next block decodes on the other threads while this runs
@njit(cache=True, nogil=True)
def _cell_runs(frames, highest, lowest, some_nan, high, low, live, bridge, hold, frame0, open_start,
               last_above, last_high, open_peak, open_count, run_cell, run_start, run_end, run_peak, run_count):
    """Appends the runs closed in this chunk; returns their count, or -1 when the output is full
    (the caller retries with room for more, from a copy of the state).

    Most cells cannot change state within a chunk: a cell with no run open and never above
    ``high`` stays as it is, and one whose run is open and above ``high`` in every frame only
    counts. The chunk's extremes tell those (``highest``, ``lowest`` and ``some_nan`` per cell,
    from ``CellExtremes``: one vectorised pass, shared with the cell summary), compared with
    ``high`` here as each value is when stepping (NumPy would compare float32 extremes with
    ``high`` rounded to float32), and they are settled at once. The state machine steps frame by
    frame only through the other cells (a foot's rim, a foot landing or leaving), in the same
    order as for every cell, so the runs close in the same order. Per cell and frame, the
    extremes' pass included: 0.34-0.38 ns against 1.11-1.29 ns for stepping through every cell
    (60,000 frames of the benchmark's standing 64x64 hour), 0.31-0.34 against 1.01 at 256x256,
    0.52 against 1.19 on fixtures/walking.h5: the same runs, one timed run of each, interleaved."""
    n_frames = frames.shape[0]
    if n_frames == 0:
        return 0
    flat = frames.reshape(n_frames, -1)
    n_cells = flat.shape[1]
    last = frame0 + n_frames - 1
    stepped = np.empty(n_cells, np.int64)
    n_stepped = 0
    for cell in range(n_cells):
        if not live[cell]:
            continue
        if open_start[cell] >= 0:
            if lowest[cell] > high and not some_nan[cell]:  # loaded throughout: every frame extends the run
                last_high[cell] = last
                last_above[cell] = last
                open_count[cell] += n_frames
                open_peak[cell] = max(open_peak[cell], float(highest[cell]))
                continue
        elif not highest[cell] > high:  # nothing opens a run (NaN only where every value is)
            continue
        stepped[n_stepped] = cell
        n_stepped += 1

    capacity = len(run_cell)
    n = 0
    for t in range(n_frames):
        now = frame0 + t
        row = flat[t]
        for k in range(n_stepped):
            cell = stepped[k]
            value = row[cell]
            if open_start[cell] >= 0:
                if value > high:
                    last_high[cell] = now
                if value > low and now - last_high[cell] <= hold:
                    last_above[cell] = now
                    open_count[cell] += 1
                    if value > open_peak[cell]:
                        open_peak[cell] = value
                    continue
                if now - last_above[cell] <= bridge and now - last_high[cell] <= hold:
                    continue
                if n == capacity:
                    return -1
                run_cell[n] = cell
                run_start[n] = open_start[cell]
                # A reading that never rose above ``high`` again is creep, not load.
                run_end[n] = min(last_above[cell], last_high[cell] + bridge)
                run_peak[n] = open_peak[cell]
                run_count[n] = open_count[cell]
                n += 1
                open_start[cell] = -1
            if open_start[cell] < 0 and value > high:
                open_start[cell] = now
                last_above[cell] = now
                last_high[cell] = now
                open_peak[cell] = value
                open_count[cell] = 1
    return n


@dataclass
class Runs:
    """Closed runs, one entry each: flat cell index (row * cols + col), first and last frame
    (inclusive), the highest value in device units and the number of frames above ``low``."""

    cell: np.ndarray
    start: np.ndarray
    end: np.ndarray
    peak: np.ndarray
    count: np.ndarray

    FIELDS = ("cell", "start", "end", "peak", "count")

    @classmethod
    def empty(cls) -> "Runs":
        return cls(*(np.zeros(0, np.float64 if name == "peak" else np.int64) for name in cls.FIELDS))

    @classmethod
    def concatenate(cls, parts: list["Runs"]) -> "Runs":
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in cls.FIELDS))

    def __len__(self) -> int:
        return len(self.cell)

    def take(self, keep: np.ndarray) -> "Runs":
        return Runs(*(getattr(self, name)[keep] for name in self.FIELDS))


class CellRuns:
    """Feeds a session's frames chunk by chunk and collects every cell's loading runs.

    ``high`` and ``low`` are in the frames' units; ``live`` (rows, cols) marks the cells to read
    (cells masked as stuck or saturated never start a run).
    """

    def __init__(self, shape: tuple[int, int], high: float, low: float, bridge_frames: int,
                 live: np.ndarray | None = None, hold_frames: int | None = None, first_frame: int = 0):
        if not high >= low:
            raise ValueError(f"the upper threshold ({high}) must not be below the lower one ({low})")
        if bridge_frames < 0:
            raise ValueError("bridge_frames must be >= 0")
        n_cells = shape[0] * shape[1]
        self.shape = shape
        self.high, self.low, self.bridge = float(high), float(low), int(bridge_frames)
        self.hold = np.iinfo(np.int64).max // 2 if hold_frames is None else max(int(hold_frames), self.bridge)
        self.live = np.ones(n_cells, np.bool_) if live is None else np.ascontiguousarray(live, np.bool_).ravel()
        self._state = {
            "open_start": np.full(n_cells, -1, np.int64), "last_above": np.zeros(n_cells, np.int64),
            "last_high": np.zeros(n_cells, np.int64), "open_peak": np.zeros(n_cells, np.float64),
            "open_count": np.zeros(n_cells, np.int64)}
        self._closed: list[Runs] = []
        self.n_frames = first_frame  # the index of the next frame fed

    def feed(self, frames: np.ndarray, extremes: CellExtremes | None = None) -> None:
        """Reads the next frames (time, rows, cols) of the session; ``extremes``: theirs, if
        already found."""
        if frames.ndim != 3 or frames.shape[1:] != self.shape:
            raise ValueError(f"frames must be (time, {self.shape[0]}, {self.shape[1]}), got {frames.shape}")
        if len(frames) == 0:
            return
        frames = np.ascontiguousarray(frames)
        if extremes is None:
            extremes = CellExtremes.of(frames)
        highest, lowest, some_nan = (part.ravel() for part in (extremes.highest, extremes.lowest, extremes.some_nan))
        capacity = 2 * self.live.size + 1024
        while True:
            state = {name: array.copy() for name, array in self._state.items()}
            out = Runs(*(np.empty(capacity, np.float64 if name == "peak" else np.int64) for name in Runs.FIELDS))
            n = _cell_runs(frames, highest, lowest, some_nan, self.high, self.low, self.live, self.bridge,
                           self.hold, self.n_frames,
                           state["open_start"], state["last_above"], state["last_high"], state["open_peak"],
                           state["open_count"], out.cell, out.start, out.end, out.peak, out.count)
            if n >= 0:
                break
            capacity *= 4
        self._state = state
        self._closed.append(out.take(slice(0, n)))
        self.n_frames += len(frames)

    def control(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per cell: whether its run is open and, if so, the last frames it was above ``low`` and
        above ``high`` (-1 for closed cells): all that decides what the next frames do to it (the
        rest of the state is only counted)."""
        state = self._state
        is_open = state["open_start"] >= 0
        return is_open, np.where(is_open, state["last_above"], -1), np.where(is_open, state["last_high"], -1)

    def carry_on(self) -> np.ndarray:
        """Forget what was read but what decides what comes next: the runs closed so far are
        dropped, and the runs still open start over at the next frame with nothing counted (the
        reading of a segment of the session, after a warm-up, continues the runs the segment
        before it left open). Returns those cells."""
        state = self._state
        carried = np.flatnonzero(state["open_start"] >= 0)
        state["open_start"][carried] = self.n_frames
        state["open_peak"][carried] = 0.0
        state["open_count"][carried] = 0
        self._closed = []
        return carried

    def take_closed(self) -> Runs:
        """The runs closed so far (and forgets them), in the order they closed."""
        runs = Runs.concatenate(self._closed)
        self._closed = []
        return runs

    def open_runs(self) -> tuple[Runs, np.ndarray]:
        """The runs still open, as they stand (start, peak and count so far; end: where they
        would end if the session ended here), and each one's last frame above ``high``."""
        state = self._state
        cells = np.flatnonzero(state["open_start"] >= 0)
        end = np.minimum(state["last_above"], state["last_high"] + self.bridge)[cells]
        return (Runs(cells.astype(np.int64), state["open_start"][cells], end, state["open_peak"][cells],
                     state["open_count"][cells]), state["last_high"][cells])

    def finish(self) -> Runs:
        """Every run, those still open at the end of the session closed at their last loaded frame;
        sorted by cell, then time."""
        state = self._state
        still_open = np.flatnonzero(state["open_start"] >= 0)
        end = np.minimum(state["last_above"], state["last_high"] + self.bridge)
        self._closed.append(Runs(still_open.astype(np.int64), state["open_start"][still_open], end[still_open],
                                 state["open_peak"][still_open], state["open_count"][still_open]))
        state["open_start"][:] = -1
        runs = Runs.concatenate(self._closed)
        self._closed = []
        order = np.lexsort((runs.start, runs.cell))
        return runs.take(order)


@njit(cache=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@njit(cache=True)
def _link_runs(cell_offsets, start, end, rows, cols, slack):
    """Union of runs of 8-neighbouring cells whose times overlap (within ``slack`` frames).
    Runs are sorted by cell, then start; ``cell_offsets[c]:cell_offsets[c + 1]`` are cell c's."""
    n = len(start)
    parent = np.arange(n)
    for r in range(rows):
        for c in range(cols):
            cell = r * cols + c
            for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):
                rr, cc = r + dr, c + dc
                if rr >= rows or cc < 0 or cc >= cols:
                    continue
                other = rr * cols + cc
                i, i_stop = cell_offsets[cell], cell_offsets[cell + 1]
                j, j_stop = cell_offsets[other], cell_offsets[other + 1]
                # Runs of one cell are disjoint and more than ``slack`` apart, so a sweep that
                # drops whichever run ends first meets every overlapping pair.
                while i < i_stop and j < j_stop:
                    if start[i] <= end[j] + slack and start[j] <= end[i] + slack:
                        a, b = _find(parent, i), _find(parent, j)
                        if a != b:
                            parent[max(a, b)] = min(a, b)
                    if end[i] < end[j]:
                        i += 1
                    else:
                        j += 1
    labels = np.empty(n, np.int64)
    for k in range(n):
        labels[k] = _find(parent, k)
    return labels


def link_runs(runs: Runs, shape: tuple[int, int], slack_frames: int) -> np.ndarray:
    """A component number per run (0..n-1 in order of each component's first run): runs of
    8-neighbouring cells that overlap in time belong together. ``runs`` sorted by cell, then start."""
    rows, cols = shape
    if len(runs) == 0:
        return np.zeros(0, np.int64)
    if np.any(np.diff(runs.cell) < 0):
        raise ValueError("runs must be sorted by cell")
    offsets = np.searchsorted(runs.cell, np.arange(rows * cols + 1)).astype(np.int64)
    roots = _link_runs(offsets, runs.start, runs.end, rows, cols, int(slack_frames))
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)
