"""Steps of a walk: per-contact loads and the gait measures a clinician expects."""

from __future__ import annotations

import numpy as np

from pressure.arch import FootGeometry

MIN_STRIDE_MM = 100.0  # shorter "strides" (the same spot stepped on again) show no direction
STEP_MEASURES = ("peak_force", "impulse", "stance_time", "cop_path_length", "length", "width",
                 "progression_angle", "cpei", "arch_index")


def path_length(x: np.ndarray, y: np.ndarray) -> float:
    """Length of a path with gaps (NaN) where it is not defined; NaN when it never is."""
    if not (np.isfinite(x) & np.isfinite(y)).any():
        return float("nan")
    return float(np.nansum(np.hypot(np.diff(x), np.diff(y))))


def progression_angle(axis: np.ndarray, direction: np.ndarray, foot: str) -> float:
    """Foot axis against the line of progression, degrees, positive for toe-out."""
    cross = direction[0] * axis[1] - direction[1] * axis[0]  # > 0: the foot turns to the walker's left
    angle = float(np.degrees(np.arctan2(cross, direction @ axis)))
    return angle if foot == "left" else -angle


def cpei(cop_x: np.ndarray, cop_y: np.ndarray, geometry: FootGeometry, foot: str,
         pitch_x_mm: float, pitch_y_mm: float) -> float:
    """Centre of pressure excursion index (Song et al. 1996), %.

    The construction line joins the first and last COP points of the contact; the excursion is
    the COP's distance from it, laterally positive, where the path crosses the line between the
    proximal two thirds and the distal third of the print; divided by the foot's width there.
    """
    valid = np.isfinite(cop_x) & np.isfinite(cop_y)
    if valid.sum() < 3:
        return float("nan")
    axis = geometry.axis
    lateral = np.array([-axis[1], axis[0]]) * (1.0 if foot == "left" else -1.0)
    xy = np.column_stack([cop_x[valid], cop_y[valid]])
    along, across = xy @ axis, xy @ lateral
    section = geometry.start + 2.0 / 3.0 * geometry.length_mm
    crossing = np.flatnonzero((along[:-1] < section) & (along[1:] >= section))
    if len(crossing) == 0:
        return float("nan")
    i = crossing[0]
    fraction = (section - along[i]) / (along[i + 1] - along[i])
    path_across = across[i] + fraction * (across[i + 1] - across[i])
    if along[-1] == along[0]:
        return float("nan")
    line_across = across[0] + (section - along[0]) / (along[-1] - along[0]) * (across[-1] - across[0])
    width = foot_width_at(geometry, section, lateral, pitch_x_mm, pitch_y_mm)
    return float(100.0 * (path_across - line_across) / width) if width > 0 else float("nan")


def foot_width_at(geometry: FootGeometry, section: float, lateral: np.ndarray,
                  pitch_x_mm: float, pitch_y_mm: float) -> float:
    """The foot's width where ``along == section`` (mm), between its medial and lateral borders.

    Song et al. bound the foot by lines along its borders, which bridge the arch: here the sides
    of the print's convex hull (its cells' corners). The loaded cells alone are as narrow as a
    high arch's lateral band there: 20 mm of an 85 mm foot on a real footstep, a CPEI of 167 %.
    """
    from scipy.spatial import ConvexHull, QhullError

    centres = np.column_stack([geometry.cols * pitch_x_mm, geometry.rows * pitch_y_mm])
    corners = (centres[:, None, :] + np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])
               * (pitch_x_mm, pitch_y_mm)).reshape(-1, 2)
    plane = np.column_stack([corners @ geometry.axis, corners @ lateral])
    try:
        outline = plane[ConvexHull(plane).vertices]
    except QhullError:  # all cells on one line
        return float("nan")
    start, end = outline, np.roll(outline, -1, axis=0)
    crosses = (start[:, 0] - section) * (end[:, 0] - section) <= 0
    crosses &= start[:, 0] != end[:, 0]
    if crosses.sum() < 2:
        return float("nan")
    t = (section - start[crosses, 0]) / (end[crosses, 0] - start[crosses, 0])
    return float(np.ptp(start[crosses, 1] + t * (end[crosses, 1] - start[crosses, 1])))


def line_of_progression(k: int, steps: list, geometries: list[FootGeometry | None],
                        fallback: np.ndarray) -> np.ndarray:
    """Unit vector of the walk at step k: along the stride that ends at it (the same foot's heel
    before to its heel now), else the stride across it (the other foot's heels before and after),
    else ``fallback``; local, so turns and walks across the mat at an angle are measured right."""
    def heel(j: int) -> np.ndarray | None:
        if not 0 <= j < len(steps) or not steps[j].print_whole:
            return None
        geometry = geometries[steps[j].index]
        return None if geometry is None else geometry.heel_xy

    for a, b in ((k - 2, k), (k - 1, k + 1), (k, k + 2)):
        start, end = heel(a), heel(b)
        if start is not None and end is not None and steps[a].foot == steps[b].foot:
            stride = end - start
            length = np.hypot(*stride)
            if length >= MIN_STRIDE_MM:
                return stride / length
    return fallback


def step_table(
    steps: list,  # FootContact, in time order
    per_contact: list,  # FrameMetrics of each contact (by index) over its own frames
    positions: bool,  # False for sensor sets whose positions mean nothing: no COP measures
    geometries: list[FootGeometry | None],  # by contact index
    arch_indices: list[float],  # by contact index, NaN where the print was not seen whole
    direction: np.ndarray,
    time_s: np.ndarray,
    rate_hz: float,
    pitch_x_mm: float,
    pitch_y_mm: float,
) -> dict[str, np.ndarray]:
    """Per step: the STEP_MEASURES, NaN where one cannot be had: timing and loads of a step cut by
    the recording or the mat's edge, shape measures of a print not seen whole, the first step's
    length. Length, width and progression angle are taken against the local line of progression
    (``direction`` where no stride shows it)."""
    table = {name: np.full(len(steps), np.nan) for name in STEP_MEASURES}
    for k, step in enumerate(steps):
        metrics = per_contact[step.index]
        f = metrics.force_n[:, 0]
        x, y = (metrics.cop_x_mm[:, 0], metrics.cop_y_mm[:, 0]) if positions else (np.full(len(f), np.nan),) * 2
        table["arch_index"][k] = arch_indices[step.index]
        if step.complete:
            table["peak_force"][k] = f.max()
            table["impulse"][k] = f.sum() / rate_hz
            table["stance_time"][k] = time_s[step.last] - time_s[step.first]
            table["cop_path_length"][k] = path_length(x, y)
        geometry = geometries[step.index]
        if geometry is None or not step.print_whole:
            continue
        walk = line_of_progression(k, steps, geometries, direction)
        table["progression_angle"][k] = progression_angle(geometry.axis, walk, step.foot)
        table["cpei"][k] = cpei(x, y, geometry, step.foot, pitch_x_mm, pitch_y_mm)
        previous = steps[k - 1] if k > 0 else None
        if previous is not None and previous.foot != step.foot and previous.print_whole:
            before = geometries[previous.index]
            if before is not None:
                offset = geometry.heel_xy - before.heel_xy
                table["length"][k] = float(offset @ walk)
                table["width"][k] = float(abs(offset @ np.array([-walk[1], walk[0]])))
    return table


def cadence(steps: list, time_s: np.ndarray) -> float:
    """Steps per minute: 60 over the median time between step starts seen (a step cut by the
    recording's start has none), so turns and pauses do not slow it; from one foot only (a
    single insole) the times are strides, two steps each."""
    seen = [step for step in steps if not step.cut_start]
    if len(seen) < 2:
        return float("nan")
    intervals = np.diff([time_s[step.first] for step in seen])
    per_interval = 1 if len({step.foot for step in seen}) > 1 else 2
    median = float(np.median(intervals))
    return 60.0 * per_interval / median if median > 0 else float("nan")
