"""The live terminal view while capturing: pressure image, frame rate, forces, counters."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text

SHADES = " .:-=+*#%@"
THRESHOLD_KPA = 5.0  # as process's default: below it a cell is unloaded (and noise is not drawn)
MAX_ROWS, MAX_COLS = 24, 64


class LiveView:
    """``update`` is called by the capture loop for every frame (cheap); ``render`` by rich's
    refresh thread a few times a second."""

    def __init__(self, source: str):
        self.info = None
        self.source = source
        self._lock = threading.Lock()
        self._frame = None
        self._counters = None
        self._arrivals: deque[float] = deque(maxlen=4096)
        self._frames = 0
        self._started = time.monotonic()

    def start(self, info) -> None:
        """The source is open: its mat description is known."""
        self.info = info

    def update(self, frame, counters) -> None:
        with self._lock:
            self._frame, self._counters = frame, counters
            self._frames += 1
            self._arrivals.append(time.monotonic())

    def _rate(self) -> float:
        now = time.monotonic()
        recent = [t for t in self._arrivals if now - t <= 1.0]
        return float(len(recent))

    def render(self):
        with self._lock:
            frame, counters, frames = self._frame, self._counters, self._frames
            rate = self._rate()
        header = Text(f"{self.source}  {frames} frames  {rate:.0f} frames/s  "
                      f"{time.monotonic() - self._started:.1f} s", style="bold")
        if frame is None or self.info is None:
            return Group(header, Text("waiting for the first frame..."))
        kpa = frame.cells.astype(np.float64) * self.info.scale_kpa + self.info.offset_kpa
        return Group(header, self._image(kpa), self._numbers(kpa, counters))

    def _image(self, kpa: np.ndarray) -> Text:
        rows, cols = kpa.shape
        step = max(1, int(np.ceil(rows / MAX_ROWS)), int(np.ceil(cols / MAX_COLS)))
        small = kpa[: rows - rows % step or rows, : cols - cols % step or cols]
        small = small.reshape(small.shape[0] // step, step, small.shape[1] // step, step).max(axis=(1, 3))
        top = max(float(np.nanmax(small)), 1.0)
        text = Text()
        for row in small[::-1]:  # y grows upwards, as on the mat's drawings
            for value in row:
                level = 0 if not value > THRESHOLD_KPA else 1 + int((len(SHADES) - 2) * min(value / top, 1.0))
                text.append(SHADES[level] * 2, style="red" if level > 6 else ("yellow" if level > 3 else "cyan"))
            text.append("\n")
        return text

    def _numbers(self, kpa: np.ndarray, counters) -> Table:
        pitch_x, pitch_y, area = self.info.pitch_x_mm, self.info.pitch_y_mm, self.info.cell_area_mm2
        table = Table(show_header=True, box=None)
        for column in ("", "force", "COP x", "COP y", "peak"):
            table.add_column(column, justify="right")
        loaded = np.where(kpa > THRESHOLD_KPA, kpa, 0.0)
        half = kpa.shape[1] // 2
        for name, part, offset in (("mat", loaded, 0), ("left half", loaded[:, :half], 0),
                                   ("right half", loaded[:, half:], half)):
            total = part.sum()
            force = total * area * 1e-3
            if total > 0:
                rows, cols = np.indices(part.shape)
                cop_x = ((part * cols).sum() / total + offset) * pitch_x
                cop_y = (part * rows).sum() / total * pitch_y
                table.add_row(name, f"{force:.0f} N", f"{cop_x:.0f} mm", f"{cop_y:.0f} mm", f"{part.max():.0f} kPa")
            else:
                table.add_row(name, "0 N", "-", "-", "-")
        if counters is not None:
            table.caption = "  ".join(f"{k} {v}" for k, v in vars(counters).items())
        return table
