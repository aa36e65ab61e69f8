"""Time-normalised step curves: a contact's series resampled to 101 points of its stance
(0..100 %), so steps of different durations average point by point, and per foot their mean
and standard deviation over the selected steps."""

from __future__ import annotations

import warnings

import numpy as np

STANCE_POINTS = 101
STANCE = np.linspace(0.0, 100.0, STANCE_POINTS)


def normalised(series: np.ndarray) -> np.ndarray:
    """(frames, ...) over one contact -> (..., 101) at 0, 1, ..., 100 % of it (linear in time)."""
    series = np.asarray(series, dtype=np.float64)
    frames = series.shape[0]
    if frames == 1:
        return np.repeat(series[..., None], STANCE_POINTS, axis=-1).reshape(*series.shape[1:], STANCE_POINTS)
    at = np.linspace(0.0, frames - 1, STANCE_POINTS)
    flat = series.reshape(frames, -1)
    out = np.empty((flat.shape[1], STANCE_POINTS))
    for column in range(flat.shape[1]):
        values = flat[:, column]
        seen = np.isfinite(values)
        out[column] = np.interp(at, np.flatnonzero(seen), values[seen]) if seen.sum() >= 2 else np.nan
    return out.reshape(*series.shape[1:], STANCE_POINTS)


def cop_along_across(cop_x: np.ndarray, cop_y: np.ndarray, heel_xy: np.ndarray, axis: np.ndarray,
                     foot: str) -> tuple[np.ndarray, np.ndarray]:
    """COP in the foot's own frame (mm): along the axis from the heel centre, and across it,
    positive towards the medial side (so both feet read the same)."""
    medial = np.array([axis[1], -axis[0]]) * (1.0 if foot == "left" else -1.0)
    offset = np.stack([cop_x - heel_xy[0], cop_y - heel_xy[1]], axis=-1)
    return offset @ axis, offset @ medial


def foot_mean_sd(curves: np.ndarray, feet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(steps, ..., 101) curves and each step's foot (0 left, 1 right, -1 not used) -> per foot
    mean and SD (ddof 1), (2, ..., 101); NaN where a foot has no step (SD: fewer than two)."""
    mean = np.full((2, *curves.shape[1:]), np.nan)
    sd = np.full_like(mean, np.nan)
    for foot in (0, 1):
        mine = curves[feet == foot]
        if len(mine):
            with warnings.catch_warnings():  # points no step has: NaN says it
                warnings.simplefilter("ignore", RuntimeWarning)
                mean[foot] = np.nanmean(mine, axis=0)
                if len(mine) > 1:
                    sd[foot] = np.nanstd(mine, axis=0, ddof=1)
    return mean, sd
