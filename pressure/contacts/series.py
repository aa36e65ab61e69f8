"""Per-frame metrics of contacts that come and go.

The frame kernel sums cells by a fixed label image. Contacts on the same cells at different times
(a spot stepped on twice) cannot share one image, so contacts, in time order, are cut into
batches whose cells do not overlap; each batch is one kernel pass over the frames its contacts
span, and each contact's series is kept only within its own frames (zero force, NaN COP
elsewhere). A walk across a mat is one batch per pass, standing one batch.
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


def contact_metrics(
    frames: np.ndarray,
    cell_slots: list[tuple[np.ndarray, np.ndarray]],
    windows: list[tuple[int, int]],
    slots_per_contact: int,
    **geometry,
) -> FrameMetrics:
    """Metrics per frame and slot for contacts given as (cells, slot of each cell within the
    contact, 0..slots_per_contact-1) and their (first, last) frames; slot k of contact i is
    column i * slots_per_contact + k. Whole-session length, zero force outside each window."""
    n_frames = frames.shape[0]
    n_slots = len(cell_slots) * slots_per_contact
    shape = (n_frames, n_slots)
    force, area, peak = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    cop_x, cop_y = np.full(shape, np.nan), np.full(shape, np.nan)
    n_cells = frames.shape[1] * frames.shape[2]
    for group in batches([cells for cells, _ in cell_slots], n_cells):
        labels = np.full(n_cells, -1, np.int32)
        # Slots are numbered within the batch: contact k of the batch owns k * slots_per_contact + slot.
        for position, index in enumerate(group):
            cells, slot = cell_slots[index]
            labels[cells] = position * slots_per_contact + slot
        start = min(windows[index][0] for index in group)
        stop = max(windows[index][1] for index in group) + 1
        metrics = frame_metrics(frames[start:stop], labels.reshape(frames.shape[1:]), len(group) * slots_per_contact,
                                **geometry)
        for position, index in enumerate(group):
            first, last = windows[index]
            rows = slice(first - start, last - start + 1)
            source = slice(position * slots_per_contact, (position + 1) * slots_per_contact)
            target = slice(index * slots_per_contact, (index + 1) * slots_per_contact)
            force[first: last + 1, target] = metrics.force_n[rows, source]
            area[first: last + 1, target] = metrics.contact_area_cm2[rows, source]
            peak[first: last + 1, target] = metrics.peak_kpa[rows, source]
            cop_x[first: last + 1, target] = metrics.cop_x_mm[rows, source]
            cop_y[first: last + 1, target] = metrics.cop_y_mm[rows, source]
    return FrameMetrics(force, area, peak, cop_x, cop_y)
