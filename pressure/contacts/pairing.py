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
from typing import NamedTuple

import numpy as np
from scipy import ndimage

from pressure.contacts.geometry import Extent, Grid, Outline
from pressure.contacts.sizes import (HAND_OR_KNEE_CM2, MAX_FOOT_LENGTH_MM, MAX_OFF_AXIS_BIG_MM, MIN_PRINT_CM2,
                                     foot_shaped)
from pressure.contacts.tracking import RawContact

MAX_LENGTH_RATIO = 1.25  # one print is shorter than the other by toes that did not touch, not by a third
MAX_AREA_RATIO = 1.5  # a foot bearing a fifth of the weight still touches with most of its sole
MAX_AXES_DEG = 50.0  # toes out or in by up to 25 degrees each
# Two feet already alike are kept as a pair with their axes up to this far apart: toes out in a
# V (up to 30 degrees each). Shared again, a child's feet toed out 15 degrees were both heels
# against both forefeet, 'right' and 'right', 0 / 100. Not further: both heels side by side
# make a 'foot' lying across, at 70-90 degrees to a forefoot.
MAX_V_STANCE_DEG = 65.0
MAX_CROSSING_MM = 15.0  # two feet lie apart along or across their axes: not crossed, not one inside the other
MAX_SHARES = 2000  # shares of one set of parts weighed at most (2^parts, 3^blobs): a print has a handful
MAX_WEIGHED = 12_000  # shares weighed in all (a few tenths of a second): past it, the best so far
MAX_CUT = 2  # pieces cut in two: both heels one piece and both forefeet another
NECKS = 2  # cuts offered per direction: where two feet touch is a neck, though not always the narrowest
MIN_CUT_PIECE_CM2 = MIN_PRINT_CM2  # a piece as big as a whole print may be two feet's parts touching (two small heels)
MAX_NECK = 0.5  # where two prints touch, the line between them crosses at most half the widest line of either


class Cut(NamedTuple):
    """A print cut along a row or column: the cells on the cut's line, the two halves, and how
    narrow the line is against the widest line of the narrower half (a neck between two touching
    prints is well under 1; a line across one print is not)."""

    width: int
    halves: list[RawContact]
    neck: float


def narrowest_cuts(contact: RawContact, grid: Grid, per_direction: int = 1) -> Iterator[Cut]:
    """The contact cut at its narrowest columns and rows (``per_direction`` of each, the
    narrowest first among the profile's local minima), in the middle three fifths of its extent."""
    rows, cols = np.divmod(contact.cells, grid.shape[1])
    for index in (cols, rows):
        low, high = index.min(), index.max()
        inner = np.arange(low + (high - low) // 5, high - (high - low) // 5 + 1)
        if len(inner) == 0:
            continue
        whole = np.bincount(index - low, minlength=high - low + 1)
        profile = whole[inner - low]
        padded = np.r_[np.inf, profile, np.inf]
        minima = np.flatnonzero((profile <= padded[:-2]) & (profile <= padded[2:]))
        first = np.r_[True, (np.diff(minima) != 1) | (np.diff(profile[minima]) != 0)]  # one cut per flat stretch
        starts, ends = minima[first], np.r_[minima[np.flatnonzero(first)[1:] - 1], minima[-1:]]
        for k in np.argsort(profile[starts], kind="stable")[:per_direction]:
            width = int(profile[starts[k]])
            before, after = inner[starts[k]] - low - 1, inner[ends[k]] - low + 1
            # A flat neck between wider lines (two prints touching along several lines) is cut in
            # its middle: cut at its first line, one child's foot lost a column to the other.
            dip = before >= 0 and after < len(whole) and min(whole[before], whole[after]) > width
            cut = int(inner[starts[k]] + ((ends[k] - starts[k] + 1) // 2 if dip else 0))
            widest = min(whole[:cut - low].max(initial=0), whole[cut - low:].max(initial=0))
            yield Cut(width, [contact.restricted(index < cut), contact.restricted(index >= cut)],
                      width / widest if widest else math.inf)


def apart(blob: RawContact, grid: Grid) -> list[RawContact]:
    """A blob as the pieces it was joined from (cells that do not touch), each speck with the
    piece of a hand's size nearest to it: pieces join closest first, and both forefeet of very
    high arches 20 mm apart made one blob, which shared whole could go to neither foot."""
    labels, n = ndimage.label(blob.mask(grid.shape), structure=np.ones((3, 3), bool))
    piece = labels.ravel()[blob.cells] - 1
    big = np.flatnonzero(np.bincount(piece, minlength=n) * grid.cell_cm2 >= HAND_OR_KNEE_CM2)
    if len(big) < 2:
        return [blob]
    xy = grid.xy(blob.cells)
    for speck in sorted(set(range(n)) - set(big.tolist())):
        centre = xy[piece == speck].mean(axis=0)
        piece[piece == speck] = min(big, key=lambda k: np.hypot(*(xy[piece == k] - centre).T).min())
    return [blob.restricted(piece == k) for k in big]


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
        self.big = grid.cells_in(HAND_OR_KNEE_CM2)
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


def common_axis(a: Extent, b: Extent) -> np.ndarray:
    """The unit vector between two prints' axes (whichever way each points)."""
    along = a.axis + (b.axis if a.axis @ b.axis >= 0 else -b.axis)
    return along / np.linalg.norm(along)


def overlap_along(direction: np.ndarray, a_rims: np.ndarray, b_rims: np.ndarray) -> float:
    """How far two prints overlap along ``direction`` (mm; negative: the gap between them)."""
    pa, pb = a_rims @ direction, b_rims @ direction
    return float(min(pa.max(), pb.max()) - max(pa.min(), pb.min()))


def pair_cost(a: Extent, b: Extent, a_rims: np.ndarray, b_rims: np.ndarray, a_cells: int, b_cells: int,
              max_axes_deg: float = MAX_AXES_DEG) -> float:
    """How unlike a pair of one person's feet two prints are (0: the same length, width and
    area); infinite when they cannot be one: lengths a quarter apart, areas half apart, axes
    crossed at over ``max_axes_deg``, or the prints not apart along or across their axes."""
    longer, shorter = max(a.length_mm, b.length_mm), min(a.length_mm, b.length_mm)
    cosine = abs(float(a.axis @ b.axis))
    if (longer > MAX_LENGTH_RATIO * shorter or max(a_cells, b_cells) > MAX_AREA_RATIO * min(a_cells, b_cells)
            or cosine < math.cos(math.radians(max_axes_deg))):
        return math.inf
    along = common_axis(a, b)
    crossing = min(overlap_along(direction, a_rims, b_rims) for direction in (along, np.array([-along[1], along[0]])))
    if crossing > MAX_CROSSING_MM:
        return math.inf
    return math.log(longer / shorter) + abs(math.log(a.width_mm / b.width_mm)) + abs(math.log(a_cells / b_cells))


def share_between_two(pieces: list[RawContact], optional: list[bool], grid: Grid, max_cut: int = MAX_CUT
                      ) -> tuple[list[RawContact], list[RawContact], list[RawContact], float] | None:
    """The pieces shared between two feet that make the most alike pair: (one foot's pieces, the
    other's, those left out, the pair's cost), or None when no share makes two feet. Only
    ``optional`` pieces (blobs that were no foot: a knee, a hand) may be left out. Shares are
    ranked by the area they leave out (two touching forefeet are a blob, not a knee), then by
    how many pieces they cut in two at a neck (none, one, up to ``max_cut``: a cut rarely
    follows the feet's border), then by the cells the cuts cross (real heels touching side by side were cut
    across the wider heel, not where they meet, when the pair so cut was the more alike), then
    by cost; the search stops at the fewest cuts that leave nothing out."""
    # Each half of a cut is a piece of its own foot (a heel, a forefoot), not a sliver: a heel
    # island cut 13 / 155 cells gave most of one foot's heel to the other foot, on tiptoe.
    cuts = [[cut for cut in narrowest_cuts(piece, grid, NECKS)
             if all(len(half.cells) * grid.cell_cm2 >= HAND_OR_KNEE_CM2 for half in cut.halves)]
            if len(piece.cells) * grid.cell_cm2 >= MIN_CUT_PIECE_CM2 else [] for piece in pieces]
    feet = _Feet(grid)
    best, best_key = None, None
    for n_cut in range(max_cut + 1):
        for cut in itertools.combinations(range(len(pieces)), n_cut):
            for offered in itertools.product(*[cuts[k] for k in cut]):
                chosen = {k: one.halves for k, one in zip(cut, offered)}
                cut_cells = sum(one.width for one in offered)
                parts, skippable = [], []
                for k, piece in enumerate(pieces):
                    split = chosen.get(k, [piece])
                    parts += split
                    skippable += [optional[k]] * len(split)
                found = _best_share(parts, skippable, feet)
                if found is not None:
                    key = (sum(len(part.cells) for part in found[2]), n_cut, cut_cells, found[3])
                    if best_key is None or key < best_key:
                        best, best_key = found, key
        if best_key is not None and best_key[0] == 0:
            break
    return best


def parted_at_a_neck(lone: RawContact, grid: Grid) -> list[RawContact] | None:
    """A print alone cut in two where it is two alike feet side by side, touching at a neck, or
    None. Two small feet side by side (a child's, 160 mm long) make one print no wider than an
    adult's foot. A foot alone has no neck along its length; across it, a very high arch leaves
    a heel and a forefoot that can pass for two short feet, but they lie one after the other
    (two of SpeedPP2DS subject 1's single steps were parted so)."""
    if len(lone.cells) * grid.cell_cm2 < MIN_CUT_PIECE_CM2:
        return None
    feet = _Feet(grid)
    for cut in sorted(narrowest_cuts(lone, grid, NECKS), key=lambda cut: cut.neck):
        if cut.neck > MAX_NECK:
            break
        a, b = (feet.foot(feet.bit(half)) for half in cut.halves)
        if (a is not None and b is not None and side_by_side(a.shape, b.shape, a.rims, b.rims)
                and pair_cost(a.shape, b.shape, a.rims, b.rims, a.count, b.count) < math.inf):
            return cut.halves
    return None


def side_by_side(a: Extent, b: Extent, a_rims: np.ndarray, b_rims: np.ndarray) -> bool:
    """Whether two prints lie beside each other: along their axes, they overlap over at least
    half the shorter one's length."""
    return overlap_along(common_axis(a, b), a_rims, b_rims) >= 0.5 * min(a.length_mm, b.length_mm)


def _best_share(parts: list[RawContact], skippable: list[bool], feet: _Feet
                ) -> tuple[list[RawContact], list[RawContact], list[RawContact], float] | None:
    """The share of these parts between two feet (each part in one, or left out if skippable)
    that leaves the least area out and, of those, makes the most alike pair; or None. (By
    likeness alone, a child's feet 5 mm apart, all blobs, lost 39 cells of a heel: a share that
    left them out was more alike than the whole feet.)"""
    shares = 2 ** len(parts) * 1.5 ** sum(skippable)
    if len(parts) < 2 or shares > MAX_SHARES or shares > feet.budget:
        return None
    feet.budget -= shares
    bits = [feet.bit(part) for part in parts]
    sizes = [len(part.cells) for part in parts]
    best, best_key = None, (math.inf, math.inf)
    for labels in itertools.product(*[(0, 1, 2) if skip else (0, 1) for skip in skippable]):
        if 0 not in labels or 1 not in labels or labels.index(0) > labels.index(1):  # each share once
            continue
        left_out = sum(size for size, label in zip(sizes, labels) if label == 2)
        if left_out > best_key[0]:
            continue
        a = feet.foot(sum(bit for bit, label in zip(bits, labels) if label == 0))
        b = feet.foot(sum(bit for bit, label in zip(bits, labels) if label == 1)) if a is not None else None
        if b is None:
            continue
        cost = pair_cost(a.shape, b.shape, a.rims, b.rims, a.count, b.count)
        if cost < math.inf and (left_out, cost) < best_key:
            best_key = (left_out, cost)
            best = tuple([part for part, label in zip(parts, labels) if label == side] for side in (0, 1, 2)) + (cost,)
    return best
