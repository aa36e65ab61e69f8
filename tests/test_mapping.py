"""Pedobarographic mapping: footprints, registration, templates and per-pixel statistics.

Registration is checked against transforms we applied ourselves (a NumPy-made foot and the
MUN104 template, resampled through a known rotation, scale and shift onto a 5 mm mat), the
statistics against scipy.stats pixel by pixel, and the whole chain on a few real SpeedPP2DS steps.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from pressure.mapping import statistics as mstats
from pressure.mapping.footprints import Footprint, as_side, mirrored
from pressure.mapping.registration import (MIN_CORRELATION, Similarity, failure_reason, on_grid, register,
                                           register_all, resample, similarity)
from pressure.mapping.template import mun104, read_mun104, study_template
from tests.conftest import shared_file

MAT_PITCH_MM = 5.0


# -- a foot made with NumPy -------------------------------------------------------------------------
def blob(x, y, cx, cy, sx, sy, height, angle_deg=0.0):
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    u, v = c * (x - cx) + s * (y - cy), -s * (x - cx) + c * (y - cy)
    return height * np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))


def synthetic_foot(x, y):
    """Peak pressure (kPa) of a right foot, heel at y = 40 mm, toes at y = 250 mm, medial at small x:
    heel, a lateral midfoot band, five metatarsal heads, the hallux and the lesser toes."""
    p = blob(x, y, 60, 45, 17, 20, 300)
    p += blob(x, y, 78, 120, 9, 35, 60, angle_deg=-8)
    for k, (cx, height) in enumerate([(40, 260), (55, 220), (68, 180), (80, 150), (92, 120)]):
        p += blob(x, y, cx, 195 - 4 * k, 8, 10, height)
    p += blob(x, y, 38, 240, 9, 11, 280)
    for k, cx in enumerate((58, 70, 81, 91)):
        p += blob(x, y, cx, 232 - 5 * k, 5, 6, 90)
    return np.where(p > 8.0, p, 0.0)


def synthetic_template(pitch_mm=2.0):
    x = np.arange(0.0, 140.0 + pitch_mm / 2, pitch_mm)
    y = np.arange(0.0, 290.0 + pitch_mm / 2, pitch_mm)
    image = synthetic_foot(x[None, :], y[:, None])
    return xr.DataArray(image, dims=("y_mm", "x_mm"), coords={"y_mm": y, "x_mm": x},
                        attrs={"pitch_mm": pitch_mm, "side": "right", "source": "synthetic", "units": "kPa"})


def footprint_through(template, rotation_deg, scale, shift_mm, shape=(70, 40), foot="right"):
    """The template seen on a 5 mm mat after a known similarity: footprint = S(template), so cell
    centre q of the mat shows the template at S^-1(q). Returns the footprint and S."""
    x, y = np.asarray(template["x_mm"]), np.asarray(template["y_mm"])
    centre = np.array([x.mean(), y.mean()])
    mat_centre = np.array([(shape[1] - 1) * MAT_PITCH_MM / 2, (shape[0] - 1) * MAT_PITCH_MM / 2])
    truth = similarity(np.array([rotation_deg, np.log(scale), 0.0, 0.0]), centre, mat_centre + np.asarray(shift_mm))
    pitch = float(template.attrs["pitch_mm"])
    mat = xr.DataArray(np.zeros(shape), dims=("y_mm", "x_mm"),
                       coords={"y_mm": np.arange(shape[0]) * MAT_PITCH_MM, "x_mm": np.arange(shape[1]) * MAT_PITCH_MM},
                       attrs={"pitch_mm": MAT_PITCH_MM})
    shifted = similarity(np.array([-rotation_deg, -np.log(scale), 0.0, 0.0]), mat_centre + np.asarray(shift_mm),
                         centre - np.array([x[0], y[0]]))
    image = resample(np.asarray(template), pitch, pitch, shifted, mat)
    axis = truth.matrix @ np.array([0.0, 1.0])
    return Footprint(image, image * 0.4, MAT_PITCH_MM, MAT_PITCH_MM, foot, False, axis / np.hypot(*axis),
                     (0.0, 0.0), "made"), truth


def worst_point_error_mm(estimated, truth, template) -> float:
    """Largest distance between where the estimated and the true transform put the foot's pixels."""
    inside = np.argwhere(np.asarray(template) > 0.05 * float(template.max()))
    xy = np.column_stack([np.asarray(template["x_mm"])[inside[:, 1]], np.asarray(template["y_mm"])[inside[:, 0]]])
    return float(np.max(np.hypot(*(estimated.apply(xy) - truth.apply(xy)).T)))


# Tolerances: the footprint is sampled on 5 mm cells and bilinear resampling smooths both ways;
# a fifth of a cell anywhere on the foot, half a degree and 1 % of size are well inside what
# pixel-level statistics need (a 2 mm template pixel) and several times what we measure: at most
# 0.13 mm, 0.015 degrees and 0.08 % for made and MUN104 feet, 0.4 mm, 0.1 degrees and 0.25 % for
# real SpeedPP2DS steps moved through a known transform.
MAX_POINT_ERROR_MM = 1.0
MAX_ROTATION_ERROR_DEG = 0.5
MAX_SCALE_ERROR = 0.01


@pytest.mark.parametrize("rotation_deg, scale, shift_mm", [(0.0, 1.0, (0.0, 0.0)), (12.0, 1.12, (8.0, -6.0)),
                                                           (-17.0, 0.88, (-5.0, 10.0))])
def test_registration_recovers_a_known_similarity_of_a_made_foot(rotation_deg, scale, shift_mm):
    template = synthetic_template()
    footprint, truth = footprint_through(template, rotation_deg, scale, shift_mm)
    found = register(footprint, template)
    assert abs(found.transform.rotation_deg - rotation_deg) < MAX_ROTATION_ERROR_DEG
    assert abs(found.transform.scale / scale - 1) < MAX_SCALE_ERROR
    assert worst_point_error_mm(found.transform, truth, template) < MAX_POINT_ERROR_MM
    assert found.correlation > 0.97 and not found.failure


def test_registration_recovers_a_known_similarity_of_mun104(shared_data):
    template = mun104("right")
    footprint, truth = footprint_through(template, 9.0, 0.93, (4.0, 7.0))
    found = register(footprint, template)
    assert abs(found.transform.rotation_deg - 9.0) < MAX_ROTATION_ERROR_DEG
    assert abs(found.transform.scale / 0.93 - 1) < MAX_SCALE_ERROR
    assert worst_point_error_mm(found.transform, truth, template) < MAX_POINT_ERROR_MM


def moved(footprint: Footprint, rotation_deg, scale, shift_mm, shape=(75, 45)):
    """A footprint as the mat would show it after a known similarity S (footprint' = S(footprint)),
    and S; both on 5 mm cells."""
    pitch = footprint.pitch_x_mm
    source_centre = (np.array(footprint.peak_kpa.shape[::-1]) - 1) * pitch / 2
    target_centre = (np.array(shape[::-1]) - 1) * pitch / 2 + np.asarray(shift_mm, float)
    truth = similarity(np.array([rotation_deg, np.log(scale), 0.0, 0.0]), source_centre, target_centre)
    inverse = similarity(np.array([-rotation_deg, -np.log(scale), 0.0, 0.0]), target_centre, source_centre)
    mat = xr.DataArray(np.zeros(shape), dims=("y_mm", "x_mm"), attrs={"pitch_mm": pitch},
                       coords={"y_mm": np.arange(shape[0]) * pitch, "x_mm": np.arange(shape[1]) * pitch})
    image = resample(footprint.peak_kpa, pitch, pitch, inverse, mat)
    axis = truth.matrix @ footprint.axis
    return Footprint(image, image, pitch, pitch, "right", False, axis / np.hypot(*axis), (0.0, 0.0)), truth


def then(second: Similarity, first: Similarity) -> Similarity:
    """p -> second(first(p))."""
    return Similarity(0.0, 1.0, 0.0, 0.0, second.matrix @ first.matrix, second.matrix @ first.offset + second.offset)


def test_resampled_footprint_lands_on_the_template():
    template = synthetic_template()
    footprint, _ = footprint_through(template, 10.0, 1.05, (3.0, 3.0))
    found = register(footprint, template)
    # The footprint's pressure, back on the template grid, is the template's (up to resampling twice).
    assert mstats.outline(template).sum() > 0
    assert found.inside > 0.99
    assert np.corrcoef(found.peak_kpa.ravel(), np.asarray(template).ravel())[0, 1] > 0.97
    np.testing.assert_allclose(found.mean_kpa, 0.4 * found.peak_kpa, atol=1e-9)


def test_failures_are_flagged():
    template = synthetic_template()
    rng = np.random.default_rng(3)
    noise = np.where(rng.random((70, 40)) > 0.7, rng.random((70, 40)) * 200, 0.0)
    found = register(Footprint(noise, noise, 5.0, 5.0, "right", False, np.array([0.0, 1.0]), (0.0, 0.0)), template)
    assert found.correlation < MIN_CORRELATION and "correlation" in found.failure
    assert failure_reason(0.9, 0.99, 1.0) == ""
    assert "scale" in failure_reason(0.9, 0.99, 2.0)
    assert "load" in failure_reason(0.9, 0.5, 1.0)


def test_nonrigid_refinement_does_not_lose_correlation(monkeypatch):
    from pressure.mapping import registration

    monkeypatch.setattr(registration, "CONTROL_SPACING_MM", 100.0)  # few control points keep the test fast
    template = synthetic_template(pitch_mm=4.0)  # a coarser grid keeps the test fast
    footprint, _ = footprint_through(template, 5.0, 1.0, (0.0, 0.0))
    found = register(footprint, template, nonrigid=True)
    assert found.displacement_mm is not None and found.displacement_mm.shape == (2,) + template.shape
    assert found.correlation >= found.rigid_correlation - 1e-9


# -- mirroring ----------------------------------------------------------------------------------------
def test_mirroring_flips_columns_and_the_axis():
    image = np.arange(12.0).reshape(3, 4)
    left = Footprint(image, image / 2, 5.0, 7.0, "left", False, np.array([0.6, 0.8]), (10.0, 20.0))
    right = mirrored(left)
    np.testing.assert_array_equal(right.peak_kpa, image[:, ::-1])
    np.testing.assert_array_equal(right.mean_kpa, image[:, ::-1] / 2)
    np.testing.assert_allclose(right.axis, [-0.6, 0.8])
    assert (right.foot, right.side, right.mirrored) == ("left", "right", True)
    assert as_side(right, "right") is right
    back = as_side(right, "left")
    np.testing.assert_array_equal(back.peak_kpa, image)
    assert (back.side, back.mirrored) == ("left", False)


def test_a_mirrored_left_foot_registers_like_the_right_one():
    template = synthetic_template()
    right, _ = footprint_through(template, 6.0, 1.0, (0.0, 0.0))
    left = mirrored(right)  # what the mat would show of the same foot as a left one
    left = Footprint(left.peak_kpa, left.mean_kpa, 5.0, 5.0, "left", False, left.axis, (0.0, 0.0))
    with pytest.raises(ValueError, match="mirror"):
        register(left, template)
    back = register(as_side(left, "right"), template)
    direct = register(right, template)
    assert abs(back.correlation - direct.correlation) < 1e-6
    np.testing.assert_allclose(back.peak_kpa, direct.peak_kpa, atol=1e-6)


# -- statistics against scipy.stats ------------------------------------------------------------------
def stack(values):
    n, ny, nx = values.shape
    return xr.DataArray(values, dims=("step", "y_mm", "x_mm"),
                        coords={"step": np.arange(n), "y_mm": np.arange(ny) * 2.0, "x_mm": np.arange(nx) * 2.0})


def test_mean_and_sd_maps():
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 50.0, size=(15, 6, 5))
    np.testing.assert_allclose(mstats.mean_map(stack(values)), values.mean(axis=0))
    np.testing.assert_allclose(mstats.sd_map(stack(values)), values.std(axis=0, ddof=1))


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # scipy, on the constant pixel
def test_welch_t_map_matches_scipy_pixel_by_pixel():
    rng = np.random.default_rng(1)
    a = rng.normal(100, 20, size=(12, 7, 6))
    b = rng.normal(90, 35, size=(19, 7, 6))
    b[:, 0, 0] = 5.0  # no variance in one group
    a[:, 0, 0] = 5.0
    got = mstats.welch_t_map(stack(a), stack(b))
    want = stats.ttest_ind(a, b, axis=0, equal_var=False)
    finite = np.isfinite(want.statistic)
    assert not np.isfinite(got["t"].values[0, 0])
    np.testing.assert_allclose(got["t"].values[finite], want.statistic[finite], rtol=1e-10)
    np.testing.assert_allclose(got["p"].values[finite], want.pvalue[finite], rtol=1e-8)
    np.testing.assert_allclose(got["dof"].values[finite], want.df[finite], rtol=1e-10)


def test_correlation_map_matches_scipy_pixel_by_pixel():
    rng = np.random.default_rng(2)
    speed = rng.uniform(0.8, 2.2, 40)
    values = rng.normal(0, 1, size=(40, 6, 5)) + speed[:, None, None] * rng.normal(0, 1, size=(1, 6, 5))
    values[:, 2, 3] = 7.0
    got = mstats.correlation_map(stack(values), speed)
    for row in range(6):
        for col in range(5):
            if (row, col) == (2, 3):
                assert np.isnan(got["r"].values[row, col])
                continue
            want = stats.pearsonr(speed, values[:, row, col])
            assert got["r"].values[row, col] == pytest.approx(want.statistic, abs=1e-12)
            assert got["p"].values[row, col] == pytest.approx(want.pvalue, rel=1e-8)


def test_within_group_correlation_is_the_correlation_of_centred_data():
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(4), 10)
    speed = rng.uniform(0.8, 2.2, 40) + groups  # groups differ in speed and in pressure level
    values = rng.normal(0, 1, size=(40, 4, 3)) + 50 * groups[:, None, None] - speed[:, None, None]
    got = mstats.correlation_map(stack(values), speed, groups=groups)
    centred_speed = speed - np.array([speed[groups == g].mean() for g in groups])
    centred = values - np.stack([values[groups == g].mean(axis=0) for g in groups])
    for row, col in [(0, 0), (3, 2)]:
        assert got["r"].values[row, col] == pytest.approx(stats.pearsonr(centred_speed, centred[:, row, col])[0],
                                                          abs=1e-12)
    assert got["t"].attrs["dof"] == 40 - 4 - 1
    assert (got["r"].values < 0).all()  # within subjects pressure falls with speed; across them it rises


def test_group_correlation_is_a_one_sample_t_of_fisher_z():
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(5), 12)
    speed = rng.uniform(0.8, 2.2, 60)
    values = rng.normal(0, 1, size=(60, 3, 3)) + 0.8 * speed[:, None, None]
    got = mstats.group_correlation(stack(values), speed, groups)
    per_group = np.array([[stats.pearsonr(speed[groups == g], values[groups == g, 1, 2])[0] for g in range(5)]])
    np.testing.assert_allclose(got["r_group"].values[:, 1, 2], per_group[0], atol=1e-12)
    want = stats.ttest_1samp(np.arctanh(per_group[0]), 0.0)
    assert got["t"].values[1, 2] == pytest.approx(want.statistic, rel=1e-10)
    assert got["p"].values[1, 2] == pytest.approx(want.pvalue, rel=1e-8)
    assert got["r_mean"].values[1, 2] == pytest.approx(np.tanh(np.arctanh(per_group[0]).mean()), abs=1e-12)


def test_permutation_threshold_under_the_null_and_with_an_effect():
    rng = np.random.default_rng(6)
    speed = rng.uniform(0.8, 2.2, 30)
    null = rng.normal(0, 1, size=(30, 8, 8))
    result = mstats.permutation_threshold(stack(null), speed, n_permutations=300, seed=1)
    # Above a single pixel's critical |r| (0.36 for n = 30), below 1.
    assert 0.36 < result["threshold"] < 0.8
    effect = null + 2.0 * (speed - speed.mean())[:, None, None]
    assert mstats.permutation_threshold(stack(effect), speed, n_permutations=300, seed=1)["p_fwe"] < 0.01
    a, b = rng.normal(0, 1, (10, 5, 5)), rng.normal(0, 1, (12, 5, 5))
    welch = mstats.permutation_threshold(stack(a), second=stack(b), n_permutations=200, seed=2)
    assert welch["statistic"] == "t" and welch["threshold"] > stats.t.ppf(0.975, 18)


# -- templates and regions ------------------------------------------------------------------------------
def test_mun104_template_loads_on_a_2_mm_grid(shared_data):
    shared_file("mun104_template/MUN104R.csv")
    assert read_mun104("right").shape == (63, 27)
    template = mun104("right")
    assert template.dims == ("y_mm", "x_mm")
    assert template.shape == (156, 66)  # 62 x 5 mm / 2 + 1 by 26 x 5 mm / 2 + 1
    assert float(template["y_mm"][-1]) == 310.0 and float(template["x_mm"][-1]) == 130.0
    assert template.attrs["side"] == "right" and template.attrs["pitch_mm"] == 2.0
    assert float(template.max()) == pytest.approx(read_mun104("right").max(), rel=0.05)
    # The left template is (nearly) the right one mirrored.
    left = np.asarray(mun104("left"))[:, ::-1]
    assert np.corrcoef(left.ravel(), np.asarray(template).ravel())[0, 1] > 0.9


def test_on_grid_keeps_cell_centres():
    image = np.arange(20.0).reshape(4, 5)
    grid = on_grid(image, 5.0, 5.0, 2.5)
    np.testing.assert_allclose(np.asarray(grid)[::2, ::2], image)


def test_regions_of_a_right_template():
    template = synthetic_template()
    four = mstats.template_regions(template, "four")
    ten = mstats.template_regions(template, "ten")
    assert mstats.region_names(four) == list(mstats.FOUR_REGIONS)
    assert mstats.region_names(ten) == list(mstats.TEN_REGIONS)
    y = np.asarray(template["y_mm"])[:, None] * np.ones(template.shape)
    x = np.ones(template.shape) * np.asarray(template["x_mm"])[None, :]
    labels = np.asarray(four)
    centres = [y[labels == k].mean() for k in range(4)]
    assert centres[0] < centres[1] < centres[2] < centres[3]  # heel to toes
    labels = np.asarray(ten)
    assert all((labels == k).any() for k in range(10))
    assert x[labels == 0].mean() < x[labels == 1].mean()  # medial heel at small x on a right foot
    assert x[labels == 3].mean() < x[labels == 7].mean()  # MTH1 medial of MTH5
    assert x[labels == 8].mean() < x[labels == 9].mean()  # hallux medial of the lesser toes
    assert y[labels == 8].mean() > y[labels == 3].mean()
    summary = mstats.region_summary(stack(np.stack([np.asarray(template)] * 2)), ten, "max")
    assert summary.dims == ("step", "region") and (summary.values > 0).all()


def test_study_template_takes_the_footprints_mean_size():
    made = synthetic_template(pitch_mm=3.0)
    feet = [footprint_through(made, angle, scale, (0.0, 0.0))[0] for angle, scale in
            [(3.0, 0.9), (-4.0, 1.0), (5.0, 1.1)]]
    start = made.copy(data=np.asarray(made)).assign_attrs(source="made")
    template = study_template(feet, start=start, iterations=2)
    again = register_all(feet, template)
    # The footprints' mean size is the made foot's: registered to the study template the scales
    # average 1 (the first template was already that size; iterating must not let it drift).
    assert np.exp(np.log(again["scale"].values).mean()) == pytest.approx(1.0, abs=0.02)
    assert (again["correlation"].values > 0.95).all()


# -- real footsteps -------------------------------------------------------------------------------------
def test_real_speedpp2ds_steps_register_to_mun104(shared_data):
    from benchmarks.accuracy import speedpp2ds_trials
    from pressure.analysis import analyse
    from pressure.mapping.footprints import footprints

    path = shared_file("speedpp2ds/subj002.h5")
    shared_file("mun104_template/MUN104R.csv")
    steps = []
    for index, (_, recording) in enumerate(speedpp2ds_trials(path)):  # slow, fast, fast
        _, analysis = analyse(recording)
        found = footprints(recording, analysis)
        assert len(found) == 1 and found[0].foot == "right" and not found[0].mirrored
        steps += found
        if index == 2:
            break
    template = mun104("right")
    registered = register_all(steps, template, metadata={"trial": [0, 1, 2]})
    assert registered["peak_pressure"].dims == ("step", "y_mm", "x_mm")
    assert not registered["failed"].any()
    assert (registered["correlation"] > 0.75).all()
    assert ((registered["scale"] > 0.85) & (registered["scale"] < 1.15)).all()
    # The heel lands in the template's heel: the registered peak's highest rows-third is the rearfoot.
    four = mstats.template_regions(template, "four")
    means = mstats.region_summary(registered["peak_pressure"], four, "mean")
    assert (means.sel(region="rearfoot") > means.sel(region="midfoot")).all()
    # Shown as a left foot and registered to the left template, a step gives the same quality.
    left = register(as_side(steps[0], "left"), mun104("left"))
    assert left.correlation == pytest.approx(float(registered["correlation"][0]), abs=0.03)
    # The same real step moved through a known transform registers to that transform after its own.
    first = register(steps[1], template)
    again, truth = moved(steps[1], 14.0, 1.08, (6.0, -4.0))
    second = register(again, template)
    assert abs(second.transform.rotation_deg - first.transform.rotation_deg - 14.0) < MAX_ROTATION_ERROR_DEG
    assert abs(second.transform.scale / (first.transform.scale * 1.08) - 1) < MAX_SCALE_ERROR
    assert worst_point_error_mm(second.transform, then(truth, first.transform), template) < MAX_POINT_ERROR_MM


def test_maps_are_drawn(tmp_path):
    template = synthetic_template(pitch_mm=4.0)
    rng = np.random.default_rng(7)
    values = stack(rng.normal(0, 1, (12,) + template.shape)).assign_coords(y_mm=template["y_mm"],
                                                                            x_mm=template["x_mm"])
    r = mstats.correlation_map(values, rng.uniform(1, 2, 12))["r"]
    path = tmp_path / "map.png"
    mstats.save_maps({"r": r, "mean": mstats.mean_map(values)}, template, path,
                     regions=mstats.template_regions(template), thresholds={"r": 0.5})
    assert path.stat().st_size > 10_000


def test_a_footprint_as_first_template_lies_heel_to_toe_along_y():
    from pressure.mapping.registration import template_axes
    from pressure.mapping.template import from_footprint

    footprint, _ = footprint_through(synthetic_template(), 20.0, 1.0, (0.0, 0.0))
    template = from_footprint(footprint)
    assert template.dims == ("y_mm", "x_mm") and template.attrs["side"] == "right"
    assert template_axes(template).angle_deg == pytest.approx(90.0, abs=1.0)
    assert register(footprint, template).correlation > 0.97


def test_a_nonrigid_registration_of_a_print_on_the_grid_is_not_flagged(shared_data):
    """Regression: the warp's local stretching was counted as load off the grid (94 %), so every
    non-rigid registration was flagged."""
    import drivers
    from pressure.mapping.footprints import footprints
    from pressure.mapping.registration import register
    from pressure.mapping.template import mun104
    from tests.conftest import FIXTURES

    footprint = footprints(drivers.load(str(FIXTURES / "walking.h5")))[0]
    registration = register(footprint, mun104(), nonrigid=True)
    assert registration.inside > 0.99 and registration.failure == ""
    assert registration.correlation >= registration.rigid_correlation
