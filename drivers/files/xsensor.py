"""XSENSOR insole CSV exports: both feet, one block per sensor per frame.

Each frame has ``FRAME,n`` and ``Time``; each sensor (``...-LF ...`` left, ``...-RF ...`` right)
its shape, sensel size, summary values such as ``Est. Load (N)``, then ``SENSELS`` and one line
per row (blank separator lines anywhere are skipped). ``GROUP`` blocks repeat regions of the same
sensels and are skipped. The two insoles are laid side by side on one grid, one masked column
apart, with a foot map saying which sensor is which foot.

The first frame's ``Date`` and ``Time`` lines (``2022 Aug 16``, ``08:21:17.982``) become
``attrs["recorded_at"]`` (naive ISO 8601: the file names no time zone): the time of the first frame
exported, which need not be the start of the recording (the sample starts at frame 1464). A date
whose day/month order is not told, or that does not read, is kept as ``attrs["recorded_at_text"]``.
The ``File:`` line is the .XSN file's path, not a subject, so no subject is set.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import (FLOAT32_MAX, MAX_FRAME_NUMBER, check_pressures, header_attrs,
                                    is_number, marked_cut_short, parse_count, parse_number, positive_number, read_text,
                                    text_lines)
from drivers.recording import Recording

FORMAT_NAME = "XSENSOR CSV"
OPTIONS: dict = {}
UNITS_TO_KPA = {"mmHg": 0.1333224, "kPa": 1.0, "PSI": 6.894757, "N/cm2": 10.0}
FEET = ("left", "right")
PAUSE_PERIODS, PAUSE_MIN_S = 10, 0.25  # a clock step this long between frames is a pause (see read)


def _whole(frame: dict, first: dict) -> bool:
    """Whether ``frame`` holds every sensor of the ``first`` frame, each with all the rows and
    columns the first frame's has (a sensor cut before its Rows line says it has none)."""
    if frame["sensors"].keys() != first["sensors"].keys():
        return False
    return all((len(sensor["rows_values"]), sensor["cols"]) == (first["sensors"][foot]["rows"],
                                                                first["sensors"][foot]["cols"])
               for foot, sensor in frame["sensors"].items())


def _foot(sensor_name: str) -> int:
    tokens = sensor_name.replace(" ", "-").upper().split("-")
    if "LF" in tokens:
        return 0
    if "RF" in tokens:
        return 1
    raise ValueError(f"sensor {sensor_name!r} is neither left (LF) nor right (RF)")


def read(path, options, url) -> Recording:
    units = None
    date = None  # the first Date line's text ("2022 Aug 16"; commas inside it split it into fields)
    frames: list[dict] = []
    sensor: dict | None = None
    pending_rows = 0
    lines = text_lines(read_text(path, "utf-8-sig"))
    last = max((k for k, line in enumerate(lines, start=1) if line.strip(", \t")), default=0)
    for number, line in enumerate(lines, start=1):
        try:
            fields = [field.strip() for field in line.split(",")]
            while fields and not fields[-1]:
                fields.pop()
            if not fields:
                continue
            if pending_rows:
                if len(fields) < sensor["cols"]:
                    raise DriverError(f"{path}: line {number} has {len(fields)} values, expected {sensor['cols']}")
                sensor["rows_values"].append(_sensels(path, number, fields[: sensor["cols"]]))
                pending_rows -= 1
                continue
            key = fields[0]
            value = fields[1] if len(fields) > 1 else ""
            where = f"line {number}: {key}"
            if key == "Units:":
                units = value
            elif key == "FRAME":
                frames.append({"number": parse_count(path, where, value, low=0, high=MAX_FRAME_NUMBER),
                               "time": None, "line": number, "sensors": {}})
                if len(frames) > 1 and frames[-1]["number"] <= frames[-2]["number"]:
                    raise DriverError(f"{path}: line {number}: frame {frames[-1]['number']} comes after frame "
                                      f"{frames[-2]['number']}; frame numbers must increase")
                sensor = None
            elif key == "Time" and frames:
                frames[-1]["time"] = (value, number)
            elif key == "Date" and date is None:
                date = ", ".join(fields[1:])
            elif key == "SENSOR":
                if not frames:
                    raise DriverError(f"{path}: line {number}: SENSOR before any FRAME")
                try:
                    foot = _foot(value)
                except ValueError as error:
                    raise DriverError(f"{path}: line {number}: {error}") from None
                sensor = {"foot": foot, "rows": 0, "cols": 0, "rows_values": [], "load": np.nan, "line": number}
                frames[-1]["sensors"][foot] = sensor
            elif key == "GROUP":
                sensor = None
            elif sensor is None:
                continue
            elif key == "Rows":
                sensor["rows"] = parse_count(path, where, value)
            elif key == "Columns":
                sensor["cols"] = parse_count(path, where, value)
            elif key == "Sensel Width (cm)":
                sensor["width_mm"] = positive_number(path, where, parse_number(path, where, value)) * 10
            elif key == "Sensel Height (cm)":
                sensor["height_mm"] = positive_number(path, where, parse_number(path, where, value)) * 10
            elif key == "Est. Load (N)":
                sensor["load"] = parse_number(path, where, value)
            elif key == "SENSELS":
                if not (sensor["rows"] and sensor["cols"]):
                    raise DriverError(f"{path}: line {number}: SENSELS before the sensor's Rows and Columns")
                if sensor["rows_values"]:
                    raise DriverError(f"{path}: line {number}: a second SENSELS block for one sensor")
                pending_rows = sensor["rows"]
        except DriverError:
            if number == last and len(frames) > 1:  # the file ends inside this line (a copy cut off, a
                break  # full disk): its frame is left out below unless the line was one it does not need
            raise
    if units not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {units!r} are not known; known: {', '.join(UNITS_TO_KPA)}")
    if not frames:
        raise DriverError(f"{path}: no frames in the file")
    cut_short = None
    if len(frames) > 1 and (pending_rows or not _whole(frames[-1], frames[0])):  # the file ends inside it
        cut_short = f"frame {frames.pop()['number']}"
    elif pending_rows:
        raise DriverError(f"{path}: the last frame is cut short")
    first = frames[0]["sensors"]
    if not first:
        raise DriverError(f"{path}: no sensor blocks in the first frame")
    for s in first.values():
        if not s["rows_values"]:
            raise DriverError(f"{path}: the {FEET[s['foot']]} sensor of the first frame (line {s['line']}) has no "
                              "Rows, Columns and SENSELS")
    shapes = {foot: (s["rows"], s["cols"]) for foot, s in first.items()}
    # Every frame must hold what the first does before anything the size of the whole is allocated.
    for frame in frames:
        if frame["sensors"].keys() != shapes.keys():
            raise DriverError(f"{path}: frame {frame['number']} (line {frame['line']}) does not hold the same "
                              "sensors as the first")
        for foot, s in frame["sensors"].items():
            if (len(s["rows_values"]), s["cols"]) != shapes[foot]:
                raise DriverError(f"{path}: frame {frame['number']}: the {FEET[foot]} sensor (line {s['line']}) "
                                  f"has {len(s['rows_values'])}x{s['cols']} sensels, the first frame "
                                  f"{shapes[foot][0]}x{shapes[foot][1]}")
    rows = max(r for r, _ in shapes.values())
    offsets = {0: 0, 1: (shapes[0][1] + 1) if 0 in shapes else 0}
    cols = max(offsets[foot] + c for foot, (_, c) in shapes.items())
    cells = np.full((len(frames), rows, cols), np.nan, np.float32)
    foot_map = np.full((rows, cols), -1, np.int8)
    for foot, (r, c) in shapes.items():
        foot_map[:r, offsets[foot]: offsets[foot] + c] = foot
    reported = np.full((len(frames), 2), np.nan)
    for index, frame in enumerate(frames):
        for foot, s in frame["sensors"].items():
            r, c = shapes[foot]
            # The rows are listed toes first, top of XSENSOR's picture first; y grows upwards here
            # (DESIGN.md section 2): the last row listed is row 0, so a left insole is a left foot
            # seen from above, toes towards +y.
            cells[index, :r, offsets[foot]: offsets[foot] + c] = np.array(s["rows_values"][::-1], dtype=np.float32)
            reported[index, foot] = s["load"]
    cells *= np.float32(UNITS_TO_KPA[units])
    check_pressures(path, cells, lambda index: f"frame {frames[index[0]]['number']}")
    counter = np.array([frame["number"] for frame in frames], dtype=np.int64)
    time_s = _seconds(path, [frame["time"] for frame in frames])
    sensor0 = next(iter(first.values()))
    if "width_mm" not in sensor0 or "height_mm" not in sensor0:
        raise DriverError(f"{path}: the first sensor (line {sensor0['line']}) gives no Sensel Width and Height")
    pitch_x, pitch_y = sensor0["width_mm"], sensor0["height_mm"]
    if time_s is None:
        raise DriverError(f"{path}: frame times are missing, so the frame rate is unknown")
    if len(time_s) < 2:
        raise DriverError(f"{path}: one frame only, so the frame rate is unknown")
    # The mean frame period, pauses left out: the clock counts whole ms, so a 13.3 ms period reads
    # 13 and 14 ms in turn and their median (13) was 2.4 % short; a clock that stamps frames in
    # bursts gives 0 ms between some, so only a clearly long gap (PAUSE_PERIODS times the
    # median of the others, and PAUSE_MIN_S) is a pause in the recording, not frame periods.
    elapsed, periods = np.diff(time_s), np.diff(counter)  # frame numbers increase: no division by 0
    per_frame = elapsed / periods
    moving = per_frame[per_frame > 0]
    pause = max(PAUSE_PERIODS * float(np.median(moving)), PAUSE_MIN_S) if moving.size else np.inf
    regular = per_frame <= pause
    step = float(elapsed[regular].sum() / periods[regular].sum()) if regular.any() else 0.0
    if not step > 0:
        raise DriverError(f"{path}: the frame times (Time lines) do not advance from frame to frame, so the frame "
                          "rate is unknown")
    rate = positive_number(path, "the frame rate from the frame times", 1.0 / step)
    # Time from frame numbers: the file's clock has 1 ms resolution, the frame clock is regular.
    time_s = (counter - counter[0]) / rate
    info = MatInfo(rows=rows, cols=cols, pitch_x_mm=pitch_x, pitch_y_mm=pitch_y, rate_hz=rate,
                   device="XSENSOR insoles", dtype=np.float32, foot_map=foot_map)
    # The first frame's date and clock time, left naive: the PC's local time, the file gives no zone.
    attrs = header_attrs(f"{date} {frames[0]['time'][0]}" if date else "")
    return marked_cut_short(Recording(cells, counter, time_s, info, Counters(), url, attrs=attrs or None,
                                      extras={"reported_force_n": reported}), cut_short)


def _sensels(path, number: int, fields: list[str]) -> list[float]:
    try:
        values = [float(v) for v in fields]
    except ValueError:
        bad = next(v for v in fields if not is_number(v))
        raise DriverError(f"{path}: line {number}: sensel value {bad[:20]!r} is not a number") from None
    if any(abs(v) > FLOAT32_MAX for v in values):
        raise DriverError(f"{path}: line {number} holds a sensel value that is infinite or too large")
    return values



def _seconds(path, stamps: list[tuple[str, int] | None]) -> np.ndarray | None:
    if any(stamp is None for stamp in stamps):
        return None
    clock = []
    for text, number in stamps:
        try:
            clock.append(datetime.strptime(text.strip(), "%H:%M:%S.%f"))
        except ValueError:
            raise DriverError(f"{path}: line {number}: time {text[:30]!r} is not HH:MM:SS.fff") from None
    seconds = np.array([(t - clock[0]).total_seconds() for t in clock])
    return np.where(seconds < 0, seconds + 86400, seconds)
