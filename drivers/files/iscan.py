"""Tekscan I-Scan ASCII movie exports saved with a ``.csv`` name.

The layout is the Tekscan ASCII movie of :mod:`drivers.files.tekscan` (``KEY value`` header,
``ASCII_DATA @@``, ``Frame N, t,, date,,,Raw Sum=,,S`` then ROWS lines of COLS values, ``B`` outside
the sensor), so it is read by that module's parser; the export's per-frame ``Raw Sum`` is kept as
``extras["reported_raw_sum"]``. Exports in ``UNITS raw`` are refused unless a scale
(``?scale_kpa=``, kPa per raw unit, or ``--scale-kpa`` where the command line passes it) or a
calibration table (``--calibration table.csv``, or ``?calibration=`` naming it) is given: with the
scale, ``MatInfo.scale_kpa`` holds it; with a table, the cells stay raw for the table to map.
The header's ``TIME`` (``12/2/2019 6:21:52.34PM``) is read as the Tekscan reader reads it: a
numeric date whose day/month order the numbers do not tell (12 February or 2 December) is kept as
``attrs["recorded_at_text"]``, not guessed.
"""

from __future__ import annotations

import numpy as np

from drivers.base import DriverError
from drivers.files import tekscan

FORMAT_NAME = "Tekscan I-Scan ASCII"
OPTIONS = dict(tekscan.RAW_OPTIONS)


def looks_like(head: bytes) -> bool:
    """Whether the first bytes of a file are a Tekscan ASCII movie export."""
    text = head.lstrip(b"\xef\xbb\xbf")
    return text.startswith(b"DATA_TYPE") or (b"ASCII_DATA" in text and b"\nROWS " in text)


def read(path, options, url):
    recording = tekscan.read(path, {"foot": None, **options}, url)
    raw_sum = (recording.extras or {}).get("reported_raw_sum")
    if raw_sum is not None and np.isinf(raw_sum).any():  # NaN: a frame line without a Raw Sum
        bad = int(np.argmax(np.isinf(raw_sum)))
        raise DriverError(f"{path}: the Raw Sum of frame {recording.counter[bad]} is {raw_sum[bad]:g}, "
                          "not a finite number")
    return recording
