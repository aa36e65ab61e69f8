"""A few thousand random and damaged inputs through every file reader, serial framing parser and
the session-file reader (``benchmarks/fuzz.py``; the README gives the figures of a 10^5-case run):
no crash, no hang, and every error names the file and says what is wrong."""

from __future__ import annotations

import importlib.util
import math
import os
import struct
import time
import warnings

import pytest

import drivers
from benchmarks import fuzz
from drivers import DriverError

SEED = int(os.environ.get("FUZZ_SEED", "20240611"))
HAVE_XLRD = importlib.util.find_spec("xlrd") is not None  # footscan's .xls reader needs it (the test extra has it)
READERS = ["npy", "csv", "tekscan", "xsensor", "pedar", "emed", "moticon", "iscan", "stappone", "pliance",
           *(["footscan"] if HAVE_XLRD else [])]
FRAMINGS = ["binary", "trailer", "rle", "poll", "lines"]
CASES = {"readers": 400 * len(READERS), "framing": 1000, "session": 300}
TARGETS = [*READERS, *FRAMINGS, "session"]


@pytest.fixture(scope="module")
def report() -> fuzz.Report:
    reports = [fuzz.run(CASES["readers"], SEED, READERS, real_share=0.01),
               fuzz.run(CASES["framing"], SEED, FRAMINGS),
               fuzz.run(CASES["session"], SEED, ["session"])]
    tallies = {name: tally for one in reports for name, tally in one.tallies.items()}
    return fuzz.Report(tallies, SEED, sum(one.seconds for one in reports))


@pytest.mark.parametrize("target", TARGETS)
def test_no_crash_no_hang_and_every_error_names_the_file(report, target):
    tally = report.tallies[target]
    assert tally.cases >= 150
    failures = [f"case {index} [{note}]: {kind}: {detail}" for kind, detail, index, note in tally.findings.values()]
    share = 0.01 if target in READERS else 0.1
    assert tally.failures == 0, (f"{target} (seed {SEED}): {tally.counts}; replay case N and keep its input with "
                                 f"python -m benchmarks.fuzz --targets {target} --seed {SEED} --real-share {share} "
                                 f"--first-case N --cases 1 --keep DIR\n" + "\n".join(failures))


def test_the_cases_reach_both_outcomes(report):
    """Damage is often caught and sometimes harmless: a fuzzer whose inputs all fail, or all pass,
    tests nothing."""
    for target in READERS:
        counts = report.tallies[target].counts
        assert counts["ok"] >= 10 and counts["error"] >= 50, (target, counts)


# -- the harness itself ---------------------------------------------------------------------------
def test_errors_are_classified(tmp_path):
    path = tmp_path / "frames.npy"
    assert fuzz.classify_error(ZeroDivisionError("float division by zero"), path)[0] == "crash"
    assert fuzz.classify_error(DriverError("frame rate must be positive, got 0.0 Hz"), path)[0] == "unnamed"
    assert fuzz.classify_error(DriverError(f"{path}: line 3\nhas two lines"), path)[0] == "unnamed"
    assert fuzz.classify_error(DriverError(f"{path}: line 3 is not a number"), path)[0] == "error"
    wrapped = DriverError(f"{path}: not a readable NumPy file (TypeError: oops)")
    assert fuzz.classify_error(wrapped, path)[0] == "raw"


def test_a_case_over_the_limit_is_interrupted_and_counted_as_a_hang():
    runner = fuzz.ThreadRunner(limit_s=0.5)

    def spin():
        while True:
            pass

    try:
        started = time.monotonic()
        assert runner.run(1, spin)[0] == "hang"
        assert time.monotonic() - started < 2
        assert runner.run(2, lambda: ("ok", "")) == ("ok", "")  # the worker is free again
    finally:
        runner.close()


def test_the_same_seed_gives_the_same_cases():
    context = fuzz.Context(folder=None, real_share=0.0)
    for target in ("tekscan", "emed", "npy"):
        first = fuzz.make_file_case(target, fuzz.case_rng(5, target, 17), context)
        again = fuzz.make_file_case(target, fuzz.case_rng(5, target, 17), context)
        assert (first.data, first.note) == (again.data, again.note)
    first, again = (fuzz.make_parser_case("rle", fuzz.case_rng(5, "rle", 3)) for _ in range(2))
    assert first == again


def test_the_fuzzers_own_workbooks_are_read_by_xlrd_and_damaged_in_place():
    xlrd = pytest.importorskip("xlrd")
    sheet = fuzz.footscan_sheet(fuzz.case_rng(5, "footscan", 1))
    data = fuzz.xls_workbook(sheet)
    read = xlrd.open_workbook(file_contents=data).sheet_by_index(0)
    assert [read.row_values(r)[:len(row)] for r, row in enumerate(sheet) if row] == [row for row in sheet if row]
    layout = fuzz._xls_layout(data)
    assert [kind for kind, _, _ in layout["records"]][:2] == [fuzz.BIFF["BOF"], fuzz.BIFF["CODEPAGE"]]
    for index in range(40):
        damaged, how = fuzz._mutate_xls(fuzz.case_rng(5, "footscan", index), data)
        assert len(damaged) == len(data) and how.startswith("xls ")


# -- regressions: the smallest input of each bug the fuzzer (or reading its findings) turned up --------
def refused(path, options: str = "") -> str:
    """The one-line DriverError that loading ``path`` ends in; a warning printed on the way fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DriverError) as caught:
            drivers.load(f"{path}{options}")
    assert fuzz.classify_error(caught.value, path)[0] == "error", str(caught.value)
    return str(caught.value)


def loaded(path, options: str = ""):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recording = drivers.load(f"{path}{options}")
    assert fuzz.recording_problems(recording) == []
    return recording


# RSscan footscan .xls: one 1x1 window, two frames
FOOTSCAN_SHEET = [["Scanning speed;  for the left foot: 0.00 Hertz, for the right foot: 500.00 Hertz"],
                  ["Rectangle bottom"], [6.0], ["Rectangle left"], [40.0], ["Rectangle width"], [1.0],
                  ["Rectangle height"], [1.0], ["Frame 0 (0.00 ms)"], [1.0], ["Frame 1 (2.00 ms)"], [2.0]]


def footscan_file(tmp_path, changes: dict, more: tuple = ()):
    pytest.importorskip("xlrd")
    sheet = [changes.get(row, cells) for row, cells in enumerate(FOOTSCAN_SHEET)] + list(more)
    path = tmp_path / "rolloff.xls"
    path.write_bytes(fuzz.xls_workbook(sheet))
    return path


def test_footscan_sheet_damage_is_caught_from_xlrd(tmp_path):
    """The sheet is read on demand: damage to its records raised from xlrd past the reader (raw)."""
    path = footscan_file(tmp_path, {})
    assert loaded(path).cells.shape == (2, 5, 5)
    data = bytearray(path.read_bytes())
    kind, at, size = [r for r in fuzz._xls_layout(bytes(data))["records"] if r[0] == fuzz.BIFF["NUMBER"]][0]
    data[at + 2:at + 4] = struct.pack("<H", size - 1)  # a NUMBER record one byte short
    path.write_bytes(bytes(data))
    assert "first sheet cannot be read: the file is damaged" in refused(path)


@pytest.mark.parametrize("value", [math.inf, math.nan, -1.0, 2.5])
def test_footscan_window_size_that_is_no_whole_number(tmp_path, value):
    """An infinite or NaN 'Rectangle height' was an OverflowError / ValueError from int()."""
    assert "'rectangle height' is" in refused(footscan_file(tmp_path, {8: [value]}))


def test_footscan_pressure_beyond_float32_or_nan(tmp_path):
    """1e300 printed an overflow warning while cast to float32; NaN was read as a masked cell."""
    assert "row 11 (frame 0) holds a pressure of 1e+300" in refused(footscan_file(tmp_path, {10: [1e300]}))
    assert "row 13 (frame 1) holds a value that is not a number (NaN)" in refused(
        footscan_file(tmp_path, {12: [math.nan]}))


def test_footscan_last_frame_one_row_short(tmp_path):
    """A frame whose last row is the end of the sheet was an IndexError (off by one)."""
    two_rows = {8: [2.0], 11: [1.0], 12: ["Frame 1 (2.00 ms)"]}  # a 1x2 window: frame 1 has one row
    assert "frame 1 (row 13) is cut off" in refused(footscan_file(tmp_path, two_rows, more=([2.0],)))


@pytest.mark.parametrize("row, text, said", [
    (9, "Frame 0 (. ms)", "the time '.' ms of frame 0 is not a number"),
    (9, "Frame 99999999999999999999 (0.00 ms)", "frame number must be from 0 to"),
    (0, "Scanning speed;  for the right foot: 1.2.3 Hertz", "the scanning speed '1.2.3' Hertz is not a number"),
])
def test_footscan_numbers_in_labels(tmp_path, row, text, said):
    """float() and int64 of what the labels' patterns let through: ValueError / OverflowError."""
    assert said in refused(footscan_file(tmp_path, {row: [text]}))


def test_footscan_times_too_close_to_tell_apart_far_from_the_first(tmp_path):
    """Frames at -1e23, 0 and 2 ms are in order, but 1e20 s after the first the last two are one time."""
    path = footscan_file(tmp_path, {9: ["Frame 0 (-1e23 ms)"], 11: ["Frame 1 (0.00 ms)"]},
                         more=(["Frame 2 (2.00 ms)"], [3.0]))
    assert "frames 2 and 3 (0.0 s and 0.002 s) cannot be told apart 1e+20 s after frame 1" in refused(path)


def test_footscan_huge_margin(tmp_path):
    """?margin=10000000000 asked NumPy for an impossible array (ValueError)."""
    assert "give a smaller margin" in refused(footscan_file(tmp_path, {}), "?margin=10000000000")


# Moticon OpenGo .txt: 16 pressures, total force and COP per insole
MOTICON_HEADER = "# Size: 7\n" + "\t".join(
    ["# time"] + [name for side in ("left", "right") for name in
                  [f"{side} pressure {k}[N/cm²]" for k in range(1, 17)]
                  + [f"{side} total force[N]", f"{side} center of pressure X[-0.5...+0.5]",
                     f"{side} center of pressure Y[-0.5...+0.5]"]])


def moticon_file(tmp_path, times=("0.00", "0.01"), first="1.00"):
    rows = ["\t".join([t] + [first if k == 0 else "1.00"] + ["1.00"] * 37) for k, t in enumerate(times)]
    path = tmp_path / "walk.txt"
    path.write_text(MOTICON_HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_moticon_pressure_beyond_float64_after_scaling(tmp_path):
    """1e308 N/cm² overflowed to inf (with a warning) when converted to kPa."""
    assert loaded(moticon_file(tmp_path)).cells.shape == (2, 2, 16)
    assert "line 3 holds a pressure of 1e+308" in refused(moticon_file(tmp_path, first="1e308"))


@pytest.mark.parametrize("text", ["nan", "inf"])
def test_moticon_nan_or_inf_is_no_value(tmp_path, text):
    """'nan' was read as a pressure of NaN (an unloaded cell of a recording that has no such cells)."""
    assert f"left value '{text}' is not a finite number" in refused(moticon_file(tmp_path, first=text))


def test_moticon_frame_numbers_beyond_int64(tmp_path):
    """Steps of 1e-12 s and a time of 1e9 s made frame numbers of 1e21: a cast warning and garbage."""
    recording = loaded(moticon_file(tmp_path, times=("0", "0.000000000001", "0.000000000002", "1000000000")))
    assert list(recording.counter) == [0, 1, 2, 3]


# Novel pliance .asc
PLIANCE_GRID = """mat type s9999_001
scanning rate [Hz]: 20
time[secs]   1   2   3   4
    0.05000   1.0   2.0   3.0   4.0
    0.10000   1.0   2.0   3.0   4.0
sensor   1   2   3   4
x[c]   0.25   0.25   0.75   0.75
y[c]   0.25   0.75   0.25   0.75
area   0.25   0.25   0.25   0.25
"""


def pliance_file(tmp_path, text):
    path = tmp_path / "mat.asc"
    path.write_text(text)
    return path


def test_pliance_sensor_centre_far_off_the_grid(tmp_path):
    """A centre at 1e22 cm is a whole number of pitches from the others: cast to int, an IndexError."""
    assert loaded(pliance_file(tmp_path, PLIANCE_GRID)).cells.shape == (2, 2, 2)
    far = PLIANCE_GRID.replace("x[c]   0.25   0.25   0.75   0.75", "x[c]   0.25   0.25   0.75   1e22")
    assert "not on a regular grid" in refused(pliance_file(tmp_path, far))


def test_pliance_frame_numbers_beyond_int64(tmp_path):
    """A frame at 1e23 s made a frame number of 2e24 at 20 Hz: a cast warning and a garbage counter."""
    late = PLIANCE_GRID.replace("    0.10000 ", "    1e23 ")
    assert list(loaded(pliance_file(tmp_path, late)).counter) == [0, 1]


def test_pliance_times_too_close_to_tell_apart_far_from_the_first(tmp_path):
    """Frames at -1e23, 0.05 and 0.1 s are in order, but counted from the first the last two were one time."""
    early = PLIANCE_GRID.replace("    0.05000 ", "    -1e23   1.0   2.0   3.0   4.0\n    0.05000 ")
    assert "frames 2 and 3 (0.05 s and 0.1 s) cannot be told apart" in refused(
        pliance_file(tmp_path, early))


def test_pliance_nan_text_is_named(tmp_path):
    """'nan' in a frame was reported as "'-' where a frame needs a number"."""
    assert "'nan' in a frame is not a finite number" in refused(
        pliance_file(tmp_path, PLIANCE_GRID.replace("2.0   3.0   4.0\n    0.1", "nan   3.0   4.0\n    0.1")))


# STAPPone .csv
def stappone_file(tmp_path, *rows, name="walkL.csv"):
    path = tmp_path / name
    path.write_text(",".join(fuzz.STAPPONE_COLUMNS) + "\n"
                    + "".join(f"{sole},{stamp},0,0,0,0,0,0,0,0,0,{first},1,1,1,1,1,1,1,1,1,1,1,0\n"
                              for sole, stamp, first in rows))
    return path


def test_stappone_nan_sole_id(tmp_path):
    """A sole_id of nan matched no row of itself: an IndexError (or 'give ?left_sole=nan or nan')."""
    assert loaded(stappone_file(tmp_path, (1, 1000, 5), (1, 1016, 5))).cells.shape == (2, 1, 12)
    assert "line 2: sole_id nan is not a finite number" in refused(stappone_file(tmp_path, ("nan", 1000, 5)))
    assert "line 3: sole_id 1.5 is not a whole number" in refused(
        stappone_file(tmp_path, (1, 1000, 5), (1.5, 1000, 5)), "?left_sole=1")


def test_stappone_nan_pressure_and_huge_timestamps(tmp_path):
    """nan was read as a pressure of NaN; timestamps of -1e308 and 1e308 ms overflowed (a warning)."""
    assert "line 3: pressure_01 nan is not a finite number" in refused(
        stappone_file(tmp_path, (1, 1000, 5), (1, 1016, "nan")))
    assert "line 2: timestamp -1e+308 ms is out of range" in refused(
        stappone_file(tmp_path, (1, "-1e308", 5), (1, "1e308", 5)))


# Tekscan I-Scan .csv
ISCAN = """DATA_TYPE MOVIE
ROWS 1
COLS 2
ROW_SPACING 0.127 centimeters
COL_SPACING 0.127 centimeters
SECONDS_PER_FRAME 0.1
UNITS KPa
ASCII_DATA @@
Frame 1, 0,, 12/2/2019 6:21:52.34PM,,,Raw Sum=,,3
1,2
@@
"""


def test_iscan_infinite_raw_sum(tmp_path):
    """A Raw Sum of 1e999 was kept as an infinite reported value."""
    path = tmp_path / "contact.csv"
    path.write_text(ISCAN)
    assert list(loaded(path).extras["reported_raw_sum"]) == [3.0]
    path.write_text(ISCAN.replace("Raw Sum=,,3", "Raw Sum=,,1e999"))
    assert "the Raw Sum of frame 1 is inf, not a finite number" in refused(path)
