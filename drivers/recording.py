"""A whole finite recording in memory: the bulk form of a stream of frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivers.base import Counters, DriverError, MatInfo


@dataclass
class Recording:
    """``cells`` (time, row, col) in device values; ``time_s`` from the first frame."""

    cells: np.ndarray
    counter: np.ndarray
    time_s: np.ndarray
    info: MatInfo
    counters: Counters
    source_url: str = ""
    attrs: dict | None = None
    extras: dict[str, np.ndarray] | None = None  # per-frame values the source reports, e.g. its own force

    def __post_init__(self) -> None:
        if self.cells.ndim != 3:
            raise DriverError(f"{self.source_url}: frames must be (time, rows, cols), got shape {self.cells.shape}")
        if len(self.counter) != len(self.cells) or len(self.time_s) != len(self.cells):
            raise DriverError(f"{self.source_url}: frame counters and times do not match the frames")

    @property
    def n_frames(self) -> int:
        return self.cells.shape[0]

    def kpa(self) -> np.ndarray:
        """Frames in kPa as float32 (NaN where a cell is masked)."""
        return kpa_of(self.cells, self.info)


def kpa_of(cells: np.ndarray, info: MatInfo) -> np.ndarray:
    """Device values (any frames of a recording) in kPa as float32."""
    frames = np.asarray(cells).astype(np.float32)
    if info.scale_kpa != 1.0:
        frames *= np.float32(info.scale_kpa)
    if info.offset_kpa != 0.0:
        frames += np.float32(info.offset_kpa)
    return frames


def stack_frames(frames: list, info: MatInfo, counters: Counters, url: str) -> Recording:
    """Build a Recording from Frame objects, deriving missing counters and times from the rate."""
    if frames:
        cells = np.stack([frame.cells for frame in frames])
    else:
        cells = np.zeros((0, info.rows, info.cols), dtype=info.dtype)
    n = len(frames)
    counter = np.array(
        [frame.counter if frame.counter is not None else i for i, frame in enumerate(frames)], dtype=np.int64
    )
    if n and all(frame.device_time_s is not None for frame in frames):
        device_time = np.array([frame.device_time_s for frame in frames], dtype=np.float64)
        time_s = device_time - device_time[0]
    else:
        time_s = np.arange(n, dtype=np.float64) / info.rate_hz
    return Recording(cells, counter, time_s, info, counters, url)
