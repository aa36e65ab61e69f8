"""Two feet weighed at once (pressure/contacts/pairing.py): the outline of a union of pieces against
the extent of all their cells, the pair cost's rules, and shares of made-up pieces. Real prints:
tests/test_contacts.py (tandem, toes out, one foot alone)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pressure.contacts.geometry import Grid, Outline, _covariance, extent
from pressure.contacts.pairing import apart, narrowest_cuts, pair_cost, parted_at_a_neck, share_between_two
from pressure.contacts.tracking import RawContact

GRID = Grid((80, 60), 5.0, 5.0)


@settings(max_examples=200, deadline=None)
@given(cells=st.sets(st.integers(0, 80 * 60 - 1), min_size=2, max_size=400), parts=st.integers(1, 4),
       pitch=st.sampled_from([(5.0, 5.0), (5.0, 7.5), (8.4, 5.0)]), seed=st.integers(0, 2**32 - 1))
def test_the_outline_of_a_union_measures_as_all_its_cells(cells, parts, pitch, seed):
    grid = Grid((80, 60), *pitch)
    cells = np.random.default_rng(seed).permutation(np.array(sorted(cells)))
    want = extent(grid.xy(cells), grid)
    got = Outline.union([Outline.of(piece, grid) for piece in np.array_split(cells, parts) if len(piece)]).extent(grid)
    np.testing.assert_allclose([got.length_mm, got.width_mm], [want.length_mm, want.width_mm], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.centre, want.centre, atol=1e-9)
    if not math.isclose(want.length_mm, want.width_mm, rel_tol=1e-6):  # a round set has no one axis
        assert abs(float(got.axis @ want.axis)) > 1 - 1e-9


@settings(max_examples=300, deadline=None)
@given(cells=st.sets(st.integers(0, 80 * 60 - 1), min_size=2, max_size=600),
       pitch=st.sampled_from([(5.0, 5.0), (5.0, 7.5), (8.4, 5.0), (7.62, 7.62)]))
def test_the_covariance_of_a_print_is_numpys_to_the_bit(cells, pitch):
    """extent's covariance is np.cov's own steps: any other rounding could turn a print's axis."""
    xy = Grid((80, 60), *pitch).xy(np.array(sorted(cells)))
    centred = xy - xy.mean(axis=0)
    np.testing.assert_array_equal(_covariance(centred), np.cov(centred.T))


def block(row: int, col: int, rows: int, cols: int) -> RawContact:
    r, c = np.mgrid[row:row + rows, col:col + cols]
    cells = (r * GRID.shape[1] + c).ravel()
    ones = np.ones(len(cells))
    return RawContact(0, 9, cells, np.zeros(len(cells), np.int64), ones * 100.0, ones.astype(np.int64))


def shape_of(*contacts: RawContact):
    xy = GRID.xy(np.concatenate([c.cells for c in contacts]))
    return extent(xy, GRID), xy, len(xy)


def cost(a, b) -> float:
    (ea, xa, na), (eb, xb, nb) = shape_of(*a), shape_of(*b)
    return pair_cost(ea, eb, xa, xb, na, nb)


def test_pair_cost_takes_alike_feet_and_refuses_what_no_person_stands_on():
    left, right = block(10, 10, 50, 18), block(10, 32, 50, 18)
    assert cost([left], [right]) == 0.0
    assert cost([left], [block(10, 32, 36, 18)]) == math.inf  # 250 against 180 mm long
    assert cost([left], [block(10, 32, 50, 10)]) == math.inf  # half the area
    assert 0 < cost([left], [block(10, 32, 46, 18)]) < math.inf  # toes that did not touch
    assert cost([block(0, 10, 50, 18)], [block(30, 20, 50, 18)]) == math.inf  # one across the other


def test_two_heels_side_by_side_are_shared_with_their_own_forefeet():
    """Closest first, two heel islands 5 mm apart made one 'foot' beside two forefeet."""
    heels = [block(10, 9, 14, 14), block(10, 26, 14, 14)]  # 15 mm apart, mirror images
    forefeet = [block(30, 6, 24, 18), block(30, 25, 24, 18)]  # touching
    first, second, left_out, found = share_between_two(heels + forefeet, [False] * 4, GRID)
    assert not left_out and found == pytest.approx(0.0, abs=1e-9)
    sides = sorted(sorted(int(p.cells.min()) for p in side) for side in (first, second))
    assert sides == [sorted([heels[0].cells.min(), forefeet[0].cells.min()]),
                     sorted([heels[1].cells.min(), forefeet[1].cells.min()])]


def test_a_knee_beside_is_left_out_and_a_lone_foot_is_no_pair():
    left, right, knee = block(10, 10, 50, 18), block(10, 30, 50, 18), block(20, 50, 10, 10)
    first, second, left_out, _ = share_between_two([left, right, knee], [False, False, True], GRID)
    assert left_out == [knee] and {id(first[0]), id(second[0])} == {id(left), id(right)}
    assert share_between_two([left, knee], [False, True], GRID) is None


def test_a_piece_of_two_touching_feet_is_cut_at_its_neck():
    """Tandem: the rear forefoot and the front heel touch through a neck of two cells."""
    rear_heel, rear_fore = block(2, 20, 14, 14), block(20, 18, 22, 18)
    neck, front_heel, front_fore = block(42, 25, 1, 2), block(43, 20, 14, 14), block(61, 18, 22, 18)
    touching = rear_fore.merged(neck).merged(front_heel)
    first, second, left_out, _ = share_between_two([rear_heel, touching, front_fore], [False] * 3, GRID)
    rows = [np.concatenate([p.cells for p in side]) // GRID.shape[1] for side in (first, second)]
    rear, front = sorted(rows, key=lambda r: r.min())
    assert rear.max() <= 43 and front.min() >= 42 and not left_out


def test_a_print_of_many_big_pieces_is_weighed_in_bounded_time():
    """Eight print-sized squares scattered, no two sets of them a pair of feet, each offered cut
    at four necks: weighing every share took 4.3-4.6 s; the search weighs 12,000 at most
    (MAX_WEIGHED), 0.12-0.13 s here, then keeps the best found so far (here none)."""
    import time

    corners = [(0, 0), (0, 40), (20, 20), (40, 0), (40, 40), (60, 20), (65, 45), (20, 45)]
    pieces = [block(row, col, 13, 13) for row, col in corners]
    started = time.perf_counter()
    assert share_between_two(pieces, [False] * len(pieces), GRID) is None
    assert time.perf_counter() - started < 2.0


def test_a_flat_neck_is_cut_in_its_middle_and_measured_against_the_widest_line():
    """Two feet touching along a bridge two columns wide: cut at the bridge's first column, the
    right foot took a column of the left's (a child's feet: 44.5 % where it is 48.8 %)."""
    left, bridge, right = block(10, 10, 40, 9), block(20, 19, 6, 2), block(10, 21, 40, 9)
    cut = next(narrowest_cuts(left.merged(bridge).merged(right), GRID))  # columns first
    assert cut.width == 6 and cut.neck == pytest.approx(6 / 40)
    halves = [half.cells % GRID.shape[1] for half in cut.halves]
    assert (halves[0].min(), halves[0].max(), halves[1].min(), halves[1].max()) == (10, 19, 20, 29)
    square = block(10, 10, 20, 20)  # no neck at all: cut at the first line of the middle, as ever
    assert next(narrowest_cuts(square, GRID)).neck == 1.0


def test_a_print_alone_is_parted_only_into_two_feet_side_by_side():
    """Two small feet touching side by side make one print no wider than an adult foot: parted
    at the neck. A heel and a forefoot joined by a thin strip (a very high arch) can pass for
    two short feet one after the other: never parted (two of SpeedPP2DS subject 1's steps were)."""
    left, bridge, right = block(10, 10, 40, 9), block(20, 19, 6, 2), block(10, 21, 40, 9)
    halves = parted_at_a_neck(left.merged(bridge).merged(right), GRID)
    assert halves is not None and [len(h.cells) for h in halves] == [len(left.cells) + 6, len(right.cells) + 6]
    heel, strip, forefoot = block(10, 20, 24, 12), block(34, 29, 10, 3), block(44, 20, 24, 12)
    one_foot = heel.merged(strip).merged(forefoot)
    cut = min(narrowest_cuts(one_foot, GRID, 2), key=lambda cut: cut.neck)
    a, b = (shape_of(half) for half in cut.halves)
    assert pair_cost(a[0], b[0], a[1], b[1], a[2], b[2]) < math.inf  # alike enough for a pair in tandem
    assert parted_at_a_neck(one_foot, GRID) is None
    assert parted_at_a_neck(block(10, 10, 50, 18), GRID) is None  # one wide foot: no neck


def test_a_blob_is_shared_as_the_pieces_it_was_joined_from():
    """Both forefeet of very high arches made one blob: shared whole, it could go to neither foot."""
    a, b, speck = block(10, 10, 10, 10), block(10, 30, 10, 10), block(12, 41, 1, 1)
    pieces = apart(a.merged(b).merged(speck), GRID)
    assert sorted(sorted(p.cells.tolist()) for p in pieces) == sorted(
        [sorted(a.cells.tolist()), sorted(b.cells.tolist() + speck.cells.tolist())])
    assert apart(a.merged(speck), GRID)[0].cells.size == a.cells.size + 1  # one piece and a speck: as it is
