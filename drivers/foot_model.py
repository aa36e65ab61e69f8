"""A plantar footprint model for the simulator, with the ground truth it implies.

Foot coordinates: ``u`` (mm) runs along the foot axis from the heel edge towards the toes (the
Cavanagh & Rodgers axis, heel centre to second toe), ``m`` (mm) across it, positive medially.
The print without toes spans ``0 <= u <= print_length``; the toes sit beyond a gap, so they form
islands apart from the forefoot as on a real mat: five separate toes, or one merged row of toes
touching each other. The midfoot is a lateral band whose width sets the arch type; a high-arched
print may also lose the band's part next to the heel, leaving the heel an island of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

ARCH_INDEX_BY_TYPE = {"high": 0.17, "normal": 0.235, "flat": 0.30}
TOE_GAP_MM = 12.0
TOES = ("apart", "merged")
HEELS = ("joined", "island")
HEEL_ISLAND_GAP_MM = 15.0  # for a 250 mm foot: three 5 mm cells, so no cell of the band touches the heel
# Merged toes, for a 250 mm foot: (u of the centre counted from the forefoot's end plus the gap,
# m of the centre, half length, half width). Neighbours overlap and each toe's back sits about the
# gap beyond the forefoot's curved front, so the row is one island about 90 mm wide, 40 mm long.
MERGED_TOES = ((15.0, 28.0, 14.0, 15.0), (11.0, 4.0, 10.0, 9.0), (8.0, -11.0, 9.5, 8.0),
               (4.0, -25.0, 9.0, 7.5), (0.0, -39.0, 8.5, 7.5))
TOE_WEB_MM = 5.0  # half thickness of the skin joining merged toes' centres: keeps the row in one piece
# An insole's outline, for a 250 mm foot: half width and medial offset of its middle line at u
# (mm); the front part is given from the toes' base, so the insole grows with the toe gap.
INSOLE_BACK = ((-6.0, 0.0, 0.0), (0.0, 22.0, 0.0), (12.0, 31.0, 0.0), (45.0, 34.0, 1.0),
               (100.0, 38.0, 2.0), (165.0, 47.0, 3.0))
INSOLE_FRONT = ((10.0, 46.0, 2.0), (30.0, 39.0, 4.0), (40.0, 25.0, 4.0), (47.0, 0.0, 4.0))


@dataclass(frozen=True)
class FootShape:
    """A foot print of a given length and midfoot band width (both in mm).

    ``toes`` is ``apart`` (five toes, hallux ahead) or ``merged`` (one row of touching toes);
    ``toe_gap_mm`` is how far beyond the forefoot the toes begin; ``heel`` is ``joined`` (the
    band reaches the heel) or ``island`` (the band stops short of it).
    """

    length_mm: float = 250.0
    band_width_mm: float = 22.0
    toes: str = "apart"
    toe_gap_mm: float = TOE_GAP_MM
    heel: str = "joined"

    def __post_init__(self) -> None:
        if self.toes not in TOES:
            raise ValueError(f"toes must be one of {', '.join(TOES)}, not {self.toes!r}")
        if self.heel not in HEELS:
            raise ValueError(f"heel must be one of {', '.join(HEELS)}, not {self.heel!r}")

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
        band = (u >= 30 * k) & (u <= 165 * k) & (m >= lateral_edge) & (m <= lateral_edge + self.band_width_mm)
        if self.heel == "island":
            # A high arch lifts the band off the mat behind the midfoot: the heel stands alone.
            band &= (u - 30 * k) ** 2 + m**2 > ((30 + HEEL_ISLAND_GAP_MM) * k) ** 2
        return band

    @property
    def _toes_base_mm(self) -> float:
        return self.print_length_mm + self.toe_gap_mm

    def _toe_ellipses(self):
        """(u, m, half length, half width) of each toe, hallux first."""
        k = self.k
        base = self._toes_base_mm
        if self.toes == "merged":
            return [(base + du * k, m * k, au * k, am * k) for du, m, au, am in MERGED_TOES]
        hallux = (base + 17 * k, 22 * k, 16 * k, 13 * k)
        lesser = [(base + (12 - 3 * i) * k, m * k, 7 * k, 6.5 * k) for i, m in enumerate((2, -10, -21, -31))]
        return [hallux, *lesser]

    def _toe_web(self, u, m):
        """The skin between merged toes: a strip along the line through their centres."""
        centres = sorted((cm, cu) for cu, cm, _, _ in self._toe_ellipses())
        cm, cu = np.array(centres).T
        return (m >= cm[0]) & (m <= cm[-1]) & (np.abs(u - np.interp(m, cm, cu)) <= TOE_WEB_MM * self.k)

    def print_mask(self, u, m):
        """Inside the print without toes."""
        return self._heel(u, m) | self._forefoot(u, m) | self._band(u, m)

    def toe_mask(self, u, m):
        inside = np.zeros(np.broadcast(u, m).shape, dtype=bool)
        for cu, cm, au, am in self._toe_ellipses():
            inside |= ((u - cu) / au) ** 2 + ((m - cm) / am) ** 2 <= 1.0
        if self.toes == "merged":
            inside |= self._toe_web(u, m)
        return inside

    @property
    def reach_mm(self) -> float:
        """How far beyond the heel edge the foot may reach, toes included."""
        return self._toes_base_mm + 40 * self.k

    def insole_mask(self, u, m):
        """Inside the outline of an insole that fits this foot, toes included."""
        k = self.k
        base = self._toes_base_mm
        profile = [(u_k * k, half * k, middle * k) for u_k, half, middle in INSOLE_BACK]
        profile += [(base + u_k * k, half * k, middle * k) for u_k, half, middle in INSOLE_FRONT]
        along, half, middle = np.array(profile).T
        reach = np.interp(u, along, half, left=0.0, right=0.0)
        return (reach > 0) & (np.abs(m - np.interp(u, along, middle)) <= reach)

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


def shape_for_arch(arch: str | float, length_mm: float = 250.0, **form) -> FootShape:
    """The foot shape whose arch index is ``arch`` (a number, or high/normal/flat).

    ``form`` (toes, toe_gap_mm, heel) is kept while the band width is searched, so the index is
    that of the print actually drawn (a heel island leaves less print behind the midfoot).
    """
    target = ARCH_INDEX_BY_TYPE[arch] if isinstance(arch, str) else float(arch)
    low, high = 1.0, 60.0 * length_mm / 250.0
    lowest, highest = FootShape(length_mm, low, **form).arch_index, FootShape(length_mm, high, **form).arch_index
    if not lowest <= target <= highest:
        raise ValueError(f"arch index {target} is outside what the model makes ({lowest:.3f}..{highest:.3f})")
    for _ in range(30):
        middle = 0.5 * (low + high)
        if FootShape(length_mm, middle, **form).arch_index < target:
            low = middle
        else:
            high = middle
    return FootShape(length_mm, 0.5 * (low + high), **form)


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
        u, m = np.meshgrid(np.arange(0, self.shape.reach_mm, 1.0), np.arange(-60 * k, 60 * k, 1.0))
        inside = self.shape.print_mask(u, m) | self.shape.toe_mask(u, m)
        return self.to_mat(u[inside], m[inside])


def unit(angle_deg: float) -> tuple[float, float]:
    angle = np.deg2rad(angle_deg)
    return float(np.cos(angle)), float(np.sin(angle))
