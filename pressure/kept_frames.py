"""A session's loaded cells, kept in a scratch file by its first pass for the passes after it.

Decoding a gzip session's frames is most of what analysing it costs (4.4 ns a cell here, on every
pass), and the passes after the first need only the cells that are loaded: every measure counts a
cell only while it exceeds the load threshold. So the first pass keeps each block's loaded cells
(``kernels.loaded_cells``: 0.8-0.9 ns a cell, 30 % of the frames' bytes standing on a 64x64 mat)
in a file that has no name (nothing is left behind, whatever stops the process), and the later
passes read them back (0.35-0.45 ns a cell) instead of decoding the session again.

The cells are picked out and written on a thread of their own, around the system's file cache
where it can be (``O_DIRECT``): on this machine writing 0.9 GB through the cache of an ext4 disk
cost 1.7-3.5 s of CPU, and straight to the disk 0.1 s (0.85 s of waiting, while the frames are
decoded).

It is kept only while it stays within the disk's room to spare (and, where it goes through the
system's cache, half the memory available: ``KeptFrames.default_budget``); past that, or on any
error writing it, it is dropped and the later passes decode the session as before. The results
are the same either way (tests/test_kept_frames.py).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drivers.session_frames import BlockMemory, read_ahead
from pressure.kernels import counted_above
from pressure.kernels.loaded_cells import KeptCells, bits_for, keep_loaded, restore_loaded

ALIGN = 4096  # what O_DIRECT asks of buffers, offsets and sizes (a page; more than any disk's block)
DISK_RESERVE_BYTES = 1 << 30  # never take a disk's last GiB
DISK_SPARED = 0.25  # nor the last quarter of its free room: other programs write there too (a capture)
MEMORY_FILE_SYSTEMS = {"tmpfs", "ramfs"}  # their files are memory, O_DIRECT or not
ESTIMATE_AFTER = 0.05  # of the session's frames: its size is then foreseen from what was kept so far
WRITING = 2  # blocks in the writing thread's hands while the next is handed over


def _rounded(size: int) -> int:
    return -(-size // ALIGN) * ALIGN


def _aligned(size: int) -> np.ndarray:
    """``size`` bytes (uninitialised) starting on an ``ALIGN`` boundary."""
    buffer = np.empty(size + ALIGN, np.uint8)
    offset = -buffer.ctypes.data % ALIGN
    return buffer[offset:offset + size]


@dataclass(frozen=True)
class _Block:
    first: int
    stop: int
    at: int  # where its record begins in the file: its bits, then its values
    values_at: int  # from the record's beginning
    n_values: int
    size: int  # of its record, padded to ``ALIGN``


class _Record:
    """One block's record in memory, as it lies in the file: its bits, padded to ``ALIGN``, then
    its values."""

    def __init__(self, cells: int, dtype):
        self.cells, self.dtype = cells, np.dtype(dtype)
        self.bits_bytes = _rounded(bits_for(cells))
        self.buffer = _aligned(_rounded(self.bits_bytes + (cells + 1) * self.dtype.itemsize))
        self.room = KeptCells(cells, dtype, self.buffer[:bits_for(cells)],
                              self.buffer[self.bits_bytes:self.bits_bytes + (cells + 1) * self.dtype.itemsize]
                              .view(self.dtype))

    def size(self, n_values: int) -> int:
        return _rounded(self.bits_bytes + n_values * self.dtype.itemsize)


def available_memory() -> int | None:
    """Bytes of memory the system can give without swapping (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _scratch_file(folder: Path | None) -> tuple[int, bool]:
    """A file descriptor of a file without a name in ``folder``, opened for ``O_DIRECT`` where the
    system and the file system allow it (a first aligned write and read tried), else as usual;
    and whether it is ``O_DIRECT``. Never on a file system held in memory (tmpfs takes O_DIRECT
    since Linux 6.6): its pages are memory all the same, so the file is kept as a cached one."""
    where = str(folder if folder is not None else tempfile.gettempdir())
    if (hasattr(os, "O_TMPFILE") and hasattr(os, "O_DIRECT")
            and file_system_type(where) not in MEMORY_FILE_SYSTEMS):
        try:
            fd = os.open(where, os.O_TMPFILE | os.O_RDWR | os.O_DIRECT, 0o600)
        except OSError:
            fd = None
        if fd is not None:
            try:
                probe = _aligned(ALIGN)
                probe[:] = 0
                if os.pwrite(fd, probe, 0) == ALIGN and os.preadv(fd, [probe], 0) == ALIGN:
                    return fd, True
            except OSError:
                pass
            os.close(fd)
    scratch = tempfile.TemporaryFile(dir=where, prefix="pressure-kept-")  # deleted as made, on POSIX
    fd = os.dup(scratch.fileno())
    scratch.close()
    return fd, False


def file_system_type(folder: str) -> str | None:
    """The type of the file system ``folder`` lies on ("ext4", "tmpfs"...), from the mount that
    holds it in ``/proc/self/mountinfo`` (Linux); None where that cannot be read."""
    path = os.path.realpath(folder)
    held_by, kind = "", None
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields = line.split()
                if "-" not in fields[6:]:
                    continue
                mount = _unescaped(fields[4])
                inside = path == mount or path.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(held_by):  # the last of equal mounts hides the others
                    held_by, kind = mount, fields[fields.index("-", 6) + 1]
    except (OSError, IndexError):
        return None
    return kind


def _unescaped(field: str) -> str:
    """A mountinfo path, its spaces, tabs, newlines and backslashes written as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda escape: chr(int(escape.group(1), 8)), field)


def _spared(free: int) -> int:
    """What the kept cells leave of a disk's ``free`` bytes."""
    return max(DISK_RESERVE_BYTES, int(free * DISK_SPARED))


def _free_bytes(folder: Path | None) -> int | None:
    try:
        return shutil.disk_usage(folder if folder is not None else tempfile.gettempdir()).free
    except OSError:
        return None


class KeptFrames:
    """The loaded cells of a session's frames ``(time, rows, cols)``, added block by block in time
    order by the first pass (``add``, then ``finish``); read back as blocks of frames in which
    every cell at or below the threshold is 0 (``blocks``, as ``frame_blocks`` reads them).
    ``threshold``: in the units of the frames added; ``budget_bytes``: the most the file may take
    (by default ``default_budget``)."""

    def __init__(self, shape: tuple[int, ...], threshold: float, folder: Path | None = None,
                 budget_bytes: int | None = None):
        self.shape = tuple(shape)
        self.dtype: np.dtype | None = None  # the frames' type once added
        self.threshold = threshold
        self.complete = False
        self._fd: int | None = None
        direct = False
        if budget_bytes is None or budget_bytes > 0:
            try:
                self._fd, direct = _scratch_file(folder)
            except OSError:
                pass
        self.budget_bytes = budget_bytes if budget_bytes is not None else self.default_budget(folder, direct)
        # left free on the disk whatever else writes there meanwhile (none asked with a budget given)
        free = _free_bytes(folder) if budget_bytes is None else None
        self._spared_bytes = 0 if free is None else _spared(free)
        self.dropped = self._fd is None or self.budget_bytes <= 0
        if self.dropped and self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._blocks: list[_Block] = []  # those on disk, in order
        self._written = 0  # bytes written (by the writing thread)
        self._submitted = 0  # blocks handed to the writing thread
        self._next_first = 0  # the frame the next block must begin with
        self._records: list[_Record | None] = [None] * (WRITING + 1)  # block k in record k % (WRITING + 1)
        self._writer: ThreadPoolExecutor | None = None
        self._writing: deque[Future] = deque()
        self._memory = BlockMemory()  # the restored blocks' arrays, used again
        self._last: tuple[int, np.ndarray] | None = None  # the block restored last: (first frame, frames)
        self._read_room: np.ndarray | None = None

    @staticmethod
    def default_budget(folder: Path | None, direct: bool) -> int:
        """The disk's room to spare (its free room but the last quarter, and never its last GiB);
        through the system's cache (not ``direct``: O_DIRECT) also at most half the memory
        available, where the file's pages may stay cached. 0 where what limits it is unknown.

        Written straight to the disk the file takes no memory, so memory does not limit it: a day
        of 64x64 keeps 21 GB of loaded cells, where half the memory (12 GB here) dropped them after
        5 % of the day and the passes after the first decoded the session again."""
        free = _free_bytes(folder)
        if free is None:
            return 0
        room = max(0, free - _spared(free))
        if direct:
            return room
        memory = available_memory()
        return 0 if memory is None else min(memory // 2, room)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def kept_bytes(self) -> int:
        return self._written

    def add(self, first: int, frames: np.ndarray) -> None:
        """Keeps the loaded cells of ``frames``, the session's frames from ``first`` on (each
        block right after the one before), on the writing thread: the first pass's own thread
        goes on with the block at once (kept there, they slowed a walk's first pass, whose thread
        the tracker keeps busy, more than decoding them again cost). The file is dropped once it
        would grow past its budget or cannot be written."""
        if self.dropped:
            return
        above = counted_above(frames.dtype, self.threshold)
        if first != self._next_first or self.dtype not in (None, frames.dtype) or above is None:
            self.drop()  # not the session's blocks in order, or every value counts: nothing to keep
            return
        self.dtype = frames.dtype
        record = self._free_record(self._submitted, frames.size, frames.dtype)
        if record is None:
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="keep-frames")
        self._writing.append(self._writer.submit(self._keep, record, frames, above, first))
        self._submitted += 1
        self._next_first = first + len(frames)

    def _keep(self, record: _Record, frames: np.ndarray, above, first: int) -> _Block | None:
        """Keeps a block's loaded cells and writes them after the blocks before (on the writing
        thread, one block after another); None where the file would grow past its budget."""
        _, values = keep_loaded(np.ascontiguousarray(frames), above, record.room)
        size = record.size(len(values))
        stop = first + len(frames)
        foreseen = (self._written + size) * len(self) / stop if stop >= ESTIMATE_AFTER * len(self) else 0
        if max(self._written + size, foreseen) > self.budget_bytes or not self._room_left_after(size):
            return None
        self._write(record, size, self._written)
        block = _Block(first, stop, self._written, record.bits_bytes, len(values), size)
        self._written += size
        return block

    def _room_left_after(self, size: int) -> bool:
        """Whether the disk still has its spared room after ``size`` more bytes: asked before each
        block, as other programs may write to the same disk meanwhile (a capture, which a full
        disk would stop)."""
        if not self._spared_bytes:
            return True
        try:
            disk = os.fstatvfs(self._fd)
        except OSError:
            return True  # the write says what is wrong, if anything
        return disk.f_bavail * disk.f_frsize - size >= self._spared_bytes

    def _free_record(self, index: int, cells: int, dtype) -> _Record | None:
        """The record for block ``index``, once the block kept in it before is on disk (None when
        the file was dropped)."""
        while len(self._writing) > WRITING:  # the oldest block in hand was kept in the record wanted now
            if not self._finished_writing(self._writing.popleft()):
                return None
        slot = index % len(self._records)
        record = self._records[slot]
        if record is None or record.cells < cells or record.dtype != dtype:
            record = self._records[slot] = _Record(cells, dtype)
        return record

    def _write(self, record: _Record, size: int, at: int) -> None:
        if os.pwrite(self._fd, record.buffer[:size], at) != size:
            raise OSError("short write")

    def _finished_writing(self, future: Future) -> bool:
        try:
            block = future.result()
        except OSError:  # a full disk, say: the passes after this one decode the session instead
            block = None
        if block is None:
            self.drop()
            return False
        self._blocks.append(block)
        return True

    def finish(self) -> None:
        """The first pass is over: usable if every frame was added and written."""
        while self._writing and not self.dropped:
            self._finished_writing(self._writing.popleft())
        self.complete = not self.dropped and bool(self._blocks) and self._blocks[-1].stop == len(self)
        self._shut_writer()
        self._records = [None] * len(self._records)
        if not self.complete:
            self.drop()

    def _shut_writer(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)  # nothing writes into a closed file
            self._writer = None
        self._writing.clear()

    def drop(self) -> None:
        """Gives the file up (the later passes decode the session)."""
        self._shut_writer()
        self.dropped, self.complete = True, False
        self._blocks, self._records = [], [None] * len(self._records)
        self._last = self._read_room = None
        if self._fd is not None:
            # Closing gives the file's blocks back to the disk, 0.15 s for an hour's kept cells
            # here (ext4 mounted with discard): not a wait for the results.
            threading.Thread(target=os.close, args=(self._fd,), name="close-kept-frames", daemon=True).start()
            self._fd = None

    close = drop

    def blocks(self, start: int = 0, stop: int | None = None, size: int | None = None
               ) -> Iterator[tuple[int, np.ndarray]]:
        """``(first frame, frames)`` of ``start:stop``, within the blocks they were added in (``size``
        is theirs), the next ones read ahead while the caller works on this one. A pass asks for
        each contact's frames apart: a block is read and restored once for all the spans in it
        (restored again for each, the contacts of a walk cost more than decoding their chunks)."""
        if not self.complete:
            raise RuntimeError("the kept frames are read only once every frame was kept")
        stop = len(self) if stop is None else min(stop, len(self))
        wanted = {max(block.first, start): block for block in self._blocks if block.first < stop and block.stop > start}
        spans = [(lo, min(block.stop, stop)) for lo, block in wanted.items()]

        def read(lo: int, hi: int, _) -> np.ndarray:
            block = wanted[lo]
            return self._restored(block)[lo - block.first:hi - block.first]

        yield from read_ahead(spans, read, None, self.dtype)

    def _restored(self, block: _Block) -> np.ndarray:
        """The block's frames, read back (on the read-ahead thread), the last block's kept for the
        next span in it."""
        if self._last is not None and self._last[0] == block.first:
            return self._last[1]
        self._last = None  # its array may be used again
        frame_cells = int(np.prod(self.shape[1:]))
        n_frames = block.stop - block.first
        if self._read_room is None or len(self._read_room) < block.size:
            self._read_room = _aligned(max(b.size for b in self._blocks))
        room = self._read_room[:block.size]
        if os.preadv(self._fd, [room], block.at) != block.size:
            raise OSError(f"the scratch file of kept frames ends early (frames {block.first}-{block.stop - 1})")
        bits = room[:bits_for(n_frames * frame_cells)]
        values = room[block.values_at:block.values_at + block.n_values * self.dtype.itemsize].view(self.dtype)
        whole = restore_loaded(bits, values, self._memory.take((n_frames, *self.shape[1:]), self.dtype))
        self._last = (block.first, whole)
        return whole
