"""The machine's memory read bandwidth, measured with a simple parallel reduction."""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def _sum(values):
    total = 0
    for i in prange(values.shape[0]):
        total += values[i]
    return total


def read_bandwidth_gb_s(megabytes: int, repeats: int) -> tuple[float, float]:
    """Median GB/s reading a ``megabytes`` uint64 array, and the spread of the repeats."""
    from benchmarks.timing import rate, seconds

    values = np.ones(megabytes * (1 << 20) // 8, dtype=np.uint64)
    times = seconds(lambda: _sum(values), repeats, warmup=2)
    return rate(values.nbytes / 1e9, times)
