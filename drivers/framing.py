"""Serial framings (DESIGN.md section 4): pure, incremental parsers and the matching encoders.

A parser is fed bytes in any split and returns the frames completed so far. Every parser is
chunking-invariant: the same bytes give the same frames and the same counters whether they come
whole, byte by byte or in random pieces (every decision depends on the bytes, never on where a
read happened to end). Garbage, bad checksums and wrong lengths are counted and skipped, parsing
resumes at the next frame boundary, and the frame after the damage is kept whenever the framing
can tell that it is intact. No parser does I/O, raises on any input, or holds more than a few
frames' worth of bytes (``buffer_limit``; a long run of garbage is discarded and counted).

Counters: ``corrupt`` counts frames lost to damage (a bad checksum, a wrong length, a bad line, a
short reply; a long stretch of garbage counts as the frames that would have fit in it, where the
framing can tell), ``resyncs`` counts the times bytes were skipped to find a frame boundary
(garbage, the tail of a frame joined late). Damage seen before the first frame boundary is only
the tail of a frame joined late: a resync, not a corrupt frame.

Wire-format edges, where encoder and parser agree:

* ``binary``: sync, header, cells, CRC-32; anything else is skipped up to the next sync whose
  header and checksum are right, so sync bytes inside a payload do no harm.
* ``trailer``: a frame is the ``rows*cols`` cells right after a marker (or after the start of
  the stream), and only when the marker follows them exactly there. A marker anywhere else is
  not a frame boundary: when the expected marker is missing (a frame cut short or lengthened)
  the parser looks for a marker that is followed, exactly one payload later, by another marker,
  and takes the frame between them. So markers inside a payload are harmless while in sync, and
  a lost sync costs the damaged frame and the one right after it (garbage inserted before an
  intact frame cannot be told from garbage inside it, so that frame is counted, never guessed).
  Residual ambiguity: when payloads hold the marker bytes at the same place frame after frame,
  a resync can lock on those copies (both phases are self-consistent); while in sync it cannot.
* ``rle``: cells are 1..254, a zero run is ``00 n`` with n in 1..254 (the encoder splits longer
  runs: 255 zeros are ``00 FE 00 01``), ``FF`` ends a frame and never appears elsewhere. A
  count of 0, a frame of the wrong length, or ``00`` right before ``FF`` (a run of 255 from
  firmware that sends ``00 FF``) is a damaged frame: counted, and the next ``FF`` starts afresh
  (the tail of such a frame is counted as a resync, not a second corrupt frame). A value of 255
  is sent as 254.
* ``poll``: a reply is the ``rows*cols`` cells that follow a request. A driver that calls
  ``request()`` each time it writes the request byte (and feeds every byte it reads) gets
  replies delimited by requests: the first whole reply is a frame; a request answered twice
  (whole replies back to back) gives both frames; bytes beyond whole replies are counted as a
  resync and dropped, so they never shift the next reply; a reply that is short or missing when
  the next request (or ``reset()``) comes is a corrupt frame. Bytes arriving after ``reset()``
  and before the next request are a late reply: dropped and counted. Residual ambiguity: a late
  reply (or the second answer to a request) still arriving after the next request cannot be
  told from the answer to it; a driver that reads until the line is quiet before each request
  leaves none in flight. Without
  ``request()`` calls the bytes are a plain stream of fixed-size replies and ``reset()`` counts
  one short or missing reply.
* ``lines``: ASCII integers separated by commas, spaces or tabs (a trailing separator is fine).
  A line per frame, or a line per row with a blank line after each frame. A row frame is
  exactly ``rows`` valid row lines before a blank line, after the start of the stream, a blank
  line or a bad line: rows from two frames (a lost blank line) or a row short are never emitted
  but counted, and a garbage line before an intact frame's rows does not cost that frame. A
  bad line (not numbers, the wrong count, a number beyond +-2^62, a line longer than any frame
  line could be) is counted; readings beyond the cell type saturate (clipped to 0 and its
  maximum), as ``active=low`` needs. Once frames came a row per line, a
  frame-sized line is taken as a frame only when a blank line or another frame-sized line
  follows it (so a row merged with the next frame's row cannot become a frame). Residual
  ambiguity: a line cut inside a number and continued by the next line reads as one valid line
  with a merged number (``1`` + ``23,4,5`` is ``123,4,5``) when the count happens to match.

Payload damage that keeps the structure (a flipped bit in a cell) cannot be detected by the
framings without a checksum (``trailer``, ``rle``, ``poll``, ``lines``).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import numpy as np
from isal.isal_zlib import crc32  # zlib's CRC-32, 8x as fast: 0.4 against 3.5 us a 64x64 uint16 frame

FRAMINGS = ("binary", "trailer", "rle", "poll", "lines")
CELL_TYPES = {"uint8": np.uint8, "uint16": np.uint16, "int16": np.int16, "int32": np.int32, "uint32": np.uint32,
              "float32": np.float32, "float64": np.float64}
FEED_STEP = 1 << 16  # bytes parsed at a time: a huge read never sits in the buffer whole


@dataclass(frozen=True)
class ParsedFrame:
    cells: np.ndarray
    counter: int | None = None
    device_time_s: float | None = None
    trouble_before: int = 0  # corrupt + resyncs the parser had counted when this frame completed


class Parser:
    """Base: ``feed(data)`` returns complete frames; ``corrupt`` and ``resyncs`` count trouble.
    ``len(buffer)`` never exceeds ``buffer_limit`` between calls."""

    def __init__(self, rows: int, cols: int, cell_type: str = "uint16"):
        if cell_type not in CELL_TYPES:
            raise ValueError(f"cell type {cell_type!r} is not one of {', '.join(CELL_TYPES)}")
        if rows < 1 or cols < 1:
            raise ValueError("rows and cols must be at least 1")
        self.rows, self.cols = rows, cols
        self.dtype = np.dtype(CELL_TYPES[cell_type]).newbyteorder("<")
        self.buffer = bytearray()
        self.corrupt = 0
        self.resyncs = 0

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    @property
    def frame_bytes(self) -> int:
        return self.cells * self.dtype.itemsize

    @property
    def buffer_limit(self) -> int:
        """The most bytes the parser keeps between calls to ``feed``."""
        raise NotImplementedError

    def feed(self, data: bytes) -> list[ParsedFrame]:
        frames: list[ParsedFrame] = []
        view = memoryview(data).cast("B") if not isinstance(data, (bytes, bytearray)) else data
        for start in range(0, len(view), FEED_STEP):
            self.buffer += view[start: start + FEED_STEP]
            frames += self._parse()
        return frames

    def _parse(self) -> list[ParsedFrame]:
        raise NotImplementedError

    def _shape(self, values: np.ndarray) -> np.ndarray:
        return values.astype(self.dtype.newbyteorder("="), copy=False).reshape(self.rows, self.cols)

    def _raw_frame(self, payload: bytes) -> ParsedFrame:
        values = np.frombuffer(bytes(payload), dtype=self.dtype)
        return ParsedFrame(self._shape(values), trouble_before=self.corrupt + self.resyncs)

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
    return SYNC + header + payload + struct.pack("<I", crc32(payload, crc32(header)))


class BinaryParser(Parser):
    def __init__(self, rows: int, cols: int, cell_type: str = "uint16"):
        super().__init__(rows, cols, cell_type)
        self._skipped = False

    @property
    def buffer_limit(self) -> int:
        return len(SYNC) + HEADER.size + self.frame_bytes + 4

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        size = self.buffer_limit
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
            (crc,) = struct.unpack_from("<I", self.buffer, size - 4)
            if crc32(memoryview(self.buffer)[len(SYNC): size - 4]) != crc:  # no copy of the body
                self._reject()
                continue
            values = np.frombuffer(self.buffer, dtype=self.dtype, count=self.cells, offset=len(SYNC) + HEADER.size).copy()
            frames.append(ParsedFrame(self._shape(values), counter, time_us / 1e6, self.corrupt + self.resyncs))
            del self.buffer[:size]

    def _reject(self) -> None:
        """A sync whose header or checksum is wrong: count it and look for the next sync."""
        self.corrupt += 1
        del self.buffer[:1]
        self._skipped = True


# -- trailer: a fixed payload, then a marker -------------------------------------------------------
TRAILER_MARKER = b"\xff\xfe\xfe\xff"


class TrailerParser(Parser):
    """A frame is the payload between two markers exactly one payload apart (the start of the
    stream counts as a marker). In sync, only the place where the marker must be is looked at;
    after a loss of sync, the first marker that another marker follows exactly one payload later
    is the next boundary (see the module docstring for what stays ambiguous)."""

    def __init__(self, rows: int, cols: int, cell_type: str = "uint8", marker: bytes = TRAILER_MARKER):
        super().__init__(rows, cols, cell_type)
        if not marker:
            raise ValueError("the trailer marker must be at least one byte")
        self.marker = bytes(marker)
        self.hunting = False        # sync lost: looking for marker, payload, marker
        self._accepted = False      # a frame has been accepted (before that, damage is a late join)
        self._lost_at = 0           # stream offset of the last good boundary, while hunting
        self._offset = 0            # stream offset of buffer[0]

    @property
    def buffer_limit(self) -> int:
        return self.frame_bytes + 2 * len(self.marker)

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        buf, marker = self.buffer, self.marker
        size, width = self.frame_bytes, len(self.marker)
        period = size + width
        pos = 0
        while True:
            if not self.hunting:
                if len(buf) - pos < period:
                    break
                if buf[pos + size: pos + period] == marker:
                    frames.append(self._raw_frame(buf[pos: pos + size]))
                    self._accepted = True
                    pos += period
                    continue
                # No marker where this frame must end: it was cut short or lengthened (or we
                # joined the stream inside a frame).
                if self._accepted:
                    self.corrupt += 1
                self.resyncs += 1
                self.hunting = True
                self._lost_at = self._offset + pos
            at = buf.find(marker, pos)
            if at < 0:
                pos = max(pos, len(buf) - (width - 1))  # a marker may be arriving in pieces
                break
            if len(buf) - at < period + width:
                pos = at
                break
            if buf[at + period: at + period + width] == marker:
                if self._accepted:  # the frames that would have fitted, beyond the one counted
                    lost = round((self._offset + at + width - self._lost_at) / period)
                    self.corrupt += max(0, lost - 1)
                self.hunting = False
                pos = at + width
                continue
            pos = at + 1  # a marker inside a payload, or garbage: not a boundary
        del buf[:pos]
        self._offset += pos
        return frames


def encode_trailer(cells: np.ndarray, marker: bytes = TRAILER_MARKER) -> bytes:
    return np.ascontiguousarray(cells, dtype=cells.dtype.newbyteorder("<")).tobytes() + marker


# -- rle: 1..254 per cell, 0x00 count (1..254) for zero runs, 0xFF ends a frame --------------------
RLE_END = 0xFF
RLE_MAX_RUN = 254
_ZEROS = bytes(RLE_MAX_RUN)
_END_RUN = re.compile(rb"\xff+")


class RleParser(Parser):
    def __init__(self, rows: int, cols: int, cell_type: str = "uint8"):
        super().__init__(rows, cols, "uint8")
        self.synced = False       # an end marker has been seen
        self._tail = False        # the last frame broke off at 00 FF: what follows is its tail
        self._overlong = False    # inside a stretch longer than any frame: dropped up to the next FF
        self._empty = False       # the last chunk was empty (FF FF): a run of them is one stretch of garbage

    @property
    def max_encoded(self) -> int:
        """The longest encoding of a frame without its end byte: a lone zero takes two bytes."""
        return 2 * self.cells

    @property
    def buffer_limit(self) -> int:
        return self.max_encoded + 1

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        buf, pos, limit = self.buffer, 0, self.max_encoded
        while True:
            end = buf.find(RLE_END, pos)
            if end < 0:
                if not self._overlong and len(buf) - pos > limit:
                    self._overlong = True
                    self._damaged(dangling=False)
                if self._overlong:
                    pos = len(buf)
                break
            if end == pos and not self._overlong:  # empty chunks (FF after FF): one stretch of garbage
                if not self._empty and self.synced:
                    self._damaged(dangling=False)
                self._empty, self.synced = True, True
                pos = _END_RUN.match(buf, pos).end()
                continue
            if self._overlong:  # the end of a stretch of garbage already counted
                self._overlong = False
            elif end - pos > limit:
                self._damaged(dangling=False)
            else:
                cells, dangling = self._decode(bytes(buf[pos:end]))
                if cells is not None:
                    frames.append(ParsedFrame(self._shape(cells), trouble_before=self.corrupt + self.resyncs))
                    self._tail = False
                else:
                    self._damaged(dangling)
            pos = end + 1
            self.synced, self._empty = True, False
        del buf[:pos]
        return frames

    def _damaged(self, dangling: bool) -> None:
        if self._tail:
            self.resyncs += 1   # the rest of a frame already counted
        elif self.synced:
            self.corrupt += 1
        else:
            self.resyncs += 1   # the tail of a frame we joined late
        self._tail = dangling

    def _decode(self, chunk: bytes) -> tuple[np.ndarray | None, bool]:
        """The cells, or None and whether the chunk broke off right after a 00 (a run of 255 sent
        as 00 FF by firmware that does not split runs)."""
        out = bytearray()
        i, n, cells = 0, len(chunk), self.cells
        while i < n:
            zero = chunk.find(0, i)
            if zero < 0:
                out += chunk[i:]
                break
            out += chunk[i:zero]
            if zero + 1 >= n:
                return None, True
            run = chunk[zero + 1]
            if run == 0:  # a count of 0 is never sent
                return None, False
            out += _ZEROS[:run]
            i = zero + 2
            if len(out) > cells:
                return None, False
        if len(out) != cells:
            return None, False
        return np.frombuffer(bytes(out), dtype=np.uint8), False


def encode_rle(cells: np.ndarray) -> bytes:
    """Cells clipped to 0..254 (FF is the end byte), zero runs split at 254: ``00 FF`` is never sent."""
    out = bytearray()
    flat = np.clip(cells.ravel(), 0, 254).astype(np.uint8)
    i = 0
    while i < len(flat):
        if flat[i] == 0:
            run = 1
            while i + run < len(flat) and flat[i + run] == 0 and run < RLE_MAX_RUN:
                run += 1
            out += bytes([0, run])
            i += run
        else:
            out.append(int(flat[i]))
            i += 1
    out.append(RLE_END)
    return bytes(out)


# -- poll: a request byte out, exactly rows * cols cells back -------------------------------------
class PollParser(Parser):
    """Fixed-size replies, delimited by the driver's requests.

    The driver calls ``request()`` just before it writes each request byte and feeds every byte it
    reads (bytes waiting before a request belong to the reply to the previous one, so feed them
    before calling ``request()``). Within one reply the first ``rows*cols`` cells are a frame as
    soon as they have come; when the next request (or ``reset()``) closes the reply, what came
    beyond it is either whole replies (a request answered more than once: frames, returned by
    ``request()``/``reset()``) or counted as a resync and dropped; a reply with no whole frame is
    counted as corrupt. ``reset()`` says the reply is late or short and that bytes until the next
    request are a late reply (dropped, counted). A request with no answer at all counts as a
    corrupt (missing) frame too. A driver that never calls ``request()`` gets a plain stream of
    fixed-size replies (where extra bytes shift every later reply: nothing here can see them),
    and each ``reset()`` counts one short or missing reply.

    The loop that gets most from this::

        waiting = read what is still arriving, until the line has been quiet for ~2 ms
        frames = parser.feed(waiting) + parser.request()
        port.write(request_byte)
        frames += parser.feed(port.read(reply_size))   # a timeout just leaves the reply short
    """

    REPEATS = 3  # whole replies kept for one request (a request answered up to three times)

    def __init__(self, rows: int, cols: int, cell_type: str = "uint16"):
        super().__init__(rows, cols, cell_type)
        self.polled = False    # request() has been called: replies are delimited by requests
        self._open = True      # bytes now belong to the reply to the last request
        self._taken = 0        # frames taken from the current reply
        self._excess = False   # more came than the reply can hold: dropped
        self._late = False     # bytes came while no reply was expected

    @property
    def buffer_limit(self) -> int:
        return self.frame_bytes * self.REPEATS

    def _parse(self) -> list[ParsedFrame]:
        buf, size = self.buffer, self.frame_bytes
        if not self._open:
            if buf:
                self._late = True
                buf.clear()
            return []
        if not self.polled:
            frames, pos = [], 0
            while len(buf) - pos >= size:
                frames.append(self._raw_frame(buf[pos: pos + size]))
                pos += size
            del buf[:pos]
            return frames
        frames = []
        if self._taken == 0 and len(buf) >= size:
            frames.append(self._raw_frame(buf[:size]))
            del buf[:size]
            self._taken = 1
        if self._taken and (self._excess or len(buf) > size * (self.REPEATS - 1)):
            self._excess = True
            buf.clear()
        return frames

    def _close(self) -> list[ParsedFrame]:
        frames = []
        size = self.frame_bytes
        if not self._open:
            if self._late or self.buffer:
                self.resyncs += 1
        elif self._taken == 0:
            self.corrupt += 1          # short or missing
        elif self._excess or len(self.buffer) % size:
            self.resyncs += 1          # bytes beyond the reply: dropped, never shifting the next one
        else:                          # the request was answered again, whole
            for start in range(0, len(self.buffer), size):
                frames.append(self._raw_frame(self.buffer[start: start + size]))
        self.buffer.clear()
        self._taken, self._excess, self._late = 0, False, False
        return frames

    def request(self) -> list[ParsedFrame]:
        """The host is writing a request: what came since the last one was its whole reply."""
        if self.polled:
            frames = self._close()
        else:  # bytes before the first request answer nothing
            frames = []
            if self.buffer:
                self.resyncs += 1
                self.buffer.clear()
            self.polled = True
        self._open = True
        return frames

    def reset(self) -> list[ParsedFrame]:
        """The reply is late or short: count it, and drop what comes of it before the next request."""
        if not self.polled:
            self.corrupt += 1
            self.buffer.clear()
            return []
        frames = self._close()
        self._open = False
        return frames


def encode_poll(cells: np.ndarray) -> bytes:
    return np.ascontiguousarray(cells, dtype=cells.dtype.newbyteorder("<")).tobytes()


# -- lines: ASCII integers ------------------------------------------------------------------------
BLANK_LINES = re.compile(rb"[ \t\r\f\v\n]*\n")  # whitespace up to its last newline
NUMBER = re.compile(rb"[+-]?\d+")
NUMBERS_LINE = re.compile(rb"[,\s]*[+-]?\d+(?:[,\s]+[+-]?\d+)*[,\s]*")
MAX_DIGITS = 20
LARGEST_READING = 2 ** 62  # beyond this a number is damage, not a reading (and full_scale - v cannot overflow)


class LinesParser(Parser):
    """One line per frame (rows * cols values) or one line per row with a blank line between
    frames; ``order`` says whether values run along rows or columns; ``active=low`` maps a reading
    v to ``full_scale - v`` (pull-up sketches report less pressure as a higher number). Values are
    clipped to 0 and the cell type's maximum (a saturated reading); a number beyond +-2^62 makes
    its line bad."""

    def __init__(self, rows: int, cols: int, cell_type: str = "uint16", order: str = "row",
                 active: str = "high", full_scale: int = 1023):
        super().__init__(rows, cols, cell_type)
        if order not in ("row", "col") or active not in ("high", "low"):
            raise ValueError("order must be row or col, active high or low")
        if not 0 <= full_scale <= LARGEST_READING:
            raise ValueError(f"full_scale must be between 0 and 2^62, not {full_scale}")
        self.order, self.active, self.full_scale = order, active, full_scale
        self.row_lines, self.row_len = (rows, cols) if order == "row" else (cols, rows)
        self._high = int(np.iinfo(self.dtype).max) if self.dtype.kind in "iu" else None
        self.max_line = self.cells * 24 + 256  # no frame's line is longer
        self.layout: str | None = None  # "frame" or "rows": the layout of the last intact frame
        self.rows_seen: list[list[int]] = []  # row lines since the section began or its last bad line
        self._dirty = 0         # lines of this section that cannot be part of a frame
        self._held: list[int] | None = None   # a frame-sized line among row frames, until the next line
        self.synced = False     # a frame boundary has been seen (else damage is a late join)
        self._overlong = False  # inside a line longer than max_line: dropped up to its end

    @property
    def buffer_limit(self) -> int:
        return self.max_line + 1

    def _parse(self) -> list[ParsedFrame]:
        frames = []
        buf, pos = self.buffer, 0
        while True:
            if not (self.rows_seen or self._dirty or self._overlong) and self._held is None:
                blank = BLANK_LINES.match(buf, pos)  # boundaries with nothing pending: nothing to do
                if blank:
                    pos = blank.end()
                    self.synced = True
            end = buf.find(b"\n", pos)
            if end < 0:
                if not self._overlong and len(buf) - pos > self.max_line:
                    self._overlong = True
                    self._bad_line()
                if self._overlong:
                    pos = len(buf)
                break
            line = bytes(buf[pos:end])
            pos = end + 1
            if self._overlong:
                self._overlong = False
            elif len(line) > self.max_line:
                self._bad_line()
            else:
                frames += self._line(line)
        del buf[:pos]
        return frames

    def _values(self, line: bytes) -> list[int] | None:
        if not NUMBERS_LINE.fullmatch(line):
            return None
        tokens = NUMBER.findall(line)
        if len(tokens) not in (self.cells, self.row_len) or max(map(len, tokens)) > MAX_DIGITS:
            return None
        values = [int(t) for t in tokens]
        if min(values) < -LARGEST_READING or max(values) > LARGEST_READING:
            return None
        return values

    def _line(self, line: bytes) -> list[ParsedFrame]:
        if not line.strip():
            return self._boundary()
        values = self._values(line)
        held, self._held = self._held, None
        if values is not None and len(values) == self.cells:
            if held is not None:  # two frame-sized lines in a row: a line per frame after all
                return self._frame_line(held) + self._frame_line(values)
            if self.layout == "rows" and self.row_lines > 1:
                if self.rows_seen or self._dirty:
                    self._bad(1)  # a frame-sized line among rows: rows merged across frames
                else:
                    self._held = values
                return []
            return self._frame_line(values)
        if held is not None:
            self._bad(1)  # a frame-sized line followed by rows or garbage: not a frame
        if values is None:
            self._bad(1)
            return []
        self.rows_seen.append(values)
        if len(self.rows_seen) > self.row_lines:  # rows of two frames: a blank line was lost
            self._bad(0)
        return []

    def _bad_line(self) -> None:
        if self._held is not None:
            self._held = None
            self._bad(1)
        self._bad(1)

    def _lose(self) -> None:
        if self.synced:
            self.corrupt += 1
        else:
            self.resyncs += 1  # before the first boundary: the tail of a frame joined late

    def _bad(self, lines: int) -> None:
        """Rows gathered so far and ``lines`` more cannot be part of a frame; the section's first
        damage is counted at once."""
        if not self._dirty:
            self._lose()
        self._dirty += len(self.rows_seen) + lines
        self.rows_seen = []

    def _end_section(self) -> None:
        """The section ends: frames lost in it beyond the one counted."""
        if self._dirty and self.synced:
            per_frame = 1 if self.layout == "frame" else self.row_lines
            self.corrupt += max(1, round(self._dirty / per_frame)) - 1
        self.rows_seen, self._dirty = [], 0

    def _boundary(self) -> list[ParsedFrame]:
        frames = []
        if self._held is not None:  # a frame-sized line alone between blank lines
            held, self._held = self._held, None
            frames = self._frame_line(held)
        elif self.row_lines > 1 and len(self.rows_seen) == self.row_lines:
            rows_seen, self.rows_seen = self.rows_seen, []
            self._end_section()
            frames = [self._frame([v for row in rows_seen for v in row])]
            self.layout = "rows"
        else:
            if self.rows_seen:  # a frame cut short
                self._bad(0)
            self._end_section()
        self.synced = True
        return frames

    def _frame_line(self, values: list[int]) -> list[ParsedFrame]:
        if self.rows_seen or self._dirty:  # what came before it in this section is a damaged frame
            self._bad(0)
            self._end_section()
        self.layout = "frame"
        self.synced = True
        return [self._frame(values)]

    def _frame(self, values: list[int]) -> ParsedFrame:
        cells = np.array(values, dtype=np.int64 if self.dtype.kind in "iu" else np.float64)
        if self.active == "low":
            cells = self.full_scale - cells
        cells = np.clip(cells, 0, self._high)
        shaped = cells.reshape(self.rows, self.cols) if self.order == "row" else cells.reshape(self.cols, self.rows).T
        return ParsedFrame(np.ascontiguousarray(shaped).astype(self.dtype.newbyteorder("=")),
                           trouble_before=self.corrupt + self.resyncs)


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
