"""Numba kernels: pure functions on NumPy arrays, no I/O, each with a NumPy twin in tests/naive.py."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

# Explicit fast-math flags without nnan/ninf, so NaN checks (masked cells, unloaded COP) keep working.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

# Below this many cells x frames a parallel kernel runs on one thread: starting threads costs
# more than it saves, and far more (about 19 ms against 1.3 ms for 170 frames of 64x320, measured
# with another process busy on the second core) when a core is taken.
SMALL_WORK = 20_000_000


@contextmanager
def threads_for(work: int):
    """Run the parallel kernels inside on one thread when ``work`` (cells x frames) is small."""
    if work >= SMALL_WORK:
        yield
        return
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def counted_above(dtype, threshold: float):
    """The value of ``dtype`` that a cell's value must exceed to count as loaded (``value >
    threshold``, compared in the frames' own type: an integer exceeds t when it exceeds floor(t),
    a float32 is compared with the float32 nearest t), or None where every value of the type does."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        limits = np.iinfo(dtype)
        if threshold < limits.min:
            return None
        return dtype.type(min(np.floor(threshold), limits.max))
    return dtype.type(threshold)


KERNEL_MODULES = ("cell_runs", "cell_totals", "components", "frame_metrics", "loaded_cells", "peak_image",
                  "series_sums")


def compiled_before() -> bool:
    """Whether Numba's on-disk cache holds the kernels (False on a first run, when compiling them
    takes seconds and the user should be told why nothing happens). It looks at the cache index
    file of each kernel; a module counts as compiled when any of its kernels is, as some hold a
    kernel per kind of frames (integer or float) of which a user may only ever need one. When
    that cannot be told, it answers True (say nothing rather than something wrong)."""
    import importlib
    from pathlib import Path

    try:
        for name in KERNEL_MODULES:
            module = importlib.import_module(f"pressure.kernels.{name}")
            indexes = [index for index in map(cache_index, vars(module).values()) if index is not None]
            if indexes and not any(Path(index).exists() for index in indexes):
                return False
    except Exception:  # noqa: BLE001 - a private corner of Numba: never let it stop a run
        return True
    return True


def cache_index(kernel) -> str | None:
    """The path of a cached Numba kernel's cache index file, None for anything else."""
    cache = getattr(kernel, "_cache", None)
    return getattr(getattr(cache, "_cache_file", None), "_index_path", None)
