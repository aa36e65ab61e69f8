"""How the analysis reads a session's frames for its passes: here, a block at a time
(``LocalReader``), or split along time across a Dask cluster (``pressure.cluster.ClusterReader``).

Either way a pass gives the same: the scan (each cell's summary, the checks of the values, every
loading run of the cells), the series of chosen contacts, and the measuring pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drivers.session_frames import BLOCK_BYTES, frame_blocks, give_back_memory
from pressure.contacts.series import CellSlots, contact_metrics
from pressure.contacts.tracking import ContactTracker
from pressure.imports_ahead import RESULTS_MODULES, imported_ahead
from pressure.kept_frames import KeptFrames
from pressure.kernels.cell_runs import Runs
from pressure.kernels.frame_metrics import FrameMetrics
from pressure.kernels.peak_image import CellExtremes, CellSummary
from pressure.measures.session import SessionMeasures

Prepare = Callable[[int, np.ndarray], np.ndarray]
T = TypeVar("T")


@dataclass(frozen=True)
class Preparation:
    """What a block of frames goes through before it is measured: into the kernels' units
    (``convert``), then the faulty cells under a foot repaired (``repair``; None where there are
    none). Called as ``prepare(first frame, block)``."""

    convert: Callable[[np.ndarray], np.ndarray]
    repair: Callable[[np.ndarray], np.ndarray] | None = None

    def __call__(self, first: int, block: np.ndarray) -> np.ndarray:
        block = self.convert(block)
        return block if self.repair is None else self.repair(block)


class FrameChecks:
    """What is wrong with a recording's values, if anything: no frames, NaN in cells that are not
    masked throughout, negative pressures; fed the kernels' frames block by block."""

    def __init__(self):
        self.frames = 0
        self.some_nan: np.ndarray | None = None
        self.all_nan: np.ndarray | None = None
        self.lowest = 0.0

    def feed(self, frames: np.ndarray, extremes: CellExtremes | None = None) -> None:
        """Reads the next frames; ``extremes``: theirs, if already found."""
        self.frames += len(frames)
        if len(frames) == 0 or frames.dtype.kind not in "fi":
            return
        if extremes is None:
            extremes = CellExtremes.of(frames)
        if frames.dtype.kind == "f":  # highest is NaN only where every value is
            self.merge_nan(extremes.some_nan, np.isnan(extremes.highest))
            self.lowest = min(self.lowest, float(np.nanmin(extremes.lowest, initial=0.0)))
        else:
            self.lowest = min(self.lowest, float(extremes.lowest.min(initial=0)))

    def merge_nan(self, some: np.ndarray, every: np.ndarray) -> None:
        self.some_nan = some if self.some_nan is None else self.some_nan | some
        self.all_nan = every if self.all_nan is None else self.all_nan & every

    def merge(self, later: "FrameChecks") -> None:
        self.frames += later.frames
        if later.some_nan is not None:
            self.merge_nan(later.some_nan, later.all_nan)
        self.lowest = min(self.lowest, later.lowest)

    def problem(self, scale: float) -> str | None:
        """What is wrong, in a few words, or None; ``scale``: kPa per unit of the frames fed."""
        if self.frames == 0:
            return "the recording holds no frames"
        if self.some_nan is not None and (self.some_nan & ~self.all_nan).any():
            return "NaN pressures in cells that are not masked for the whole recording"
        if self.lowest < 0:
            return "negative pressures" + (f" (lowest {self.lowest * scale:.3g} kPa)"
                                           if self.some_nan is not None else "")
        return None


@dataclass
class Scan:
    """The first pass over a session."""

    checks: FrameChecks
    summary: CellSummary | None  # None without frames
    runs: Runs | None  # every loading run of every cell (None when not tracked: insoles)


def scan_frames(frames, convert: Callable[[np.ndarray], np.ndarray], tracker: ContactTracker | None,
                start: int = 0, stop: int | None = None, keep: KeptFrames | None = None
                ) -> tuple[FrameChecks, CellSummary | None]:
    """The first pass over frames ``start:stop``: their checks and cell summary, ``tracker`` (if
    any) fed them, and their loaded cells kept in ``keep`` (if any) for the passes after."""
    checks, summary = FrameChecks(), None
    for first, block in frame_blocks(frames, start, stop):
        block = convert(block)
        if keep is not None:
            keep.add(first, block)
        if len(block) == 0:
            continue
        extremes = CellExtremes.of(block)  # one reading of the block for the checks, the summary and the tracker
        checks.feed(block, extremes)
        summary = summary or CellSummary(tuple(frames.shape[1:]), block.dtype)
        summary.feed(block, extremes)
        if tracker is not None:
            tracker.feed(block, extremes)
    return checks, summary


class LocalReader:
    """Reads the frames here, a block at a time (``frames``: an array, or a session left in its
    file, ``drivers.session_frames.SessionFrames``). A session left in its file is decoded once:
    the first pass keeps its loaded cells in a scratch file in ``scratch_folder`` (the system's
    temporary folder by default) that the later passes read instead (``KeptFrames``), wherever
    that file may be kept and nothing but loaded cells is read (no faulty cell under a foot)."""

    def __init__(self, frames, scratch_folder: Path | None = None):
        self.frames = frames
        self.scratch_folder = scratch_folder
        self.kept: KeptFrames | None = None

    @property
    def streamed(self) -> bool:
        """Whether the frames are read from their file (not held in memory)."""
        return not isinstance(self.frames, np.ndarray)

    def scan(self, convert: Callable[[np.ndarray], np.ndarray], threshold: float, rate_hz: float,
             track: bool) -> Scan:
        tracker = ContactTracker(tuple(self.frames.shape[1:]), threshold, rate_hz) if track else None
        if self.streamed:  # its loaded cells kept for the later passes (in memory: nothing to decode again)
            self.close()
            self.kept = KeptFrames(tuple(self.frames.shape), threshold, self.scratch_folder)
        checks, summary = scan_frames(self.frames, convert, tracker, keep=self.kept)
        if self.kept is not None:
            self.kept.finish()
        self._give_back_memory()
        return Scan(checks, summary, tracker.runs() if tracker is not None else None)

    def _source(self, prepare: Prepare) -> tuple[object, Prepare]:
        """The frames a later pass reads, and how it prepares them: the kept cells, already in
        the kernels' units, where they stand for the frames."""
        if (self.kept is not None and self.kept.complete and isinstance(prepare, Preparation)
                and prepare.repair is None):
            return self.kept, lambda first, block: block
        return self.frames, prepare

    def _later_pass(self, prepare: Prepare, run: Callable[[object, Prepare], T],
                    again: Callable[[], None] = lambda: None) -> T:
        """``run(frames, prepare)`` over what ``_source`` gives; where the kept cells cannot be
        read back (a disk error), ``again()`` and then the pass over the frames themselves,
        decoded again."""
        frames, prepared = self._source(prepare)
        if frames is self.kept:
            try:
                return run(frames, prepared)
            except OSError:
                self.close()
                again()
        return run(self.frames, prepare)

    def contact_series(self, prepare: Prepare, cell_slots: list[CellSlots], windows: list[tuple[int, int]],
                       only: list[int], geometry: dict) -> list[FrameMetrics | None]:
        return self._later_pass(prepare, lambda frames, prepared: contact_metrics(
            frames, cell_slots, windows, 1, prepared, only, **geometry))

    def measure(self, measures: SessionMeasures, prepare: Prepare,
                write: Callable[[int, dict[str, np.ndarray]], None]) -> None:
        """The measuring pass, the last; beside it, for a session read from its file, the imports
        the results need (``imported_ahead``)."""
        with imported_ahead(*(RESULTS_MODULES if self.streamed else ())):
            self._later_pass(prepare, lambda frames, prepared: measures.read(frames, prepared, write),
                             again=measures.restart)  # each frame's results written again
        self._give_back_memory()
        self.close()

    def close(self) -> None:
        """Deletes the kept cells, if any."""
        if self.kept is not None:
            self.kept.close()
            self.kept = None

    def _give_back_memory(self) -> None:
        if self.frames.nbytes > BLOCK_BYTES:  # a short session's pass frees little (0.7 ms a call)
            give_back_memory()
