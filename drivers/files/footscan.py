"""RSscan footscan Excel exports (``.xls``, OLE2/BIFF8 workbooks), read with ``xlrd``.

The pressuRe sample (sheet ``Test``, 20 columns) is a "Dynamic Roll off" export::

    Dynamic Roll offfor measurement: Barefoot_2
    Patient name: NA
    Measurement done on 07-07-2011
    Scanning speed;  for the left foot: 0.00 Hertz, for the right foot: 500.00 Hertz
    Right foot data
    Right rectangle position / Rectangle bottom / 6 / Rectangle left / 40 / Rectangle width / 20
    / Rectangle height / 38          (the window of the plate that holds the foot, in sensors)
    Frame 0 (0.00 ms)                then ``height`` rows of ``width`` values, a blank row, and so on
    Frame 1 (2.00 ms)

Rows run along the foot (38 sensors of 7.62 mm: 290 mm), columns across it (20 of 5.08 mm:
102 mm), so ``pitch_x_mm`` = 5.08 and ``pitch_y_mm`` = 7.62 (``?pitch=AxB`` overrides). The
workbook reports no totals (no force or pressure sums), so there is nothing of the vendor's to
check against. Its values' unit is not stated: they are read as the force on each sensor in N
(``?units=n``, the default; kPa = N / sensor area), because as N/cm² the sample's single-support
load would be 285 N (a 29 kg walker) and as N it is 735 N; ``?units=ncm2`` or ``?units=kpa`` read
them as pressures. The window is placed with a margin of ``?margin=`` (default 2) unloaded
sensors on every side, since the plate around it is unloaded but its size is not in the file.

``Measurement done on 07-07-2011`` becomes ``attrs["recorded_at"]`` (``2011-07-07``; no time is
given, and no time zone is invented) where the numbers tell day from month (here both are 7; one
above 12 also tells), else the text is kept as ``attrs["recorded_at_text"]``: the order follows the
PC's settings and the file does not say it. ``Patient name:`` becomes ``attrs["subject"]``, except
a placeholder such as the sample's ``NA``.
"""

from __future__ import annotations

import math
import re

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import (MAX_FRAME_NUMBER, check_pressures, header_attrs, is_number, parse_count,
                                    pitch_mm, positive_number, relative_times)
from drivers.recording import Recording
from drivers.url import choice, non_negative

FORMAT_NAME = "footscan Excel"
PITCH_ACROSS_MM, PITCH_ALONG_MM = 5.08, 7.62
# The plate's sensors are known: --pitch-mm (meant for frames without metadata, and given to a
# whole study) does not change them; ?pitch= does.
KNOWN_SETTINGS = ("pitch",)
OPTIONS = {
    "units": (choice("n", "ncm2", "kpa"), "n"),
    "pitch": (pitch_mm, None),
    "margin": (non_negative(int), 2),
}
FRAME = re.compile(r"^\s*Frame\s+(\d+)\s*\(\s*([-+\d.eE]+)\s*ms\s*\)", re.I)
RATE = re.compile(r"for the (left|right) foot:\s*([\d.]+)\s*Hertz", re.I)
DONE_ON = re.compile(r"^measurement done on\s*(.*)$", re.I)
PATIENT = re.compile(r"^patient name\s*:\s*(.*)$", re.I)
MAX_CELLS = 1 << 28


def _open(path):
    try:
        import xlrd
    except ImportError:
        raise DriverError(f"{path}: reading footscan .xls needs the xlrd package: "
                          'pip install -e ".[formats]"') from None
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DriverError(f"{path}: not an Excel 97-2003 workbook (no OLE2 signature)")
    try:
        return xlrd.open_workbook(str(path), on_demand=True, logfile=_Quiet())
    except MemoryError:
        raise
    except Exception as error:  # xlrd raises XLRDError, CompDocError, AssertionError, struct errors... on damage
        raise _damaged(path, "the workbook", error) from None


def _first_sheet(path, book):
    """The workbook's first sheet: opened on demand, its records are parsed only now, so damage
    to them shows here (as xlrd's struct, index, key and assertion errors)."""
    if book.nsheets < 1:
        raise DriverError(f"{path}: the workbook holds no sheet")
    try:
        return book.sheet_by_index(0)
    except MemoryError:
        raise
    except Exception as error:
        raise _damaged(path, "the workbook's first sheet", error) from None


def _damaged(path, what: str, error: Exception) -> DriverError:
    detail = " ".join(str(error).split())[:120]
    return DriverError(f"{path}: {what} cannot be read: the file is damaged or not an Excel 97-2003 workbook "
                       f"(xlrd {type(error).__name__}{': ' + detail if detail else ''})")


class _Quiet:
    def write(self, text):
        pass


def _text(sheet, row) -> str:
    value = sheet.cell_value(row, 0)
    return value.strip() if isinstance(value, str) else ""


def _number_after(path, sheet, labels: dict, name: str) -> int:
    row = labels.get(name)
    if row is None or row + 1 >= sheet.nrows:
        raise DriverError(f"{path}: no '{name}' in the workbook; not a footscan roll-off export")
    value = sheet.cell_value(row + 1, 0)
    if not isinstance(value, float) or not math.isfinite(value) or value != int(value) or not 0 <= value <= 1 << 16:
        raise DriverError(f"{path}: '{name}' is {value!r}, not a whole number of sensors")
    return int(value)


def read(path, options, url) -> Recording:
    book = _open(path)
    try:
        return _read_sheet(path, _first_sheet(path, book), options, url)
    finally:
        book.release_resources()


def _read_sheet(path, sheet, options, url) -> Recording:
    labels, frames, foot, rate = {}, [], None, None
    header = {"date": "", "patient": ""}  # the first of each, as written
    for row in range(sheet.nrows):
        text = _text(sheet, row)
        if not text:
            continue
        match = FRAME.match(text)
        if match:
            number = parse_count(path, f"row {row + 1}: the frame number", match.group(1), low=0,
                                 high=MAX_FRAME_NUMBER)
            if not is_number(match.group(2)):
                raise DriverError(f"{path}: row {row + 1}: the time {match.group(2)[:20]!r} ms of frame {number} "
                                  "is not a number")
            frames.append((row, number, float(match.group(2))))
            continue
        if frames:
            continue
        for side, hertz in RATE.findall(text):
            if not is_number(hertz):
                raise DriverError(f"{path}: row {row + 1}: the scanning speed {hertz[:20]!r} Hertz is not a number")
            if float(hertz) > 0:
                foot, rate = side.lower(), float(hertz)
        for key, pattern in (("date", DONE_ON), ("patient", PATIENT)):
            found = pattern.match(text)
            if found and not header[key]:
                header[key] = found.group(1)
        if text.lower().startswith("rectangle "):
            labels[text.lower()] = row
        elif text.lower().endswith("foot data"):
            foot = text.split()[0].lower()
    if not frames:
        raise DriverError(f"{path}: no 'Frame n (t ms)' rows; not a footscan roll-off export")
    height = _number_after(path, sheet, labels, "rectangle height")
    width = _number_after(path, sheet, labels, "rectangle width")
    bottom = _number_after(path, sheet, labels, "rectangle bottom")
    left = _number_after(path, sheet, labels, "rectangle left")
    if not (height and width) or width > sheet.ncols or len(frames) * height * width > MAX_CELLS:
        raise DriverError(f"{path}: a window of {width}x{height} sensors does not fit the sheet "
                          f"({sheet.ncols} columns)")
    margin = options["margin"]
    if len(frames) * (height + 2 * margin) * (width + 2 * margin) > MAX_CELLS:
        raise DriverError(f"{path}: ?margin={margin} makes {len(frames)} frames of {width + 2 * margin}x"
                          f"{height + 2 * margin} sensors, more than {MAX_CELLS} cells; give a smaller margin")
    cells = np.zeros((len(frames), height + 2 * margin, width + 2 * margin), np.float32)
    for index, (row, number, _) in enumerate(frames):
        if row + height >= sheet.nrows:  # its rows are row + 1 .. row + height
            raise DriverError(f"{path}: frame {number} (row {row + 1}) is cut off by the end of the sheet")
        block = []
        for offset in range(1, height + 1):
            values = sheet.row_values(row + offset, 0, width)
            if len(values) != width or not all(isinstance(v, float) for v in values):
                raise DriverError(f"{path}: row {row + offset + 1} (frame {number}) does not hold {width} numbers")
            block.append(values)
        block = np.array(block, dtype=np.float64)
        if np.isnan(block).any():  # xlrd passes on any 8 bytes as a number, NaN too: Excel writes none
            raise DriverError(f"{path}: row {row + 2 + int(np.argwhere(np.isnan(block))[0][0])} (frame {number}) "
                              "holds a value that is not a number (NaN)")
        check_pressures(path, block, lambda i, row=row, number=number: f"row {row + 2 + i[0]} (frame {number})")
        cells[index, margin:margin + height, margin:margin + width] = block
    check_pressures(path, cells, lambda i: f"frame {frames[i[0]][1]}")
    if (cells < 0).any():
        raise DriverError(f"{path}: negative values in the frames")
    time_s = np.array([t for _, _, t in frames]) / 1000
    relative = relative_times(path, time_s)
    if rate is None:
        if len(frames) < 2:
            raise DriverError(f"{path}: no scanning speed and one frame only")
        rate = 1.0 / float(np.median(np.diff(time_s)))
    rate = positive_number(path, "the scanning speed (Hz)", rate)
    pitch_x, pitch_y = options["pitch"] or (PITCH_ACROSS_MM, PITCH_ALONG_MM)
    area_mm2 = pitch_x * pitch_y
    scale = {"n": 1000.0 / area_mm2, "ncm2": 10.0, "kpa": 1.0}[options["units"]]
    counter = np.array([number for _, number, _ in frames], dtype=np.int64)
    if len(counter) > 1 and not (np.diff(counter) > 0).all():
        raise DriverError(f"{path}: frame numbers do not increase")
    attrs = {"foot": foot or "", "window_bottom": bottom, "window_left": left, "margin": margin,
             "units": {"n": "N per sensor (inferred)", "ncm2": "N/cm2", "kpa": "kPa"}[options["units"]],
             **header_attrs(header["date"], header["patient"])}  # a date alone: no time, no zone invented
    info = MatInfo(rows=cells.shape[1], cols=cells.shape[2], pitch_x_mm=pitch_x, pitch_y_mm=pitch_y,
                   rate_hz=rate, device="RSscan footscan", dtype=np.float32, scale_kpa=scale,
                   extra={"foot": foot or "", "units": attrs["units"]})
    return Recording(cells, counter - counter[0], relative, info, Counters(), url, attrs=attrs)
