"""Novel emed platform exports (``.lst``): one cropped window of the plate per picture.

Latin-1, tab-separated. A real export is a series of printed pages, one picture per page, and
every page repeats its header::

    <TAB><TAB><TAB><TAB>Page 2
    <TAB>File: C:\\...\\2.dat <TAB>Matrix: 64x95
    <TAB>Sensor area: 0.25 cm²<TAB>Time/picture:10.0 ms
    <TAB>Sensor size: 0.500x0.500 cm        (and some vendor lines)
    <TAB>Pict-No.: 2  Force[N]=sum*sensor_area in row/column
    <TAB>26<TAB>27 ... 47<TAB>Force         plate columns of the window
    30<TAB>0.00 ... 0.00<TAB>0.00           row index, kPa per column, the row's force (N)
    ...
    Force<TAB>column forces ...<TAB>39.63  the picture's total force last
    <FORM FEED>

``Matrix`` is COLSxROWS: the sample's window (rows 30-83, columns 26-47) only fits a plate of 95
rows. Its indices fit 0- and 1-based alike; 1-based is assumed unless ``?index_base=0``. Older or
hand-made files put one ``Key: value`` per line and no page header; a picture with no window at
all is an unloaded plate. The Force row's last value (the picture's total, N) is kept as
``extras["reported_force_n"]`` to check the force computed from pressure; it is rounded once,
where the sum of the rounded row forces drifts by up to 0.13 N in the sample.

The sample's header holds no date and no subject (``File:`` is the measurement's path; a date in
that path is not taken for one). Where a header has ``Date:`` (and ``Time:``) or ``Patient:``,
``Patient name:``, ``Patient ID:``, ``Subject:`` or ``Subject ID:`` fields, they become
``attrs["recorded_at"]`` (naive ISO 8601: no time zone is given, none is invented; a date whose
day/month order is not told stays ``attrs["recorded_at_text"]``) and ``attrs["subject"]``.
"""

from __future__ import annotations

import re

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import FLOAT32_MAX, MAX_FRAME_NUMBER, check_memory, header_attrs, marked_cut_short
from drivers.recording import Recording
from drivers.url import choice

FORMAT_NAME = "emed ASCII"
OPTIONS = {"index_base": (choice("0", "1"), "1")}
NEEDED = {"matrix": "Matrix", "sensor area": "Sensor area", "time/picture": "Time/picture"}
NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
SUBJECT_KEYS = ("patient", "patient name", "patient id", "subject", "subject id")


class LineError(ValueError):
    """What is wrong with one line; ``read`` adds the file and the line number."""


def _number(text: str) -> float:
    value = float(text.replace(",", "."))
    if not abs(value) <= FLOAT32_MAX:  # inf, or too large for a float32 frame; NaN passes as a masked cell
        if value == value:
            raise LineError(f"value {text[:20]!r} is infinite or too large")
    return value


def header_pairs(fields: list[str]):
    """Every ``Key: value`` field of a header line; real exports put two on a line, tab-separated."""
    for field in fields:
        key, colon, value = field.partition(":")
        if colon and key.strip():
            yield key.strip().lower(), value.strip()


class Picture:
    """One ``Pict-No.`` block, written into its own full-plate frame as its lines arrive."""

    def __init__(self, number: int, rows: int, cols: int, base: int):
        self.number = number
        self.frame = np.zeros((rows, cols), np.float32)
        self.base = base
        self.columns: list[int] | None = None  # plate columns of the window, 0-based
        self.width = 0  # values per data row: one per column, plus the row's force if announced
        self.last_row: int | None = None
        self.force = 0.0  # a picture without a window is an unloaded plate
        self.closed = False  # its Force row was read

    @property
    def open(self) -> bool:
        return self.columns is not None and not self.closed

    def column_line(self, fields: list[str]) -> None:
        announced_force = fields[-1].lower() == "force"
        indices = [int(field) - self.base for field in (fields[:-1] if announced_force else fields)]
        if not indices or min(indices) < 0 or max(indices) >= self.frame.shape[1]:
            raise LineError(f"picture {self.number}: window columns outside the {self.frame.shape[1]} "
                            f"plate columns; is ?index_base= right?")
        self.columns, self.width = indices, len(indices) + announced_force

    def data_row(self, fields: list[str]) -> None:
        values = fields[1:]
        if len(values) != self.width:
            raise LineError(f"picture {self.number}, row {fields[0]}: {len(values)} values, expected {self.width}")
        row = int(fields[0]) - self.base
        if self.last_row is not None and row != self.last_row + 1:  # a window is a rectangle
            raise LineError(f"picture {self.number}: row {fields[0]} after row {self.last_row + self.base}")
        self.last_row = row
        if not 0 <= row < self.frame.shape[0]:
            raise LineError(f"picture {self.number}: row {fields[0]} outside the {self.frame.shape[0]} "
                            f"plate rows; is ?index_base= right?")
        self.frame[row, self.columns] = [_number(value) for value in values[: len(self.columns)]]

    def force_row(self, fields: list[str]) -> None:
        totals = fields[1:]
        if len(totals) != self.width:
            raise LineError(f"picture {self.number}: Force row has {len(totals)} values, expected {self.width}")
        self.force = _number(totals[-1])  # the last one is the picture's total, in N
        self.closed = True


def read(path, options, url) -> Recording:
    with open(path, encoding="latin-1") as f:
        lines = f.read().split("\n")  # not splitlines(): form feeds would shift the line numbers
    file_bytes = path.stat().st_size
    base = int(options["index_base"])
    header: dict[str, tuple[str, int]] = {}
    pictures: list[Picture] = []
    plate = None  # (rows, cols, area_cm2, period_ms), fixed at the first picture
    last = max((k for k, line in enumerate(lines, start=1) if line.strip()), default=0)
    for number, line in enumerate(lines, start=1):
        fields = [field.strip() for field in line.split("\t")]
        while fields and not fields[-1]:
            fields.pop()
        if not fields:  # blank lines and the form feed between pages
            continue
        picture = pictures[-1] if pictures else None
        try:
            if line.strip().startswith("Pict-No"):
                if picture is not None and picture.open:
                    raise LineError(f"picture {picture.number} ends without its Force row")
                plate = plate or _plate(header)
                found = re.match(r"Pict-No\.?:?\s*(\d+)", line.strip())
                if not found:
                    raise LineError("'Pict-No.' without a picture number")
                if picture is not None and int(found.group(1)) <= picture.number:
                    raise LineError(f"picture {found.group(1)} after picture {picture.number}")
                if int(found.group(1)) > MAX_FRAME_NUMBER:
                    raise LineError(f"picture number {found.group(1)[:30]} is too large")
                check_memory(path, len(pictures) + 1, plate[0], plate[1], 4, file_bytes, "pictures")
                pictures.append(Picture(int(found.group(1)), plate[0], plate[1], base))
            elif picture is not None and picture.columns is None and fields[0] == "" and fields[1].isdigit():
                picture.column_line(fields[1:])  # the index column of this line is empty
            elif fields[0].isdigit() or fields[0].lower() == "force":
                if picture is None or not picture.open:
                    raise LineError(f"a window row outside a picture: {line.strip()[:30]!r}")
                (picture.data_row if fields[0].isdigit() else picture.force_row)(fields)
            elif picture is not None and picture.open:  # e.g. a page header where a row should be
                raise LineError(f"picture {picture.number} ends without its Force row")
            else:
                _keep_header(header, header_pairs(fields), number)
        except (LineError, ValueError) as error:  # ValueError: from int() and float()
            # The file ends inside this line: inside a picture's row (that picture is left out
            # below), or inside the next page's header lines (nothing of a picture lost).
            if number == last and pictures and (len(pictures) > 1 or not pictures[-1].open):
                break
            if isinstance(error, LineError):
                raise DriverError(f"{path}: line {number}: {error}") from None
            raise DriverError(f"{path}: line {number}: not a number ({error})") from None
    if not pictures:
        raise DriverError(f"{path}: no 'Pict-No.' pictures; not an emed export")
    cut_short = None
    if pictures[-1].open and len(pictures) > 1:  # the file ends inside its last picture
        cut_short = f"picture {pictures.pop().number}"
    elif pictures[-1].open:
        raise DriverError(f"{path}: line {len(lines)}: file ends inside picture {pictures[-1].number} "
                          f"(truncated?)")

    rows, cols, area_cm2, period_ms = plate
    pitch = float(np.sqrt(area_cm2 * 100.0))  # square sensors: 0.25 cm² is 5 mm
    info = MatInfo(rows=rows, cols=cols, pitch_x_mm=pitch, pitch_y_mm=pitch, rate_hz=1000.0 / period_ms,
                   device="Novel emed", dtype=np.float32, cell_area_mm2=area_cm2 * 100.0)
    counter = np.array([picture.number for picture in pictures], np.int64)
    time_s = (counter - counter[0]) * (period_ms / 1000.0)
    frames = np.stack([picture.frame for picture in pictures])
    reported = np.array([picture.force for picture in pictures])
    date = " ".join(header[key][0] for key in ("date", "time") if key in header)  # local time, left naive
    subject = next((header[key][0] for key in SUBJECT_KEYS if key in header), "")
    attrs = header_attrs(date if "date" in header else "", subject)
    return marked_cut_short(Recording(frames, counter, time_s, info, Counters(), url, attrs=attrs or None,
                                      extras={"reported_force_n": reported}), cut_short)


def _keep_header(header: dict, pairs, number: int) -> None:
    """The first value of each key; a repeated page header must not change the plate."""
    for key, value in pairs:
        if key in NEEDED and key in header and header[key][0] != value:
            raise LineError(f"{NEEDED[key]} changes from {header[key][0]!r} (line {header[key][1]}) to {value!r}")
        header.setdefault(key, (value, number))


def _plate(header: dict) -> tuple[int, int, float, float]:
    """Plate rows and columns, sensor area (cm²) and picture period (ms) from the header."""
    missing = [name for key, name in NEEDED.items() if key not in header]
    if missing:
        raise LineError(f"header needs Matrix, Sensor area and Time/picture before the first picture; "
                        f"missing {', '.join(missing)}")
    size = re.match(r"(\d+)\s*[xX*]\s*(\d+)$", header["matrix"][0])
    area = NUMBER.search(header["sensor area"][0])
    period = NUMBER.search(header["time/picture"][0])
    # A plate is a few thousand sensors; the bound keeps a damaged Matrix from exhausting memory.
    if not (size and area and period and 0 < int(size.group(1)) * int(size.group(2)) <= 1_000_000
            and 0 < float(area.group().replace(",", ".")) < 1e6 and 0 < float(period.group().replace(",", ".")) < 1e9):
        raise LineError(f"header Matrix {header['matrix'][0]!r}, Sensor area {header['sensor area'][0]!r}, "
                        f"Time/picture {header['time/picture'][0]!r}: expected COLSxROWS and two positive numbers")
    # Matrix is COLSxROWS: the sample's window reaches row 83 on its 64x95 plate.
    return int(size.group(2)), int(size.group(1)), _number(area.group()), _number(period.group())
