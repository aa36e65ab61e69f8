"""Per-frame metrics of contacts that come and go, each kept only over its own frames.

The frame kernel sums cells by a fixed label image. Contacts on the same cells at different times
(a spot stepped on twice) cannot share one image, so contacts, in time order, are cut into
batches whose cells do not overlap; each batch is one kernel pass over the frames its contacts
span (a walk across a mat is one batch per pass, standing one batch). Each contact's series
covers its own frames only, so memory and time grow with the session's length, not with its
length times its number of contacts; ``combine`` adds contacts up into whole-session series
(per foot, the whole mat).

The frames are read a block at a time (``block_metrics``): only blocks that some contact spans,
and each once whatever the divisions of the contacts' cells (each cell summed once in the piece
of the contact it shares with the same regions of every division, the pieces then added up into
each division's regions), so a session need not fit in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from drivers.session_frames import frame_blocks
from pressure.kernels.frame_metrics import FrameMetrics, frame_sums
from pressure.kernels.series_sums import add_series

CellSlots = tuple[np.ndarray, np.ndarray]  # a contact's cells and the slot of each


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


class JointSlots:
    """A contact's cells in every division of them at once: each cell's piece (``slot``), the cells
    of one piece lying in the same slot of every division; ``of_division[d]``: each piece's slot
    in division d (-1 where the division leaves it out)."""

    def __init__(self, divisions_cells: list[CellSlots]):
        cells = np.unique(np.concatenate([cells for cells, _ in divisions_cells]))
        slots = np.full((len(cells), len(divisions_cells)), -1, np.int64)
        for d, (division_cells, division_slots) in enumerate(divisions_cells):
            slots[np.searchsorted(cells, division_cells), d] = division_slots
        pieces, self.slot = np.unique(slots, axis=0, return_inverse=True)
        self.cells = cells
        self.slot = self.slot.reshape(-1)
        self.n_pieces = len(pieces)
        self.of_division = [np.ascontiguousarray(pieces[:, d]) for d in range(len(divisions_cells))]


def window_of(metrics: FrameMetrics, rows: slice, columns: slice) -> FrameMetrics:
    return FrameMetrics(*(np.ascontiguousarray(getattr(metrics, name)[rows, columns])
                          for name in ("force_n", "contact_area_cm2", "peak_kpa", "cop_x_mm", "cop_y_mm")))


def spans(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The frames (start, stop) that the windows (first, last) cover, overlapping ones joined."""
    out: list[list[int]] = []
    for first, last in sorted(windows):
        if out and first <= out[-1][1]:
            out[-1][1] = max(out[-1][1], last + 1)
        else:
            out.append([first, last + 1])
    return [(a, b) for a, b in out]


def block_metrics(
    frames,
    divisions: list[tuple[int, list[CellSlots]]],
    windows: list[tuple[int, int]],
    geometry: dict,
    prepare: Callable[[int, np.ndarray], np.ndarray] = lambda first, block: block,
    only: list[int] | None = None,
    block_frames: int | None = None,
    span: tuple[int, int] | None = None,
) -> Iterator[tuple[int, np.ndarray, dict[int, tuple[int, list[FrameMetrics]]]]]:
    """The contacts' metrics a block of frames at a time, in time order.

    ``divisions``: ways of cutting each contact's cells into slots, each (slots per contact, the
    (cells, slot of each cell) of every contact); ``windows``: each contact's (first, last) frame;
    ``only``: the contacts wanted (all by default); ``span``: the frames (start, stop) to read, all
    by default (a contact that crosses its ends is measured over its frames within). Only the
    frames they span are read, each
    block once and ``prepare``d (e.g. into kernel units, faulty cells repaired). Yields
    ``(first frame, the prepared block, {contact: (its first frame in the block, [its
    FrameMetrics in each division])})`` for each block in which some wanted contact is."""
    wanted = sorted(range(len(windows)) if only is None else only, key=lambda i: windows[i][0])
    if not wanted:
        return
    shape = frames.shape[1:]
    n_cells = shape[0] * shape[1]
    upcoming = 0
    active: list[int] = []
    joint: dict[int, JointSlots] = {}  # the contacts' pieces, made when first measured
    lowest, highest = span if span is not None else (0, len(frames))
    for start, stop in spans([windows[i] for i in wanted]):
        start, stop = max(start, lowest), min(stop, highest)
        if start >= stop:
            continue
        for first, block in frame_blocks(frames, start, stop, block_frames):
            end = first + len(block)
            while upcoming < len(wanted) and windows[wanted[upcoming]][0] < end:
                active.append(wanted[upcoming])
                upcoming += 1
            for ended in [i for i in active if windows[i][1] < first]:
                joint.pop(ended, None)  # a day's thousands of steps are not all held
            active = [i for i in active if windows[i][1] >= first]
            here = [i for i in active if windows[i][0] < end]
            if not here:
                continue
            block = prepare(first, block)
            out = {i: (max(first, windows[i][0]) - first, []) for i in here}
            for index in here:
                if index not in joint:
                    joint[index] = JointSlots([cell_slots[index] for _, cell_slots in divisions])
            for group in batches([joint[i].cells for i in here], n_cells):
                members = [here[k] for k in group]
                labels = np.full(n_cells, -1, np.int32)
                offsets = np.cumsum([0] + [joint[i].n_pieces for i in members])
                for position, index in enumerate(members):
                    labels[joint[index].cells] = offsets[position] + joint[index].slot
                lo = max(first, min(windows[i][0] for i in members))
                hi = min(end, max(windows[i][1] for i in members) + 1)
                sums = frame_sums(block[lo - first:hi - first], labels.reshape(shape), int(offsets[-1]), **geometry)
                for d, (slots_per_contact, _) in enumerate(divisions):
                    # Contact k of the batch owns slots k * slots_per_contact + slot.
                    pieces = [joint[index].of_division[d] for index in members]
                    into = np.concatenate([np.where(slot >= 0, position * slots_per_contact + slot, -1)
                                           for position, slot in enumerate(pieces)])
                    metrics = sums.grouped(into, len(members) * slots_per_contact).metrics()
                    for position, index in enumerate(members):
                        a, b = max(lo, windows[index][0]), min(hi, windows[index][1] + 1)
                        out[index][1].append(window_of(metrics, slice(a - lo, b - lo),
                                                       slice(position * slots_per_contact,
                                                             (position + 1) * slots_per_contact)))
            yield first, block, out


def joined(parts: list[FrameMetrics]) -> FrameMetrics:
    """Consecutive pieces of one contact's series, end to end."""
    if len(parts) == 1:
        return parts[0]
    return FrameMetrics(*(np.concatenate([getattr(part, name) for part in parts])
                          for name in ("force_n", "contact_area_cm2", "peak_kpa", "cop_x_mm", "cop_y_mm")))


def contact_metrics(
    frames,
    cell_slots: list[CellSlots],
    windows: list[tuple[int, int]],
    slots_per_contact: int,
    prepare: Callable[[int, np.ndarray], np.ndarray] = lambda first, block: block,
    only: list[int] | None = None,
    span: tuple[int, int] | None = None,
    **geometry,
) -> list[FrameMetrics | None]:
    """Per contact, given as (cells, slot of each cell within the contact, 0..slots_per_contact-1)
    and its (first, last) frames: its metrics over its own frames (within ``span``, if given),
    (last - first + 1, slots); None for contacts not in ``only`` (or not in ``span``)."""
    pieces: list[list[FrameMetrics]] = [[] for _ in cell_slots]
    for _, _, measured in block_metrics(frames, [(slots_per_contact, cell_slots)], windows, geometry, prepare, only,
                                        span=span):
        for index, (_, (metrics,)) in measured.items():
            pieces[index].append(metrics)
    return [joined(parts) if parts else None for parts in pieces]


def combine(per_contact: list[FrameMetrics], windows: list[tuple[int, int]], groups: list[list[int]],
            n_frames: int) -> FrameMetrics:
    """Whole-session series (n_frames, group) of groups of contacts, every slot of each: forces and
    areas add, peaks take the maximum, COPs are force-weighted means (NaN without load)."""
    shape = (n_frames, len(groups))
    force, area, peak = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    moment_x, moment_y = np.zeros(shape), np.zeros(shape)
    for column, members in enumerate(groups):
        for index in members:
            metrics = per_contact[index]
            first, last = windows[index]
            if len(metrics.force_n) != last - first + 1 or first < 0 or last >= n_frames:
                raise ValueError(f"contact {index}: {len(metrics.force_n)} frames of series for its frames "
                                 f"{first}-{last} of {n_frames}")
            add_series(force, area, peak, moment_x, moment_y, first, column, metrics.force_n,
                       metrics.contact_area_cm2, metrics.peak_kpa, metrics.cop_x_mm, metrics.cop_y_mm)
    with np.errstate(invalid="ignore", divide="ignore"):
        cop_x = np.where(force > 0, moment_x / force, np.nan)
        cop_y = np.where(force > 0, moment_y / force, np.nan)
    return FrameMetrics(force, area, peak, cop_x, cop_y)


def summed(metrics: FrameMetrics) -> FrameMetrics:
    """One contact's slots added up into one: (frames, 1)."""
    length = metrics.force_n.shape[0]
    return combine([metrics], [(0, length - 1)], [[0]], length)
