"""Region measures, step curves and step selection (issue 14), against hand-computed cases."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pressure.measures.curves import STANCE_POINTS, cop_along_across, foot_mean_sd, normalised
from pressure.measures.regions import contact_region_measures, foot_region_means
from pressure.measures.selection import StepSelection, selected_steps
from tests.conftest import FIXTURES


def test_region_measures_by_hand():
    # Two regions over four frames at 10 Hz; the second is loaded in frames 1-2 only.
    force = np.array([[10.0, 0.0], [20.0, 5.0], [30.0, 15.0], [10.0, 0.0]])
    area = np.array([[2.0, 0.0], [4.0, 1.0], [5.0, 1.5], [2.0, 0.0]])
    peak = np.array([[60.0, 0.0], [80.0, 70.0], [90.0, 120.0], [55.0, 0.0]])
    m = contact_region_measures(force, area, peak, rate_hz=10.0)
    np.testing.assert_allclose(m["peak_pressure"], [90.0, 120.0])
    np.testing.assert_allclose(m["mean_pressure"], [10 * np.mean([5, 5, 6, 5]), 10 * np.mean([5, 10])])
    np.testing.assert_allclose(m["contact_area"], [5.0, 1.5])
    np.testing.assert_allclose(m["force"], [30.0, 15.0])
    np.testing.assert_allclose(m["fti"], [7.0, 2.0])
    np.testing.assert_allclose(m["pti"], [28.5, 19.0])
    np.testing.assert_allclose(m["time_of_peak"], [200 / 3, 200 / 3])
    np.testing.assert_allclose(m["relative_load"], [700 / 9, 200 / 9])


def test_a_region_never_loaded_is_nan_not_zero():
    m = contact_region_measures(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]), np.array([[10.0, 0.0]]), 100.0)
    assert all(np.isnan(values[1]) for values in m.values())
    assert m["relative_load"][0] == 100.0


def test_foot_means_over_contacts():
    from pressure.measures.regions import REGION_MEASURES

    first = {name: np.array([1.0, np.nan]) for name in REGION_MEASURES}
    second = {name: np.array([3.0, 4.0]) for name in REGION_MEASURES}
    means = foot_region_means([first, second], [0, 0], 2)
    np.testing.assert_allclose(means["peak_pressure"][0], [2.0, 4.0])  # NaN (not loaded) is left out
    assert np.isnan(means["fti"][1]).all()  # no contact of the right foot


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=300))
def test_normalised_is_linear_interpolation_over_the_contact(values):
    series = np.array(values)
    expected = np.interp(np.linspace(0, len(series) - 1, STANCE_POINTS), np.arange(len(series)), series)
    # Rounding at the series' own scale: near zero a relative tolerance alone failed on 5e-324 against 0.
    scale = 1e-12 * max(1.0, float(np.abs(series).max()))
    np.testing.assert_allclose(normalised(series), expected, atol=scale)
    stacked = normalised(np.stack([series, 2 * series], axis=1))
    np.testing.assert_allclose(stacked, [expected, 2 * expected], atol=2 * scale)


def test_normalised_keeps_ends_and_bridges_nan():
    curve = normalised(np.array([0.0, np.nan, 10.0]))
    assert curve[0] == 0.0 and curve[-1] == 10.0 and curve[50] == pytest.approx(5.0)
    assert normalised(np.array([7.0])).tolist() == [7.0] * STANCE_POINTS


def test_cop_in_the_foot_frame_reads_the_same_for_both_feet():
    heel, axis = np.array([100.0, 50.0]), np.array([0.0, 1.0])  # walking along +y
    # 10 mm towards the other foot: +x for the left foot, -x for the right one.
    along, across = cop_along_across(np.array([110.0]), np.array([80.0]), heel, axis, "left")
    assert along[0] == 30.0 and across[0] == 10.0
    along, across = cop_along_across(np.array([90.0]), np.array([80.0]), heel, axis, "right")
    assert along[0] == 30.0 and across[0] == 10.0


def test_mean_and_sd_per_foot():
    curves = np.array([[1.0, 2.0], [3.0, 4.0], [10.0, 10.0], [99.0, 99.0]])
    mean, sd = foot_mean_sd(curves, np.array([0, 0, 1, -1]))
    np.testing.assert_allclose(mean, [[2.0, 3.0], [10.0, 10.0]])
    np.testing.assert_allclose(sd[0], [np.sqrt(2), np.sqrt(2)])
    assert np.isnan(sd[1]).all()  # one step: no SD


def test_step_selection_skips_ends_cut_and_short_steps():
    time_s = np.arange(100) / 10.0
    steps = [SimpleNamespace(first=10 * k, last=10 * k + length, complete=complete)
             for k, (length, complete) in enumerate([(8, True), (8, True), (3, True), (8, False), (8, True), (8, True)])]
    assert selected_steps(steps, time_s, StepSelection()).tolist() == [True, True, True, False, True, True]
    assert selected_steps(steps, time_s, StepSelection(skip=1)).tolist() == [False, True, True, False, True, False]
    assert selected_steps(steps, time_s, StepSelection(min_stance_s=0.5)).tolist() == [
        True, True, False, False, True, True]


def test_a_walk_gets_region_measures_and_curves():
    import drivers
    from pressure.analysis import Options, analyse

    recording = drivers.load(str(FIXTURES / "walking.h5"))
    dataset, _ = analyse(recording)
    fti = dataset["step_region_fti"].where(dataset["region_set"] == "thirds", drop=True).sum("region").values
    np.testing.assert_allclose(fti, dataset["step_impulse"].values, rtol=1e-6)
    assert dataset["step_force_curve"].shape == (dataset.sizes["step"], 101)
    curve = dataset["step_force_curve"].values[0]
    assert curve[0] < 0.2 * curve.max() and curve[-1] < 0.2 * curve.max()  # a step starts and ends unloaded
    along = dataset["step_cop_along_curve"].values
    assert (np.diff(along[:, 5:95], axis=1) > -2.0).all()  # the COP rolls heel to toe
    for division in ("thirds", "anatomical"):  # each division covers the feet once
        regions = dataset["region_force_series"].where(dataset["region_set"] == division, drop=True)
        np.testing.assert_allclose(regions.sum("region"), dataset["force"], atol=1e-6)
        load = dataset["step_region_relative_load"].where(dataset["region_set"] == division, drop=True)
        np.testing.assert_allclose(load.sum("region"), 100.0)
    skipped, _ = analyse(recording, Options(skip_steps=1))
    assert skipped["step_selected"].values.tolist() == [False, True, False]
    assert np.isnan(skipped["curve_force_mean"].sel(foot="right")).all()  # its right steps were both ends


def test_user_regions_from_the_command_line(tmp_path):
    import xarray as xr
    from typer.testing import CliRunner

    from pressure.cli import app

    masks = tmp_path / "masks.toml"
    masks.write_text('units = "percent"\n'
                     '[[region]]\nname = "rearfoot"\npolygon = [[0, -60], [30, -60], [30, 60], [0, 60]]\n'
                     '[[region]]\nname = "front"\npolygon = [[30, -60], [101, -60], [101, 60], [30, 60]]\n')
    runner = CliRunner()
    result = runner.invoke(app, ["process", str(FIXTURES / "walking.h5"), "-o", str(tmp_path / "w.h5"),
                                 "--regions", str(masks), "-q"])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(tmp_path / "w.h5", engine="h5netcdf") as dataset:
        user = dataset.where(dataset["region_set"] == "user", drop=True)
        assert list(user["region"].values) == ["rearfoot", "front"]
        load = user["step_region_relative_load"].values
        np.testing.assert_allclose(load.sum(axis=1), 100.0, atol=0.5)  # the two cover the print
        assert (load[:, 0] > 15).all() and (load[:, 0] < 45).all()  # the rear 30 % carries the heel
    masks.write_text("[[region]]\nname = 'x'\n")
    bad = runner.invoke(app, ["process", str(FIXTURES / "walking.h5"), "-o", str(tmp_path / "b.h5"),
                              "--regions", str(masks)])
    assert bad.exit_code == 1 and bad.stderr.startswith(f"error: {masks}") and bad.stderr.count("\n") == 1


def test_a_user_region_s_relative_load_is_its_share_of_the_whole_contact(tmp_path):
    """The README's one-region example (MTH1) carried 100 % of the load: its share of itself."""
    import drivers
    from pressure.analysis import Options, analyse
    from pressure.regions.user_masks import load_masks

    masks = tmp_path / "mth1.toml"
    masks.write_text('units = "mm"\n[[region]]\nname = "MTH1"\npolygon = [[150, 0], [200, 0], [200, 45], [150, 45]]\n')
    results, _ = analyse(drivers.load(str(FIXTURES / "walking.h5")), Options(user_masks=load_masks(masks)))
    steps = results["step_region_relative_load"]
    thirds_fti = results["step_region_fti"].sel(region=["hindfoot", "midfoot", "forefoot", "toes"]).sum("region")
    share = 100 * results["step_region_fti"].sel(region="MTH1") / thirds_fti
    np.testing.assert_allclose(steps.sel(region="MTH1"), share, rtol=1e-9)
    assert (steps.sel(region="MTH1") < 60).all() and (steps.sel(region="MTH1") > 5).all()


def test_a_pedar_insole_gets_anatomical_regions_from_its_template():
    import drivers
    from pressure.analysis import analyse
    from tests.conftest import shared_file

    path = shared_file("novel_pedar/pedar_example.asc")
    dataset, _ = analyse(drivers.load(str(path)))
    anatomical = dataset.where(dataset["region_set"] == "anatomical", drop=True)
    load = anatomical["region_relative_load"].values
    assert np.isfinite(load).all() and (load > 0).all()
    np.testing.assert_allclose(load.sum(axis=1), 100.0, atol=1.0)


def test_the_mean_image_of_standing_by_hand(monkeypatch):
    """Each cell's mean kPa over the frames in which the person stood, read in blocks of 7
    frames that cut through them, counted while the cell is loaded (0 at or below the threshold,
    as in every other measure); NaN on masked cells."""
    import drivers
    import drivers.session_frames as session_frames
    from pressure.analysis import Options, analyse

    recording = drivers.load(str(FIXTURES / "standing.h5"))
    monkeypatch.setattr(session_frames, "BLOCK_BYTES", 7 * recording.cells[0].nbytes)
    results, _ = analyse(recording)
    standing = (recording.time_s >= results.attrs["standing_from_s"]) & (recording.time_s <= results.attrs["standing_to_s"])
    assert 0 < standing.sum() <= len(standing)
    kpa = recording.kpa()[standing].astype(np.float64)
    expected = np.where(kpa > Options().threshold_kpa, kpa, 0.0).mean(axis=0)
    assert (expected > 0).mean() < 0.5  # most of the mat is unloaded: the threshold is tested
    usable = results["cell_mask"].values == 0
    np.testing.assert_allclose(results["mean_pressure_image"].values[usable], expected[usable], rtol=1e-6)
    assert np.isnan(results["mean_pressure_image"].values[~usable]).all()


def test_standing_has_a_mean_image_walking_has_none():
    import drivers
    from pressure.analysis import analyse

    standing, _ = analyse(drivers.load(str(FIXTURES / "standing.h5")))
    walking, _ = analyse(drivers.load(str(FIXTURES / "walking.h5")))
    mean = standing["mean_pressure_image"].values
    peak = standing["peak_pressure_image"].values
    assert np.nanmax(mean) > 10 and (np.nan_to_num(mean) <= np.nan_to_num(peak) + 1e-9).all()
    assert np.isnan(walking["mean_pressure_image"].values).all()


def test_one_frame_has_no_time_integrals_and_says_it_is_a_static_print():
    """A template image read at a made-up 1 Hz gave a PTI of its peak times 1 s."""
    from benchmarks.accuracy import static_image
    from pressure.analysis import analyse
    from pressure.pictures.text import title_lines
    from pressure.summary import results_caption
    from tests.conftest import shared_file

    results, _ = analyse(static_image(shared_file("mun104_template/MUN104L.csv")))
    left = results.sel(foot="left")
    for name in ("region_pti", "region_fti", "region_time_of_peak"):
        assert np.isnan(left[name].values).all(), name
    assert np.isfinite(left["region_peak_pressure"].values).all()
    anatomical = left["region_relative_load"].values[results["region_set"].values == results["region_set"].values[0]]
    assert anatomical.sum() == pytest.approx(100.0)
    assert "one frame (a static print)" in results_caption(results)
    assert title_lines(results)[0].endswith("standing, one frame (a static print)")


def test_two_frames_have_time_integrals():
    force = np.array([[10.0], [20.0]])
    measures = contact_region_measures(force, np.ones_like(force), force * 2, rate_hz=100.0)
    assert measures["fti"][0] == pytest.approx(0.3) and measures["pti"][0] == pytest.approx(0.6)
    assert measures["time_of_peak"][0] == pytest.approx(100.0)


@pytest.mark.parametrize("source", ["walking", "emed"])
def test_every_division_from_one_read_of_the_frames(source):
    """block_metrics sums each cell once, in the piece of its contact that lies in the same regions
    of every division, and adds the pieces up into each division's regions: each contact's
    metrics in each division are those of its own cells summed alone over its own frames, exactly
    (integer frames). Contacts overlap in cells and time; the second division leaves cells out."""
    import drivers
    from pressure.contacts.series import block_metrics
    from pressure.kernels.frame_metrics import frame_metrics
    from tests.conftest import shared_file

    path = FIXTURES / "walking.h5" if source == "walking" else shared_file("pressuRe_extdata/emed_test.lst")
    recording = drivers.load(str(path))
    frames = np.asarray(recording.cells)
    if frames.dtype.kind == "f":
        frames = np.round(frames).astype(np.int32)
    n, rows, cols = frames.shape
    rng = np.random.default_rng(5)
    windows, thirds, quarters = [], [], []
    for _ in range(6):
        first = int(rng.integers(0, n - 1))
        windows.append((first, int(rng.integers(first, n))))
        cells = np.sort(rng.choice(rows * cols, size=int(rng.integers(1, rows * cols // 2)), replace=False))
        thirds.append((cells, rng.integers(0, 3, len(cells))))
        kept = rng.random(len(cells)) < 0.7
        quarters.append((cells[kept], rng.integers(0, 4, int(kept.sum()))))
    geometry = dict(threshold_kpa=2.0, scale_kpa=1.0, pitch_x_mm=5.0, pitch_y_mm=7.0)
    pieces: dict[int, list[list]] = {}
    for _, _, measured in block_metrics(frames, [(3, thirds), (4, quarters)], windows, geometry, block_frames=7):
        for index, (_, metrics) in measured.items():
            pieces.setdefault(index, []).append(metrics)
    for index, (first, last) in enumerate(windows):
        for d, (slots, division) in enumerate([(3, thirds), (4, quarters)]):
            labels = np.full(rows * cols, -1)
            labels[division[index][0]] = division[index][1]
            alone = frame_metrics(frames[first:last + 1], labels.reshape(rows, cols), slots, **geometry)
            for name in ("force_n", "contact_area_cm2", "peak_kpa", "cop_x_mm", "cop_y_mm"):
                got = np.concatenate([getattr(block[d], name) for block in pieces[index]])
                np.testing.assert_array_equal(got, getattr(alone, name)[:, :slots], err_msg=f"{index} {d} {name}")
