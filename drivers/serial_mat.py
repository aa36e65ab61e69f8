"""``serial:///dev/ttyUSB0?...``: a generic mat on a serial port, configured, not coded.

Rows, cols, cell type, framing, order and polarity come from the URL or from a TOML mat profile
(``?profile=velostat-28x56`` names one in drivers/profiles, or a path); URL options win. Bytes
are read and parsed in a process of their own, forked when the port opens, so neither a slow
disk, nor compressing, nor drawing ever makes the reader fall behind: a port holds only a few
frames, and a reader thread waiting for the interpreter lock after every read stalled a fast mat
at about half the rate the port sustains. Frames reach the main process through shared memory
(drivers/frame_ring.py), a batch at a time. A device that disappears (USB unplugged) is
reopened when it comes back; frames already received are kept and the reconnect is counted.
"""

from __future__ import annotations

import os
import select
import signal
import time
import tomllib
from pathlib import Path

from drivers.base import DriverError, Frame, MatDriver, MatInfo
from drivers.frame_ring import FLAG_COUNTER, FLAG_DEVICE_TIME, FrameBatch, FrameRing
from drivers.framing import CELL_TYPES, FRAMINGS, BinaryParser, PollParser, make_parser
from drivers.url import DriverURL, choice, non_negative, positive

PROFILES = Path(__file__).resolve().parent / "profiles"
OPTIONS = {
    "profile": (str, None),
    "rows": (positive(int), None),
    "cols": (positive(int), None),
    "pitch": (positive(float), 10.0),
    "cell": (choice(*CELL_TYPES), "uint16"),
    "framing": (choice(*FRAMINGS), None),
    "baud": (positive(int), 115200),
    "rate": (positive(float), 100.0),
    "scale": (positive(float), 1.0),
    "order": (choice("row", "col"), "row"),
    "active": (choice("high", "low"), "high"),
    "full_scale": (positive(int), 1023),
    "marker": (str, "fffefeff"),
    "start": (str, ""),
    "request": (str, "47"),
    "reconnect": (non_negative(float), 0.5),
}
READ_SIZE = 1 << 16
TAKE_FRAMES = 256  # frames copied out of the ring at a time: a few MiB, so the copies reuse memory
QUEUE_BYTES = 32 << 20  # frames waiting for the writer (bounded: a stop writes them in well under a second)


def load_profile(name: str) -> dict:
    path = Path(name) if name.endswith(".toml") else PROFILES / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.toml")))
        raise DriverError(f"no mat profile {name!r}; known: {known} (or a path to a .toml file)")
    try:
        with open(path, "rb") as f:
            profile = tomllib.load(f)
    except tomllib.TOMLDecodeError as error:
        raise DriverError(f"{path}: not a valid TOML mat profile ({error})") from None
    unknown = sorted(set(profile) - set(OPTIONS) - {"profile"})
    if unknown:
        raise DriverError(f"{path}: unknown profile keys {', '.join(unknown)}; valid: {', '.join(OPTIONS)}")
    return {key: str(value) for key, value in profile.items()}


class SerialMat(MatDriver):
    def __init__(self, url: DriverURL):
        super().__init__()
        self.url = url.text
        self.path = url.path
        profile_name = url.options.get("profile") or url.fallbacks.get("profile")
        if profile_name:
            profiled = load_profile(profile_name)
            url = DriverURL(url.scheme, url.path, {**profiled, **url.options}, url.text, url.fallbacks)
        options = url.take(OPTIONS)
        missing = [name for name in ("rows", "cols", "framing") if options[name] is None]
        if missing:
            raise DriverError(f"{url.text}: give {', '.join(f'{m}=' for m in missing)} or a profile= "
                              f"(framings: {', '.join(FRAMINGS)})")
        self.options = options
        try:
            self.parser = make_parser(options["framing"], options["rows"], options["cols"], options["cell"],
                                      marker=options["marker"], order=options["order"],
                                      active=options["active"], full_scale=options["full_scale"])
        except ValueError as error:
            raise DriverError(f"{url.text}: {error}") from None
        self.info = MatInfo(
            rows=options["rows"], cols=options["cols"], pitch_x_mm=options["pitch"], pitch_y_mm=options["pitch"],
            rate_hz=options["rate"], device=f"serial mat {self.path} ({options['framing']})",
            dtype=self.parser.dtype.newbyteorder("="), scale_kpa=options["scale"],
            assumed=tuple(name for name in ("pitch", "scale", "rate")
                          if name not in url.options and url.fallbacks.get(name) is None),
        )
        self._trouble_at_last_frame = 0
        self._last_counter_seen: int | None = None
        self._batch: FrameBatch | None = None  # frames taken from the ring, handed out one by one
        self._next = 0
        self._reader_pid: int | None = None
        self.port = None
        self._open()  # the first open must work: a wrong path is the user's to fix now
        slots = max(16, QUEUE_BYTES // self.parser.frame_bytes)
        self._ring = FrameRing(slots, self.info.rows, self.info.cols, self.info.dtype)
        self._stop_r, self._stop_w = os.pipe()  # closing the write end (or dying) stops the reader
        self._start_reader()

    # -- the reader process ------------------------------------------------------------------
    def _start_reader(self) -> None:
        """Fork the reader. A fork, not a fresh interpreter: the open port, the parser and
        everything set up so far (a test's stand-ins too) carry over unchanged."""
        import gc

        pid = os.fork()
        if pid == 0:  # the reader: it never returns to the caller's code
            code = 1
            try:
                # The parent's objects are never collected here: finalising its HDF5 files or
                # its threads' objects is not the reader's to do. The reader's own still are.
                gc.freeze()
                self._read_guarded()
                code = 0
            finally:
                os._exit(code)
        self._reader_pid = pid
        os.close(self._stop_r)
        self._stop_r = -1
        self._ring.close_reader_end()
        self._close_port()  # the reader has its own copy of the descriptor; the line stays open

    def _become_reader(self) -> None:
        """Ignore the terminal's Ctrl-C (the main process stops us, after taking every frame) and
        close every descriptor the reader does not use: a copy of someone else's pty or file
        would keep it open after its owner closed it (a mat unplugged would never go away)."""
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        keep = sorted({0, 1, 2, self._stop_r, self._ring.wake_w, *_port_descriptors(self.port)})
        for low, high in zip([0] + [fd + 1 for fd in keep], keep + [os.sysconf("SC_OPEN_MAX")]):
            if low < high:  # an empty range is not a no-op everywhere: CPython 3.11 then closes all above low
                os.closerange(low, high)
        self._stop = _StopPipe(self._stop_r)

    # -- the port (in the reader) ---------------------------------------------------------------
    def _open(self) -> None:
        import serial

        # A poll reply gets a few frame periods to arrive; a stream is read in short slices.
        timeout = max(0.1, 3.0 / self.options["rate"]) if self.options["framing"] == "poll" else 0.02
        try:
            self.port = serial.serial_for_url(self.path, baudrate=self.options["baud"], timeout=timeout)
        except (serial.SerialException, OSError, ValueError) as error:
            raise DriverError(f"cannot open serial port {self.path}: {error}") from None
        start = self.options["start"]
        if start:
            self.port.write(start.encode().decode("unicode_escape").encode("latin-1"))

    def _reopen(self) -> None:
        """Wait for the device to come back (or for close), then resume reading."""
        self._close_port()
        while not self._stop.wait(self.options["reconnect"]):
            try:
                self._open()
            except DriverError:
                continue
            self.counters.reconnects += 1
            self._publish()
            return

    def _close_port(self) -> None:
        import serial

        if self.port is not None:
            try:
                self.port.close()
            except (serial.SerialException, OSError):
                pass

    def _read_guarded(self) -> None:
        """The reader: whatever ends it (a parser or a port raising) is kept for the main
        process, which raises it as a DriverError once the frames before it are taken."""
        try:
            self._become_reader()
            self._read_loop()
        except BaseException as error:  # noqa: BLE001 - everything must reach the main process
            detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            self._publish()
            self._ring.fail(detail)

    def _read_loop(self) -> None:
        import serial

        poll = isinstance(self.parser, PollParser)
        request = bytes.fromhex(self.options["request"])
        reply = self.parser.cells * self.parser.dtype.itemsize
        next_poll = time.monotonic()
        while not self._stop.is_set():
            try:
                if poll:  # ask at the mat's rate, not as fast as it answers
                    next_poll = max(next_poll + 1.0 / self.info.rate_hz, time.monotonic() - 1.0)
                    self._stop.wait(max(0.0, next_poll - time.monotonic()))
                    # What still arrives belongs to the last reply; the request then closes it, so
                    # extra or missing bytes in one reply never shift the next (see PollParser).
                    closed = self.parser.feed(self._drain()) + self.parser.request()
                    self._deliver_parsed(closed)
                    self.port.write(request)
                    data = self.port.read(reply)  # a timeout just leaves the reply short: counted
                else:
                    # A long read: pyserial gathers what arrives until READ_SIZE or the port's
                    # 20 ms timeout, with no parsing in between. Parsing after every few KiB (what
                    # a pty hands out at a time) halved the rate a pty sustains.
                    data = self.port.read(READ_SIZE)
            except (serial.SerialException, OSError, TypeError, AttributeError):
                if self._stop.is_set():
                    return
                self._reopen()
                continue
            if data:
                self._deliver_parsed(self.parser.feed(data))

    def _drain(self, quiet_s: float = 0.002) -> bytes:
        """Bytes still arriving, read until the line has been quiet for ``quiet_s`` (at most the
        parser's buffer limit, so a device that never stops talking cannot hold the loop)."""
        chunks, size = [], 0
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet_s and size < self.parser.buffer_limit:
            waiting = self.port.in_waiting
            if waiting:
                chunks.append(self.port.read(waiting))
                size += len(chunks[-1])
                quiet_since = time.monotonic()
            else:
                time.sleep(quiet_s / 4)
        return b"".join(chunks)

    def _deliver_parsed(self, frames) -> None:
        """Put frames in the ring; when the main process cannot keep up and the ring is full,
        a frame is dropped and counted (memory stays bounded at any rate)."""
        if frames:
            now = time.time()
            free = self._ring.free_slots()
            for parsed in frames:
                self._count_gap(parsed)
                if free > 0:
                    self._ring.put(parsed.cells, parsed.counter, parsed.device_time_s, now)
                    free -= 1
                else:
                    self.counters.dropped += 1
        self._publish()

    def _publish(self) -> None:
        # No counter in the framing: damaged frames are all that is known of them.
        corrupt = self.counters.corrupt if isinstance(self.parser, BinaryParser) else self.parser.corrupt
        self._ring.publish(self.counters.dropped, corrupt, self.parser.resyncs, self.counters.reconnects)

    def _count_gap(self, parsed) -> None:
        """Frames missing before this one: corrupted if damaged bytes came in their place, else
        dropped. Counted here, as bytes are parsed, where the two can still be told apart."""
        if parsed.counter is None:
            return
        if self._last_counter_seen is not None:
            missing = parsed.counter - self._last_counter_seen - 1
            if missing > 0:
                if parsed.trouble_before > self._trouble_at_last_frame:
                    self.counters.corrupt += missing
                else:
                    self.counters.dropped += missing
        self._last_counter_seen = parsed.counter
        self._trouble_at_last_frame = parsed.trouble_before

    # -- the driver contract (in the main process) ------------------------------------------------
    def _read_frame(self, timeout: float | None) -> Frame | None:
        if self._batch is None or self._next >= len(self._batch):
            self._batch, self._next = self._wait_for_batch(timeout, TAKE_FRAMES), 0
            if self._batch is None:
                return None
        batch, i = self._batch, self._next
        self._next += 1
        flags = int(batch.flags[i])
        return Frame(batch.cells[i], int(batch.counter[i]) if flags & FLAG_COUNTER else None,
                     float(batch.device_time_s[i]) if flags & FLAG_DEVICE_TIME else None, float(batch.host_time_s[i]))

    def read_batch(self, timeout: float | None = None, limit: int | None = None) -> FrameBatch | None:
        """Every frame received and not yet read (at most ``limit``), as arrays; None when
        ``timeout`` passes first. Counted as ``read_frame`` counts; raises DriverError once the
        reader has stopped and every frame before it is read."""
        if self._closed:
            raise DriverError(f"{self.url} is closed")
        if self._batch is not None and self._next < len(self._batch):
            end = len(self._batch) if limit is None else min(len(self._batch), self._next + limit)
            batch = _slice(self._batch, self._next, end)
            self._next = end
        else:
            batch = self._wait_for_batch(timeout, limit)
            if batch is None:
                return None
        self.counters.received += len(batch)
        return batch

    def _wait_for_batch(self, timeout: float | None, limit: int | None = None) -> FrameBatch | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            batch = self._ring.take(limit)
            self._sync_counters()
            if batch is not None:
                return batch
            failure = self._ring.failure()
            if failure is None and self._reader_ended():
                failure = self._ring.failure() or "the reader process ended"
                if self._ring.pending():  # published just before it ended: take those first
                    continue
            if failure is not None:
                raise DriverError(f"{self.url}: reading stopped ({failure})")
            wait = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
            if wait <= 0:
                return None
            self._ring.wait(wait)

    def _reader_ended(self) -> bool:
        if self._reader_pid is None:
            return True
        try:
            pid, _ = os.waitpid(self._reader_pid, os.WNOHANG)
        except ChildProcessError:
            pid = self._reader_pid
        if pid:
            self._reader_pid = None
        return pid != 0

    def _sync_counters(self) -> None:
        (self.counters.dropped, self.counters.corrupt, self.counters.resyncs,
         self.counters.reconnects) = self._ring.counters()

    def _account_gap(self, missing: int) -> None:
        """Already counted by the reader (``_count_gap``)."""

    def _close(self) -> None:
        os.close(self._stop_w)  # the reader sees its end close and stops within one read
        if self._reader_pid is not None:
            deadline = time.monotonic() + 2.0
            while not self._reader_ended() and time.monotonic() < deadline:
                time.sleep(0.005)
            if self._reader_pid is not None:  # stuck in the port's driver: it must not outlive us
                os.kill(self._reader_pid, signal.SIGKILL)
                os.waitpid(self._reader_pid, 0)
                self._reader_pid = None
        self._sync_counters()
        self._ring.close()

    def pending(self) -> int:
        """Frames received but not yet read."""
        unread = len(self._batch) - self._next if self._batch is not None else 0
        return unread + self._ring.pending()


class _StopPipe:
    """The reader's view of the stop signal: the main process closing its end of a pipe (on
    close, or by dying: the reader never outlives the capture)."""

    def __init__(self, fd: int):
        self._fd = fd
        self._set = False

    def is_set(self) -> bool:
        return self.wait(0.0)

    def wait(self, timeout: float) -> bool:
        if not self._set and select.select([self._fd], [], [], max(timeout, 0.0))[0]:
            self._set = True
        return self._set


def _slice(batch: FrameBatch, start: int, end: int) -> FrameBatch:
    return FrameBatch(batch.cells[start:end], batch.counter[start:end], batch.device_time_s[start:end],
                      batch.host_time_s[start:end], batch.flags[start:end])


def _port_descriptors(port) -> set[int]:
    """The descriptors a pyserial port uses: its device and pyserial's cancel pipes."""
    found = set()
    for name in ("fd", "pipe_abort_read_r", "pipe_abort_read_w", "pipe_abort_write_r", "pipe_abort_write_w"):
        value = getattr(port, name, None)
        if isinstance(value, int):
            found.add(value)
    try:
        found.add(port.fileno())
    except (AttributeError, OSError, ValueError, TypeError):
        pass
    return found

