"""Leaving a process without tearing the interpreter down.

Freeing every module a command imported (NumPy, SciPy, Numba, xarray, h5py) took 0.35-0.65 s at the
end of each `pressure` command here, a third of a short session's `pressure process`, and 0.1-0.9 s
when a study's warm worker was told to stop. Everything that matters is done before: what the
command printed is flushed here, and its files are closed (a file still open for writing in
HDF5 makes this leave the slow way, so that HDF5 flushes it).
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def leave(status: int = 0) -> NoReturn:
    """Flush stdout and stderr and end the process with ``status``, skipping the interpreter's
    teardown (and any atexit handler not yet run: run them first where they matter)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except ValueError:  # closed on purpose: nothing to flush
            pass
        except OSError:  # a pipe closed by its reader (`pressure ... | head`): the output is lost
            status = status or 1
    if _hdf5_file_open_for_writing():
        sys.exit(status)
    os._exit(status)


def _hdf5_file_open_for_writing() -> bool:
    if "h5py" not in sys.modules:
        return False
    from h5py import h5f

    try:
        return any(fid.get_intent() & h5f.ACC_RDWR for fid in h5f.get_obj_ids(types=h5f.OBJ_FILE))
    except Exception:  # noqa: BLE001 - unsure: leave the slow way, which is always right
        return True
