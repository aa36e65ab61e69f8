"""``sim://standing`` and ``sim://walking``: a pressure mat with known ground truth.

Frames are uint16 counts of 0.1 kPa sampled at cell centres, with Gaussian noise on every cell.
The ground truth (per-foot force and centre of pressure from the noiseless frames, the arch index
of the continuous print, load shares and foot contacts) is what the analysis must recover.
Frames are rendered in aligned blocks seeded by (seed, block), so any way of reading them gives
the same session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from drivers.base import DriverError, EndOfStream, Frame, MatDriver, MatInfo, Pacer
from drivers.foot_model import PlacedFoot, shape_for_arch, unit
from drivers.recording import Recording
from drivers.url import DriverURL, choice, non_negative, parse_url, positive

SCALE_KPA = 0.1
SENSOR_FLOOR_KPA = 7.0  # like a real sensing cell, the simulated one reads nothing below this
BLOCK = 256
FEET = ("left", "right")
DIRECTIONS = {"+y": 90.0, "-y": 270.0, "+x": 0.0, "-x": 180.0}


def _arch(raw: str):
    if raw in ("high", "normal", "flat"):
        return raw
    value = float(raw)
    if not 0.0 < value < 0.5:
        raise ValueError("expected high, normal, flat or an index between 0 and 0.5")
    return value


def _imbalance(raw: str) -> float:
    value = float(raw)
    if not -0.9 <= value <= 0.9:
        raise ValueError("expected right share minus left share, between -0.9 and 0.9")
    return value


OPTIONS = {
    "seed": (int, 0),
    "rows": (positive(int), None),
    "cols": (positive(int), None),
    "rate": (positive(float), 100.0),
    "pitch": (positive(float), 5.0),
    "imbalance": (_imbalance, 0.0),
    "arch": (_arch, "normal"),
    "angle": (float, 5.0),
    "noise": (non_negative(float), 0.5),
    "weight": (positive(float), 700.0),
    "foot": (positive(float), 250.0),
    "facing": (choice(*DIRECTIONS), "+y"),
    "direction": (choice(*DIRECTIONS), "+y"),
    "stance": (positive(float), 150.0),
    "blob": (choice("0", "1"), "0"),
    "stuck": (non_negative(int), 0),
    "duration": (non_negative(float), None),
    "speed": (non_negative(float), 1.0),
}


@dataclass
class Contact:
    """One foot contact (a step) of the simulated walk."""

    foot: str
    start_s: float
    end_s: float
    placed: PlacedFoot


@dataclass
class GroundTruth:
    """Everything the simulator used, in the units of the results file."""

    force_n: np.ndarray  # (time, foot)
    cop_x_mm: np.ndarray  # (time, foot), NaN while unloaded
    cop_y_mm: np.ndarray
    arch_index: dict[str, float]
    load_share: dict[str, float]
    contacts: list[Contact] = field(default_factory=list)


class SimSession:
    """A standing or walking session rendered on demand."""

    def __init__(self, kind: str, params: dict):
        if kind not in ("standing", "walking"):
            raise DriverError(f"unknown simulation sim://{kind}; known: sim://standing, sim://walking")
        self.kind = kind
        self.params = params
        self.seed = params["seed"]
        self.shape = shape_for_arch(params["arch"], params["foot"])
        walking_along_x = kind == "walking" and params["direction"] in ("+x", "-x")
        long_side, short_side = (320, 64) if kind == "walking" else (64, 64)
        rows = params["rows"] or (short_side if walking_along_x else long_side)
        cols = params["cols"] or (long_side if walking_along_x else short_side)
        pitch = params["pitch"]
        self.info = MatInfo(
            rows=rows, cols=cols, pitch_x_mm=pitch, pitch_y_mm=pitch, rate_hz=params["rate"],
            device=f"simulator ({kind})", dtype=np.uint16, scale_kpa=SCALE_KPA,
        )
        self.x_mm = np.arange(cols) * pitch
        self.y_mm = np.arange(rows) * pitch
        self._grid_x, self._grid_y = np.meshgrid(self.x_mm, self.y_mm)
        self.cell_area_m2 = pitch * pitch * 1e-6
        rng = np.random.default_rng([self.seed, 7])
        self._sway_phases = rng.uniform(0, 2 * np.pi, size=6)
        if kind == "standing":
            self._place_standing()
            default_duration = 10.0
        else:
            self._place_walk()
            default_duration = self.contacts[-1].end_s + 0.3
        duration = params["duration"] if params["duration"] is not None else default_duration
        self.n_frames = None if duration == 0 else int(round(duration * self.info.rate_hz))

    # -- placement ---------------------------------------------------------------------------
    def _width(self) -> tuple[float, float]:
        return self.x_mm[-1], self.y_mm[-1]

    def _place_standing(self) -> None:
        facing = DIRECTIONS[self.params["facing"]]
        ax, ay = unit(facing)
        lx, ly = -ay, ax  # towards the person's left
        width, height = self._width()
        centre = np.array([width / 2, height / 2])
        total = self.shape.print_length_mm + 45 * self.shape.k
        self.feet = []
        for side, sign in (("left", 1.0), ("right", -1.0)):
            # Toe-out turns each foot about its middle, so the pair stays centred on the mat.
            axis = unit(facing + sign * self.params["angle"])
            middle = centre + sign * 0.5 * self.params["stance"] * np.array([lx, ly]) * self.shape.k
            heel = middle - np.array(axis) * total / 2
            self.feet.append(PlacedFoot(self.shape, tuple(heel), axis, side))
        self._check_on_mat(self.feet)
        self._standing_shapes = [self._unit_shapes(foot) for foot in self.feet]
        self.contacts = []

    def _place_walk(self) -> None:
        direction = DIRECTIONS[self.params["direction"]]
        ax, ay = unit(direction)
        lx, ly = -ay, ax
        width, height = self._width()
        along_length = width if abs(ax) > 0.5 else height
        start = np.array([width / 2, height / 2]) - np.array([ax, ay]) * (along_length / 2 - 60.0)
        step_length, step_time, stance = 600.0, 0.545, 0.65
        foot_total = self.shape.print_length_mm + 45 * self.shape.k
        self.contacts = []
        k = 0
        while (k * step_length + foot_total) <= along_length - 60.0:
            side = "right" if k % 2 == 0 else "left"
            sign = 1.0 if side == "left" else -1.0
            heel = start + np.array([ax, ay]) * k * step_length + sign * 50.0 * np.array([lx, ly])
            axis = unit(direction + sign * self.params["angle"])
            placed = PlacedFoot(self.shape, tuple(heel), axis, side)
            t0 = 0.3 + k * step_time
            self.contacts.append(Contact(side, t0, t0 + stance, placed))
            k += 1
        if not self.contacts:
            raise DriverError("the mat is too short for a single step; give more rows or cols")
        self._check_on_mat([c.placed for c in self.contacts])
        self._walk_maps = [self._walk_maps_for(c.placed) for c in self.contacts]

    def _check_on_mat(self, feet) -> None:
        half = 0.5 * self.params["pitch"]
        for foot in feet:
            x, y = foot.outline_points()
            if x.min() < -half or y.min() < -half or x.max() > self.x_mm[-1] + half or y.max() > self.y_mm[-1] + half:
                raise DriverError("the feet do not fit on the mat; give more rows or cols")

    def _unit_shapes(self, foot: PlacedFoot):
        """Pressure per newton of foot force, and the same tilted heel-to-toe (for AP sway)."""
        u, m = foot.foot_coordinates(self._grid_x, self._grid_y)
        base = self.shape.relative_pressure(u, m)
        base_force = base.sum() * self.cell_area_m2 * 1000.0
        base = base / base_force
        centre = (base * u).sum() / base.sum()
        tilt = base * (u - centre) / self.shape.print_length_mm
        return base, tilt

    def _walk_maps_for(self, foot: PlacedFoot):
        u, m = foot.foot_coordinates(self._grid_x, self._grid_y)
        base = self.shape.relative_pressure(u, m)
        loaded = base > 0
        return u[loaded], base[loaded], np.flatnonzero(loaded)

    # -- rendering ---------------------------------------------------------------------------
    def render_kpa(self, start: int, stop: int) -> np.ndarray:
        """Noiseless kPa frames [start, stop)."""
        t = np.arange(start, stop) / self.info.rate_hz
        frames = np.zeros((len(t), self.info.rows, self.info.cols))
        if self.kind == "standing":
            share_right = 0.5 * (1 + self.params["imbalance"])
            ph = self._sway_phases
            ml = 0.02 * np.sin(2 * np.pi * 0.21 * t + ph[0]) + 0.01 * np.sin(2 * np.pi * 0.53 * t + ph[1])
            for index, (base, tilt) in enumerate(self._standing_shapes):
                share = (share_right + ml) if index == 1 else (1 - share_right - ml)
                ap = 0.25 * np.sin(2 * np.pi * (0.17 + 0.05 * index) * t + ph[2 + index]) + 0.05 * np.sin(
                    2 * np.pi * 0.9 * t + ph[4 + index])
                f = self.params["weight"] * share
                frames += f[:, None, None] * (base[None] + ap[:, None, None] * tilt[None])
        else:
            flat = frames.reshape(len(t), -1)
            imbalance = self.params["imbalance"]
            for contact, (u, base, cells) in zip(self.contacts, self._walk_maps):
                phase = (t - contact.start_s) / (contact.end_s - contact.start_s)
                active = (phase > 0) & (phase < 1)
                if not active.any():
                    continue
                phi = phase[active]
                side_gain = 1 + imbalance if contact.foot == "right" else 1 - imbalance
                f = self.params["weight"] * side_gain * (0.9 * np.sin(np.pi * phi) + 0.25 * np.sin(3 * np.pi * phi))
                toes_u = self.shape.print_length_mm + 30 * self.shape.k
                centre = 15 * self.shape.k + (toes_u - 15 * self.shape.k) * phi / 0.9
                weight = base[None] * np.exp(-0.5 * ((u[None] - centre[:, None]) / (55 * self.shape.k)) ** 2)
                weight /= weight.sum(axis=1, keepdims=True) * self.cell_area_m2 * 1000.0
                flat[np.ix_(np.flatnonzero(active), cells)] += f[:, None] * weight
        if self.params["blob"] == "1":
            frames += self._blob[None]
        frames[frames < SENSOR_FLOOR_KPA] = 0.0
        return frames

    @cached_property
    def _blob(self) -> np.ndarray:
        """A knee resting on the mat: a 50 mm disc of 60 kPa beside the feet."""
        width, height = self._width()
        if self.kind == "standing":
            ax, ay = unit(DIRECTIONS[self.params["facing"]])
            centre = np.array([width / 2, height / 2]) - np.array([ax, ay]) * 95.0 * self.shape.k
        else:
            ax, ay = unit(DIRECTIONS[self.params["direction"]])
            centre = np.array([width / 2, height / 2]) - np.array([-ay, ax]) * 130.0  # right of the walk
        inside = np.hypot(self._grid_x - centre[0], self._grid_y - centre[1]) <= 25.0
        return np.where(inside, 60.0, 0.0)

    @cached_property
    def _stuck_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Cells that read one value all session (a faulty sensor), chosen by the seed."""
        rng = np.random.default_rng([self.seed, 11])
        cells = rng.choice(self.info.rows * self.info.cols, size=self.params["stuck"], replace=False)
        return cells, rng.integers(500, 3000, size=len(cells)).astype(np.uint16)

    def render_counts(self, start: int, stop: int) -> np.ndarray:
        """Device frames [start, stop): noisy, clipped, quantised uint16 counts."""
        blocks = []
        first = start // BLOCK
        for block in range(first, (stop - 1) // BLOCK + 1):
            b0, b1 = block * BLOCK, (block + 1) * BLOCK
            if self.n_frames is not None:
                b1 = min(b1, self.n_frames)
            kpa = self.render_kpa(b0, b1)
            rng = np.random.default_rng([self.seed, block])
            if self.params["noise"] > 0:
                kpa = kpa + rng.normal(0.0, self.params["noise"], size=kpa.shape)
            counts = np.clip(np.rint(kpa / SCALE_KPA), 0, np.iinfo(np.uint16).max).astype(np.uint16)
            stuck, values = self._stuck_cells
            counts.reshape(len(counts), -1)[:, stuck] = values
            blocks.append(counts)
        frames = np.concatenate(blocks)
        return frames[start - first * BLOCK: stop - first * BLOCK]

    def ground_truth(self, n_frames: int | None = None) -> GroundTruth:
        n = n_frames if n_frames is not None else self.n_frames
        if n is None:
            raise DriverError("an endless simulation has no finite ground truth; give duration")
        kpa = self.render_kpa(0, n)
        force = np.zeros((n, 2))
        cop = {"x": np.full((n, 2), np.nan), "y": np.full((n, 2), np.nan)}
        for index, mask in enumerate(self._foot_masks):
            per_foot = kpa * mask[None]
            total = per_foot.sum(axis=(1, 2))
            force[:, index] = total * self.cell_area_m2 * 1000.0
            loaded = total > 0
            for axis, grid in (("x", self._grid_x), ("y", self._grid_y)):
                cop[axis][loaded, index] = (per_foot * grid[None]).sum(axis=(1, 2))[loaded] / total[loaded]
        impulse = force.sum(axis=0)
        shares = impulse / impulse.sum()
        return GroundTruth(
            force_n=force, cop_x_mm=cop["x"], cop_y_mm=cop["y"],
            arch_index={side: self.shape.arch_index for side in FEET},
            load_share=dict(zip(FEET, map(float, shares))),
            contacts=list(self.contacts),
        )

    @cached_property
    def _foot_masks(self) -> list[np.ndarray]:
        feet = self.feet if self.kind == "standing" else [c.placed for c in self.contacts]
        masks = [np.zeros((self.info.rows, self.info.cols), dtype=bool) for _ in FEET]
        for foot in feet:
            u, m = foot.foot_coordinates(self._grid_x, self._grid_y)
            masks[FEET.index(foot.side)] |= self.shape.relative_pressure(u, m) > 0
        return masks


class SimMat(MatDriver):
    """The simulator as a frame source, paced at ``speed`` times real time (0: as fast as possible)."""

    def __init__(self, url: DriverURL):
        super().__init__()
        self.url = url.text
        params = url.take(OPTIONS)
        try:
            self.session = SimSession(url.path.strip("/"), params)
        except ValueError as error:
            raise DriverError(f"{url.text}: {error}") from None
        self.info = self.session.info
        self.pacer = Pacer(params["speed"])
        self._next = 0
        self._block_start = 0
        self._block = np.zeros((0, self.info.rows, self.info.cols), dtype=np.uint16)

    def _read_frame(self, timeout: float | None) -> Frame | None:
        n = self.session.n_frames
        if n is not None and self._next >= n:
            raise EndOfStream
        if self._next >= self._block_start + len(self._block):
            self._block_start = self._next
            stop = self._next + BLOCK if n is None else min(self._next + BLOCK, n)
            self._block = self.session.render_counts(self._next, stop)
        device_time = self._next / self.info.rate_hz
        if not self.pacer.wait_for(device_time, timeout):
            return None
        cells = self._block[self._next - self._block_start]
        frame = Frame(cells, self._next, device_time, time.time())
        self._next += 1
        return frame

    def load(self, max_frames: int | None = None) -> Recording:
        """The whole (finite) session at once, without pacing."""
        n = self.session.n_frames
        if n is None and max_frames is None:
            raise DriverError(f"{self.url} is endless; give ?duration= or a frame limit")
        stop = n if max_frames is None else (max_frames if n is None else min(n, max_frames))
        cells = self.session.render_counts(self._next, stop) if stop > self._next else np.zeros(
            (0, self.info.rows, self.info.cols), np.uint16)
        counter = np.arange(self._next, stop, dtype=np.int64)
        self.counters.received += len(counter)
        self._next = stop
        time_s = (counter - (counter[0] if len(counter) else 0)) / self.info.rate_hz
        return Recording(cells, counter, time_s, self.info, self.counters, self.url)


def simulate(url: str) -> tuple[Recording, GroundTruth]:
    """A finite simulated session and its ground truth, for tests and fixtures."""
    parsed = parse_url(url)
    if parsed.scheme != "sim":
        raise DriverError(f"{url} is not a sim:// URL")
    with SimMat(parsed) as mat:
        recording = mat.load()
        return recording, mat.session.ground_truth(recording.n_frames)
