"""The nine anatomical regions of one print: a clinical automask computed from the print and its axis.

Regions (``REGIONS``, in this order): medial and lateral heel, medial and lateral midfoot, the
first, second-third and fourth-fifth metatarsal heads, the hallux and the lesser toes: the nine
regions of van der Zwaard et al. (2014), as pressuRe's ``pedar_mask3`` names them.

Where the boundaries lie follows pressuRe's ``automask_novel`` (Telfer & Li 2023; "similar to the
standard novel automask"), measured in the print's own frame:

- the **foot frame**: the foot axis (heel centre to second toe, ``FootGeometry.axis``), its origin
  on that axis at the back edge of the heel; ``u`` runs towards the toes, ``m`` towards the medial
  side (the hallux's side: for a left foot walking towards +y, +x), so one rule fits both feet
  and any heading. Foot length ``L``: back of the heel to the tip of the longest toe, along the axis.
- **heel** ``u < 27 % L``, **midfoot** ``27 % <= u < 55 % L``, **forefoot** ``u >= 55 % L`` up
  to the toes, which are the cells the analysis found beyond the toe crease (the toe line);
- heel and midfoot are split **medial / lateral** at the foot axis (``m > 0`` is medial);
- the **edge lines**: the medial one joins the print's most medial points at 10-30 % and at
  60-80 % of L, the lateral one its most lateral points at 10-30 % and at 55-75 % of L;
- forefoot and toes are split by lines through the edge lines' intersection, turned from the
  medial edge line by fractions of the angle between the edge lines: **MTH1** below 0.30,
  **MTH2-3** 0.30-0.64, **MTH4-5** from 0.64; the **hallux** below 0.33, the **lesser toes** from
  0.33 (straight lines: pressuRe bends its hallux line, and its 27 % and 55 % lines, along the
  least pressure). Edge lines that do not spread towards the toes (parallel, or a forefoot
  narrower than the heel) part by fractions of the width between them instead.

Every cell is labelled by its centre. ``automask`` is pure: the same print gives the same labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REGIONS = ("medial_heel", "lateral_heel", "medial_midfoot", "lateral_midfoot", "mth1", "mth2_3", "mth4_5",
           "hallux", "lesser_toes")
(MEDIAL_HEEL, LATERAL_HEEL, MEDIAL_MIDFOOT, LATERAL_MIDFOOT, MTH1, MTH2_3, MTH4_5, HALLUX,
 LESSER_TOES) = range(len(REGIONS))
OUTSIDE = -1

HEEL_END = 0.27  # of foot length (pressuRe automask: the 27 % line)
MIDFOOT_END = 0.55  # of foot length (pressuRe automask: the 55 % line)
MTH1_END = 0.30  # of the angle between the medial and lateral edge lines (pressuRe: MT_12 at 0.30 alpha)
MTH3_END = 0.64  # (pressuRe: MT_34 at 0.64 alpha)
HALLUX_END = 0.33  # (pressuRe: MT_hx at 0.33 alpha)
HEEL_BAND = (0.10, 0.30)  # where the edge lines touch the heel, of foot length
MEDIAL_FOREFOOT_BAND = (0.60, 0.80)  # where the medial edge line touches the forefoot (first MTH)
LATERAL_FOREFOOT_BAND = (0.55, 0.75)  # where the lateral one touches it (fifth MTH)
FEET = ("left", "right")


@dataclass(frozen=True)
class FootFrame:
    """A print's own frame: ``origin_xy`` (mat mm) on the foot axis at the back edge of the heel,
    ``along`` the unit vector towards the toes, ``medial`` the unit vector towards the medial side,
    ``length_mm`` the foot length (back of the heel to the tip of the toes, along the axis)."""

    origin_xy: np.ndarray
    along: np.ndarray
    medial: np.ndarray
    length_mm: float

    def to_foot(self, xy: np.ndarray) -> np.ndarray:
        """(n, 2) mat points (x, y) as (u, m): mm along the foot from the heel's back edge, and
        mm medial of the axis."""
        relative = np.asarray(xy, float).reshape(-1, 2) - self.origin_xy
        return np.column_stack([relative @ self.along, relative @ self.medial])

    def to_mat(self, um: np.ndarray) -> np.ndarray:
        """(n, 2) foot points (u, m) as mat points (x, y)."""
        um = np.asarray(um, float).reshape(-1, 2)
        return self.origin_xy + um[:, :1] * self.along + um[:, 1:] * self.medial


def medial_direction(forward, foot: str) -> np.ndarray:
    """The unit vector pointing medially for a ``foot`` heading ``forward``: the left foot's medial
    side is on the walker's right (as ``pressure.arch.second_toe`` has it)."""
    if foot not in FEET:
        raise ValueError(f"foot must be 'left' or 'right', got {foot!r}")
    forward = np.asarray(forward, float)
    return np.array([forward[1], -forward[0]]) * (1.0 if foot == "left" else -1.0)


def cell_xy(cells_mask: np.ndarray, pitch_x_mm: float, pitch_y_mm: float) -> np.ndarray:
    rows, cols = np.nonzero(cells_mask)
    return np.column_stack([cols * pitch_x_mm, rows * pitch_y_mm]).astype(float)


def foot_frame(foot_mask: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, foot: str, heel_xy, axis) -> FootFrame:
    """The frame of a print (``foot_mask``: its cells, toes included) whose axis runs through
    ``heel_xy`` along ``axis`` (both as ``FootGeometry`` gives them)."""
    along = _unit(axis)
    medial = medial_direction(along, foot)
    s = cell_xy(foot_mask, pitch_x_mm, pitch_y_mm) @ along
    if len(s) == 0:
        raise ValueError("the print has no cells")
    half = 0.5 * (abs(along[0]) * pitch_x_mm + abs(along[1]) * pitch_y_mm)  # half a cell along the axis
    heel_xy = np.asarray(heel_xy, float)
    start = s.min() - half
    origin = heel_xy + (start - heel_xy @ along) * along
    return FootFrame(origin, along, medial, float(s.max() + half - start))


@dataclass(frozen=True)
class EdgeLines:
    """The medial and lateral edge lines in the foot frame, each as two points (u, m)."""

    medial: np.ndarray  # (2, 2): heel point, forefoot point
    lateral: np.ndarray

    @property
    def slopes(self) -> tuple[float, float]:
        """dm/du of the medial and the lateral line."""
        return tuple(float((line[1, 1] - line[0, 1]) / (line[1, 0] - line[0, 0])) for line in (self.medial, self.lateral))

    @property
    def fan(self) -> tuple[np.ndarray, float, float] | None:
        """The intersection (u, m) and the angles (rad, from the foot axis) of the medial and
        lateral lines, when they spread towards the toes; None when they do not (parallel, or a
        forefoot narrower than the heel)."""
        medial_slope, lateral_slope = self.slopes
        if medial_slope - lateral_slope < 1e-6:
            return None
        (u0, m0), (v0, n0) = self.medial[0], self.lateral[0]
        u = (n0 - m0 + medial_slope * u0 - lateral_slope * v0) / (medial_slope - lateral_slope)
        return np.array([u, m0 + medial_slope * (u - u0)]), float(np.arctan(medial_slope)), float(np.arctan(lateral_slope))

    def across_fraction(self, um: np.ndarray) -> np.ndarray:
        """Where each point lies in the fan of lines from the edge lines' intersection: 0 on the
        medial line, 1 on the lateral one, by angle (pressuRe turns its lines by fractions of the
        angle between the edge lines). Edge lines that do not spread towards the toes give the
        fraction of the width between them at the point's place along the foot."""
        um = np.asarray(um, float).reshape(-1, 2)
        fan = self.fan
        if fan is None:
            medial_m = _line_at(self.medial, um[:, 0])
            width = medial_m - _line_at(self.lateral, um[:, 0])
            return (medial_m - um[:, 1]) / np.maximum(width, 1e-9)
        centre, medial_angle, lateral_angle = fan
        angle = np.arctan2(um[:, 1] - centre[1], um[:, 0] - centre[0])  # points behind the centre: heel, not parted
        return (medial_angle - angle) / (medial_angle - lateral_angle)

    def boundary(self, fraction: float, u: np.ndarray) -> np.ndarray:
        """Points (u, m) at ``u`` of the line that parts the forefoot at ``fraction``."""
        u = np.asarray(u, float)
        fan = self.fan
        if fan is None:
            m = (1 - fraction) * _line_at(self.medial, u) + fraction * _line_at(self.lateral, u)
        else:
            centre, medial_angle, lateral_angle = fan
            m = centre[1] + np.tan(medial_angle + fraction * (lateral_angle - medial_angle)) * (u - centre[0])
        return np.column_stack([u, m])


def _line_at(points: np.ndarray, u: np.ndarray) -> np.ndarray:
    (u0, m0), (u1, m1) = points
    return m0 + (m1 - m0) * (u - u0) / (u1 - u0)


def edge_lines(um: np.ndarray, length_mm: float) -> EdgeLines:
    """The edge lines of a print given as points (u, m) in its foot frame (pressuRe's
    ``edge_lines``: extreme points in bands along the foot). A band without points takes the
    extreme of the whole print; points tied for the extreme give their mean, so the lines do not
    depend on the order of the cells (a print turned or mirrored gets the same lines)."""
    def extreme(band, sign):
        u = um[:, 0] / length_mm
        inside = (u >= band[0]) & (u <= band[1])
        points = um[inside] if inside.any() else um
        across = sign * points[:, 1]
        return points[across >= across.max() - 1e-6].mean(axis=0)

    medial = np.stack([extreme(HEEL_BAND, 1.0), extreme(MEDIAL_FOREFOOT_BAND, 1.0)])
    lateral = np.stack([extreme(HEEL_BAND, -1.0), extreme(LATERAL_FOREFOOT_BAND, -1.0)])
    for line in (medial, lateral):
        if line[1, 0] - line[0, 0] < 1e-9:  # both extremes at one place along the foot: run along the axis
            line[1] = line[0] + np.array([length_mm, 0.0])
    return EdgeLines(medial, lateral)


def classify(um: np.ndarray, is_toe: np.ndarray, length_mm: float, edges: EdgeLines) -> np.ndarray:
    """The region (index into ``REGIONS``) of points (u, m) in the foot frame; ``is_toe`` marks the
    points beyond the toe line."""
    um = np.asarray(um, float).reshape(-1, 2)
    u, m = um[:, 0] / length_mm, um[:, 1]
    fraction = edges.across_fraction(um)
    medial = m > 0
    region = np.where(fraction < MTH1_END, MTH1, np.where(fraction < MTH3_END, MTH2_3, MTH4_5))
    region = np.where(u < MIDFOOT_END, np.where(medial, MEDIAL_MIDFOOT, LATERAL_MIDFOOT), region)
    region = np.where(u < HEEL_END, np.where(medial, MEDIAL_HEEL, LATERAL_HEEL), region)
    region = np.where(is_toe, np.where(fraction < HALLUX_END, HALLUX, LESSER_TOES), region)
    return region.astype(np.int8)


@dataclass(frozen=True)
class Automask:
    """A print's nine regions: ``labels`` (rows, cols) holds each cell's index into ``REGIONS``
    (-1 off the print), with the frame and edge lines they were drawn from."""

    labels: np.ndarray
    frame: FootFrame
    edges: EdgeLines
    foot: str

    def mask(self, region: str) -> np.ndarray:
        return self.labels == REGIONS.index(region)

    def boundaries(self) -> dict[str, np.ndarray]:
        """The dividing lines as mat points (x, y), for pictures: the 27 % and 55 % lines, the
        foot axis, the edge lines and the forefoot's parting lines (from 55 % of L to the toe tip)."""
        length = self.frame.length_mm
        half_width = 0.5 * length
        lines = {
            "heel_end": [[HEEL_END * length, -half_width], [HEEL_END * length, half_width]],
            "midfoot_end": [[MIDFOOT_END * length, -half_width], [MIDFOOT_END * length, half_width]],
            "axis": [[0.0, 0.0], [length, 0.0]],
            "medial_edge": self.edges.medial, "lateral_edge": self.edges.lateral,
        }
        u = np.array([MIDFOOT_END * length, length])
        for name, fraction in (("mth1_end", MTH1_END), ("mth3_end", MTH3_END), ("hallux_end", HALLUX_END)):
            lines[name] = self.edges.boundary(fraction, u)
        return {name: self.frame.to_mat(np.asarray(points, float)) for name, points in lines.items()}


def automask_details(print_mask: np.ndarray, peak_kpa: np.ndarray | None, pitch_x_mm: float, pitch_y_mm: float,
                     foot: str, heel_xy, axis, toes_mask: np.ndarray | None = None) -> Automask:
    """The nine regions of one print with what they were drawn from (see ``automask``)."""
    print_mask = np.asarray(print_mask, bool)
    if print_mask.ndim != 2:
        raise ValueError(f"the print must be a 2-D cell mask, got shape {print_mask.shape}")
    if not (pitch_x_mm > 0 and pitch_y_mm > 0):
        raise ValueError(f"pitches must be > 0 mm, got {pitch_x_mm} and {pitch_y_mm}")
    if toes_mask is None:
        if peak_kpa is None:
            raise ValueError("without toes_mask the peak-pressure image is needed to find the toes")
        from pressure.arch import split_toes

        print_mask, toes_mask = split_toes(print_mask, np.asarray(peak_kpa, float), pitch_x_mm, pitch_y_mm, axis)
    toes_mask = np.asarray(toes_mask, bool)
    if toes_mask.shape != print_mask.shape:
        raise ValueError(f"toes mask {toes_mask.shape} and print {print_mask.shape} differ in shape")
    whole = print_mask | toes_mask
    frame = foot_frame(whole, pitch_x_mm, pitch_y_mm, foot, heel_xy, axis)
    um = frame.to_foot(cell_xy(whole, pitch_x_mm, pitch_y_mm))
    edges = edge_lines(um, frame.length_mm)
    labels = np.full(whole.shape, OUTSIDE, np.int8)
    labels[whole] = classify(um, toes_mask[whole], frame.length_mm, edges)
    return Automask(labels, frame, edges, foot)


def automask(print_mask: np.ndarray, peak_kpa: np.ndarray | None, pitch_x_mm: float, pitch_y_mm: float, foot: str,
             heel_xy, axis, toes_mask: np.ndarray | None = None) -> np.ndarray:
    """Label image (int8, the print's shape) of the nine regions: each cell of the print or its
    toes holds its index into ``REGIONS``, every other cell -1.

    ``print_mask``: the print's cells (toes may be in it or apart); ``peak_kpa``: its peak-pressure
    image (used only to find the toes when ``toes_mask`` is None, by ``pressure.arch.split_toes``);
    ``pitch_x_mm``/``pitch_y_mm``: cell pitch; ``foot``: "left" or "right"; ``heel_xy`` and
    ``axis``: a point on the foot axis (the heel centre) and the unit vector heel to toes, in mat
    mm (``FootGeometry.heel_xy``, ``FootGeometry.axis``); ``toes_mask``: the toes the analysis found
    (cells beyond the toe crease and toe islands). Without toes, hallux and lesser toes are empty
    and the percentages are of the print's own length."""
    return automask_details(print_mask, peak_kpa, pitch_x_mm, pitch_y_mm, foot, heel_xy, axis, toes_mask).labels


def automask_of_geometry(geometry, toes_mask: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, foot: str) -> Automask:
    """``automask_details`` for a ``pressure.arch.FootGeometry`` (its cells are the print without
    toes) and the toes found with it."""
    print_mask = np.zeros(np.shape(toes_mask), bool)
    print_mask[geometry.rows, geometry.cols] = True
    return automask_details(print_mask, None, pitch_x_mm, pitch_y_mm, foot, geometry.heel_xy, geometry.axis,
                            toes_mask)


def cell_regions(labels: np.ndarray, cells: np.ndarray, pitch_x_mm: float = 1.0, pitch_y_mm: float = 1.0) -> np.ndarray:
    """Region index (int64) of flat cells (``row * cols + col``): a cell of the label image keeps
    its label; any other (a faint cell at the print's edge) takes the label of the nearest labelled
    cell (in mm, by the pitches). All -1 when nothing is labelled."""
    from scipy.ndimage import distance_transform_edt

    labels = np.asarray(labels)
    cells = np.asarray(cells, np.int64)
    flat = labels.ravel()
    if not (flat >= 0).any():
        return np.full(len(cells), OUTSIDE, np.int64)
    if (flat[cells] >= 0).all():
        return flat[cells].astype(np.int64)
    _, (rows, cols) = distance_transform_edt(labels < 0, sampling=(pitch_y_mm, pitch_x_mm), return_indices=True)
    nearest = labels[rows, cols].ravel()
    return nearest[cells].astype(np.int64)


def _unit(vector) -> np.ndarray:
    vector = np.asarray(vector, float).reshape(2)
    norm = float(np.hypot(*vector))
    if not np.isfinite(norm) or norm == 0:
        raise ValueError(f"the foot axis must be a non-zero vector, got {vector}")
    return vector / norm
