"""Contacts tracked over segments of a session read apart (on the workers of a Dask cluster) and
stitched at the seams into exactly what one reading of the whole session gives.

What a frame does to a cell's run depends on the run being open and on the last frames the cell
was above the low and the high threshold; a run with no frame above ``high`` for ``hold`` frames
is closed, and a frame above ``high`` opens one or continues it. So after ``hold + bridge + 1``
frames the state that decides what comes next no longer depends on anything read before them:
each segment is read from that many frames before its start (a warm-up whose runs are the
previous segment's business), and from its start on its runs are the whole reading's, but for
the runs already open there, which continue runs of the segment before (``CellRuns.carry_on``).
``stitch_runs`` joins those and checks at every seam that both readings are in the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pressure.contacts.tracking import ContactTracker
from pressure.kernels.cell_runs import Runs
from pressure.kernels.peak_image import CellExtremes


@dataclass
class SegmentRuns:
    """The runs of frames ``start:stop``: those closed there (in the order they closed), the
    cells whose run was open at ``start`` (continuing the segment before), those still open at
    ``stop``, and the deciding state (``CellRuns.control``) at both ends."""

    start: int
    stop: int
    closed: Runs
    carried: np.ndarray
    still_open: Runs
    control_in: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    control_out: tuple[np.ndarray, np.ndarray, np.ndarray]


class SegmentTracker(ContactTracker):
    """Reads frames ``warm_up_from:stop`` of a session, fed in order, for the runs of ``start:stop``."""

    def __init__(self, shape: tuple[int, int], threshold: float, rate_hz: float, start: int, stop: int):
        super().__init__(shape, threshold, rate_hz)
        runs = self._runs
        self.start, self.stop = start, stop
        self.warm_up_from = max(0, start - (runs.hold + runs.bridge + 1))
        runs.n_frames = self.warm_up_from
        self._carried = np.zeros(0, np.int64)
        self._control_in = None
        if start == self.warm_up_from:
            self._begin()

    def _begin(self) -> None:
        if self.start > 0:
            self._control_in = self._runs.control()
            self._carried = self._runs.carry_on()

    def feed(self, frames: np.ndarray, extremes: CellExtremes | None = None) -> None:
        runs = self._runs
        before = min(len(frames), self.start - runs.n_frames) if runs.n_frames < self.start else 0
        if before > 0:
            runs.feed(frames[:before])
            if runs.n_frames == self.start:
                self._begin()
        if before < len(frames):
            runs.feed(frames[before:], extremes if before == 0 else None)  # extremes of the frames fed whole only

    def segment(self) -> SegmentRuns:
        if self._runs.n_frames != self.stop:
            raise ValueError(f"frames {self.warm_up_from}:{self.stop} were to be fed, got to {self._runs.n_frames}")
        still_open, _ = self._runs.open_runs()
        return SegmentRuns(self.start, self.stop, self._runs.take_closed(), self._carried, still_open,
                           self._control_in, self._runs.control())


class SeamMismatch(RuntimeError):
    """Two readings of a session disagree at a seam: never expected (see the module's note)."""


def stitch_runs(segments: list[SegmentRuns], n_cells: int) -> Runs:
    """Every run of the session, sorted by cell, then start: what ``CellRuns.finish`` gives for
    one reading of the frames of all ``segments`` (consecutive, from frame 0)."""
    carry_start = np.full(n_cells, -1, np.int64)
    carry_peak = np.zeros(n_cells)
    carry_count = np.zeros(n_cells, np.int64)
    parts = []
    expected = 0
    previous = None
    last: Runs | None = None
    for segment in segments:
        if segment.start != expected:
            raise ValueError(f"segments must follow each other: one starts at {segment.start}, not {expected}")
        expected = segment.stop
        closed, still_open = segment.closed, segment.still_open
        if previous is not None:
            if not all(np.array_equal(a, b) for a, b in zip(previous, segment.control_in)):
                raise SeamMismatch(f"the runs read apart disagree at frame {segment.start}")
            continuing = np.zeros(n_cells, bool)
            continuing[segment.carried] = True
            for runs in (closed, still_open):  # a carried run either closed here or is still open
                joins = np.flatnonzero(continuing[runs.cell] & (runs.start == segment.start))
                cells = runs.cell[joins]
                runs.start[joins] = carry_start[cells]
                runs.peak[joins] = np.maximum(runs.peak[joins], carry_peak[cells])
                runs.count[joins] += carry_count[cells]
        parts.append(closed)
        carry_start[:] = -1
        carry_start[still_open.cell] = still_open.start
        carry_peak[still_open.cell] = still_open.peak
        carry_count[still_open.cell] = still_open.count
        previous = segment.control_out
        last = still_open
    if last is not None:
        parts.append(last)  # open at the end of the session: closed where they last carried load
    runs = Runs.concatenate(parts)
    return runs.take(np.lexsort((runs.start, runs.cell)))
