"""A session's frames left in their file and read on demand, a block of frames at a time.

``pressure process`` of a session longer than memory reads it this way: each block's chunks are
decoded on every core (``chunk_reader.read_cells``) while the caller works on the block before
(two blocks are read ahead on a thread of its own), so memory holds four blocks (the caller's, its
last, those read ahead), whatever the session's length, read into the same arrays in turn.
"""

from __future__ import annotations

import ctypes
import sys
import sysconfig
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from drivers import chunk_reader
from drivers.base import DriverError
from drivers.files.metadata import check_pressures
from drivers.hdf5_safety import first_line

BLOCK_BYTES = 32 << 20  # frames read at once: many chunks to decode in parallel, few in memory
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
TRIM_THRESHOLD_BYTES = 4 << 20  # free memory a heap keeps at its top: a window of decoded chunks
# Blocks read ahead of the caller's: with one, the decoding threads sat idle whenever the caller's
# block took longer than the next one's decoding; with two, the analysis of an hour of 64x64 ran in
# 8.4-8.7 s against 8.9-9.4 s, alternated (three: 8.6-8.7 s).
READ_AHEAD = 2
KEPT_BLOCKS = READ_AHEAD + 2  # a pass's block arrays used again: the caller's, its last, those read ahead


@cache
def _glibc():
    """The C library when it is glibc, whose allocator these functions tune; None elsewhere (musl
    maps large allocations and returns freed memory by itself)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@cache
def bound_the_heap() -> None:
    """Each block its own mapping, given back whole when freed; small buffers' pages kept (once
    per process).

    glibc serves a freed large allocation's size from its heaps next time (its threshold for
    mapping rises up to 32 MiB), and a block of 32 MiB is just under that: a day's 2,000 blocks,
    allocated on the read-ahead thread and freed on another, grew the heaps by 500 MB over a 24 h
    session's first pass (RSS 433 -> 936 MiB; flat at 420 MiB with the threshold fixed). A fixed
    threshold below a block's size keeps every block out of the heaps. Fixing it also fixes the
    threshold for trimming a heap's free top at 128 KiB, so each decoded chunk (200 KiB for 25
    frames of 64x64) was given back and faulted in again: 35,000 faults a pass over an hour of
    64x64, 1,500 with a threshold of 4 MiB."""
    if (libc := _glibc()) is not None:
        libc.mallopt(M_MMAP_THRESHOLD, BLOCK_BYTES // 2)
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)


def give_back_memory() -> None:
    """Return the memory a pass over a session freed to the system: glibc keeps freed heap pages,
    which a day-long session's passes leave by the hundred MB."""
    if (libc := _glibc()) is not None:
        libc.malloc_trim(0)


class BlockMemory:
    """Arrays for a pass's blocks, each used again once nothing refers to it.

    A fresh block is fresh pages, each faulted in (and zeroed by the kernel) on first touch: a pass
    over an hour of 64x64 spent 1.0 s of system time on them, and 0.35-0.65 s more of its wall
    time, against an array read into again (decoding alone, block after block, this machine). An
    array is handed out again only when its reference count is what it is with no view of it left
    (a view refers to the array that owns its memory), so a block a caller keeps stays as it was.
    Where reference counts say nothing of the kind (no ``sys.getrefcount``, or a build without
    the GIL, whose counts are split between threads) every block is a new array."""

    def __init__(self, kept: int = KEPT_BLOCKS):
        self._arrays: list[np.ndarray] = []
        counted = hasattr(sys, "getrefcount") and not sysconfig.get_config_var("Py_GIL_DISABLED")
        self._kept = kept if counted else 0
        self._idle = self._references([np.empty(0)], 0) if counted else -1  # an array only this list holds

    @staticmethod
    def _references(arrays: list[np.ndarray], index: int) -> int:
        return sys.getrefcount(arrays[index])

    def take(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """An uninitialised C-contiguous array of ``shape`` and ``dtype``."""
        for index in range(len(self._arrays)):  # no loop variable holding an array
            if (self._arrays[index].shape == shape and self._arrays[index].dtype == dtype
                    and self._references(self._arrays, index) == self._idle):
                return self._arrays[index]
        array = np.empty(shape, dtype)
        if len(self._arrays) < self._kept:
            self._arrays.append(array)
        return array


class SessionFrames:
    """The ``(time, rows, cols)`` frames of an open session file; indexing along time reads them.
    Damage found while reading raises one DriverError line naming the file."""

    ndim = 3

    def __init__(self, path: Path, file, dataset, what: str):
        self.path, self._file, self._dataset, self._what = Path(path), file, dataset, what
        self.shape = tuple(dataset.shape)
        self.dtype = dataset.dtype
        self._index: chunk_reader.ChunkIndex | None = None  # read with the first blocks

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def block_frames(self, block_bytes: int | None = None) -> int:
        """Frames per block: whole chunks of the file, about ``block_bytes`` of frames."""
        block_bytes = BLOCK_BYTES if block_bytes is None else block_bytes
        per_frame = max(1, int(np.prod(self.shape[1:])) * self.dtype.itemsize)
        chunk = (self._dataset.chunks or (1,))[0]
        return max(chunk, block_bytes // per_frame // chunk * chunk)

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            index = range(len(self))[key]
            return self._read(index, index + 1)[0]
        if isinstance(key, tuple) and key and isinstance(key[0], slice):
            return self[key[0]][(slice(None),) + key[1:]]
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError(f"{self.path}: session frames are read by a slice of time, not {key!r}")
        start, stop, _ = key.indices(len(self))
        return self._read(start, max(start, stop))

    def __array__(self, dtype=None, copy=None):
        frames = self._read(0, len(self))
        return frames if dtype is None else frames.astype(dtype)

    def _read(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        try:
            frames = chunk_reader.read_cells(self._dataset, start, stop, out=out, index=self._index)
        except MemoryError:
            raise DriverError(f"{self.path}: frames {start}-{stop} do not fit in memory") from None
        except (OSError, KeyError, ValueError, RuntimeError, TypeError) as error:
            raise DriverError(f"{self.path}: cannot read frames {start}-{stop} ({first_line(error)})") from None
        check_pressures(self.path, frames, self._what)
        return frames

    def blocks(self, start: int = 0, stop: int | None = None, size: int | None = None
               ) -> Iterator[tuple[int, np.ndarray]]:
        """``(first frame, frames)`` of ``start:stop`` in blocks of ``size`` frames, the next
        ``READ_AHEAD`` blocks read while the caller works on this one."""
        stop = len(self) if stop is None else min(stop, len(self))
        size = size or self.block_frames()
        bound_the_heap()
        if self._index is None and stop - start > size:
            try:
                self._index = chunk_reader.ChunkIndex.of(self._dataset)
            except MemoryError:
                raise DriverError(f"{self.path}: the index of its chunks does not fit in memory") from None
        spans = [(first, min(first + size, stop)) for first in range(start, stop, size)]
        yield from read_ahead(spans, self._read, self.shape[1:], self.dtype)

    def close(self) -> None:
        self._index = None
        self._file.close()


def read_ahead(spans: list[tuple[int, int]], read: Callable[[int, int, np.ndarray | None], np.ndarray],
               frame_shape: tuple[int, ...] | None, dtype) -> Iterator[tuple[int, np.ndarray]]:
    """``(first frame, frames)`` of each span ``(start, stop)``, as ``read(start, stop, out)``
    reads them into ``out`` (None: an array of its own), the next ``READ_AHEAD`` spans read on a
    thread of its own while the caller works on this one, into arrays used again (``frame_shape``
    None: ``read`` always given None, its arrays its own)."""
    if len(spans) <= 1:
        for start, stop in spans:
            yield start, read(start, stop, None)
        return
    memory = BlockMemory()

    def submit(span: tuple[int, int]) -> Future:
        start, stop = span
        out = None if frame_shape is None else memory.take((stop - start, *frame_shape), dtype)
        return reader.submit(read, start, stop, out)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as reader:
        ahead = deque(submit(span) for span in spans[:READ_AHEAD])
        for k, (start, _) in enumerate(spans):
            frames = ahead.popleft().result()  # the future dropped: its result would keep the block
            if k + READ_AHEAD < len(spans):
                ahead.append(submit(spans[k + READ_AHEAD]))
            yield start, frames


def frame_blocks(frames, start: int = 0, stop: int | None = None, size: int | None = None
                 ) -> Iterator[tuple[int, np.ndarray]]:
    """Blocks ``(first frame, frames)`` of an in-memory array (views), or of frames read a block
    at a time (anything with a ``blocks`` method, as SessionFrames)."""
    if hasattr(frames, "blocks"):
        yield from frames.blocks(start, stop, size)
        return
    stop = len(frames) if stop is None else min(stop, len(frames))
    size = size or max(1, BLOCK_BYTES // max(1, frames[0].nbytes if len(frames) else 1))
    for first in range(start, stop, size):
        yield first, frames[first:min(first + size, stop)]
