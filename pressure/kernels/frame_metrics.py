"""Per-frame force, contact area, peak pressure and centre of pressure, per label and whole mat."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from pressure.kernels import FASTMATH


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _frame_sums(frames, labels, n_labels, threshold, accumulator):
    """Sums of loaded cells (value > threshold) per frame and label; slot ``n_labels`` is the whole mat.

    ``accumulator`` is a one-element array whose dtype the sums use: int64 for integer frames,
    which is several times faster than converting every cell to float.
    """
    n_frames, rows, cols = frames.shape
    slots = n_labels + 1
    total = np.zeros((n_frames, slots), accumulator.dtype)
    moment_col = np.zeros((n_frames, slots), accumulator.dtype)
    moment_row = np.zeros((n_frames, slots), accumulator.dtype)
    count = np.zeros((n_frames, slots), np.int64)
    peak = np.zeros((n_frames, slots), frames.dtype)
    for t in prange(n_frames):
        for r in range(rows):
            for c in range(cols):
                value = frames[t, r, c]
                if value > threshold:
                    label = labels[r, c]
                    for k in range(2):
                        slot = n_labels if k == 1 else label
                        if slot < 0:
                            continue
                        total[t, slot] += value
                        moment_col[t, slot] += value * c
                        moment_row[t, slot] += value * r
                        count[t, slot] += 1
                        if value > peak[t, slot]:
                            peak[t, slot] = value
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

    ``labels`` (row, col) gives each cell's slot in 0..n_labels-1, or -1 for none. A cell counts
    when its pressure exceeds ``threshold_kpa``; NaN cells never count. COP is NaN where a slot
    carries no load.
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
    else:
        threshold = frames.dtype.type(threshold)
        accumulator = np.zeros(1, np.float64)
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    total, moment_col, moment_row, count, peak = _frame_sums(
        np.ascontiguousarray(frames), labels, int(n_labels), threshold, accumulator
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
