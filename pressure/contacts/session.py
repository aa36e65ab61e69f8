"""Per contact: a walking step or standing, complete or cut, left or right; per session: what the
person did and which way.

A step is a contact whose centre of pressure rolls from heel to toe within a few seconds; a
standing contact stays, or is cut by both ends of the recording. A contact is cut when the
recording starts or ends while it carries a good share of its load, or when it touches the mat's
edge; cut contacts stay in the per-frame series but are left out of stance times, arch index and
gait statistics.

Sides: standing feet loaded together are told apart across the way the person faces (from the
prints' heading; ``--facing`` only when the prints do not say), steps by the line of
progression, and a lone contact by its shape.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from pressure.contacts.geometry import Grid, extent
from pressure.contacts.orientation import (
    Heading,
    left_of,
    side_from_shape,
    sides_from_progression,
)
from pressure.contacts.tracking import RawContact

FEET = ("left", "right")
DIRECTIONS = {"+x": (1.0, 0.0), "-x": (-1.0, 0.0), "+y": (0.0, 1.0), "-y": (0.0, -1.0)}
DEFAULT_FACING = "+y"  # DESIGN.md section 2: toes towards higher rows, the left foot at smaller x
ACTIVITIES = ("standing", "walking", "mixed")  # mixed: standing and walking in one session
CUT_FRACTION = 0.2  # a contact carrying over a fifth of its peak force at a recording's end is cut
MAX_STEP_S = 2.5  # even a slow walker's stance is shorter
MIN_ROLL = 0.3  # a step's COP travels at least this share of the print's length, heel to toe
ROLL_FRAMES = 0.1  # the COP's start and end are its mean over the first and last tenth of the contact
MIN_FACING_CLARITY = 0.08
MIN_JUDGED_S = 0.35  # a contact seen for less than half a stance shows too little of its roll
MIN_SIDE_OFFSET_MM = 30.0  # feet closer than this across the walk are told apart by their shape
MIN_ADVANCE_MM = 150.0  # steps that move on at least this much show the way of the walk
# Both feet loaded together for longer than this is standing: a step's double support lasts
# 0.1-0.5 s, even in a slow walk.
MAX_DOUBLE_SUPPORT_S = 1.0


@dataclass
class FootContact:
    """One foot on the mat from frame ``first`` to ``last``; ``index`` is its slot in the series."""

    index: int
    raw: RawContact
    parts: list[RawContact]
    heading: Heading
    foot: str = ""
    kind: str = ""  # "step" or "standing"
    cut_start: bool = False
    cut_end: bool = False
    cut_edge: bool = False

    @property
    def first(self) -> int:
        return self.raw.first

    @property
    def last(self) -> int:
        return self.raw.last

    @property
    def complete(self) -> bool:
        return not (self.cut_start or self.cut_end or self.cut_edge)

    @property
    def print_whole(self) -> bool:
        """The whole print was seen: not cut by the edge, and a step not cut in time (a
        standing print is whole even when the recording starts or ends while it stands)."""
        return not self.cut_edge and (self.kind == "standing" or self.complete)


def cut_by_recording(first_force: float, last_force: float, highest: float, first: int, last: int,
                     n_frames: int) -> tuple[bool, bool]:
    """Whether the recording's first or last frame falls inside the contact while it carries
    more than CUT_FRACTION of its highest force; the forces are the contact's on its first
    frame (``first``), its last (``last``) and its highest."""
    return (first == 0 and first_force > CUT_FRACTION * highest,
            last == n_frames - 1 and last_force > CUT_FRACTION * highest)


def roll(cop_x: np.ndarray, cop_y: np.ndarray, axis: np.ndarray, length_mm: float) -> float:
    """How far the COP travels along ``axis`` over a contact, as a share of the print's length."""
    valid = np.flatnonzero(np.isfinite(cop_x) & np.isfinite(cop_y))
    if len(valid) < 4 or length_mm <= 0:
        return 0.0
    k = max(1, int(ROLL_FRAMES * len(valid)))
    xy = np.column_stack([cop_x[valid], cop_y[valid]])
    return float((xy[-k:].mean(axis=0) - xy[:k].mean(axis=0)) @ axis / length_mm)


def kind_of(contact: FootContact, cop_x: np.ndarray, cop_y: np.ndarray, rate_hz: float, grid: Grid | None) -> str:
    """Step or standing; ``cop_x``, ``cop_y`` are the contact's own, over its frames."""
    if (contact.last - contact.first + 1) / rate_hz > MAX_STEP_S or (contact.cut_start and contact.cut_end):
        return "standing"
    if grid is None:  # an insole: no floor positions, its duration decides
        return "step"
    length = extent(grid.xy(contact.raw.cells), grid).length_mm
    return "step" if roll(cop_x, cop_y, contact.heading.axis, length) >= MIN_ROLL else "standing"


def settle_cut_kinds(contacts: list[FootContact], rate_hz: float) -> None:
    """A contact cut by one end of the recording and seen too briefly to show its roll takes the
    kind of the nearest contact the recording does not cut, when that one is a step (the last
    step of a walk that the recording ends early stays a step; a standing foot stays standing)."""
    whole = [c for c in contacts if not (c.cut_start or c.cut_end)]
    for contact in contacts:
        brief = (contact.last - contact.first + 1) / rate_hz <= MIN_JUDGED_S
        if whole and brief and contact.cut_start != contact.cut_end:
            nearest = min(whole, key=lambda c: min(abs(c.first - contact.last), abs(contact.first - c.last)))
            if nearest.kind == "step":
                contact.kind = "step"


def settle_double_support(contacts: list[FootContact], rate_hz: float) -> None:
    """On insoles, whose contacts show no roll on the floor (their duration alone made them
    steps): a contact during which the other foot stays loaded longer than MAX_DOUBLE_SUPPORT_S
    is standing. A recording that starts with the person standing cuts both feet's first
    contacts; the one that ended first, under 2.5 s, was taken for a step. An insole's contacts
    follow one another, so each is checked against the other foot's few it overlaps (found by
    bisection: a day of walking has tens of thousands)."""
    for foot in FEET:
        others = sorted((c for c in contacts if c.foot != foot), key=lambda c: c.first)
        firsts, lasts = [c.first for c in others], [c.last for c in others]
        for contact in contacts:
            if contact.foot != foot or contact.kind != "step":
                continue
            near = others[bisect.bisect_left(lasts, contact.first): bisect.bisect_right(firsts, contact.last)]
            if any((min(contact.last, other.last) - max(contact.first, other.first) + 1) / rate_hz
                   > MAX_DOUBLE_SUPPORT_S for other in near):
                contact.kind = "standing"


def snap(vector: np.ndarray) -> str:
    """The nearest of the four mat directions."""
    return max(DIRECTIONS, key=lambda name: float(np.dot(DIRECTIONS[name], vector)))


def activity_of(contacts: list[FootContact]) -> str:
    kinds = {contact.kind for contact in contacts}
    if kinds == {"step"}:
        return "walking"
    return "mixed" if "step" in kinds else "standing"


def align_with_progression(steps: list[FootContact], centres: np.ndarray) -> None:
    """Steps that advance show the way the person walks better than a step's loading order (a
    forefoot strike loads toes first): where a stride around a step (the steps before and after
    it, or the same foot's next or last step at a walk's ends) moves on more than MIN_ADVANCE_MM
    along the step's axis, the step's heading is turned to agree with it."""
    n = len(steps)
    for k, step in enumerate(steps):
        pair = (k - 1, k + 1) if 0 < k < n - 1 else ((k, k + 2) if k == 0 else (k - 2, k))
        if pair[0] < 0 or pair[1] >= n:
            continue
        advance = centres[pair[1]] - centres[pair[0]]
        along = advance @ step.heading.axis
        if abs(along) >= MIN_ADVANCE_MM and abs(along) >= abs(advance @ left_of(step.heading.axis)) and along < 0:
            step.heading = Heading(-step.heading.axis, "progression", step.heading.clarity)


def overlap(a: FootContact, b: FootContact) -> bool:
    return a.first <= b.last and b.first <= a.last


def facing(standing: list[FootContact], fallback: str | None) -> tuple[np.ndarray, str]:
    """Which way a standing person faces: the prints' headings when they agree clearly enough,
    else ``fallback`` (``--facing``; None: not given, DEFAULT_FACING). Returns the unit vector
    and what decided it ("--facing" only when it was given)."""
    if standing:
        summed = sum(contact.heading.axis * contact.heading.clarity for contact in standing)
        clarity = float(np.hypot(*summed)) / len(standing)
        if clarity >= MIN_FACING_CLARITY:
            source = "loading" if all(c.heading.source == "loading" for c in standing) else "shape"
            return np.array(DIRECTIONS[snap(summed)]), source
    if fallback is None:
        return np.array(DIRECTIONS[DEFAULT_FACING]), f"default {DEFAULT_FACING}"
    return np.array(DIRECTIONS[fallback]), "--facing"


def name_feet(contacts: list[FootContact], grid: Grid | None, fallback_facing: str | None) -> tuple[str, str]:
    """Sets each contact's side; returns the session's direction (facing when standing,
    progression when walking) and what decided it."""
    steps = [c for c in contacts if c.kind == "step"]
    standing = [c for c in contacts if c.kind == "standing"]
    forward, source = facing(standing, fallback_facing)
    if grid is None:
        return snap(forward), source
    centre = {c.index: grid.xy(c.raw.cells).mean(axis=0) for c in contacts}
    for contact in standing:
        # Aligned with the facing so that a print's shape is read the right way round.
        axis = contact.heading.axis if contact.heading.axis @ forward >= 0 else -contact.heading.axis
        contact.heading = Heading(axis, contact.heading.source, contact.heading.clarity)
        others = [c for c in standing if c is not contact and overlap(c, contact)]
        lateral = ((centre[contact.index] - np.mean([centre[c.index] for c in others], axis=0)) @ left_of(forward)
                   if others else 0.0)
        if abs(lateral) >= MIN_SIDE_OFFSET_MM:
            contact.foot = "left" if lateral > 0 else "right"
        else:  # alone, or one foot in front of the other (tandem stance)
            contact.foot = side_from_shape(contact.raw, axis, grid)[0]
    if steps:
        centres = np.array([centre[c.index] for c in steps])
        align_with_progression(steps, centres)
        sides = sides_from_progression(centres, np.array([c.heading.axis for c in steps]), MIN_SIDE_OFFSET_MM)
        for contact, side in zip(steps, sides):
            contact.foot = side or side_from_shape(contact.raw, contact.heading.axis, grid)[0]
        progression = sum(contact.heading.axis for contact in steps)
        return snap(progression), "loading" if all(c.heading.source == "loading" for c in steps) else "shape"
    return snap(forward), source
