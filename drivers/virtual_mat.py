"""A virtual mat on a real pseudo-terminal: simulator frames in any framing, through the
operating system's serial stack, with corrupted bytes and dropped frames injected on request.

``start()`` sends from a thread of the calling process; ``start(process=True)`` from a process
of its own (``python -m drivers.virtual_mat``), as a real mat is: a sender that shares the
capture's interpreter lock measures that lock, not the capture."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
import tty
from dataclasses import asdict, dataclass

import numpy as np

from drivers.framing import FRAMINGS, encode_binary, encode_lines, encode_rle, encode_trailer
from drivers.simulator import SimMat
from drivers.url import parse_url


LOOP_FRAMES = 512


@dataclass
class Injected:
    sent: int = 0
    corrupted: int = 0
    dropped: int = 0
    extra: int = 0  # replies followed by a few stray bytes
    short: int = 0  # replies cut short
    unanswered: int = 0  # requests that came after the last frame (a polled mat)


class VirtualMat:
    """Open with ``start()``; ``device`` is the path a serial driver opens."""

    def __init__(self, framing: str = "binary", rate_hz: float = 100.0, corrupt: float = 0.0, drop: float = 0.0,
                 seed: int = 0, sim: str = "sim://standing", rows: int = 64, cols: int = 64,
                 max_frames: int | None = None, request: bytes = b"G", extra: float = 0.0, short: float = 0.0,
                 master: int | None = None):
        """``master``: send to this descriptor (the sending process of ``start(process=True)``)
        instead of opening a pseudo-terminal."""
        if framing not in FRAMINGS:
            raise ValueError(f"unknown framing {framing!r}; known: {', '.join(FRAMINGS)}")
        if not all(0 <= p <= 1 for p in (corrupt, drop, extra, short)):
            raise ValueError("corrupt, drop, extra and short are probabilities between 0 and 1")
        self.framing, self.rate_hz = framing, rate_hz
        self.corrupt, self.drop = corrupt, drop
        self.extra, self.short = extra, short  # faults of a chatty or cut-off line
        self.rng = np.random.default_rng(seed)
        separator = "&" if "?" in sim else "?"
        # A few seconds of frames, rendered once and sent in a loop, keep up with any rate.
        with SimMat(parse_url(f"{sim}{separator}rows={rows}&cols={cols}&seed={seed}&duration=0&speed=0")) as mat:
            self.loop = mat.load(LOOP_FRAMES).cells
            self.sim_info = mat.info
        self.max_frames = max_frames
        self.request = request
        self.injected = Injected()
        self._settings = {"framing": framing, "rate_hz": rate_hz, "corrupt": corrupt, "drop": drop, "seed": seed,
                          "sim": sim, "rows": rows, "cols": cols, "max_frames": max_frames,
                          "request": request.hex(), "extra": extra, "short": short}
        if master is None:
            self.master, self.slave = os.openpty()
            tty.setraw(self.slave)
            self.device = os.ttyname(self.slave)
        else:
            self.master, self.slave, self.device = master, -1, ""
        self._stop = threading.Event()
        self._finished = threading.Event()  # every frame sent
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen | None = None

    def encode_cells(self, cells: np.ndarray) -> np.ndarray:
        """The cell values the framing carries: one byte per cell for trailer and rle mats
        (an eighth of the simulator's counts), and 0..1023 for an ADC printing lines."""
        if self.framing == "trailer":
            return np.clip(cells // 8, 0, 255).astype(np.uint8)
        if self.framing == "rle":
            return np.clip(cells // 8, 0, 254).astype(np.uint8)
        if self.framing == "lines":
            return np.clip(cells, 0, 1023).astype(np.uint16)
        return cells.astype(np.uint16)

    def capture_url(self) -> str:
        """The serial URL that reads this mat exactly: its size, framing, rate, pitch and scale."""
        info = self.sim_info
        cell = "uint8" if self.framing in ("trailer", "rle") else "uint16"
        scale = info.scale_kpa * (8 if cell == "uint8" else 1)  # see encode_cells
        return (f"serial://{self.device}?rows={info.rows}&cols={info.cols}&framing={self.framing}&cell={cell}"
                f"&rate={self.rate_hz:g}&pitch={info.pitch_x_mm:g}&scale={scale:g}")

    def encode(self, cells: np.ndarray, counter: int) -> bytes:
        values = self.encode_cells(cells)
        if self.framing == "binary":
            return encode_binary(values, counter, int(counter * 1e6 / self.rate_hz))
        if self.framing == "trailer":
            return encode_trailer(values)
        if self.framing == "rle":
            return encode_rle(values)
        if self.framing == "poll":
            return np.ascontiguousarray(values, dtype="<u2").tobytes()
        return encode_lines(values)

    def _damage(self, data: bytes) -> bytes:
        damaged = bytearray(data)
        at = int(self.rng.integers(0, len(damaged)))
        damaged[at] ^= int(self.rng.integers(1, 256))
        return bytes(damaged)

    def run(self) -> None:
        """Stream until stopped or ``max_frames`` are sent; paced at ``rate_hz``."""
        start = time.monotonic()
        counter = 0
        while not self._stop.is_set() and (self.max_frames is None or counter < self.max_frames):
            data = self.encode(self.loop[counter % len(self.loop)], counter)
            counter += 1
            if self.framing == "poll":
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    continue
                os.read(self.master, 64)
            else:
                due = start + counter / self.rate_hz
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            if self.rng.random() < self.drop:
                self.injected.dropped += 1
                continue
            if self.rng.random() < self.corrupt:
                data = self._damage(data)
                self.injected.corrupted += 1
            elif self.rng.random() < self.short:
                data = data[: int(self.rng.integers(1, len(data)))]
                self.injected.short += 1
            elif self.rng.random() < self.extra:
                data += self.rng.integers(0, 256, int(self.rng.integers(1, 8)), dtype=np.uint8).tobytes()
                self.injected.extra += 1
            self._write(data)
            self.injected.sent += 1
        self._finished.set()
        while self.framing == "poll" and not self._stop.is_set():  # done: requests go unanswered
            if select.select([self.master], [], [], 0.05)[0]:
                self.injected.unanswered += len(os.read(self.master, 64)) // max(len(self.request), 1)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except OSError:  # the reader went away
                return
            view = view[written:]

    def start(self, process: bool = False) -> VirtualMat:
        """Start sending; ``process``: from a process of its own (it renders the same frames
        from the same seed), whose counts of injected faults come back when it has sent them all."""
        target = self._run_process if process else self.run
        if process:
            settings = json.dumps(self._settings)
            self._process = subprocess.Popen([sys.executable, "-m", "drivers.virtual_mat", str(self.master), settings],
                                             pass_fds=(self.master,), stdout=subprocess.PIPE, text=True,
                                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self._thread = threading.Thread(target=target, name="virtual mat", daemon=True)
        self._thread.start()
        return self

    def _run_process(self) -> None:
        """Wait for the sending process to report what it sent."""
        line = self._process.stdout.readline()
        if line:
            self.injected = Injected(**json.loads(line))
        self._finished.set()

    @property
    def running(self) -> bool:
        """Still sending frames."""
        return self._thread is not None and self._thread.is_alive() and not self._finished.is_set()

    def wait(self, timeout: float | None = None) -> None:
        """Until every frame is sent (or the mat is stopped)."""
        if self._thread is not None:
            self._finished.wait(timeout)

    def stop(self) -> None:
        """Stop streaming and unplug: the device path stops working."""
        self._stop.set()
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process.stdout.close()
        if self._thread is not None:
            self._thread.join(2.0)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> VirtualMat:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _send(master: int, settings: dict) -> None:
    """The sending process: every frame to ``master``, then the counts of what was injected."""
    settings = {**settings, "request": bytes.fromhex(settings["request"])}
    mat = VirtualMat(**settings, master=master)
    mat.run()
    sys.stdout.write(json.dumps(asdict(mat.injected)) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    _send(int(sys.argv[1]), json.loads(sys.argv[2]))
