"""Readers for insole and I-Scan exports (Moticon OpenGo, Tekscan I-Scan, STAPPone), on the real
samples in ../shared/data, checked against what the files themselves report."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import drivers
from drivers.base import DriverError
from pressure.cli import app
from tests.conftest import shared_file

runner = CliRunner()
MOTICON = "moticon_opengo/230927_102114.txt"


def force_n(recording) -> np.ndarray:
    """Per-row force (N): the sum of pressure x sensor area, rows being insoles."""
    return np.nansum(recording.kpa(), axis=2) * recording.info.cell_area_mm2 / 1000.0


def process(tmp_path, *args):
    out = tmp_path / "out.h5"
    result = runner.invoke(app, ["process", *[str(a) for a in args], "-o", str(out)])
    assert result.exit_code == 0, result.output
    return xr.open_dataset(out, engine="h5netcdf")


# -- Moticon OpenGo ----------------------------------------------------------------------------

def test_moticon_reads_two_insoles_of_16_sensors():
    recording = drivers.load(str(shared_file(MOTICON)))
    info = recording.info
    assert recording.cells.shape == (1695, 2, 16)  # 1750 samples less the 55 where one insole had not sent
    assert info.rate_hz == pytest.approx(100.0)
    assert recording.time_s[-1] == pytest.approx(16.95)
    assert not info.has_geometry
    assert (info.foot_map[0] == 0).all() and (info.foot_map[1] == 1).all()
    assert recording.attrs["insole_size"] == "7"
    assert recording.attrs["moticon_filled_left"] == 13 and recording.attrs["moticon_filled_right"] == 8
    assert not np.isnan(recording.cells).any()
    # N/cm2 in the file: the first kept right-insole sensor 1 value (6.50 N/cm2 at 0.00 s is cut) x 10
    assert recording.cells.max() > 100  # kPa, not N/cm2
    for name in ("reported_force_left_n", "reported_force_right_n", "reported_cop_x_left", "reported_cop_y_left",
                 "reported_cop_x_right", "reported_cop_y_right", "reported_force_n"):
        assert len(recording.extras[name]) == recording.n_frames
    cop = np.concatenate([recording.extras[f"reported_cop_{a}_{s}"] for a in "xy" for s in ("left", "right")])
    assert np.nanmax(np.abs(cop)) <= 0.5


def test_moticon_force_follows_the_vendors_total_force():
    recording = drivers.load(str(shared_file(MOTICON)))
    ours = force_n(recording)
    for foot, side in enumerate(("left", "right")):
        vendor = recording.extras[f"reported_force_{side}_n"]
        sent = ~np.isnan(vendor)
        assert sent.sum() > 1600
        r = np.corrcoef(ours[sent, foot], vendor[sent])[0, 1]
        rms = np.sqrt(np.mean((ours[sent, foot] - vendor[sent]) ** 2))
        # measured: r 0.9977 left, 0.9970 right; RMS 22 N and 26 N for peaks of 1008 N and 1060 N
        assert r > 0.995
        assert rms < 0.03 * vendor[sent].max()
        # The vendor's force is a fixed weighted sum of the 16 pressures (per-sensor effective areas
        # that the file does not give): a least-squares fit reproduces it to within 0.5 N RMS.
        pressures = recording.cells[sent, foot].astype(np.float64) / 10.0  # back to N/cm2
        areas, *_ = np.linalg.lstsq(pressures, vendor[sent], rcond=None)
        assert np.sqrt(np.mean((pressures @ areas - vendor[sent]) ** 2)) < 0.5
        assert 6 < areas.min() and areas.max() < 19  # cm2, plausible sensor areas


def test_moticon_sensor_area_option_scales_force():
    path = shared_file(MOTICON)
    nominal = drivers.load(str(path))
    doubled = drivers.load(f"{path}?sensor_area_cm2=24.6")
    assert force_n(doubled) == pytest.approx(2 * force_n(nominal), rel=1e-5)


def test_moticon_damaged_export_is_one_line(tmp_path):
    text = shared_file(MOTICON).read_text(encoding="utf-8").splitlines()
    fields = text[40].split("\t")
    fields[30] = "x1"
    text[40] = "\t".join(fields)
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(text), encoding="utf-8")
    with pytest.raises(DriverError, match=r"line 41: right value 'x1' is not a number"):
        drivers.load(str(bad))
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with pytest.raises(DriverError, match="not a Moticon OpenGo text export"):
        drivers.load(str(other))


def test_moticon_process_gives_force_per_insole_and_steps(tmp_path):
    with process(tmp_path, shared_file(MOTICON)) as results:
        assert results.force.shape == (1695, 2)
        assert (results.force.max("time") > 900).all()
        feet = list(results.step_foot.values)
        assert feet.count("left") >= 6 and feet.count("right") >= 6
        assert np.isfinite(results.load_share.values).all()


# -- Tekscan I-Scan (.csv) -----------------------------------------------------------------------

ISCAN = "pressuRe_extdata/iscan_test.csv"


def test_iscan_raw_units_are_refused_without_a_scale_saying_which_to_give():
    with pytest.raises(DriverError) as error:
        drivers.load(str(shared_file(ISCAN)))
    message = str(error.value)
    assert "\n" not in message and "raw device units" in message
    assert "--calibration table.csv" in message and "--scale-kpa" in message and "?scale_kpa=" in message


def test_iscan_reads_with_a_scale_and_matches_the_raw_sum():
    recording = drivers.load(f"{shared_file(ISCAN)}?scale_kpa=2")
    info = recording.info
    assert recording.cells.shape == (309, 28, 28)
    assert info.rate_hz == pytest.approx(10.0)
    assert info.pitch_x_mm == pytest.approx(1.27) and info.pitch_y_mm == pytest.approx(1.27)  # 0.127 centimeters
    assert info.cell_area_mm2 == pytest.approx(1.6129)  # 0.016129 cm2
    assert info.scale_kpa == 2.0 and info.foot_map is None
    assert np.isnan(recording.cells[0, 0, 0])  # B: outside the sensor
    assert recording.kpa()[0, 28 - 1 - 2, 2] == pytest.approx(10.0)  # the third row listed, raw 5 x 2 kPa
    # The export's own per-frame "Raw Sum" is the sum of the sensels read here, exactly (309 frames).
    np.testing.assert_array_equal(np.nansum(recording.cells, axis=(1, 2)), recording.extras["reported_raw_sum"])


def test_iscan_with_a_calibration_table_keeps_raw_values():
    recording = drivers.load(f"{shared_file(ISCAN)}?calibration=table.csv")
    assert recording.info.scale_kpa == 1.0 and "calibration" in recording.info.extra["units"]


def test_iscan_process_reads_it_and_a_finger_is_no_foot(tmp_path):
    result = runner.invoke(app, ["process", f"{shared_file(ISCAN)}?scale_kpa=2", "-o", str(tmp_path / "o.h5")])
    assert result.exit_code == 1
    assert "no foot found" in result.stderr  # read; the contact is a finger, not a foot
    result = runner.invoke(app, ["process", str(shared_file(ISCAN)), "-o", str(tmp_path / "o.h5")])
    assert result.exit_code == 1 and "--scale-kpa" in result.stderr


# -- STAPPone ------------------------------------------------------------------------------------

STAPPONE = "pressuRe_extdata/stappone_example.csv"


def test_stappone_reads_one_insole_of_12_channels():
    recording = drivers.load(f"{shared_file(STAPPONE)}?foot=left")
    info = recording.info
    assert recording.cells.shape == (4575, 1, 12)  # one sole_id in the sample
    assert info.rate_hz == pytest.approx(62.5)  # 16 ms timestamps
    assert recording.time_s[-1] == pytest.approx(73.184)
    assert not info.has_geometry and (info.foot_map == 0).all()
    assert "unknown" in info.extra["units"]
    assert recording.cells.min() >= 68 and recording.cells.max() <= 760  # device values, as in the file


def test_stappone_needs_the_foot_and_tare_zeroes_swing():
    with pytest.raises(DriverError, match=r"\?foot=left or \?foot=right"):
        drivers.load(str(shared_file(STAPPONE)))
    tared = drivers.load(f"{shared_file(STAPPONE)}?foot=right&tare=1")
    assert (tared.info.foot_map == 1).all()
    assert np.quantile(tared.cells, 0.01, axis=0).max() < 1.0  # device units; stances reach hundreds
    assert len(tared.info.extra["tare_device_units"][0]) == 12


def test_stappone_process_gives_force_and_steps(tmp_path):
    with process(tmp_path, f"{shared_file(STAPPONE)}?foot=left&tare=1") as results:
        assert results.force.shape == (4575, 2)
        assert float(results.force[:, 1].max()) == 0.0  # no right insole
        feet = list(results.step_foot.values)
        assert feet.count("left") >= 50 and "right" not in feet  # measured: 60, 59 complete
        assert 0.5 < float(results.step_stance_time.median()) < 0.8  # measured: 0.66 s
        # Device units of unknown size are shown as kPa, and the results say so (they did not).
        assert "scale 1 kPa per unit assumed" in results.attrs["warnings"]
        assert "scale_kpa=" in results.attrs["warnings"]
    (tmp_path / "told").mkdir()
    with process(tmp_path / "told", f"{shared_file(STAPPONE)}?foot=left&tare=1&scale_kpa=1") as told:
        assert "assumed" not in told.attrs["warnings"]


# -- telling .csv files apart by content ---------------------------------------------------------

def test_csv_readers_are_chosen_by_content(tmp_path):
    from drivers.files import format_module

    assert format_module(shared_file(ISCAN)).__name__ == "drivers.files.iscan"
    assert format_module(shared_file(STAPPONE)).__name__ == "drivers.files.stappone"
    assert format_module(shared_file("xsensor_insole/xsensor_data.csv")).__name__ == "drivers.files.xsensor"
    assert format_module(shared_file("mun104_template/MUN104L.csv")).__name__ == "drivers.files.csv_frames"
    assert format_module(shared_file(MOTICON)).__name__ == "drivers.files.moticon"
    moticon_csv = tmp_path / "moticon.csv"
    moticon_csv.write_bytes(shared_file(MOTICON).read_bytes())
    assert format_module(moticon_csv).__name__ == "drivers.files.moticon"
    renamed = tmp_path / "iscan.asf"
    renamed.write_bytes(shared_file(ISCAN).read_bytes())
    assert drivers.load(f"{renamed}?scale_kpa=1").cells.shape == (309, 28, 28)


def test_unknown_csv_content_lists_the_formats_tried(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("name,age\nada,36\n")
    with pytest.raises(DriverError) as error:
        drivers.load(str(path))
    message = str(error.value)
    for name in ("XSENSOR", "Tekscan I-Scan", "STAPPone", "Moticon OpenGo", "plain CSV frames"):
        assert name in message


def test_moticon_vendor_force_and_cop_are_kept_in_the_results():
    import numpy as np

    from pressure.analysis import analyse

    results, _ = analyse(drivers.load(str(shared_file("moticon_opengo/230927_102114.txt"))))
    assert results["reported_force"].dims == ("time", "foot")
    assert results["reported_insole_cop_y"].dims == ("time", "foot")
    loaded = results["force"].values > 200
    assert np.nanmax(np.abs(results["reported_insole_cop_y"].values[loaded])) <= 0.5


# -- Insole grids as seen from above (F-Scan, XSENSOR) -------------------------------------------


def _first_stance_seen_from_its_start(force: np.ndarray) -> slice:
    """The frames of the first stance that begins in the recording (it may run to its end)."""
    loaded = force > 0.05 * force.max()
    start = np.flatnonzero(~loaded[:-1] & loaded[1:])[0] + 1
    ends = np.flatnonzero(loaded[:-1] & ~loaded[1:]) + 1
    return slice(start, next(iter(ends[ends > start]), len(force)))


@pytest.mark.parametrize("name, foot", [("tekscan_fscan/FrasP01L.asf", 0), ("tekscan_fscan/FrasP01R.asf", 1),
                                        ("xsensor_insole/xsensor_data.csv", 0), ("xsensor_insole/xsensor_data.csv", 1)])
def test_an_insole_is_its_foot_seen_from_above_toes_towards_plus_y(name, foot):
    """Both formats list the rows of the vendor's picture top first, toes first. Read as listed,
    every insole was its mirror image: a left insole drew a right foot, its lateral midfoot on the
    medial side. Here the heel loads first at the low rows and the arch is on the inner side."""
    recording = drivers.load(str(shared_file(name)))
    mine = recording.info.foot_map == foot
    pressure = np.where(mine, np.nan_to_num(recording.kpa()), 0.0)
    rows = np.flatnonzero(mine.any(axis=1))
    n = len(rows)
    stance = pressure[_first_stance_seen_from_its_start(pressure.sum(axis=(1, 2)))]
    row_force = stance.sum(axis=2)[:, rows]  # (frames, rows of this insole)
    loaded_from = np.array([np.argmax(row_force[:, k] > 0.2 * row_force[:, k].max()) for k in range(n)])
    heel, toes = loaded_from[: n // 4].mean(), loaded_from[-n // 4:].mean()
    assert heel < toes  # the heel end, at the low rows, loads first
    midfoot = stance.max(axis=0)[rows[n // 3]: rows[2 * n // 3]]
    cols = np.arange(mine.shape[1])
    lateral_shift = (midfoot.sum(axis=0) @ cols) / midfoot.sum() - cols[mine.any(axis=0)].mean()
    # The midfoot's load lies on the lateral side: lower x for a left foot seen from above.
    assert (lateral_shift < -1.0) if foot == 0 else (lateral_shift > 1.0)


def test_xsensor_frame_rate_is_the_mean_period_of_its_millisecond_clock():
    recording = drivers.load(str(shared_file("xsensor_insole/xsensor_data.csv")))
    # 100 periods over 1.331 s (the Time lines 08:21:17.982 .. 08:21:19.313), 13 and 14 ms in turn.
    assert recording.info.rate_hz == pytest.approx(100 / 1.331, rel=1e-4)


def test_xsensor_frame_rate_leaves_a_pause_of_its_clock_out(tmp_path):
    """A clock that jumps by 2 s between two frames (the PC busy, a pause): the rate is still the
    frames' own, not the first and last frame's times over their numbers."""
    import re

    lines = shared_file("xsensor_insole/xsensor_data.csv").read_text(encoding="utf-8-sig").split("\n")
    times = [k for k, line in enumerate(lines) if line.startswith("Time, ")]
    for k in times[50:]:  # every frame from the 51st on, 2 s later
        clock = re.match(r"Time, (\d+):(\d+):([\d.]+)", lines[k])
        hours, minutes, seconds = int(clock[1]), int(clock[2]), float(clock[3]) + 2.0
        lines[k] = re.sub(r"Time, [\d:.]+", f"Time, {hours:02d}:{minutes:02d}:{seconds:06.3f}", lines[k])
    path = tmp_path / "paused.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    assert drivers.load(str(path)).info.rate_hz == pytest.approx(75.1, abs=0.2)


@pytest.mark.parametrize("frames_per_stamp", [2, 3])
def test_xsensor_frame_rate_of_a_clock_that_stamps_frames_in_bursts(tmp_path, frames_per_stamp):
    """Frames stamped in bursts (two or three with one time, then a step): 0 ms between some.
    Leaving out every interval over twice the median gave 1961 Hz, or refused the file."""
    import re

    lines = shared_file("xsensor_insole/xsensor_data.csv").read_text(encoding="utf-8-sig").split("\n")
    times = [k for k, line in enumerate(lines) if line.startswith("Time, ")]
    first = 17.982
    for n, k in enumerate(times):
        stamped = first + (n - n % frames_per_stamp) * 1.331 / 100  # the burst's first frame's time
        lines[k] = re.sub(r"Time, [\d:.]+", f"Time, 08:21:{stamped:06.3f}", lines[k])
    path = tmp_path / "bursts.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    # within what the stamps themselves say: the last burst's frames carry its first one's time (1 %)
    assert drivers.load(str(path)).info.rate_hz == pytest.approx(75.13, rel=0.02)


@pytest.mark.parametrize("name, options", [
    ("novel_pedar/pedar_example.asc", ""), ("novel_pedar/pedar_example.asc", "?layout=outlines"),
    (MOTICON, ""), (STAPPONE, "?foot=left"), ("pressuRe_extdata/pliance_test.asc", "?sensor_area_cm2=0.5"),
])
@pytest.mark.parametrize("share", [0.3, 0.7])
def test_a_cut_off_copy_of_a_real_export_keeps_its_whole_frames(tmp_path, name, options, share):
    """A copy cut off (a full disk, an interrupted transfer) was refused whole; its whole frames
    are read as the full file has them, the frame it ends inside is counted corrupt and named."""
    source = shared_file(name)
    data = source.read_bytes()
    cut = tmp_path / source.name
    cut.write_bytes(data[: int(share * len(data))])
    whole = drivers.load(str(source) + options)
    recording = drivers.load(str(cut) + options)
    n = recording.n_frames
    assert 0 < n < whole.n_frames and recording.counters.corrupt == whole.counters.corrupt + 1
    assert recording.attrs["cut_short"].startswith("the file ends inside the ")
    assert recording.attrs["cut_short"].endswith(f": {n} whole frames read, the cut one left out")
    # (pliance without its geometry: the same sensors in one row, where the whole file places them)
    per_frame = [np.sort(np.nan_to_num(r.cells[:n].reshape(n, -1)), axis=1) for r in (recording, whole)]
    np.testing.assert_array_equal(per_frame[0][:, -per_frame[0].shape[1]:], per_frame[1][:, -per_frame[0].shape[1]:])
    np.testing.assert_array_equal(recording.time_s, whole.time_s[:n])


def test_a_cut_off_pliance_export_without_its_geometry_says_how_to_read_it(tmp_path):
    source = shared_file("pressuRe_extdata/pliance_test.asc")
    cut = tmp_path / source.name
    cut.write_bytes(source.read_bytes()[:500_000])
    with pytest.raises(DriverError, match=r"pliance_test.asc: the file ends inside the frame at line \d+, before the "
                                          r"sensor geometry; give \?sensor_area_cm2= to read its \d+ whole frames"):
        drivers.load(str(cut))


@pytest.mark.parametrize("name, options, keep", [
    ("novel_pedar/pedar_example.asc", "", -5),  # inside the last value of the last frame
    (MOTICON, "", -3), (STAPPONE, "?foot=left", -1),
    ("pressuRe_extdata/pliance_test.asc", "?sensor_area_cm2=0.5", "inside the last frame's last value"),
])
def test_a_copy_cut_inside_the_last_value_leaves_that_frame_out(tmp_path, name, options, keep):
    """The count of values stays right and the rest of the value read as another number: pedar's
    last sensor read 47.0 where the file says 47.5, with no word of a cut (a review found 34 such
    cut points)."""
    source = shared_file(name)
    data = source.read_bytes()
    if isinstance(keep, str):  # pliance: the frames end before the summary pictures (MPP)
        keep = data.rindex(b"\n", 0, data.index(b"MPP")) - 2 - len(data)
    cut = tmp_path / source.name
    cut.write_bytes(data[:keep])
    whole = drivers.load(str(source) + options)
    recording = drivers.load(str(cut) + options)
    n = recording.n_frames
    assert recording.counters.corrupt == whole.counters.corrupt + 1 and "the file ends inside" in recording.attrs["cut_short"]
    per_frame = [np.sort(np.nan_to_num(r.cells[:n].reshape(n, -1)), axis=1) for r in (recording, whole)]
    np.testing.assert_array_equal(per_frame[0][:, -per_frame[0].shape[1]:], per_frame[1][:, -per_frame[0].shape[1]:])
