"""The modules the results need, imported on a thread of their own while a long session is measured."""

from __future__ import annotations

import importlib
import threading
from contextlib import contextmanager

RESULTS_MODULES = ("scipy.signal", "scipy.stats", "xarray")  # what the results need: 2 s of CPU here


@contextmanager
def imported_ahead(*modules: str):
    """Import ``modules`` on a thread of their own while the block runs (the measuring pass over a
    session read from its file: kernels that release the GIL, on threads, while the imports hold
    it), so the imports the results need later cost no time of their own. Joined before the
    block's end (a fork after it finds no import half done).

    Not during the first pass: its decoding threads, its keeping of the loaded cells and the
    reductions of each block each take the GIL for moments, thousands of times, and each waited
    for the imports' turn. An hour of 64x64 took 9.4-10.0 s with the imports beside the whole
    analysis against 8.9-9.7 s with them beside the measuring pass (CPU 14.5-15.4 s against
    13.8-15.2 s), four rounds alternated; at a slower hour of this machine 11.3-11.7 s against
    10.9-11.9 s, three rounds: a small gain, within the machine's noise at times."""
    if not modules:
        yield
        return

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # said where the results import it, not here
                return
        if "xarray" in modules:
            # xarray's first Variable looks for dask arrays: it imports dask.array where dask is
            # installed (the cluster extra), 0.31 s here that the results would wait for.
            try:
                importlib.import_module("xarray").Variable((), 0)
            except Exception:  # a broken dask: said where the results meet it, not here
                return

    loader = threading.Thread(target=load, name="import-ahead", daemon=True)
    loader.start()
    try:
        yield
    finally:
        loader.join()
