"""Numba kernels against their NumPy twins on random frames, NaN, all-zero and single-cell cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pressure.kernels.components import label_components
from pressure.kernels.frame_metrics import LANES, frame_metrics, plan_boxes
from pressure.kernels.peak_image import cell_summary
from tests import naive

PITCH_X, PITCH_Y = 5.0, 7.0


def check_metrics(frames, labels, n_labels, threshold_kpa, scale=1.0):
    got = frame_metrics(frames, labels, n_labels, threshold_kpa=threshold_kpa, scale_kpa=scale,
                        pitch_x_mm=PITCH_X, pitch_y_mm=PITCH_Y)
    threshold = threshold_kpa / scale
    if np.issubdtype(frames.dtype, np.integer):
        threshold = np.floor(threshold)
    want = naive.frame_sums(frames, labels, n_labels, threshold)
    area = PITCH_X * PITCH_Y
    np.testing.assert_allclose(got.force_n, want["total"] * scale * area * 1e-3, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.contact_area_cm2, want["count"] * area / 100)
    np.testing.assert_allclose(got.peak_kpa, want["peak"] * scale, rtol=1e-6)
    with np.errstate(invalid="ignore", divide="ignore"):
        cop_x = np.where(want["total"] > 0, want["moment_col"] / want["total"] * PITCH_X, np.nan)
        cop_y = np.where(want["total"] > 0, want["moment_row"] / want["total"] * PITCH_Y, np.nan)
    np.testing.assert_allclose(got.cop_x_mm, cop_x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.cop_y_mm, cop_y, rtol=1e-9, atol=1e-9)
    return got


@pytest.mark.parametrize("dtype", [np.uint16, np.uint8, np.int32, np.float32, np.float64])
def test_frame_metrics_matches_numpy_on_random_frames(dtype):
    rng = np.random.default_rng(1)
    frames = (rng.random((20, 13, 17)) * 200).astype(dtype)
    labels = rng.integers(-1, 3, size=(13, 17))
    check_metrics(frames, labels, 3, threshold_kpa=40.0)


def test_frame_metrics_integer_frames_with_scale():
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 4000, size=(10, 8, 9)).astype(np.uint16)
    labels = rng.integers(-1, 2, size=(8, 9))
    check_metrics(frames, labels, 2, threshold_kpa=5.05, scale=0.1)


def test_frame_metrics_nan_cells_never_count():
    rng = np.random.default_rng(3)
    frames = (rng.random((6, 10, 10)) * 100).astype(np.float32)
    frames[:, 2:5, 3] = np.nan
    got = check_metrics(frames, np.zeros((10, 10), int), 1, threshold_kpa=0.0)
    assert np.isfinite(got.force_n).all()


def test_frame_metrics_all_zero_frames_give_nan_cop_and_zero_force():
    frames = np.zeros((4, 6, 6), np.uint16)
    got = check_metrics(frames, np.zeros((6, 6), int), 1, threshold_kpa=0.0)
    assert (got.force_n == 0).all() and np.isnan(got.cop_x_mm).all() and np.isnan(got.cop_y_mm).all()


def test_frame_metrics_single_cell_cop_is_the_cell_centre():
    frames = np.zeros((1, 6, 6), np.float32)
    frames[0, 4, 2] = 250.0
    got = check_metrics(frames, np.zeros((6, 6), int), 1, threshold_kpa=5.0)
    assert got.cop_x_mm[0, 0] == pytest.approx(2 * PITCH_X)
    assert got.cop_y_mm[0, 0] == pytest.approx(4 * PITCH_Y)
    assert got.force_n[0, 0] == pytest.approx(250.0 * 1000 * PITCH_X * PITCH_Y * 1e-6)


def test_frame_metrics_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="labels"):
        frame_metrics(np.zeros((2, 3, 3)), np.zeros((3, 4), int), 1, threshold_kpa=0.0, pitch_x_mm=1, pitch_y_mm=1)


def feet_and_regions(rows: int, cols: int) -> np.ndarray:
    """Two prints side by side, each cut into three stacked regions: labels 0-2 left, 3-5 right."""
    labels = np.full((rows, cols), -1)
    thirds = np.linspace(2, rows - 2, 4).astype(int)
    for foot, (first, end) in enumerate([(2, cols // 2 - 3), (cols // 2 + 2, cols - 1)]):
        for region in range(3):
            labels[thirds[region]:thirds[region + 1], first:end] = foot * 3 + region
    return labels


def test_plan_boxes_shares_a_box_between_prints_side_by_side():
    labels = np.full((40, 64), -1)
    labels[5:35, 8:26] = 0
    labels[5:35, 38:56] = 1
    plan = plan_boxes(labels, 5, 65535)
    assert len(plan.boxes) == 1
    first_row, end_row, first_col, width = plan.boxes[0, :4]
    assert (first_row, end_row) == (5, 35) and width % LANES == 0 and first_col <= 8 and first_col + width >= 56
    inside = plan.thresholds[:30, :width] == 5
    np.testing.assert_array_equal(inside, labels[5:35, first_col:first_col + width] >= 0)


def test_plan_boxes_keeps_labels_sharing_columns_apart():
    labels = feet_and_regions(60, 40)
    plan = plan_boxes(labels, 1.0, np.inf)
    for box in plan.boxes:
        members = plan.members[box[5]:box[6]]
        columns = [set(range(first, end)) for _, first, end in members]
        assert all(a.isdisjoint(b) for i, a in enumerate(columns) for b in columns[i + 1:])
    assert sorted(plan.members[:, 0]) == list(range(6))
    assert (plan.boxes[:, 2] >= 0).all() and (plan.boxes[:, 2] + plan.boxes[:, 3] <= 40).all()


def test_plan_boxes_on_a_mat_narrower_than_a_vector():
    labels = np.zeros((5, 3), int)
    plan = plan_boxes(labels, 0, 255)
    assert plan.boxes[0, 2] == 0 and plan.boxes[0, 3] == 3


@pytest.mark.parametrize("shape", [(64, 64), (44, 176), (13, 5)])
def test_frame_metrics_structured_labels_at_full_scale(shape):
    """Feet and regions, cells up to the 16-bit maximum: the 32-bit column sums must not overflow."""
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 65536, size=(40,) + shape).astype(np.uint16)
    frames[:5] = 65535
    labels = feet_and_regions(*shape)
    check_metrics(frames, labels, 6, threshold_kpa=100.0, scale=0.5)


def test_frame_metrics_tall_mat_sums_rows_in_64_bits():
    """A print 400 rows tall at the 16-bit maximum overflows 32-bit running row sums."""
    frames = np.full((3, 400, 10), 65535, np.uint16)
    frames[1, ::7] = 0
    labels = np.zeros((400, 10), int)
    labels[:, 5:] = 1
    check_metrics(frames, labels, 2, threshold_kpa=0.0)


def test_frame_metrics_labels_missing_from_the_mat_carry_no_load():
    frames = np.full((2, 6, 6), 10, np.uint16)
    got = check_metrics(frames, np.zeros((6, 6), int), 3, threshold_kpa=0.0)
    assert (got.force_n[:, 1:3] == 0).all() and np.isnan(got.cop_x_mm[:, 1:3]).all()


label_rectangles = st.lists(st.tuples(st.integers(0, 11), st.integers(1, 12), st.integers(0, 30), st.integers(1, 31)),
                            min_size=1, max_size=5)


@settings(max_examples=60, deadline=None)
@given(rectangles=label_rectangles, seed=st.integers(0, 2**16), threshold=st.integers(0, 70000))
def test_frame_metrics_property_on_rectangular_labels(rectangles, seed, threshold):
    """Rectangles (later ones over earlier ones) as labels, 16-bit frames over the whole range."""
    labels = np.full((12, 31), -1)
    for label, (row, height, col, width) in enumerate(rectangles):
        labels[row:row + height, col:col + width] = label
    frames = np.random.default_rng(seed).integers(0, 65536, size=(7, 12, 31)).astype(np.uint16)
    check_metrics(frames, labels, len(rectangles), threshold_kpa=float(threshold))


frame_arrays = st.tuples(st.integers(1, 6), st.integers(1, 7), st.integers(1, 7)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=st.one_of(
        st.floats(0, 1000, allow_nan=False), st.just(np.nan), st.just(0.0))))


@settings(max_examples=60, deadline=None)
@given(frames=frame_arrays, threshold=st.floats(0, 500), seed=st.integers(0, 2**16))
def test_frame_metrics_property(frames, threshold, seed):
    labels = np.random.default_rng(seed).integers(-1, 2, size=frames.shape[1:])
    check_metrics(frames, labels, 2, threshold_kpa=threshold)


@settings(max_examples=60, deadline=None)
@given(frames=frame_arrays, threshold=st.floats(0, 500), min_run=st.integers(1, 4))
def test_cell_summary_property(frames, threshold, min_run):
    peak, floor, sustained = cell_summary(frames, threshold, min_run)
    want_peak, want_floor, want_sustained = naive.cell_summary(frames, threshold, min_run)
    np.testing.assert_allclose(peak, want_peak)
    np.testing.assert_allclose(floor, want_floor)
    np.testing.assert_array_equal(sustained, want_sustained)


def test_cell_summary_integer_frames():
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 100, size=(30, 9, 11)).astype(np.uint16)
    frames[:, 2, 3] = 77  # a stuck cell
    summary = cell_summary(frames, 60.5, 3)
    for got, want in zip(summary, naive.cell_summary(frames, 60, 3)):
        np.testing.assert_array_equal(got, want)
    assert summary[0][2, 3] == summary[1][2, 3] == 77


@settings(max_examples=80, deadline=None)
@given(mask=st.tuples(st.integers(1, 12), st.integers(1, 12)).flatmap(lambda s: arrays(np.bool_, s)))
def test_label_components_matches_flood_fill(mask):
    labels, n = label_components(mask)
    want_labels, want_n = naive.label_components(mask)
    assert n == want_n
    np.testing.assert_array_equal(labels, want_labels)


def test_label_components_on_a_real_footprint_image():
    from drivers.simulator import simulate

    recording, _ = simulate("sim://standing?duration=0.2&speed=0")
    mask = recording.kpa().max(axis=0) > 5
    labels, n = label_components(mask)
    want_labels, want_n = naive.label_components(mask)
    assert n == want_n >= 2
    np.testing.assert_array_equal(labels, want_labels)
