"""Cavanagh & Rodgers (1987) arch index of a footprint.

The print without toes is divided along the foot axis into equal thirds; the arch index is the
middle third's area over the whole area. The axis runs from the heel centre to the toes (the
centroid of the toe islands), or along the print's principal axis when no toes are seen. Cells
are apportioned between thirds by how much of their length along the axis lies in each, which
keeps the index stable when a third's boundary falls inside a row of cells.
"""

from __future__ import annotations

import numpy as np

HIGH_ARCH_MAX = 0.21
FLAT_ARCH_MIN = 0.26


def arch_type(index: float) -> str:
    if not np.isfinite(index):
        return ""
    if index <= HIGH_ARCH_MAX:
        return "high"
    if index >= FLAT_ARCH_MIN:
        return "flat"
    return "normal"


def foot_axis(print_xy: np.ndarray, toes_xy: np.ndarray, forward: np.ndarray) -> tuple[np.ndarray, str]:
    """Unit vector from heel to toes, and the method used ("heel-toes" or "principal")."""
    centred = print_xy - print_xy.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    principal = vectors[:, -1]
    if principal @ forward < 0:
        principal = -principal
    if len(toes_xy) == 0:
        return principal, "principal"
    s = print_xy @ principal
    heel = print_xy[s <= s.min() + 0.15 * np.ptp(s)].mean(axis=0)
    axis = toes_xy.mean(axis=0) - heel
    return axis / np.hypot(*axis), "heel-toes"


def arch_index(
    print_mask: np.ndarray,
    toes_mask: np.ndarray,
    pitch_x_mm: float,
    pitch_y_mm: float,
    forward: np.ndarray,
) -> tuple[float, str]:
    """Arch index of one print, and the axis method; NaN for an empty print."""
    rows, cols = np.nonzero(print_mask)
    if len(rows) < 3:
        return float("nan"), "none"
    print_xy = np.column_stack([cols * pitch_x_mm, rows * pitch_y_mm]).astype(float)
    toe_rows, toe_cols = np.nonzero(toes_mask)
    toes_xy = np.column_stack([toe_cols * pitch_x_mm, toe_rows * pitch_y_mm]).astype(float)
    axis, method = foot_axis(print_xy, toes_xy, np.asarray(forward, float))
    s = print_xy @ axis
    half = 0.5 * (abs(axis[0]) * pitch_x_mm + abs(axis[1]) * pitch_y_mm)
    start, end = s.min() - half, s.max() + half
    third = (end - start) / 3
    low, high = start + third, start + 2 * third
    overlap = np.clip(np.minimum(s + half, high) - np.maximum(s - half, low), 0.0, None)
    return float(overlap.sum() / (2 * half * len(s))), method
