"""The analysis recovers the simulator's ground truth, and refuses what it cannot analyse."""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers.simulator import simulate
from pressure.analysis import InputError, Options, analyse, contact_runs, symmetry_index


def loaded_frames(truth, fraction=0.05):
    force = truth.force_n
    return force > fraction * force.max(axis=0)


def assert_recovers(url, facing="+y", cop_mm=0.5, share_pp=0.5, arch=0.02):
    recording, truth = simulate(url)
    results, _ = analyse(recording, Options(facing=facing))
    loaded = loaded_frames(truth)
    for axis in ("x", "y"):
        error = np.abs(results[f"cop_{axis}"].values - getattr(truth, f"cop_{axis}_mm"))[loaded]
        assert error.max() < cop_mm, f"COP {axis} off by {error.max():.3f} mm"
    share = results["load_share"].values
    assert share[0] == pytest.approx(truth.load_share["left"], abs=share_pp / 100)
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
    share = results["load_share"].values
    assert share.sum() == pytest.approx(1.0)
    # The README's peaks: left 2957 mmHg, right 929 mmHg; the left insole carries more in this clip.
    assert results["peak_pressure"].sel(foot="left").max() == pytest.approx(2957 * 0.1333224, rel=1e-3)
    assert np.isnan(results["arch_index"].values).all()  # in-shoe prints have no arch index


def test_symmetry_index_sign():
    assert symmetry_index(40.0, 60.0) == pytest.approx(40.0)
    assert symmetry_index(60.0, 40.0) == pytest.approx(-40.0)
    assert np.isnan(symmetry_index(0.0, 0.0))


def test_contact_runs_skip_single_frame_blips():
    force = np.array([0, 0, 5, 0, 0, 100, 120, 90, 0, 0, 80, 90, 0], float)
    assert contact_runs(force) == [(5, 7), (10, 11)]


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
