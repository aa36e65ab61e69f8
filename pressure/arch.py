"""Foot geometry from a print: its axis, its thirds, the Cavanagh & Rodgers (1987) arch index and
the hindfoot / midfoot / forefoot / toes regions.

The print without toes is divided along the foot axis into equal thirds; the arch index is the
middle third's area over the whole area. The axis runs from the heel centre to the second toe,
or along the print's principal axis when no toes are seen. Cells
are apportioned between thirds by how much of their length along the axis lies in each, which
keeps the index stable when a third's boundary falls inside a row of cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HIGH_ARCH_MAX = 0.21
FLAT_ARCH_MIN = 0.26
REGIONS = ("hindfoot", "midfoot", "forefoot", "toes")


def arch_type(index: float) -> str:
    if not np.isfinite(index):
        return ""
    if index <= HIGH_ARCH_MAX:
        return "high"
    if index >= FLAT_ARCH_MIN:
        return "flat"
    return "normal"


@dataclass(frozen=True)
class FootGeometry:
    """A print's axis and extent; ``s`` is each print cell's position along the axis (mm)."""

    axis: np.ndarray  # unit vector, heel to toes, in (x, y)
    method: str  # "heel-toes" or "principal"
    heel_xy: np.ndarray  # heel centre
    rows: np.ndarray  # print cells (without toes)
    cols: np.ndarray
    s: np.ndarray
    half_cell: float  # half a cell's length along the axis
    start: float  # heel end of the print along the axis
    end: float  # front end of the print (toes excluded)
    width_mm: float  # widest extent across the axis

    @property
    def length_mm(self) -> float:
        return self.end - self.start

    def third_overlap(self, third: int) -> np.ndarray:
        """Fraction of each print cell lying in third 0 (heel), 1 (middle) or 2 (front)."""
        step = self.length_mm / 3
        low, high = self.start + third * step, self.start + (third + 1) * step
        overlap = np.minimum(self.s + self.half_cell, high) - np.maximum(self.s - self.half_cell, low)
        return np.clip(overlap, 0.0, None) / (2 * self.half_cell)


SECOND_TOE_FROM_MEDIAL = 0.45  # the hallux takes a good third of the toes' width; the second toe is next to it


def second_toe(toes_xy: np.ndarray, forward: np.ndarray, foot: str) -> np.ndarray:
    """Where the second toe is: at the toes' mean position along the foot, and 45 % of their
    medio-lateral extent from the medial edge (SECOND_TOE_FROM_MEDIAL)."""
    medial = np.array([forward[1], -forward[0]]) * (1.0 if foot == "left" else -1.0)
    across = toes_xy @ medial
    centre = toes_xy.mean(axis=0)
    target = across.max() - SECOND_TOE_FROM_MEDIAL * np.ptp(across)
    return centre + (target - centre @ medial) * medial


CREASE_TURNS_DEG = (10.0, -10.0, 20.0, -20.0)  # a crease that runs aslant, tried where a square one shows none


def split_toes(print_mask: np.ndarray, peak_kpa: np.ndarray, pitch_x_mm: float, pitch_y_mm: float,
               forward, aslant: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Toes joined to the forefoot, cut off at the toe crease: the slice across the distal third
    of the print where pressure dips between the metatarsal heads and the toes. With ``aslant``
    (no toes found otherwise, not even as islands), where slices square to the print's axis show
    no clear dip, slices turned up to 20 degrees are tried too: the crease follows the metatarsal
    heads, and a real footstep's 403 kPa hallux stayed in its print because the slices through
    it also crossed the lesser toes' heads. Returns the print without toes and the toes (empty
    when no clear dip is seen)."""
    rows, cols = np.nonzero(print_mask)
    no_toes = (print_mask, np.zeros_like(print_mask))
    if len(rows) < 10:
        return no_toes
    xy = np.column_stack([cols * pitch_x_mm, rows * pitch_y_mm]).astype(float)
    centred = xy - xy.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    axis = vectors[:, -1] if vectors[:, -1] @ np.asarray(forward, float) >= 0 else -vectors[:, -1]
    values = np.nan_to_num(peak_kpa[rows, cols])
    step = min(pitch_x_mm, pitch_y_mm)
    found = _beyond_crease(xy @ axis, values, step)
    if found is None and aslant:
        turned = []
        for degrees in CREASE_TURNS_DEG:
            c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
            direction = np.array([c * axis[0] - s * axis[1], s * axis[0] + c * axis[1]])
            if (crease := _beyond_crease(xy @ direction, values, step)) is not None:
                turned.append(crease)
        found = min(turned, key=lambda crease: crease[0], default=None)  # the deepest dip
    if found is None:
        return no_toes
    toes = np.zeros_like(print_mask)
    toes[rows[found[1]], cols[found[1]]] = True
    return print_mask & ~toes, toes


def _beyond_crease(s: np.ndarray, values: np.ndarray, step: float) -> tuple[float, np.ndarray] | None:
    """(dip ratio, which cells lie beyond it) of the clearest dip in the distal third of the load
    profile along ``s`` (each cell's position, mm), or None without a clear one."""
    bins = ((s - s.min()) / step).astype(int)
    profile = np.bincount(bins, weights=values)
    n = len(profile)
    distal = np.arange(int(n * 0.65), n - 2)
    if len(distal) == 0:
        return None
    # The crease is the deepest dip between the forefoot's load and the toes' load: measured
    # against the lower of the two, so that the fading tip of the toes is no crease.
    before = np.array([profile[int(n * 0.5): v].max(initial=0.0) for v in distal])
    after = np.array([profile[v + 1:].max(initial=0.0) for v in distal])
    dip_ratio = profile[distal] / np.maximum(np.minimum(before, after), 1e-12)  # smaller: deeper
    best = int(np.argmin(dip_ratio))
    valley = int(distal[best])
    if not (profile[valley] < 0.5 * before[best] and after[best] > 1.5 * profile[valley]):
        return None
    return float(dip_ratio[best]), bins > valley


def foot_geometry(
    print_mask: np.ndarray, toes_mask: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, forward,
    foot: str = "left",
) -> FootGeometry | None:
    """Geometry of one print, or None when it has too few cells to have any."""
    rows, cols = np.nonzero(print_mask)
    if len(rows) < 3:
        return None
    print_xy = np.column_stack([cols * pitch_x_mm, rows * pitch_y_mm]).astype(float)
    toe_rows, toe_cols = np.nonzero(toes_mask)
    toes_xy = np.column_stack([toe_cols * pitch_x_mm, toe_rows * pitch_y_mm]).astype(float)
    centred = print_xy - print_xy.mean(axis=0)
    _, vectors = np.linalg.eigh(centred.T @ centred)
    principal = vectors[:, -1]
    if principal @ np.asarray(forward, float) < 0:
        principal = -principal
    s = print_xy @ principal
    heel = print_xy[s <= s.min() + 0.15 * np.ptp(s)].mean(axis=0)
    if len(toes_xy):
        axis = second_toe(toes_xy, principal, foot) - heel
        axis, method = axis / np.hypot(*axis), "heel-toes"
    else:
        axis, method = principal, "principal"
    s = print_xy @ axis
    across = print_xy @ np.array([-axis[1], axis[0]])
    half = 0.5 * (abs(axis[0]) * pitch_x_mm + abs(axis[1]) * pitch_y_mm)
    half_across = 0.5 * (abs(axis[1]) * pitch_x_mm + abs(axis[0]) * pitch_y_mm)
    return FootGeometry(
        axis=axis, method=method, heel_xy=heel, rows=rows, cols=cols, s=s, half_cell=half,
        start=float(s.min() - half), end=float(s.max() + half),
        width_mm=float(np.ptp(across) + 2 * half_across),
    )


def arch_index(geometry: FootGeometry | None) -> float:
    """Middle-third area over the print's area (toes excluded); NaN without a print."""
    if geometry is None:
        return float("nan")
    return float(geometry.third_overlap(1).sum() / len(geometry.s))


def region_masks(geometry: FootGeometry | None, toes_mask: np.ndarray) -> dict[str, np.ndarray]:
    """Hindfoot, midfoot and forefoot (the print's thirds, each cell to the third holding most of
    it) and the toes, as boolean images."""
    masks = {name: np.zeros(toes_mask.shape, bool) for name in REGIONS}
    masks["toes"] = toes_mask.copy()
    if geometry is None:
        return masks
    shares = np.stack([geometry.third_overlap(third) for third in range(3)])
    best = shares.argmax(axis=0)
    for third, name in enumerate(REGIONS[:3]):
        masks[name][geometry.rows[best == third], geometry.cols[best == third]] = True
    return masks
