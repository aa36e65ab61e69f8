"""Quiet standing: the standing frames without the weight shifts next to walking, over which the
standing measures are taken (``pressure.contacts.standing``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import drivers
from drivers.simulator import ANTICIPATION_S, WEIGHT_SHIFT_S, simulate
from pressure.analysis import analyse
from pressure.contacts.standing import TRANSITION_S, quiet_standing
from pressure.schema import runs_of
from tests.conftest import shared_file


def test_only_the_ends_that_join_walking_are_cut():
    standing = np.zeros(100, bool)
    standing[:30] = standing[40:55] = standing[60:] = True  # from the start; between walks; to the end
    steps = [(32, 38), (56, 58)]  # walking between the stands
    quiet = quiet_standing(standing, rate_hz=10.0, steps=steps)  # 1 s: 10 frames
    assert runs_of(quiet) == [(0, 20), (70, 100)]  # 15 frames between walks: nothing quiet


def test_stepping_onto_and_off_the_mat_to_stand_is_no_walking():
    """A 1.8 s stand between stepping on and off (no steps) kept no standing measures."""
    standing = np.zeros(300, bool)
    standing[30:210] = True
    assert (quiet_standing(standing, 100.0, steps=[]) == standing).all()
    assert runs_of(quiet_standing(standing, 100.0, steps=[(215, 260)])) == [(30, 110)]  # walks off


def test_a_recording_that_stands_throughout_is_all_quiet():
    standing = np.ones(50, bool)
    assert quiet_standing(standing, 100.0, steps=[]).all()


@given(st.lists(st.booleans(), max_size=200), st.sampled_from([1.0, 7.5, 50.0]),
       st.lists(st.tuples(st.integers(0, 199), st.integers(0, 30)), max_size=4))
def test_quiet_standing_is_standing_cut_where_walking_is_near(flags, rate, walks):
    standing = np.array(flags, bool)
    steps = [(first, first + length) for first, length in walks]
    quiet = quiet_standing(standing, rate, steps)
    cut = int(round(TRANSITION_S * rate))
    assert not (quiet & ~standing).any()
    expected = standing.copy()
    for start, stop in runs_of(standing):
        for end, near in ((start, range(start, min(start + cut, stop))), (stop - 1, range(max(stop - cut, start), stop))):
            if any(first <= end + cut and last >= end - cut for first, last in steps):
                expected[list(near)] = False
    assert (quiet == expected).all()


def test_walking_off_measures_standing_before_the_weight_shift():
    """sim://standwalk loads the right foot more, then unloads it before it lifts, as real gait
    initiations do: the standing measures leave that out."""
    recording, truth = simulate("sim://standwalk?speed=0&stand=3&imbalance=0.2")
    results, _ = analyse(recording)
    quiet, standing = results["quiet_standing"].values, results["standing"].values
    time = results["time"].values
    assert standing.any() and not (quiet & ~standing).any()
    lift = truth.contacts[1].end_s  # the right foot's stand ends
    assert time[quiet].max() < lift - WEIGHT_SHIFT_S - ANTICIPATION_S
    assert time[standing].max() > lift - WEIGHT_SHIFT_S  # the stand itself still reaches into the shift
    own = truth.force_n[quiet].mean(axis=0)
    np.testing.assert_allclose(results["load_share"].values, own / own.sum(), atol=0.005)
    assert results.attrs["load_share_from"] == "standing"


def test_pedar_standing_share_leaves_out_the_weight_shift_before_the_first_step():
    """The left foot carried 45.7 % in quiet standing (0-2 s); from 2.3 s the weight shifts and
    the left lifts at 2.96 s. Over every standing frame the share was 42.0 %."""
    results, _ = analyse(drivers.load(str(shared_file("novel_pedar/pedar_example.asc"))))
    time, quiet = results["time"].values, results["quiet_standing"].values
    assert 1.9 < time[quiet].max() < 2.05 and time[quiet].min() == 0.0
    assert 0.45 < float(results["load_share"].sel(foot="left")) < 0.47
    force = results["force"].values[results["standing"].values].mean(axis=0)
    assert force[0] / force.sum() < 0.43  # what the weight shift made of it


def test_moticon_quiet_standing_before_and_after_the_walk():
    """Standing at 0-1.64 s, walking, standing at 12.52-16.95 s (the recording's end)."""
    results, _ = analyse(drivers.load(str(shared_file("moticon_opengo/230927_102114.txt"))))
    time = results["time"].values
    spans = [(time[a], time[b - 1]) for a, b in runs_of(results["quiet_standing"].values)]
    assert len(spans) == 2
    (a0, a1), (b0, b1) = spans
    assert a0 == 0.0 and 0.55 < a1 < 0.7 and 13.45 < b0 < 13.6 and b1 == time[-1]


def test_a_stand_between_stepping_on_and_off_the_mat_is_measured_whole():
    """With 0.3 s of empty mat before and after a 1.8 s stand, the trim left it no load share."""
    import dataclasses

    recording, truth = simulate("sim://standing?speed=0&duration=1.8&imbalance=0.2")
    empty = np.zeros((30,) + recording.cells.shape[1:], recording.cells.dtype)
    n = len(recording.cells) + 60
    padded = dataclasses.replace(recording, cells=np.concatenate([empty, recording.cells, empty]),
                                 counter=np.arange(n), time_s=np.arange(n) / recording.info.rate_hz)
    results, _ = analyse(padded)
    assert results.attrs["activity"] == "standing"
    assert (results["quiet_standing"].values == results["standing"].values).all()
    own = truth.force_n.mean(axis=0)
    np.testing.assert_allclose(results["load_share"].values, own / own.sum(), atol=0.01)


def test_a_walk_off_with_no_quiet_standing_says_so_and_draws_no_sway():
    from pressure.pictures.session import stood_quietly
    from pressure.summary import results_caption, results_summary

    results, _ = analyse(simulate("sim://standwalk?speed=0&stand=1")[0])
    assert results["standing"].values.any() and not results["quiet_standing"].values.any()
    assert not stood_quietly(results)
    assert "no quiet standing, so no sway (every stand was within 1 s of walking)" in results_caption(results)
    summary = results_summary(results)
    assert summary["load_share_from"] == "steps" and summary["quiet_standing_s"] == 0.0
