"""Where a mat's cells are, and the extent of a set of them along its principal axis."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pressure.contacts.tracking import RawContact


@dataclass(frozen=True)
class Grid:
    """Where a mat's cells are: shape and pitch."""

    shape: tuple[int, int]
    pitch_x_mm: float
    pitch_y_mm: float

    @property
    def cell_cm2(self) -> float:
        return self.pitch_x_mm * self.pitch_y_mm / 100.0

    def cells_in(self, area_cm2: float) -> float:
        """How many cells cover ``area_cm2`` (not rounded: a count of cells is compared with it)."""
        return area_cm2 / self.cell_cm2

    def xy(self, cells: np.ndarray) -> np.ndarray:
        rows, cols = np.divmod(cells, self.shape[1])
        return np.column_stack([cols * self.pitch_x_mm, rows * self.pitch_y_mm]).astype(float)

    def edge(self, cells: np.ndarray) -> np.ndarray:
        """Which of ``cells`` lie on the mat's outer rows and columns."""
        rows, cols = np.divmod(cells, self.shape[1])
        return (rows == 0) | (cols == 0) | (rows == self.shape[0] - 1) | (cols == self.shape[1] - 1)


EDGE_CUT_FRACTION = 0.25


def cut_by_edge(contact: RawContact, grid: Grid) -> bool:
    """Whether the mat's edge cuts the print: at a print's own border the pressure falls to near
    nothing, so a print whose edge cells still carry a quarter of its peak goes on beyond the mat."""
    edge = grid.edge(contact.cells)
    peak = np.nan_to_num(contact.peak_kpa)
    return bool(edge.any() and peak[edge].max() > EDGE_CUT_FRACTION * peak.max())


@dataclass(frozen=True)
class Extent:
    """A set of points' principal axis (unit vector), centre, and length and width along it."""

    centre: np.ndarray
    axis: np.ndarray
    length_mm: float
    width_mm: float

    @property
    def elongation(self) -> float:
        return self.length_mm / max(self.width_mm, 1e-9)


def extent(xy: np.ndarray, grid: Grid) -> Extent:
    centre = xy.mean(axis=0)
    if len(xy) < 2:
        return Extent(centre, np.array([0.0, 1.0]), grid.pitch_y_mm, grid.pitch_x_mm)
    return measured_along(centre, _covariance(xy - centre), xy, grid)


def _covariance(points: np.ndarray) -> np.ndarray:
    """``np.cov(points.T)``, by np.cov's own steps without its argument handling (the same
    values to the bit; 19 against 38 us, and a walking hour asks for some 40,000)."""
    rows = np.array(points.T, dtype=np.float64)  # (2, n), C order, as np.cov copies it
    rows -= rows.mean(axis=1)[:, None]
    covariance = np.dot(rows, rows.T)
    covariance *= 1.0 / (len(points) - 1)
    return covariance


def measured_along(centre: np.ndarray, covariance: np.ndarray, xy: np.ndarray, grid: Grid) -> Extent:
    """The extent of cells with this centre and covariance, measured on ``xy``: the cells, or any
    subset holding their extremes in every direction (``Outline``)."""
    _, vectors = np.linalg.eigh(covariance)
    axis = vectors[:, -1]
    across = np.array([-axis[1], axis[0]])
    # A cell adds its own size along each direction, so a row of n cells is n pitches long.
    along_cell = abs(axis[0]) * grid.pitch_x_mm + abs(axis[1]) * grid.pitch_y_mm
    across_cell = abs(across[0]) * grid.pitch_x_mm + abs(across[1]) * grid.pitch_y_mm
    return Extent(centre, axis, float(np.ptp((xy - centre) @ axis) + along_cell),
                  float(np.ptp((xy - centre) @ across) + across_cell))


@dataclass(frozen=True)
class Outline:
    """What the extent of a set of cells, and of any union of such sets, needs without all their
    cells: the count, the sums of x, y, xx, xy and yy, and the first and last cell of each row
    (along any direction, a row's extremes are its end cells)."""

    count: int
    sums: np.ndarray
    rims: np.ndarray

    @classmethod
    def of(cls, cells: np.ndarray, grid: Grid) -> Outline:
        xy = grid.xy(np.sort(cells))
        x, y = xy[:, 0], xy[:, 1]
        row_starts = np.flatnonzero(np.r_[True, y[1:] != y[:-1]])
        row_ends = np.r_[row_starts[1:], len(xy)] - 1
        sums = np.array([x.sum(), y.sum(), (x * x).sum(), (x * y).sum(), (y * y).sum()])
        return cls(len(xy), sums, xy[np.unique(np.r_[row_starts, row_ends])])

    @staticmethod
    def union(outlines: list[Outline]) -> Outline:
        return Outline(sum(o.count for o in outlines), np.sum([o.sums for o in outlines], axis=0),
                       np.concatenate([o.rims for o in outlines]))

    def extent(self, grid: Grid) -> Extent:
        if self.count < 2:
            return extent(self.rims, grid)
        n = self.count
        mx, my = self.sums[0] / n, self.sums[1] / n
        sxx, sxy, syy = self.sums[2] / n - mx * mx, self.sums[3] / n - mx * my, self.sums[4] / n - my * my
        return measured_along(np.array([mx, my]), np.array([[sxx, sxy], [sxy, syy]]), self.rims, grid)
