"""CSV frames in kPa: blocks of ``rows`` lines separated by blank lines, or one frame per line.

With one frame per line, ``?rows=&cols=`` give the shape (row-major). Lines starting with ``#``
are comments. A row with another number of values than the first is an error naming its line.
A file of one block is one frame (a static image such as the MUN104 templates): it needs no
rate (a nominal 1 Hz, said in ``info.extra["nominal_rate"]``), only a pitch.
"""

from __future__ import annotations

import re

import numpy as np

from drivers.base import Counters, DriverError
from drivers.files.metadata import FLOAT32_MAX, GEOMETRY_OPTIONS, plain_info, read_text, text_lines
from drivers.recording import Recording
from drivers.url import positive

FORMAT_NAME = "CSV frames"
OPTIONS = {**GEOMETRY_OPTIONS, "rows": (positive(int), None), "cols": (positive(int), None)}
SEPARATOR = re.compile(r"[,;\s]+")


def read(path, options, url) -> Recording:
    blocks: list[list[list[float]]] = [[]]
    width = None
    text = read_text(path, "utf-8-sig")
    for number, line in enumerate(text_lines(text), start=1):
        line = line.strip()
        if line.startswith("#"):
            continue
        if not line.strip(",; \t"):
            if blocks[-1]:
                blocks.append([])
            continue
        try:
            values = [float(v) for v in SEPARATOR.split(line.strip(",; \t"))]
        except ValueError:
            raise DriverError(f"{path}: line {number} holds something that is not a number") from None
        if any(abs(v) > FLOAT32_MAX for v in values):
            raise DriverError(f"{path}: line {number} holds a value that is infinite or too large")
        if width is None:
            width = len(values)
        elif len(values) != width:
            raise DriverError(f"{path}: line {number} has {len(values)} values, earlier lines have {width}")
        blocks[-1].append(values)
    blocks = [block for block in blocks if block]
    if not blocks:
        raise DriverError(f"{path}: no frames in the file")
    rows, cols = options["rows"], options["cols"]
    if rows is not None or cols is not None:
        if rows is None or cols is None:
            raise DriverError(f"{path}: give both rows= and cols= for one frame per line")
        if width != rows * cols:
            raise DriverError(f"{path}: a line has {width} values, rows x cols is {rows * cols}")
        frames = np.array([line for block in blocks for line in block]).reshape(-1, rows, cols)
    elif len(blocks) == 1 and len(blocks[0]) == 1:
        raise DriverError(f"{path}: one line of numbers only; separate frames by blank lines, "
                          "or give ?rows=&cols= for one frame per line")
    else:  # one block is one frame: a static image (e.g. the MUN104 footprint templates)
        heights = {len(block) for block in blocks}
        if len(heights) != 1:
            raise DriverError(f"{path}: frames have different numbers of rows: {sorted(heights)}")
        frames = np.array(blocks)
    frames = frames.astype(np.float32)
    info = plain_info(path, options, frames.shape[1], frames.shape[2], frames.dtype, "CSV frames", len(frames))
    n = len(frames)
    return Recording(frames, np.arange(n, dtype=np.int64), np.arange(n) / info.rate_hz, info, Counters(), url)
