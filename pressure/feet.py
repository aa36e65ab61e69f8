"""Footprints: which cells belong to which foot, and whether the person stood or walked.

A footprint is a connected region of the session's peak-pressure image big enough to be a foot;
smaller islands close in front of it (toes, separated by the unloaded toe crease) join it.
Standing sessions have two long-lived footprints, told apart by the facing direction; walking
sessions have one footprint per contact, alternating either side of the line of progression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pressure.kernels.components import label_components

FEET = ("left", "right")
DIRECTIONS = {"+x": (1.0, 0.0), "-x": (-1.0, 0.0), "+y": (0.0, 1.0), "-y": (0.0, -1.0)}
MIN_PRINT_CM2 = 15.0
MIN_ELONGATION = 1.5  # length over width of a print; a knee or a coin is rounder
TOE_REACH_MM = 40.0
HAND_OR_KNEE_CM2 = 5.0


class NoFeetError(ValueError):
    """The recording holds nothing the size of a foot."""


@dataclass
class Footprint:
    """One foot print: ``print_mask`` without toes, ``mask`` with them."""

    print_mask: np.ndarray
    mask: np.ndarray
    centroid_xy: np.ndarray
    foot: str = ""


@dataclass
class FootLayout:
    footprints: list[Footprint]
    activity: str  # "standing" or "walking"
    direction: str  # facing (standing) or progression (walking), one of DIRECTIONS
    extra_blobs: list[np.ndarray]  # loaded regions neither foot nor toe (a hand, a knee, a dropped object)

    def labels(self) -> np.ndarray:
        """Per cell: footprint index, then extra blobs numbered after the footprints, -1 elsewhere."""
        labels = np.full(self.footprints[0].mask.shape, -1, np.int32)
        for index, mask in enumerate([fp.mask for fp in self.footprints] + self.extra_blobs):
            labels[mask] = index
        return labels


def left_of(direction: str) -> np.ndarray:
    dx, dy = DIRECTIONS[direction]
    return np.array([-dy, dx])


def elongation(mask: np.ndarray, pitch_x_mm: float, pitch_y_mm: float) -> float:
    """Ratio of the principal extents of a region (1 for a disc, about 2.5 for a foot print)."""
    rows, cols = np.nonzero(mask)
    if len(rows) < 3:
        return 1.0
    xy = np.column_stack([cols * pitch_x_mm, rows * pitch_y_mm]).astype(float)
    eigenvalues = np.linalg.eigvalsh(np.cov(xy.T))
    return float(np.sqrt(eigenvalues[-1] / max(eigenvalues[0], 1e-9)))


def foot_like(mask: np.ndarray, pitch_x_mm: float, pitch_y_mm: float) -> bool:
    area = mask.sum() * pitch_x_mm * pitch_y_mm / 100.0
    return area >= MIN_PRINT_CM2 and elongation(mask, pitch_x_mm, pitch_y_mm) >= MIN_ELONGATION


def split_side_by_side(mask: np.ndarray, facing: str, pitch_x_mm: float, pitch_y_mm: float) -> list[np.ndarray]:
    """Two feet touching side by side, split where fewest cells lie across the person's left-right
    axis (in the middle of the region); an empty list when the halves are not both foot-like."""
    lateral_axis = 1 if DIRECTIONS[facing][1] != 0 else 0  # columns when facing along y
    profile = mask.sum(axis=1 - lateral_axis) if lateral_axis == 1 else mask.sum(axis=1)
    occupied = np.flatnonzero(profile)
    low, high = occupied[0], occupied[-1]
    inner = np.arange(low + (high - low) // 5, high - (high - low) // 5 + 1)
    if len(inner) == 0:
        return []
    cut = int(inner[np.argmin(profile[inner])])
    index = np.indices(mask.shape)[lateral_axis]
    halves = [mask & (index < cut), mask & (index > cut)]
    if all(foot_like(half, pitch_x_mm, pitch_y_mm) for half in halves):
        return halves
    return []


def find_footprints(
    loaded: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, facing: str = "+y"
) -> tuple[list[Footprint], list[np.ndarray]]:
    """Footprints in a boolean image of cells that were loaded for a while, and the other blobs
    big enough to matter (a hand, a knee); specks smaller than that are left out.

    A region is a print when it is big and elongated enough; a big round region is tried as two
    feet touching side by side (across ``facing``); smaller islands within reach of a print are
    its toes.
    """
    labels, n = label_components(loaded)
    if n == 0:
        return [], []
    cell_cm2 = pitch_x_mm * pitch_y_mm / 100.0
    areas = np.bincount(labels[labels >= 0], minlength=n) * cell_cm2
    rows, cols = np.indices(loaded.shape)
    xy = np.stack([cols * pitch_x_mm, rows * pitch_y_mm], axis=-1)
    prints: list[np.ndarray] = []
    extra: list[np.ndarray] = []
    small: list[int] = []
    for i in range(n):
        region = labels == i
        if areas[i] < MIN_PRINT_CM2:
            small.append(i)
        elif foot_like(region, pitch_x_mm, pitch_y_mm):
            prints.append(region)
        else:
            halves = split_side_by_side(region, facing, pitch_x_mm, pitch_y_mm) if areas[i] >= 2 * MIN_PRINT_CM2 else []
            if halves:
                prints.extend(halves)
            else:
                extra.append(region)
    footprints = [Footprint(mask, mask.copy(), xy[mask].mean(axis=0)) for mask in prints]
    for i in small:
        island = labels == i
        owner = _toes_owner(xy[island], [xy[fp.print_mask] for fp in footprints])
        if owner is not None:
            footprints[owner].mask |= island
        elif areas[i] >= HAND_OR_KNEE_CM2:
            extra.append(island)
    return footprints, extra


def _toes_owner(island_xy: np.ndarray, prints_xy: list[np.ndarray]) -> int | None:
    """The print whose toes an island is: within reach of it, beyond one end along its length
    and not out to its side."""
    best, best_distance = None, TOE_REACH_MM
    centre = island_xy.mean(axis=0)
    for index, print_xy in enumerate(prints_xy):
        distance = _nearest_distance(island_xy, print_xy)
        if distance > best_distance:
            continue
        middle = print_xy.mean(axis=0)
        _, vectors = np.linalg.eigh(np.cov((print_xy - middle).T))
        along_axis, across_axis = vectors[:, -1], vectors[:, 0]
        half_length = np.abs((print_xy - middle) @ along_axis).max()
        half_width = np.abs((print_xy - middle) @ across_axis).max()
        along = abs((centre - middle) @ along_axis)
        across = abs((centre - middle) @ across_axis)
        if along > 0.6 * half_length and across < half_width + TOE_REACH_MM / 2:
            best, best_distance = index, distance
    return best


def _nearest_distance(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) * len(b) > 4_000_000:
        b = b[:: max(1, len(a) * len(b) // 4_000_000)]
    return float(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min())


def assign_feet(
    footprints: list[Footprint],
    contact_start_s: np.ndarray,
    loaded_fraction: np.ndarray,
    facing: str,
    activity: str | None = None,
) -> tuple[str, str]:
    """Name each footprint left or right; returns (activity, direction).

    Standing: at most two prints, each loaded most of the session; left is the one lying to the
    person's left when facing ``facing``. Walking: the progression direction is the axis along
    which prints advance with time; a print left of the line through the prints is a left foot.
    """
    if not footprints:
        raise NoFeetError("no foot found")
    if activity is None:
        standing = len(footprints) <= 2 and bool(np.all(loaded_fraction >= 0.5))
        activity = "standing" if standing else "walking"
    centroids = np.array([fp.centroid_xy for fp in footprints])
    if activity == "standing":
        direction = facing
        lateral = centroids @ left_of(direction)
        if len(footprints) == 1:
            footprints[0].foot = "left"  # provisional: the print's shape decides (arch.side_of_print)
        else:
            order = np.argsort(-lateral)
            for rank, index in enumerate(order):
                footprints[index].foot = FEET[min(rank, 1)]
        return activity, direction
    direction = progression(centroids, contact_start_s, facing)
    lateral = centroids @ left_of(direction)
    along = centroids @ np.array(DIRECTIONS[direction])
    if len(footprints) >= 3:
        fit = np.polyfit(along, lateral, 1)
        line = np.polyval(fit, along)
    else:
        line = np.full(len(footprints), lateral.mean())
    for footprint, offset in zip(footprints, lateral - line):
        footprint.foot = "left" if offset > 0 else "right"
    return activity, direction


def progression(centroids: np.ndarray, start_s: np.ndarray, default: str) -> str:
    """The direction (+x, -x, +y, -y) in which the prints advance over time."""
    if len(centroids) < 2 or np.ptp(start_s) == 0:
        return default
    order = np.argsort(start_s, kind="stable")
    travel = centroids[order[-1]] - centroids[order[0]]
    if abs(travel[0]) >= abs(travel[1]):
        return "+x" if travel[0] > 0 else "-x"
    return "+y" if travel[1] > 0 else "-y"
