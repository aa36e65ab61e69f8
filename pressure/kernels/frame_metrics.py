"""Per-frame force, contact area, peak pressure and centre of pressure, per label and whole mat."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from pressure.kernels import FASTMATH


MAX_RUN = 128


def label_spans(labels: np.ndarray) -> np.ndarray:
    """Runs of equal labels along each row, at most MAX_RUN long: (label, row, first, end) for labels >= 0."""
    spans = []
    for row, line in enumerate(labels):
        change = np.flatnonzero(np.diff(line)) + 1
        starts = np.concatenate([[0], change])
        ends = np.concatenate([change, [len(line)]])
        for first, end in zip(starts, ends):
            if line[first] < 0:
                continue
            for piece in range(first, end, MAX_RUN):
                spans.append((line[first], row, piece, min(end, piece + MAX_RUN)))
    return np.array(spans, dtype=np.int64).reshape(-1, 4)


FRAMES_PER_TASK = 256


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _frame_sums(frames, spans, n_labels, threshold, accumulator, run_offsets):
    """Sums of loaded cells (value > threshold) per frame and label; slot ``n_labels`` is all labels.

    Only labelled cells are visited, one contiguous run of a row at a time, so unloaded parts of
    the mat cost nothing. Each thread takes blocks of frames and sums into small arrays of its
    own, written out once per frame. ``accumulator`` is a one-element array whose dtype the frame
    sums use; ``run_offsets`` (0, 1, ... MAX_RUN - 1) sets the dtype of the sums within a run:
    for 8- and 16-bit frames int32, which cannot overflow in MAX_RUN cells and vectorises where
    int64 multiplies do not.
    """
    n_frames = frames.shape[0]
    slots = n_labels + 1
    total = np.zeros((n_frames, slots), accumulator.dtype)
    moment_col = np.zeros((n_frames, slots), accumulator.dtype)
    moment_row = np.zeros((n_frames, slots), accumulator.dtype)
    count = np.zeros((n_frames, slots), np.int64)
    peak = np.zeros((n_frames, slots), frames.dtype)
    run_zero = run_offsets[0] * 0
    cell_zero = np.zeros(1, frames.dtype)[0]  # not value * 0, which is NaN for a NaN cell
    n_tasks = (n_frames + FRAMES_PER_TASK - 1) // FRAMES_PER_TASK
    for task in prange(n_tasks):
        sums = np.zeros((3, n_labels), accumulator.dtype)
        counts = np.zeros(n_labels, np.int64)
        peaks = np.zeros(n_labels, frames.dtype)
        for t in range(task * FRAMES_PER_TASK, min(n_frames, (task + 1) * FRAMES_PER_TASK)):
            sums[:] = 0
            counts[:] = 0
            peaks[:] = cell_zero
            frame = frames[t]
            for s in range(spans.shape[0]):
                label, r, first, end = spans[s, 0], spans[s, 1], spans[s, 2], spans[s, 3]
                line = frame[r]
                run_total = run_zero
                run_moment = run_zero
                run_count = 0
                run_peak = cell_zero
                for c in range(first, end):
                    value = line[c]
                    loaded = value > threshold
                    weight = value if loaded else cell_zero
                    run_total += weight
                    run_moment += weight * run_offsets[c - first]
                    run_count += 1 if loaded else 0
                    run_peak = run_peak if run_peak > weight else weight
                sums[0, label] += run_total
                sums[1, label] += run_moment + run_total * first
                sums[2, label] += run_total * r
                counts[label] += run_count
                if run_peak > peaks[label]:
                    peaks[label] = run_peak
            for k in range(n_labels):
                total[t, k] = sums[0, k]
                moment_col[t, k] = sums[1, k]
                moment_row[t, k] = sums[2, k]
                count[t, k] = counts[k]
                peak[t, k] = peaks[k]
                total[t, n_labels] += sums[0, k]
                moment_col[t, n_labels] += sums[1, k]
                moment_row[t, n_labels] += sums[2, k]
                count[t, n_labels] += counts[k]
                if peaks[k] > peak[t, n_labels]:
                    peak[t, n_labels] = peaks[k]
    return total, moment_col, moment_row, count, peak


@dataclass(frozen=True)
class FrameMetrics:
    """Per frame (rows) and slot (columns: one per label, then the whole mat)."""

    force_n: np.ndarray
    contact_area_cm2: np.ndarray
    peak_kpa: np.ndarray
    cop_x_mm: np.ndarray
    cop_y_mm: np.ndarray


def frame_metrics(
    frames: np.ndarray,
    labels: np.ndarray,
    n_labels: int,
    *,
    threshold_kpa: float,
    scale_kpa: float = 1.0,
    pitch_x_mm: float,
    pitch_y_mm: float,
    cell_area_mm2: float | None = None,
) -> FrameMetrics:
    """Metrics of ``frames`` (time, row, col) in device values, kPa = value * ``scale_kpa``.

    ``labels`` (row, col) gives each cell's slot in 0..n_labels-1, or -1 for a cell never
    counted; the last slot sums every labelled cell. A cell counts when its pressure exceeds
    ``threshold_kpa``; NaN cells never count. COP is NaN where a slot carries no load.
    """
    if frames.ndim != 3:
        raise ValueError(f"frames must be (time, row, col), got {frames.shape}")
    if labels.shape != frames.shape[1:]:
        raise ValueError(f"labels {labels.shape} do not match frames {frames.shape[1:]}")
    if not scale_kpa > 0:
        raise ValueError("scale_kpa must be positive")
    if not threshold_kpa >= 0:
        raise ValueError("threshold_kpa must be >= 0")
    threshold = threshold_kpa / scale_kpa
    if np.issubdtype(frames.dtype, np.integer):
        # value > t for an integer value is value > floor(t); clip into the dtype's range.
        threshold = frames.dtype.type(min(np.floor(threshold), np.iinfo(frames.dtype).max))
        accumulator = np.zeros(1, np.int64)
        narrow = frames.dtype.itemsize <= 2
        run_offsets = np.arange(MAX_RUN, dtype=np.int32 if narrow else np.int64)
    else:
        threshold = frames.dtype.type(threshold)
        accumulator = np.zeros(1, np.float64)
        run_offsets = np.arange(MAX_RUN, dtype=np.float64)
    if labels.size and labels.max() >= n_labels:
        raise ValueError(f"labels go up to {labels.max()}, more than n_labels={n_labels} allows")
    total, moment_col, moment_row, count, peak = _frame_sums(
        np.ascontiguousarray(frames), label_spans(labels), int(n_labels), threshold, accumulator, run_offsets
    )
    area = cell_area_mm2 if cell_area_mm2 is not None else pitch_x_mm * pitch_y_mm
    total_kpa = total.astype(np.float64) * scale_kpa
    with np.errstate(invalid="ignore", divide="ignore"):
        loaded = total > 0
        cop_x = np.where(loaded, moment_col / np.where(loaded, total, 1) * pitch_x_mm, np.nan)
        cop_y = np.where(loaded, moment_row / np.where(loaded, total, 1) * pitch_y_mm, np.nan)
    return FrameMetrics(
        force_n=total_kpa * 1000.0 * area * 1e-6,
        contact_area_cm2=count * area * 1e-2,
        peak_kpa=peak.astype(np.float64) * scale_kpa,
        cop_x_mm=cop_x,
        cop_y_mm=cop_y,
    )
