"""Sessions whose numbers cannot be right get a warning with the likely cause (issue 13)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import drivers
from pressure.analysis import analyse
from pressure.plausibility import feet_at_once


@pytest.fixture(scope="module")
def standing():
    return drivers.load("sim://standing?duration=2&speed=0&seed=3")


def warnings_of(recording) -> list[str]:
    dataset, _ = analyse(recording)
    return [line for line in dataset.attrs["warnings"].splitlines() if line]


def test_a_plausible_session_has_no_warning(standing):
    assert warnings_of(standing) == []


def test_pitch_and_scale_the_source_did_not_tell_are_named(standing):
    info = replace(standing.info, assumed=("pitch", "scale", "rate"))
    (warning,) = warnings_of(replace(standing, info=info))
    assert "pitch 5 mm and scale 0.1 kPa per unit assumed" in warning and "pitch= and scale=" in warning


def test_a_scale_three_times_too_big_is_an_implausible_weight(standing):
    info = replace(standing.info, scale_kpa=standing.info.scale_kpa * 3)
    (warning,) = warnings_of(replace(standing, info=info))
    weight = float(warning.split("about ")[1].split(" N")[0].replace(",", ""))
    assert weight == pytest.approx(3 * 700, rel=0.05)  # the simulator's person weighs 700 N
    assert "mean force standing" in warning and "scale" in warning


def test_frame_times_that_disagree_with_the_rate(standing):
    (warning,) = warnings_of(replace(standing, time_s=standing.time_s * 2))
    assert "50 Hz" in warning and "100 Hz" in warning


def test_four_feet_standing_at_once_are_two_people(standing):
    cells = np.concatenate([standing.cells, standing.cells], axis=2)  # two people side by side
    info = replace(standing.info, cols=2 * standing.info.cols)
    warnings = warnings_of(replace(standing, cells=cells, info=info))
    assert any(w.startswith("4 feet standing at once") for w in warnings), warnings


def test_feet_at_once_counts_overlaps_only():
    class Contact:
        def __init__(self, first, last, kind="standing"):
            self.first, self.last, self.kind = first, last, kind

    assert feet_at_once([Contact(0, 9), Contact(10, 19), Contact(5, 12)]) == 2
    assert feet_at_once([Contact(0, 9), Contact(0, 9, "step"), Contact(0, 9), Contact(2, 3)]) == 3
    assert feet_at_once([]) == 0


def test_the_command_line_prints_warnings_and_still_succeeds(standing, tmp_path):
    from typer.testing import CliRunner

    from pressure.cli import app

    frames = tmp_path / "frames.npy"
    np.save(frames, (standing.kpa() * 3).astype(np.float32))  # kPa, three times too many
    result = CliRunner().invoke(app, ["process", str(frames), "--pitch-mm", "5", "--rate-hz", "100",
                                      "-o", str(tmp_path / "r.h5")])
    assert result.exit_code == 0, result.output
    assert "warning: body weight about 2," in result.stderr
