"""``sim://`` sessions: a pressure mat (or a pair of insoles) with known ground truth.

Kinds: ``standing`` (quiet standing on both feet), ``walking`` (a pass over a long mat),
``step`` (one footstep on a plate), ``standwalk`` (standing, then walking off), ``inplace``
(stepping on the same two spots) and ``insoles`` (two in-shoe insoles on one grid, with the
drifting baseline and short spikes real insoles show).

Frames are uint16 counts of 0.1 kPa sampled at cell centres, with Gaussian noise on every cell.
The ground truth (per-foot force and centre of pressure from the noiseless frames, the arch index
of the continuous print, load shares and foot contacts) is what the analysis must recover.
Frames are rendered in aligned blocks seeded by (seed, block), so any way of reading them gives
the same session.

Times inside a session are session times; ``start=`` drops the session's first seconds, so the
recording (and its ground truth) begins ``start`` seconds in.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from drivers.base import DriverError, EndOfStream, Frame, MatDriver, MatInfo, Pacer
from drivers.foot_model import HEELS, TOE_GAP_MM, TOES, PlacedFoot, shape_for_arch, unit
from drivers.recording import Recording
from drivers.url import DriverURL, choice, non_negative, parse_url, positive

SCALE_KPA = 0.1
SENSOR_FLOOR_KPA = 7.0  # like a real sensing cell, the simulated one reads nothing below this
BLOCK = 256
FEET = ("left", "right")
DIRECTIONS = {"+y": 90.0, "-y": 270.0, "+x": 0.0, "-x": 180.0}
KINDS = ("standing", "walking", "step", "standwalk", "inplace", "insoles")


@dataclass(frozen=True)
class Gait:
    """Distance between successive contacts (mm) and their timing (s); right foot first."""

    step_length_mm: float
    step_time_s: float
    stance_s: float

    @property
    def swing_s(self) -> float:
        return 2 * self.step_time_s - self.stance_s


WALK = Gait(600.0, 0.545, 0.65)
IN_PLACE = Gait(0.0, 0.5, 0.6)
IN_SHOES = Gait(0.0, 0.55, 0.65)
FIRST_CONTACT_S = 0.3
FIRST_STEP_MM = 300.0  # walking off from standing: the first step is half a walking step
FOOT_ML_SWAY_MM = (1.6, 0.4)  # quiet standing: each foot's own ML COP sway, slow and faster part (mm)
WEIGHT_SHIFT_S = 0.3  # before lifting a foot to walk off, the weight moves onto the other
# ...and before that the foot about to swing takes more of it (gait initiation's anticipatory
# adjustment; in the real Moticon export 51 -> 60 % over half a second, pedar 40 -> 46 %).
ANTICIPATION_S, ANTICIPATION_SHARE = 0.5, 0.08
STEP_CONTACT = (0.1, 0.7, 0.2)  # sim://step: contact starts, lasts, and the recording goes on after it (s)
INSOLE_PITCH_MM = 8.6  # a 31 x 11 insole for a 250 mm foot, like the XSENSOR export


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


def _toe_gap(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 40.0:
        raise ValueError("expected a gap between forefoot and toes of 0 to 40 mm")
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
    "start": (non_negative(float), 0.0),
    "toes": (choice(*TOES), "apart"),
    "toe_gap": (_toe_gap, TOE_GAP_MM),
    "heel": (choice(*HEELS), "joined"),
}
# What each kind leaves out of OPTIONS (it would mean nothing there) and adds to it.
NOT_FOR_KIND = {
    "standing": (), "walking": (),
    "step": ("facing", "stance", "imbalance", "blob"),
    "standwalk": ("facing", "blob"),
    "inplace": ("direction", "blob"),
    "insoles": ("rows", "cols", "angle", "facing", "direction", "stance", "blob", "stuck"),
}
KIND_OPTIONS = {
    "step": {"side": (choice(*FEET), "right"), "shift": (float, 0.0)},
    "standwalk": {"stand": (positive(float), 3.0)},
    "inplace": {"steps": (positive(int), 6)},
    "insoles": {"steps": (positive(int), 8), "baseline": (non_negative(float), 3.0),
                "spikes": (choice("0", "1"), "1"), "pitch": (positive(float), INSOLE_PITCH_MM)},
}


def options_for(kind: str) -> dict:
    """The URL options ``sim://kind`` accepts, with their defaults."""
    if kind not in KINDS:
        raise DriverError(f"unknown simulation sim://{kind}; known: {', '.join(f'sim://{k}' for k in KINDS)}")
    kept = {name: spec for name, spec in OPTIONS.items() if name not in NOT_FOR_KIND[kind]}
    return {**kept, **KIND_OPTIONS.get(kind, {})}


@dataclass
class Contact:
    """One foot contact: a step, or a foot standing.

    Times are recording times, cut to the recording; ``complete`` is False for a contact cut by
    the recording's start or end or by the mat's edge. ``direction`` is heel to toe for a step and
    the facing direction for a standing foot. ``placed`` is None for insoles (no place on a mat).
    """

    foot: str
    start_s: float
    end_s: float
    placed: PlacedFoot | None
    complete: bool = True
    direction: str = "+y"
    kind: str = "step"  # or "standing"


@dataclass
class Spike:
    """A short burst on a few cells of an insole while its foot is in the air: not a contact."""

    foot: str
    start_s: float
    end_s: float


@dataclass
class GroundTruth:
    """Everything the simulator used, in the units of the results file."""

    force_n: np.ndarray  # (time, foot)
    cop_x_mm: np.ndarray  # (time, foot), NaN while unloaded
    cop_y_mm: np.ndarray
    arch_index: dict[str, float]
    load_share: dict[str, float]
    contacts: list[Contact] = field(default_factory=list)
    spikes: list[Spike] = field(default_factory=list)


def _fade(t: np.ndarray, end_s: float, length_s: float) -> np.ndarray:
    """1 until ``length_s`` before ``end_s``, then a half cosine down to 0 at ``end_s``."""
    progress = np.clip((t - (end_s - length_s)) / length_s, 0.0, 1.0)
    return 0.5 * (1 + np.cos(np.pi * progress))


class SimSession:
    """A simulated session rendered on demand."""

    def __init__(self, kind: str, params: dict):
        if kind not in KINDS:
            raise DriverError(f"unknown simulation sim://{kind}; known: {', '.join(f'sim://{k}' for k in KINDS)}")
        self.kind = kind
        self.params = params
        self.seed = params["seed"]
        self.shape = shape_for_arch(params["arch"], params["foot"], toes=params["toes"],
                                    toe_gap_mm=params["toe_gap"], heel=params["heel"])
        pitch = params["pitch"]
        if kind == "insoles":
            rows, cols, foot_map, self._insole_feet = self._insole_layout()
        else:
            rows, cols = self._mat_size()
            foot_map = None
        self.info = MatInfo(
            rows=rows, cols=cols, pitch_x_mm=pitch, pitch_y_mm=pitch, rate_hz=params["rate"],
            device=f"simulator ({kind})", dtype=np.uint16, scale_kpa=SCALE_KPA, foot_map=foot_map,
        )
        self.x_mm = np.arange(cols) * pitch
        self.y_mm = np.arange(rows) * pitch
        self._grid_x, self._grid_y = np.meshgrid(self.x_mm, self.y_mm)
        self.cell_area_m2 = pitch * pitch * 1e-6
        rng = np.random.default_rng([self.seed, 7])
        self._sway_phases = rng.uniform(0, 2 * np.pi, size=6)
        # Each standing foot's own medio-lateral sway (inversion/eversion): its own stream, so
        # nothing drawn before changes.
        self._foot_ml_phases = np.random.default_rng([self.seed, 14]).uniform(0, 2 * np.pi, size=4)
        self.contacts: list[Contact] = []  # in session time, standing feet first
        self.standing_feet: list[PlacedFoot] = []
        getattr(self, f"_place_{kind}")()
        self._standing_shapes = [self._unit_shapes(foot) for foot in self.standing_feet]
        self._steps = [c for c in self.contacts if c.kind == "step"]
        self._walk_maps = [self._walk_maps_for(c.placed) for c in self._steps]
        default_duration = 10.0 if kind == "standing" else (
            self.contacts[-1].end_s + (STEP_CONTACT[2] if kind == "step" else 0.3))
        if params["duration"] is not None:
            duration = params["duration"]
        elif params["start"] >= default_duration:
            raise ValueError(f"start={params['start']:g} s is past the session's end ({default_duration:g} s)")
        else:
            duration = default_duration - params["start"]
        self.n_frames = None if duration == 0 else int(round(duration * self.info.rate_hz))

    # -- mat and placement -------------------------------------------------------------------
    def _mat_size(self) -> tuple[int, int]:
        """Rows and cols: the URL's, else a mat that suits the kind, long side along the walk."""
        long_side, short_side = {"walking": (320, 64), "standwalk": (400, 64), "step": (64, 48)}.get(
            self.kind, (64, 64))
        along_x = self.kind in ("walking", "standwalk", "step") and self.params["direction"] in ("+x", "-x")
        rows = self.params["rows"] or (short_side if along_x else long_side)
        cols = self.params["cols"] or (long_side if along_x else short_side)
        return rows, cols

    def _width(self) -> tuple[float, float]:
        return self.x_mm[-1], self.y_mm[-1]

    def _foot_total(self) -> float:
        """Length the placement allows for one foot, toes included."""
        return self.shape.print_length_mm + 45 * self.shape.k

    def _standing_pair(self, facing: float, centre: np.ndarray) -> list[PlacedFoot]:
        """Left and right foot side by side, ``stance`` apart, their middle at ``centre``."""
        ax, ay = unit(facing)
        lx, ly = -ay, ax  # towards the person's left
        total = self._foot_total()
        feet = []
        for side, sign in (("left", 1.0), ("right", -1.0)):
            # Toe-out turns each foot about its middle, so the pair stays centred.
            axis = unit(facing + sign * self.params["angle"])
            middle = centre + sign * 0.5 * self.params["stance"] * np.array([lx, ly]) * self.shape.k
            heel = middle - np.array(axis) * total / 2
            feet.append(PlacedFoot(self.shape, tuple(heel), axis, side))
        return feet

    def _stand(self, feet: list[PlacedFoot], direction: str, ends: dict[str, float] | None = None) -> None:
        """The feet stand from before the recording until ``ends`` (all session when not given)."""
        self._check_on_mat(feet)
        self.standing_feet = feet
        for foot in feet:
            end = (ends or {}).get(foot.side, math.inf)
            self.contacts.append(Contact(foot.side, -math.inf, end, foot, False, direction, "standing"))

    def _place_standing(self) -> None:
        width, height = self._width()
        feet = self._standing_pair(DIRECTIONS[self.params["facing"]], np.array([width / 2, height / 2]))
        self._stand(feet, self.params["facing"])

    def _walking_steps(self, start: np.ndarray, room_mm: float, first_s: float) -> list[Contact]:
        """Alternating steps, right first, from heel point ``start`` as many as fit in ``room_mm``."""
        name = self.params["direction"]
        direction = DIRECTIONS[name]
        ax, ay = unit(direction)
        lx, ly = -ay, ax
        step_length, step_time, stance = WALK.step_length_mm, WALK.step_time_s, WALK.stance_s
        foot_total = self._foot_total()
        contacts = []
        k = 0
        while (k * step_length + foot_total) <= room_mm:
            side = "right" if k % 2 == 0 else "left"
            sign = 1.0 if side == "left" else -1.0
            heel = start + np.array([ax, ay]) * k * step_length + sign * 50.0 * np.array([lx, ly])
            axis = unit(direction + sign * self.params["angle"])
            placed = PlacedFoot(self.shape, tuple(heel), axis, side)
            t0 = first_s + k * step_time
            contacts.append(Contact(side, t0, t0 + stance, placed, direction=name))
            k += 1
        if not contacts:
            raise DriverError("the mat is too short for a single step; give more rows or cols")
        self._check_on_mat([c.placed for c in contacts])
        return contacts

    def _along(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Mat centre, walking axis and the mat's length along it."""
        ax, ay = unit(DIRECTIONS[self.params["direction"]])
        width, height = self._width()
        return np.array([width / 2, height / 2]), np.array([ax, ay]), width if abs(ax) > 0.5 else height

    def _place_walking(self) -> None:
        centre, axis, along_length = self._along()
        start = centre - axis * (along_length / 2 - 60.0)
        self.contacts = self._walking_steps(start, along_length - 60.0, FIRST_CONTACT_S)

    def _place_standwalk(self) -> None:
        """Standing near the mat's start, then the right foot steps off, and the walk goes on."""
        centre, axis, along_length = self._along()
        total = self._foot_total()
        rear = centre - axis * along_length / 2
        feet = self._standing_pair(DIRECTIONS[self.params["direction"]], rear + axis * (60.0 + total / 2))
        lift_s = self.params["stand"]
        first_s = lift_s + WALK.swing_s
        steps = self._walking_steps(rear + axis * (60.0 + FIRST_STEP_MM), along_length - 60.0 - FIRST_STEP_MM, first_s)
        # The left foot stays until the right has landed and double support is over.
        ends = {"right": lift_s, "left": first_s + WALK.stance_s - WALK.step_time_s}
        self._stand(feet, self.params["direction"], ends)
        self.contacts += steps

    def _alternating_on(self, feet: list[PlacedFoot], gait: Gait, direction: str) -> None:
        """``steps`` contacts, right first, each foot back on its own place every time."""
        for k in range(self.params["steps"]):
            placed = feet[1] if k % 2 == 0 else feet[0]
            t0 = FIRST_CONTACT_S + k * gait.step_time_s
            self.contacts.append(Contact(placed.side, t0, t0 + gait.stance_s, placed, direction=direction))

    def _place_inplace(self) -> None:
        width, height = self._width()
        feet = self._standing_pair(DIRECTIONS[self.params["facing"]], np.array([width / 2, height / 2]))
        self._check_on_mat(feet)
        self._alternating_on(feet, IN_PLACE, self.params["facing"])

    def _place_step(self) -> None:
        """One footstep, its print centred on the plate, or moved sideways by ``shift``."""
        name, side = self.params["direction"], self.params["side"]
        direction = DIRECTIONS[name]
        ax, ay = unit(direction)
        axis = unit(direction + (1.0 if side == "left" else -1.0) * self.params["angle"])
        x, y = PlacedFoot(self.shape, (0.0, 0.0), axis, side).outline_points()
        width, height = self._width()
        heel = np.array([(width - x.min() - x.max()) / 2, (height - y.min() - y.max()) / 2])
        heel += self.params["shift"] * np.array([-ay, ax])  # positive: towards the walker's left
        placed = PlacedFoot(self.shape, tuple(heel), axis, side)
        if self.params["shift"] == 0:
            self._check_on_mat([placed])
        elif not (self._on_grid(placed) > 0).any():
            raise DriverError("shift= moves the whole print off the mat")
        start, stance, _ = STEP_CONTACT
        # A print partly off the mat is a contact cut by the mat's edge.
        self.contacts = [Contact(side, start, start + stance, placed, self._fits([placed]), name)]

    def _insole_layout(self) -> tuple[int, int, np.ndarray, list[PlacedFoot]]:
        """Two insoles side by side, a column without sensors between them, feet facing +y:
        rows, cols, foot map (0 left, 1 right, -1 no sensor) and each foot in its insole.

        The insole outline fits the foot, so its rows and cols follow from foot length and pitch.
        """
        pitch, shape = self.params["pitch"], self.shape
        k = shape.k
        u, m = np.meshgrid(np.arange(-10 * k, shape.reach_mm + 10 * k, 0.5), np.arange(-70 * k, 70 * k, 0.5))
        inside = shape.insole_mask(u, m)
        u_low, u_high, m_low, m_high = u[inside].min(), u[inside].max(), m[inside].min(), m[inside].max()
        rows = int(np.ceil((u_high - u_low) / pitch))
        per_insole = int(np.ceil((m_high - m_low) / pitch))
        cols = 2 * per_insole + 1
        heel_y = ((rows - 1) * pitch - u_low - u_high) / 2
        grid_x, grid_y = np.meshgrid(np.arange(cols) * pitch, np.arange(rows) * pitch)
        foot_map = np.full((rows, cols), -1, np.int8)
        feet = []
        for index, side in enumerate(FEET):
            first_col = index * (per_insole + 1)
            # The left foot's medial side (+m) points to +x, the right foot's to -x.
            sign = 1.0 if side == "left" else -1.0
            heel_x = first_col * pitch + ((per_insole - 1) * pitch - sign * (m_low + m_high)) / 2
            placed = PlacedFoot(shape, (heel_x, heel_y), (0.0, 1.0), side)
            fu, fm = placed.foot_coordinates(grid_x, grid_y)
            own = np.zeros((rows, cols), dtype=bool)
            own[:, first_col: first_col + per_insole] = True
            foot_map[own & shape.insole_mask(fu, fm)] = index
            feet.append(placed)
        return rows, cols, foot_map, feet

    def _place_insoles(self) -> None:
        self._alternating_on(self._insole_feet, IN_SHOES, "+y")

    def _on_grid(self, foot: PlacedFoot) -> np.ndarray:
        u, m = foot.foot_coordinates(self._grid_x, self._grid_y)
        return self.shape.relative_pressure(u, m)

    def _fits(self, feet) -> bool:
        half = 0.5 * self.params["pitch"]
        for foot in feet:
            x, y = foot.outline_points()
            if x.min() < -half or y.min() < -half or x.max() > self.x_mm[-1] + half or y.max() > self.y_mm[-1] + half:
                return False
        return True

    def _check_on_mat(self, feet) -> None:
        if not self._fits(feet):
            raise DriverError("the feet do not fit on the mat; give more rows or cols")

    def _unit_shapes(self, foot: PlacedFoot):
        """Pressure per newton of foot force, the same tilted heel-to-toe (for AP sway) and the
        same tilted across the foot (for the foot's own ML sway), on the foot's cells only.

        Both tilts carry no force. ``across`` is scaled so that adding ``d * across`` to the base
        moves the foot's centre of pressure by ``d`` mm medially (before the sensor floor)."""
        u, m = foot.foot_coordinates(self._grid_x, self._grid_y)
        base = self.shape.relative_pressure(u, m)
        base_force = base.sum() * self.cell_area_m2 * 1000.0
        base = base / base_force
        centre = (base * u).sum() / base.sum()
        tilt = base * (u - centre) / self.shape.print_length_mm
        centre_m = (base * m).sum() / base.sum()
        spread_m = (base * (m - centre_m) ** 2).sum() / base.sum()
        across = base * (m - centre_m) / spread_m
        cells = np.flatnonzero(base > 0)
        return cells, base.ravel()[cells], tilt.ravel()[cells], across.ravel()[cells]

    def _walk_maps_for(self, foot: PlacedFoot):
        u, m = foot.foot_coordinates(self._grid_x, self._grid_y)
        base = self.shape.relative_pressure(u, m)
        loaded = base > 0
        if self.info.foot_map is not None:
            loaded &= self.info.foot_map == FEET.index(foot.side)  # an insole senses only inside its outline
        return u[loaded], base[loaded], np.flatnonzero(loaded)

    # -- rendering ---------------------------------------------------------------------------
    def _times(self, start: int, stop: int) -> np.ndarray:
        """Session times of frames [start, stop)."""
        return np.arange(start, stop) / self.info.rate_hz + self.params["start"]

    def render_kpa(self, start: int, stop: int) -> np.ndarray:
        """Noiseless kPa frames [start, stop)."""
        t = self._times(start, stop)
        frames = np.zeros((len(t), self.info.rows, self.info.cols))
        flat = frames.reshape(len(t), -1)
        if self.standing_feet:
            self._add_standing(flat, t)
        for contact, maps in zip(self._steps, self._walk_maps):
            self._add_step(flat, t, contact, maps)
        if self.params.get("blob") == "1":
            frames += self._blob[None]
        frames[frames < SENSOR_FLOOR_KPA] = 0.0
        return frames

    def _standing_shares(self, t: np.ndarray) -> list[np.ndarray]:
        """Each standing foot's share of the body weight: the ``imbalance`` split, swaying..."""
        share_right = 0.5 * (1 + self.params["imbalance"])
        ph = self._sway_phases
        ml = 0.02 * np.sin(2 * np.pi * 0.21 * t + ph[0]) + 0.01 * np.sin(2 * np.pi * 0.53 * t + ph[1])
        shares = [1 - share_right - ml, share_right + ml]
        ends = {c.foot: c.end_s for c in self.contacts if c.kind == "standing"}
        if math.isfinite(ends["right"]):
            # ...and when walking off, the right foot first takes more weight, then the weight
            # moves onto the left foot before the right lifts, and off the left while the right
            # lands (double support).
            ahead = np.clip((t - (ends["right"] - WEIGHT_SHIFT_S - ANTICIPATION_S)) / ANTICIPATION_S, 0.0, 1.0)
            right = (shares[1] + ANTICIPATION_SHARE * np.sin(np.pi * ahead)) * _fade(t, ends["right"], WEIGHT_SHIFT_S)
            landed = self._steps[0].start_s
            shares = [(1 - right) * _fade(t, ends["left"], ends["left"] - landed), right]
        return shares

    def _add_standing(self, flat: np.ndarray, t: np.ndarray) -> None:
        """Standing feet: the body's ML sway moves load between the feet (``_standing_shares``);
        under each foot the load rocks heel to toe (AP tilt) and, in quiet standing, across the
        foot too (inversion/eversion: a few mm of the foot's own ML sway, so each foot's COP
        covers an area, not a line). ``standwalk`` keeps the AP tilt only."""
        ph, ph_ml = self._sway_phases, self._foot_ml_phases
        for index, ((cells, base, tilt, across), share) in enumerate(
                zip(self._standing_shapes, self._standing_shares(t))):
            ap = 0.25 * np.sin(2 * np.pi * (0.17 + 0.05 * index) * t + ph[2 + index]) + 0.05 * np.sin(
                2 * np.pi * 0.9 * t + ph[4 + index])
            f = self.params["weight"] * share
            standing = np.flatnonzero(f != 0)  # a foot that has walked off adds nothing
            unit_pressure = base[None] + ap[:, None] * tilt[None]
            if self.kind == "standing":
                ml_mm = FOOT_ML_SWAY_MM[0] * np.sin(2 * np.pi * (0.29 + 0.06 * index) * t + ph_ml[index]) + (
                    FOOT_ML_SWAY_MM[1] * np.sin(2 * np.pi * (0.67 + 0.08 * index) * t + ph_ml[2 + index]))
                unit_pressure = unit_pressure + ml_mm[:, None] * across[None]
            flat[np.ix_(standing, cells)] += (f[:, None] * unit_pressure)[standing]

    def _add_step(self, flat: np.ndarray, t: np.ndarray, contact: Contact, maps) -> None:
        """One contact's heel-to-toe roll-over: force rises and falls, its centre runs to the toes."""
        u, base, cells = maps
        phase = (t - contact.start_s) / (contact.end_s - contact.start_s)
        active = (phase > 0) & (phase < 1)
        if not active.any():
            return
        phi = phase[active]
        imbalance = self.params.get("imbalance", 0.0)
        side_gain = 1 + imbalance if contact.foot == "right" else 1 - imbalance
        f = self.params["weight"] * side_gain * (0.9 * np.sin(np.pi * phi) + 0.25 * np.sin(3 * np.pi * phi))
        toes_u = self.shape.print_length_mm + 30 * self.shape.k
        centre = 15 * self.shape.k + (toes_u - 15 * self.shape.k) * phi / 0.9
        weight = base[None] * np.exp(-0.5 * ((u[None] - centre[:, None]) / (55 * self.shape.k)) ** 2)
        weight /= weight.sum(axis=1, keepdims=True) * self.cell_area_m2 * 1000.0
        flat[np.ix_(np.flatnonzero(active), cells)] += f[:, None] * weight

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
        cells = rng.choice(self.info.rows * self.info.cols, size=self.params.get("stuck", 0), replace=False)
        return cells, rng.integers(500, 3000, size=len(cells)).astype(np.uint16)

    # -- insole artefacts: functions of session time, so every block agrees ----------------
    @cached_property
    def _baseline_model(self):
        """Per insole: mean offset (kPa), drift amplitude, period and phase; per cell: a factor."""
        rng = np.random.default_rng([self.seed, 12])
        level = self.params["baseline"] * rng.uniform(0.6, 1.0, size=2)
        period = rng.uniform(20.0, 40.0, size=2)
        phase = rng.uniform(0, 2 * np.pi, size=2)
        factor = np.clip(1 + 0.3 * rng.standard_normal((self.info.rows, self.info.cols)), 0.3, None)
        return level, period, phase, factor

    @cached_property
    def _spike_schedule(self) -> list[tuple[Spike, np.ndarray, float]]:
        """About half the swing phases (at least one) hold a spike: (spike, its cells, kPa)."""
        if self.params["spikes"] == "0":
            return []
        rng = np.random.default_rng([self.seed, 13])
        swings = [(a.foot, a.end_s, b.start_s) for a, b in self._successive_contacts()]
        chosen = sorted(rng.choice(len(swings), size=max(1, len(swings) // 2), replace=False)) if swings else []
        schedule = []
        for index in chosen:
            foot, lifted, landed = swings[index]
            length = max(rng.uniform(0.01, 0.06), 1.0 / self.info.rate_hz)
            start = rng.uniform(lifted + 0.1, landed - 0.1 - length)
            sensors = np.flatnonzero(self.info.foot_map.ravel() == FEET.index(foot))
            centre = rng.choice(sensors)
            row, col = divmod(int(centre), self.info.cols)
            radius = int(rng.integers(0, 2))
            near = np.zeros((self.info.rows, self.info.cols), dtype=bool)
            near[max(row - radius, 0): row + radius + 1, max(col - radius, 0): col + radius + 1] = True
            cells = np.flatnonzero(near.ravel() & (self.info.foot_map.ravel() == FEET.index(foot)))
            schedule.append((Spike(foot, start, start + length), cells, rng.uniform(60.0, 250.0)))
        return schedule

    def _successive_contacts(self):
        """Pairs of one foot's successive contacts: the swing phases."""
        for foot in FEET:
            own = [c for c in self._steps if c.foot == foot]
            yield from zip(own, own[1:])

    def _insole_artefacts_kpa(self, t: np.ndarray) -> np.ndarray:
        """Drifting offset on every sensor of each insole, and the spikes."""
        level, period, phase, factor = self._baseline_model
        artefacts = np.zeros((len(t), self.info.rows, self.info.cols))
        for index in range(2):
            offset = level[index] * (1 + 0.25 * np.sin(2 * np.pi * t / period[index] + phase[index]))
            artefacts += offset[:, None, None] * np.where(self.info.foot_map == index, factor, 0.0)[None]
        flat = artefacts.reshape(len(t), -1)
        for spike, cells, kpa in self._spike_schedule:
            during = np.flatnonzero((t >= spike.start_s) & (t < spike.end_s))
            flat[np.ix_(during, cells)] += kpa
        return artefacts

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
            if self.kind == "insoles":
                kpa = kpa + self._insole_artefacts_kpa(self._times(b0, b1))
            if self.params["noise"] > 0:
                noise = rng.normal(0.0, self.params["noise"], size=kpa.shape)
                if self.info.foot_map is not None:
                    noise *= self.info.foot_map >= 0  # no sensor there, nothing to be noisy
                kpa = kpa + noise
            counts = np.clip(np.rint(kpa / SCALE_KPA), 0, np.iinfo(np.uint16).max).astype(np.uint16)
            stuck, values = self._stuck_cells
            counts.reshape(len(counts), -1)[:, stuck] = values
            blocks.append(counts)
        frames = np.concatenate(blocks)
        return frames[start - first * BLOCK: stop - first * BLOCK]

    # -- ground truth ------------------------------------------------------------------------
    def ground_truth(self, n_frames: int | None = None) -> GroundTruth:
        n = n_frames if n_frames is not None else self.n_frames
        if n is None:
            raise DriverError("an endless simulation has no finite ground truth; give duration")
        force = np.zeros((n, 2))
        cop = {"x": np.full((n, 2), np.nan), "y": np.full((n, 2), np.nan)}
        for b0 in range(0, n, BLOCK):  # a block at a time: long sessions on big mats stay small in memory
            frames = slice(b0, min(b0 + BLOCK, n))
            kpa = self.render_kpa(frames.start, frames.stop)
            for index, mask in enumerate(self._foot_masks):
                per_foot = kpa * mask[None]
                total = per_foot.sum(axis=(1, 2))
                force[frames, index] = total * self.cell_area_m2 * 1000.0
                loaded = total > 0
                for axis, grid in (("x", self._grid_x), ("y", self._grid_y)):
                    cop[axis][frames][loaded, index] = (per_foot * grid[None]).sum(axis=(1, 2))[loaded] / total[loaded]
        impulse = force.sum(axis=0)
        shares = impulse / impulse.sum()
        recorded = (self._recorded(contact, n) for contact in self.contacts)
        spikes = (self._recorded(spike, n) for spike, _, _ in self._spike_schedule) if self.kind == "insoles" else ()
        return GroundTruth(
            force_n=force, cop_x_mm=cop["x"], cop_y_mm=cop["y"],
            arch_index={side: self.shape.arch_index for side in FEET},
            load_share=dict(zip(FEET, map(float, shares))),
            contacts=[c for c in recorded if c is not None],
            spikes=[s for s in spikes if s is not None],
        )

    def _recorded(self, event, n: int):
        """``event`` (a Contact or Spike) in recording time, cut to frames [0, n); None if unseen.

        An event loads the frames strictly between its start and end, so it is cut by the
        recording's start when it began before frame 0, and by its end when it lasts past the last.
        """
        last = (n - 1) / self.info.rate_hz
        start, end = event.start_s - self.params["start"], event.end_s - self.params["start"]
        if end <= 0 or start >= last:
            return None
        changes = {"start_s": max(start, 0.0), "end_s": min(end, last)}
        if isinstance(event, Contact):
            changes["complete"] = event.complete and 0 <= start and end <= last
            if self.kind == "insoles":
                changes["placed"] = None
        return dataclasses.replace(event, **changes)

    @cached_property
    def _foot_masks(self) -> list[np.ndarray]:
        if self.info.foot_map is not None:
            return [self.info.foot_map == index for index in range(len(FEET))]
        masks = [np.zeros((self.info.rows, self.info.cols), dtype=bool) for _ in FEET]
        for foot in {id(c.placed): c.placed for c in self.contacts}.values():
            masks[FEET.index(foot.side)] |= self._on_grid(foot) > 0
        return masks


class SimMat(MatDriver):
    """The simulator as a frame source, paced at ``speed`` times real time (0: as fast as possible)."""

    def __init__(self, url: DriverURL):
        super().__init__()
        self.url = url.text
        kind = url.path.strip("/")
        params = url.take(options_for(kind))
        try:
            self.session = SimSession(kind, params)
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
