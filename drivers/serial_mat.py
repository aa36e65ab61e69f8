"""``serial:///dev/ttyUSB0?...``: a generic mat on a serial port, configured, not coded.

Rows, cols, cell type, framing, order and polarity come from the URL or from a TOML mat profile
(``?profile=velostat-28x56`` names one in drivers/profiles, or a path); URL options win. Bytes
are read on their own thread, so a slow disk or slow drawing never makes the reader fall behind.
A device that disappears (USB unplugged) is reopened when it comes back; frames already received
are kept and the reconnect is counted.
"""

from __future__ import annotations

import queue
import threading
import time
import tomllib
from pathlib import Path

from drivers.base import DriverError, Frame, MatDriver, MatInfo
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
        self._frames: queue.Queue[Frame] = queue.Queue(max(16, QUEUE_BYTES // self.parser.frame_bytes))
        self._failure: BaseException | None = None  # what ended the reader thread, for the main loop
        self._stop = threading.Event()
        self._trouble_at_last_frame = 0
        self._last_counter_seen: int | None = None
        self.port = None
        self._open()  # the first open must work: a wrong path is the user's to fix now
        self._thread = threading.Thread(target=self._read_guarded, name=f"read {self.path}", daemon=True)
        self._thread.start()

    # -- the port ----------------------------------------------------------------------------
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
        import serial

        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass
        while not self._stop.wait(self.options["reconnect"]):
            try:
                self._open()
            except DriverError:
                continue
            self.counters.reconnects += 1
            return

    def _read_guarded(self) -> None:
        """The reader thread: whatever ends it (a parser or a port raising) is kept for the main
        loop, which raises it as a DriverError once the frames before it are taken."""
        try:
            self._read_loop()
        except BaseException as error:  # noqa: BLE001 - everything must reach the main loop
            self._failure = error

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
                    data = self.port.read(max(1, min(READ_SIZE, self.port.in_waiting)))
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
        now = time.time()
        for parsed in frames:
            self._count_gap(parsed)
            self._deliver(Frame(parsed.cells, parsed.counter, parsed.device_time_s, now))

    def _deliver(self, frame: Frame) -> None:
        """Hand a frame to the main loop; when the writer cannot keep up and the queue is full,
        the frame is dropped and counted (memory stays bounded at any rate)."""
        try:
            self._frames.put_nowait(frame)
        except queue.Full:
            self.counters.dropped += 1

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

    # -- the driver contract ------------------------------------------------------------------
    def _read_frame(self, timeout: float | None) -> Frame | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.25 if deadline is None else min(0.25, deadline - time.monotonic())
            try:
                frame = self._frames.get(timeout=wait) if wait > 0 else self._frames.get_nowait()
                break
            except queue.Empty:
                failure = self._failure
                if failure is None and not self._thread.is_alive() and not self._stop.is_set():
                    failure = RuntimeError("the reader thread ended")
                if failure is not None:  # only once every frame received before it was taken
                    self._sync_counters()
                    detail = f"{type(failure).__name__}: {failure}" if str(failure) else type(failure).__name__
                    raise DriverError(f"{self.url}: reading stopped ({detail})") from None
                if deadline is not None and time.monotonic() >= deadline:
                    frame = None
                    break
        self._sync_counters()
        return frame

    def _sync_counters(self) -> None:
        if not isinstance(self.parser, BinaryParser):  # no counter: damaged frames are all we know of
            self.counters.corrupt = self.parser.corrupt
        self.counters.resyncs = self.parser.resyncs

    def _account_gap(self, missing: int) -> None:
        """Already counted by the reader thread (``_count_gap``)."""

    def _close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        if self.port is not None:
            try:
                self.port.close()
            except OSError:
                pass

    def pending(self) -> int:
        """Frames received but not yet read."""
        return self._frames.qsize()

