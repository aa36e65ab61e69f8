"""The driver contract: what every frame source yields and the generic logic around it.

A driver subclasses :class:`MatDriver` and writes ``_read_frame(timeout)``; the base class
owns iteration, counter-gap accounting, the context manager and an idempotent ``close``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np


class DriverError(Exception):
    """A frame source cannot be opened or read; the message is meant for the user."""


@dataclass(frozen=True)
class Frame:
    """One frame as the device gave it.

    ``cells`` holds device values, unmodified, indexed ``[row, col]``; ``counter`` and
    ``device_time_s`` are None when the device does not send them.
    """

    cells: np.ndarray
    counter: int | None
    device_time_s: float | None
    host_time_s: float


@dataclass
class MatInfo:
    """What a source knows about its mat; device values times ``scale_kpa`` plus ``offset_kpa`` is kPa.

    ``foot_map`` (rows, cols) is given by insole systems, whose sensors belong to a known foot:
    0 left, 1 right, -1 no foot. ``has_geometry`` is False for sensor sets that are not a grid
    (e.g. pedar), where positions carry no meaning.
    """

    rows: int
    cols: int
    pitch_x_mm: float
    pitch_y_mm: float
    rate_hz: float
    device: str
    dtype: np.dtype
    scale_kpa: float = 1.0
    offset_kpa: float = 0.0
    cell_area_mm2: float | None = None
    foot_map: np.ndarray | None = None
    has_geometry: bool = True
    extra: dict = field(default_factory=dict)
    assumed: tuple[str, ...] = ()  # settings the source did not tell, by its URL option ("pitch", "scale", "rate", "scale_kpa"): defaults

    def __post_init__(self) -> None:
        self.dtype = np.dtype(self.dtype)
        self.assumed = tuple(self.assumed)
        if self.cell_area_mm2 is None:
            self.cell_area_mm2 = self.pitch_x_mm * self.pitch_y_mm
        if self.rows < 1 or self.cols < 1:
            raise DriverError(f"mat shape must be positive, got {self.rows}x{self.cols}")
        if not (self.rate_hz > 0):
            raise DriverError(f"frame rate must be positive, got {self.rate_hz} Hz")
        if not (self.pitch_x_mm > 0 and self.pitch_y_mm > 0):
            raise DriverError(f"pitch must be positive, got {self.pitch_x_mm} x {self.pitch_y_mm} mm")


@dataclass
class Counters:
    """Link health, stored in every session's attributes."""

    received: int = 0
    dropped: int = 0
    corrupt: int = 0
    resyncs: int = 0
    reconnects: int = 0

    def as_attrs(self) -> dict[str, int]:
        return {f"frames_{name}": int(value) for name, value in vars(self).items()}


class MatDriver:
    """Base of every frame source.

    Subclasses set ``self.info`` in ``__init__`` and implement ``_read_frame``, returning the
    next :class:`Frame`, None on timeout, or raising ``StopIteration``-free :class:`EndOfStream`
    when the source is exhausted.
    """

    info: MatInfo
    url: str = ""

    def __init__(self) -> None:
        self.counters = Counters()
        self._last_counter: int | None = None
        self._closed = False

    # -- to override -------------------------------------------------------------------------
    def _read_frame(self, timeout: float | None) -> Frame | None:
        raise NotImplementedError

    def _close(self) -> None:
        """Release the device; called once."""

    # -- generic logic -----------------------------------------------------------------------
    def read_frame(self, timeout: float | None = None) -> Frame | None:
        """The next frame, None when ``timeout`` passes first; raises EndOfStream at the end."""
        if self._closed:
            raise DriverError(f"{self.url or type(self).__name__} is closed")
        frame = self._read_frame(timeout)
        if frame is None:
            return None
        self.counters.received += 1
        if frame.counter is not None:
            if self._last_counter is not None:
                gap = frame.counter - self._last_counter - 1
                if gap > 0:
                    self._account_gap(gap)
            self._last_counter = frame.counter
        return frame

    def _account_gap(self, missing: int) -> None:
        """Frames the counter says never arrived; a driver that saw them arrive damaged says so."""
        self.counters.dropped += missing

    def __iter__(self) -> Iterator[Frame]:
        while True:
            try:
                frame = self.read_frame(timeout=None)
            except EndOfStream:
                return
            if frame is not None:
                yield frame

    def load(self, max_frames: int | None = None):
        """Every remaining frame (up to ``max_frames``) as a Recording; for finite sources."""
        from drivers.recording import stack_frames

        frames = []
        for frame in self:
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
        return stack_frames(frames, self.info, self.counters, self.url)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> "MatDriver":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Pacer:
    """Releases frames at ``speed`` times the pace they were recorded at (0: at once)."""

    def __init__(self, speed: float):
        self.speed = speed
        self._origin: float | None = None

    def wait_for(self, time_s: float, timeout: float | None) -> bool:
        """Sleep until the frame recorded at ``time_s`` is due; False when ``timeout`` passes first."""
        if self.speed <= 0:
            return True
        now = time.monotonic()
        if self._origin is None:
            self._origin = now - time_s / self.speed
        wait = self._origin + time_s / self.speed - now
        if timeout is not None and wait > timeout:
            time.sleep(max(timeout, 0.0))
            return False
        if wait > 0:
            time.sleep(wait)
        return True


class EndOfStream(Exception):
    """The source has no more frames (a file replayed to its end, a finite simulation)."""


def host_time() -> float:
    return time.time()
