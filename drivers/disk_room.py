"""Disk space held for a file before it is written, so a full disk is seen before a write fails.

HDF5 cannot survive a write that fails half-way (its close then crashes the process, and the
file's last records are lost). So the session writer asks for the room of each write first: the
blocks are allocated beyond the file's end with ``fallocate(FALLOC_FL_KEEP_SIZE)``, which neither
changes the file's size (HDF5 checks it) nor lets another program take them. Whatever fills the
disk afterwards, HDF5's writes land in blocks that are already the file's. Where the filesystem
cannot allocate ahead (some network filesystems), the free space is checked instead.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from pathlib import Path

KEEP_SIZE = 0x01
PUNCH_HOLE = 0x02

_libc = ctypes.CDLL(None, use_errno=True)
_fallocate = getattr(_libc, "fallocate", None)
if _fallocate is not None:
    _fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    _fallocate.restype = ctypes.c_int


def fallocate(fd: int, mode: int, offset: int, length: int) -> None:
    """Linux ``fallocate(2)``; raises OSError (ENOTSUP where it is not available)."""
    if _fallocate is None:
        raise OSError(errno.ENOTSUP, "fallocate is not available")
    if _fallocate(fd, mode, offset, length) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


class NoRoom(Exception):
    """The disk cannot give the room asked for; ``available`` is what the file still holds."""

    def __init__(self, available: int, free: int):
        super().__init__(f"{free >> 10} KiB free")
        self.available = available
        self.free = free


class Room:
    """Room held beyond the end of the file at ``path``: ``hold(n)`` makes sure the next ``n``
    bytes written past its end cannot fail for want of space, taking ``ahead`` more when it can
    so that most writes need no system call."""

    def __init__(self, path: Path, ahead: int):
        self.path = Path(path)
        self.ahead = ahead
        self._end = 0  # the file's blocks reach this far
        self._fd: int | None = os.open(self.path, os.O_RDWR)
        self.allocates = True

    def available(self) -> int:
        """Bytes that can still be written past the file's end."""
        size = os.fstat(self._fd).st_size
        if self.allocates:
            return max(self._end - size, 0)
        return shutil.disk_usage(self.path.parent).free

    def hold(self, needed: int) -> None:
        """Raise NoRoom unless ``needed`` bytes past the file's end are the file's."""
        size = os.fstat(self._fd).st_size
        if not self.allocates:
            free = shutil.disk_usage(self.path.parent).free
            if free < needed:
                raise NoRoom(free, free)
            return
        if size + needed <= self._end:
            return
        for length in (needed + self.ahead, needed):
            try:
                fallocate(self._fd, KEEP_SIZE, size, length)
                self._end = max(self._end, size + length)
                return
            except OSError as error:
                if error.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS):
                    self.allocates = False
                    return self.hold(needed)
                if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
        raise NoRoom(self.available(), shutil.disk_usage(self.path.parent).free)

    def close(self) -> None:
        """Give back what was held beyond the file's end."""
        if self._fd is None:
            return
        try:
            size = os.fstat(self._fd).st_size
            if self.allocates and self._end > size:
                fallocate(self._fd, PUNCH_HOLE | KEEP_SIZE, size, self._end - size)
        except OSError:
            pass  # the blocks stay with the file: space, not data
        finally:
            os.close(self._fd)
            self._fd = None
