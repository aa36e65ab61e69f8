"""Serial framings (DESIGN.md section 4): pure, incremental parsers and the matching encoders.

A parser is fed bytes in any split and returns the frames completed so far; garbage, bad
checksums and wrong lengths are counted (``corrupt``, ``resyncs``) and skipped, and parsing
resumes at the next frame boundary. No parser does I/O.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass

import numpy as np

FRAMINGS = ("binary", "trailer", "rle", "poll", "lines")
CELL_TYPES = {"uint8": np.uint8, "uint16": np.uint16, "int16": np.int16, "int32": np.int32, "uint32": np.uint32,
              "float32": np.float32, "float64": np.float64}


@dataclass(frozen=True)
class ParsedFrame:
    cells: np.ndarray
    counter: int | None = None
    device_time_s: float | None = None
    trouble_before: int = 0  # corrupt + resyncs the parser had counted when this frame completed


class Parser:
    """Base: ``feed(data)`` returns complete frames; ``corrupt`` and ``resyncs`` count trouble."""

    def __init__(self, rows: int, cols: int, cell_type: str = "uint16"):
        if cell_type not in CELL_TYPES:
            raise ValueError(f"cell type {cell_type!r} is not one of {', '.join(CELL_TYPES)}")
        self.rows, self.cols = rows, cols
        self.dtype = np.dtype(CELL_TYPES[cell_type]).newbyteorder("<")
        self.buffer = bytearray()
        self.corrupt = 0
        self.resyncs = 0

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    def feed(self, data: bytes) -> list[ParsedFrame]:
        self.buffer += data
        return self._parse()

    def _parse(self) -> list[ParsedFrame]:
        raise NotImplementedError

    def _shape(self, values: np.ndarray) -> np.ndarray:
        return values.astype(self.dtype.newbyteorder("="), copy=False).reshape(self.rows, self.cols)

    def _take_until(self, delimiter: bytes) -> bytes | None:
        """The bytes before the next ``delimiter``, taken from the buffer with it; None until one has come."""
        end = self.buffer.find(delimiter)
        if end < 0:
            return None
        chunk = bytes(self.buffer[:end])
        del self.buffer[: end + len(delimiter)]
        return chunk


# -- binary: ours, with header, counter, device time and CRC-32 ---------------------------------
SYNC = b"\xaa\x55\x5a\xa5"
HEADER = struct.Struct("<BBHHIQ")  # version, cell type code, rows, cols, counter, device time (us)
VERSION = 1
TYPE_CODES = {"uint8": 1, "uint16": 2, "int16": 3, "float32": 4, "int32": 5, "uint32": 6, "float64": 7}
TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}


def encode_binary(cells: np.ndarray, counter: int, device_time_us: int) -> bytes:
    cell_type = cells.dtype.name
    header = HEADER.pack(VERSION, TYPE_CODES[cell_type], cells.shape[0], cells.shape[1],
                         counter & 0xFFFFFFFF, device_time_us)
    payload = np.ascontiguousarray(cells, dtype=cells.dtype.newbyteorder("<")).tobytes()
    return SYNC + header + payload + struct.pack("<I", zlib.crc32(header + payload))


class BinaryParser(Parser):
    def __init__(self, rows: int, cols: int, cell_type: str = "uint16"):
        super().__init__(rows, cols, cell_type)
        self._skipped = False

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        size = len(SYNC) + HEADER.size + self.cells * self.dtype.itemsize + 4
        expected = (VERSION, TYPE_CODES[self.dtype.name], self.rows, self.cols)
        while True:
            start = self.buffer.find(SYNC)
            if start < 0:
                drop = len(self.buffer) - (len(SYNC) - 1)  # a sync may be arriving in pieces
                if drop > 0:
                    del self.buffer[:drop]
                    self._skipped = True
                return frames
            if start > 0:
                del self.buffer[:start]
                self._skipped = True
            if self._skipped:
                self.resyncs += 1
                self._skipped = False
            if len(self.buffer) < len(SYNC) + HEADER.size:
                return frames
            version, code, rows, cols, counter, time_us = HEADER.unpack_from(self.buffer, len(SYNC))
            if (version, code, rows, cols) != expected:
                self._reject()
                continue
            if len(self.buffer) < size:
                return frames
            body = bytes(self.buffer[len(SYNC): size - 4])
            (crc,) = struct.unpack_from("<I", self.buffer, size - 4)
            if zlib.crc32(body) != crc:
                self._reject()
                continue
            values = np.frombuffer(body, dtype=self.dtype, offset=HEADER.size)
            frames.append(ParsedFrame(self._shape(values), counter, time_us / 1e6, self.corrupt + self.resyncs))
            del self.buffer[:size]

    def _reject(self) -> None:
        """A sync whose header or checksum is wrong: count it and look for the next sync."""
        self.corrupt += 1
        del self.buffer[:1]
        self._skipped = True


# -- trailer: a fixed payload, then a marker -------------------------------------------------------
class TrailerParser(Parser):
    def __init__(self, rows: int, cols: int, cell_type: str = "uint8", marker: bytes = b"\xff\xfe\xfe\xff"):
        super().__init__(rows, cols, cell_type)
        self.marker = marker
        self.synced = False

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        payload = self.cells * self.dtype.itemsize
        while True:
            if not self.synced:
                at = self.buffer.find(self.marker)
                if at < 0:  # keep what could still be a whole first frame
                    del self.buffer[: max(0, len(self.buffer) - payload - len(self.marker) + 1)]
                    return frames
                self.synced = True
                if at == payload:  # the stream began on a frame boundary: keep that frame
                    continue
                del self.buffer[: at + len(self.marker)]
                self.resyncs += 1
                continue
            if len(self.buffer) < payload + len(self.marker):
                return frames
            if self.buffer[payload: payload + len(self.marker)] == self.marker:
                values = np.frombuffer(bytes(self.buffer[:payload]), dtype=self.dtype)
                frames.append(ParsedFrame(self._shape(values)))
                del self.buffer[: payload + len(self.marker)]
            else:
                # Wrong length: skip to the next marker, which begins a fresh frame.
                self.corrupt += 1
                self.synced = False
                del self.buffer[:1]


def encode_trailer(cells: np.ndarray, marker: bytes = b"\xff\xfe\xfe\xff") -> bytes:
    return np.ascontiguousarray(cells, dtype=cells.dtype.newbyteorder("<")).tobytes() + marker


# -- rle: 1..254 per cell, 0x00 count for zero runs, 0xFF ends a frame ----------------------------
class RleParser(Parser):
    def __init__(self, rows: int, cols: int, cell_type: str = "uint8"):
        super().__init__(rows, cols, "uint8")
        self.synced = False

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        while (chunk := self._take_until(b"\xff")) is not None:
            cells = self._decode(chunk)
            if cells is not None:
                frames.append(ParsedFrame(self._shape(cells)))
            elif self.synced:
                self.corrupt += 1
            elif chunk:  # before the first end marker: the tail of a frame we joined late
                self.resyncs += 1
            self.synced = True
        return frames

    def _decode(self, chunk: bytes) -> np.ndarray | None:
        values = []
        i = 0
        while i < len(chunk):
            if chunk[i] == 0:
                if i + 1 >= len(chunk):
                    return None
                values.extend([0] * chunk[i + 1])
                i += 2
            else:
                values.append(chunk[i])
                i += 1
        if len(values) != self.cells:
            return None
        return np.array(values, dtype=np.uint8)


def encode_rle(cells: np.ndarray) -> bytes:
    out = bytearray()
    flat = np.clip(cells.ravel(), 0, 254).astype(np.uint8)
    i = 0
    while i < len(flat):
        if flat[i] == 0:
            run = 1
            while i + run < len(flat) and flat[i + run] == 0 and run < 255:
                run += 1
            out += bytes([0, run])
            i += run
        else:
            out.append(int(flat[i]))
            i += 1
    out.append(0xFF)
    return bytes(out)


# -- poll: a request byte out, exactly rows * cols cells back -------------------------------------
class PollParser(Parser):
    """Frames are fixed-size replies; the driver writes the request and calls ``reset`` when a
    reply times out, so a short reply never shifts the next one."""

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        size = self.cells * self.dtype.itemsize
        while len(self.buffer) >= size:
            values = np.frombuffer(bytes(self.buffer[:size]), dtype=self.dtype)
            frames.append(ParsedFrame(self._shape(values)))
            del self.buffer[:size]
        return frames

    def reset(self) -> None:
        if self.buffer:
            self.corrupt += 1
            self.resyncs += 1
            self.buffer.clear()


# -- lines: ASCII integers ------------------------------------------------------------------------
SEPARATORS = re.compile(rb"[,\s]+")


class LinesParser(Parser):
    """One line per frame (rows * cols values) or one line per row with a blank line between
    frames; ``order`` says whether values run along rows or columns; ``active=low`` maps a reading
    v to ``full_scale - v`` (pull-up sketches report less pressure as a higher number)."""

    def __init__(self, rows: int, cols: int, cell_type: str = "uint16", order: str = "row",
                 active: str = "high", full_scale: int = 1023):
        super().__init__(rows, cols, cell_type)
        if order not in ("row", "col") or active not in ("high", "low"):
            raise ValueError("order must be row or col, active high or low")
        self.order, self.active, self.full_scale = order, active, full_scale
        self.rows_seen: list[list[int]] = []
        self.synced = False
        self.skipping = False  # after a bad line, until the next frame boundary

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        while (line := self._take_until(b"\n")) is not None:
            frame = self._line(line.strip())
            if frame is not None:
                frames.append(frame)
        return frames

    def _line(self, line: bytes) -> ParsedFrame | None:
        if not line:  # a frame boundary: rows still pending belong to a frame cut short
            if self.rows_seen and not self.skipping:
                self._lose()
            self.synced, self.skipping = True, False
            self.rows_seen = []
            return None
        try:
            values = [int(v) for v in SEPARATORS.split(line.strip(b", \t")) if v]
        except ValueError:
            if not self.skipping:
                self._lose()
            return None
        if len(values) == self.cells and not self.rows_seen:  # one line per frame
            self.synced, self.skipping = True, False
            return self._frame(values)
        if self.skipping:
            return None
        expected = self.cols if self.order == "row" else self.rows
        if len(values) != expected:
            self._lose()
            return None
        self.rows_seen.append(values)
        if len(self.rows_seen) * expected == self.cells:
            rows_seen = self.rows_seen
            self.rows_seen = []
            self.synced = True
            return self._frame([v for row in rows_seen for v in row])
        return None

    def _lose(self) -> None:
        """A bad or short frame: drop what was gathered of it and wait for the next boundary.
        Before the first boundary it is only the tail of a frame we joined late."""
        if self.synced:
            self.corrupt += 1
        else:
            self.resyncs += 1
        self.rows_seen = []
        self.skipping = True

    def _frame(self, values: list[int]) -> ParsedFrame:
        cells = np.array(values, dtype=np.int64)
        if self.active == "low":
            cells = self.full_scale - cells
        cells = np.clip(cells, 0, np.iinfo(self.dtype).max if self.dtype.kind in "iu" else None)
        shaped = cells.reshape(self.rows, self.cols) if self.order == "row" else cells.reshape(self.cols, self.rows).T
        return ParsedFrame(np.ascontiguousarray(shaped).astype(self.dtype.newbyteorder("=")))


def encode_lines(cells: np.ndarray, per_row: bool = True, order: str = "row", active: str = "high",
                 full_scale: int = 1023) -> bytes:
    values = cells.astype(np.int64)
    if active == "low":
        values = full_scale - values
    grid = values if order == "row" else values.T
    if per_row:
        return b"".join(b",".join(str(v).encode() for v in row) + b"\n" for row in grid) + b"\n"
    return b" ".join(str(v).encode() for v in grid.ravel()) + b"\n"


def make_parser(framing: str, rows: int, cols: int, cell_type: str, **options) -> Parser:
    if framing == "binary":
        return BinaryParser(rows, cols, cell_type)
    if framing == "trailer":
        return TrailerParser(rows, cols, cell_type, bytes.fromhex(options.get("marker", "fffefeff")))
    if framing == "rle":
        return RleParser(rows, cols)
    if framing == "poll":
        return PollParser(rows, cols, cell_type)
    if framing == "lines":
        return LinesParser(rows, cols, cell_type, options.get("order", "row"), options.get("active", "high"),
                           int(options.get("full_scale", 1023)))
    raise ValueError(f"unknown framing {framing!r}; known: {', '.join(FRAMINGS)}")
