"""Capture through a real pseudo-terminal, beside the pace of the pseudo-terminal itself (issue 15).

    python -m benchmarks.capture_speed                 # 3 rounds of 30,000 frames
    python -m benchmarks.capture_speed --rounds 5 --frames 10000

A virtual mat in a process of its own (as a real mat is: a sender thread in the capturing process
would share its interpreter lock) sends 64 x 64 uint16 frames in the binary framing as fast as
the pty takes them: it blocks rather than drops, so the rate reached is the highest the whole path
sustains, and any frame lost would show in the counters.

Each round runs, in an order flipped every round:

- ``capture``: ``pressure.pipeline.capture`` of the mat's serial URL into a session file (the
  reader process, the ring, the chunk writer, the journal); the rate is taken from the frames'
  receive times as stored in the session.
- ``pty``: the same mat read by a loop that does nothing but read (no parsing, no writing): the
  pace of the pseudo-terminal and the sending process on this machine, which no capture exceeds.
  Both sides of a pty are served by the kernel in pieces of 4 KiB (a 64 x 64 uint16 frame is two
  of them), so its pace is a property of the machine's scheduling as much as of its speed.

The ratio is taken round by round. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROWS = COLS = 64
READ_BYTES = 1 << 16


@dataclass(frozen=True)
class Captured:
    frames_per_s: float
    kept: int
    sent: int
    dropped: int
    corrupt: int


def _mat(frames: int):
    from drivers.virtual_mat import VirtualMat

    return VirtualMat("binary", rate_hz=100_000, max_frames=frames, seed=1, rows=ROWS, cols=COLS)


def capture_rate(frames: int, folder: Path) -> Captured:
    """``frames`` frames captured from a virtual mat in its own process through a pty."""
    import h5py
    import numpy as np

    from pressure.pipeline import capture

    mat = _mat(frames)
    done = threading.Event()

    def stop_after_stream():
        mat.wait()
        time.sleep(1.0)  # the last frames still in the pty and the ring
        done.set()

    watcher = threading.Thread(target=stop_after_stream, daemon=True)
    path = folder / "pty.h5"
    try:
        result = capture(f"serial://{mat.device}?rows={ROWS}&cols={COLS}&framing=binary&cell=uint16&rate=2000",
                         path, max_frames=frames, stop_event=done,
                         on_start=lambda info: (mat.start(process=True), watcher.start()))
        with h5py.File(path, "r") as f:
            arrivals = f["receive_time"][:]
    finally:
        mat.stop()  # first: a capture ended early (Ctrl-C) leaves the mat blocked on a full pty
        if watcher.is_alive():
            watcher.join(5.0)
        path.unlink(missing_ok=True)
    # The frames of the first read arrived before the clock started (they share its time), as in pty_rate.
    counted_from = int(np.searchsorted(arrivals, arrivals[0], side="right")) if len(arrivals) else 0
    span = float(arrivals[-1] - arrivals[0]) if len(arrivals) else 0.0
    pace = (len(arrivals) - counted_from) / span if span > 0 else 0.0
    return Captured(pace, result.frames, frames, result.counters.dropped, result.counters.corrupt)


def pty_rate(frames: int) -> float:
    """Frames a second that the same virtual mat sends through a pty to a loop that only reads."""
    import numpy as np

    from drivers.framing import encode_binary

    _check(frames)
    frame_bytes = len(encode_binary(np.zeros((ROWS, COLS), np.uint16), 0, 0))
    mat = _mat(frames)
    port = -1
    wanted, received, counted_from, first, last = frames * frame_bytes, 0, 0, None, 0.0
    try:
        port = os.open(mat.device, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)  # raw already: the mat set it
        mat.start(process=True)
        while received < wanted:
            if not select.select([port], [], [], 10.0)[0]:
                raise RuntimeError(f"the virtual mat stopped sending after {received} of {wanted} bytes")
            data = os.read(port, READ_BYTES)
            last = time.perf_counter()
            if first is None:
                first, counted_from = last, len(data)  # the first read's bytes arrived before the clock started
            received += len(data)
    finally:
        if port >= 0:
            os.close(port)
        mat.stop()
    return (received - counted_from) / frame_bytes / (last - first) if first is not None and last > first else 0.0


def _check(frames: int) -> None:
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")


def measure(frames: int, rounds: int, folder: Path) -> dict:
    """Rounds of capture and pty alone, in an order flipped every round."""
    _check(frames)
    captures: list[Captured] = []
    paces: list[float] = []
    for round_ in range(rounds):
        for kind in (("capture", "pty") if round_ % 2 == 0 else ("pty", "capture")):
            if kind == "capture":
                captures.append(capture_rate(frames, folder))
            else:
                paces.append(pty_rate(frames))
    shares = [c.frames_per_s / p for c, p in zip(captures, paces) if p > 0]
    return {"captures": captures, "paces": paces, "shares": shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.frames < 1 or args.rounds < 1:
        parser.error("--frames and --rounds must be at least 1")
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="pressure-capture-speed-") as scratch:
        report = measure(args.frames, args.rounds, Path(scratch))
    for index, (captured, pace) in enumerate(zip(report["captures"], report["paces"]), 1):
        share = f"capture {captured.frames_per_s / pace:.0%} of it" if pace > 0 else "no pace measured"
        print(f"round {index}: capture {captured.frames_per_s:,.0f} frames/s ({captured.kept} of {captured.sent} kept, "
              f"dropped {captured.dropped}, corrupt {captured.corrupt}); pty alone {pace:,.0f} frames/s; {share}")
    shares = report["shares"]
    summary = (f"capture {statistics.median(shares):.0%} of the pty's pace ({min(shares):.0%}-{max(shares):.0%})"
               if shares else "the pty's pace not measured")
    print(f"capture: median {statistics.median(c.frames_per_s for c in report['captures']):,.0f} frames/s; "
          f"pty alone {statistics.median(report['paces']):,.0f}; {summary}; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
