"""STAPPone insole CSV exports: ``sole_id,timestamp,accel_x..magn_z,pressure_01..pressure_12,corrupt``.

One line per sample and insole: ``sole_id`` names the insole, ``timestamp`` is in ms (Unix time),
then the IMU (accelerometer, gyroscope, magnetometer: not read) and 12 pressure channels. Rows
marked ``corrupt`` other than 0 are dropped and counted (``counters.corrupt``).

What the file does not say, so this reader does not guess:

- **Units.** The pressure channels are device values of unknown unit (the sample's unloaded
  sensors read about 100 to 400, loaded ones up to about 760); they are kept as they are
  (``MatInfo.scale_kpa`` 1.0, or ``?scale_kpa=`` kPa per device unit when the user knows it).
  Forces computed from them are in device units x cm², not newtons, unless a scale is given.
- **Sensor positions and areas.** Not in the file: the 12 sensors of an insole are one row of a
  grid without geometry (``has_geometry`` False), so force, load share and steps are meaningful
  but COP and pictures are not. ``?sensor_area_cm2=`` (default 1, a nominal value) sets the area.
- **The unloaded level.** Unloaded sensors do not read 0 (the sample's swing phases sum to about
  2900 device units per insole, stances to about 5500), and the analysis takes an insole whose
  lowest force stays above 100 N as never unloaded, so without a scale no steps are found.
  ``?tare=1`` subtracts each channel's unloaded level (its 1st percentile over the recording,
  kept in ``MatInfo.extra["tare_device_units"]``) and clips at 0; then steps are found.
- **When, and who.** The file has no header but its column line: no date and no subject, so no
  ``recorded_at`` or ``subject`` is set. The first ``timestamp`` is Unix time (UTC) by this
  reader's reading of the column, not a date the file states, so it is not turned into one.
- **Which insole is which foot.** ``sole_id`` is a number: a one-insole file needs
  ``?foot=left|right`` (or a file name ending in ``L``/``R``, ``_left``/``_right``); a two-insole
  file needs ``?left_sole=ID`` naming the left insole's ``sole_id``.
"""

from __future__ import annotations

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import (MAX_FRAME_NUMBER, check_pressures, check_times, is_number, marked_cut_short,
                                    positive_number, read_text, text_lines, unterminated)
from drivers.recording import Recording
from drivers.url import choice, positive

FORMAT_NAME = "STAPPone CSV"
OPTIONS = {
    "foot": (choice("left", "right"), None),
    "left_sole": (int, None),
    "scale_kpa": (positive(float), None),  # None: not told, device units taken as kPa (and said so)
    "sensor_area_cm2": (positive(float), 1.0),
    "tare": (choice("0", "1"), "0"),
}
TARE_QUANTILE = 0.01  # ?tare=1: each channel's unloaded level is its 1st percentile over the recording
CHANNELS = 12
PRESSURE_COLUMNS = [f"pressure_{k:02d}" for k in range(1, CHANNELS + 1)]
MAX_TIMESTAMP_MS = MAX_FRAME_NUMBER  # 2**53 ms: beyond it float64 ms lose whole milliseconds (and differences overflow)


def looks_like(head: bytes) -> bool:
    """Whether the first bytes of a file are a STAPPone CSV export."""
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].replace(b" ", b"")
    return first.startswith(b"sole_id,timestamp,") and b"pressure_01" in first


def read(path, options, url) -> Recording:
    lines = text_lines(read_text(path, "utf-8-sig"))
    names = [name.strip() for name in lines[0].split(",")]
    missing = [name for name in ["sole_id", "timestamp", *PRESSURE_COLUMNS] if name not in names]
    if missing:
        raise DriverError(f"{path}: line 1 has no column {missing[0]!r}; not a STAPPone export")
    wanted = [names.index(name) for name in ["sole_id", "timestamp", *PRESSURE_COLUMNS]]
    corrupt_column = names.index("corrupt") if "corrupt" in names else None
    rows, numbers = [], []
    corrupt = 0
    cut_short = None  # the line of the sample the file ends inside, if it does (a copy cut off, a full disk)
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split(",")
        if unterminated(lines, number) and rows and len(fields) <= len(names):
            # No newline after it (the exports end each line with one): the file ends inside it.
            cut_short = f"the sample at line {number}"
            break
        if len(fields) != len(names):
            raise DriverError(f"{path}: line {number} has {len(fields)} values, expected {len(names)}")
        if corrupt_column is not None and fields[corrupt_column].strip() not in ("0", ""):
            corrupt += 1
            continue
        try:
            rows.append([float(fields[c]) for c in wanted])
        except ValueError:
            bad = next(fields[c] for c in wanted if not is_number(fields[c]))
            raise DriverError(f"{path}: line {number}: {bad.strip()[:20]!r} is not a number") from None
        numbers.append(number)
    if not rows:
        raise DriverError(f"{path}: no samples after the column line")
    data = np.array(rows)
    _check_values(path, data, numbers)
    soles = sorted(set(data[:, 0].tolist()))
    if len(soles) > 2:
        raise DriverError(f"{path}: {len(soles)} insoles (sole_id {', '.join(f'{s:g}' for s in soles)}); "
                          "at most two are read")
    feet = _feet(path, options, soles)
    per_sole = [data[data[:, 0] == sole] for sole in soles]
    if cut_short is not None:  # the other insole's sample before the cut one has no partner either
        per_sole = [d[:min(len(d) for d in per_sole)] for d in per_sole]
    if len({len(d) for d in per_sole}) != 1:
        counts = ", ".join(f"sole {s:g}: {len(d)}" for s, d in zip(soles, per_sole))
        raise DriverError(f"{path}: the insoles hold different numbers of samples ({counts}); not read yet")
    time_ms = per_sole[0][:, 1]
    time_s = (time_ms - time_ms[0]) / 1000.0
    check_times(path, time_s, "sample")
    rate = positive_number(path, "the sample rate from the timestamps", 1.0 / float(np.median(np.diff(time_s)))) \
        if len(time_s) > 1 else None
    if rate is None:
        raise DriverError(f"{path}: one sample only, so the sample rate is unknown")
    if len(per_sole) == 2 and np.abs(per_sole[1][:, 1] - time_ms).max() > 1000.0 / rate:
        raise DriverError(f"{path}: the two insoles' timestamps differ by more than one sample period")
    order = np.argsort(feet)  # rows: left first
    cells = np.stack([per_sole[i][:, 2:] for i in order], axis=1)
    check_pressures(path, cells, "a sample")
    if (cells < 0).any():
        raise DriverError(f"{path}: negative pressure values")
    tare = None
    if options["tare"] == "1":
        tare = np.quantile(cells, TARE_QUANTILE, axis=0)
        cells = np.clip(cells - tare, 0.0, None)
    cells = cells.astype(np.float32)
    foot_map = np.repeat(np.array([[feet[i]] for i in order], np.int8), CHANNELS, axis=1)
    area_cm2 = positive_number(path, "the sensor area (cm²)", options["sensor_area_cm2"])
    told = options["scale_kpa"] is not None
    scale = positive_number(path, "the scale (kPa per device unit)", options["scale_kpa"]) if told else 1.0
    side_mm = float(np.sqrt(area_cm2 * 100))
    units = "kPa (given scale)" if told else "device units of unknown unit (not kPa)"
    info = MatInfo(rows=len(soles), cols=CHANNELS, pitch_x_mm=side_mm, pitch_y_mm=side_mm, rate_hz=rate,
                   device="STAPPone insoles", dtype=np.float32, scale_kpa=scale, cell_area_mm2=area_cm2 * 100,
                   foot_map=foot_map, has_geometry=False, assumed=() if told else ("scale_kpa",),
                   extra={"units": units, "sensor_area_cm2": area_cm2})
    if tare is not None:
        info.extra["tare_device_units"] = tare.round(3).tolist()
    counters = Counters(corrupt=corrupt)
    counter = np.arange(len(time_s), dtype=np.int64)
    attrs = {"units": units, "sensor_area_cm2": area_cm2,
             "sole_ids": ",".join(f"{soles[i]:g}" for i in order)}
    return marked_cut_short(Recording(cells, counter, time_s, info, counters, url, attrs=attrs), cut_short)


def _check_values(path, data: np.ndarray, numbers: list[int]) -> None:
    """The export writes whole sole ids, Unix times in ms and finite channel values; nan, inf or a
    timestamp beyond 2**53 ms is damage (and would make a sole of its own, or overflow the times)."""
    names = ["sole_id", "timestamp", *PRESSURE_COLUMNS]
    bad = ~np.isfinite(data)
    if bad.any():
        i, k = np.argwhere(bad)[0]
        raise DriverError(f"{path}: line {numbers[i]}: {names[k]} {data[i, k]:g} is not a finite number")
    bad = data[:, 0] != np.round(data[:, 0])
    if bad.any():
        i = int(np.argmax(bad))
        raise DriverError(f"{path}: line {numbers[i]}: sole_id {data[i, 0]:g} is not a whole number")
    bad = np.abs(data[:, 1]) > MAX_TIMESTAMP_MS
    if bad.any():
        i = int(np.argmax(bad))
        raise DriverError(f"{path}: line {numbers[i]}: timestamp {data[i, 1]:g} ms is out of range "
                          "(beyond 2**53 ms)")


def _feet(path, options, soles: list[float]) -> list[int]:
    if len(soles) == 1:
        foot = options["foot"] or _foot_from_name(path)
        if foot is None:
            raise DriverError(f"{path}: one STAPPone insole (sole_id {soles[0]:g}) and the file does not say which "
                              "foot; give ?foot=left or ?foot=right")
        return [0 if foot == "left" else 1]
    if options["left_sole"] is None or options["left_sole"] not in soles:
        ids = " or ".join(f"{s:g}" for s in soles)
        raise DriverError(f"{path}: two STAPPone insoles and the file does not say which is the left; give "
                          f"?left_sole={ids}")
    return [0 if sole == options["left_sole"] else 1 for sole in soles]


def _foot_from_name(path) -> str | None:
    stem = path.stem.lower()
    if stem.endswith(("_left", "-left")) or path.stem[-1:] == "L":
        return "left"
    if stem.endswith(("_right", "-right")) or path.stem[-1:] == "R":
        return "right"
    return None

