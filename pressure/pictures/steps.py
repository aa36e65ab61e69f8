"""Walking: each step's own print. Results files hold one peak image for the whole session, so a
step's print is gathered from the recording (read again, :mod:`pressure.pictures.recording`): the
peak of its foot's cells over the contact's frames, and when each cell first loaded (which end is
the heel, :mod:`pressure.pictures.heel_down`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from pressure.contacts.sizes import MAX_GAP_MM
from pressure.pictures.feet import pieces
from pressure.pictures.recording import kpa_reader, load_recording
from pressure.pictures.session import complete_steps, has_geometry, pitches, step_cop, step_frames
from pressure.schema import FEET

MAX_STEP_PANELS = 48


@dataclass
class Step:
    """Which step of the results a print is: its number, foot, first and last frame's time (s),
    and whether it is complete."""

    index: int
    foot: str
    start_s: float
    end_s: float
    complete: bool

    def facts(self) -> dict:
        """The fields above, to describe the same step in another form."""
        return {field.name: getattr(self, field.name) for field in fields(Step)}


@dataclass
class StepPeak(Step):
    """One contact's peak (kPa, NaN off its cells) and onset (first frame above the threshold,
    from the contact's start; -1 never) over a crop of the mat whose cell (0, 0) lies at
    (``x0``, ``y0``) mm; ``cop`` (n, 2) the contact's COP in mat mm (may be empty)."""

    peak: np.ndarray
    onset: np.ndarray
    x0: float
    y0: float
    cop: np.ndarray
    sensors: bool = False  # a sensor set: peak is (1, n sensors) in file order


def contact_peak(frames_kpa: np.ndarray, cells: np.ndarray, threshold_kpa: float):
    """Peak and onset of one contact over ``frames_kpa`` (time, rows, cols) restricted to ``cells``."""
    with np.errstate(invalid="ignore"):
        peak = np.fmax.reduce(np.where(cells, frames_kpa, np.nan), axis=0) if len(frames_kpa) else \
            np.full(cells.shape, np.nan)
        above = frames_kpa > threshold_kpa
    onset = np.where(above.any(axis=0), above.argmax(axis=0), -1)
    return np.where(cells, peak, np.nan), np.where(cells, onset, -1)


def step_peaks(results, recording=None, *, include_cut: bool = False,
               max_steps: int = MAX_STEP_PANELS) -> list[StepPeak]:
    """Each step's peak image from the recording (read again by :func:`load_recording` when not given).

    A step's print: the cells of its foot (``foot_map``) over the contact's frames, kept where they
    pass the threshold, the largest piece with what lies within MAX_GAP_MM of it (toes, a heel
    island), cropped.
    Sensor sets without positions give each step's per-sensor peaks. At most ``max_steps``, in time
    order; cut steps only with ``include_cut``. Frames are read a contact at a time."""
    n_steps = results.sizes.get("step", 0)
    if not n_steps:
        return []
    complete = complete_steps(results)
    wanted = [i for i in range(n_steps) if include_cut or complete[i]][:max_steps]
    if not wanted:
        return []
    recording = load_recording(results, recording)
    read = kpa_reader(results, recording)
    time = results["time"].values
    foot_map = results["foot_map"].values
    threshold = float(results.attrs.get("threshold_kpa", 5.0))
    px, py = pitches(results)
    geometry = has_geometry(results)
    stuck = results["cell_mask"].values == 1 if "cell_mask" in results else np.zeros(foot_map.shape, bool)
    x, y = results["x"].values, results["y"].values
    peaks = []
    for i in wanted:
        foot = str(results["step_foot"].values[i])
        first, last = step_frames(results, i)
        mine = (foot_map == FEET.index(foot)) & ~stuck
        if not mine.any() or last <= first:
            continue
        r0, r1, c0, c1 = _bounds(mine)
        peak = np.full((r1 - r0, c1 - c0), np.nan)
        onset = np.full((r1 - r0, c1 - c0), -1)
        for chunk in range(first, last, 256):  # bounded memory on large mats and fast rates
            block = read(slice(chunk, min(chunk + 256, last)))[:, r0:r1, c0:c1]
            p, o = contact_peak(block, mine[r0:r1, c0:c1], threshold)
            new = (onset < 0) & (o >= 0)
            onset = np.where(new, o + (chunk - first), onset)
            peak = np.fmax(peak, p)
        cop = step_cop(results, FEET.index(foot), first, last)
        meta = dict(index=i, foot=foot, start_s=float(time[first]), end_s=float(time[min(last, len(time)) - 1]),
                    complete=bool(complete[i]))
        if not geometry:
            order = mine[r0:r1, c0:c1]
            peaks.append(StepPeak(**meta, peak=peak[order][None, :], onset=onset[order][None, :], x0=0.0,
                                  y0=0.0, cop=np.zeros((0, 2)), sensors=True))
            continue
        keep = _print_cells(peak > threshold, px, py)
        if not keep.any():
            continue
        a0, a1, b0, b1 = _bounds(keep)
        peaks.append(StepPeak(**meta, peak=np.where(keep, peak, np.nan)[a0:a1, b0:b1],
                              onset=np.where(keep, onset, -1)[a0:a1, b0:b1],
                              x0=float(x[c0 + b0]), y0=float(y[r0 + a0]), cop=cop))
    return peaks


def _bounds(cells: np.ndarray):
    """(first row, last row + 1, first column, last column + 1) of the True ``cells``."""
    rows, cols = np.nonzero(cells)
    return rows.min(), rows.max() + 1, cols.min(), cols.max() + 1


def _print_cells(loaded: np.ndarray, px: float, py: float) -> np.ndarray:
    """The largest piece of ``loaded`` and every piece within MAX_GAP_MM of it (toes, a heel
    island), as the analysis joined them into the foot: a high arch left 45 mm between a real
    footstep's heel and forefoot, and 40 mm kept the forefoot alone."""
    from scipy import ndimage

    labels, n, largest = pieces(loaded)
    if n <= 1:
        return loaded
    # mm from the largest piece's cells, centre to centre: one pass, however far the reach
    distance = ndimage.distance_transform_edt(labels != largest, sampling=(py, px))
    near = np.unique(labels[(distance <= MAX_GAP_MM) & loaded])
    return np.isin(labels, near[near > 0])
