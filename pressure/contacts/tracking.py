"""Raw contacts: sets of cells loaded together over a stretch of time.

Each cell's loading runs (with hysteresis, brief dropouts bridged) are linked to the runs of its
8 neighbours that overlap them in time; a connected set of runs is a raw contact. A foot placed
twice on the same spot gives two contacts (the cells' runs are apart in time), two feet loaded
at once give two contacts (their cells do not touch), and a person who stands and then walks
gives the standing contacts and then one per step.

The frames are read chunk by chunk (``ContactTracker.feed``); only the runs are kept, so memory
grows with the number of runs, not with the session's frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pressure.kernels.cell_runs import CellRuns, Runs, link_runs
from pressure.kernels.peak_image import CellExtremes

LOW_FRACTION = 0.5  # a loaded cell stays loaded until it falls below half the noise threshold
BRIDGE_S = 0.03  # dropouts up to 30 ms do not end a cell's run
HOLD_S = 0.2  # a cell not above the threshold for 0.2 s is unloaded, even if it creeps just under it
MIN_RUN_FRAMES = 3  # runs loaded fewer frames are noise spikes (random noise is rarely loaded three times close together)


@dataclass
class RawContact:
    """Cells (flat indices, row * cols + col) loaded together from frame ``first`` to ``last``;
    per cell the frame it first loaded (``onset``), its highest pressure (``peak_kpa``) and how
    many frames it was loaded (``loaded_frames``)."""

    first: int
    last: int
    cells: np.ndarray
    onset: np.ndarray
    peak_kpa: np.ndarray
    loaded_frames: np.ndarray

    @property
    def n_frames(self) -> int:
        return self.last - self.first + 1

    def merged(self, other: RawContact) -> RawContact:
        return _per_cell(min(self.first, other.first), max(self.last, other.last),
                         *(np.concatenate([getattr(self, name), getattr(other, name)]) for name in PER_CELL))

    def restricted(self, keep: np.ndarray) -> RawContact:
        """The same contact on the cells where ``keep`` (per cell of this contact) holds."""
        return RawContact(self.first, self.last, *(getattr(self, name)[keep] for name in PER_CELL))

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        image = np.zeros(shape[0] * shape[1], bool)
        image[self.cells] = True
        return image.reshape(shape)

    def image(self, values: np.ndarray, shape: tuple[int, int], fill=0.0) -> np.ndarray:
        out = np.full(shape[0] * shape[1], fill, dtype=np.result_type(values, type(fill)))
        out[self.cells] = values
        return out.reshape(shape)


PER_CELL = ("cells", "onset", "peak_kpa", "loaded_frames")


def _per_cell(first: int, last: int, cells: np.ndarray, onset: np.ndarray, peak: np.ndarray,
              loaded: np.ndarray) -> RawContact:
    """One entry per cell: its earliest onset, highest peak and all its loaded frames."""
    order = np.lexsort((onset, cells))
    cells, onset, peak, loaded = cells[order], onset[order], peak[order], loaded[order]
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    return RawContact(int(first), int(last), cells[starts], onset[starts], np.maximum.reduceat(peak, starts),
                      np.add.reduceat(loaded, starts))


def bridge_frames(rate_hz: float) -> int:
    """Dropouts this many frames long do not end a cell's run."""
    return max(1, int(round(BRIDGE_S * rate_hz)))


class ContactTracker:
    """Raw contacts of a session read chunk by chunk.

    ``threshold`` (frames' units) is the noise threshold: a cell joins a contact above it and
    stays until it falls to ``LOW_FRACTION`` of it. ``scale_kpa`` turns frame units into kPa.
    """

    def __init__(self, shape: tuple[int, int], threshold: float, rate_hz: float, scale_kpa: float = 1.0,
                 live: np.ndarray | None = None):
        self.shape = shape
        self.scale_kpa = scale_kpa
        self.bridge_frames = bridge_frames(rate_hz)
        self._runs = CellRuns(shape, threshold, LOW_FRACTION * threshold, self.bridge_frames, live,
                              hold_frames=max(1, int(round(HOLD_S * rate_hz))))

    def feed(self, frames: np.ndarray, extremes: CellExtremes | None = None) -> None:
        """Reads the next frames; ``extremes``: theirs, if already found."""
        self._runs.feed(frames, extremes)

    def runs(self) -> Runs:
        """Every run read, those still open closed where they last carried load (ends the reading)."""
        return self._runs.finish()

    def finish(self, dead: np.ndarray | None = None) -> list[RawContact]:
        """The raw contacts, ordered by their first frame; ``dead`` (rows, cols) marks cells
        found faulty only once the whole session was read (stuck or saturated all along): their
        runs are left out before runs are joined, as if those cells had never been read."""
        return contacts_of_session(self._runs.finish(), self._runs.n_frames, self.shape, self.bridge_frames,
                                   self.scale_kpa, dead)


def contacts_of_session(runs: Runs, n_frames: int, shape: tuple[int, int], bridge_frames: int, scale_kpa: float,
                        dead: np.ndarray | None = None) -> list[RawContact]:
    """The raw contacts of every loading run of a session of ``n_frames`` frames (sorted by cell,
    then time, as ``CellRuns.finish`` gives them); runs of ``dead`` cells are left out first."""
    if dead is not None:
        runs = runs.take(~np.asarray(dead, bool).ravel()[runs.cell])
    # A recording shorter than that (a static image is one frame) keeps what it has.
    runs = runs.take(runs.count >= min(MIN_RUN_FRAMES, n_frames))
    return contacts_of_runs(runs, link_runs(runs, shape, bridge_frames), scale_kpa)


def contacts_of_runs(runs: Runs, labels: np.ndarray, scale_kpa: float) -> list[RawContact]:
    if len(runs) == 0:
        return []
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0, True])
    contacts = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        part = order[a:b]
        contacts.append(_per_cell(runs.start[part].min(), runs.end[part].max(), runs.cell[part],
                                  runs.start[part], runs.peak[part] * scale_kpa, runs.count[part]))
    contacts.sort(key=lambda contact: (contact.first, contact.cells[0]))
    return contacts


def track_contacts(frames: np.ndarray, threshold: float, rate_hz: float, scale_kpa: float = 1.0,
                   live: np.ndarray | None = None, chunk_frames: int = 4096) -> list[RawContact]:
    """Raw contacts of a whole recording (time, rows, cols), read in chunks."""
    tracker = ContactTracker(frames.shape[1:], threshold, rate_hz, scale_kpa, live)
    for start in range(0, len(frames), chunk_frames):
        tracker.feed(frames[start: start + chunk_frames])
    return tracker.finish()
