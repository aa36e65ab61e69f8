"""Numba kernels against their NumPy twins on random frames, NaN, all-zero and single-cell cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from benchmarks.reference import frame_metrics_numpy
from pressure.kernels.cell_totals import cell_totals
from pressure.kernels.components import label_components
from pressure.kernels.loaded_cells import KeptCells, keep_loaded, restore_loaded
from pressure.kernels.frame_metrics import (FRAMES_PER_TASK, LANES, PREFETCH_AHEAD, frame_metrics, frame_sums,
                                            plan_boxes)
from pressure.kernels.peak_image import CellExtremes, cell_summary
from tests import naive
from tests.conftest import FIXTURES, shared_file

PITCH_X, PITCH_Y = 5.0, 7.0


def check_peer(got, frames, labels, n_labels, **geometry):
    """The benchmark's NumPy peer gives the kernel's outputs: peaks exactly; area, force and COP from the
    same counts and sums (exact for integer frames), so up to the last bit of the unit conversion, which
    the kernel may reassociate (fast-math)."""
    peer = frame_metrics_numpy(frames, labels, n_labels, **geometry)
    np.testing.assert_array_equal(peer.peak_kpa, got.peak_kpa)
    rtol = 1e-14 if np.issubdtype(frames.dtype, np.integer) else 1e-12
    for name in ("contact_area_cm2", "force_n", "cop_x_mm", "cop_y_mm"):
        np.testing.assert_allclose(getattr(peer, name), getattr(got, name), rtol=rtol, atol=1e-12, err_msg=name)


def check_metrics(frames, labels, n_labels, threshold_kpa, scale=1.0):
    geometry = dict(threshold_kpa=threshold_kpa, scale_kpa=scale, pitch_x_mm=PITCH_X, pitch_y_mm=PITCH_Y)
    got = frame_metrics(frames, labels, n_labels, **geometry)
    check_peer(got, frames, labels, n_labels, **geometry)
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


@settings(max_examples=40, deadline=None)
@given(dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.float32]), n_labels=st.integers(1, 7),
       n_groups=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_grouped_sums_match_numpy_and_summing_the_groups_cells(dtype, n_labels, n_groups, seed):
    """Labels summed once and added up into groups give the groups' own sums: exactly for integer
    frames, to the last bits of a float sum's order otherwise."""
    rng = np.random.default_rng(seed)
    frames = (rng.random((9, 6, 11)) * 120).astype(dtype)
    labels = rng.integers(-1, n_labels, size=(6, 11))
    group = rng.integers(-1, n_groups, size=n_labels)
    geometry = dict(threshold_kpa=30.0, scale_kpa=0.5, pitch_x_mm=PITCH_X, pitch_y_mm=PITCH_Y)
    sums = frame_sums(frames, labels, n_labels, **geometry)
    grouped = sums.grouped(group, n_groups)
    raw = {key: getattr(sums, key).astype(np.float64) for key in ("total", "moment_col", "moment_row", "count", "peak")}
    want = naive.grouped_sums(raw, group, n_groups)
    for key, values in want.items():
        np.testing.assert_allclose(getattr(grouped, key), values, rtol=1e-12, err_msg=key)
    coarse = np.where(labels >= 0, group[np.maximum(labels, 0)], -1)
    direct = frame_metrics(frames, coarse, n_groups, **geometry)
    exact = np.issubdtype(frames.dtype, np.integer)
    for name in ("force_n", "contact_area_cm2", "peak_kpa", "cop_x_mm", "cop_y_mm"):
        got, expected = getattr(grouped.metrics(), name), getattr(direct, name)
        if exact:
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=name)


def test_grouped_sums_refuse_groups_that_do_not_fit():
    sums = frame_sums(np.ones((2, 3, 3), np.uint16), np.zeros((3, 3), int), 1, threshold_kpa=0.0,
                      pitch_x_mm=1, pitch_y_mm=1)
    with pytest.raises(ValueError, match="group has 2 labels"):
        sums.grouped(np.array([0, 0]), 1)
    with pytest.raises(ValueError, match="groups go up to 3"):
        sums.grouped(np.array([3]), 2)


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


def sparse_feet(rows: int, cols: int, rng, n_feet: int = 2) -> np.ndarray:
    """Foot-like blobs (ellipses) a few dozen cells across, placed at random on a large mat."""
    labels = np.full((rows, cols), -1)
    r, c = np.indices((rows, cols))
    for foot in range(n_feet):
        centre_r, centre_c = rng.integers(25, rows - 25), rng.integers(10, cols - 10)
        inside = ((r - centre_r) / 24.0) ** 2 + ((c - centre_c) / 9.0) ** 2 <= 1
        labels[inside & (labels < 0)] = foot
    return labels


@pytest.mark.parametrize("dtype, n_frames", [(dtype, n) for dtype in (np.uint16, np.uint8, np.float32)
                                              for n in (1, PREFETCH_AHEAD, PREFETCH_AHEAD + 1)]
                         + [(np.uint16, FRAMES_PER_TASK + 3)])
def test_frame_metrics_large_sparse_frames(dtype, n_frames):
    """256x256 frames of which two feet cover about 1.5 %: the kernel reads only their box rows (and asks
    for those of frames ahead), across frame counts around the prefetch distance and a task's length."""
    rng = np.random.default_rng(n_frames)
    labels = sparse_feet(256, 256, rng)
    top = 255 if dtype == np.uint8 else 4000
    frames = rng.integers(0, top, size=(n_frames, 256, 256)).astype(dtype)
    if dtype == np.float32:
        frames[:, 100:140:3, ::5] = np.nan
    check_metrics(frames, labels, 2, threshold_kpa=30.0, scale=0.1 if dtype == np.uint16 else 1.0)


def test_frame_metrics_box_rows_wider_than_several_cache_lines():
    """A label 200 cells wide on 16-bit cells spans seven cache lines a row; a thin one sits at the edges."""
    labels = np.full((40, 256), -1)
    labels[5:30, 20:220] = 0
    labels[0:40, 255] = 1
    labels[39, 0] = 1
    frames = np.random.default_rng(7).integers(0, 65536, size=(9, 40, 256)).astype(np.uint16)
    check_metrics(frames, labels, 2, threshold_kpa=1000.0, scale=0.1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), rows=st.integers(60, 300), cols=st.integers(30, 300),
       n_frames=st.integers(1, 12), threshold=st.integers(0, 3000))
def test_frame_metrics_property_on_large_sparse_mats(seed, rows, cols, n_frames, threshold):
    rng = np.random.default_rng(seed)
    labels = sparse_feet(rows, cols, rng, n_feet=int(rng.integers(1, 4)))
    frames = rng.integers(0, 4096, size=(n_frames, rows, cols)).astype(np.uint16)
    check_metrics(frames, labels, 3, threshold_kpa=float(threshold))


def test_frame_metrics_on_a_captured_session_with_its_contacts():
    """fixtures/standing.h5 (the real capture path) with the feet the analysis finds: kernel, twin and
    NumPy peer agree, and again with the same frames placed in the middle of a 256x256 mat."""
    import drivers
    from pressure.analysis import analyse

    recording = drivers.load(str(FIXTURES / "standing.h5"))
    labels = analyse(recording)[1].labels()
    n_labels = int(labels.max()) + 1
    check_metrics(recording.cells, labels, n_labels, threshold_kpa=5.0, scale=recording.info.scale_kpa)
    some = recording.cells[::4]
    big = np.zeros((len(some), 256, 256), some.dtype)
    big[:, 96:160, 96:160] = some
    big_labels = np.full((256, 256), -1)
    big_labels[96:160, 96:160] = labels
    check_metrics(big, big_labels, n_labels, threshold_kpa=5.0, scale=recording.info.scale_kpa)


def test_frame_metrics_on_a_real_insole_with_masked_cells():
    """A Tekscan F-Scan insole (float kPa, NaN outside the insole): kernel, twin and peer agree."""
    import drivers

    recording = drivers.load(str(shared_file("tekscan_fscan/FrasP01L.asf")))
    outside = np.isnan(recording.cells[0])
    rows = np.arange(outside.shape[0])[:, None]
    labels = np.where(outside, -1, (rows >= outside.shape[0] // 2).astype(int))  # the insole's two halves
    check_metrics(recording.cells, labels, 2, threshold_kpa=3.0)


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
@given(frames=frame_arrays)
def test_cell_summary_property(frames):
    peak, floor = cell_summary(frames)
    want_peak, want_floor = naive.cell_summary(frames)
    np.testing.assert_allclose(peak, want_peak)
    np.testing.assert_allclose(floor, want_floor)


def test_cell_summary_integer_frames():
    rng = np.random.default_rng(4)
    frames = rng.integers(0, 100, size=(30, 9, 11)).astype(np.uint16)
    frames[:, 2, 3] = 77  # a stuck cell
    summary = cell_summary(frames)
    for got, want in zip(summary, naive.cell_summary(frames)):
        np.testing.assert_array_equal(got, want)
    assert summary[0][2, 3] == summary[1][2, 3] == 77


TOTAL_DTYPES = ["uint8", "int8", "uint16", "int16", "int32", "uint32", "float32", "float64", "bool", ">u2", ">f4",
                "float16"]


@settings(max_examples=120, deadline=None)
@given(dtype=st.sampled_from(TOTAL_DTYPES),
       shape=st.tuples(st.integers(0, 40), st.integers(1, 9), st.integers(1, 9)), data=st.data())
def test_cell_totals_are_numpys_sums_bit_for_bit(dtype, shape, data):
    frames = data.draw(arrays(np.dtype(dtype), shape))  # extremes, NaN and infinities included
    with np.errstate(invalid="ignore", over="ignore"):
        want = frames.sum(axis=0, dtype=np.float64)
    np.testing.assert_array_equal(cell_totals(frames), want)
    np.testing.assert_array_equal(cell_totals(frames[:, ::-1, 1:]), frames[:, ::-1, 1:].sum(axis=0, dtype=np.float64))


@settings(max_examples=120, deadline=None)
@given(dtype=st.sampled_from(TOTAL_DTYPES + ["int64", "uint64"]),
       shape=st.tuples(st.integers(1, 40), st.integers(1, 9), st.integers(1, 9)), data=st.data())
def test_cell_extremes_are_numpys_fmax_and_fmin(dtype, shape, data):
    frames = data.draw(arrays(np.dtype(dtype), shape))  # extremes, NaN and infinities included
    for view in (frames, frames[:, ::-1, 1:]):
        if view.size == 0:
            continue
        got = CellExtremes.of(view)
        np.testing.assert_array_equal(got.highest, np.fmax.reduce(view, axis=0))
        np.testing.assert_array_equal(got.lowest, np.fmin.reduce(view, axis=0))
        np.testing.assert_array_equal(got.some_nan, np.isnan(view).any(axis=0) if view.dtype.kind == "f"
                                      else np.zeros(view.shape[1:], bool))
        assert got.highest.dtype == got.lowest.dtype == np.fmax.reduce(view, axis=0).dtype


@settings(max_examples=80, deadline=None)
@given(dtype=st.sampled_from(["float32", "float64", "int16", "int64", "uint16", "float16", ">f4"]),
       shape=st.tuples(st.integers(1, 20), st.integers(1, 4), st.integers(1, 4)), cut=st.integers(0, 20), data=st.data())
def test_the_checks_of_the_values_read_from_the_extremes(dtype, shape, cut, data):
    """NaN somewhere or everywhere in a cell, and the lowest value, as NumPy reads them off the frames."""
    from pressure.reading import FrameChecks

    frames = data.draw(arrays(np.dtype(dtype), shape))
    checks = FrameChecks()
    for part in (frames[:cut], frames[cut:]):
        checks.feed(part)
    assert checks.frames == len(frames)
    if frames.dtype.kind == "f":
        nan = np.isnan(frames)
        np.testing.assert_array_equal(checks.some_nan, nan.any(axis=0))
        np.testing.assert_array_equal(checks.all_nan, nan.all(axis=0))
        assert checks.lowest == min(0.0, float(np.nanmin(frames, initial=0.0)))
    else:
        assert checks.some_nan is None
        assert checks.lowest == min(0.0, float(frames.min())) if frames.dtype.kind == "i" else checks.lowest == 0.0


@pytest.mark.parametrize("name", ["tekscan_fscan/FrasP01L.asf", "novel_pedar/pedar_example.asc"])
def test_cell_extremes_on_real_recordings(name):
    """F-Scan: float kPa with NaN outside the insole; pedar: its sensors' values as read."""
    import drivers

    cells = np.asarray(drivers.load(str(shared_file(name))).cells)
    for frames in (cells, cells.astype(np.float32)):
        got = CellExtremes.of(frames)
        np.testing.assert_array_equal(got.highest, np.fmax.reduce(frames, axis=0))
        np.testing.assert_array_equal(got.lowest, np.fmin.reduce(frames, axis=0))
        np.testing.assert_array_equal(got.some_nan, np.isnan(frames).any(axis=0))


LOADED_DTYPES = ["uint8", "int8", "uint16", "int16", "int32", "uint32", "int64", "float32", "float64"]


@settings(max_examples=150, deadline=None)
@given(dtype=st.sampled_from(LOADED_DTYPES), shape=st.tuples(st.integers(0, 30), st.integers(1, 9), st.integers(1, 9)),
       above=st.floats(-300, 300), data=st.data())
def test_loaded_cells_kept_and_restored_are_numpys(dtype, shape, above, data):
    """Bits and values as NumPy's packbits and boolean index give them, for any size (a last byte
    part filled); restored, the frames with every other cell 0. Extremes, NaN and infinities."""
    from pressure.kernels import counted_above

    frames = data.draw(arrays(np.dtype(dtype), shape))
    threshold = counted_above(frames.dtype, above)
    if threshold is None:
        return  # every value counts: nothing is left out (KeptFrames keeps nothing then)
    want_bits, want_values = naive.loaded_cells(frames, threshold)
    bits, values = keep_loaded(frames, threshold)
    np.testing.assert_array_equal(bits, want_bits)
    np.testing.assert_array_equal(values, want_values)
    restored = restore_loaded(bits, values, np.full_like(frames, 7))
    np.testing.assert_array_equal(restored, np.where(frames > threshold, frames, frames.dtype.type(0)))
    np.testing.assert_array_equal(cell_totals(frames, above), naive.loaded_totals(frames, threshold))


def test_loaded_cells_of_blocks_one_after_another_in_one_room():
    """A room used again for a smaller block keeps nothing of the one before."""
    rng = np.random.default_rng(5)
    room = KeptCells(5 * 8 * 8, np.uint16)
    for n in (5, 3, 5, 1):
        frames = rng.integers(0, 100, (n, 8, 8)).astype(np.uint16)
        bits, values = keep_loaded(frames, 60, room)
        restored = restore_loaded(bits, values, np.empty_like(frames))
        np.testing.assert_array_equal(restored, np.where(frames > 60, frames, 0))


def test_restoring_from_bits_that_ask_for_more_values_than_kept_is_refused():
    frames = np.arange(20, dtype=np.uint16).reshape(1, 4, 5)
    bits, values = keep_loaded(frames, 10)
    with pytest.raises(ValueError, match="not the loaded cells"):
        restore_loaded(bits, values[:-1], np.empty_like(frames))
    with pytest.raises(ValueError, match="not the loaded cells"):
        restore_loaded(bits, values, np.empty((2, 4, 5), np.uint16))


@pytest.mark.parametrize("name", ["tekscan_fscan/FrasP01L.asf", "pressuRe_extdata/emed_test.lst"])
def test_loaded_cells_of_real_recordings(name):
    """F-Scan: float kPa with NaN outside the insole; emed: a plate's print."""
    import drivers

    for cells in (np.asarray(drivers.load(str(shared_file(name))).cells),):
        for frames in (cells, cells.astype(np.float32)):
            bits, values = keep_loaded(frames, 5.0)
            want_bits, want_values = naive.loaded_cells(frames, frames.dtype.type(5.0))
            np.testing.assert_array_equal(bits, want_bits)
            np.testing.assert_array_equal(values, want_values)
            assert 0 < len(values) < frames.size
            np.testing.assert_array_equal(restore_loaded(bits, values, np.empty_like(frames)),
                                          np.where(frames > 5.0, frames, 0))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16"])
def test_cell_totals_of_narrow_integers_never_overflow(dtype):
    """More frames of the type's extremes than a 32-bit accumulator holds in one strip."""
    info = np.iinfo(dtype)
    frames = np.empty((70_000 if info.bits == 16 else 9_000_000, 1, 2), dtype)
    frames[:, 0, 0], frames[:, 0, 1] = info.max, info.min
    np.testing.assert_array_equal(cell_totals(frames), frames.sum(axis=0, dtype=np.float64))


@pytest.mark.parametrize("name", ["tekscan_fscan/FrasP01L.asf", "novel_pedar/pedar_example.asc"])
def test_cell_totals_on_real_recordings(name):
    """F-Scan: float kPa with NaN outside the insole; pedar: its sensors' values as read."""
    import drivers

    cells = np.asarray(drivers.load(str(shared_file(name))).cells)
    np.testing.assert_array_equal(cell_totals(cells), cells.sum(axis=0, dtype=np.float64))
    np.testing.assert_array_equal(cell_totals(cells.astype(np.float32)), cells.astype(np.float32).sum(axis=0, dtype=np.float64))


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


def test_every_cached_kernel_is_known_to_the_first_run_notice():
    """``compiled_before`` looks at the modules in KERNEL_MODULES: a module whose kernels are
    compiled on a first run and is not listed would compile with no word to the user."""
    import importlib
    import pkgutil

    import pressure.kernels
    from pressure.kernels import KERNEL_MODULES, cache_index

    with_kernels = set()
    for info in pkgutil.iter_modules(pressure.kernels.__path__):
        module = importlib.import_module(f"pressure.kernels.{info.name}")
        if any(cache_index(value) is not None for value in vars(module).values()):
            with_kernels.add(info.name)
    assert with_kernels == set(KERNEL_MODULES)
