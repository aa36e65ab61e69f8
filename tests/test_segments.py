"""Contacts tracked over segments of a session read apart and stitched at the seams are those of
one reading of the whole session (issue 15: one session split along time across a cluster)."""

from __future__ import annotations

import h5py
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pressure.contacts.segments import SegmentTracker, stitch_runs
from pressure.contacts.tracking import ContactTracker
from tests.conftest import shared_file


def runs_whole(frames, threshold, rate_hz):
    tracker = ContactTracker(frames.shape[1:], threshold, rate_hz)
    tracker.feed(frames)
    return tracker.runs()


def runs_in_segments(frames, threshold, rate_hz, bounds, block=None):
    segments = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        tracker = SegmentTracker(frames.shape[1:], threshold, rate_hz, start, stop)
        step = block or stop
        for first in range(tracker.warm_up_from, stop, step):  # fed in blocks that may cut the warm-up
            tracker.feed(frames[first:min(first + step, stop)])
        segments.append(tracker.segment())
    return stitch_runs(segments, frames.shape[1] * frames.shape[2])


def assert_same_runs(a, b):
    for name in ("cell", "start", "end", "peak", "count"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(40, 300), st.lists(st.floats(0.01, 0.99), max_size=6),
       st.sampled_from([None, 1, 5, 17]))
def test_segments_stitched_are_the_whole_reading(seed, n, cuts, block):
    rng = np.random.default_rng(seed)
    frames = (rng.random((n, 6, 7)) * 12 * (rng.random((n, 6, 7)) < 0.7)).astype(np.float32)
    # A foot that comes and goes, with dropouts and creep: runs open across every seam.
    frames[:, 2:4, 2:5] += 20 * (np.sin(np.arange(n) / rng.uniform(3, 30))[:, None, None] > -0.3)
    bounds = sorted({0, n, *(int(c * n) for c in cuts)})
    assert_same_runs(runs_in_segments(frames, 5.0, 100.0, bounds, block), runs_whole(frames, 5.0, 100.0))


def test_real_footsteps_split_anywhere():
    with h5py.File(shared_file("speedpp2ds/subj002.h5")) as f:  # ten real footsteps one after another
        frames = np.concatenate([np.moveaxis(f[f"img{k:03d}"][()], 2, 0) for k in range(10)]).astype(np.float32)
    n = len(frames)
    whole = runs_whole(frames, 5.0, 500.0)
    assert len(whole) > 50
    for bounds in ([0, n // 2, n], [0, n // 5, n // 3, 2 * n // 3, n], [0, 1, n - 1, n]):
        assert_same_runs(runs_in_segments(frames, 5.0, 500.0, bounds), whole)
