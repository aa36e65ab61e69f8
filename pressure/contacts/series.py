"""Per-frame metrics of contacts that come and go, each kept only over its own frames.

The frame kernel sums cells by a fixed label image. Contacts on the same cells at different times
(a spot stepped on twice) cannot share one image, so contacts, in time order, are cut into
batches whose cells do not overlap; each batch is one kernel pass over the frames its contacts
span (a walk across a mat is one batch per pass, standing one batch). Each contact's series
covers its own frames only, so memory and time grow with the session's length, not with its
length times its number of contacts; ``combine`` adds contacts up into whole-session series
(per foot, the whole mat).
"""

from __future__ import annotations

import numpy as np

from pressure.kernels.frame_metrics import FrameMetrics, frame_metrics


def batches(cells: list[np.ndarray], n_cells: int) -> list[list[int]]:
    """Consecutive runs of contacts (by index, in the order given) no two of which share a cell."""
    groups: list[list[int]] = []
    taken = np.zeros(n_cells, bool)
    for index, contact_cells in enumerate(cells):
        if not groups or taken[contact_cells].any():
            groups.append([])
            taken[:] = False
        groups[-1].append(index)
        taken[contact_cells] = True
    return groups


def window_of(metrics: FrameMetrics, rows: slice, columns: slice) -> FrameMetrics:
    return FrameMetrics(*(np.ascontiguousarray(getattr(metrics, name)[rows, columns])
                          for name in ("force_n", "contact_area_cm2", "peak_kpa", "cop_x_mm", "cop_y_mm")))


def contact_metrics(
    frames: np.ndarray,
    cell_slots: list[tuple[np.ndarray, np.ndarray]],
    windows: list[tuple[int, int]],
    slots_per_contact: int,
    **geometry,
) -> list[FrameMetrics]:
    """Per contact, given as (cells, slot of each cell within the contact, 0..slots_per_contact-1)
    and its (first, last) frames: its metrics over its own frames, (last - first + 1, slots)."""
    n_cells = frames.shape[1] * frames.shape[2]
    out: list[FrameMetrics | None] = [None] * len(cell_slots)
    for group in batches([cells for cells, _ in cell_slots], n_cells):
        labels = np.full(n_cells, -1, np.int32)
        # Slots are numbered within the batch: contact k of the batch owns k * slots_per_contact + slot.
        for position, index in enumerate(group):
            cells, slot = cell_slots[index]
            labels[cells] = position * slots_per_contact + slot
        start = min(windows[index][0] for index in group)
        stop = max(windows[index][1] for index in group) + 1
        metrics = frame_metrics(frames[start:stop], labels.reshape(frames.shape[1:]),
                                len(group) * slots_per_contact, **geometry)
        for position, index in enumerate(group):
            first, last = windows[index]
            out[index] = window_of(metrics, slice(first - start, last - start + 1),
                                   slice(position * slots_per_contact, (position + 1) * slots_per_contact))
    return out


def combine(per_contact: list[FrameMetrics], windows: list[tuple[int, int]], groups: list[list[int]],
            n_frames: int) -> FrameMetrics:
    """Whole-session series (n_frames, group) of groups of contacts, every slot of each: forces and
    areas add, peaks take the maximum, COPs are force-weighted means (NaN without load)."""
    shape = (n_frames, len(groups))
    force, area, peak = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    moment_x, moment_y = np.zeros(shape), np.zeros(shape)
    for column, members in enumerate(groups):
        for index in members:
            first, last = windows[index]
            rows = slice(first, last + 1)
            metrics = per_contact[index]
            f = metrics.force_n
            loaded = f > 0
            force[rows, column] += f.sum(axis=1)
            area[rows, column] += metrics.contact_area_cm2.sum(axis=1)
            peak[rows, column] = np.maximum(peak[rows, column], metrics.peak_kpa.max(axis=1))
            moment_x[rows, column] += np.where(loaded, metrics.cop_x_mm * f, 0.0).sum(axis=1)
            moment_y[rows, column] += np.where(loaded, metrics.cop_y_mm * f, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cop_x = np.where(force > 0, moment_x / force, np.nan)
        cop_y = np.where(force > 0, moment_y / force, np.nan)
    return FrameMetrics(force, area, peak, cop_x, cop_y)


def summed(metrics: FrameMetrics) -> FrameMetrics:
    """One contact's slots added up into one: (frames, 1)."""
    length = metrics.force_n.shape[0]
    return combine([metrics], [(0, length - 1)], [[0]], length)
