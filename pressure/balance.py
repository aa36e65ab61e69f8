"""Static balance from a centre-of-pressure path (Prieto et al. 1996)."""

from __future__ import annotations

import numpy as np

from pressure.kernels.lowpass import lowpass

SWAY_MEASURES = ("path_length", "mean_velocity", "rms_distance", "range_ap", "range_ml", "ellipse_area")
SWAY_LOWPASS_HZ = 5.0  # Prieto et al. 1996 low-pass filtered the COP at 5 Hz before every measure


def f_quantile_2(p: float, denominator_df: int) -> float:
    """Quantile of the F distribution with (2, m) degrees of freedom (scipy.stats.f)."""
    from scipy.stats import f  # here, so that importing the package stays fast

    return float(f.ppf(p, 2, denominator_df))


def sway(cop_x: np.ndarray, cop_y: np.ndarray, rate_hz: float, forward: np.ndarray,
         lowpass_hz: float | None = SWAY_LOWPASS_HZ) -> dict[str, float]:
    """Path length (mm), mean velocity (mm/s), RMS distance from the mean (mm), anterior-posterior
    and medio-lateral ranges (mm) and the 95 % confidence ellipse area (mm^2) of a COP path,
    low-pass filtered at ``lowpass_hz`` (None: as it is) so that sensor noise does not add path.
    Frames where the COP is undefined (NaN) are left out; NaN everywhere for under 3 points.

    The ellipse area is 2 pi F_0.95(2, n-2) sqrt(s_AP^2 s_ML^2 - s_APML^2) (Prieto et al. 1996);
    a path along a straight line (no spread across it) has an area of (nearly) 0, not NaN."""
    valid = np.isfinite(cop_x) & np.isfinite(cop_y)
    if valid.sum() < 3:
        return {name: float("nan") for name in SWAY_MEASURES}
    if lowpass_hz is not None and lowpass_hz < rate_hz / 2:
        cop_x, cop_y = lowpass(cop_x, lowpass_hz, rate_hz), lowpass(cop_y, lowpass_hz, rate_hz)
    forward = np.asarray(forward, float)
    ap = cop_x * forward[0] + cop_y * forward[1]
    ml = -cop_x * forward[1] + cop_y * forward[0]
    steps = np.hypot(np.diff(cop_x), np.diff(cop_y))
    path = float(np.nansum(steps))
    duration = valid.sum() / rate_hz
    ap, ml = ap[valid] - ap[valid].mean(), ml[valid] - ml[valid].mean()
    n = len(ap)
    covariance = np.cov(np.vstack([ap, ml]))
    determinant = max(covariance[0, 0] * covariance[1, 1] - covariance[0, 1] ** 2, 0.0)
    return {
        "path_length": path,
        "mean_velocity": path / duration,
        "rms_distance": float(np.sqrt(np.mean(ap**2 + ml**2))),
        "range_ap": float(np.ptp(ap)),
        "range_ml": float(np.ptp(ml)),
        "ellipse_area": float(2 * np.pi * f_quantile_2(0.95, n - 2) * np.sqrt(determinant)),
    }
