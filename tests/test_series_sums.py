"""The measuring pass's reductions (pressure/kernels/series_sums.py) against NumPy's, which they
replace: to the bit where NumPy sums in plain order, on random series with unloaded frames and
NaN peaks, and on the series of a real recording."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pressure.kernels.series_sums import add_series, feed_regions
from pressure.measures.regions import N_PER_CM2_IN_KPA, RegionMeasures
from tests import naive
from tests.conftest import FIXTURES

STATE = ("peak", "peak_frame", "area", "force", "force_sum", "peak_sum", "pressure_sum", "loaded_frames")


def random_series(rng, n_frames: int, slots: int, nan_peaks: bool):
    force = rng.random((n_frames, slots)) * 300
    force[rng.random(force.shape) < 0.3] = 0.0  # unloaded slots: no COP, no area
    area = np.where(force > 0, rng.random(force.shape) * 40 + 0.5, 0.0)
    peak = np.where(force > 0, rng.random(force.shape) * 500, 0.0)
    peak[rng.random(force.shape) < 0.05] = 250.0  # ties: the first frame of the highest is kept
    if nan_peaks:
        peak[rng.random(force.shape) < 0.02] = np.nan
    cop_x = np.where(force > 0, rng.random(force.shape) * 400, np.nan)
    cop_y = np.where(force > 0, rng.random(force.shape) * 600, np.nan)
    return force, area, peak, cop_x, cop_y


@settings(max_examples=60, deadline=None)
@given(n_frames=st.integers(1, 40), slots=st.integers(1, 12), rows_before=st.integers(0, 5),
       nan_peaks=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_add_series_matches_numpy(n_frames, slots, rows_before, nan_peaks, seed):
    rng = np.random.default_rng(seed)
    series = random_series(rng, n_frames, slots, nan_peaks)
    total_rows = rows_before + n_frames + 3
    start = [rng.random((total_rows, 2)) for _ in range(5)]  # sums so far, in two columns
    got, want = [a.copy() for a in start], [a.copy() for a in start]
    add_series(*got, rows_before, 1, *series)
    naive.add_series(*want, rows_before, 1, *series)
    for name, g, w in zip(("force", "area", "peak", "moment_x", "moment_y"), got, want):
        if slots < 8:  # NumPy's plain order: the same to the bit
            np.testing.assert_array_equal(g, w, err_msg=name)
        else:  # NumPy sums longer rows pairwise
            np.testing.assert_allclose(g, w, rtol=1e-13, err_msg=name)


def fresh_state(n_regions: int) -> dict:
    measures = RegionMeasures(n_regions, 100.0)
    return {name: getattr(measures, name).copy() for name in STATE}


@settings(max_examples=60, deadline=None)
@given(blocks=st.lists(st.integers(1, 30), min_size=1, max_size=4), regions=st.integers(1, 10),
       nan_peaks=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_feed_regions_matches_numpy_block_after_block(blocks, regions, nan_peaks, seed):
    rng = np.random.default_rng(seed)
    got, want = fresh_state(regions), fresh_state(regions)
    before = 0
    for n_frames in blocks:
        force, area, peak, _, _ = random_series(rng, n_frames, regions, nan_peaks)
        feed_regions(force, area, peak, before, N_PER_CM2_IN_KPA, *(got[name] for name in STATE))
        naive.feed_regions(force, area, peak, before, N_PER_CM2_IN_KPA, want)
        before += n_frames
    for name in STATE:
        if regions > 1 or not name.endswith("_sum"):
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        else:  # NumPy sums a single column pairwise
            np.testing.assert_allclose(got[name], want[name], rtol=1e-13, err_msg=name)


def test_on_the_series_of_a_recorded_walk():
    """A walk's own per-frame series, each region of the whole mat: the kernels give NumPy's."""
    import drivers
    from pressure.kernels.frame_metrics import frame_metrics

    recording = drivers.load(str(FIXTURES / "walking.h5"))
    rows, cols = recording.cells.shape[1:]
    labels = (np.arange(rows)[:, None] * 4 // rows) * 2 + (np.arange(cols)[None, :] * 2 // cols)  # 8 regions
    metrics = frame_metrics(np.asarray(recording.cells), labels, 8, threshold_kpa=5.0, pitch_x_mm=5.0,
                            pitch_y_mm=5.0)
    series = tuple(getattr(metrics, name)[:, :8] for name in ("force_n", "contact_area_cm2", "peak_kpa", "cop_x_mm",
                                                              "cop_y_mm"))
    for slots in (slice(0, 4), slice(0, 8)):
        part = tuple(np.ascontiguousarray(values[:, slots]) for values in series)
        got = [np.zeros((len(part[0]), 1)) for _ in range(5)]
        want = [np.zeros((len(part[0]), 1)) for _ in range(5)]
        add_series(*got, 0, 0, *part)
        naive.add_series(*want, 0, 0, *part)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=0 if slots.stop < 8 else 1e-13)
    got, want = fresh_state(8), fresh_state(8)
    feed_regions(*series[:3], 0, N_PER_CM2_IN_KPA, *(got[name] for name in STATE))
    naive.feed_regions(*series[:3], 0, N_PER_CM2_IN_KPA, want)
    for name in STATE:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_combine_adds_contacts_and_refuses_a_series_longer_than_its_window():
    import pytest

    from pressure.contacts.series import combine, summed
    from pressure.kernels.frame_metrics import FrameMetrics

    def series(force, cop_x):
        force, cop_x = np.array(force, float), np.array(cop_x, float)
        return FrameMetrics(force, force / 10, force * 2, cop_x, cop_x + 1)

    a = series([[10.0, 30.0], [0.0, 0.0]], [[1.0, 5.0], [np.nan, np.nan]])
    b = series([[20.0, 0.0]], [[7.0, np.nan]])
    both = combine([a, b], [(0, 1), (1, 1)], [[0, 1]], 3)
    np.testing.assert_array_equal(both.force_n[:, 0], [40.0, 20.0, 0.0])
    np.testing.assert_array_equal(both.peak_kpa[:, 0], [60.0, 40.0, 0.0])
    np.testing.assert_allclose(both.cop_x_mm[:, 0], [4.0, 7.0, np.nan])  # force-weighted, NaN without load
    empty = summed(series(np.zeros((0, 2)), np.zeros((0, 2))))
    assert empty.force_n.shape == (0, 1)
    with pytest.raises(ValueError, match="contact 0: 2 frames of series for its frames 2-3 of 3"):
        combine([a], [(2, 3)], [[0]], 3)
