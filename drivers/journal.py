"""The capture journal: every frame appended, as binary-framing records, beside the session file
while it is written. A capture killed at any moment leaves the journal, from which
``pressure recover`` rebuilds whatever the HDF5 file lacks."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from drivers.base import DriverError, Frame, MatInfo
from drivers.framing import HEADER, SYNC, BinaryParser, encode_binary

MAGIC = b"PRESSURE-JOURNAL 1\n"


def journal_path(session: Path) -> Path:
    return session.with_name(session.name + ".journal")


class JournalWriter:
    """Append-only; ``sync`` pushes what was appended to the disk."""

    def __init__(self, session: Path, info: MatInfo, attrs: dict):
        self.path = journal_path(session)
        self._file = open(self.path, "wb")
        described = {k: v for k, v in asdict(info).items() if k not in ("foot_map", "extra", "dtype")}
        header = {"info": {**described, "dtype": info.dtype.name}, "attrs": attrs,
                  "foot_map": None if info.foot_map is None else info.foot_map.tolist()}
        self._file.write(MAGIC + json.dumps(header).encode() + b"\n")

    def append(self, frame: Frame, index: int) -> None:
        counter = frame.counter if frame.counter is not None else index
        time_us = int(round((frame.device_time_s if frame.device_time_s is not None else frame.host_time_s) * 1e6))
        self._file.write(encode_binary(np.ascontiguousarray(frame.cells), counter, max(time_us, 0)))
        self._file.write(np.float64(frame.host_time_s).tobytes())

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self, keep: bool = False) -> None:
        self._file.close()
        if not keep:
            self.path.unlink(missing_ok=True)


def read_journal(path: Path) -> tuple[MatInfo, dict, list[Frame]]:
    """The session description and every intact frame of a journal."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(MAGIC):
        raise DriverError(f"{path}: not a capture journal")
    header_end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC): header_end])
    info_fields = header["info"]
    foot_map = np.array(header["foot_map"], np.int8) if header["foot_map"] is not None else None
    info = MatInfo(**{**info_fields, "dtype": np.dtype(info_fields["dtype"]), "foot_map": foot_map})
    body = data[header_end + 1:]
    record = len(SYNC) + HEADER.size + info.rows * info.cols * info.dtype.itemsize + 4 + 8
    frames = []
    parser = BinaryParser(info.rows, info.cols, info.dtype.name)
    for start in range(0, len(body) - record + 1, record):
        parsed = parser.feed(body[start: start + record - 8])
        if parsed:
            host_time = float(np.frombuffer(body[start + record - 8: start + record], np.float64)[0])
            frames.append(Frame(parsed[0].cells, parsed[0].counter, parsed[0].device_time_s, host_time))
    return info, header["attrs"], frames

