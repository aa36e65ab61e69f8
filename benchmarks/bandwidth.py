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
    """GB/s reading a ``megabytes`` uint64 array, and the spread of the repeats that reached it.

    Rounds alternate one and all threads (on a loaded machine, two threads can be slower than one),
    and the figure is the fastest round: a capacity, which other work on the machine only lowers.
    """
    import numba

    from benchmarks.timing import interleaved, spread_of

    values = np.ones(megabytes * (1 << 20) // 8, dtype=np.uint64)
    most = numba.get_num_threads()

    def on(threads):
        numba.set_num_threads(threads)
        try:
            _sum(values)
        finally:
            numba.set_num_threads(most)

    counts = sorted({1, most})
    times = interleaved({threads: (lambda threads=threads: on(threads)) for threads in counts}, repeats, warmup=2)
    best = min(counts, key=lambda threads: times[threads].min())
    rates = values.nbytes / 1e9 / times[best]
    return float(rates.max()), spread_of(rates)
