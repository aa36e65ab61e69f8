"""The measuring pass over a session's frames, a block at a time: every contact's series in each
division of its cells into regions, turned as they come into what the results keep.

- per frame, per foot and for the whole mat: force, area, peak, COP, and each region's force
  (handed to ``write``: a ``SeriesStore``, in memory or on disk);
- per contact: each region's measures (``RegionMeasures``, fed block by block), its force on
  its first and last frame and its highest force (whether the recording cut it);
- per step (short by nature): its whole series and its regions' force, kept for the step table
  and the step curves;
- the summed frames over those in which the person stood (the mean pressure image), each
  cell counted while it is loaded, as in every other measure.

Nothing here holds a long contact's series whole, so a day-long standing session is measured
in the memory of a few blocks of frames. Spans of a session measured apart (on the workers of a
cluster) are merged in order into what one reading of them all gives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from pressure.contacts.series import CellSlots, block_metrics, combine, joined, summed
from pressure.kernels.cell_totals import cell_totals
from pressure.kernels.frame_metrics import FrameMetrics
from pressure.measures.regions import RegionMeasures
from pressure.schema import runs_of

T = TypeVar("T")


_END = object()


def one_ahead(items: Iterator[T]) -> Iterator[T]:
    """``items``, each next one computed on a thread of its own while the caller works on this one.

    The measuring pass is the frame kernels (which release the GIL) and then what NumPy and Python
    make of their sums: one after the other, they left a core idle for most of the pass, 3.0-3.3 s
    of an hour of 64x64; side by side, the next block's kernels run while this block's sums are
    reduced."""
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="measure-ahead")
    try:
        pending = worker.submit(next, items, _END)
        while (item := pending.result()) is not _END:
            pending = worker.submit(next, items, _END)
            yield item
    finally:
        worker.shutdown(wait=True)  # nothing is computing when the items are closed
        close = getattr(items, "close", None)
        if close is not None:
            close()


@dataclass
class ContactEnds:
    """A contact's force on its first and last frame (once seen), and its highest."""

    first_force: float | None = None
    last_force: float | None = None
    highest: float = 0.0

    def merge(self, later: "ContactEnds") -> None:
        self.first_force = self.first_force if self.first_force is not None else later.first_force
        self.last_force = later.last_force if later.last_force is not None else self.last_force
        self.highest = max(self.highest, later.highest)


@dataclass
class ContactTally:
    regions: list[RegionMeasures]  # one per division
    ends: ContactEnds = field(default_factory=ContactEnds)
    whole: list[FrameMetrics] = field(default_factory=list)  # pieces of the (frames, 1) series, if kept
    force: list[np.ndarray] = field(default_factory=list)  # pieces of the regions' force, if kept

    def merge(self, later: "ContactTally") -> None:
        for mine, theirs in zip(self.regions, later.regions):
            mine.merge(theirs)
        self.ends.merge(later.ends)
        self.whole += later.whole
        self.force += later.force


@dataclass
class Measured:
    region_measures: list[dict[str, np.ndarray]]  # per contact: every division's regions side by side
    whole: list[FrameMetrics | None]  # per contact: its (frames, 1) series, kept for the contacts asked
    region_force: list[np.ndarray | None]  # per contact: (frames, regions) force, kept likewise
    ends: list[ContactEnds]
    standing_sum: np.ndarray | None  # summed frames (kernel units) over the standing frames
    standing_frames: int


class SessionMeasures:
    """What the measuring pass keeps of contacts ``0..len(feet)-1`` (each on foot 0 or 1) and, after
    them in ``windows`` and ``divisions``, of blobs that only count towards the whole mat. The
    first division holds every cell of each contact; ``keep_series`` says whose series are kept
    whole; ``standing`` marks the frames whose mean image is wanted; ``positions`` False leaves
    COPs NaN (sensor sets whose cell positions mean nothing). ``undivided`` marks the contacts
    whose first division has all their cells in its first region (a print with no geometry,
    such as an insole's): their regions of it are unknown, NaN in every result, while the
    division still gives the contact's own series."""

    def __init__(self, divisions: list[tuple[int, list[CellSlots]]], windows: list[tuple[int, int]],
                 feet: list[int], keep_series: list[bool], standing: np.ndarray, geometry: dict, rate_hz: float,
                 positions: bool, undivided: list[bool] | None = None):
        self.divisions, self.windows, self.feet, self.keep_series = divisions, windows, feet, keep_series
        self.standing, self.geometry, self.positions, self.rate_hz = standing, geometry, positions, rate_hz
        self.undivided = undivided if undivided is not None else [False] * len(feet)
        self.n_regions = sum(slots for slots, _ in divisions)
        self.tallies = [ContactTally([RegionMeasures(slots, rate_hz) for slots, _ in divisions]) for _ in feet]
        self.standing_sum: np.ndarray | None = None
        self.standing_frames = 0

    def fresh(self) -> "SessionMeasures":
        """The same measures with nothing measured yet."""
        return SessionMeasures(self.divisions, self.windows, self.feet, self.keep_series, self.standing,
                               self.geometry, self.rate_hz, self.positions, self.undivided)

    def restart(self) -> None:
        """Forgets what was measured: the pass begins again (each frame's results are written
        again over those written before)."""
        self.__dict__.update(self.fresh().__dict__)

    def read(self, frames, prepare: Callable[[int, np.ndarray], np.ndarray],
             write: Callable[[int, dict[str, np.ndarray]], None], span: tuple[int, int] | None = None) -> None:
        """Measures the frames of ``span`` (all by default), in time order, handing each block's
        per-frame results to ``write(first frame, {name: values})``."""
        n_contacts = len(self.feet)
        for first, block, measured in one_ahead(block_metrics(frames, self.divisions, self.windows, self.geometry,
                                                              prepare, span=span)):
            n = len(block)
            contacts, wholes, local_windows = [], [], []
            on_foot: list[list[int]] = [[], []]
            region_force = np.zeros((n, 2, self.n_regions))
            for index, (lo, metrics) in measured.items():
                whole = summed(metrics[0])
                hi = lo + len(whole.force_n)
                slot = len(contacts)
                contacts.append(metrics[0])
                wholes.append(whole)
                local_windows.append((lo, hi - 1))
                if index >= n_contacts:
                    continue
                on_foot[self.feet[index]].append(slot)
                force = np.concatenate([part.force_n for part in metrics], axis=1)
                if self.undivided[index]:
                    force[:, :self.divisions[0][0]] = np.nan
                region_force[lo:hi, self.feet[index]] += force
                tally = self.tallies[index]
                for reducer, part in zip(tally.regions, metrics):
                    reducer.feed(part.force_n, part.contact_area_cm2, part.peak_kpa)
                own = whole.force_n[:, 0]
                if first + lo == self.windows[index][0]:
                    tally.ends.first_force = float(own[0])
                tally.ends.last_force = float(own[-1])
                tally.ends.highest = max(tally.ends.highest, float(own.max(initial=0.0)))
                if self.keep_series[index]:
                    tally.whole.append(whole)
                    tally.force.append(force)
            write(first, self._frame_results(contacts, wholes, local_windows, on_foot, region_force, n))
            for a, b in runs_of(self.standing[first:first + n]):  # slices, not a copy of the chosen frames
                total = cell_totals(block[a:b], self.geometry["threshold_kpa"] / self.geometry["scale_kpa"])
                self.standing_sum = total if self.standing_sum is None else self.standing_sum + total
                self.standing_frames += b - a

    def _frame_results(self, contacts, wholes, local_windows, on_foot, region_force, n) -> dict[str, np.ndarray]:
        foot_series = combine(wholes, local_windows, on_foot, n)
        mat = combine(contacts, local_windows, [list(range(len(contacts)))], n)
        both = foot_series.force_n.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            left_share = np.where(both > 0, foot_series.force_n[:, 0] / both, np.nan)
        if not self.positions:
            for series in (foot_series, mat):
                series.cop_x_mm[...] = np.nan
                series.cop_y_mm[...] = np.nan
        return {
            "force": foot_series.force_n, "contact_area": foot_series.contact_area_cm2,
            "peak_pressure": foot_series.peak_kpa, "cop_x": foot_series.cop_x_mm, "cop_y": foot_series.cop_y_mm,
            "mat_force": mat.force_n[:, 0], "mat_cop_x": mat.cop_x_mm[:, 0], "mat_cop_y": mat.cop_y_mm[:, 0],
            "left_share": left_share, "region_force_series": region_force,
        }

    def merge(self, later: "SessionMeasures") -> None:
        """Adds what ``later`` measured (the frames after these)."""
        for mine, theirs in zip(self.tallies, later.tallies):
            mine.merge(theirs)
        if later.standing_sum is not None:
            self.standing_sum = (later.standing_sum if self.standing_sum is None
                                 else self.standing_sum + later.standing_sum)
        self.standing_frames += later.standing_frames

    def measured(self) -> Measured:
        region_measures = []
        for tally, undivided in zip(self.tallies, self.undivided):
            # A region's relative load is its share of the whole contact's force-time integral:
            # the first division holds every cell of it, the others may leave cells out (a user's
            # one region took 100 % of the load, its share of itself).
            whole = tally.regions[0].total_fti()
            results = [reducer.result(whole) for reducer in tally.regions]
            if undivided:
                results[0] = {name: np.full(len(values), np.nan) for name, values in results[0].items()}
            region_measures.append({name: np.concatenate([result[name] for result in results])
                                    for name in results[0]})
        return Measured(
            region_measures,
            [joined(t.whole) if t.whole else None for t in self.tallies],
            [np.concatenate(t.force) if t.force else None for t in self.tallies],
            [t.ends for t in self.tallies], self.standing_sum, self.standing_frames)
