"""Tekscan ASCII movie exports (``.asf``): F-Scan insoles and Tekscan mats.

A header of ``KEY value`` lines ends at ``ASCII_DATA @@``; then each frame is ``Frame N``
followed by ROWS lines of COLS comma-separated values. Cells marked ``B`` lie outside the
sensor: they are masked (NaN), not zero. An F-Scan file holds one insole; its foot comes from
``?foot=`` or the file name's last letter (``...L.asf``, ``...R.asf``). ``UNITS raw`` needs
``?scale_kpa=`` (kPa per raw unit) or a calibration table (``?calibration=``); header lengths in
centimeters (I-Scan) are converted to mm. A frame line's ``Raw Sum`` is kept as ``reported_raw_sum``.

The header's ``TIME`` line (``Thursday, 16 February 2017 11:26:22 a.m.``; I-Scan ``12/2/2019
6:21:52.34PM``) becomes ``attrs["recorded_at"]`` (naive ISO 8601: the file names no time zone), or
``attrs["recorded_at_text"]`` where the day/month order is not told (``12/2/2019``) or the line
does not read as a date. The header names no subject: ``FILENAME`` is the movie's path and
``COMMENTS`` free text, so neither is taken for one.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import (MAX_FRAME_NUMBER, check_pressures, header_attrs, is_number, marked_cut_short,
                                    parse_count, parse_number, positive_number, text_lines)
from drivers.recording import Recording
from drivers.url import choice, positive

FORMAT_NAME = "Tekscan ASCII"
RAW_OPTIONS = {"scale_kpa": (positive(float), None), "calibration": (str, None)}
OPTIONS = {"foot": (choice("left", "right"), None), **RAW_OPTIONS}
LENGTH_TO_MM = {"centimeters": 10.0, "cm": 10.0, "inches": 25.4, "in": 25.4, "cm2": 100.0, "in2": 645.16}
UNITS_TO_KPA = {"KPA": 1.0, "MPA": 1000.0, "PSI": 6.894757, "MMHG": 0.1333224, "KG/CM2": 98.0665}


def read(path, options, url) -> Recording:
    with open(path, encoding="latin-1") as f:
        lines = text_lines(f.read())
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
    missing = [key for key in ("ROWS", "COLS", "ROW_SPACING", "COL_SPACING", "SECONDS_PER_FRAME") if key not in header]
    if missing:
        raise DriverError(f"{path}: header field '{missing[0]}' is missing")
    rows = parse_count(path, "header ROWS", header["ROWS"])
    cols = parse_count(path, "header COLS", header["COLS"])
    pitch_y = _header_number(path, header, "ROW_SPACING")
    pitch_x = _header_number(path, header, "COL_SPACING")
    rate = positive_number(path, "the frame rate (1 / SECONDS_PER_FRAME)",
                           1.0 / _header_number(path, header, "SECONDS_PER_FRAME"))
    units = header.get("UNITS", "KPa").upper()
    raw_scale = 1.0  # kPa per raw unit, in MatInfo.scale_kpa: the cells stay device values
    if units == "RAW":
        raw_scale = raw_units_scale(path, options)
        to_kpa = 1.0
    elif units not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {header.get('UNITS')!r} are not known; known: "
                          f"{', '.join(UNITS_TO_KPA)}")
    else:
        to_kpa = UNITS_TO_KPA[units]
    area = _header_number(path, header, "SENSEL_AREA") if "SENSEL_AREA" in header else pitch_x * pitch_y

    numbers: list[int] = []
    raw_sums: list[float] = []  # the export's own "Raw Sum" per frame, where the frame line gives it
    values: list[str] = []
    row_lines: list[int] = []  # the line each row of values came from, for messages
    cut_short = None  # the frame the file ends inside, if it does (a copy cut off, a full disk)
    last = max((k for k in range(start, len(lines)) if lines[k].strip()), default=start)  # once: no slice a frame
    i = start
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
            continue
        if line == "@@":  # end of the ASCII data
            break
        if numbers and i == last:  # the file ends at a frame's header
            said = line.split()  # "Frame 150", or as much of it as the file kept
            told = len(said) > 1 and said[0] == "Frame" and is_number(said[1].rstrip(",")) \
                and float(said[1].rstrip(",")) > numbers[-1]
            cut_short = f"frame {said[1].rstrip(',')}" if told else f"the frame after frame {numbers[-1]}"
            break
        words = line.split()
        if words[0] != "Frame" or len(words) < 2:
            raise DriverError(f"{path}: line {i + 1}: expected 'Frame N', found {line[:30]!r}")
        numbers.append(parse_count(path, f"line {i + 1}: frame number", words[1].rstrip(","), low=0,
                                   high=MAX_FRAME_NUMBER))  # I-Scan: "Frame 1, 0,, date,,,Raw Sum=,,310"
        raw_sums.append(_raw_sum(line))
        if len(numbers) > 1 and numbers[-1] <= numbers[-2]:
            raise DriverError(f"{path}: line {i + 1}: frame {numbers[-1]} comes after frame {numbers[-2]}; "
                              "frame numbers must increase")
        block = lines[i + 1: i + 1 + rows]
        if i + rows >= last and _short(block, rows, cols):  # the file ends inside this frame
            cut_short = f"frame {numbers.pop()}"
            raw_sums.pop()
            break
        for offset, row in enumerate(block):
            cells = row.strip().split(",")
            if len(cells) != cols:
                raise DriverError(f"{path}: line {i + 2 + offset} has {len(cells)} values, expected {cols}")
            values.extend(cells)
            row_lines.append(i + 2 + offset)
        i += 1 + rows
    if not numbers:
        raise DriverError(f"{path}: no frames in the file")
    try:
        frames = np.array([math.nan if v == "B" else float(v) for v in values]).reshape(len(numbers), rows, cols)
    except ValueError:
        for row, number in enumerate(row_lines):
            for cell in values[row * cols: (row + 1) * cols]:
                if cell != "B" and not is_number(cell):
                    raise DriverError(f"{path}: line {number}: value {cell[:20]!r} is neither a number nor B") from None
        raise

    def where(index) -> str:
        return f"line {row_lines[index[0] * rows + index[1]]}"

    check_pressures(path, frames, where)
    with np.errstate(over="ignore"):  # an overflow is refused just below
        frames = frames.astype(np.float32) * np.float32(to_kpa)
    check_pressures(path, frames, where)
    # The file lists the rows of Tekscan's picture top first, and y grows upwards here (DESIGN.md
    # section 2), so its last row is row 0: an F-Scan insole's toes, its first rows, then lie
    # towards +y and a left insole's hallux at the higher x, a foot seen from above (read as
    # listed, every insole was its mirror image). MIRROR_ROW says the picture itself was flipped.
    if header.get("MIRROR_ROW", "0") != "1":
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
        extra["saturation_kpa"] = _header_number(path, header, "SATURATION_PRESSURE") * to_kpa
    info = MatInfo(rows=rows, cols=cols, pitch_x_mm=pitch_x, pitch_y_mm=pitch_y, rate_hz=rate,
                   device=f"Tekscan {header.get('SENSOR_TYPE', '')}".strip(), dtype=np.float32,
                   cell_area_mm2=area, foot_map=foot_map, extra=extra, scale_kpa=raw_scale)
    if units == "RAW":
        extra["units"] = "raw" + ("" if options.get("scale_kpa") else ": mapped to kPa by the calibration table")
    extras = {"reported_raw_sum": np.array(raw_sums)} if not np.isnan(raw_sums).all() else None
    attrs = header_attrs(header.get("TIME", ""))  # the PC's local clock, left naive: the file gives no zone
    return marked_cut_short(Recording(np.ascontiguousarray(frames), counter, (counter - counter[0]) / rate, info,
                                      Counters(), url, attrs=attrs or None, extras=extras), cut_short)


def raw_units_scale(path, options) -> float:
    """kPa per raw unit for an export in raw device units: ``?scale_kpa=`` (or ``--scale-kpa``); 1.0
    with a calibration table, which maps the raw values later. Neither: refused, saying which to give."""
    if options.get("scale_kpa"):
        return positive_number(path, "the scale (kPa per raw unit)", options["scale_kpa"])
    if options.get("calibration"):
        return 1.0
    raise DriverError(f"{path}: pressures are in raw device units (UNITS raw); give --calibration table.csv "
                      "or --scale-kpa (kPa per raw unit; in a URL ?scale_kpa=)")


def _raw_sum(line: str) -> float:
    fields = [field.strip() for field in line.split(",")]
    if "Raw Sum=" in fields:
        after = [field for field in fields[fields.index("Raw Sum=") + 1:] if field]
        if after and is_number(after[0]):
            return float(after[0])
    return math.nan


def _header_number(path, header: dict, key: str) -> float:
    """The positive number a header field starts with (``ROW_SPACING 5.08 mm``)."""
    words = header[key].split()
    if not words:
        raise DriverError(f"{path}: header field {key} has no value")
    number = positive_number(path, f"header {key}", parse_number(path, f"header {key}", words[0]))
    unit = words[1].lower() if len(words) > 1 else ""
    return number * LENGTH_TO_MM.get(unit, 1.0)  # lengths in mm, areas in mm2 (I-Scan writes centimeters, cm2)



def foot_named(path) -> str | None:
    """The foot an F-Scan file's name says (F-Scan names its exports ``...L.asf``, ``...R.asf``), or None."""
    return {"L": "left", "R": "right"}.get(Path(path).stem[-1:].upper())


def _short(block: list[str], rows: int, cols: int) -> bool:
    """Whether a frame's rows are fewer or shorter than the header says."""
    return len(block) < rows or any(len(row.strip().split(",")) != cols for row in block)


def _foot_from_name(path) -> str:
    foot = foot_named(path)
    if foot is None:
        raise DriverError(f"{path}: an F-Scan insole file; say which foot with ?foot=left or ?foot=right")
    return foot
