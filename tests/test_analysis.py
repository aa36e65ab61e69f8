"""The analysis recovers the simulator's ground truth, and refuses what it cannot analyse."""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers.simulator import simulate
from pressure.analysis import InputError, Options, analyse, symmetry_index


def loaded_frames(truth, fraction=0.05):
    force = truth.force_n
    return force > fraction * force.max(axis=0)


def expected_left_share(truth) -> float:
    """Standing: the left foot's share of the force. Walking: its share of the mean step impulse,
    so that one foot's extra contact does not move it."""
    steps = [c for c in truth.contacts if getattr(c, "kind", "step") == "step"]
    if not steps:
        return truth.load_share["left"]
    mean = {}
    for index, foot in enumerate(("left", "right")):
        impulses = [truth.force_n[int(c.start_s * 100): int(c.end_s * 100) + 2, index].sum()
                    for c in steps if c.foot == foot]
        mean[foot] = np.mean(impulses)
    return mean["left"] / (mean["left"] + mean["right"])


def assert_recovers(url, facing="+y", cop_mm=0.5, share_pp=0.5, arch=0.02):
    recording, truth = simulate(url)
    results, _ = analyse(recording, Options(facing=facing))
    loaded = loaded_frames(truth)
    for axis in ("x", "y"):
        error = np.abs(results[f"cop_{axis}"].values - getattr(truth, f"cop_{axis}_mm"))[loaded]
        assert error.max() < cop_mm, f"COP {axis} off by {error.max():.3f} mm"
    share = results["load_share"].values
    assert share[0] == pytest.approx(expected_left_share(truth), abs=share_pp / 100)
    assert share.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(results["arch_index"].values, truth.arch_index["left"], atol=arch)
    return results, truth


def test_standing_40_60_recovers_cop_share_and_arch():
    results, truth = assert_recovers("sim://standing?imbalance=0.2&speed=0&duration=4")
    assert results.attrs["activity"] == "standing"
    assert list(results["arch_type"].values) == ["normal", "normal"]
    assert float(results["symmetry_index"]) == pytest.approx(40.0, abs=2.0)
    force = truth.force_n
    np.testing.assert_allclose(results["force"].values, force, rtol=0.01, atol=2.0)


@pytest.mark.parametrize("arch", ["high", "normal", "flat"])
def test_standing_arch_types(arch):
    results, _ = assert_recovers(f"sim://standing?arch={arch}&speed=0&duration=1")
    assert list(results["arch_type"].values) == [arch, arch]


def test_standing_facing_minus_x():
    results, _ = assert_recovers("sim://standing?facing=-x&speed=0&duration=1", facing="-x")
    assert results.attrs["direction"] == "-x"


def test_walking_finds_every_step_in_order():
    results, truth = assert_recovers("sim://walking?speed=0")
    assert results.attrs["activity"] == "walking"
    assert list(results["step_foot"].values) == [c.foot for c in truth.contacts]
    frame = 0.01
    np.testing.assert_allclose(results["step_start"].values, [c.start_s for c in truth.contacts], atol=2 * frame)
    np.testing.assert_allclose(results["step_end"].values, [c.end_s for c in truth.contacts], atol=2 * frame)


def test_walking_along_minus_x():
    results, _ = assert_recovers("sim://walking?direction=-x&speed=0")
    assert results.attrs["direction"] == "-x"


def test_results_follow_the_schema():
    results, _ = analyse(drivers.load("sim://standing?speed=0&duration=0.5"))
    assert list(results["foot"].values) == ["left", "right"]
    assert results["force"].dims == ("time", "foot") and results["force"].attrs["units"] == "N"
    assert results["contact_area"].attrs["units"] == "cm^2"
    assert results["symmetry_index"].attrs["units"] == "%"
    assert results["arch_index"].dims == ("foot",)
    assert results["step_start"].dims == ("step",)


def test_insoles_take_their_feet_from_the_device():
    from tests.conftest import shared_file

    recording = drivers.load(str(shared_file("xsensor_insole/xsensor_data.csv")))
    results, _ = analyse(recording)
    # 1.3 s of walking: each insole has two contacts, and only the left has a complete one, so
    # there is no per-step load share (a cut contact's impulse is partial).
    assert list(results["step_foot"].values) == ["left", "right", "left", "right"]
    assert list(results["step_complete"].values) == [False, False, True, False]
    assert np.isnan(results["load_share"].values).all() and np.isnan(float(results["symmetry_index"]))
    assert np.isnan(results["step_length"].values).all()  # insoles have no floor positions
    # The README's peaks: left 2957 mmHg, right 929 mmHg; the left insole carries more in this clip.
    assert results["peak_pressure"].sel(foot="left").max() == pytest.approx(2957 * 0.1333224, rel=1e-3)
    assert np.isnan(results["arch_index"].values).all()  # in-shoe prints have no arch index


def test_symmetry_index_sign():
    assert symmetry_index(40.0, 60.0) == pytest.approx(40.0)
    assert symmetry_index(60.0, 40.0) == pytest.approx(-40.0)
    assert np.isnan(symmetry_index(0.0, 0.0))


def bare(frames, pitch=5.0):
    from drivers import Counters, MatInfo, Recording

    n = len(frames)
    info = MatInfo(rows=frames.shape[1], cols=frames.shape[2], pitch_x_mm=pitch, pitch_y_mm=pitch,
                   rate_hz=100.0, device="test", dtype=frames.dtype)
    return Recording(frames, np.arange(n), np.arange(n) / 100.0, info, Counters(), "test.npy")


def test_an_empty_recording_is_refused():
    with pytest.raises(InputError, match="no frames"):
        analyse(bare(np.zeros((0, 8, 8), np.float32)))


def test_a_recording_without_feet_is_refused():
    frames = np.zeros((20, 30, 30), np.float32)
    frames[:, 3, 3] = 50.0  # a coin, not a foot
    with pytest.raises(InputError, match="no foot found"):
        analyse(bare(frames))


def test_nan_in_live_cells_and_negative_pressure_are_refused():
    frames = np.full((5, 8, 8), 1.0, np.float32)
    frames[2, 1, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        analyse(bare(frames))
    frames = np.full((5, 8, 8), 1.0, np.float32)
    frames[2, 1, 1] = -3.0
    with pytest.raises(InputError, match="negative"):
        analyse(bare(frames))


# -- hard cases ---------------------------------------------------------------------------------
@pytest.mark.parametrize("direction", ["+y", "-y", "+x", "-x"])
def test_walking_in_every_direction(direction):
    results, truth = assert_recovers(f"sim://walking?direction={direction}&speed=0")
    assert results.attrs["direction"] == direction
    assert list(results["step_foot"].values) == [c.foot for c in truth.contacts]
    np.testing.assert_allclose(results["step_start"].values, [c.start_s for c in truth.contacts], atol=0.02)
    np.testing.assert_allclose(results["step_end"].values, [c.end_s for c in truth.contacts], atol=0.02)


@pytest.mark.parametrize("angle", [0, 7, 15])
def test_rotated_feet(angle):
    results, _ = assert_recovers(f"sim://walking?angle={angle}&speed=0")
    # Progression angle: toe-out positive, within 2 degrees of the simulated turn-out.
    np.testing.assert_allclose(results["step_progression_angle"].values, angle, atol=2.0)
    standing, _ = assert_recovers(f"sim://standing?angle={angle}&speed=0&duration=1")


def test_walking_gait_measures():
    results, _ = assert_recovers("sim://walking?speed=0&angle=0")
    # The simulator walks 600 mm steps, 100 mm wide, one every 0.545 s, stance 0.65 s.
    np.testing.assert_allclose(results["step_length"].values[1:], 600.0, atol=5.0)
    np.testing.assert_allclose(results["step_width"].values[1:], 100.0, atol=5.0)
    assert np.isnan(results["step_length"].values[0])
    assert float(results["cadence"]) == pytest.approx(60 / 0.545, rel=0.02)
    np.testing.assert_allclose(results["step_stance_time"].values, 0.65, atol=0.03)
    impulse = results["step_impulse"].values
    assert impulse == pytest.approx([impulse[0]] * 3, rel=0.01) and impulse[0] > 100
    assert np.all(np.isfinite(results["step_cpei"].values))
    assert np.all(results["step_cop_path_length"].values > 150)


def test_noisy_mat_with_stuck_cells():
    results, _ = assert_recovers("sim://standing?noise=1&stuck=20&speed=0&duration=3")
    assert results.attrs["stuck_cells"] == 20
    assert (results["cell_mask"].values == 1).sum() == 20


def test_knee_on_the_mat_is_reported_not_counted():
    results, _ = assert_recovers("sim://standing?blob=1&speed=0&duration=1")
    assert results.attrs["extra_blobs"] == 1
    assert results.attrs["activity"] == "standing"
    # The whole mat carries the knee too; the feet do not.
    assert (results["mat_force"] - results["force"].sum("foot")).min() > 10
    walking, _ = assert_recovers("sim://walking?blob=1&stuck=10&speed=0")
    assert walking.attrs["extra_blobs"] == 1 and walking.sizes["step"] == 3


def test_feet_touching_side_by_side():
    # 90 mm between foot centres: the prints merge into one region, and are split again. Where the
    # feet overlap, cells carry both, so the truth itself is shared: looser bounds.
    results, _ = assert_recovers("sim://standing?stance=90&speed=0&duration=1", cop_mm=1.0, share_pp=1.0)
    assert results.attrs["activity"] == "standing"


def crop(recording, columns):
    from drivers import Counters, MatInfo, Recording

    cells = np.ascontiguousarray(recording.cells[:, :, columns])
    info = MatInfo(rows=cells.shape[1], cols=cells.shape[2], pitch_x_mm=5.0, pitch_y_mm=5.0, rate_hz=100.0,
                   device="cropped", dtype=cells.dtype, scale_kpa=recording.info.scale_kpa)
    return Recording(cells, recording.counter, recording.time_s, info, Counters(), "cropped")


@pytest.mark.parametrize("columns, foot", [(slice(0, 32), "left"), (slice(32, 64), "right")])
def test_one_foot_only_is_named_by_its_shape(columns, foot):
    recording, truth = simulate("sim://standing?speed=0&duration=1")
    results, _ = analyse(crop(recording, columns))
    other = "right" if foot == "left" else "left"
    assert float(results["load_share"].sel(foot=foot)) == 1.0
    assert np.isnan(results["arch_index"].sel(foot=other))
    assert float(results["arch_index"].sel(foot=foot)) == pytest.approx(truth.arch_index[foot], abs=0.02)


def test_foot_partly_off_the_mat_has_no_arch_index():
    recording, _ = simulate("sim://standing?speed=0&duration=1")
    results, _ = analyse(crop(recording, slice(12, 64)))  # cuts through the left forefoot
    assert np.isnan(float(results["arch_index"].sel(foot="left")))
    assert np.isfinite(float(results["arch_index"].sel(foot="right")))
    assert np.isfinite(results["force"].sel(foot="left").values).all()


# -- balance, imbalance, regions ----------------------------------------------------------------
def test_standing_balance_and_left_share():
    recording, truth = simulate("sim://standing?imbalance=0.2&speed=0&duration=4")
    results, _ = analyse(recording)
    true_left = truth.force_n[:, 0] / truth.force_n.sum(axis=1)
    np.testing.assert_allclose(results["left_share"].values, true_left, atol=0.005)
    true_x, true_y = truth.cop_x_mm[:, 0], truth.cop_y_mm[:, 0]
    true_path = np.nansum(np.hypot(np.diff(true_x), np.diff(true_y)))
    measured = float(results["sway_path_length"].sel(part="left"))
    # The COP is low-pass filtered at 5 Hz before sway is measured, so the sensor noise adds
    # little path; the simulated sway (below 1 Hz) passes untouched.
    assert measured == pytest.approx(true_path, rel=0.1)
    for name in ("sway_mean_velocity", "sway_rms_distance", "sway_range_ap", "sway_range_ml", "sway_ellipse_area"):
        assert np.all(results[name].values > 0), name
    # The whole-mat COP moves between the feet, so it sways more than either foot's.
    assert float(results["sway_range_ml"].sel(part="mat")) > float(results["sway_range_ml"].sel(part="left"))


def test_regions_cover_the_print_in_order():
    results, _ = analyse(drivers.load("sim://standing?speed=0&duration=1&angle=0"))
    region_map = results["region_map"].values
    y = results["y"].values
    left = results["foot_map"].values == 0
    rows_of = {r: np.nonzero(((region_map == r) & left).any(axis=1))[0] for r in range(4)}
    # Facing +y: heel at low y, then midfoot, forefoot and toes.
    means = [y[rows_of[r]].mean() for r in range(4)]
    assert means == sorted(means)
    peaks = results["region_peak_pressure"].sel(foot="left").values
    assert peaks[0] > peaks[1] and peaks[2] > peaks[1]  # heel and forefoot carry more than the arch
    assert np.all(results["region_pti"].values > 0)


def test_calibration_table_is_applied(tmp_path):
    from pressure.calibration import CalibrationTable

    table = tmp_path / "mat.csv"
    table.write_text("device,kPa\n0,0\n1000,50\n65535,3276.75\n")
    recording = drivers.load("sim://standing?speed=0&duration=0.5")
    linear, _ = analyse(recording)
    calibrated, _ = analyse(recording, Options(calibration=CalibrationTable.from_csv(table)))
    # 1000 counts were 100 kPa linearly and are 50 kPa in the table: less force, same feet.
    assert float(calibrated["force"].mean()) < float(linear["force"].mean())
    assert calibrated.attrs["calibration"].startswith("table of 3 points")
    assert linear.attrs["calibration"].startswith("linear: 0.1 kPa")


def test_static_footprint_template_from_real_data():
    """MUN104: the mean plantar-pressure image of 104 people's feet (real emed data). Seen as an
    image, the heel is at low rows and the toes, joined to the forefoot in this mean image, at high
    rows. The toes must be cut at the toe crease and each print recognised as its own foot; the
    arch index of a mean print lies in the healthy range (Cavanagh & Rodgers: 0.23 +- 0.05)."""
    from tests.conftest import shared_file
    from drivers import Counters, MatInfo, Recording

    for side, foot in (("L", "left"), ("R", "right")):
        image = np.loadtxt(shared_file(f"mun104_template/MUN104{side}.csv"), delimiter=",").astype(np.float32)
        frames = np.repeat(image[None], 5, axis=0)
        info = MatInfo(rows=image.shape[0], cols=image.shape[1], pitch_x_mm=5.0, pitch_y_mm=5.0, rate_hz=100.0,
                       device="MUN104", dtype=np.float32)
        results, analysis = analyse(Recording(frames, np.arange(5), np.arange(5) / 100, info, Counters(), side),
                                    Options(activity="standing"))
        contact = analysis.contacts[0]
        assert contact.foot == foot
        assert (results["region_map"].values == 3).sum() > 50  # the toes were cut off
        index = float(results["arch_index"].sel(foot=foot))
        assert 0.18 < index < 0.28
        assert str(results["arch_axis_method"].sel(foot=foot).values) == "heel-toes"


def test_the_exports_own_numbers_are_kept_beside_ours():
    """XSENSOR's Est. Load per insole and emed's picture totals go into the results as reported_*."""
    from tests.conftest import shared_file

    results, _ = analyse(drivers.load(str(shared_file("xsensor_insole/xsensor_data.csv"))))
    ours, theirs = results["force"].values, results["reported_force"].values
    assert results["reported_force"].attrs["units"] == "N"
    # Ours leaves out cells at or below the 5 kPa threshold; the export counts every cell.
    assert np.nanmax(np.abs(ours - theirs)) < 0.03 * np.nanmax(theirs)
    emed, _ = analyse(drivers.load(str(shared_file("pressuRe_extdata/emed_test.lst"))))
    assert np.nanmax(np.abs(emed["mat_force"] - emed["reported_mat_force"])) < 0.005 * float(emed["mat_force"].max())


@pytest.mark.parametrize("name", ["tekscan_fscan/FrasP01L.asf", "xsensor_insole/xsensor_data.csv",
                                  "novel_pedar/pedar_example.asc"])
def test_insoles_report_their_print_thirds_unknown_not_all_in_the_hindfoot(name):
    """An insole's print has no geometry: every cell sits in the first third only so that the
    division gives the contact's own series. Its thirds were reported as the hindfoot carrying
    100 % of the load at the whole foot's peak pressure; they are unknown."""
    from pressure.arch import REGIONS
    from tests.conftest import shared_file

    results, analysis = analyse(drivers.load(str(shared_file(name))))
    thirds = list(REGIONS)
    assert all(geometry is None for geometry in analysis.geometries)
    for variable in ("region_peak_pressure", "region_relative_load", "region_pti", "step_region_peak_pressure",
                     "step_region_force_curve"):
        assert np.isnan(results[variable].sel(region=thirds).values).all(), variable
    series = results["region_force_series"].sel(region=thirds).values  # 0 where the foot is off the ground
    assert np.isnan(series).any() and not (np.isfinite(series) & (series != 0)).any()
    assert float(results["force"].max()) > 100  # the feet's own series are there
    walking, _ = analyse(drivers.load("fixtures/walking.h5"))
    assert np.isfinite(walking["region_peak_pressure"].sel(region=thirds).values).all()


def test_the_terminal_says_why_an_insole_has_no_region_table():
    from pressure.summary import region_table
    from tests.conftest import shared_file

    results, _ = analyse(drivers.load(str(shared_file("tekscan_fscan/FrasP01L.asf"))))
    shown = region_table(results)
    assert isinstance(shown, str) and shown.startswith("regions: none (")
