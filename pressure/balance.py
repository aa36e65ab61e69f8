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


BLOCK = 1 << 20  # values at a time: a day-long path is summed without copies of it whole


def sway(cop_x: np.ndarray, cop_y: np.ndarray, rate_hz: float, forward: np.ndarray,
         lowpass_hz: float | None = SWAY_LOWPASS_HZ, in_place: bool = False) -> dict[str, float]:
    """Path length (mm), mean velocity (mm/s), RMS distance from the mean (mm), anterior-posterior
    and medio-lateral ranges (mm) and the 95 % confidence ellipse area (mm^2) of a COP path,
    low-pass filtered at ``lowpass_hz`` (None: as it is) so that sensor noise does not add path.
    Frames where the COP is undefined (NaN) are left out; NaN everywhere for under 3 points.
    ``in_place``: the path may be filtered where it lies (a day's path is not copied).

    The ellipse area is 2 pi F_0.95(2, n-2) sqrt(s_AP^2 s_ML^2 - s_APML^2) (Prieto et al. 1996);
    a path along a straight line (no spread across it) has an area of (nearly) 0, not NaN."""
    n = int(np.count_nonzero(np.isfinite(cop_x) & np.isfinite(cop_y)))
    if n < 3:
        return {name: float("nan") for name in SWAY_MEASURES}
    if lowpass_hz is not None and lowpass_hz < rate_hz / 2:
        cop_x = lowpass(cop_x, lowpass_hz, rate_hz, out=cop_x if in_place else None)
        cop_y = lowpass(cop_y, lowpass_hz, rate_hz, out=cop_y if in_place else None)
    forward = np.asarray(forward, float)

    def blocks():
        """(AP, ML) of the valid frames, a block at a time."""
        for first in range(0, len(cop_x), BLOCK):
            x, y = cop_x[first:first + BLOCK], cop_y[first:first + BLOCK]
            valid = np.isfinite(x) & np.isfinite(y)
            x, y = x[valid], y[valid]
            yield x * forward[0] + y * forward[1], -x * forward[1] + y * forward[0]

    path = sum(float(np.nansum(np.hypot(np.diff(cop_x[first:first + BLOCK + 1]), np.diff(cop_y[first:first + BLOCK + 1]))))
               for first in range(0, len(cop_x) - 1, BLOCK))
    mean_ap = sum(float(ap.sum()) for ap, _ in blocks()) / n
    mean_ml = sum(float(ml.sum()) for _, ml in blocks()) / n
    squares = np.zeros(3)  # about the mean: AP^2, ML^2, AP ML
    lowest, highest = np.full(2, np.inf), np.full(2, -np.inf)
    for ap, ml in blocks():
        ap, ml = ap - mean_ap, ml - mean_ml
        squares += (np.sum(ap * ap), np.sum(ml * ml), np.sum(ap * ml))  # not BLAS: the same sums in every process
        if len(ap):
            lowest = np.minimum(lowest, (ap.min(), ml.min()))
            highest = np.maximum(highest, (ap.max(), ml.max()))
    variance_ap, variance_ml, covariance = squares / (n - 1)
    determinant = max(variance_ap * variance_ml - covariance**2, 0.0)
    return {
        "path_length": path,
        "mean_velocity": path / (n / rate_hz),
        "rms_distance": float(np.sqrt((squares[0] + squares[1]) / n)),
        "range_ap": float(highest[0] - lowest[0]),
        "range_ml": float(highest[1] - lowest[1]),
        "ellipse_area": float(2 * np.pi * f_quantile_2(0.95, n - 2) * np.sqrt(determinant)),
    }
