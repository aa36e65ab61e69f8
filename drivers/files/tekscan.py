"""Tekscan ASCII movie exports (``.asf``): F-Scan insoles and Tekscan mats.

A header of ``KEY value`` lines ends at ``ASCII_DATA @@``; then each frame is ``Frame N``
followed by ROWS lines of COLS comma-separated values. Cells marked ``B`` lie outside the
sensor: they are masked (NaN), not zero. An F-Scan file holds one insole; its foot comes from
``?foot=`` or the file name's last letter (``...L.asf``, ``...R.asf``).
"""

from __future__ import annotations

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.recording import Recording
from drivers.url import choice

FORMAT_NAME = "Tekscan ASCII"
OPTIONS = {"foot": (choice("left", "right"), None)}
UNITS_TO_KPA = {"KPA": 1.0, "MPA": 1000.0, "PSI": 6.894757, "MMHG": 0.1333224, "KG/CM2": 98.0665}


def read(path, options, url) -> Recording:
    with open(path, encoding="latin-1") as f:
        lines = f.read().splitlines()
    header: dict[str, str] = {}
    start = None
    for index, line in enumerate(lines):
        if line.startswith("ASCII_DATA"):
            start = index + 1
            break
        key, _, value = line.strip().partition(" ")
        if key:
            header[key.upper()] = value.strip()
    if start is None:
        raise DriverError(f"{path}: no ASCII_DATA section; not a Tekscan ASCII export")
    try:
        rows, cols = int(header["ROWS"]), int(header["COLS"])
        pitch_y = float(header["ROW_SPACING"].split()[0])
        pitch_x = float(header["COL_SPACING"].split()[0])
        rate = 1.0 / float(header["SECONDS_PER_FRAME"])
    except KeyError as missing:
        raise DriverError(f"{path}: header field {missing} is missing") from None
    units = header.get("UNITS", "KPa").upper()
    if units not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {header.get('UNITS')!r} are not known; known: "
                          f"{', '.join(UNITS_TO_KPA)}")
    area = float(header["SENSEL_AREA"].split()[0]) if "SENSEL_AREA" in header else pitch_x * pitch_y

    numbers, values = [], []
    i = start
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
            continue
        if line == "@@":  # end of the ASCII data
            break
        if not line.startswith("Frame"):
            raise DriverError(f"{path}: line {i + 1}: expected 'Frame N', found {line[:30]!r}")
        numbers.append(int(line.split()[1]))
        block = lines[i + 1: i + 1 + rows]
        if len(block) < rows:
            raise DriverError(f"{path}: frame {numbers[-1]} is cut short ({len(block)} of {rows} rows)")
        for offset, row in enumerate(block):
            cells = row.strip().split(",")
            if len(cells) != cols:
                raise DriverError(f"{path}: line {i + 2 + offset} has {len(cells)} values, expected {cols}")
            values.extend(cells)
        i += 1 + rows
    if not numbers:
        raise DriverError(f"{path}: no frames in the file")
    frames = np.array([np.nan if v == "B" else float(v) for v in values], dtype=np.float32)
    frames = frames.reshape(len(numbers), rows, cols) * np.float32(UNITS_TO_KPA[units])
    if header.get("MIRROR_ROW", "0") == "1":
        frames = frames[:, ::-1]
    if header.get("MIRROR_COL", "0") == "1":
        frames = frames[:, :, ::-1]
    sensor = ~np.isnan(frames[0])
    insole = header.get("SENSOR_TYPE", "").upper() == "FSCAN"
    foot_map = None
    if insole:
        foot = options["foot"] or _foot_from_name(path)
        foot_map = np.where(sensor, 0 if foot == "left" else 1, -1).astype(np.int8)
    counter = np.array(numbers, dtype=np.int64)
    extra = {}
    if "SATURATION_PRESSURE" in header:
        extra["saturation_kpa"] = float(header["SATURATION_PRESSURE"].split()[0]) * UNITS_TO_KPA[units]
    info = MatInfo(rows=rows, cols=cols, pitch_x_mm=pitch_x, pitch_y_mm=pitch_y, rate_hz=rate,
                   device=f"Tekscan {header.get('SENSOR_TYPE', '')}".strip(), dtype=np.float32,
                   cell_area_mm2=area, foot_map=foot_map, extra=extra)
    return Recording(np.ascontiguousarray(frames), counter, (counter - counter[0]) / rate, info, Counters(), url)


def _foot_from_name(path) -> str:
    last = path.stem[-1:].upper()
    if last == "L":
        return "left"
    if last == "R":
        return "right"
    raise DriverError(f"{path}: an F-Scan insole file; say which foot with ?foot=left or ?foot=right")
