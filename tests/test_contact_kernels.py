"""The contact-tracking kernels against their plain twins in tests/naive.py, on random and real data."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pressure.kernels.cell_runs import CellRuns, link_runs
from pressure.kernels.peak_image import CellExtremes
from tests import naive


def runs_of(frames, high, low, bridge, chunks=(None,), hold=None):
    """The kernel's runs, the frames fed in pieces cut at ``chunks``."""
    tracker = CellRuns(frames.shape[1:], high, low, bridge, hold_frames=hold)
    cuts = [0, *[c for c in chunks if c is not None], len(frames)]
    for a, b in zip(cuts[:-1], cuts[1:]):
        tracker.feed(frames[a:b])
    runs = tracker.finish()
    return runs, list(zip(runs.cell.tolist(), runs.start.tolist(), runs.end.tolist(), runs.peak.tolist(),
                          runs.count.tolist()))


frames_strategy = st.tuples(st.integers(1, 30), st.integers(1, 5), st.integers(1, 5)).flatmap(
    lambda shape: arrays(np.uint16, shape, elements=st.integers(0, 12)))


@settings(max_examples=150, deadline=None)
@given(frames=frames_strategy, bridge=st.integers(0, 4), cut=st.integers(0, 30),
       hold=st.one_of(st.none(), st.integers(0, 8)))
def test_cell_runs_match_the_plain_twin_however_the_frames_are_chunked(frames, bridge, cut, hold):
    want = naive.cell_runs(frames, 6, 3, bridge, hold)
    _, whole = runs_of(frames, 6, 3, bridge, hold=hold)
    _, chunked = runs_of(frames, 6, 3, bridge, chunks=(min(cut, len(frames)),), hold=hold)
    assert whole == chunked == want


@st.composite
def steady_frames(draw):
    """Float frames whose cells hold each value for a while (loaded for whole chunks, or never
    above the threshold in one: the kernel settles such cells without stepping through them),
    NaN among the values, and the cuts into chunks."""
    n_frames, rows, cols = draw(st.integers(1, 60)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    frames = np.empty((n_frames, rows * cols), np.float32)
    for cell in range(rows * cols):
        at = 0
        while at < n_frames:
            length = draw(st.integers(1, 25))
            frames[at:at + length, cell] = draw(st.sampled_from([0.0, 2.0, 4.0, 7.0, 9.0, np.nan]))
            at += length
    cuts = sorted(draw(st.lists(st.integers(0, n_frames), max_size=4)))
    return frames.reshape(n_frames, rows, cols), cuts


@settings(max_examples=200, deadline=None)
@given(case=steady_frames(), bridge=st.integers(0, 4), hold=st.one_of(st.none(), st.integers(0, 8)),
       dead=st.integers(-1, 8))
def test_cell_runs_of_steady_cells_match_the_plain_twin(case, bridge, hold, dead):
    frames, cuts = case
    rows, cols = frames.shape[1:]
    live = np.ones(rows * cols, bool)
    if 0 <= dead < live.size:
        live[dead] = False
    tracker = CellRuns((rows, cols), 6, 3, bridge, live=live.reshape(rows, cols), hold_frames=hold)
    for a, b in zip([0, *cuts], [*cuts, len(frames)]):
        tracker.feed(frames[a:b])
    runs = tracker.finish()
    got = list(zip(runs.cell.tolist(), runs.start.tolist(), runs.end.tolist(), runs.peak.tolist(),
                   runs.count.tolist()))
    unread = frames.copy().reshape(len(frames), -1)
    unread[:, ~live] = 0  # a dead cell never starts a run: as if it read nothing
    assert got == naive.cell_runs(unread.reshape(frames.shape), 6, 3, bridge, hold)


def stepped_through_every_cell(frames: np.ndarray, tracker: CellRuns) -> None:
    """Feeds ``frames`` with extremes that settle no cell: every cell is stepped frame by frame,
    as the kernel did before it looked at a chunk's extremes."""
    n_cells = frames.shape[1] * frames.shape[2]
    tracker.feed(frames, CellExtremes(np.full(n_cells, np.inf), np.full(n_cells, -np.inf), np.ones(n_cells, bool)))


HELD_VALUES = {  # per dtype: values a cell holds for a while, some of them on either side of the thresholds
    "uint16": [0, 3, 4, 6, 7, 9, 65535],
    "int64": [-2**62, -4, 0, 3, 6, 7, 2**62],
    "uint64": [0, 3, 6, 7, 2**64 - 1],
    "float32": [0.0, 2.0, 5.99999999, 6.0, 7.0, -np.inf, np.inf, np.nan, 3e38],
    "float64": [0.0, 2.0, 5.99999999, 6.0, 7.0, -np.inf, np.inf, np.nan, 1e300],
}


@settings(max_examples=200, deadline=None)
@given(dtype=st.sampled_from(sorted(HELD_VALUES)), high=st.sampled_from([6.0, 5.99999999, -3.5, 0.0, 1e300, 3.4e38]),
       bridge=st.integers(0, 3), hold=st.one_of(st.none(), st.integers(0, 6)), data=st.data())
def test_settling_cells_from_the_extremes_changes_no_run(dtype, high, bridge, hold, data):
    """Whatever the type, the thresholds (not representable in float32, negative, beyond a type's
    range) and the cuts: the runs of cells settled from their chunk's extremes are those of
    stepping through every cell."""
    n_frames, rows, cols = data.draw(st.integers(1, 50)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    frames = np.empty((n_frames, rows * cols), dtype)
    for cell in range(rows * cols):
        at = 0
        while at < n_frames:
            length = data.draw(st.integers(1, 20))
            frames[at:at + length, cell] = data.draw(st.sampled_from(HELD_VALUES[dtype]))
            at += length
    frames = frames.reshape(n_frames, rows, cols)
    cuts = sorted(data.draw(st.lists(st.integers(0, n_frames), max_size=4)))
    live = data.draw(arrays(np.bool_, (rows, cols)))
    low = high / 2 if high > 0 else high * 2
    got, want = (CellRuns((rows, cols), high, low, bridge, live=live, hold_frames=hold) for _ in range(2))
    for a, b in zip([0, *cuts], [*cuts, n_frames]):
        got.feed(frames[a:b])
        stepped_through_every_cell(frames[a:b], want)
    for one, other in zip(astuple(got.finish()), astuple(want.finish())):
        np.testing.assert_array_equal(one, other)


def test_a_creeping_sensor_does_not_hold_the_spot():
    """A cell that reads just under the threshold for long after the foot left ends its run."""
    series = np.array([0, 9, 9, 9, 4, 4, 4, 4, 4, 4, 4, 4, 9, 9, 0], np.uint16)
    frames = series[:, None, None]
    _, runs = runs_of(frames, 6, 3, 1, hold=3)
    assert [(start, end) for _, start, end, _, _ in runs] == [(1, 4), (12, 13)]


def test_cell_runs_of_float_frames_with_nan_and_a_full_output_buffer():
    rng = np.random.default_rng(5)
    frames = rng.uniform(0, 10, size=(200, 40, 40)).astype(np.float32)  # many short runs: the buffer grows
    frames[:, 3, 3] = np.nan
    _, got = runs_of(frames, 5.0, 2.5, 1)
    assert got == naive.cell_runs(frames, 5.0, 2.5, 1)
    assert len(got) > 2 * 40 * 40 + 1024  # more runs than the first buffer holds


def test_live_mask_keeps_cells_out():
    frames = np.full((5, 2, 2), 9, np.uint16)
    tracker = CellRuns((2, 2), 5, 2, 0, live=np.array([[True, False], [True, True]]))
    tracker.feed(frames)
    assert sorted(tracker.finish().cell.tolist()) == [0, 2, 3]


def test_thresholds_are_checked():
    with pytest.raises(ValueError, match="must not be below"):
        CellRuns((2, 2), 2, 5, 0)


@settings(max_examples=100, deadline=None)
@given(frames=frames_strategy, slack=st.integers(0, 3))
def test_link_runs_match_the_pairwise_twin(frames, slack):
    runs, listed = runs_of(frames, 6, 3, slack)
    labels = link_runs(runs, frames.shape[1:], slack)
    got = {}
    for index, label in enumerate(labels.tolist()):
        got.setdefault(label, set()).add(index)
    want = naive.link_runs(listed, frames.shape[1:], slack)
    assert sorted(map(sorted, got.values())) == sorted(map(sorted, want))
    # numbered 0..n-1 in order of each component's first run
    firsts = [min(group) for group in sorted(got.values(), key=min)]
    assert [labels[i] for i in firsts] == list(range(len(firsts)))


def test_kernels_on_a_real_footstep():
    """SpeedPP2DS subject 0, trial 0: a real 500 Hz footstep, heel and forefoot apart."""
    import h5py

    from tests.conftest import shared_file

    with h5py.File(shared_file("speedpp2ds/subj000.h5")) as f:
        frames = np.ascontiguousarray(np.moveaxis(f["img000"][()], 2, 0))[:, 10:40, 5:25]
    runs, got = runs_of(frames, 5, 2.5, 15, chunks=(100, 101, 333), hold=100)
    assert got == naive.cell_runs(frames, 5, 2.5, 15, 100)
    labels = link_runs(runs, frames.shape[1:], 15)
    want = naive.link_runs(got, frames.shape[1:], 15)
    assert labels.max() + 1 == len(want) >= 2
