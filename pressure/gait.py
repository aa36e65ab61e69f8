"""Steps of a walk: per-contact loads and the gait measures a clinician expects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pressure.arch import FootGeometry

STEP_MEASURES = ("peak_force", "impulse", "stance_time", "cop_path_length", "length", "width",
                 "progression_angle", "cpei", "arch_index")


@dataclass
class Contact:
    """One foot contact: a footprint loaded from frame ``first`` to frame ``last``."""

    footprint: int
    foot: str
    first: int
    last: int


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
    proximal two thirds and the distal third of the print; divided by the print's width there.
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
    cells_xy = np.column_stack([geometry.cols * pitch_x_mm, geometry.rows * pitch_y_mm])
    near = np.abs(geometry.s - section) <= geometry.half_cell
    if near.sum() == 0:
        return float("nan")
    cell_across = cells_xy[near] @ lateral
    half_across = 0.5 * (abs(axis[1]) * pitch_x_mm + abs(axis[0]) * pitch_y_mm)
    width = np.ptp(cell_across) + 2 * half_across
    return float(100.0 * (path_across - line_across) / width)


def step_table(
    contacts: list[Contact],
    force: np.ndarray,  # (time, footprint)
    cop_x: np.ndarray,
    cop_y: np.ndarray,
    geometries: list[FootGeometry | None],
    arch_indices: list[float],
    direction: np.ndarray,
    time_s: np.ndarray,
    rate_hz: float,
    pitch_x_mm: float,
    pitch_y_mm: float,
) -> dict[str, np.ndarray]:
    """Per contact: the STEP_MEASURES, NaN where one cannot be had (e.g. a first step's length)."""
    table = {name: np.full(len(contacts), np.nan) for name in STEP_MEASURES}
    left = np.array([-direction[1], direction[0]])
    for k, contact in enumerate(contacts):
        frames = slice(contact.first, contact.last + 1)
        f = force[frames, contact.footprint]
        x, y = cop_x[frames, contact.footprint], cop_y[frames, contact.footprint]
        table["peak_force"][k] = f.max()
        table["impulse"][k] = f.sum() / rate_hz
        table["stance_time"][k] = time_s[contact.last] - time_s[contact.first]
        table["cop_path_length"][k] = float(np.nansum(np.hypot(np.diff(x), np.diff(y))))
        geometry = geometries[contact.footprint]
        table["arch_index"][k] = arch_indices[contact.footprint]
        if geometry is None:
            continue
        table["progression_angle"][k] = progression_angle(geometry.axis, direction, contact.foot)
        table["cpei"][k] = cpei(x, y, geometry, contact.foot, pitch_x_mm, pitch_y_mm)
        if k > 0 and contacts[k - 1].foot != contact.foot:
            previous = geometries[contacts[k - 1].footprint]
            if previous is not None:
                offset = geometry.heel_xy - previous.heel_xy
                table["length"][k] = float(offset @ direction)
                table["width"][k] = float(abs(offset @ left))
    return table


def cadence(contacts: list[Contact], time_s: np.ndarray) -> float:
    """Steps per minute from the first to the last contact's start."""
    if len(contacts) < 2:
        return float("nan")
    span = time_s[contacts[-1].first] - time_s[contacts[0].first]
    return float(60.0 * (len(contacts) - 1) / span) if span > 0 else float("nan")
