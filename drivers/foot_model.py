"""A plantar footprint model for the simulator, with the ground truth it implies.

Foot coordinates: ``u`` (mm) runs along the foot axis from the heel edge towards the toes (the
Cavanagh & Rodgers axis, heel centre to second toe), ``m`` (mm) across it, positive medially.
The print without toes spans ``0 <= u <= print_length``; the toes sit beyond a gap, so they form
separate islands as on a real mat. The midfoot is a lateral band whose width sets the arch type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

ARCH_INDEX_BY_TYPE = {"high": 0.17, "normal": 0.235, "flat": 0.30}
TOE_GAP_MM = 12.0


@dataclass(frozen=True)
class FootShape:
    """A foot print of a given length and midfoot band width (both in mm)."""

    length_mm: float = 250.0
    band_width_mm: float = 22.0

    @property
    def k(self) -> float:
        return self.length_mm / 250.0

    @property
    def print_length_mm(self) -> float:
        return 200.0 * self.k

    def _heel(self, u, m):
        k = self.k
        return (u - 30 * k) ** 2 + m**2 <= (30 * k) ** 2

    def _forefoot(self, u, m):
        k = self.k
        return ((u - 165 * k) / (35 * k)) ** 2 + ((m - 5 * k) / (45 * k)) ** 2 <= 1.0

    def _band(self, u, m):
        k = self.k
        lateral_edge = -27 * k + (u - 40 * k) * (-11.0 / 110.0)
        return (u >= 30 * k) & (u <= 165 * k) & (m >= lateral_edge) & (m <= lateral_edge + self.band_width_mm)

    def _toe_ellipses(self):
        k = self.k
        base = self.print_length_mm + TOE_GAP_MM
        hallux = (base + 17 * k, 22 * k, 16 * k, 13 * k)
        lesser = [(base + (12 - 3 * i) * k, m * k, 7 * k, 6.5 * k) for i, m in enumerate((2, -10, -21, -31))]
        return [hallux, *lesser]

    def print_mask(self, u, m):
        """Inside the print without toes."""
        return self._heel(u, m) | self._forefoot(u, m) | self._band(u, m)

    def toe_mask(self, u, m):
        inside = np.zeros(np.broadcast(u, m).shape, dtype=bool)
        for cu, cm, au, am in self._toe_ellipses():
            inside |= ((u - cu) / au) ** 2 + ((m - cm) / am) ** 2 <= 1.0
        return inside

    def relative_pressure(self, u, m):
        """Unnormalised pressure: heel and metatarsal peaks over a floor, zero off the foot."""
        k = self.k
        heel = 150 * np.exp(-((u - 28 * k) ** 2 + m**2) / (2 * (14 * k) ** 2))
        metatarsals = 110 * np.exp(-(((u - 160 * k) / (22 * k)) ** 2 + ((m - 8 * k) / (30 * k)) ** 2) / 2)
        foot = np.where(self.print_mask(u, m), 60.0 + heel + metatarsals, 0.0)
        toes = np.where(self.toe_mask(u, m), 45.0, 0.0)
        return np.where(foot > 0, foot, toes)

    @cached_property
    def arch_index(self) -> float:
        """Cavanagh & Rodgers arch index of the continuous print (0.25 mm sampling)."""
        step = 0.25
        u = np.arange(step / 2, self.print_length_mm, step)[:, None]
        m = np.arange(-60 * self.k, 60 * self.k, step)[None, :]
        inside = self.print_mask(u, m)
        rows_area = inside.sum(axis=1)
        third = self.print_length_mm / 3
        middle = (u[:, 0] >= third) & (u[:, 0] < 2 * third)
        return float(rows_area[middle].sum() / rows_area.sum())


def shape_for_arch(arch: str | float, length_mm: float = 250.0) -> FootShape:
    """The foot shape whose arch index is ``arch`` (a number, or high/normal/flat)."""
    target = ARCH_INDEX_BY_TYPE[arch] if isinstance(arch, str) else float(arch)
    low, high = 1.0, 60.0 * length_mm / 250.0
    lowest, highest = FootShape(length_mm, low).arch_index, FootShape(length_mm, high).arch_index
    if not lowest <= target <= highest:
        raise ValueError(f"arch index {target} is outside what the model makes ({lowest:.3f}..{highest:.3f})")
    for _ in range(30):
        middle = 0.5 * (low + high)
        if FootShape(length_mm, middle).arch_index < target:
            low = middle
        else:
            high = middle
    return FootShape(length_mm, 0.5 * (low + high))


@dataclass(frozen=True)
class PlacedFoot:
    """A foot shape on the mat: heel edge point and unit axis in mat coordinates (x, y) mm."""

    shape: FootShape
    heel_xy: tuple[float, float]
    axis_xy: tuple[float, float]
    side: str  # "left" or "right"

    def foot_coordinates(self, x: np.ndarray, y: np.ndarray):
        ax, ay = self.axis_xy
        dx, dy = x - self.heel_xy[0], y - self.heel_xy[1]
        u = dx * ax + dy * ay
        # (-ay, ax) points to the walker's left; medial is left for the right foot, right for the left.
        towards_left = -dx * ay + dy * ax
        m = towards_left if self.side == "right" else -towards_left
        return u, m


    def to_mat(self, u: np.ndarray, m: np.ndarray):
        """Mat coordinates (x, y) of foot coordinates (u, m)."""
        ax, ay = self.axis_xy
        towards_left = m if self.side == "right" else -m
        return self.heel_xy[0] + u * ax - towards_left * ay, self.heel_xy[1] + u * ay + towards_left * ax

    def outline_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Mat coordinates of points covering the whole foot, toes included (1 mm apart)."""
        k = self.shape.k
        u, m = np.meshgrid(np.arange(0, self.shape.print_length_mm + TOE_GAP_MM + 40 * k, 1.0),
                           np.arange(-60 * k, 60 * k, 1.0))
        inside = self.shape.print_mask(u, m) | self.shape.toe_mask(u, m)
        return self.to_mat(u[inside], m[inside])


def unit(angle_deg: float) -> tuple[float, float]:
    angle = np.deg2rad(angle_deg)
    return float(np.cos(angle)), float(np.sin(angle))
