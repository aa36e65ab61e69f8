"""Novel pliance ASCII exports (``.asc``, told from pedar by a ``mat type`` header line).

Latin-1, whitespace-separated, in sections::

    file name: 2112170R_1.mat date/time 17.06.23 15.21
    mat type s2160_001
    total times [secs]: 44.458 time per frame [secs]: 0.04167 scanning rate [Hz]: 24
    pressure values in kPa
    electrical:
    time[secs]   4   5   6 ...            sensor numbers (the exported sensors, not all numbers)
      5.79167  0.000 0.000 ...            one line per frame, kPa per sensor
          MPP  ...                        maximum and mean pressure pictures (skipped)
          MVP  ...
     time[secs] force[N]   x[cm]   y[cm]  the vendor's total force and COP for every frame of
      0.04167    0.000       -       -    the recording ("-": unloaded)
    sensor   4   5   6 ...
    corner[cm]
    x[0] ... y[3]                         the four corners of each sensor (cm)
    x[c] / y[c]                           each sensor's centre (cm)
    area                                  each sensor's area (cm²)

The ``electrical`` frames may be a part of the recording (the sample's run from 5.79 s to
17.46 s of 44.46 s). Where the sensor centres lie on a regular grid (the sample: 28 x 29 sensors
of 0.528 x 1.028 cm), the sensors are placed on it, turned by 180 degrees so that the COP of the
grid, with cell centres at ``(col + 0.5) * pitch``, is the vendor's COP (which runs from the corner
opposite the sensor centres' origin; measured within 0.005 mm on the sample); cells without a
sensor are NaN. Otherwise the sensors are one row without geometry (force only; give
``?sensor_area_cm2=``). The force
table is kept per frame as ``extras["reported_force_n"]`` and its COP as
``reported_cop_x_mm``/``reported_cop_y_mm`` (mm, NaN where unloaded), moved by half a cell into the
grid's coordinates, where cell (0, 0)'s centre is 0 (DESIGN.md, section 2), so that it compares
with the COP of the results as it is; without a grid it is the vendor's, from its corner.

The ``file name`` line's ``date/time`` (``17.06.23 15.21``: day.month.year hour.minute, as novel
writes it) becomes ``attrs["recorded_at"]`` (``2023-06-17T15:21``, naive: the file names no time
zone), or ``attrs["recorded_at_text"]`` if it does not read as a date. It dates the measurement;
the exported frames may start later in it (``first_frame_time_s``). The header names no subject
(``file name`` is the measurement file's name), so none is set.
"""

from __future__ import annotations

import math
import re

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import (MAX_FRAME_NUMBER, check_pressures, header_attrs, is_number, marked_cut_short,
                                    positive_number, read_text, relative_times, text_lines,
                                    unterminated)
from drivers.recording import Recording
from drivers.url import positive

FORMAT_NAME = "pliance ASCII"
OPTIONS = {"sensor_area_cm2": (positive(float), None)}  # only for a file without sensor geometry
UNITS_TO_KPA = {"kpa": 1.0, "n/cm2": 10.0, "n/cm²": 10.0}
MAX_SENSORS = 1 << 16
DATE_TIME = re.compile(r"date/time:?[ \t]*([^\t\n]*)", re.I)  # "file name: 2112170R_1.mat date/time 17.06.23 15.21"


def is_pliance(head: bytes) -> bool:
    """Whether the start of an ``.asc`` file is a pliance export (pedar's says ``sensor type``)."""
    return any(line.strip().lower().startswith(b"mat type") for line in head.splitlines()[:10])


def _numbers(path, number: int, fields: list[str], what: str) -> np.ndarray:
    values = []
    for field in fields:
        if field == "-":  # the export's mark for no value (an unloaded frame's COP)
            values.append(np.nan)
        elif is_number(field) and math.isfinite(float(field)):
            values.append(float(field))
        elif is_number(field):
            raise DriverError(f"{path}: line {number}: {field[:20]!r} in {what} is not a finite number")
        else:
            raise DriverError(f"{path}: line {number}: {field[:20]!r} in {what} is not a number")
    array = np.array(values, dtype=np.float64)
    if np.isinf(array).any() or (np.abs(array[np.isfinite(array)]) > 1e30).any():
        raise DriverError(f"{path}: line {number}: {what} holds a value that is infinite or too large")
    return array


def read(path, options, url) -> Recording:
    lines = text_lines(read_text(path, "latin-1"))
    start = next((i for i, line in enumerate(lines) if line.split()[:1] == ["time[secs]"]
                  and "force[N]" not in line), None)
    if start is None:
        raise DriverError(f"{path}: no 'time[secs]' line of sensor numbers; not a pliance ASCII export")
    header = "\n".join(lines[:start])
    mat_type = re.search(r"^\s*mat type[:\s]*(.*)$", header, re.M | re.I)
    units_match = re.search(r"pressure values in\s+(\S+)", header)
    units = units_match.group(1).lower() if units_match else "kpa"
    if units not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {units!r} are not known")
    sensors = lines[start].split()[1:]
    if not sensors or len(sensors) > MAX_SENSORS or not all(s.isdigit() for s in sensors):
        raise DriverError(f"{path}: line {start + 1}: the sensor numbers after 'time[secs]' are not whole numbers")
    n = len(sensors)

    rows, numbers, end = [], [], len(lines)
    # A frame is never a whole export's last line (the summary pictures, force table and geometry
    # follow): one with no newline after it is where the file was cut (inside its last value, the
    # count of values is still right).
    cut_short = None  # the line of the frame the file ends inside, if it does (a copy cut off, a full disk)
    for index in range(start + 1, len(lines)):
        fields = lines[index].split()
        if not fields:
            if rows:
                end = index
                break
            continue
        if not is_number(fields[0]):  # MPP, MVP: the session's summary pictures
            end = index
            break
        if unterminated(lines, index + 1) and rows and len(fields) <= n + 1:
            cut_short = f"the frame at line {index + 1}"
            break
        if len(fields) != n + 1:
            raise DriverError(f"{path}: line {index + 1} has {len(fields)} values, expected {n + 1} "
                              f"(time and {n} sensors)")
        rows.append(_numbers(path, index + 1, fields, "a frame"))
        numbers.append(index + 1)
    if not rows:
        raise DriverError(f"{path}: no frames after the 'time[secs]' line")
    data = np.array(rows)
    if np.isnan(data).any():
        bad = int(np.argwhere(np.isnan(data))[0][0])
        raise DriverError(f"{path}: line {numbers[bad]}: '-' where a frame needs a number")
    time_abs = data[:, 0]
    time_s = relative_times(path, time_abs)

    rate_match = re.search(r"scanning rate \[Hz\]:\s*([-+.\deE]+)", header)
    period_match = re.search(r"time per frame \[secs\]:\s*([-+.\deE]+)", header)
    if rate_match and is_number(rate_match.group(1)):
        rate = positive_number(path, "header 'scanning rate [Hz]'", rate_match.group(1))
    elif period_match and is_number(period_match.group(1)):
        rate = 1.0 / positive_number(path, "header 'time per frame [secs]'", period_match.group(1))
    elif len(time_abs) > 1:
        rate = positive_number(path, "the frame rate from the times", 1.0 / float(np.median(np.diff(time_abs))))
    else:
        raise DriverError(f"{path}: the frame rate is not given (no 'scanning rate [Hz]' and one frame only)")

    pressures = data[:, 1:] * UNITS_TO_KPA[units]
    check_pressures(path, pressures, lambda index: f"line {numbers[index[0]]}")
    sensor_area = options["sensor_area_cm2"]
    try:
        geometry = _geometry(path, lines, end, sensors)
    except DriverError as error:  # damaged, or cut off inside it: the sensors read without it if asked
        if sensor_area is None:
            raise DriverError(f"{error}; give ?sensor_area_cm2= to read the sensors without the geometry") from None
        geometry = None
    extras = _reported(path, lines, end, time_abs, rate)

    attrs = {"mat_type": mat_type.group(1).strip() if mat_type else "", "first_frame_time_s": float(time_abs[0])}
    date_time = DATE_TIME.search(header)  # the PC's local time, left naive: the file gives no zone
    attrs.update(header_attrs(date_time.group(1) if date_time else ""))
    if geometry is not None:
        centre_x, centre_y, area_cm2, grid = geometry
        cols, rows_n, pitch_x, pitch_y, col_of, row_of = grid
        cells = np.full((len(data), rows_n, cols), np.nan, np.float32)
        # the vendor's COP (x[cm], y[cm]) runs from the opposite corner to the sensor centres: turned by
        # 180 degrees (a rotation, so a left foot stays a left foot), the grid's COP is the vendor's
        cells[:, rows_n - 1 - row_of, cols - 1 - col_of] = pressures
        if extras is not None:  # the vendor's COP in the grid's coordinates: cell (0, 0)'s centre at 0
            for axis, pitch in (("x", pitch_x), ("y", pitch_y)):
                if f"reported_cop_{axis}_mm" in extras:
                    extras[f"reported_cop_{axis}_mm"] = extras[f"reported_cop_{axis}_mm"] - pitch / 2
        area_mm2 = float(np.median(area_cm2)) * 100
        info = MatInfo(rows=rows_n, cols=cols, pitch_x_mm=pitch_x, pitch_y_mm=pitch_y, rate_hz=rate,
                       device="Novel pliance", dtype=np.float32, cell_area_mm2=area_mm2,
                       extra={"mat_type": attrs["mat_type"], "geometry": "sensor centres from the file"})
    else:
        if sensor_area is None and any(line.split()[:1] == ["sensor"] for line in lines[end:]):
            raise DriverError(f"{path}: the sensor centres in the file are incomplete or not on a regular grid; "
                              "give ?sensor_area_cm2= to read the sensors without geometry")
        if sensor_area is None and cut_short is not None:
            raise DriverError(f"{path}: the file ends inside {cut_short}, before the sensor geometry; give "
                              f"?sensor_area_cm2= to read its {len(rows)} whole frames without it")
        if sensor_area is None:
            raise DriverError(f"{path}: the sensor geometry is not in the file; give ?sensor_area_cm2=")
        area_mm2 = positive_number(path, "the sensor area (cm²)", sensor_area) * 100
        side = float(np.sqrt(area_mm2))
        cells = pressures.astype(np.float32).reshape(len(data), 1, n)
        info = MatInfo(rows=1, cols=n, pitch_x_mm=side, pitch_y_mm=side, rate_hz=rate, device="Novel pliance",
                       dtype=np.float32, cell_area_mm2=area_mm2, has_geometry=False,
                       extra={"mat_type": attrs["mat_type"]})
    frame_numbers = np.round(time_s * rate)
    if frame_numbers[-1] <= MAX_FRAME_NUMBER and (np.diff(frame_numbers) > 0).all():
        counter = frame_numbers.astype(np.int64)
    else:  # frames closer than the header's rate, or numbers beyond int64: counted one by one
        counter = np.arange(len(data), dtype=np.int64)
    return marked_cut_short(Recording(cells, counter, time_s, info, Counters(), url, attrs=attrs, extras=extras),
                            cut_short)


def _geometry(path, lines, start, sensors):
    """Sensor centres and areas from the ``sensor``/``x[c]``/``y[c]``/``area`` lines, and their grid
    (cols, rows, pitch x, pitch y in mm, column and row of each sensor) if they lie on one; else None."""
    head = next((i for i in range(start, len(lines)) if lines[i].split()[:1] == ["sensor"]), None)
    if head is None:
        return None
    if lines[head].split()[1:] != sensors:
        raise DriverError(f"{path}: line {head + 1}: the sensors of the geometry are not those of the frames")
    found = {}
    for index in range(head + 1, min(len(lines), head + 40)):
        fields = lines[index].split()
        if fields and fields[0] in ("x[c]", "y[c]", "area"):
            if len(fields) != len(sensors) + 1:
                raise DriverError(f"{path}: line {index + 1} has {len(fields) - 1} sensors, expected {len(sensors)}")
            found[fields[0]] = _numbers(path, index + 1, fields[1:], fields[0])
    if len(found) < 3 or not np.isfinite(np.concatenate(list(found.values()))).all():
        return None
    x, y, area = found["x[c]"] * 10, found["y[c]"] * 10, found["area"]  # mm, mm, cm²
    if (area <= 0).any():
        raise DriverError(f"{path}: a sensor area is not positive")
    grid = None
    ux, uy = np.unique(np.round(x, 3)), np.unique(np.round(y, 3))
    if len(ux) > 1 and len(uy) > 1 and len(ux) * len(uy) <= 4 * len(sensors):
        pitch_x, pitch_y = float(np.min(np.diff(ux))), float(np.min(np.diff(uy)))
        col = (x - ux[0]) / pitch_x
        row = (y - uy[0]) / pitch_y
        if pitch_x > 0 and pitch_y > 0 and np.allclose(col, np.round(col), atol=0.02) \
                and np.allclose(row, np.round(row), atol=0.02) \
                and (col.max() + 1) * (row.max() + 1) <= 4 * len(sensors):  # checked before the cast to int
            col, row = np.round(col).astype(int), np.round(row).astype(int)
            cols, rows = int(col.max()) + 1, int(row.max()) + 1
            if len(set(zip(row.tolist(), col.tolist()))) == len(sensors) and cols * rows <= 4 * len(sensors):
                grid = (cols, rows, pitch_x, pitch_y, col, row)
    return (x, y, area, grid) if grid is not None else None


def _reported(path, lines, start, time_abs, rate) -> dict | None:
    """The vendor's per-frame force (N) and COP (mm) from the ``time[secs] force[N] x[cm] y[cm]`` table,
    matched to the frames by time (within half a frame); NaN where a frame has no row."""
    head = next((i for i in range(start, len(lines)) if lines[i].split()[:2] == ["time[secs]", "force[N]"]), None)
    if head is None:
        return None
    columns = lines[head].split()
    table = []
    for index in range(head + 1, len(lines)):
        fields = lines[index].split()
        if not fields:
            if table:
                break
            continue
        if len(fields) != len(columns) or not is_number(fields[0]):
            break
        table.append(_numbers(path, index + 1, fields, "the force table"))
    if not table:
        return None
    table = np.array(table)
    position = np.clip(np.searchsorted(table[:, 0], time_abs), 1, len(table) - 1) if len(table) > 1 \
        else np.zeros(len(time_abs), int)
    if len(table) > 1:
        before = position - 1
        nearer = np.abs(table[before, 0] - time_abs) < np.abs(table[position, 0] - time_abs)
        position = np.where(nearer, before, position)
    matched = np.abs(table[position, 0] - time_abs) <= 0.5 / rate
    extras = {"reported_force_n": np.where(matched, table[position, 1], np.nan)}
    for name, column in (("x[cm]", "reported_cop_x_mm"), ("y[cm]", "reported_cop_y_mm")):
        if name in columns:
            extras[column] = np.where(matched, table[position, columns.index(name)] * 10, np.nan)
    return extras
