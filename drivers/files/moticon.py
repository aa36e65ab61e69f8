"""Moticon OpenGo text exports (``.txt``): two insoles of 16 pressure sensors each, no grid.

``# Key: value`` header lines (Start time, Duration, Sensor insoles, Size, ...) are followed by a
``# time ...`` line naming the tab-separated columns: time (s), then per side (``left``/``right``)
``pressure 1..16[N/cm²]``, acceleration, angular rate, ``total force[N]`` and ``center of pressure
X/Y[-0.5...+0.5]``, and finally step counters. Pressures in N/cm² are converted to kPa (x 10).

The sensors are laid out as two rows of a grid without geometry (row 0 left, row 1 right, as
pedar), so force, load share and steps are meaningful but positions are not: the sensor positions
of the Moticon insole sizes are not in the file nor in a form we may use (``has_geometry`` False).
The per-sensor areas are not in the file either. ``?sensor_area_cm2=`` sets one area for every
sensor; the default, 12.3 cm², is the effective area per sensor that makes the summed pressures
match Moticon's total force on the OpenGo sample (size 7, least squares: 12.40 left, 12.27 right);
it is a nominal value, not a published one. With it our force follows Moticon's with r = 0.997 and
an RMS difference of about 2.5 % of the peak force (the vendor weights its sensors unequally).

Rows where one insole sent nothing (its columns are empty) are filled by linear interpolation
between that insole's neighbouring samples; the start and end of the recording where one insole
has not yet (or no longer) sent are cut off, so both insoles cover every kept frame. The attrs say
how many samples were filled (``moticon_filled_left``/``_right``) and how many frames were cut.

Kept beside the frames, per frame, as the vendor reports them (NaN where that insole sent nothing):

- ``reported_force_left_n``, ``reported_force_right_n``: Moticon's total force per insole (N);
  ``reported_force_n`` holds both as (time, foot), as for the other readers;
- ``reported_cop_x_left``, ``reported_cop_y_left``, ``reported_cop_x_right``, ``reported_cop_y_right``:
  Moticon's centre of pressure per insole in normalised insole coordinates (-0.5 to +0.5 across
  and along the insole), not mm.

The ``# Start time: 27.09.2023 10:21:14.922`` line (day.month.year, as Moticon's own
``moticon_opengo`` package reads it) becomes ``attrs["recorded_at"]`` (``2023-09-27T10:21:14.922``,
naive: the line names no time zone; where OpenGo also writes ``Start timestamp`` in Unix ms, the
start time is the local clock), or ``attrs["recorded_at_text"]`` if it does not read as a date. The
header names no person: ``Name`` is the recording's name (``230927_10:21:14``, ``walking``), not a
subject, so no subject is set.
"""

from __future__ import annotations

import math
import re

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import (MAX_FRAME_NUMBER, check_pressures, check_times, header_attrs, is_number,
                                    marked_cut_short, positive_number, read_text, relative_times, text_lines,
                                    unterminated)
from drivers.recording import Recording
from drivers.url import positive

FORMAT_NAME = "Moticon OpenGo text"
NOMINAL_SENSOR_AREA_CM2 = 12.3
OPTIONS = {"sensor_area_cm2": (positive(float), NOMINAL_SENSOR_AREA_CM2)}
SENSORS = 16
SIDES = ("left", "right")
UNITS_TO_KPA = {"n/cm²": 10.0, "n/cm2": 10.0, "kpa": 1.0}
MAX_TIME_S = 1e9


def looks_like(head: bytes) -> bool:
    """Whether the first bytes of a file are a Moticon OpenGo text export."""
    text = head.lstrip(b"\xef\xbb\xbf")
    return text.startswith(b"# ") and b"# time\t" in text and b"pressure 1[" in text


def read(path, options, url) -> Recording:
    lines = text_lines(read_text(path, "utf-8-sig"))
    header_line = next((i for i, line in enumerate(lines) if line.startswith("# time")), None)
    if header_line is None:
        raise DriverError(f"{path}: no '# time' column line; not a Moticon OpenGo text export")
    names = [name.strip() for name in lines[header_line][2:].split("\t")]
    header = {}
    for line in lines[:header_line]:
        key, _, value = line.lstrip("# ").partition(":")
        header[key.strip().lower()] = value.strip()
    columns = {}
    units = set()
    for side in SIDES:
        columns[side] = {}
        for k in range(1, SENSORS + 1):
            index = _column(path, names, rf"{side} pressure {k}\[(.*)\]")
            units.add(re.match(rf"{side} pressure {k}\[(.*)\]", names[index]).group(1).lower())
            columns[side].setdefault("pressure", []).append(index)
        columns[side]["force"] = _column(path, names, rf"{side} total force\[N\]")
        columns[side]["cop_x"] = _column(path, names, rf"{side} center of pressure X\[.*\]")
        columns[side]["cop_y"] = _column(path, names, rf"{side} center of pressure Y\[.*\]")
    if len(units) != 1 or next(iter(units)) not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {sorted(units)} are not known; known: N/cm², kPa")
    to_kpa = UNITS_TO_KPA[units.pop()]

    rows, numbers = [], []
    cut_short = None  # the line of the sample the file ends inside, if it does (a copy cut off, a full disk)
    for number, line in enumerate(lines[header_line + 1:], start=header_line + 2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if unterminated(lines, number) and rows and len(fields) <= len(names):
            # No newline after it (the exports end each line with one): the file ends inside it.
            cut_short = f"the sample at line {number}"
            break
        if len(fields) < len(names):
            fields += [""] * (len(names) - len(fields))
        rows.append(fields)
        numbers.append(number)
    if not rows:
        raise DriverError(f"{path}: no samples after the '# time' line")
    n = len(rows)
    time_s = np.array([_number(path, numbers[i], rows[i][0], "time") for i in range(n)])
    if not (np.abs(time_s) <= MAX_TIME_S).all():
        bad = int(np.argmin(np.abs(time_s) <= MAX_TIME_S))
        raise DriverError(f"{path}: line {numbers[bad]}: the time {time_s[bad]:g} s is out of range")
    check_times(path, time_s)

    pressures = np.full((n, 2, SENSORS), np.nan)
    reported = {}
    present = np.zeros((n, 2), bool)
    for foot, side in enumerate(SIDES):
        wanted = columns[side]["pressure"] + [columns[side][k] for k in ("force", "cop_x", "cop_y")]
        values = np.full((n, len(wanted)), np.nan)
        for i, fields in enumerate(rows):
            texts = [fields[c].strip() for c in wanted]
            if not any(texts):
                continue  # this insole sent nothing in this sample
            if not all(texts):
                raise DriverError(f"{path}: line {numbers[i]}: the {side} insole's values are partly empty")
            values[i] = [_number(path, numbers[i], text, f"{side} value") for text in texts]
            present[i, foot] = True
        check_pressures(path, values[:, :SENSORS], lambda index: f"line {numbers[index[0]]}")  # before scaling
        pressures[:, foot] = values[:, :SENSORS] * to_kpa
        reported[side] = values[:, SENSORS:]
    if not present.any(axis=0).all():
        missing = [side for foot, side in enumerate(SIDES) if not present[:, foot].any()]
        raise DriverError(f"{path}: the {missing[0]} insole has no samples; a one-insole export is not read yet")
    both = present.all(axis=1)
    if not both.any():
        raise DriverError(f"{path}: no sample holds both insoles")
    first, last = int(np.argmax(both)), n - int(np.argmax(both[::-1]))
    keep = slice(first, last)
    time_kept = time_s[keep]
    filled = {}
    for foot, side in enumerate(SIDES):
        have = present[keep, foot]
        filled[side] = int((~have).sum())
        for k in range(SENSORS):
            column = pressures[keep, foot, k]
            pressures[keep, foot, k] = np.interp(time_kept, time_kept[have], column[have])
    cells = pressures[keep]
    check_pressures(path, cells, lambda index: f"line {numbers[first + index[0]]}")
    if (cells < 0).any():
        raise DriverError(f"{path}: negative pressures")
    cells = cells.astype(np.float32)
    steps = np.diff(time_kept)
    if len(time_kept) > 1:
        rate = positive_number(path, "the frame rate from the times", 1.0 / float(np.median(steps)))
    else:
        raise DriverError(f"{path}: one sample only, so the frame rate is unknown")
    relative = relative_times(path, time_kept)
    frame_numbers = np.round(relative * rate)
    if frame_numbers[-1] <= MAX_FRAME_NUMBER and (np.diff(frame_numbers) > 0).all():
        counter = frame_numbers.astype(np.int64)
    else:  # samples closer than the median step, or numbers beyond int64: counted one by one
        counter = np.arange(len(time_kept), dtype=np.int64)
    sensor_area_cm2 = positive_number(path, "the sensor area (cm²)", options["sensor_area_cm2"])
    area_mm2 = sensor_area_cm2 * 100
    side_mm = float(np.sqrt(area_mm2))
    foot_map = np.repeat(np.array([[0], [1]], np.int8), SENSORS, axis=1)
    size = header.get("size", "")
    info = MatInfo(rows=2, cols=SENSORS, pitch_x_mm=side_mm, pitch_y_mm=side_mm, rate_hz=rate,
                   device="Moticon OpenGo insoles", dtype=np.float32, cell_area_mm2=area_mm2, foot_map=foot_map,
                   has_geometry=False, extra={"sensor_area_cm2": sensor_area_cm2, "insole_size": size})
    extras = {}
    for foot, side in enumerate(SIDES):
        values = reported[side][keep]
        extras[f"reported_force_{side}_n"] = values[:, 0]
        extras[f"reported_cop_x_{side}"] = values[:, 1]
        extras[f"reported_cop_y_{side}"] = values[:, 2]
    extras["reported_force_n"] = np.stack([extras["reported_force_left_n"], extras["reported_force_right_n"]], axis=1)
    attrs = {"sensor_area_cm2": sensor_area_cm2, "insole_size": size,
             "moticon_filled_left": filled["left"], "moticon_filled_right": filled["right"],
             "moticon_cut_frames": int(n - (last - first)),
             **header_attrs(header.get("start time", ""))}  # the local clock, left naive: no zone is given
    return marked_cut_short(Recording(cells, counter, relative, info, Counters(), url, attrs=attrs, extras=extras),
                            cut_short)


def _column(path, names: list[str], pattern: str) -> int:
    for index, name in enumerate(names):
        if re.fullmatch(pattern, name):
            return index
    raise DriverError(f"{path}: no column '{pattern.replace(chr(92), '')}' in the '# time' line")


def _number(path, line: int, text: str, what: str) -> float:
    if not is_number(text):
        raise DriverError(f"{path}: line {line}: {what} {text[:20]!r} is not a number")
    value = float(text)
    if not math.isfinite(value):  # the export leaves a missing value empty; it writes no nan or inf
        raise DriverError(f"{path}: line {line}: {what} {text[:20]!r} is not a finite number")
    return value
