"""The capture journal (``FILE.h5.journal``): the frames received since the session file's last
flush, with the live counters, beside the file while it is written.

It is bounded: every flush of the session file (at least once a second) empties it, so it holds
about a second of frames. Each frame is one ``write`` as it arrives, so a killed capture leaves
every frame it had received in the journal (the operating system has it even if the process is
gone), and ``pressure recover`` appends the ones the session file lacks. Records carry a CRC, so
a record cut short by the kill is simply left out.

Journals of the first format (``PRESSURE-JOURNAL 1``, every frame of the capture) are still read,
to rebuild sessions of captures killed before the session file itself survived a kill.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import struct
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from isal.isal_zlib import crc32  # zlib's CRC-32, 8x as fast

from drivers.base import Counters, DriverError, Frame, MatInfo

MAGIC_V1 = b"PRESSURE-JOURNAL 1\n"
MAGIC = b"PRESSURE-JOURNAL 2\n"
RECORD = b"JFRM"
# index in the session, flags (1: counter, 2: device time), counter, device time, session time,
# host time, then the counters: received, dropped, corrupt, resyncs, reconnects
ENTRY = struct.Struct("<QBqddd5q")
COUNTERS = tuple(vars(Counters()))


def journal_path(session: Path) -> Path:
    return session.with_name(session.name + ".journal")


@dataclass
class JournalEntry:
    index: int
    frame: Frame
    time_s: float
    counters: Counters


def _header(info: MatInfo, attrs: dict) -> bytes:
    described = {k: v for k, v in asdict(info).items() if k not in ("foot_map", "extra", "dtype")}
    header = {"info": {**described, "dtype": info.dtype.str}, "attrs": attrs,
              "foot_map": None if info.foot_map is None else info.foot_map.tolist()}
    return MAGIC + json.dumps(header, default=str).encode() + b"\n"


class JournalWriter:
    """Append-only between resets; each ``append`` is one write to the operating system, unless
    ``hold`` says more frames are in hand: their records then go out together, in one write with
    the next record not held (a fast mat's frames come in batches, and a write per frame cost the
    capture a tenth of its time)."""

    def __init__(self, session: Path, info: MatInfo, attrs: dict):
        self.path = journal_path(session)
        self._cells = info.rows * info.cols * info.dtype.itemsize
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while capturing: see journal_in_use
            header = _header(info, attrs)
            self._write(header)
        except BaseException:
            os.close(self._fd)
            self.path.unlink(missing_ok=True)
            raise
        self._start = len(header)
        self._held: list[bytes] = []

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def append(self, frame: Frame, index: int, time_s: float, counters: Counters | None = None,
               hold: bool = False) -> None:
        flags = (1 if frame.counter is not None else 0) | (2 if frame.device_time_s is not None else 0)
        numbers = [getattr(counters, name, 0) if counters is not None else 0 for name in COUNTERS]
        payload = ENTRY.pack(index, flags, frame.counter or 0, frame.device_time_s or 0.0, time_s,
                             frame.host_time_s, *numbers) + np.ascontiguousarray(frame.cells).tobytes()
        self._held.append(RECORD + struct.pack("<I", len(payload)) + payload + struct.pack("<I", crc32(payload)))
        if not hold:
            self.write_held()

    def write_held(self) -> None:
        """Write the records held back, if any."""
        if self._held:
            records, self._held = self._held, []
            self._write(records[0] if len(records) == 1 else b"".join(records))

    def reset(self) -> None:
        """Forget what was appended (held records too): the session file holds it now."""
        self._held = []
        os.ftruncate(self._fd, self._start)
        os.lseek(self._fd, self._start, os.SEEK_SET)

    def close(self, keep: bool = False) -> None:
        if self._fd is not None and keep:
            try:
                self.write_held()
            except OSError:  # what could be written is: the journal is a bonus
                pass
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not keep:
            self.path.unlink(missing_ok=True)


def journal_in_use(path: Path) -> bool:
    """True while a capture writes this journal (it holds a lock that a kill releases)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def journal_version(path: Path) -> int:
    with open(path, "rb") as f:
        start = f.read(len(MAGIC))
    if start == MAGIC:
        return 2
    if start == MAGIC_V1:
        return 1
    raise DriverError(f"{path}: not a capture journal")


def _info(header: dict) -> MatInfo:
    fields = header["info"]
    foot_map = np.array(header["foot_map"], np.int8) if header["foot_map"] is not None else None
    return MatInfo(**{**fields, "dtype": np.dtype(fields["dtype"]), "foot_map": foot_map})


def read_journal(path: Path) -> tuple[MatInfo, dict, list[JournalEntry]]:
    """The session description and every intact record of a journal."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(MAGIC):
        raise DriverError(f"{path}: not a capture journal of this version")
    try:
        end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC): end])
        info = _info(header)
    except (ValueError, KeyError, TypeError) as error:
        raise DriverError(f"{path}: damaged journal header ({error})") from None
    cells = info.rows * info.cols * info.dtype.itemsize
    entries = []
    at = end + 1
    while at + 8 <= len(data) and data[at: at + 4] == RECORD:
        (size,) = struct.unpack_from("<I", data, at + 4)
        payload = data[at + 8: at + 8 + size]
        if size != ENTRY.size + cells or len(payload) < size or at + 12 + size > len(data):
            break
        if struct.unpack_from("<I", data, at + 8 + size)[0] != crc32(payload):
            break
        index, flags, counter, device_time, time_s, host_time, *numbers = ENTRY.unpack_from(payload)
        values = np.frombuffer(payload[ENTRY.size:], info.dtype).reshape(info.rows, info.cols).copy()
        frame = Frame(values, counter if flags & 1 else None, device_time if flags & 2 else None, host_time)
        entries.append(JournalEntry(index, frame, time_s if math.isfinite(time_s) else 0.0,
                                    Counters(**dict(zip(COUNTERS, numbers)))))
        at += 12 + size
    return info, header.get("attrs", {}), entries


def read_journal_v1(path: Path) -> tuple[MatInfo, dict, list[Frame]]:
    """Every intact frame of a journal of the first format (binary-framing records)."""
    from drivers.framing import HEADER, SYNC, BinaryParser

    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(MAGIC_V1):
        raise DriverError(f"{path}: not a capture journal")
    header_end = data.index(b"\n", len(MAGIC_V1))
    header = json.loads(data[len(MAGIC_V1): header_end])
    info = _info(header)
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
