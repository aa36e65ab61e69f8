"""From raw contacts to feet: pieces of one foot join, two touching feet part, the rest is not a foot.

A real print often comes in pieces: a high arch leaves the heel an island, the toes are islands
beyond the forefoot (one each, or one row when they touch), a lesser toe a speck. Pieces that are
loaded at the same time join when, together, they still make one plausible foot: no longer than
a long foot, no wider than a wide one, elongated, and the piece lying along that foot rather than
beside it. The closest pieces join first, so toes find their own foot and not the other one.
What is left is a foot when it has a foot's size and shape (or is cut by the mat's edge), two
feet when it splits into two side by side, and otherwise a hand, knee or object (``extra``)
when it is big enough to matter, else a speck that is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pressure.contacts.geometry import Grid, cut_by_edge, extent
from pressure.contacts.orientation import heading, left_of
from pressure.contacts.pairing import (MAX_CUT, MAX_V_STANCE_DEG, apart, narrowest_cuts, pair_cost, parted_at_a_neck,
                                      share_between_two)
from pressure.contacts.sizes import (HAND_OR_KNEE_CM2, MAX_FOOT_LENGTH_MM, MAX_FOOT_WIDTH_MM, MAX_GAP_MM,
                                     MAX_OFF_AXIS_BIG_MM, MIN_FOOT_LENGTH_MM, MIN_PRINT_CM2, foot_shaped)
from pressure.contacts.tracking import RawContact

MIN_PIECES_ELONGATION = 1.4  # pieces joining may still be a part of a foot (a forefoot and its toes)
MAX_OFF_AXIS_MM = 55.0  # a small piece (a lesser toe) lies at most half a wide foot aside of the axis
TIME_SLACK_S = 0.05
WIDE_FOOT_MM = 115.0  # wider than the widest adult forefoot: one 'foot' of pieces of two (120-134 mm)
TOE_REACH_MM = 40.0  # toes lie up to 30 mm beyond the forefoot, and a cell more
TOE_ZONE = 0.22  # toes lie in the front 22 % of the foot, heel to toe (the metatarsal heads just behind)
MIN_PIECE_CM2 = 1.0


def one_foot(a: np.ndarray, b: np.ndarray, grid: Grid) -> bool:
    """Whether two groups of pieces (their cells' positions) together make one plausible foot."""
    union = extent(np.concatenate([a, b]), grid)
    if union.length_mm > MAX_FOOT_LENGTH_MM or union.width_mm > MAX_FOOT_WIDTH_MM:
        return False
    if union.length_mm >= MIN_FOOT_LENGTH_MM and union.elongation < MIN_PIECES_ELONGATION:
        return False
    across = np.array([-union.axis[1], union.axis[0]])
    big = grid.cells_in(HAND_OR_KNEE_CM2)
    return all(abs((xy.mean(axis=0) - union.centre) @ across) <= (MAX_OFF_AXIS_BIG_MM if len(xy) >= big else MAX_OFF_AXIS_MM)
               for xy in (a, b))


def nearest_mm(a: np.ndarray, b: np.ndarray, beyond: float = np.inf) -> float:
    """The shortest distance between two sets of points; any value over ``beyond`` when they lie
    further apart than that (their bounding boxes tell without measuring every pair)."""
    gap = np.maximum(0.0, np.maximum(a.min(axis=0) - b.max(axis=0), b.min(axis=0) - a.max(axis=0)))
    if np.hypot(*gap) > beyond:
        return float(np.hypot(*gap))
    if len(a) * len(b) > 4_000_000:  # thin the larger set; distances of a few mm do not matter here
        step = max(1, len(a) * len(b) // 4_000_000)
        a, b = (a[::step], b) if len(a) > len(b) else (a, b[::step])
    across = a[:, None, 0] - b[None, :, 0]  # x and y apart, not a (pairs, 2) array summed along
    along = a[:, None, 1] - b[None, :, 1]    # its short last axis (3x slower: most of the joining)
    squared = np.multiply(across, across, out=across)
    squared += along * along
    return float(np.sqrt(squared.min()))


def _root(owner: list[int], i: int) -> int:
    """The group of item ``i``: its owner followed to the one that owns itself."""
    while owner[i] != i:
        i = owner[i]
    return i


def join_pieces(raw: list[RawContact], grid: Grid, rate_hz: float) -> list[list[RawContact]]:
    """Groups of raw contacts that are one foot (or one hand, knee, speck): closest pairs first."""
    slack = int(round(TIME_SLACK_S * rate_hz))
    groups = [[contact] for contact in raw]
    xy = [[grid.xy(contact.cells)] for contact in raw]
    span = [(contact.first, contact.last) for contact in raw]

    pairs = []
    for i in range(len(groups)):  # raw contacts come ordered by first frame
        if len(raw[i].cells) * grid.cell_cm2 < MIN_PIECE_CM2:
            continue  # a speck joins only as a toe (attach_toes), not anywhere within reach
        for j in range(i + 1, len(groups)):
            if span[j][0] > span[i][1] + slack:
                break
            if len(raw[j].cells) * grid.cell_cm2 < MIN_PIECE_CM2:
                continue
            distance = nearest_mm(xy[i][0], xy[j][0], beyond=MAX_GAP_MM)
            if distance <= MAX_GAP_MM:
                pairs.append((distance, i, j))
    pairs.sort()
    owner = list(range(len(groups)))  # each raw contact's group, followed to its root

    refused: set[tuple[int, int, int, int]] = set()
    joined = True
    while joined:  # a pair refused early may fit once one side has grown (toes after the heel joined)
        joined = False
        for _, i, j in pairs:
            a, b = _root(owner, i), _root(owner, j)
            if a == b:
                continue
            key = (a, b, len(groups[a]), len(groups[b]))
            if key in refused:
                continue
            if not one_foot(np.concatenate(xy[a]), np.concatenate(xy[b]), grid):
                refused.add(key)
                continue
            groups[a] += groups[b]
            xy[a] += xy[b]
            owner[b] = a
            groups[b], xy[b] = [], []
            joined = True
    return [group for group in groups if group]


def whole(group: list[RawContact]) -> RawContact:
    contact = group[0]
    for part in group[1:]:
        contact = contact.merged(part)
    return contact


def foot_like(contact: RawContact, grid: Grid) -> bool:
    xy = grid.xy(contact.cells)
    if len(xy) * grid.cell_cm2 < MIN_PRINT_CM2:
        return False
    shape = extent(xy, grid)
    if cut_by_edge(contact, grid):  # cut by the mat's edge: a foot whatever its visible shape
        return shape.width_mm <= MAX_FOOT_WIDTH_MM * 1.2
    return foot_shaped(shape)


def split_in_two(contact: RawContact, grid: Grid) -> list[RawContact]:
    """Two feet touching, side by side or one in front of the other (tandem), parted along the row
    or column (whichever leaves two foot-like halves through the fewest cells) in the region's
    middle; [] when none does."""
    best: tuple[int, list[RawContact]] | None = None
    for cut in narrowest_cuts(contact, grid):
        if all(len(h.cells) and foot_like(h, grid) for h in cut.halves) and (best is None or cut.width < best[0]):
            best = (cut.width, cut.halves)
    return best[1] if best else []


@dataclass
class Pieces:
    """The raw contacts of one foot contact (heel island, forefoot, toes...) and their union."""

    parts: list[RawContact]
    whole: RawContact


def attach_toes(feet: list[Pieces], pieces: list[RawContact], grid: Grid, rate_hz: float) -> list[RawContact]:
    """Pieces that are no foot but a foot's toes join it: loaded while the foot is, within reach of
    it, in the front quarter of the foot along its heading (beyond the distal end, not beside the
    heel) and not far aside of its axis, however big or wide they are. Returns the pieces left."""
    slack = int(round(TIME_SLACK_S * rate_hz))
    headings = [heading(foot.whole, grid, rate_hz).axis for foot in feet]
    left = []
    for piece in pieces:
        piece_xy = grid.xy(piece.cells)
        centre = piece_xy.mean(axis=0)
        best, best_distance = None, TOE_REACH_MM
        for foot, axis in zip(feet, headings):
            if piece.first > foot.whole.last + slack or foot.whole.first > piece.last + slack:
                continue
            foot_xy = grid.xy(foot.whole.cells)
            distance = nearest_mm(piece_xy, foot_xy, beyond=best_distance)
            if distance > best_distance:
                continue
            s = foot_xy @ axis
            rear, front = s.min(), max(s.max(), centre @ axis)
            aside = abs((centre - foot_xy.mean(axis=0)) @ left_of(axis))
            union = extent(np.concatenate([foot_xy, piece_xy]), grid)
            if (centre @ axis >= rear + (1 - TOE_ZONE) * (front - rear) and aside <= MAX_OFF_AXIS_MM
                    and union.length_mm <= MAX_FOOT_LENGTH_MM and union.width_mm <= MAX_FOOT_WIDTH_MM):
                best, best_distance = foot, distance
        if best is None:
            left.append(piece)
        else:
            best.parts.append(piece)
            best.whole = best.whole.merged(piece)
    return left


def part_crowded(feet: list[Pieces], extra: list[RawContact], grid: Grid) -> tuple[list[Pieces], list[RawContact]]:
    """Two feet close together, in pieces, parted again as one print of two feet.

    Closest pieces join first, so where high arches leave both heels islands next to each other,
    the two heels became one "foot" (and the two rows of toes another), and two touching forefeet
    a blob that is no foot: a pair of real prints 10 mm apart gave three feet, a simulated pair
    touching at the forefeet gave the left foot everything, and real prints side by side with no
    gap one foot of both heels and a forefoot, 136 mm wide. So where more than two feet are
    loaded at the same moment, or a blob that is no foot but as big as one of them lies among
    feet loaded together, all of them are parted as one print of two feet (``split_in_two``),
    when it parts into two foot-like halves; two feet, one of them joined from big pieces, are
    parted so when that makes the wider of them narrower."""
    kept_feet, kept_extra = [], []
    big = grid.cells_in(HAND_OR_KNEE_CM2)
    for group, blobs in loaded_together(feet, extra):
        # Only the feet loaded at the group's most crowded moment: a foot lifted for a moment
        # and put back is two contacts, each loaded with the other foot but not with each other.
        own = at_once(group)
        kept_feet += [foot for foot in group if not any(foot is other for other in own)]
        own, blobs = parted_at_its_neck(own, blobs, grid)
        shared = shared_as_pair(own, blobs, grid)
        if shared is not None:
            kept_feet += shared[0]
            kept_extra += shared[1]
            continue
        among = blobs_among(own, blobs, grid)
        assembled = len(own) == 2 and any(sum(len(part.cells) >= big for part in foot.parts) >= 2 for foot in own)
        halves = []
        if len(own) > 2 or among or assembled:
            union = own[0].whole
            for piece in [foot.whole for foot in own[1:]] + among:
                union = union.merged(piece)
            halves = split_in_two(union, grid)
        if halves and assembled and not among:  # two feet already: parted only into narrower ones
            if widest(halves, grid) > widest([foot.whole for foot in own], grid) - max(grid.pitch_x_mm, grid.pitch_y_mm):
                halves = []
        if not halves:
            kept_feet += own
            kept_extra += blobs
            continue
        kept_feet += parted([part for foot in own for part in foot.parts] + among, halves)
        kept_extra += [blob for blob in blobs if not any(blob is other for other in among)]
    return kept_feet, kept_extra


def parted(parts: list[RawContact], halves: list[RawContact]) -> list[Pieces]:
    """A foot for each of ``halves``, with the pieces of ``parts`` that lie in it."""
    feet = []
    for half in halves:
        mine = [part.restricted(np.isin(part.cells, half.cells)) for part in parts]
        feet.append(Pieces([part for part in mine if len(part.cells)], half))
    return feet


def parted_at_its_neck(own: list[Pieces], blobs: list[RawContact], grid: Grid
                       ) -> tuple[list[Pieces], list[RawContact]]:
    """One print loaded alone (one foot, or one blob where there is no foot) parted where it is
    two alike feet touching at a neck: a child's feet side by side make one print no wider than
    an adult's foot. The feet and the blobs left."""
    prints = [blob for blob in blobs if len(blob.cells) * grid.cell_cm2 >= MIN_PRINT_CM2]
    if len(own) == 1:
        lone = own[0]
    elif not own and len(prints) == 1:
        lone = Pieces([prints[0]], prints[0])
    else:
        return own, blobs
    halves = parted_at_a_neck(lone.whole, grid)
    if halves is None:
        return own, blobs
    # Two touching feet are cut through; a big piece wholly on one side is a hand against a foot
    # (a very high arched foot and a hand by its heel were cut into two 'feet', 23 / 77).
    big = grid.cells_in(HAND_OR_KNEE_CM2)
    if any(len(part.cells) >= big and not all(np.isin(part.cells, half.cells).any() for half in halves)
           for part in lone.parts):
        return own, blobs
    return parted(lone.parts, halves), [blob for blob in blobs if blob is not lone.whole]


def shared_as_pair(own: list[Pieces], blobs: list[RawContact], grid: Grid
                   ) -> tuple[list[Pieces], list[RawContact]] | None:
    """The feet loaded at once and the blobs beside them, shared again between two feet
    (``pairing``) where they are not already a pair of alike feet: (the feet, the blobs left),
    or None when they are, or no share of their big pieces makes two feet. Blobs are shared as
    the pieces they were joined from, and blobs loaded together with no foot among them too.
    Small pieces (a lesser toe) go to the nearer foot; a foot the mat's edge cuts is left as it is."""
    if any(cut_by_edge(foot.whole, grid) for foot in own):
        return None
    if len(own) == 2:  # a pair already; toes out in a V stance, its axes may lie further apart than a share's
        a, b = (grid.xy(foot.whole.cells) for foot in own)
        if pair_cost(extent(a, grid), extent(b, grid), a, b, len(a), len(b), max_axes_deg=MAX_V_STANCE_DEG) < np.inf:
            return None
    big = grid.cells_in(HAND_OR_KNEE_CM2)
    near = [blob for blob in blobs if len(blob.cells) >= big]
    if own:
        feet_xy = grid.xy(np.concatenate([foot.whole.cells for foot in own]))
        near = [blob for blob in near if nearest_mm(grid.xy(blob.cells), feet_xy, beyond=MAX_GAP_MM) <= MAX_GAP_MM]
    # else no foot at all: very high arches left both heels one blob and both forefeet another
    near_pieces = [piece for blob in near for piece in apart(blob, grid)]
    parts = [part for foot in own for part in foot.parts]
    large = [part for part in parts if len(part.cells) >= big]
    if len(own) + len(near_pieces) < 2 or len(large) + len(near_pieces) < 2:  # one foot alone is no pair
        return None
    # One foot of a foot's width beside a blob (a toe touching down, a hand) is never cut: cut,
    # it made two invented feet. Its pieces are still shared whole, each new foot taking a piece
    # of the blobs: very high arches 20 mm apart made one 'foot' of both heels (70 mm wide across
    # its sideways axis) beside a blob of both forefeet.
    whole_only = len(own) == 1 and extent(grid.xy(own[0].whole.cells), grid).width_mm <= WIDE_FOOT_MM
    shared = share_between_two(large + near_pieces, [False] * len(large) + [True] * len(near_pieces), grid,
                               max_cut=0 if whole_only else MAX_CUT)
    if shared is None:
        return None
    first, second, left_out, _ = shared
    sides = [first, second]
    if len(own) == 2 and not each_from_its_own(sides, [foot.whole for foot in own]):
        return None  # two feet made of one
    if whole_only and not all(any(part is piece for part in side for piece in near_pieces) for side in sides):
        return None  # a foot's heel with a hand beside it one 'foot', its forefoot alone another
    for part in parts:
        if len(part.cells) < big:
            xy = grid.xy(part.cells)
            nearest = min(sides, key=lambda side: min(nearest_mm(xy, grid.xy(p.cells)) for p in side))
            nearest.append(part)
    return ([Pieces(side, whole(side)) for side in sides],
            left_out + [blob for blob in blobs if not any(blob is other for other in near)])


def each_from_its_own(sides: list[list[RawContact]], sources: list[RawContact]) -> bool:
    """Whether two new feet have most of their cells from different ones of ``sources`` (the feet
    they were shared from)."""
    def mostly_from(side: list[RawContact]) -> int:
        cells = np.concatenate([part.cells for part in side])
        return int(np.argmax([np.isin(cells, source.cells).sum() for source in sources]))
    return mostly_from(sides[0]) != mostly_from(sides[1])


def loaded_together(feet: list[Pieces], extra: list[RawContact]) -> list[tuple[list[Pieces], list[RawContact]]]:
    """The feet and blobs in groups loaded together, each for at least half the shorter one's
    time (standing feet and their pieces; a step and the next barely overlap)."""
    items = sorted([(foot.whole, foot) for foot in feet] + [(blob, None) for blob in extra], key=lambda item: item[0].first)
    owner = list(range(len(items)))

    for i, (a, _) in enumerate(items):
        for j in range(i + 1, len(items)):
            b = items[j][0]
            if b.first > a.last:
                break
            if min(a.last, b.last) - b.first + 1 >= 0.5 * min(a.n_frames, b.n_frames):
                owner[_root(owner, j)] = _root(owner, i)
    groups: dict[int, tuple[list[Pieces], list[RawContact]]] = {}
    for i, (contact, foot) in enumerate(items):
        own, blobs = groups.setdefault(_root(owner, i), ([], []))
        if foot is None:
            blobs.append(contact)
        else:
            own.append(foot)
    return list(groups.values())


def at_once(feet: list[Pieces]) -> list[Pieces]:
    """The feet loaded at the first moment when the most of them are."""
    if len(feet) <= 2:
        return feet
    moments = sorted({foot.whole.first for foot in feet})
    counts = [sum(foot.whole.first <= moment <= foot.whole.last for foot in feet) for moment in moments]
    busiest = moments[int(np.argmax(counts))]
    return [foot for foot in feet if foot.whole.first <= busiest <= foot.whole.last]


def blobs_among(feet: list[Pieces], blobs: list[RawContact], grid: Grid) -> list[RawContact]:
    """The blobs as big as the smallest foot (a knee between two whole feet is smaller), or as a
    print beside one foot alone, whose centre lies within the feet's bounds."""
    if not feet:
        return []
    cells = grid.xy(np.concatenate([foot.whole.cells for foot in feet]))
    low, high = cells.min(axis=0), cells.max(axis=0)
    # Beside one foot alone, a blob as big as a print may be the other foot's forefoot, its heel
    # taken by the first (both heels and one forefoot made one foot 132 mm wide).
    smallest = min(len(foot.whole.cells) for foot in feet) if len(feet) > 1 else grid.cells_in(MIN_PRINT_CM2)
    centres = [grid.xy(blob.cells).mean(axis=0) for blob in blobs]
    return [blob for blob, centre in zip(blobs, centres)
            if len(blob.cells) >= smallest and np.all((low <= centre) & (centre <= high))]


def widest(contacts: list[RawContact], grid: Grid) -> float:
    return max(extent(grid.xy(contact.cells), grid).width_mm for contact in contacts)


def find_feet(raw: list[RawContact], grid: Grid, rate_hz: float) -> tuple[list[Pieces], list[RawContact]]:
    """Foot contacts (each with its pieces) ordered by first frame, and the extra blobs."""
    parted = []
    for contact in raw:  # two feet touching part first, so that each foot's toes can find it
        big = len(contact.cells) * grid.cell_cm2 >= 2 * MIN_PRINT_CM2
        shape = extent(grid.xy(contact.cells), grid)
        too_big = shape.width_mm > MAX_FOOT_WIDTH_MM or shape.length_mm > MAX_FOOT_LENGTH_MM
        halves = split_in_two(contact, grid) if big and too_big else []
        parted.extend(halves or [contact])
    parted.sort(key=lambda contact: contact.first)
    feet: list[Pieces] = []
    others: list[RawContact] = []
    for group in join_pieces(parted, grid, rate_hz):
        contact = whole(group)
        if foot_like(contact, grid):
            feet.append(Pieces(group, contact))
        else:
            others.append(contact)
    extra = [piece for piece in attach_toes(feet, others, grid, rate_hz)
             if len(piece.cells) * grid.cell_cm2 >= HAND_OR_KNEE_CM2]
    feet, extra = part_crowded(feet, extra, grid)
    feet.sort(key=lambda pieces: (pieces.whole.first, pieces.whole.cells[0]))
    return feet, extra
