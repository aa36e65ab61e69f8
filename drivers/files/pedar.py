"""Novel pedar ASCII exports (``.asc``): 99 sensors per insole, both feet, no grid.

The header gives the frame period and units; a ``time[secs]`` line names the columns: time,
then the left insole's sensors and the right's. The sensors are laid out as two rows (left,
right) of a grid without geometry, so force and load share are meaningful but positions are not.
Sensor areas depend on the insole size and are not in the file: ``?sensor_area_cm2=`` sets them.
"""

from __future__ import annotations

import re

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import check_pressures, is_number, positive_number, text_lines
from drivers.recording import Recording
from drivers.url import positive

FORMAT_NAME = "pedar ASCII"
NOMINAL_SENSOR_AREA_CM2 = 1.9  # typical pedar-x insole sensor; the true value varies with insole size
OPTIONS = {"sensor_area_cm2": (positive(float), NOMINAL_SENSOR_AREA_CM2)}
UNITS_TO_KPA = {"kpa": 1.0, "n/cm2": 10.0, "n/cm²": 10.0}
MAX_TIME_S = 1e9  # about 30 years: a larger time is damage (and would swallow the steps between frames)


def read(path, options, url) -> Recording:
    with open(path, encoding="latin-1") as f:
        lines = text_lines(f.read())
    header_end = next((i for i, line in enumerate(lines) if line.strip().startswith("time[secs]")), None)
    if header_end is None:
        raise DriverError(f"{path}: no 'time[secs]' column line; not a pedar ASCII export")
    header = "\n".join(lines[:header_end])
    units_match = re.search(r"pressure values in\s+(\S+)", header)
    units = units_match.group(1).lower() if units_match else "kpa"
    if units not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {units!r} are not known")
    rate_match = re.search(r"scanning rate \[Hz\]:[ \t]*(\S*)", header)
    columns = lines[header_end].split()
    n_sensors = len(columns) - 1
    if n_sensors < 2 or n_sensors % 2:
        raise DriverError(f"{path}: line {header_end + 1}: {n_sensors} sensor columns cannot be split into two "
                          "insoles")
    rows = []
    numbers = []  # line numbers, for messages
    for number, line in enumerate(lines[header_end + 1:], start=header_end + 2):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != n_sensors + 1:
            raise DriverError(f"{path}: line {number} has {len(fields)} values, expected {n_sensors + 1} "
                              f"(time and {n_sensors} sensors)")
        rows.append(fields)
        numbers.append(number)
    if not rows:
        raise DriverError(f"{path}: no frames after the 'time[secs]' line")
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError:
        for number, fields in zip(numbers, rows):
            bad = next((field for field in fields if not is_number(field)), None)
            if bad is not None:
                raise DriverError(f"{path}: line {number}: {bad[:20]!r} is not a number") from None
        raise
    time_s = data[:, 0]
    in_range = np.abs(time_s) <= MAX_TIME_S  # False for NaN too
    if not in_range.all():
        bad = int(np.argmin(in_range))
        raise DriverError(f"{path}: line {numbers[bad]}: the time {time_s[bad]:g} s is not a number from "
                          f"{-MAX_TIME_S:g} to {MAX_TIME_S:g}")
    steps = np.diff(time_s - time_s[0])  # the times as they will be kept
    if not (steps > 0).all():
        bad = int(np.argmin(steps > 0)) + 1
        raise DriverError(f"{path}: line {numbers[bad]}: time {time_s[bad]:g} s does not come after "
                          f"{time_s[bad - 1]:g} s; frame times must increase")
    if rate_match:
        number = re.match(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", rate_match.group(1))  # "100", "100Hz"
        if not number:
            raise DriverError(f"{path}: header 'scanning rate [Hz]' {rate_match.group(1)[:20]!r} is not a number")
        rate = positive_number(path, "header 'scanning rate [Hz]'", float(number.group()))
    elif len(time_s) > 1:
        rate = positive_number(path, "the frame rate from the times", 1.0 / float(np.median(steps)))
    else:
        raise DriverError(f"{path}: the frame rate is not given (no 'scanning rate [Hz]' and one frame only)")
    per_insole = n_sensors // 2
    with np.errstate(over="ignore"):  # an overflow is refused just below
        cells = (data[:, 1:] * UNITS_TO_KPA[units]).reshape(len(data), 2, per_insole)
    check_pressures(path, cells, lambda index: f"line {numbers[index[0]]}")
    cells = cells.astype(np.float32)
    foot_map = np.repeat(np.array([[0], [1]], np.int8), per_insole, axis=1)
    sensor_area_cm2 = positive_number(path, "the sensor area (cm²)", options["sensor_area_cm2"])
    area_mm2 = sensor_area_cm2 * 100
    side = float(np.sqrt(area_mm2))
    info = MatInfo(rows=2, cols=per_insole, pitch_x_mm=side, pitch_y_mm=side, rate_hz=rate,
                   device="Novel pedar", dtype=np.float32, cell_area_mm2=area_mm2, foot_map=foot_map,
                   has_geometry=False, extra={"sensor_area_cm2": sensor_area_cm2})
    counter = np.arange(len(data), dtype=np.int64)
    return Recording(cells, counter, time_s - time_s[0], info, Counters(), url,
                     attrs={"sensor_area_cm2": sensor_area_cm2})

