"""What each reader puts into ``Recording.attrs`` about when and whom: ``recorded_at`` (naive ISO
8601, as the header writes it), ``recorded_at_text`` (a date the header gives but that cannot be
read without guessing), ``subject`` (the header's own subject or patient field).

The expected values of the real samples in ../shared/data were read off their headers by eye:

- tekscan_fscan/FrasP01[LR].asf: ``TIME Thursday, 16 February 2017 11:26:22 a.m.``
- pressuRe_extdata/iscan_test.csv: ``TIME 12/2/2019 6:21:52.34PM`` (12 February or 2 December)
- xsensor_insole/xsensor_data.csv: first frame ``Date, 2022 Aug 16`` and ``Time, 08:21:17.982``
- novel_pedar/pedar_example.asc: ``date/time  25.04.23 10.49``
- pressuRe_extdata/pliance_test.asc: ``date/time 17.06.23 15.21``
- moticon_opengo/230927_102114.txt: ``# Start time: 27.09.2023 10:21:14.922`` (``Name`` is the
  recording's name, not a person)
- pressuRe_extdata/footscan_test.xls: ``Measurement done on 07-07-2011``, ``Patient name: NA``
- pressuRe_extdata/emed_test.lst and stappone_example.csv: no date, no subject

None of them names a subject; file names and paths (``3DI_S001_V2_FE_2.sol``, ``...\\FraserP10\\...``)
are not taken for one.
"""

from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers.files import footscan
from drivers.files.metadata import header_attrs
from tests.conftest import shared_file

KEYS = ("recorded_at", "recorded_at_text", "subject")


def when_and_who(recording) -> dict:
    return {key: value for key, value in (recording.attrs or {}).items() if key in KEYS}


# -- the real samples -------------------------------------------------------------------------
@pytest.mark.parametrize("relative, options, expected", [
    ("tekscan_fscan/FrasP01L.asf", "", {"recorded_at": "2017-02-16T11:26:22"}),
    ("tekscan_fscan/FrasP01R.asf", "", {"recorded_at": "2017-02-16T11:26:22"}),
    ("pressuRe_extdata/iscan_test.csv", "?scale_kpa=1", {"recorded_at_text": "12/2/2019 6:21:52.34PM"}),
    ("xsensor_insole/xsensor_data.csv", "", {"recorded_at": "2022-08-16T08:21:17.982"}),
    ("novel_pedar/pedar_example.asc", "", {"recorded_at": "2023-04-25T10:49"}),
    ("novel_pedar/pedar_example.asc", "?layout=outlines", {"recorded_at": "2023-04-25T10:49"}),
    ("pressuRe_extdata/pliance_test.asc", "", {"recorded_at": "2023-06-17T15:21"}),
    ("moticon_opengo/230927_102114.txt", "", {"recorded_at": "2023-09-27T10:21:14.922"}),
    ("pressuRe_extdata/footscan_test.xls", "", {"recorded_at": "2011-07-07"}),
    ("pressuRe_extdata/emed_test.lst", "", {}),
    ("pressuRe_extdata/stappone_example.csv", "?foot=left", {}),
], ids=["tekscan L", "tekscan R", "iscan", "xsensor", "pedar", "pedar outlines", "pliance", "moticon", "footscan",
        "emed", "stappone"])
def test_real_sample_header_date_and_subject(relative, options, expected):
    if relative.endswith(".xls"):
        pytest.importorskip("xlrd")
    recording = drivers.load(f"{shared_file(relative)}{options}")
    assert when_and_who(recording) == expected


def test_real_sample_date_reaches_the_results_and_the_picture_title():
    from pressure.analysis import analyse
    from pressure.picture import session_date

    recording = drivers.load(str(shared_file("moticon_opengo/230927_102114.txt")))
    results, _ = analyse(recording)
    assert results.attrs["recorded_at"] == "2023-09-27T10:21:14.922"
    assert session_date(results.attrs) == "2023-09-27 10:21"


# -- the date formats read, one by one ---------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("Thursday, 16 February 2017 11:26:22 a.m.", "2017-02-16T11:26:22"),  # Tekscan, long date
    ("Thursday, 16 February 2017 11:26:22 p.m.", "2017-02-16T23:26:22"),
    ("16 February 2017 12:05:00 a.m.", "2017-02-16T00:05:00"),
    ("Thu Jan 10 10:30:00 2019", "2019-01-10T10:30:00"),  # C's ctime()
    ("February 16, 2017 9:05 AM", "2017-02-16T09:05"),
    ("Sept 3 2020", "2020-09-03"),
    ("2022 Aug 16 08:21:17.982", "2022-08-16T08:21:17.982"),  # XSENSOR Date + Time
    ("25.04.23 10.49", "2023-04-25T10:49"),  # novel pedar/pliance: dd.mm.yy hh.mm
    ("13.02.98 09.32", "1998-02-13T09:32"),  # two-digit years as strptime's %y
    ("01.02.2019", "2019-02-01"),  # dots: day first
    ("27.09.2023 10:21:14.922", "2023-09-27T10:21:14.922"),  # Moticon
    ("2019-02-01 09:14:02", "2019-02-01T09:14:02"),
    ("2019-02-01T09:14:02.123456", "2019-02-01T09:14:02.123456"),
    ("2019/02/01", "2019-02-01"),
    ("07-07-2011", "2011-07-07"),  # footscan: day and month the same, so the order does not matter
    ("13/1/2019 6:21:52.34PM", "2019-01-13T18:21:52.340"),  # 13 can only be the day
    ("1/13/2019 1:05 pm", "2019-01-13T13:05"),
    ("Tuesday, 2/12/2019", "2019-02-12"),  # the weekday tells: 12 February 2019 was a Tuesday
])
def test_date_formats_read(text, expected):
    assert header_attrs(text) == {"recorded_at": expected}


@pytest.mark.parametrize("text", [
    "12/2/2019 6:21:52.34PM",  # I-Scan: 12 February or 2 December; the file does not say
    "2/1/2019 09:14:02 AM",
    "02-01-2019",
])
def test_ambiguous_day_and_month_are_kept_as_text(text):
    assert header_attrs(text) == {"recorded_at_text": text}


@pytest.mark.parametrize("text", [
    "31.02.2019 10:00",  # no 31 February
    "25.04.23 25.49",  # no 25 o'clock
    "2/1/2019 13:00 PM",
    "Friday, 16 February 2017",  # the weekday disagrees with the date
    "16 Februry 2017",
    "16 February 2017 11:26 CET",  # a word not read (a zone is not guessed either)
    "Thu Jan 10 10:30:00",  # no year
    "10:30:00",  # a time without a date
    "soon",
    "25.04.23 10.49.5.5.5",
])
def test_damaged_dates_are_kept_as_text(text):
    assert header_attrs(text) == {"recorded_at_text": text}


def test_header_text_is_cleaned_and_placeholders_are_no_subject():
    assert header_attrs("") == {} and header_attrs(None) == {}
    assert header_attrs("\x00\x01\x7f") == {}
    assert header_attrs("25.04.23\x0010.49") == {"recorded_at": "2023-04-25T10:49"}  # control characters: spaces
    assert header_attrs("x" * 1000) == {"recorded_at_text": "x" * 120}
    for placeholder in ("NA", "n/a", "-", "", "  ", "unknown"):
        assert header_attrs("", placeholder) == {}
    assert header_attrs("", "  S017 ") == {"subject": "S017"}


# -- inline headers, reader by reader ----------------------------------------------------------
TEKSCAN = ("DATA_TYPE MOVIE\nFILENAME C:\\movies\\P01\\walk.fsx\nROWS 2\nCOLS 2\nROW_SPACING 5 mm\nCOL_SPACING 5 mm\n"
           "SECONDS_PER_FRAME 0.01\nTIME {time}\nCOMMENTS:\nwalk p01\nUNITS KPa\nASCII_DATA @@\n\n"
           "Frame 1\n0,1\n2,B\n\nFrame 2\n3,4\n5,B\n@@\n")


@pytest.mark.parametrize("time, expected", [
    ("Thursday, 16 February 2017 11:26:22 a.m.", {"recorded_at": "2017-02-16T11:26:22"}),
    ("Thu Jan 10 10:30:00 2019", {"recorded_at": "2019-01-10T10:30:00"}),
    ("2/1/2019 09:14:02 AM", {"recorded_at_text": "2/1/2019 09:14:02 AM"}),
    ("13/1/2019 09:14:02 AM", {"recorded_at": "2019-01-13T09:14:02"}),
    ("Thursday, 32 February 2017 11:26:22 a.m.", {"recorded_at_text": "Thursday, 32 February 2017 11:26:22 a.m."}),
    ("\x01\x02", {}),
    ("", {}),
], ids=["long date", "ctime", "ambiguous", "day over 12", "damaged", "control characters", "empty"])
def test_tekscan_time_line(tmp_path, time, expected):
    path = tmp_path / "mat.asf"
    path.write_bytes(TEKSCAN.format(time=time).encode("latin-1"))
    recording = drivers.load(str(path))
    assert when_and_who(recording) == expected  # FILENAME and COMMENTS name no subject
    assert recording.n_frames == 2


def test_tekscan_without_a_time_line_has_no_date(tmp_path):
    path = tmp_path / "mat.asf"
    path.write_text(TEKSCAN.replace("TIME {time}\n", ""))
    assert when_and_who(drivers.load(str(path))) == {}


def test_iscan_time_line(tmp_path):
    path = tmp_path / "finger.csv"
    text = TEKSCAN.format(time="12/25/2019 6:21:52.34PM").replace("Frame 1\n", "Frame 1, 0,, x,,,Raw Sum=,,3\n")
    path.write_text(text)
    recording = drivers.load(str(path))
    assert recording.info.device.startswith("Tekscan") and drivers.files.format_module(path).__name__.endswith("iscan")
    assert when_and_who(recording) == {"recorded_at": "2019-12-25T18:21:52.340"}


def xsensor_text(date_line="Date, 2022 Aug 16", times=("08:21:17.982", "08:21:17.995")):
    lines = ["File:,C:\\Users\\someone\\walk.XSN", "Units:,mmHg"]
    for number, time_of_day in zip((1464, 1465), times):
        lines += [f"FRAME,{number}", date_line, f"Time, {time_of_day}"]
        for foot in ("LF", "RF"):
            lines += [f"SENSOR,HX210-{foot}", "Rows,2", "Columns,2", "Sensel Width (cm),0.86",
                      "Sensel Height (cm),0.86", "Est. Load (N),1.5", "SENSELS", "1,2", "3,4"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("date_line, expected", [
    ("Date, 2022 Aug 16", {"recorded_at": "2022-08-16T08:21:17.982"}),
    ("Date, Aug 16, 2022", {"recorded_at": "2022-08-16T08:21:17.982"}),  # a comma inside the date: two fields
    ("Date, 16.08.2022", {"recorded_at": "2022-08-16T08:21:17.982"}),
    ("Date, 8/6/2022", {"recorded_at_text": "8/6/2022 08:21:17.982"}),
    ("Date, 2022 Aug 32", {"recorded_at_text": "2022 Aug 32 08:21:17.982"}),
    ("Date,", {}),
    ("", {}),
], ids=["vendor", "comma", "dots", "ambiguous", "damaged", "empty", "none"])
def test_xsensor_first_frame_date_and_time(tmp_path, date_line, expected):
    path = tmp_path / "insoles.csv"
    path.write_text(xsensor_text(date_line))
    recording = drivers.load(str(path))
    assert when_and_who(recording) == expected  # the File: path names no subject
    assert recording.n_frames == 2


PEDAR = ("file name:  walk.sol\tdate/time  {date}\nsensor type:  y-1865l-1870r\n"
         "total time [secs]:  0.02\ttime per frame [secs]:  0.01000\tscanning rate [Hz]:   100\n"
         "pressure values in  kPa\n\ntime[secs]\t1\t2\t3\t4\n0.01\t1\t2\t3\t4\n0.02\t5\t6\t7\t8\n")


@pytest.mark.parametrize("date, expected", [
    ("25.04.23 10.49", {"recorded_at": "2023-04-25T10:49"}),
    ("01.02.2019 09:14", {"recorded_at": "2019-02-01T09:14"}),
    ("25.13.23 10.49", {"recorded_at_text": "25.13.23 10.49"}),
    ("??.??.?? ??.??", {"recorded_at_text": "??.??.?? ??.??"}),
    ("", {}),
], ids=["vendor", "four-digit year", "month 13", "damaged", "empty"])
def test_pedar_date_time(tmp_path, date, expected):
    path = tmp_path / "insoles.asc"
    path.write_text(PEDAR.format(date=date))
    recording = drivers.load(f"{path}?sensor_area_cm2=2")
    assert when_and_who(recording) == expected  # "file name" is not a subject
    assert recording.n_frames == 2


PLIANCE = """file name: x.mat date/time {date}
mat type s9999_001
total times [secs]: 0.1 time per frame [secs]: 0.05 scanning rate [Hz]: 20
pressure values in kPa

electrical:
time[secs]   1   2   3
    0.05000   10.0   20.0   0.0
    0.10000   30.0   0.0    5.0
"""


@pytest.mark.parametrize("date, expected", [
    ("17.06.23 15.21", {"recorded_at": "2023-06-17T15:21"}),
    ("17.06.23 15.61", {"recorded_at_text": "17.06.23 15.61"}),
    ("", {}),
], ids=["vendor", "damaged", "empty"])
def test_pliance_date_time(tmp_path, date, expected):
    path = tmp_path / "trial.asc"
    path.write_text(PLIANCE.format(date=date))
    recording = drivers.load(f"{path}?sensor_area_cm2=2")
    assert when_and_who(recording) == expected
    assert recording.n_frames == 2


def write_emed(path, header_lines):
    lines = ["", "\t\t\t\tPage 1", "", "\tFile: C:\\novel\\data\\EMED\\20150225\\2.dat \tMatrix: 4x3",
             "\tSensor area: 0.25 cm²\tTime/picture:10.0 ms", *header_lines]
    for number in (1, 2):
        lines += [f"\tPict-No.: {number}  Force[N]=sum*sensor_area in row/column", "", "\t2\t3\tForce",
                  "2\t10.00\t20.00\t0.75", "Force\t0.25\t0.50\t0.75", "\f"]
    path.write_bytes("\n".join(lines).encode("latin-1"))


@pytest.mark.parametrize("header_lines, expected", [
    ([], {}),  # as the sample: the date in the File: path is not taken for one
    (["\tDate: 25.02.2015\tTime: 10:30:15"], {"recorded_at": "2015-02-25T10:30:15"}),
    (["\tDate: 02/03/2015"], {"recorded_at_text": "02/03/2015"}),
    (["\tPatient: S017\tDate: 2015-02-25"], {"recorded_at": "2015-02-25", "subject": "S017"}),
    (["\tDate: 99.99.2015"], {"recorded_at_text": "99.99.2015"}),
    (["\tTime: 10:30"], {}),  # a time without a date dates nothing
], ids=["none", "date and time", "ambiguous", "patient", "damaged", "time only"])
def test_emed_header_fields(tmp_path, header_lines, expected):
    path = tmp_path / "plate.lst"
    write_emed(path, header_lines)
    recording = drivers.load(str(path))
    assert when_and_who(recording) == expected
    assert recording.n_frames == 2


def moticon_text(start_line):
    names = ["time"]
    for side in ("left", "right"):
        names += [f"{side} pressure {k}[N/cm²]" for k in range(1, 17)]
        names += [f"{side} total force[N]", f"{side} center of pressure X[-0.5...+0.5]",
                  f"{side} center of pressure Y[-0.5...+0.5]"]
    rows = ["\t".join([f"{t:.2f}"] + ["1.00"] * (len(names) - 1)) for t in (0.0, 0.01, 0.02)]
    header = [start_line, "# Duration: 00:00.030", "# Sensor insoles: Left SN1, Right SN2", "# Size: 7",
              "# Name: walking", "# Notes: ", "# Tag: "]
    return "\n".join([line for line in header if line] + ["# " + "\t".join(names), *rows]) + "\n"


@pytest.mark.parametrize("start_line, expected", [
    ("# Start time: 27.09.2023 10:21:14.922", {"recorded_at": "2023-09-27T10:21:14.922"}),
    ("# Start time: 27.09.2023", {"recorded_at": "2023-09-27"}),
    ("# Start time: 27.19.2023 10:21:14.922", {"recorded_at_text": "27.19.2023 10:21:14.922"}),
    ("# Start time:", {}),
    ("", {}),
], ids=["vendor", "date only", "damaged", "empty", "none"])
def test_moticon_start_time(tmp_path, start_line, expected):
    path = tmp_path / "walk.txt"
    path.write_text(moticon_text(start_line), encoding="utf-8")
    recording = drivers.load(str(path))
    assert when_and_who(recording) == expected  # "Name: walking" names the recording, not a subject
    assert recording.n_frames == 3


class Sheet:
    """The part of an xlrd sheet the footscan reader uses, from a list of rows."""

    def __init__(self, rows):
        self.rows = rows
        self.nrows, self.ncols = len(rows), max(len(row) for row in rows)

    def cell_value(self, row, col):
        values = self.rows[row]
        return values[col] if col < len(values) else ""

    def row_values(self, row, start=0, end=None):
        return list(self.rows[row][start:end])


def footscan_rows(header):
    rows = [["Dynamic Roll offfor measurement: Barefoot_2"], *[[line] for line in header],
            ["Scanning speed;  for the left foot: 0.00 Hertz, for the right foot: 500.00 Hertz"], [""],
            ["Right foot data"], [""], ["Right rectangle position"]]
    for label, value in (("Rectangle bottom", 6.0), ("Rectangle left", 40.0), ("Rectangle width", 2.0),
                         ("Rectangle height", 2.0)):
        rows += [[label], [value]]
    for number in (0, 1):
        rows += [[f"Frame {number} ({number * 2:.2f} ms)"], [1.0, 2.0], [3.0, 4.0], [""]]
    return rows


@pytest.mark.parametrize("header, expected", [
    (["Patient name: NA", "Measurement done on 07-07-2011"], {"recorded_at": "2011-07-07"}),
    (["Patient name: S017", "Measurement done on 25-12-2011"], {"recorded_at": "2011-12-25", "subject": "S017"}),
    (["Patient name: ", "Measurement done on 03-07-2011"], {"recorded_at_text": "03-07-2011"}),
    (["Measurement done on 07-07-2011 14:05"], {"recorded_at": "2011-07-07T14:05"}),
    (["Measurement done on 45-45-2011"], {"recorded_at_text": "45-45-2011"}),
    (["Measurement done on"], {}),
    ([], {}),
], ids=["sample", "patient", "ambiguous", "with time", "damaged", "empty", "none"])
def test_footscan_patient_and_measurement_date(header, expected):
    recording = footscan._read_sheet("test.xls", Sheet(footscan_rows(header)),
                                     {"units": "n", "pitch": None, "margin": 0}, "test.xls")
    assert when_and_who(recording) == expected
    assert recording.n_frames == 2
    np.testing.assert_array_equal(recording.cells[0], [[1.0, 2.0], [3.0, 4.0]])


def test_pictures_show_a_bare_date_as_a_date_and_an_unparsed_one_as_written():
    from pressure.pictures.text import session_date

    assert session_date({"recorded_at": "2011-07-07"}) == "2011-07-07"
    assert session_date({"recorded_at": "2023-04-25T10:49"}) == "2023-04-25 10:49"
    assert session_date({"recorded_at_text": "12/2/2019 6:21:52.34PM"}) == "12/2/2019 6:21:52.34PM"
