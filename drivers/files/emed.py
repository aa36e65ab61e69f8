"""Novel emed platform exports (``.lst``): one cropped window of the plate per picture.

Latin-1 text. The header gives ``Matrix: COLSxROWS``, ``Sensor area: A cm²`` and
``Time/picture: T ms``. Each picture starts with ``Pict-No.``; then a row of column indices, and
per data row its row index, tab-separated kPa values and a trailing ``Force``; a ``Force`` row of
column forces closes it. Each window is placed on the full plate at its indices (1-based unless
``?index_base=0``); a picture without a window is an unloaded plate. The file's own total force
(the Force row's last value) is kept to check the force computed from pressure.
"""

from __future__ import annotations

import re

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.recording import Recording
from drivers.url import choice

FORMAT_NAME = "emed ASCII"
OPTIONS = {"index_base": (choice("0", "1"), "1")}
NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def _number(text: str) -> float:
    return float(text.strip().replace(",", "."))


def read(path, options, url) -> Recording:
    with open(path, encoding="latin-1") as f:
        lines = f.read().splitlines()
    header: dict[str, str] = {}
    first_page = None
    for index, line in enumerate(lines):
        if line.strip().startswith("Pict-No"):
            first_page = index
            break
        key, separator, value = line.partition(":")
        if separator:
            header[key.strip().lower()] = value.strip()
    if first_page is None:
        raise DriverError(f"{path}: no 'Pict-No.' pages; not an emed export")
    try:
        size = re.match(r"\s*(\d+)\s*[xX*]\s*(\d+)", header["matrix"])
        cols, rows = int(size.group(1)), int(size.group(2))
        area_cm2 = _number(NUMBER.search(header["sensor area"]).group())
        period_ms = _number(NUMBER.search(header["time/picture"]).group())
    except (KeyError, AttributeError) as error:
        raise DriverError(f"{path}: header needs Matrix, Sensor area and Time/picture ({error})") from None
    base = int(options["index_base"])
    pages: list[list[str]] = []
    for line in lines[first_page:]:
        if line.strip().startswith("Pict-No"):
            pages.append([])
        elif line.strip():
            pages[-1].append(line)
    frames = np.zeros((len(pages), rows, cols), np.float32)
    reported = np.full(len(pages), np.nan)
    for number, page in enumerate(pages):
        if not page:
            reported[number] = 0.0
            continue
        column_fields = page[0].split("\t")
        if column_fields and column_fields[-1].strip().lower() == "force":
            column_fields = column_fields[:-1]
        column_index = [int(field) - base for field in column_fields if field.strip()]
        for line in page[1:]:
            fields = line.split("\t")
            label = fields[0].strip()
            if label.lower() == "force":
                reported[number] = _number(fields[-1])
                continue
            row = int(label) - base
            values = [_number(field) for field in fields[1: 1 + len(column_index)]]
            if len(values) != len(column_index):
                raise DriverError(f"{path}: picture {number + 1}, row {label}: "
                                  f"{len(values)} values for {len(column_index)} columns")
            if not (0 <= row < rows and 0 <= min(column_index) and max(column_index) < cols):
                raise DriverError(f"{path}: picture {number + 1}: window outside the {cols}x{rows} plate "
                                  f"(row {label}); is ?index_base= right?")
            frames[number, row, column_index] = values
    pitch = float(np.sqrt(area_cm2 * 100.0))
    rate = 1000.0 / period_ms
    info = MatInfo(rows=rows, cols=cols, pitch_x_mm=pitch, pitch_y_mm=pitch, rate_hz=rate,
                   device="Novel emed", dtype=np.float32, cell_area_mm2=area_cm2 * 100.0)
    counter = np.arange(len(pages), dtype=np.int64)
    return Recording(frames, counter, counter / rate, info, Counters(), url,
                     extras={"reported_force_n": reported})
