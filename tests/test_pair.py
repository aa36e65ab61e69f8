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
