"""Two feet at once: the pieces of a print of two feet standing close shared between the two, so
that both are feet and alike.

Pieces join their foot one pair at a time, closest first (``fragments``), which goes wrong where
two feet stand close: a heel island lies nearer the other foot's toes (tandem stance) or the
other heel (feet together, high arches) than its own forefoot, and the toes of one foot touching
the heel of the other make one piece. Real SpeedPP2DS prints in tandem, heel to toe, gave one
"foot" of a heel, a forefoot and the other foot's heel, 324 mm long, beside a forefoot alone.
A person's two prints are alike in length and width, their axes near parallel, and they lie
apart along or across those axes; the share of the pieces that best fits that says more than any
one join. A piece two touching feet made one is offered cut at its narrowest row and column too.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from pressure.contacts.geometry import Extent, Grid, Outline
from pressure.contacts.sizes import (HAND_OR_KNEE_CM2, MAX_FOOT_LENGTH_MM, MAX_OFF_AXIS_BIG_MM, MIN_PRINT_CM2,
                                     foot_shaped)
from pressure.contacts.tracking import RawContact

MAX_LENGTH_RATIO = 1.25  # one print is shorter than the other by toes that did not touch, not by a third
MAX_AREA_RATIO = 1.5  # a foot bearing a fifth of the weight still touches with most of its sole
MAX_AXES_DEG = 50.0  # toes out or in by up to 25 degrees each
MAX_CROSSING_MM = 15.0  # two feet lie apart along or across their axes: not crossed, not one inside the other
MAX_SHARES = 2000  # shares of one set of parts weighed at most (2^parts, 3^blobs): a print has a handful
MAX_WEIGHED = 12_000  # shares weighed in all (a few tenths of a second): past it, the best so far
MAX_CUT = 2  # pieces cut in two: both heels one piece and both forefeet another
NECKS = 2  # cuts offered per direction: where two feet touch is a neck, though not always the narrowest
MIN_CUT_PIECE_CM2 = 2 * MIN_PRINT_CM2  # a piece as big as a whole print may be two feet's parts touching


def narrowest_cuts(contact: RawContact, grid: Grid, per_direction: int = 1) -> Iterator[tuple[int, list[RawContact]]]:
    """The contact cut at its narrowest columns and rows (``per_direction`` of each, the
    narrowest first among the profile's local minima), in the middle three fifths of its extent:
    (cells on the cut's line, the two halves)."""
    rows, cols = np.divmod(contact.cells, grid.shape[1])
    for index in (cols, rows):
        low, high = index.min(), index.max()
        inner = np.arange(low + (high - low) // 5, high - (high - low) // 5 + 1)
        if len(inner) == 0:
            continue
        profile = np.bincount(index - low, minlength=high - low + 1)[inner - low]
        padded = np.r_[np.inf, profile, np.inf]
        necks = np.flatnonzero((profile <= padded[:-2]) & (profile <= padded[2:]))  # local minima
        for at in necks[np.argsort(profile[necks], kind="stable")][:per_direction]:
            cut = int(inner[at])
            yield int(profile[at]), [contact.restricted(index < cut), contact.restricted(index >= cut)]


class _Foot:
    """One candidate foot: a set of pieces (big enough for a print: ``_Feet.foot`` checks), its
    extent, and whether it makes a foot."""

    def __init__(self, outlines: list[Outline], big: list[bool], grid: Grid):
        whole = Outline.union(outlines)
        self.shape = whole.extent(grid)
        self.rims = whole.rims
        self.count = whole.count
        self.is_foot = foot_shaped(self.shape)
        if self.is_foot:
            across = np.array([-self.shape.axis[1], self.shape.axis[0]])
            self.is_foot = all(abs((o.sums[:2] / o.count - self.shape.centre) @ across) <= MAX_OFF_AXIS_BIG_MM
                               for o, b in zip(outlines, big) if b)


class _Feet:
    """Candidate feet made of parts, each measured once however many shares it is in (a share
    of a handful of parts is weighed in thousands of ways)."""

    def __init__(self, grid: Grid):
        self.grid = grid
        self.big = HAND_OR_KNEE_CM2 / grid.cell_cm2
        self._index: dict[int, int] = {}  # id of a part -> its bit
        self._parts: list[tuple[Outline, float, float, float, float]] = []  # and x, y lowest, highest
        self._feet: dict[int, _Foot | None] = {}
        self.budget = MAX_WEIGHED  # shares left to weigh in all

    def bit(self, part: RawContact) -> int:
        if id(part) not in self._index:
            outline = Outline.of(part.cells, self.grid)
            (x0, y0), (x1, y1) = outline.rims.min(axis=0), outline.rims.max(axis=0)
            self._index[id(part)] = len(self._parts)
            self._parts.append((outline, float(x0), float(y0), float(x1), float(y1)))
        return 1 << self._index[id(part)]

    def foot(self, members: int) -> _Foot | None:
        """The foot the parts whose bits are set make, or None when they make none."""
        if members not in self._feet:
            chosen = [entry for k, entry in enumerate(self._parts) if members >> k & 1]
            count = sum(entry[0].count for entry in chosen)
            span = max(max(e[3] for e in chosen) - min(e[1] for e in chosen),
                       max(e[4] for e in chosen) - min(e[2] for e in chosen))
            if count * self.grid.cell_cm2 < MIN_PRINT_CM2 or span > MAX_FOOT_LENGTH_MM * 1.1:
                self._feet[members] = None  # too small or too long: not worth measuring
            else:
                outlines = [entry[0] for entry in chosen]
                made = _Foot(outlines, [outline.count >= self.big for outline in outlines], self.grid)
                self._feet[members] = made if made.is_foot else None
        return self._feet[members]


def pair_cost(a: Extent, b: Extent, a_rims: np.ndarray, b_rims: np.ndarray, a_cells: int, b_cells: int) -> float:
    """How unlike a pair of one person's feet two prints are (0: the same length, width and
    area); infinite when they cannot be one: lengths a quarter apart, areas half apart, axes
    crossed at over 50 degrees, or the prints not apart along or across their axes."""
    longer, shorter = max(a.length_mm, b.length_mm), min(a.length_mm, b.length_mm)
    cosine = abs(float(a.axis @ b.axis))
    if (longer > MAX_LENGTH_RATIO * shorter or max(a_cells, b_cells) > MAX_AREA_RATIO * min(a_cells, b_cells)
            or cosine < math.cos(math.radians(MAX_AXES_DEG))):
        return math.inf
    along = a.axis + (b.axis if a.axis @ b.axis >= 0 else -b.axis)
    along /= np.linalg.norm(along)
    crossing = math.inf
    for direction in (along, np.array([-along[1], along[0]])):
        pa, pb = a_rims @ direction, b_rims @ direction
        crossing = min(crossing, min(pa.max(), pb.max()) - max(pa.min(), pb.min()))
    if crossing > MAX_CROSSING_MM:
        return math.inf
    return math.log(longer / shorter) + abs(math.log(a.width_mm / b.width_mm)) + abs(math.log(a_cells / b_cells))


def share_between_two(pieces: list[RawContact], optional: list[bool], grid: Grid
                      ) -> tuple[list[RawContact], list[RawContact], list[RawContact], float] | None:
    """The pieces shared between two feet that make the most alike pair: (one foot's pieces, the
    other's, those left out, the pair's cost), or None when no share makes two feet. Only
    ``optional`` pieces (blobs that were no foot: a knee, a hand) may be left out. Shares are
    ranked by the area they leave out (two touching forefeet are a blob, not a knee), then by
    how many pieces they cut in two at a neck (none, one, then two: a cut rarely follows the
    feet's border), then by cost; the search stops at the fewest cuts that leave nothing out."""
    # Each half of a cut is a piece of its own foot (a heel, a forefoot), not a sliver: a heel
    # island cut 13 / 155 cells gave most of one foot's heel to the other foot, on tiptoe.
    cuts = [[halves for _, halves in narrowest_cuts(piece, grid, NECKS)
             if all(len(half.cells) * grid.cell_cm2 >= HAND_OR_KNEE_CM2 for half in halves)]
            if len(piece.cells) * grid.cell_cm2 >= MIN_CUT_PIECE_CM2 else [] for piece in pieces]
    feet = _Feet(grid)
    best, best_key = None, None
    for n_cut in range(MAX_CUT + 1):
        for cut in itertools.combinations(range(len(pieces)), n_cut):
            for halves in itertools.product(*[cuts[k] for k in cut]):
                chosen = dict(zip(cut, halves))
                parts, skippable = [], []
                for k, piece in enumerate(pieces):
                    split = chosen.get(k, [piece])
                    parts += split
                    skippable += [optional[k]] * len(split)
                found = _best_share(parts, skippable, feet)
                if found is not None:
                    key = (sum(len(part.cells) for part in found[2]), n_cut, found[3])
                    if best_key is None or key < best_key:
                        best, best_key = found, key
        if best_key is not None and best_key[0] == 0:
            break
    return best


def _best_share(parts: list[RawContact], skippable: list[bool], feet: _Feet
                ) -> tuple[list[RawContact], list[RawContact], list[RawContact], float] | None:
    """The share of these parts between two feet (each part in one, or left out if skippable)
    that makes the most alike pair, or None."""
    shares = 2 ** len(parts) * 1.5 ** sum(skippable)
    if len(parts) < 2 or shares > MAX_SHARES or shares > feet.budget:
        return None
    feet.budget -= shares
    bits = [feet.bit(part) for part in parts]
    best = None
    for labels in itertools.product(*[(0, 1, 2) if skip else (0, 1) for skip in skippable]):
        if 0 not in labels or 1 not in labels or labels.index(0) > labels.index(1):  # each share once
            continue
        a = feet.foot(sum(bit for bit, label in zip(bits, labels) if label == 0))
        b = feet.foot(sum(bit for bit, label in zip(bits, labels) if label == 1)) if a is not None else None
        if b is None:
            continue
        cost = pair_cost(a.shape, b.shape, a.rims, b.rims, a.count, b.count)
        if cost < (best[3] if best else math.inf):
            best = tuple([part for part, label in zip(parts, labels) if label == side] for side in (0, 1, 2)) + (cost,)
    return best
