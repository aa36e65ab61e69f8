"""XSENSOR insole CSV exports: both feet, one block per sensor per frame.

Each frame has ``FRAME,n`` and ``Time``; each sensor (``...-LF ...`` left, ``...-RF ...`` right)
its shape, sensel size, summary values such as ``Est. Load (N)``, then ``SENSELS`` and one line
per row (blank separator lines anywhere are skipped). ``GROUP`` blocks repeat regions of the same
sensels and are skipped. The two insoles are laid side by side on one grid, one masked column
apart, with a foot map saying which sensor is which foot.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.recording import Recording

FORMAT_NAME = "XSENSOR CSV"
OPTIONS: dict = {}
UNITS_TO_KPA = {"mmHg": 0.1333224, "kPa": 1.0, "PSI": 6.894757, "N/cm2": 10.0}
FEET = ("left", "right")


def _foot(sensor_name: str) -> int:
    tokens = sensor_name.replace(" ", "-").upper().split("-")
    if "LF" in tokens:
        return 0
    if "RF" in tokens:
        return 1
    raise ValueError(f"sensor {sensor_name!r} is neither left (LF) nor right (RF)")


def read(path, options, url) -> Recording:
    units = None
    frames: list[dict] = []
    sensor: dict | None = None
    pending_rows = 0
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            fields = [field.strip() for field in line.rstrip("\r\n").split(",")]
            while fields and not fields[-1]:
                fields.pop()
            if not fields:
                continue
            if pending_rows:
                sensor["rows_values"].append([float(v) for v in fields[: sensor["cols"]]])
                if len(sensor["rows_values"][-1]) != sensor["cols"]:
                    raise DriverError(f"{path}: line {number} has {len(fields)} values, expected {sensor['cols']}")
                pending_rows -= 1
                continue
            key = fields[0]
            value = fields[1] if len(fields) > 1 else ""
            if key == "Units:":
                units = value
            elif key == "FRAME":
                frames.append({"number": int(value), "time": None, "sensors": {}})
                sensor = None
            elif key == "Time" and frames:
                frames[-1]["time"] = value
            elif key == "SENSOR":
                if not frames:
                    raise DriverError(f"{path}: line {number}: SENSOR before any FRAME")
                sensor = {"foot": _foot(value), "rows": 0, "cols": 0, "rows_values": [], "load": np.nan}
                frames[-1]["sensors"][sensor["foot"]] = sensor
            elif key == "GROUP":
                sensor = None
            elif sensor is None:
                continue
            elif key == "Rows":
                sensor["rows"] = int(value)
            elif key == "Columns":
                sensor["cols"] = int(value)
            elif key == "Sensel Width (cm)":
                sensor["width_mm"] = float(value) * 10
            elif key == "Sensel Height (cm)":
                sensor["height_mm"] = float(value) * 10
            elif key == "Est. Load (N)":
                sensor["load"] = float(value)
            elif key == "SENSELS":
                pending_rows = sensor["rows"]
    if units not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {units!r} are not known; known: {', '.join(UNITS_TO_KPA)}")
    if not frames:
        raise DriverError(f"{path}: no frames in the file")
    if pending_rows:
        raise DriverError(f"{path}: the last frame is cut short")
    first = frames[0]["sensors"]
    if not first:
        raise DriverError(f"{path}: no sensor blocks in the first frame")
    shapes = {foot: (s["rows"], s["cols"]) for foot, s in first.items()}
    rows = max(r for r, _ in shapes.values())
    offsets = {0: 0, 1: (shapes[0][1] + 1) if 0 in shapes else 0}
    cols = max(offsets[foot] + c for foot, (_, c) in shapes.items())
    cells = np.full((len(frames), rows, cols), np.nan, np.float32)
    foot_map = np.full((rows, cols), -1, np.int8)
    for foot, (r, c) in shapes.items():
        foot_map[:r, offsets[foot]: offsets[foot] + c] = foot
    reported = np.full((len(frames), 2), np.nan)
    for index, frame in enumerate(frames):
        if frame["sensors"].keys() != shapes.keys():
            raise DriverError(f"{path}: frame {frame['number']} does not hold the same sensors as the first")
        for foot, s in frame["sensors"].items():
            r, c = shapes[foot]
            values = np.array(s["rows_values"], dtype=np.float32)
            if values.shape != (r, c):
                raise DriverError(f"{path}: frame {frame['number']}: sensor has shape {values.shape}, expected {(r, c)}")
            cells[index, :r, offsets[foot]: offsets[foot] + c] = values
            reported[index, foot] = s["load"]
    cells *= np.float32(UNITS_TO_KPA[units])
    counter = np.array([frame["number"] for frame in frames], dtype=np.int64)
    time_s = _seconds([frame["time"] for frame in frames])
    sensor0 = next(iter(first.values()))
    pitch_x, pitch_y = sensor0.get("width_mm", 0.0), sensor0.get("height_mm", 0.0)
    if time_s is not None and len(time_s) > 1:
        steps = np.diff(time_s) / np.maximum(np.diff(counter), 1)
        rate = 1.0 / float(np.median(steps))
    else:
        rate = 0.0
    if time_s is None or not rate > 0:
        raise DriverError(f"{path}: frame times are missing, so the frame rate is unknown")
    # Time from frame numbers: the file's clock has 1 ms resolution, the frame clock is regular.
    time_s = (counter - counter[0]) / rate
    info = MatInfo(rows=rows, cols=cols, pitch_x_mm=pitch_x, pitch_y_mm=pitch_y, rate_hz=rate,
                   device="XSENSOR insoles", dtype=np.float32, foot_map=foot_map)
    return Recording(cells, counter, time_s, info, Counters(), url, extras={"reported_force_n": reported})


def _seconds(stamps: list[str | None]) -> np.ndarray | None:
    if any(stamp is None for stamp in stamps):
        return None
    clock = [datetime.strptime(stamp.strip(), "%H:%M:%S.%f") for stamp in stamps]
    seconds = np.array([(t - clock[0]).total_seconds() for t in clock])
    return np.where(seconds < 0, seconds + 86400, seconds)
