"""Which way each foot contact points (heel to toe), and which foot it is.

Direction: a walking foot loads heel first, so the order in which its cells load runs heel to toe
along the print's axis. When that order says nothing (a standing print already loaded when the
recording starts, a static image), the print's shape decides: the heel end is narrower than the
forefoot end.

Side: a step lies on its own side of the line through the steps around it. A lone print, or a
standing pair whose facing is unclear, is named by its shape: the midfoot's contact lies on the
lateral side of the line from heel to forefoot (the medial arch is raised) and the hallux, which
carries more than the lesser toes, is medial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pressure.contacts.geometry import Grid, extent
from pressure.contacts.tracking import RawContact

MIN_LOADING_SPREAD_S = 0.02  # a print whose cells all loaded within 20 ms shows no loading order
MIN_LOADING_CORRELATION = 0.3
END_FRACTION = 0.3  # the heel and forefoot ends compared for width
MAX_LOADED_AT_START = 0.3  # a contact loaded this much in the recording's first frame shows no loading order


@dataclass(frozen=True)
class Heading:
    """A contact's heel-to-toe unit vector (x, y), what decided it ("loading" or "shape") and how
    clearly (0: a guess, 1: unmistakable)."""

    axis: np.ndarray
    source: str
    clarity: float


def left_of(axis: np.ndarray) -> np.ndarray:
    """The walker's left, for a person facing along ``axis``."""
    return np.array([-axis[1], axis[0]])


def heading_from_loading(contact: RawContact, grid: Grid, rate_hz: float) -> Heading | None:
    xy = grid.xy(contact.cells)
    onset = contact.onset.astype(float)
    if len(xy) < 5 or np.ptp(onset) < MIN_LOADING_SPREAD_S * rate_hz:
        return None
    axis = extent(xy, grid).axis
    s = xy @ axis
    correlation = float(np.corrcoef(s, onset)[0, 1])
    if not abs(correlation) >= MIN_LOADING_CORRELATION:
        return None
    return Heading(axis * np.sign(correlation), "loading", abs(correlation))


def heading_from_shape(contact: RawContact, grid: Grid) -> Heading:
    """Heel to toe from the print's outline: the narrower end is the heel."""
    xy = grid.xy(contact.cells)
    shape = extent(xy, grid)
    s = (xy - shape.centre) @ shape.axis
    across = (xy - shape.centre) @ left_of(shape.axis)
    low, high = s.min(), s.max()
    reach = END_FRACTION * (high - low)
    rear, front = s <= low + reach, s >= high - reach
    rear_width = np.ptp(across[rear]) if rear.any() else 0.0
    front_width = np.ptp(across[front]) if front.any() else 0.0
    clarity = abs(front_width - rear_width) / max(front_width, rear_width, 1e-9)
    return Heading(shape.axis if front_width >= rear_width else -shape.axis, "shape", float(clarity))


def heading(contact: RawContact, grid: Grid, rate_hz: float) -> Heading:
    """From the loading order, unless most of the contact was already loaded when the recording
    started (its cells' onsets then tell of the recording, not the foot: a standing person who
    leans back loads the heel's rim last), else from the shape."""
    already = np.mean(contact.onset == contact.first) if contact.first == 0 else 0.0
    loading = heading_from_loading(contact, grid, rate_hz) if already < MAX_LOADED_AT_START else None
    return loading or heading_from_shape(contact, grid)


def side_from_shape(contact: RawContact, axis: np.ndarray, grid: Grid) -> tuple[str, float]:
    """Left or right from a print's shape, given its heel-to-toe ``axis``; and how clearly (>= 0).

    Both cues are signed towards the walker's left and in units of the print's width: the
    midfoot's offset is lateral (left for a left foot), the toes' load is medial (right for a
    left foot)."""
    xy = grid.xy(contact.cells)
    peak = np.nan_to_num(contact.peak_kpa.astype(float))
    s = xy @ axis
    lateral = xy @ left_of(axis)
    low, high = s.min(), s.max()
    length = max(high - low, 1e-9)
    width = max(np.ptp(lateral), 1e-9)
    heel = s <= low + 0.15 * length
    forefoot = (s >= low + 0.6 * length) & (s <= low + 0.8 * length)
    middle = (s > low + length / 3) & (s < low + 2 * length / 3)
    score = 0.0
    if heel.any() and forefoot.any() and middle.any():
        # The line from the heel's centre to the forefoot's; the midfoot lies lateral of it.
        h, f = lateral[heel].mean(), lateral[forefoot].mean()
        hs, fs = s[heel].mean(), s[forefoot].mean()
        line = h + (s[middle] - hs) * (f - h) / max(fs - hs, 1e-9)
        score += float((lateral[middle] - line).mean()) / width
    distal = s >= low + 0.8 * length
    if distal.any() and peak[distal].sum() > 0:
        # Where the toes' load is against where their cells are: the hallux pulls it medially.
        loaded = np.average(lateral[distal], weights=peak[distal])
        score -= 2.0 * float(loaded - lateral[distal].mean()) / width
    return ("left" if score > 0 else "right"), abs(score)


def sides_from_progression(centres: np.ndarray, axes: np.ndarray, min_offset_mm: float = 0.0) -> list[str | None]:
    """Steps in time order: each step lies left or right of the midpoint of the steps before and
    after it (alternate feet), seen along its own heading. None where a step has no neighbour or
    lies within ``min_offset_mm`` of that midpoint (the same spot stepped on again, a plate)."""
    n = len(centres)
    if n < 2:
        return [None] * n
    sides: list[str | None] = []
    for k in range(n):
        neighbours = [centres[i] for i in (k - 1, k + 1) if 0 <= i < n]
        offset = (centres[k] - np.mean(neighbours, axis=0)) @ left_of(axes[k])
        sides.append(None if abs(offset) < min_offset_mm else ("left" if offset > 0 else "right"))
    return sides
