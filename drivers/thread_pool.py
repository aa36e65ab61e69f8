"""The process's threads for decoding and filtering chunks, started once: a short session's read
and results file each started a pool of threads of their own, which cost more than their work."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def cores() -> int:
    """The cores this process may run on (its affinity: a container's or a pinned worker's share,
    not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def shared_pool(threads: int) -> ThreadPoolExecutor:
    """A pool of ``threads`` threads, the same one every time (its threads idle between uses)."""
    with _lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"chunks-{threads}")
        return pool


def _forget_after_fork() -> None:
    """A forked child has none of its parent's threads: its pools start afresh."""
    global _lock
    _pools.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
