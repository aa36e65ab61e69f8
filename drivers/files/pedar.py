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
from drivers.recording import Recording
from drivers.url import positive

FORMAT_NAME = "pedar ASCII"
NOMINAL_SENSOR_AREA_CM2 = 1.9  # typical pedar-x insole sensor; the true value varies with insole size
OPTIONS = {"sensor_area_cm2": (positive(float), NOMINAL_SENSOR_AREA_CM2)}
UNITS_TO_KPA = {"kpa": 1.0, "n/cm2": 10.0, "n/cm²": 10.0}


def read(path, options, url) -> Recording:
    with open(path, encoding="latin-1") as f:
        text = f.read()
    lines = text.splitlines()
    header_end = next((i for i, line in enumerate(lines) if line.strip().startswith("time[secs]")), None)
    if header_end is None:
        raise DriverError(f"{path}: no 'time[secs]' column line; not a pedar ASCII export")
    header = "\n".join(lines[:header_end])
    units_match = re.search(r"pressure values in\s+(\S+)", header)
    units = units_match.group(1).lower() if units_match else "kpa"
    if units not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {units!r} are not known")
    rate_match = re.search(r"scanning rate \[Hz\]:\s*([0-9.]+)", header)
    columns = lines[header_end].split()
    n_sensors = len(columns) - 1
    if n_sensors % 2:
        raise DriverError(f"{path}: {n_sensors} sensor columns cannot be split into two insoles")
    data = np.array([line.split() for line in lines[header_end + 1:] if line.strip()], dtype=np.float64)
    if data.ndim != 2 or data.shape[1] != n_sensors + 1:
        raise DriverError(f"{path}: rows do not all have {n_sensors + 1} values")
    time_s = data[:, 0]
    if rate_match:
        rate = float(rate_match.group(1))
    elif len(time_s) > 1:
        rate = 1.0 / float(np.median(np.diff(time_s)))
    else:
        raise DriverError(f"{path}: the frame rate is not given")
    per_insole = n_sensors // 2
    cells = (data[:, 1:] * UNITS_TO_KPA[units]).astype(np.float32).reshape(len(data), 2, per_insole)
    foot_map = np.repeat(np.array([[0], [1]], np.int8), per_insole, axis=1)
    area_mm2 = options["sensor_area_cm2"] * 100
    side = float(np.sqrt(area_mm2))
    info = MatInfo(rows=2, cols=per_insole, pitch_x_mm=side, pitch_y_mm=side, rate_hz=rate,
                   device="Novel pedar", dtype=np.float32, cell_area_mm2=area_mm2, foot_map=foot_map,
                   has_geometry=False, extra={"sensor_area_cm2": options["sensor_area_cm2"]})
    counter = np.arange(len(data), dtype=np.int64)
    return Recording(cells, counter, time_s - time_s[0], info, Counters(), url,
                     attrs={"sensor_area_cm2": options["sensor_area_cm2"]})
