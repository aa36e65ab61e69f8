"""Sessions of any length in bounded memory (issue 15): `pressure process` of a day of 64x64 and
an hour of 256x256, timed, with its peak memory.

    python -m benchmarks.long_session                      # 1 h and 24 h of 64x64, 1 h of 256x256
    python -m benchmarks.long_session --only 64x64-1h      # one of them
    python -m benchmarks.long_session --folder /data/bench # where the sessions are kept (tens of GB)

The sessions are made once and kept in ``--folder``. An hour of 64 x 64 at 100 Hz is captured
from the simulator through the real capture path (quiet standing, 0.5 kPa noise on every cell,
gzip: see benchmarks/read_session.py); a minute of 256 x 256 likewise. The longer sessions are
those recordings repeated end to end: their stored chunks copied as they are (no re-encoding)
and the times and frame counters carried on, so that the file reads, decodes and compresses as
a capture of that length would (a person who stands all day on the same spot, which is what
the sessions show: two standing contacts that last the whole session).

Each session is processed by `pressure process` in a process of its own, timed by GNU time
(wall seconds and the peak resident memory, `%M`); the load average is printed beside it, as
other programs on the machine slow every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.read_session import make_session

ROOT = Path(__file__).resolve().parent.parent
FLOOR_UP_TO_BYTES = 2 << 30  # sessions stored in up to this much also time the decoding floor (held in memory)
SESSIONS = {  # name: (rows and cols, minutes captured, copies end to end)
    "64x64-1h": (64, 60, 1),
    "64x64-24h": (64, 60, 24),
    "256x256-1h": (256, 1, 60),
}


def captured(folder: Path, size: int, minutes: float) -> Path:
    if size == 64:
        return make_session(folder, minutes)
    from pressure.pipeline import capture

    path = folder / f"standing-{size}x{size}-{round(minutes * 60)}s-gzip.h5"
    if not path.exists():
        print(f"capturing {minutes:g} min of {size}x{size} into {path} (once) ...", flush=True)
        url = f"sim://standing?seed=3&speed=0&duration={round(minutes * 60)}&rows={size}&cols={size}"
        partial = path.with_suffix(".partial.h5")
        capture(url, partial)
        partial.rename(path)
    return path


def repeated(source: Path, copies: int, path: Path) -> Path:
    """``source`` ``copies`` times end to end: its chunks copied raw, times and counters carried on."""
    import h5py

    if path.exists():
        return path
    print(f"writing {path}: {source.name} {copies} times end to end (once) ...", flush=True)
    partial = path.with_suffix(".partial.h5")
    shutil.copyfile(source, partial)
    with h5py.File(partial, "r+") as f:
        pressure = f["pressure"]
        n, per = pressure.shape[0], pressure.chunks[0]
        if n % per:
            raise SystemExit(f"{source}: {n} frames are not whole chunks of {per}")
        chunks = [pressure.id.read_direct_chunk((first, 0, 0)) for first in range(0, n, per)]
        rate = float(f.attrs["rate_hz"])
        total = n * copies
        for name in ("pressure", "time", "frame", "receive_time"):
            f[name].resize(total, axis=0)
        for copy in range(1, copies):
            for k, (mask, raw) in enumerate(chunks):
                pressure.id.write_direct_chunk((copy * n + k * per, 0, 0), raw, mask)
        step = 1 << 20
        for first in range(0, total, step):
            stop = min(first + step, total)
            frames = np.arange(first, stop)
            f["time"][first:stop] = frames / rate
            f["frame"][first:stop] = frames
            f["receive_time"][first:stop] = f["receive_time"][0] + frames / rate
        f.attrs["frames_received"] = total
        f.attrs["source_url"] = f"{source.name} repeated {copies} times (benchmarks/long_session.py)"
    partial.rename(path)
    return path


def process(path: Path, output: Path) -> dict:
    """`pressure process` of ``path`` in its own process: wall seconds and peak memory."""
    pressure = shutil.which("pressure") or "pressure"
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", pressure, "process", str(path), "-o", str(output),
                           "--overwrite", "--json"], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"pressure process {path} failed:\n{done.stderr}")
    timed = [line for line in done.stderr.splitlines() if line.startswith("TIME ")][-1].split()
    summary = json.loads(done.stdout)
    return {"wall_s": wall, "peak_mib": int(timed[2]) / 1024, "load": load, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/pressure-read-bench"))
    parser.add_argument("--only", choices=sorted(SESSIONS), action="append")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for name in args.only or list(SESSIONS):
        size, minutes, copies = SESSIONS[name]
        source = captured(args.folder, size, minutes)
        path = source if copies == 1 else repeated(source, copies, args.folder / f"standing-{name}-gzip.h5")
        import h5py

        with h5py.File(path, "r") as f:
            n = f["pressure"].shape[0]
            raw = f["pressure"].size * f["pressure"].dtype.itemsize
        output = args.folder / f"{name}.results.h5"
        measured = process(path, output)
        output.unlink()
        summary = measured["summary"]
        print(f"{name}: {n:,} frames, {raw / 2**30:.1f} GiB raw, {path.stat().st_size / 2**30:.1f} GiB stored: "
              f"{measured['wall_s']:.1f} s ({n / measured['wall_s']:,.0f} frames/s), peak memory "
              f"{measured['peak_mib']:,.0f} MiB (load {measured['load']:.1f}); "
              f"{summary['activity']}, load share left {summary['feet']['left']['load_share']:.3f}", flush=True)
        if path.stat().st_size <= FLOOR_UP_TO_BYTES:
            print("  " + ", ".join(f"{measured['wall_s'] / seconds:.2f}x the {name} floor ({seconds:.1f} s)"
                                   for name, seconds in floors(path).items()), flush=True)


def floors(path: Path) -> dict[str, float]:
    """Inflating every chunk of the session alone, raw chunks in memory, on two threads, with zlib
    and with libdeflate (benchmarks/read_session.py measures these and more)."""
    import h5py

    from benchmarks.read_session import INFLATERS, chunk_bytes_of, fetch_raw, inflate_all

    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        raws, strip = fetch_raw(dataset)
        chunk_bytes = chunk_bytes_of(dataset)
    out = {}
    for inflater in INFLATERS:
        started = time.perf_counter()
        inflate_all(raws, strip, chunk_bytes, 2, inflater)
        out[f"two-thread {inflater}"] = time.perf_counter() - started
    return out


if __name__ == "__main__":
    sys.exit(main())
