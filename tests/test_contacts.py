"""Contacts in space and time: every simulated hard case against its ground truth, every real
recording against what its provider states, and each failure of the old one-image segmentation
as a regression test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import drivers
from benchmarks.accuracy import (REAL, SIMULATED, mun104_case, real_case, simulated_case, speedpp2ds_case,
                                 static_image)
from drivers.simulator import simulate
from pressure.analysis import analyse
from tests.conftest import SHARED_DATA, shared_file

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", SIMULATED)
def test_simulated_hard_cases_match_the_ground_truth(name):
    case = simulated_case(name, SIMULATED[name])
    assert case.found == case.true, f"{case.found} contacts found, {case.true} true"
    assert case.right == case.true, "a contact with the wrong foot, kind, direction or completeness"
    assert case.worst_timing <= 2 or not np.isfinite(case.worst_timing), "step start/end over 2 frames off"
    assert case.worst_arch <= 0.02 or not np.isfinite(case.worst_arch), f"arch index {case.worst_arch:.3f} off"


@pytest.mark.parametrize("name", REAL)
def test_real_recordings_have_the_contacts_their_providers_state(name):
    relative, expected, direction = REAL[name]
    shared_file(relative)
    case = real_case(name, relative, expected, direction)
    assert (case.found, case.right) == (case.true, case.true)


@pytest.mark.parametrize("subject", range(5))
def test_speedpp2ds_every_footstep_is_one_complete_right_step_towards_higher_rows(subject):
    """300 real single footsteps (Pataky et al. 2008): the old segmentation called 51 of 60 sampled
    standing, split high-arched heels off as a second foot and lost a fast step's forefoot as two
    extra blobs (the feet then missed 91 % of the peak)."""
    case, steps = speedpp2ds_case(shared_file(f"speedpp2ds/subj{subject:03d}.h5"))
    assert case.right == case.found == case.true == 60
    assert min(step.feet_share for step in steps) >= 0.97
    assert max(step.extra_blobs for step in steps) == 0
    arches = np.array([step.arch_index for step in steps])
    # Against an independent implementation of Cavanagh & Rodgers (tests/data/README.md): the
    # index differs from step to step as the prints do (by speed too), and both agree on it.
    reference = np.loadtxt(DATA / "speedpp2ds_arch_independent.csv", delimiter=",", skiprows=1)
    independent = reference[reference[:, 0] == subject, 2]
    difference = arches - independent
    assert abs(difference.mean()) < 0.01
    assert np.mean(np.abs(difference) <= 0.03) >= 0.98
    assert abs(np.std(arches) - np.std(independent)) < 0.005


def test_emed_footstep_walks_towards_minus_y_with_a_normal_arch():
    """Taken as standing facing +y, its heel and toes were swapped: arch index 0.466, 'flat'."""
    results, analysis = analyse(drivers.load(str(shared_file("pressuRe_extdata/emed_test.lst"))))
    assert results.attrs["activity"] == "walking" and results.attrs["direction"] == "-y"
    assert results.attrs["direction_source"] == "loading"
    assert list(results["step_foot"].values) == ["left"]
    assert float(results["arch_index"].sel(foot="left")) == pytest.approx(0.23, abs=0.02)


@pytest.mark.parametrize("side, foot", [("L", "left"), ("R", "right")])
def test_mun104_template_is_one_standing_print_of_its_foot(side, foot):
    shared_file(f"mun104_template/MUN104{side}.csv")
    case = mun104_case(side)
    assert case.right == 1
    results, _ = analyse(static_image(SHARED_DATA / f"mun104_template/MUN104{side}.csv"))
    assert 0.18 < float(results["arch_index"].sel(foot=foot)) < 0.28  # Cavanagh & Rodgers: 0.23 +- 0.05
    assert (results["region_map"].values == 3).sum() > 50  # toes cut at the crease


def test_pedar_stands_then_walks():
    """pedar's baseline noise once became 29 steps on the left where there are 10."""
    results, analysis = analyse(drivers.load(str(shared_file("novel_pedar/pedar_example.asc"))))
    assert results.attrs["activity"] == "mixed"
    assert results.attrs["load_share_from"] == "standing"
    assert 2.5 < results.attrs["standing_to_s"] < 3.5
    feet = list(results["step_foot"].values)
    assert feet.count("left") == feet.count("right") == 9
    complete = results["step_complete"].values
    assert complete[:-1].all() and not complete[-1] and feet[-1] == "right"
    # A cut contact's partial duration is no stance time.
    assert np.isnan(results["step_stance_time"].values[-1])
    assert np.isfinite(results["step_stance_time"].values[:-1]).all()
    assert np.isnan(results["step_length"].values).all()  # no floor positions in a shoe


@pytest.mark.parametrize("name, cut", [("FrasP01L.asf", 0), ("FrasP01R.asf", -1)])
def test_fscan_insole_has_six_contacts_one_cut(name, cut):
    results, _ = analyse(drivers.load(str(shared_file(f"tekscan_fscan/{name}"))))
    complete = results["step_complete"].values
    assert len(complete) == 6 and not complete[cut] and complete.sum() == 5
    assert np.isnan(results["symmetry_index"])  # one insole: the other foot was not measured
    assert np.isnan(results["load_share"].values).all()


# -- the old failures, on simulated feet --------------------------------------------------------
def test_a_row_of_touching_toes_is_no_foot_when_standing():
    """It once turned quiet standing into 'walking' with 4 steps, arch indices 0.30 / 0.27."""
    recording, truth = simulate("sim://standing?speed=0&duration=3&toes=merged")
    results, analysis = analyse(recording)
    assert results.attrs["activity"] == "standing" and len(analysis.contacts) == 2
    np.testing.assert_allclose(results["arch_index"].values, truth.arch_index["left"], atol=0.02)


def test_a_row_of_touching_toes_is_no_step_when_walking():
    """On a 6-step walk it once gave 12 steps and a step length of 109 mm instead of 300."""
    results, _ = analyse(simulate("sim://walking?speed=0&toes=merged&angle=0")[0])
    assert list(results["step_foot"].values) == ["right", "left", "right"]
    np.testing.assert_allclose(results["step_length"].values[1:], 600.0, atol=5.0)


def test_a_heel_island_is_part_of_its_foot():
    """A heel cut off by a high arch was once named the left foot, its forefoot the right."""
    recording, truth = simulate("sim://step?speed=0&arch=high&heel=island&side=left")
    results, analysis = analyse(recording)
    assert [c.foot for c in analysis.contacts] == ["left"]
    assert len(analysis.contacts[0].parts) >= 2  # heel and forefoot were pieces
    assert float(results["arch_index"].sel(foot="left")) == pytest.approx(truth.arch_index["left"], abs=0.02)


def test_walking_load_share_does_not_follow_the_number_of_contacts():
    """The demo's symmetric walk (one foot two contacts, the other one) once read 33/67 %."""
    results, _ = analyse(drivers.load("fixtures/walking.h5"))
    assert results.attrs["load_share_from"] == "steps"
    np.testing.assert_allclose(results["load_share"].values, 0.5, atol=0.005)
    assert abs(float(results["symmetry_index"])) < 1.0


def test_insole_baseline_noise_is_no_step():
    recording, truth = simulate("sim://insoles?speed=0")
    results, _ = analyse(recording)
    assert results.sizes["step"] == len(truth.contacts)
    assert np.isnan(results["step_length"].values).all() and np.isnan(results["step_width"].values).all()


def test_a_person_who_stands_then_walks_gets_both():
    results, analysis = analyse(simulate("sim://standwalk?speed=0")[0])
    assert results.attrs["activity"] == "mixed"
    assert [c.kind for c in analysis.contacts] == ["standing", "standing", "step", "step", "step"]
    assert np.isfinite(results["sway_path_length"].values).all()  # measured on the standing part
    assert results.attrs["load_share_from"] == "standing"
    assert results.sizes["step"] == 3


def test_the_same_spot_stepped_on_twice_gives_two_contacts():
    recording, truth = simulate("sim://inplace?speed=0")
    results, analysis = analyse(recording)
    assert len(analysis.contacts) == len(truth.contacts) == 6
    cells = [set(c.raw.cells.tolist()) for c in analysis.contacts]
    assert len(cells[0] & cells[2]) > 100  # the left foot came back to its spot


def test_cut_contacts_are_listed_but_left_out_of_statistics():
    results, _ = analyse(simulate("sim://walking?speed=0&start=0.5")[0])
    complete = results["step_complete"].values
    assert not complete[0] and complete[1:].all()
    assert np.isnan(results["step_stance_time"].values[0]) and np.isnan(results["step_impulse"].values[0])
    assert np.isfinite(results["step_stance_time"].values[1:]).all()


def test_forced_activity_overrides_the_data():
    from pressure.analysis import Options

    results, _ = analyse(simulate("sim://walking?speed=0")[0], Options(activity="standing"))
    assert results.attrs["activity"] == "standing" and results.sizes["step"] == 0


def test_standing_facing_comes_from_the_prints_and_facing_only_when_they_do_not_tell():
    from pressure.analysis import Options
    from tests.test_analysis import bare

    results, _ = analyse(simulate("sim://standing?speed=0&duration=1&facing=-x")[0])  # --facing left at +y
    assert results.attrs["direction"] == "-x" and results.attrs["direction_source"] == "shape"
    # Two plain rectangles: no narrower heel end, so --facing decides which is left.
    frames = np.zeros((20, 60, 50), np.float32)
    frames[:, 5:55, 5:20] = 100.0
    frames[:, 5:55, 30:45] = 100.0
    for facing, left_at_small_x in (("+y", True), ("-y", False)):
        results, analysis = analyse(bare(frames), Options(facing=facing))
        assert results.attrs["direction_source"] == "--facing"
        left = [c for c in analysis.contacts if c.foot == "left"][0]
        assert (left.raw.cells % 50 < 25).all() == left_at_small_x


def test_insoles_without_positions_have_no_cop_measures():
    results, _ = analyse(drivers.load(str(shared_file("novel_pedar/pedar_example.asc"))))
    assert np.isnan(results["step_cop_path_length"].values).all()
    assert np.isnan(results["cop_x"].values).all()


def test_a_step_the_recording_ends_early_is_still_a_step():
    """10 frames of the last contact are too few to see it roll; it stays a (cut) step of the walk
    rather than turning the session into standing and walking."""
    results, analysis = analyse(simulate("sim://walking?speed=0&duration=1.5")[0])
    assert results.attrs["activity"] == "walking"
    assert [c.kind for c in analysis.contacts] == ["step"] * 3
    assert list(results["step_complete"].values) == [True, True, False]
