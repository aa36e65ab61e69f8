"""The live terminal view while capturing: pressure image with a kPa colour scale, per-side force
and COP, elapsed time, frames/s, link counters and how to stop.

``LiveView.update`` is called by the capture loop for every frame (hundreds a second), so it only
keeps a reference to the latest frame and counts. ``LiveView.render`` is called by rich's refresh
thread a few times a second: it converts the latest frame to kPa, computes the numbers and returns
a renderable that lays itself out for the console's size when rich draws it (so the view adapts
to the terminal, and to a resized one, with nothing passed in).

Layout. The image keeps the mat's aspect ratio (cells are ``pitch_x_mm`` x ``pitch_y_mm``). With
colour, one character cell draws two pixels (``▀``: the upper one as foreground, the lower one as
background), and as a character is about twice as tall as wide such a pixel is square. Without
colour (``console.color_system is None`` or ``NO_COLOR``) a pixel is two shade characters side by
side. Mats larger than the space are max-pooled (every cell falls in some block, so a single loaded
cell anywhere stays visible); smaller ones are enlarged by whole cells. Of two layouts, image
beside the numbers or image above them, the one giving the larger image is used, so an 80x24
terminal shows everything without wrapping and larger terminals get a larger image.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

THRESHOLD_KPA = 5.0  # as process's default: at or below it a cell is unloaded (blank, and not counted)
BANDS = 10  # colour (or shade) bands from 0 kPa to the top of the scale
# Blue (low) to red (high), as pressure-mat software draws it; rich maps these to 256 or 16
# colours on terminals with fewer.
COLOURS = ("#1e3cff", "#0082ff", "#00c3e6", "#00d28c", "#5ad700", "#bee600", "#ffe100", "#ff9b00",
           "#ff4b00", "#d2004b")
SHADES = " .:;-=+*#%@"  # blank, then one character per band, for terminals without colour
MIN_TOP_KPA = 50.0  # the scale's top before anything heavier has been seen
PANEL_WIDTH = 38  # the numbers' column, beside or below the image
GAP = 2  # columns between the image and the numbers


@dataclass(frozen=True)
class Side:
    """Force and centre of pressure of one side (or of the whole mat) in one frame."""

    name: str
    force_n: float
    cop_x_mm: float | None  # None: nothing loaded, or a sensor set without positions
    cop_y_mm: float | None
    peak_kpa: float


def to_kpa(cells: np.ndarray, info) -> np.ndarray:
    """Device values to kPa, as everywhere: ``cells * scale_kpa + offset_kpa``."""
    return cells.astype(np.float64) * info.scale_kpa + info.offset_kpa


def side_numbers(kpa: np.ndarray, info, threshold_kpa: float = THRESHOLD_KPA) -> tuple[list[Side], str]:
    """Left, right and total force (N) and COP (mm) of one frame in kPa, and a note on the split.

    Only loaded cells (above the threshold) count; force is the sum of kPa times the cell area
    (mm^2) / 1000. COP is in the mat's coordinates: x = column x pitch_x, y = row x pitch_y.
    """
    loaded = np.where(np.isfinite(kpa) & (kpa > threshold_kpa), kpa, 0.0)
    rows, cols = loaded.shape
    foot_map = getattr(info, "foot_map", None)
    if foot_map is not None and np.shape(foot_map) == loaded.shape:
        # Insoles: each sensor belongs to a known foot (0 left, 1 right).
        names = ("left foot", "right foot")
        weights = [(np.asarray(foot_map) == 0).astype(np.float64), (np.asarray(foot_map) == 1).astype(np.float64)]
        note = "feet: from the insoles' sensor map"
    else:
        # A live view has no analysis, so no foot segmentation: the loaded cells are split about
        # the middle of their extent along x (between the outermost loaded columns). For two feet
        # standing this is the gap between them whatever the load split (a force-weighted centre
        # would move towards the heavier foot and cut into it); a single foot is cut in two,
        # hence the honest labels. A column exactly on the middle counts half to each side.
        names = ("left half", "right half")
        loaded_columns = np.flatnonzero(loaded.any(axis=0))
        middle = (loaded_columns[0] + loaded_columns[-1]) / 2 if loaded_columns.size else (cols - 1) / 2
        column = np.arange(cols, dtype=np.float64)
        left = np.where(column < middle, 1.0, np.where(column == middle, 0.5, 0.0))
        weights = [np.broadcast_to(left, loaded.shape), np.broadcast_to(1.0 - left, loaded.shape)]
        note = "halves: split at loaded area's middle"
    geometry = getattr(info, "has_geometry", True)
    area = info.cell_area_mm2 if info.cell_area_mm2 is not None else info.pitch_x_mm * info.pitch_y_mm
    x_index, y_index = np.arange(cols, dtype=np.float64), np.arange(rows, dtype=np.float64)
    sides = []
    for name, weight in zip((*names, "total"), (*weights, None)):
        part = loaded if weight is None else loaded * weight
        total = float(part.sum())
        peak = float(loaded[weight > 0].max(initial=0.0)) if weight is not None else float(loaded.max(initial=0.0))
        if total > 0 and geometry:
            cop_x = float(part.sum(axis=0) @ x_index) / total * info.pitch_x_mm
            cop_y = float(part.sum(axis=1) @ y_index) / total * info.pitch_y_mm
        else:
            cop_x = cop_y = None
        sides.append(Side(name, total * area / 1000.0, cop_x, cop_y, peak))
    return sides, note


def nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``value``: round legend labels."""
    value = max(float(value), 1e-9)
    exponent = math.floor(math.log10(value))
    for base in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = base * 10.0 ** exponent
        if top >= value * (1 - 1e-12):
            return float(round(top, 9))
    return 10.0 ** (exponent + 1)


def pool_max(image: np.ndarray, out_rows: int, out_cols: int) -> np.ndarray:
    """``image`` resampled to ``out_rows x out_cols``: the maximum over each block of cells when
    smaller (blocks cover every cell, none is dropped), nearest cell when larger."""
    row_starts = (np.arange(out_rows) * image.shape[0]) // out_rows
    col_starts = (np.arange(out_cols) * image.shape[1]) // out_cols
    # reduceat reduces [start_i, start_i+1) and gives image[start_i] where starts repeat (enlarging)
    pooled = np.maximum.reduceat(image, row_starts, axis=0)
    return np.maximum.reduceat(pooled, col_starts, axis=1)


def image_size(rows: int, cols: int, pitch_x: float, pitch_y: float, max_w: int, max_h: int) -> tuple[int, int]:
    """Width and height in square pixels of the largest picture of the mat within max_w x max_h,
    keeping its aspect ratio. Enlarged, a whole number of pixels per cell (every cell the same
    size) is preferred when it keeps the aspect (within 5 %) and loses less than 15 % of the size."""
    if max_w < 1 or max_h < 1:
        return 0, 0
    scale = min(max_w / (cols * pitch_x), max_h / (rows * pitch_y))  # pixels per mm
    per_cell_x, per_cell_y = pitch_x * scale, pitch_y * scale
    if per_cell_x >= 1 and per_cell_y >= 1:
        for whole_y in range(math.floor(per_cell_y + 1e-9), 0, -1):
            if whole_y < 0.85 * per_cell_y:
                break
            whole_x = round(whole_y * pitch_x / pitch_y)
            if (0.85 * per_cell_x <= whole_x <= per_cell_x + 1e-9
                    and abs(math.log((whole_x / pitch_x) / (whole_y / pitch_y))) < 0.05):
                return cols * whole_x, rows * whole_y
    return (max(1, min(max_w, round(cols * per_cell_x))), max(1, min(max_h, round(rows * per_cell_y))))


def _clock_text(seconds: float) -> str:
    seconds = max(0.0, seconds)
    minutes, rest = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{rest:04.1f}" if hours else f"{minutes}:{rest:04.1f}"


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} {unit}" if abs(value) < 10 and value != 0 else f"{value:.0f} {unit}"


_STYLES: dict[tuple[int, int], Style] = {}


def _pair_style(upper: int, lower: int) -> Style:
    """Style of a ``▀`` showing band ``upper`` above band ``lower`` (0: blank)."""
    key = (upper, lower)
    if key not in _STYLES:
        _STYLES[key] = Style(color=COLOURS[upper - 1] if upper else None,
                             bgcolor=COLOURS[lower - 1] if lower else None)
    return _STYLES[key]


class LiveView:
    """``update`` is called by the capture loop for every frame (cheap); ``render`` by rich's
    refresh thread a few times a second."""

    def __init__(self, source: str, threshold_kpa: float = THRESHOLD_KPA, clock=time.monotonic):
        self.info = None
        self.source = source
        self.threshold_kpa = float(threshold_kpa)
        self._clock = clock
        self._lock = threading.Lock()
        self._frame = None
        self._counters = None
        self._frames = 0
        self._started = clock()
        self._render_lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque([(self._started, 0)])  # (time, frames) at renders
        # The colour scale's top: the largest pressure shown so far, rounded up to a round number.
        # It only grows, so a colour means the same kPa from frame to frame within a session.
        self.top_kpa = nice_top(max(MIN_TOP_KPA, 2 * self.threshold_kpa))

    def start(self, info) -> None:
        """The source is open: its mat description is known; elapsed time counts from here."""
        self.info = info
        with self._render_lock:
            self._started = self._clock()
            self._samples = deque([(self._started, self._frames)])

    def update(self, frame, counters) -> None:
        with self._lock:
            self._frame, self._counters = frame, counters
            self._frames += 1

    def _rate(self, now: float, frames: int) -> float:
        """Frames per second over the last second, from the counts seen at earlier renders (so
        ``update`` needs no clock): the newest sample at least a second old, else the oldest."""
        samples = self._samples
        while len(samples) > 1 and now - samples[1][0] >= 1.0:
            samples.popleft()
        then, count = samples[0]
        samples.append((now, frames))
        return (frames - count) / (now - then) if now > then else 0.0

    def render(self):
        with self._lock:
            frame, counters, frames = self._frame, self._counters, self._frames
        counts = dict(vars(counters)) if counters is not None else None  # the driver keeps counting
        with self._render_lock:
            now = self._clock()
            rate = self._rate(now, frames)
            elapsed = now - self._started
            kpa = sides = note = None
            if frame is not None and self.info is not None:
                kpa = to_kpa(np.asarray(frame.cells), self.info)
                kpa = np.where(np.isfinite(kpa), kpa, 0.0)  # masked (NaN) cells are drawn blank
                peak = float(kpa.max(initial=0.0))
                if peak > self.top_kpa:
                    self.top_kpa = nice_top(peak)
                sides, note = side_numbers(kpa, self.info, self.threshold_kpa)
            top = self.top_kpa
        return LiveScreen(self.source, self.info, kpa, sides, note, top, self.threshold_kpa, elapsed, rate, counts)


class LiveScreen:
    """One rendering of the view; lays itself out for the console it is drawn on."""

    def __init__(self, source, info, kpa, sides, note, top_kpa, threshold_kpa, elapsed_s, rate, counters):
        self.source, self.info, self.kpa, self.sides, self.note = source, info, kpa, sides, note
        self.top_kpa, self.threshold_kpa = top_kpa, threshold_kpa
        self.elapsed_s, self.rate, self.counters = elapsed_s, rate, counters

    # -- the blocks --------------------------------------------------------------------------
    def _title(self) -> Text:
        text = Text(self.source, style="bold")
        if self.info is not None:
            info = self.info
            text.append(f"  {info.device}, {info.rows}x{info.cols} cells of {info.pitch_x_mm:g}x{info.pitch_y_mm:g} mm",
                        style="dim")
        return text

    def _status(self) -> Text:
        return Text.assemble(("elapsed ", "dim"), _clock_text(self.elapsed_s), ("  ", ""),
                             f"{self.rate:.0f}", (" frames/s", "dim"))

    def _counters(self, width: int) -> Text:
        if self.counters is None:
            return Text("no frames yet", style="dim")
        short = {"received": "recv", "dropped": "drop", "corrupt": "bad", "resyncs": "resync",
                 "reconnects": "reconn"}
        for names, sep in ((None, "  "), (short, " ")):
            text = Text()
            for i, (name, value) in enumerate(self.counters.items()):
                if i:
                    text.append(sep)
                text.append(f"{(names or {}).get(name, name)} ", style="dim")
                text.append(str(value), style="bold yellow" if value and name != "received" else "")
            if text.cell_len <= width:
                break
        return text

    def _legend(self, width: int, colour: bool) -> list[Text]:
        """A bar of the bands from 0 kPa to the top, labelled in kPa, and what blank means."""
        band = max(1, (width - 8) // BANDS)
        bar = Text()
        for level in range(1, BANDS + 1):
            if colour:
                bar.append(" " * band, style=Style(bgcolor=COLOURS[level - 1]))
            else:
                bar.append(SHADES[level] * band)
        values = [self.top_kpa * i / BANDS for i in range(BANDS + 1)]
        labels = [f"{v:g}" for v in values]
        step = next((s for s in (2, 5, 10) if BANDS % s == 0
                     and all(len(labels[i]) < s * band for i in range(0, BANDS, s))), BANDS)
        ticks = [" "] * (BANDS * band + len(labels[-1]))
        for i in range(0, BANDS + 1, step):
            ticks[i * band:i * band + len(labels[i])] = labels[i]
        scale = Text("".join(ticks).rstrip() + " kPa")
        peak = max((s.peak_kpa for s in self.sides), default=0.0) if self.sides else 0.0
        note = Text.assemble((f"blank ≤ {self.threshold_kpa:g} kPa", "dim"), "  ",
                             ("peak ", "dim"), f"{peak:.0f} kPa")
        return [bar, scale, note]

    def _table(self) -> list[Text]:
        lines = [Text(f"{'':<10} {'force':>7} {'COP x':>8} {'COP y':>8}", style="dim")]
        for side in self.sides:
            lines.append(Text(f"{side.name:<10} {_number(side.force_n, 'N'):>7} {_number(side.cop_x_mm, 'mm'):>8} "
                              f"{_number(side.cop_y_mm, 'mm'):>8}", style="bold" if side.name == "total" else ""))
        lines.append(Text(self.note, style="dim"))
        return lines

    # -- the image ---------------------------------------------------------------------------
    def _capacity(self, width: int, lines: int, colour: bool) -> tuple[int, int]:
        """Square pixels that fit in ``width`` columns x ``lines`` lines."""
        return (width, 2 * lines) if colour else (width // 2, lines)

    def _fit(self, width: int, lines: int, colour: bool) -> tuple[int, int]:
        rows, cols = self.kpa.shape
        max_w, max_h = self._capacity(width, lines, colour)
        return image_size(rows, cols, self.info.pitch_x_mm, self.info.pitch_y_mm, max_w, max_h)

    def _image(self, pixels: tuple[int, int], colour: bool) -> list[list[Segment]]:
        """The image as lines of segments (a run of equal cells is one segment: cheap to draw)."""
        out_w, out_h = pixels
        if out_w < 1 or out_h < 1:
            return []
        small = pool_max(self.kpa, out_h, out_w)[::-1]  # y grows upwards, as on the mat's drawings
        level = np.where(small > self.threshold_kpa,
                         1 + np.minimum(BANDS - 1, (small / self.top_kpa * BANDS).astype(np.int64)), 0)
        if colour:
            if out_h % 2:
                level = np.vstack([level, np.zeros((1, out_w), dtype=level.dtype)])
            pairs = level[0::2] * (BANDS + 1) + level[1::2]  # upper and lower pixel of each character
        else:
            pairs = level
        lines = []
        for row in pairs:
            # runs of equal values: where the value changes, and the run lengths
            edges = np.flatnonzero(np.diff(row)) + 1
            starts = np.concatenate(([0], edges))
            lengths = np.diff(np.concatenate((starts, [row.size])))
            line = []
            for value, count in zip(row[starts].tolist(), lengths.tolist()):
                if colour:
                    line.append(_half_blocks(*divmod(value, BANDS + 1), count))
                else:
                    line.append(Segment(SHADES[value] * (2 * count)))
            lines.append(line)
        return lines

    # -- the layout --------------------------------------------------------------------------
    def lines(self, console: Console, width: int, height: int, colour: bool) -> list[list[Segment]]:
        """The view as at most ``height`` lines of segments, none wider than ``width`` columns."""
        title, status, stop = self._title(), self._status(), Text("Ctrl-C to stop", style="bold")
        counters = self._counters(width)
        if self.kpa is None:
            waiting = Text("waiting for the source..." if self.info is None else "waiting for the first frame...")
            out = [title, waiting, Text.assemble(status, "   ", stop), counters]
        else:
            panel = min(PANEL_WIDTH, width)
            legend, table = self._legend(panel, colour), self._table()
            # Beside: title, [image | status, stop, legend, table], counters.
            side_panel = [status, stop, Text(), *legend, Text(), *table]
            beside_lines = max(0, height - 2)
            beside = self._fit(width - panel - GAP, beside_lines, colour) if len(side_panel) <= beside_lines else (0, 0)
            # Above: title, image, [legend | table] (or one under the other), status and stop, counters.
            if 2 * panel + GAP <= width:
                below = _side_by_side(console, legend, table, panel, panel, GAP)
            else:
                below = [*legend, *table]
            above = self._fit(width, max(0, height - 3 - len(below)), colour)
            if beside[0] > 0 and beside[0] * beside[1] >= above[0] * above[1]:
                image = self._image(beside, colour)
                image_width = sum(segment.cell_length for segment in image[0]) if image else 0
                out = [title, *_side_by_side(console, image, side_panel, image_width, panel, GAP), counters]
            else:
                out = [title, *self._image(above, colour), *below, Text.assemble(status, "   ", stop), counters]
        out = out[:height] if height > 0 else out
        return [_segments(console, line, width) for line in out]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        height = options.height if options.height is not None else options.max_height
        colour = console.color_system is not None and not console.no_color
        newline = Segment.line()
        for line in self.lines(console, width, height, colour):
            yield from line
            yield newline


def _half_blocks(upper: int, lower: int, count: int) -> Segment:
    """``count`` characters showing band ``upper`` above band ``lower`` (0: blank)."""
    if not upper and not lower:
        return Segment(" " * count)
    if not upper:
        return Segment("▄" * count, _pair_style(lower, 0))
    return Segment("▀" * count, _pair_style(upper, lower))


def _segments(console: Console, line, width: int) -> list[Segment]:
    """One line as segments, cut to ``width`` columns (with an ellipsis if text had to be cut)."""
    if isinstance(line, Text):
        line = line.copy()
        line.truncate(width, overflow="ellipsis")
        return list(line.render(console, end=""))
    if sum(segment.cell_length for segment in line) > width:
        return Segment.adjust_line_length(line, width)
    return line


def _side_by_side(console: Console, left: list, right: list, left_width: int, right_width: int,
                  gap: int) -> list[list[Segment]]:
    """Lines of ``left`` padded to ``left_width`` columns, a gap, then ``right`` cut to
    ``right_width`` (each line Text or segments)."""
    out = []
    for i in range(max(len(left), len(right))):
        line = list(_segments(console, left[i], left_width)) if i < len(left) else []
        if i < len(right):
            used = sum(segment.cell_length for segment in line)
            line.append(Segment(" " * (max(0, left_width - used) + gap)))
            line.extend(_segments(console, right[i], right_width))
        out.append(line)
    return out
