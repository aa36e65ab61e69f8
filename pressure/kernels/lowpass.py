"""Zero-phase low-pass filter of a series: a second-order Butterworth section run forwards and
backwards (fourth order, no delay), as sway measures are computed on (Prieto et al. 1996)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit


def butterworth_coefficients(cutoff_hz: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(b0, b1, b2), (a1, a2) of the bilinear-transformed second-order Butterworth low-pass."""
    if not 0 < cutoff_hz < rate_hz / 2:
        raise ValueError(f"cutoff {cutoff_hz} Hz must lie between 0 and half the rate ({rate_hz / 2} Hz)")
    k = math.tan(math.pi * cutoff_hz / rate_hz)
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    b0 = k * k * norm
    return np.array([b0, 2 * b0, b0]), np.array([2 * (k * k - 1) * norm, (1 - math.sqrt(2.0) * k + k * k) * norm])


@njit(cache=True)
def _biquad(x, b, a):
    """One pass, starting as if the series had always held its first value (no start-up step)."""
    y = np.empty_like(x)
    x1 = x2 = x[0]
    y1 = y2 = x[0]
    for i in range(len(x)):
        value = b[0] * x[i] + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2
        x2, x1 = x1, x[i]
        y2, y1 = y1, value
        y[i] = value
    return y


def lowpass(series: np.ndarray, cutoff_hz: float, rate_hz: float) -> np.ndarray:
    """Filtered copy; each run of finite values is filtered on its own, NaN stays NaN."""
    b, a = butterworth_coefficients(cutoff_hz, rate_hz)
    out = np.full(series.shape, np.nan)
    finite = np.concatenate([[False], np.isfinite(series), [False]])
    edges = np.flatnonzero(np.diff(finite.astype(np.int8)))
    for start, stop in zip(edges[::2], edges[1::2]):
        run = np.ascontiguousarray(series[start:stop], dtype=np.float64)
        out[start:stop] = _biquad(_biquad(run, b, a)[::-1].copy(), b, a)[::-1]
    return out
