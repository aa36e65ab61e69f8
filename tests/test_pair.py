"""Left and right insole files of one trial as one two-foot session."""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers.pair import pair_url
from pressure.analysis import analyse
from tests.conftest import shared_file


def test_two_fscan_insoles_make_one_session_with_a_load_share():
    left, right = shared_file("tekscan_fscan/FrasP01L.asf"), shared_file("tekscan_fscan/FrasP01R.asf")
    recording = drivers.load(pair_url(str(left), str(right)))
    alone = [drivers.load(str(path)) for path in (left, right)]
    assert recording.n_frames == min(r.n_frames for r in alone)
    results, _ = analyse(recording)
    # Each insole's force is what it is alone.
    for foot, single in zip(("left", "right"), alone):
        by_itself, _ = analyse(single)
        np.testing.assert_allclose(results["force"].sel(foot=foot), by_itself["force"].sel(foot=foot), atol=1e-6)
    assert results["load_share"].sum() == pytest.approx(1.0)
    assert np.isfinite(float(results["symmetry_index"]))
    assert sorted(set(results["step_foot"].values)) == ["left", "right"]
    # The date both files give is the pair's (the pictures said "date not recorded").
    assert recording.attrs["recorded_at"] == results.attrs["recorded_at"] == "2017-02-16T11:26:22"


def test_a_pair_of_different_pitches_is_refused(tmp_path):
    from drivers import Counters, DriverError, MatInfo, Recording
    from drivers.pair import combine_insoles

    def insole(pitch):
        info = MatInfo(rows=4, cols=3, pitch_x_mm=pitch, pitch_y_mm=pitch, rate_hz=50.0, device="t", dtype=np.float32)
        return Recording(np.ones((5, 4, 3), np.float32), np.arange(5), np.arange(5) / 50, info, Counters(), "t")

    with pytest.raises(DriverError, match="pitch across differ"):
        combine_insoles(insole(5.0), insole(8.0), "pair://a|b")


def test_process_left_right_from_the_command_line(tmp_path):
    from typer.testing import CliRunner

    from pressure.cli import app

    left, right = shared_file("tekscan_fscan/FrasP01L.asf"), shared_file("tekscan_fscan/FrasP01R.asf")
    out = tmp_path / "trial.h5"
    result = CliRunner().invoke(app, ["process", str(left), str(right), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and "symmetry index" in result.output


@pytest.mark.parametrize("first, second, says", [
    ("tekscan_fscan/FrasP01R.asf", "tekscan_fscan/FrasP01L.asf", "named as the right insole but given as the left"),
    ("tekscan_fscan/FrasP01L.asf", "tekscan_fscan/FrasP01L.asf", "the same file as both feet"),
    ("xsensor_insole/xsensor_data.csv", "tekscan_fscan/FrasP01R.asf", "holds both feet"),
])
def test_a_pair_that_is_no_left_and_right_insole_is_refused(first, second, says):
    """Given the right insole first, the sides were swapped without a word (left 40.7 % of the
    load, where it carries 59.3 %); the same file twice gave 50/50; a file holding both feet had
    its foot map overwritten by one foot."""
    with pytest.raises(drivers.DriverError, match=says) as caught:
        drivers.load(pair_url(str(shared_file(first)), str(shared_file(second))))
    assert "\n" not in str(caught.value)


def test_two_floor_mat_sessions_are_no_pair():
    from tests.conftest import FIXTURES

    with pytest.raises(drivers.DriverError, match="standing.h5: a floor-mat recording, not one insole"):
        drivers.load(pair_url(str(FIXTURES / "standing.h5"), str(FIXTURES / "walking.h5")))


def test_the_left_insole_carries_its_own_share_when_given_in_order():
    left, right = shared_file("tekscan_fscan/FrasP01L.asf"), shared_file("tekscan_fscan/FrasP01R.asf")
    results, _ = analyse(drivers.load(pair_url(str(left), str(right))))
    assert float(results["load_share"].sel(foot="left")) == pytest.approx(0.593, abs=0.001)


def test_options_on_the_left_file_of_a_pair_are_refused_saying_where_they_go():
    from drivers import DriverError

    left, right = shared_file("tekscan_fscan/FrasP01L.asf"), shared_file("tekscan_fscan/FrasP01R.asf")
    with pytest.raises(DriverError, match=r"options go once, after the right file, and apply to both"):
        drivers.load(pair_url(f"{left}?foot=left", f"{right}?foot=right"))
    both = drivers.load(pair_url(str(left), str(right)) + "?scale_kpa=1")
    assert both.n_frames > 0


def test_a_pair_keeps_what_one_file_says_of_its_own_damage(tmp_path):
    """A right insole cut off inside a frame: read alone it counts the frame corrupt and says so;
    the pair dropped both."""
    left, right = shared_file("tekscan_fscan/FrasP01L.asf"), shared_file("tekscan_fscan/FrasP01R.asf")
    cut = tmp_path / "FrasP01R.asf"
    data = right.read_bytes()
    cut.write_bytes(data[: int(0.6 * len(data))])
    alone = drivers.load(str(cut))
    pair = drivers.load(pair_url(str(left), str(cut)))
    assert alone.counters.corrupt == pair.counters.corrupt == 1
    assert pair.attrs["cut_short"] == f"FrasP01R.asf: {alone.attrs['cut_short']}"
    assert pair.n_frames == alone.n_frames
