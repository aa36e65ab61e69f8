"""File drivers on the real recordings in ../shared/data and on files written here."""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers import DriverError
from pressure.kernels.frame_metrics import frame_metrics
from tests import naive
from tests.conftest import FIXTURES, shared_file


# -- Tekscan F-Scan ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, foot, peak", [("FrasP01L.asf", 0, 760.0), ("FrasP01R.asf", 1, 447.0)])
def test_tekscan_insole_matches_its_header(name, foot, peak):
    recording = drivers.load(str(shared_file(f"tekscan_fscan/{name}")))
    # Header: ROWS 60, COLS 21, START_FRAME 1, END_FRAME 205, 5.08 mm, 0.032 s per frame.
    assert recording.cells.shape == (205, 60, 21)
    assert recording.info.pitch_x_mm == recording.info.pitch_y_mm == 5.08
    assert recording.info.rate_hz == pytest.approx(31.25)
    assert recording.info.cell_area_mm2 == pytest.approx(25.8064)
    assert list(recording.counter[[0, -1]]) == [1, 205]
    # Cells marked B lie outside the insole: masked (NaN), not zero; 305 of 1260 per the export.
    outside = np.isnan(recording.cells[0])
    assert outside.sum() == 305 and np.isnan(recording.cells[:, outside]).all()
    assert np.nanmax(recording.cells) == peak
    assert set(np.unique(recording.info.foot_map[~outside])) == {foot}


def test_tekscan_kernel_matches_numpy_on_real_frames():
    recording = drivers.load(str(shared_file("tekscan_fscan/FrasP01L.asf")))
    labels = np.where(np.isnan(recording.cells[0]), -1, 0)
    got = frame_metrics(recording.cells, labels, 1, threshold_kpa=3.0, pitch_x_mm=5.08, pitch_y_mm=5.08)
    want = naive.frame_sums(recording.cells, labels, 1, 3.0)
    np.testing.assert_allclose(got.force_n[:, 0], want["total"][:, 0] * 5.08 * 5.08 * 1e-3, rtol=1e-6)


def test_tekscan_insole_needs_a_foot_when_the_name_does_not_say(tmp_path, shared_data):
    copy = tmp_path / "walk.asf"
    copy.write_bytes((shared_data / "tekscan_fscan/FrasP01L.asf").read_bytes())
    with pytest.raises(DriverError, match=r"\?foot=left"):
        drivers.load(str(copy))
    assert drivers.load(f"{copy}?foot=right").info.foot_map.max() == 1


# -- XSENSOR ----------------------------------------------------------------------------------
def test_xsensor_force_agrees_with_the_files_estimated_load():
    recording = drivers.load(str(shared_file("xsensor_insole/xsensor_data.csv")))
    # README: 101 frames (FRAME 1464..1564), 31 x 11 sensels per insole, 0.86 cm sensels, mmHg.
    assert recording.n_frames == 101
    assert list(recording.counter[[0, -1]]) == [1464, 1564]
    assert recording.info.pitch_x_mm == pytest.approx(8.6)
    foot_map = recording.info.foot_map
    assert (foot_map == 0).sum() == (foot_map == 1).sum() == 31 * 11
    # Peaks given in mmHg: left 2957, right 929.
    for foot, peak_mmhg in ((0, 2957), (1, 929)):
        assert np.nanmax(recording.cells[:, foot_map == foot]) == pytest.approx(peak_mmhg * 0.1333224, rel=1e-3)
    metrics = frame_metrics(recording.cells, foot_map, 2, threshold_kpa=0.0, pitch_x_mm=8.6, pitch_y_mm=8.6)
    reported = recording.extras["reported_force_n"]
    np.testing.assert_allclose(metrics.force_n[:, :2], reported, rtol=0.005, atol=0.5)
    assert recording.info.rate_hz == pytest.approx(75.1, abs=0.1)  # README: frames ~13.3 ms apart, ~75 Hz


# -- pedar ------------------------------------------------------------------------------------
def test_pedar_has_99_sensors_per_insole_and_no_geometry():
    recording = drivers.load(str(shared_file("novel_pedar/pedar_example.asc")))
    assert recording.cells.shape == (1505, 2, 99)
    assert recording.info.rate_hz == 100.0
    assert not recording.info.has_geometry
    assert np.nanmax(recording.cells[:, 0]) == 150.0 and np.nanmax(recording.cells[:, 1]) == 247.5
    assert recording.time_s[-1] == pytest.approx(15.04)
    assert drivers.load(f"{shared_file('novel_pedar/pedar_example.asc')}?sensor_area_cm2=1.5").info.cell_area_mm2 == 150


# -- emed (no sample provided: files written in the documented layout) -------------------------
def write_emed(path, frames_kpa, area_cm2=0.25, period_ms=10.0, index_base=1):
    """An emed .lst export: a cropped window per picture with Force column and row (N)."""
    rows, cols = frames_kpa.shape[1:]
    cell_force = area_cm2 * 1e-4 * 1000.0  # N per kPa on one sensor
    lines = ["Novel emed export", f"Matrix: {cols}x{rows}", f"Sensor area: {area_cm2} cm²",
             f"Time/picture: {period_ms} ms", ""]
    for number, frame in enumerate(frames_kpa, start=1):
        lines.append(f"Pict-No.: {number}")
        loaded_rows, loaded_cols = np.nonzero(frame > 0)
        if len(loaded_rows):
            r0, r1, c0, c1 = loaded_rows.min(), loaded_rows.max() + 1, loaded_cols.min(), loaded_cols.max() + 1
            window = frame[r0:r1, c0:c1]
            lines.append("\t" + "\t".join(str(c + index_base) for c in range(c0, c1)) + "\tForce")
            for r in range(r0, r1):
                values = "\t".join(f"{v:.1f}" for v in window[r - r0])
                lines.append(f"{r + index_base}\t{values}\t{window[r - r0].sum() * cell_force:.2f}")
            column_force = "\t".join(f"{v:.2f}" for v in window.sum(axis=0) * cell_force)
            lines.append(f"Force\t{column_force}\t{window.sum() * cell_force:.2f}")
        lines.append("")
    path.write_bytes("\n".join(lines).encode("latin-1"))


def test_emed_windows_are_placed_on_the_plate(tmp_path):
    from drivers.simulator import simulate

    source, _ = simulate("sim://walking?rows=95&cols=64&noise=0&speed=0&foot=180")
    kpa = np.round(source.kpa(), 1)
    path = tmp_path / "walk.lst"
    write_emed(path, kpa)
    assert b"cm\xb2" in path.read_bytes()
    recording = drivers.load(str(path))
    assert recording.cells.shape == (len(kpa), 95, 64)
    assert recording.info.rate_hz == 100.0 and recording.info.pitch_x_mm == pytest.approx(5.0)
    np.testing.assert_allclose(recording.cells, kpa, atol=0.051)
    metrics = frame_metrics(recording.cells, np.zeros((95, 64), int), 1, threshold_kpa=0.0,
                            pitch_x_mm=5.0, pitch_y_mm=5.0)
    np.testing.assert_allclose(metrics.force_n[:, 0], recording.extras["reported_force_n"], atol=0.02)


def test_emed_zero_based_indices_and_a_window_outside_the_plate(tmp_path):
    frames = np.zeros((2, 10, 8), np.float32)
    frames[1, 0, 0] = 50.0
    path = tmp_path / "corner.lst"
    write_emed(path, frames, index_base=0)
    assert drivers.load(f"{path}?index_base=0").cells[1, 0, 0] == 50.0
    with pytest.raises(DriverError, match="outside"):
        drivers.load(str(path))


# -- plain frames -----------------------------------------------------------------------------
def test_npy_needs_pitch_and_rate(tmp_path):
    path = tmp_path / "frames.npy"
    np.save(path, np.zeros((3, 4, 5), np.float32))
    with pytest.raises(DriverError, match="--pitch-mm and --rate-hz"):
        drivers.load(str(path))
    recording = drivers.load(str(path), fallbacks={"pitch": "7", "rate": "50"})
    assert recording.info.pitch_x_mm == 7.0 and recording.info.rate_hz == 50.0


def test_npy_of_the_wrong_rank_is_refused(tmp_path):
    path = tmp_path / "frame.npy"
    np.save(path, np.zeros((4, 5)))
    with pytest.raises(DriverError, match="must be a .time, rows, cols. array"):
        drivers.load(f"{path}?pitch=5&rate=100")


def test_csv_blocks_and_one_frame_per_line(tmp_path):
    frames = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    blocks = tmp_path / "blocks.csv"
    blocks.write_text("\n\n".join("\n".join(",".join(map(str, row)) for row in frame) for frame in frames))
    np.testing.assert_array_equal(drivers.load(f"{blocks}?pitch=5&rate=10").cells, frames)
    lines = tmp_path / "lines.csv"
    lines.write_text("# one frame per line\n" + "\n".join(" ".join(map(str, f.ravel())) for f in frames))
    np.testing.assert_array_equal(drivers.load(f"{lines}?pitch=5&rate=10&rows=3&cols=4").cells, frames)


def test_csv_with_ragged_rows_names_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("1,2,3\n4,5\n\n1,2,3\n4,5,6\n")
    with pytest.raises(DriverError, match="line 2 has 2 values"):
        drivers.load(f"{path}?pitch=5&rate=10")


def test_unknown_extension_lists_the_known_ones(tmp_path):
    path = tmp_path / "frames.xyz"
    path.write_text("1")
    with pytest.raises(DriverError, match=r"unknown format '.xyz'; known: .asc, .asf"):
        drivers.load(str(path))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DriverError, match="no such file"):
        drivers.load(str(tmp_path / "absent.h5"))


# -- emed, the real export (pressuRe sample): two Key: value pairs a line, a page header per picture --
EMED_SAMPLE = "pressuRe_extdata/emed_test.lst"


def test_emed_real_export_force_agrees_with_the_file():
    recording = drivers.load(str(shared_file(EMED_SAMPLE)))
    # README: one footstep, 106 pictures at 10 ms, 0.25 cm² sensors, Matrix 64x95 (COLSxROWS).
    assert recording.cells.shape == (106, 95, 64)
    assert recording.info.pitch_x_mm == recording.info.pitch_y_mm == pytest.approx(5.0)
    assert recording.info.cell_area_mm2 == pytest.approx(25.0) and recording.info.rate_hz == pytest.approx(100.0)
    assert list(recording.counter[[0, -1]]) == [1, 106] and recording.time_s[-1] == pytest.approx(1.05)
    # Every picture's window is rows 30-83, columns 26-47 (1-based); the step fills it to its edges.
    loaded_rows, loaded_cols = np.nonzero(recording.cells.max(axis=0))
    assert (loaded_rows.min(), loaded_rows.max(), loaded_cols.min(), loaded_cols.max()) == (29, 82, 25, 46)
    computed = recording.kpa().sum(axis=(1, 2)) * (0.25e-4 * 1000.0)  # kPa * m² * 1000 = N
    reported = recording.extras["reported_force_n"]
    assert reported.max() == pytest.approx(818.63)
    assert np.abs(computed - reported).max() <= 0.005 * reported.max()


def test_emed_real_export_walks_towards_lower_rows():
    recording = drivers.load(str(shared_file(EMED_SAMPLE)))
    kpa = recording.kpa()
    total = kpa.sum(axis=(1, 2))
    loaded = np.nonzero(total > 0)[0]
    centre_row = (kpa.sum(axis=2) * np.arange(kpa.shape[1])).sum(axis=1)[loaded] / total[loaded]
    # README: heel at higher rows, the walk goes towards lower row indices.
    assert centre_row[0] > centre_row[-1] + 20


@pytest.mark.parametrize("damage, message", [
    ("short_row", r"line 90: picture 2, row 40: 22 values, expected 23"),
    ("rows_and_cols_swapped", r"line 48: picture 1: row 65 outside the 64 plate rows"),
    ("no_time", r"line 10: header needs .* missing Time/picture"),
])
def test_emed_bad_input_names_the_file_and_the_line(tmp_path, damage, message):
    lines = shared_file(EMED_SAMPLE).read_bytes().decode("latin-1").split("\n")[:135]  # pages 1 and 2
    if damage == "short_row":
        lines[89] = lines[89].rsplit("\t", 1)[0]
    elif damage == "rows_and_cols_swapped":
        lines = [line.replace("Matrix: 64x95", "Matrix: 95x64") for line in lines]
    else:
        lines = [line.replace("\tTime/picture:10.0 ms", "") for line in lines]
    path = tmp_path / f"{damage}.lst"
    path.write_bytes("\n".join(lines).encode("latin-1"))
    with pytest.raises(DriverError, match=f"{damage}.lst: {message}"):
        drivers.load(str(path))


@pytest.mark.parametrize("name, cut", [
    ("emed", lambda lines: lines[:100]),  # inside picture 2's rows
    ("emed_mid_row", lambda lines: lines[:99] + [lines[99][: len(lines[99]) // 2]]),  # inside a row
    ("emed_mid_header", lambda lines: lines[:135] + ["\tFile: C:\\novel", "\tMatrix: 6"]),  # the next page's header
])
def test_an_emed_export_cut_off_keeps_its_whole_pictures(tmp_path, name, cut):
    """It was refused whole ("file ends inside picture 2"); a short row with rows after it still is."""
    lines = shared_file(EMED_SAMPLE).read_bytes().decode("latin-1").split("\n")[:135]  # pages 1 and 2
    path = tmp_path / f"{name}.lst"
    path.write_bytes("\n".join(cut(lines)).encode("latin-1"))
    recording = drivers.load(str(path))
    if name == "emed_mid_header":  # both pictures whole: nothing lost, nothing to say
        assert recording.n_frames == 2 and recording.counters.corrupt == 0
        return
    assert recording.n_frames == 1 and recording.counters.corrupt == 1
    assert recording.attrs["cut_short"] == "the file ends inside picture 2: 1 whole frame read, the cut one left out"


@pytest.mark.parametrize("cut_at", [
    lambda text, third: text.index(b"SENSELS", third) + 300,  # inside the left sensor's sensels
    lambda text, third: text.index(b"-RF", third) - 3,  # inside the right sensor's SENSOR line
])
def test_an_xsensor_export_cut_inside_a_frame_keeps_its_whole_frames(tmp_path, shared_data, cut_at):
    text = (shared_data / "xsensor_insole/xsensor_data.csv").read_bytes()
    third = text.index(b"FRAME,1466")
    path = tmp_path / "cut.csv"
    path.write_bytes(text[: cut_at(text, third)])
    recording = drivers.load(str(path))
    assert recording.n_frames == 2 and recording.counters.corrupt == 1
    assert recording.attrs["cut_short"] == "the file ends inside frame 1466: 2 whole frames read, the cut one left out"


# -- damaged files: one DriverError line naming the file and the damage, fast (issue 11) ----------
def npy_file(header: str, body: bytes) -> bytes:
    """A .npy file (version 1.0) with this header text, padded as NumPy pads it."""
    text = header.encode("latin-1")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + body


def assert_damage_named(path, pattern, options=""):
    import re
    import time

    started = time.monotonic()
    with pytest.raises(DriverError) as caught:
        drivers.load(f"{path}{options}")
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message, message
    assert not getattr(caught.value, "unexpected", None), f"only the last-resort net caught it: {message}"
    assert re.search(pattern, message), message
    assert time.monotonic() - started < 5


NPY_HEADER = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }"


@pytest.mark.parametrize("data, pattern", [
    (b"", r"the file is empty"),  # was EOFError
    (npy_file(NPY_HEADER[:-5], bytes(96)), r"the \.npy header is damaged"),  # was TokenError, without the file
    (b"hello, world\n" * 10, r"does not start with the \.npy signature"),
    (npy_file(NPY_HEADER.replace("(2, 3, 4)", "(1000000000, 100, 100)"), bytes(96)),  # was MemoryError
     r"header announces \(1000000000, 100, 100\) float32 \(40000000000000 bytes\) but only 96 bytes follow"),
    (npy_file(NPY_HEADER, bytes(40)), r"cut short or damaged: .* only 40 bytes follow"),
    (npy_file(NPY_HEADER.replace("(2, 3, 4)", "(0, 3, 4)"), b""), r"no frames in the file"),
    (npy_file(NPY_HEADER.replace("'<f4'", "'|O'"), bytes(96)), r"frames must be numbers, got object"),
    (npy_file(NPY_HEADER, bytes(92) + np.float32(np.inf).tobytes()), r"frame 2 holds a pressure of inf"),
], ids=["empty", "open header", "not npy", "huge shape", "cut short", "no frames", "objects", "inf"])
def test_npy_damage_is_named(tmp_path, data, pattern):
    path = tmp_path / "frames.npy"
    path.write_bytes(data)
    assert_damage_named(path, pattern, "?pitch=5&rate=100")


def test_npy_big_endian_and_fortran_order_read_as_written(tmp_path):
    frames = np.arange(24, dtype=">f4").reshape(2, 3, 4)
    path = tmp_path / "frames.npy"
    np.save(path, np.asfortranarray(frames))
    recording = drivers.load(f"{path}?pitch=5&rate=100")
    assert recording.cells.dtype == np.float32 and recording.cells.dtype.isnative
    np.testing.assert_array_equal(recording.cells, frames)


TEKSCAN = ("ROWS 2\nCOLS 2\nROW_SPACING 5 mm\nCOL_SPACING 5 mm\nSECONDS_PER_FRAME 0.01\nUNITS KPa\nASCII_DATA @@\n\n"
           "Frame 1\n0,1\n2,B\n\nFrame 2\n3,4\n5,B\n@@\n")


@pytest.mark.parametrize("old, new, pattern", [
    ("SECONDS_PER_FRAME 0.01", "SECONDS_PER_FRAME 0", r"header SECONDS_PER_FRAME must be a positive number"),
    ("SECONDS_PER_FRAME 0.01", "SECONDS_PER_FRAME 1e-320", r"header SECONDS_PER_FRAME 1e-320 is out of range"),
    ("ROWS 2", "ROWS -1", r"header ROWS must be at least 1, got '-1'"),  # was an endless loop
    ("ROWS 2", "ROWS two", r"header ROWS 'two' is not a whole number"),
    ("ROW_SPACING 5 mm", "ROW_SPACING", r"header field ROW_SPACING has no value"),
    ("Frame 2", "Frame 1", r"line 13: frame 1 comes after frame 1; frame numbers must increase"),
    ("Frame 2", "Frame 99999999999999999999999", r"line 13: frame number must be from 0 to 9007199254740992"),
    ("Frame 2", "Frame", r"line 13: expected 'Frame N'"),
    ("3,4", "3,x", r"line 14: value 'x' is neither a number nor B"),
    ("3,4", "3,1e39", r"line 14 holds a pressure of 1e\+39, which is infinite or too large"),
    ("3,4", "3,inf", r"line 14 holds a pressure of inf, which is infinite or too large"),
], ids=["zero frame time", "tiny frame time", "negative rows", "rows not a number", "spacing without value",
        "repeated frame", "huge frame number", "frame without number", "not a number", "too large", "inf"])
def test_tekscan_damage_is_named(tmp_path, old, new, pattern):
    path = tmp_path / "mat.asf"
    path.write_text(TEKSCAN.replace(old, new, 1))
    assert_damage_named(path, pattern)


@pytest.mark.parametrize("cut, inside", [
    ("Frame 1\n0,1\n2,B\n\nFrame 2\n3,4\n5", "frame 2"), ("Frame 1\n0,1\n2,B\n\nFrame 2\n3,4\n", "frame 2"),
    ("Frame 1\n0,1\n2,B\n\nFrame 2\n", "frame 2"), ("Frame 1\n0,1\n2,B\n\nFra", "the frame after frame 1"),
], ids=["mid row", "rows missing", "no rows", "mid header"])
def test_a_tekscan_file_cut_off_keeps_its_whole_frames_and_says_so(tmp_path, cut, inside):
    """A copy cut off (a full disk, an interrupted transfer) was refused whole; its whole frames
    are read, the frame it ends inside is counted corrupt and named in the warnings."""
    path = tmp_path / "cut.asf"
    path.write_text(TEKSCAN[: TEKSCAN.index("Frame 1")] + cut)
    recording = drivers.load(str(path))
    assert recording.n_frames == 1 and recording.counters.corrupt == 1
    assert recording.attrs["cut_short"] == f"the file ends inside {inside}: 1 whole frame read, the cut one left out"
    middle = tmp_path / "middle.asf"
    middle.write_text(TEKSCAN.replace("0,1", "0"))  # damage with frames after it is still refused
    assert_damage_named(middle, r"line 10 has 1 values, expected 2")


PEDAR = ("file name:  walk.sol\ntotal time [secs]:  0.02\ttime per frame [secs]:  0.01000\tscanning rate [Hz]:   100\n"
         "pressure values in  kPa\n\ntime[secs]\t1\t2\t3\t4\n0.01\t1\t2\t3\t4\n0.02\t5\t6\t7\t8\n")


@pytest.mark.parametrize("old, new, pattern", [
    ("\tscanning rate [Hz]:   100", "", None),  # the rate then comes from the times
    ("\tscanning rate [Hz]:   100", "\tscanning rate [Hz]:   0", r"header 'scanning rate \[Hz\]' must be a positive"),
    ("0.02\t5", "0.01\t5", r"line 7: time 0.01 s does not come after 0.01 s"),  # was ZeroDivisionError
    ("0.02\t5", "0.00\t5", r"line 7: time 0 s does not come after 0.01 s"),
    ("0.01\t1\t2\t3\t4", "0.01\t1\t2\t3", r"line 6 has 4 values, expected 5"),  # was a NumPy message
    ("0.02\t5", "0.02\tx", r"line 7: 'x' is not a number"),
    ("0.02\t5", "inf\t5", r"line 7: the time inf s is not a number from -1e\+09 to 1e\+09"),
    ("0.01\t1", "-1e308\t1", r"line 6: the time -1e\+308 s is not a number from"),
    ("0.02\t5", "0.02\t1e309", r"line 7 holds a pressure of inf"),
    ("time[secs]\t1\t2\t3\t4", "time[secs]\t1\t2\t3", r"line 5: 3 sensor columns cannot be split"),
    ("0.01\t1\t2\t3\t4\n0.02\t5\t6\t7\t8\n", "", r"no frames after the 'time\[secs\]' line"),
], ids=["rate from times", "zero rate", "repeated time", "time backwards", "short row", "not a number", "inf time",
        "huge time", "inf pressure", "odd sensors", "no frames"])
def test_pedar_damage_is_named(tmp_path, old, new, pattern):
    path = tmp_path / "insoles.asc"
    path.write_text(PEDAR.replace(old, new, 1))
    if pattern is None:
        assert drivers.load(str(path)).info.rate_hz == pytest.approx(100.0)
        return
    assert_damage_named(path, pattern)


@pytest.mark.parametrize("cut", ["0.02\t5\t6", "0.02\t5\t6\t", "0.02"], ids=["mid value", "after a tab", "time only"])
@pytest.mark.parametrize("layout", ["", "?layout=outlines"])
def test_a_pedar_file_cut_off_keeps_its_whole_frames_and_says_so(tmp_path, cut, layout):
    """The exports end without a newline, so only a last line short of values tells a cut."""
    path = tmp_path / "cut.asc"
    path.write_text(PEDAR[: PEDAR.index("0.02\t5")] + cut)
    recording = drivers.load(str(path))
    assert recording.n_frames == 1 and recording.counters.corrupt == 1
    assert recording.attrs["cut_short"] == ("the file ends inside the frame at line 7: 1 whole frame read, "
                                            "the cut one left out")
    np.testing.assert_array_equal(recording.cells[0].ravel(), [1, 2, 3, 4])
    whole = tmp_path / "whole.asc"
    whole.write_text(PEDAR.rstrip("\n"))  # no newline at the end, as the real exports: nothing cut
    assert drivers.load(str(whole)).counters.corrupt == 0
    middle = tmp_path / "middle.asc"
    middle.write_text(PEDAR.replace("0.01\t1\t2\t3\t4", "0.01\t1\t2"))  # damage with frames after it: refused
    assert_damage_named(middle, r"line 6 has 3 values, expected 5")


def xsensor_text(times=("08:21:17.982", "08:21:17.995"), frames=(1464, 1465), rows=2):
    lines = ["File:,walk.XSN", "Units:,mmHg"]
    for number, time_of_day in zip(frames, times):
        lines += [f"FRAME,{number}", f"Time, {time_of_day}"]
        for foot in ("LF", "RF"):
            lines += [f"SENSOR,HX210-{foot}", f"Rows,{rows}", "Columns,2", "Sensel Width (cm),0.86",
                      "Sensel Height (cm),0.86", "Est. Load (N),1.5", "SENSELS", "1,2", "3,4"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text, pattern", [
    (xsensor_text(times=("08:21:17.982", "08:21:17.982")), r"frame times .* do not advance"),  # was ZeroDivisionError
    (xsensor_text(frames=(1464, 1464)), r"line 23: frame 1464 comes after frame 1464"),
    (xsensor_text(times=("08:21:17.982", "soon")), r"line 24: time 'soon' is not HH:MM:SS.fff"),
    (xsensor_text(rows=-2), r"line 6: Rows must be at least 1, got '-2'"),
    (xsensor_text().replace("3,4", "3,inf", 1), r"line 13 holds a sensel value that is infinite or too large"),
    (xsensor_text().replace("3,4", "3,x", 1), r"line 13: sensel value 'x' is not a number"),
    (xsensor_text().replace("HX210-RF", "HX210", 1), r"line 14: sensor 'HX210' is neither left"),
    (xsensor_text().replace("Sensel Width (cm),0.86", "Sensel Width (cm),0", 1), r"line 8: Sensel Width .* positive"),
    (xsensor_text().replace("Units:,mmHg", "Units:,mmHg\n\xff"), r"line 3 holds bytes that are not UTF-8 text"),
    (xsensor_text().replace("Rows,2\n", "").split("SENSELS")[0],  # found by the fuzzer: was a NumPy error
     r"the left sensor of the first frame \(line 5\) has no Rows, Columns and SENSELS"),
], ids=["zero frame times", "repeated frame", "bad time", "negative rows", "inf", "not a number", "no foot",
        "zero sensel", "not utf-8", "no rows and cut short"])
def test_xsensor_damage_is_named(tmp_path, text, pattern):
    path = tmp_path / "insoles.csv"
    path.write_bytes(text.encode("latin-1"))
    assert_damage_named(path, pattern)


def test_xsensor_frames_without_sensors_are_refused_before_allocating(tmp_path):
    # 200,000 frames of a 2x2 insole pair after the first: the frames are checked before the
    # (frames, rows, cols) array is made, so no memory goes to a file that holds nothing.
    path = tmp_path / "insoles.csv"
    path.write_text(xsensor_text() + "".join(f"FRAME,{n}\n" for n in range(2000, 202_000)))
    assert_damage_named(path, r"frame 2000 \(line 43\) does not hold the same sensors as the first")


@pytest.mark.parametrize("old, new, pattern", [
    ("Time/picture: 10.0 ms", "Time/picture: 0 ms", r"expected COLSxROWS and two positive numbers"),
    ("Time/picture: 10.0 ms", "Time/picture: " + "9" * 400 + " ms", r"expected COLSxROWS and two positive"),
    ("Matrix: 8x10", "Matrix: 100000x100000", r"expected COLSxROWS"),  # was MemoryError
    ("50.0", "inf", r"line \d+: value 'inf' is infinite or too large"),
    ("Pict-No.: 2", "Pict-No.: 99999999999999999999999", r"picture number 99999999999999999999999 is too large"),
], ids=["zero period", "infinite period", "huge matrix", "inf pressure", "huge picture number"])
def test_emed_damage_is_named(tmp_path, old, new, pattern):
    frames = np.zeros((2, 10, 8), np.float32)
    frames[1, 3, 4] = 50.0
    path = tmp_path / "plate.lst"
    write_emed(path, frames)
    path.write_bytes(path.read_bytes().decode("latin-1").replace(old, new, 1).encode("latin-1"))
    assert_damage_named(path, pattern)


def test_emed_pictures_beyond_what_the_file_could_hold_are_refused(tmp_path):
    # A 1000x1000 plate (the largest Matrix taken) and 20,000 empty pictures in a 300 kB file
    # would be 80 GB of frames; the reader stops at the picture that passes the bound.
    lines = ["Matrix: 1000x1000", "Sensor area: 0.25 cm²", "Time/picture: 10 ms"]
    lines += [f"Pict-No.: {n}" for n in range(1, 20_001)]
    path = tmp_path / "plate.lst"
    path.write_bytes("\n".join(lines).encode("latin-1"))
    assert_damage_named(path, r"pictures of 1000x1000 cells would need .* GiB from a \d+-byte file")


@pytest.mark.parametrize("text, pattern", [
    ("1,2\n3,inf\n\n1,2\n3,4\n", r"line 2 holds a value that is infinite or too large"),
    ("1,2\n3,1e39\n\n1,2\n3,4\n", r"line 2 holds a value that is infinite or too large"),
    ("1,2\n3,4\n\n1,2\n3,\xe9\n", r"line 5 holds bytes that are not UTF-8 text"),
], ids=["inf", "beyond float32", "not utf-8"])
def test_csv_damage_is_named(tmp_path, text, pattern):
    path = tmp_path / "frames.csv"
    path.write_bytes(text.encode("latin-1"))
    assert_damage_named(path, pattern, "?pitch=5&rate=10")


@pytest.mark.parametrize("options, pattern", [
    ("?pitch=5&rate=inf", r"the frame rate \(Hz\) must be a positive number, got inf"),
    ("?pitch=5&rate=1e-300", r"the frame rate \(Hz\) 1e-300 is out of range"),
    ("?pitch=5&rate=0", r"option rate='0': expected a positive number"),
])
def test_bad_options_name_the_file(tmp_path, options, pattern):
    path = tmp_path / "frames.npy"
    np.save(path, np.zeros((2, 3, 4), np.float32))
    assert_damage_named(path, pattern, options)


def test_cli_prints_one_line_for_a_damaged_file(tmp_path):
    from typer.testing import CliRunner

    from pressure.cli import app

    path = tmp_path / "walk.asf"
    path.write_text(TEKSCAN.replace("SECONDS_PER_FRAME 0.01", "SECONDS_PER_FRAME 0"))
    result = CliRunner().invoke(app, ["process", str(path), "-o", str(tmp_path / "out.h5")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip() == f"error: {path}: header SECONDS_PER_FRAME must be a positive number, got 0.0"
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("source, name, says", [
    ("tekscan_fscan/FrasP01L.asf", "renamed.txt", "its content is a Tekscan ASCII export: name it .asf"),
    ("pressuRe_extdata/footscan_test.xls", "renamed.lst", "its content is an Excel 97-2003 workbook (footscan): name it .xls"),
    ("pressuRe_extdata/stappone_example.csv", "renamed.txt", "its content is a STAPPone export: name it .csv"),
])
def test_a_file_named_for_another_format_says_what_it_looks_like(tmp_path, shared_data, source, name, says):
    """An F-Scan export named .txt was only "not a Moticon OpenGo text export"."""
    path = tmp_path / name
    path.write_bytes((shared_data / source).read_bytes())
    with pytest.raises(DriverError) as caught:
        drivers.load(str(path))
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and message.endswith(says) and "\n" not in message


def test_an_hdf5_file_named_csv_says_so(tmp_path):
    path = tmp_path / "results.csv"
    path.write_bytes((FIXTURES / "standing.h5").read_bytes())
    with pytest.raises(DriverError, match=r"its content is an HDF5 file \(a session or results file\): name it .h5$"):
        drivers.load(str(path))


def test_a_pedar_file_cut_inside_its_last_value_is_told_by_the_missing_tab(tmp_path):
    """novel ends every line with a tab and the file with none: a last line whose values are all
    there but not its tab was cut inside its last value (8 read where the file said 8.5)."""
    tabbed = PEDAR.replace("\n0.01", "\t\n0.01").replace("\n0.02", "\t\n0.02").rstrip("\n") + "\t"
    whole = tmp_path / "whole.asc"
    whole.write_text(tabbed)
    assert drivers.load(str(whole)).counters.corrupt == 0
    cut = tmp_path / "cut.asc"
    cut.write_text(tabbed.replace("\t8\t", "\t8.5\t")[:-2])  # "...7\t8." : all four values there
    recording = drivers.load(str(cut))
    assert recording.n_frames == 1 and recording.counters.corrupt == 1
    assert recording.attrs["cut_short"].startswith("the file ends inside the frame at line 7")
