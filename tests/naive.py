"""Obviously correct (and slow) twins of the Numba kernels."""

from __future__ import annotations

from collections import deque

import numpy as np


def frame_sums(frames, labels, n_labels, threshold):
    """Per frame and slot (labels, then all labelled cells): sum, moments along cols and rows, count, peak."""
    n_frames = frames.shape[0]
    slots = n_labels + 1
    values = frames.astype(np.float64)
    loaded = values > threshold  # NaN compares False
    rows, cols = np.indices(frames.shape[1:])
    out = {key: np.zeros((n_frames, slots)) for key in ("total", "moment_col", "moment_row", "count", "peak")}
    for slot in range(slots):
        in_slot = labels >= 0 if slot == n_labels else labels == slot
        use = loaded & in_slot[None]
        v = np.where(use, values, 0.0)
        out["total"][:, slot] = v.sum(axis=(1, 2))
        out["moment_col"][:, slot] = (v * cols).sum(axis=(1, 2))
        out["moment_row"][:, slot] = (v * rows).sum(axis=(1, 2))
        out["count"][:, slot] = use.sum(axis=(1, 2))
        out["peak"][:, slot] = v.max(axis=(1, 2), initial=0.0)
    return out


def grouped_sums(sums, group, n_groups):
    """``frame_sums``' output with its labels added up into groups (-1: none), then all groups."""
    out = {key: np.zeros((len(values), n_groups + 1)) for key, values in sums.items()}
    for g in range(n_groups + 1):
        members = np.flatnonzero(group >= 0) if g == n_groups else np.flatnonzero(group == g)
        for key, values in sums.items():
            part = values[:, members]
            out[key][:, g] = part.max(axis=1, initial=0.0) if key == "peak" else part.sum(axis=1)
    return out


def add_series(force, area, peak, moment_x, moment_y, first_row, column, force_n, area_cm2, peak_kpa, cop_x_mm,
               cop_y_mm):
    """A contact's series, every slot, added into a column of whole-session sums (as NumPy did it)."""
    rows = slice(first_row, first_row + len(force_n))
    loaded = force_n > 0
    force[rows, column] += force_n.sum(axis=1)
    area[rows, column] += area_cm2.sum(axis=1)
    peak[rows, column] = np.maximum(peak[rows, column], peak_kpa.max(axis=1))
    moment_x[rows, column] += np.where(loaded, cop_x_mm * force_n, 0.0).sum(axis=1)
    moment_y[rows, column] += np.where(loaded, cop_y_mm * force_n, 0.0).sum(axis=1)


def feed_regions(force_n, area_cm2, peak_kpa, frames_before, n_per_cm2_in_kpa, state):
    """The next (frames, regions) series fed into regions' running measures (``state``: a dict of
    the arrays of ``RegionMeasures``), as NumPy did it."""
    loaded = area_cm2 > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        pressure = np.where(loaded, n_per_cm2_in_kpa * force_n / area_cm2, 0.0)
    highest = peak_kpa.max(axis=0)
    later = highest > state["peak"]
    state["peak_frame"][later] = frames_before + np.argmax(peak_kpa, axis=0)[later]
    state["peak"] = np.maximum(state["peak"], highest)
    state["area"] = np.maximum(state["area"], area_cm2.max(axis=0))
    state["force"] = np.maximum(state["force"], force_n.max(axis=0))
    state["force_sum"] += force_n.sum(axis=0)
    state["peak_sum"] += peak_kpa.sum(axis=0)
    state["pressure_sum"] += pressure.sum(axis=0)
    state["loaded_frames"] += loaded.sum(axis=0)


def loaded_cells(frames, above):
    """A bit per cell, set where it exceeds ``above`` (first cell in the lowest bit), and those
    cells' values in memory order."""
    flat = frames.ravel()
    loaded = flat > above  # NaN compares False
    return np.packbits(loaded, bitorder="little"), flat[loaded]


def loaded_totals(frames, above):
    """Each cell's sum over the frames in which it exceeds ``above``."""
    return np.where(frames > above, frames, frames.dtype.type(0)).sum(axis=0, dtype=np.float64)


def cell_summary(frames):
    values = frames.astype(np.float64)
    peak = np.fmax.reduce(np.concatenate([np.zeros((1,) + frames.shape[1:]), values]), axis=0)
    floor = np.fmin.reduce(values, axis=0)
    floor[np.isnan(values[0])] = np.nan
    return peak, floor


def label_components(mask):
    """Breadth-first flood fill with 8-connectivity, labels in raster order of first cell."""
    labels = np.full(mask.shape, -1, np.int64)
    n = 0
    for start in zip(*np.nonzero(mask)):
        if labels[start] >= 0:
            continue
        labels[start] = n
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1] and mask[rr, cc] and labels[rr, cc] < 0:
                        labels[rr, cc] = n
                        queue.append((rr, cc))
        n += 1
    return labels, n


def cell_runs(frames, high, low, bridge, hold=None):
    """Each cell's loading runs, plainly: (cell, first, last, peak, frames above low) sorted by cell
    and time. A run starts above ``high`` and lasts while above ``low``; dips of up to ``bridge``
    frames do not end it; ``hold`` frames without a value above ``high`` do; a run's last frame is
    no later than ``bridge`` frames after its last value above ``high``."""
    n_frames, rows, cols = frames.shape
    hold = n_frames + bridge + 1 if hold is None else max(hold, bridge)
    runs = []
    for r in range(rows):
        for c in range(cols):
            start = None
            last = last_high = peak = count = 0  # set when a run starts
            for t in range(n_frames):
                value = frames[t, r, c]
                if start is not None:
                    if value > high:
                        last_high = t
                    if value > low and t - last_high <= hold:
                        last, peak, count = t, max(peak, value), count + 1
                        continue
                    if t - last <= bridge and t - last_high <= hold:
                        continue
                    runs.append((r * cols + c, start, min(last, last_high + bridge), float(peak), count))
                    start = None
                if value > high:
                    start, last, last_high, peak, count = t, t, t, value, 1
            if start is not None:
                runs.append((r * cols + c, start, min(last, last_high + bridge), float(peak), count))
    return runs


def link_runs(runs, shape, slack):
    """Components of runs, every pair checked: 8-neighbouring cells, times overlapping within
    ``slack`` frames. Returns a list of sets of run indices."""
    rows, cols = shape
    parent = list(range(len(runs)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i, (cell_a, start_a, end_a, *_) in enumerate(runs):
        for j, (cell_b, start_b, end_b, *_) in enumerate(runs[:i]):
            (ra, ca), (rb, cb) = divmod(cell_a, cols), divmod(cell_b, cols)
            neighbours = max(abs(ra - rb), abs(ca - cb)) == 1
            if neighbours and start_a <= end_b + slack and start_b <= end_a + slack:
                parent[find(i)] = find(j)
    groups = {}
    for i in range(len(runs)):
        groups.setdefault(find(i), set()).add(i)
    return list(groups.values())
