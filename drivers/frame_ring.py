"""Frames handed from a reader process to the main process through shared memory.

A serial mat's reader runs in a process of its own (drivers/serial_mat.py): reading a port and
parsing frames must never wait for the main process's interpreter lock, because a pty or a
USB-CDC port holds only a few frames (a Linux pty about 68 KiB) and the mat stalls the moment
nobody reads. The two processes share one anonymous mapping, made before ``fork``: a ring of
frame slots (cells, counter, device time, host receive time) and a few control words.

The reader writes slots, then publishes them by moving ``head``; the main process copies
published slots out, then frees them by moving ``tail``. Both moves happen under one
process-shared lock (a semaphore: its acquire and release order the memory accesses around
them on every CPU), once per batch of frames, not per frame. A full ring drops frames and
counts them, so memory stays bounded whatever the rate. A byte on a pipe wakes the main process
when frames are published, so it can wait with a timeout instead of polling.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import select
from dataclasses import dataclass

import numpy as np

# control words (int64)
HEAD, TAIL, DROPPED, CORRUPT, RESYNCS, RECONNECTS, FAILED, ERROR_BYTES = range(8)
CONTROL_WORDS = 8
ERROR_SPACE = 1024  # bytes of the reader's failure message
FLAG_COUNTER, FLAG_DEVICE_TIME = 1, 2


@dataclass(frozen=True)
class FrameBatch:
    """Consecutive frames as arrays: ``cells`` is (n, rows, cols); ``counter`` and
    ``device_time_s`` hold a value where ``has_counter``/``has_device_time`` say so."""

    cells: np.ndarray
    counter: np.ndarray
    device_time_s: np.ndarray
    host_time_s: np.ndarray
    flags: np.ndarray

    def __len__(self) -> int:
        return len(self.host_time_s)

    @property
    def has_counter(self) -> np.ndarray:
        return (self.flags & FLAG_COUNTER) != 0

    @property
    def has_device_time(self) -> np.ndarray:
        return (self.flags & FLAG_DEVICE_TIME) != 0


def _aligned(offset: int) -> int:
    return (offset + 63) // 64 * 64


class FrameRing:
    """``slots`` frames of ``rows`` x ``cols`` ``dtype`` in memory shared with forked children."""

    def __init__(self, slots: int, rows: int, cols: int, dtype: np.dtype):
        self.slots = slots
        dtype = np.dtype(dtype)
        layout = [("control", np.int64, (CONTROL_WORDS,)), ("error", np.uint8, (ERROR_SPACE,)),
                  ("counter", np.int64, (slots,)), ("device_time", np.float64, (slots,)),
                  ("host_time", np.float64, (slots,)), ("flags", np.uint8, (slots,)),
                  ("cells", dtype, (slots, rows, cols))]
        offsets, size = {}, 0
        for name, kind, shape in layout:
            offsets[name] = size = _aligned(size)
            size += int(np.prod(shape)) * np.dtype(kind).itemsize
        self._memory = mmap.mmap(-1, max(size, 1))  # anonymous and shared: children see every write
        for name, kind, shape in layout:
            setattr(self, name, np.ndarray(shape, kind, self._memory, offsets[name]))
        self.lock = multiprocessing.get_context("fork").Lock()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self._head = 0  # the reader's own count of published frames
        self._tail = 0  # the taker's own count of freed frames

    # -- the reader's side -----------------------------------------------------------------------
    def free_slots(self) -> int:
        with self.lock:
            tail = int(self.control[TAIL])
        return self.slots - (self._head - tail)

    def put(self, cells: np.ndarray, counter: int | None, device_time_s: float | None, host_time_s: float) -> None:
        """Write the next slot (the caller checked ``free_slots``); ``publish`` makes it visible."""
        slot = self._head % self.slots
        self.cells[slot] = cells
        self.counter[slot] = counter or 0
        self.device_time[slot] = device_time_s or 0.0
        self.host_time[slot] = host_time_s
        self.flags[slot] = (FLAG_COUNTER if counter is not None else 0) | (
            FLAG_DEVICE_TIME if device_time_s is not None else 0)
        self._head += 1

    def publish(self, dropped: int, corrupt: int, resyncs: int, reconnects: int) -> None:
        """Make the slots written so far and the reader's counters visible, and wake the taker."""
        with self.lock:
            self.control[HEAD] = self._head
            self.control[DROPPED:RECONNECTS + 1] = (dropped, corrupt, resyncs, reconnects)
        self.wake()

    def fail(self, message: str) -> None:
        """The reader has stopped for good; the taker raises ``message`` once the ring is empty."""
        data = message.encode(errors="replace")[:ERROR_SPACE]
        with self.lock:
            self.error[: len(data)] = np.frombuffer(data, np.uint8)
            self.control[ERROR_BYTES] = len(data)
            self.control[FAILED] = 1
        self.wake()

    def wake(self) -> None:
        try:
            os.write(self.wake_w, b"\0")
        except BlockingIOError:  # wake-ups already waiting: the taker will look anyway
            pass

    # -- the taker's side ------------------------------------------------------------------------
    def pending(self) -> int:
        with self.lock:
            return int(self.control[HEAD]) - self._tail

    def counters(self) -> tuple[int, int, int, int]:
        with self.lock:
            return tuple(int(v) for v in self.control[DROPPED:RECONNECTS + 1])

    def failure(self) -> str | None:
        """The reader's failure message, once every frame it published has been taken."""
        with self.lock:
            if not self.control[FAILED] or self.control[HEAD] != self._tail:
                return None
            return bytes(self.error[: int(self.control[ERROR_BYTES])]).decode(errors="replace")

    def take(self, limit: int | None = None) -> FrameBatch | None:
        """Copy out the published frames (at most ``limit``) and free their slots; None if none."""
        with self.lock:
            head = int(self.control[HEAD])
        n = head - self._tail if limit is None else min(head - self._tail, limit)
        if n <= 0:
            return None
        start = self._tail % self.slots
        if start + n <= self.slots:
            picked = slice(start, start + n)
        else:  # wraps around the end of the ring
            picked = np.r_[start:self.slots, 0:start + n - self.slots]
        batch = FrameBatch(self.cells[picked].copy(), self.counter[picked].copy(), self.device_time[picked].copy(),
                           self.host_time[picked].copy(), self.flags[picked].copy())
        self._tail += n
        with self.lock:
            self.control[TAIL] = self._tail
        return batch

    def wait(self, timeout: float) -> None:
        """Until the reader publishes something or ``timeout`` passes."""
        if select.select([self.wake_r], [], [], max(timeout, 0.0))[0]:
            try:
                os.read(self.wake_r, 1 << 16)
            except BlockingIOError:
                pass

    # -- both ------------------------------------------------------------------------------------
    def close_reader_end(self) -> None:
        """In the taker, once the reader is forked: its end of the wake-up pipe is not ours."""
        _close(self.wake_w)
        self.wake_w = -1

    def close(self) -> None:
        for fd in (self.wake_r, self.wake_w):
            _close(fd)
        self.wake_r = self.wake_w = -1


def _close(fd: int) -> None:
    if fd >= 0:
        try:
            os.close(fd)
        except OSError:
            pass
