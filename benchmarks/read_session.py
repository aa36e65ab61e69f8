"""How fast a long gzip session is read (issue 15): h5py against ``read_cells``, and the floor.

    python -m benchmarks.read_session                 # 1 h 64x64 100 Hz uint16, 3 repeats, interleaved
    python -m benchmarks.read_session --process       # and `pressure process` of it, before and after
    python -m benchmarks.read_session --minutes 5 --repeats 1   # a quick look

The session is captured once from the simulator through the real capture path (quiet standing,
64 x 64 cells, 100 Hz, 0.5 kPa noise on every cell: what a mat gives, and what compresses as a
mat's frames do) and kept in ``--folder`` for the next run.

Measured in one run, each repeat running every method once in turn:

- ``h5py dataset[...]``: what ``read_session`` did before (HDF5 decodes on the calling thread);
- ``read_cells threads=N``: the chunks fetched raw and decoded on N threads;
- the floor: every chunk fetched raw first (timed apart), then only inflated, by zlib and by
  libdeflate (what ``read_cells`` uses), on 1 and on N threads, the output dropped (no unshuffle, no checksum, no copy, no result array);
- ``result array``: a fresh array of the result's size, one write per page: what every reader
  pays beyond decoding to hand back 2.95 GB (on a VM, memory the host has not yet backed is slow
  to touch the first time; the floor has no result, so this is not in it);
- ``read_session`` before (h5py) and after (``read_cells``): the whole read of the file.

The ratio printed is each time over the two-thread floor's (zlib alone on two threads), best
and median of the repeats. The load average is printed too: other programs on the machine slow
every figure, and the interleaving spreads that over every method alike.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
from deflate import zlib_decompress

ROOT = Path(__file__).resolve().parent.parent
SIM_URL = "sim://standing?seed=3&speed=0&duration={seconds}"

# Run in a subprocess as `pressure process`: optionally with the read as it was before issue 15
# (h5py's `pressure[...]`), timing the reading stage (drivers.load) apart from the rest.
PROCESS_SCRIPT = r"""
import atexit, json, sys, time
mode = sys.argv.pop(1)
import drivers
if mode == "before":
    import drivers.chunk_reader as chunk_reader
    def h5py_read(dataset, start=0, stop=None, threads=None, out=None, index=None):
        if out is None:
            return dataset[start:stop]
        dataset.read_direct(out, source_sel=slice(start, stop))
        return out
    chunk_reader.read_cells = h5py_read
timed = {}
load = drivers.load
def timed_load(*args, **kwargs):
    started = time.perf_counter()
    try:
        return load(*args, **kwargs)
    finally:
        timed["read_s"] = time.perf_counter() - started
drivers.load = timed_load
atexit.register(lambda: print("BENCH " + json.dumps(timed), file=sys.stderr))
from pressure.cli import app
sys.argv[0] = "pressure"
app()
"""


def make_session(folder: Path, minutes: float) -> Path:
    """A session captured from the simulator (kept: capturing an hour takes a few minutes)."""
    import h5py

    from pressure.pipeline import capture

    seconds = round(minutes * 60)
    path = folder / f"standing-{seconds}s-gzip.h5"
    if path.exists():
        try:
            with h5py.File(path, "r") as f:
                if f["pressure"].shape[0] == seconds * 100 and f.attrs.get("complete") == 1:
                    return path
        except (OSError, KeyError):
            pass
        path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    print(f"capturing {seconds} s of sim://standing into {path} (once) ...", flush=True)
    started = time.perf_counter()
    result = capture(SIM_URL.format(seconds=seconds), path)
    print(f"  {result.frames} frames in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def describe(dataset, path: Path) -> str:
    plist = dataset.id.get_create_plist()
    names = [plist.get_filter(i)[3].decode() for i in range(plist.get_nfilters())]
    raw = dataset.size * dataset.dtype.itemsize
    stored = path.stat().st_size
    n, rows, cols = dataset.shape
    return (f"{path}: {n} frames of {rows}x{cols} {dataset.dtype}, chunks of {dataset.chunks[0]} frames, "
            f"filters {' > '.join(names)} (gzip level {dataset.compression_opts}); "
            f"{stored / 1e9:.2f} GB stored, {stored / raw:.0%} of {raw / 1e9:.2f} GB raw")


def chunk_bytes_of(dataset) -> int:
    """The bytes one chunk of frames decodes to."""
    return dataset.chunks[0] * dataset.dtype.itemsize * int(dataset.size // dataset.shape[0])


def fetch_raw(dataset) -> tuple[list[bytes], int]:
    """Every chunk's stored bytes, as ``read_cells`` fetches them, and the fletcher32 length to strip."""
    per = dataset.chunks[0]
    rest = (0,) * (dataset.ndim - 1)
    raws = [dataset.id.read_direct_chunk((first, *rest))[1] for first in range(0, dataset.shape[0], per)]
    return raws, (4 if dataset.fletcher32 else 0)


INFLATERS = {  # the zlib streams inflated by zlib, and by libdeflate as read_cells inflates them
    "zlib": lambda data, size: zlib.decompress(data, bufsize=size),
    "libdeflate": lambda data, size: zlib_decompress(data, size),
}


def inflate_all(raws: list[bytes], strip: int, chunk_bytes: int, threads: int, inflater: str = "zlib") -> None:
    """Every chunk inflated (``inflater``) on ``threads`` threads; the output is dropped."""
    inflate = INFLATERS[inflater]

    def work(part):
        for raw in part:
            inflate(memoryview(raw)[:len(raw) - strip], chunk_bytes)

    if threads == 1:
        work(raws)
        return
    workers = [threading.Thread(target=work, args=(raws[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def measure(function, *args) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of the whole process, every thread, user and system, result)."""
    cpu = time.process_time()
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, time.process_time() - cpu, result


def h5py_read(dataset, start=0, stop=None, threads=None):
    """What read_session read with before issue 15: ``pressure[...]``."""
    return dataset[start:stop]


def measure_reads(path: Path, repeats: int, threads: list[int]) -> tuple[dict, dict]:
    """Every method once per repeat, in turn: {name: [wall s]}, {name: [cpu s]}."""
    import h5py

    from drivers import chunk_reader
    from drivers.chunk_reader import read_cells
    from drivers.session_file import read_session

    walls: dict[str, list[float]] = {}
    cpus: dict[str, list[float]] = {}

    def record(name: str, wall: float, cpu: float) -> None:
        walls.setdefault(name, []).append(wall)
        cpus.setdefault(name, []).append(cpu)
        print(f"  {name:<34} {wall:7.2f} s  cpu {cpu:6.2f} s  (load {os.getloadavg()[0]:.1f})", flush=True)

    def read_session_with(reader):
        original = chunk_reader.read_cells
        chunk_reader.read_cells = reader  # read_session calls it through its module
        try:
            return read_session(path, str(path))
        finally:
            chunk_reader.read_cells = original

    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        print(describe(dataset, path))
        chunk_bytes = chunk_bytes_of(dataset)
        # Memory never touched before is slow to touch the first time on a VM (the host backs it
        # then): touch twice a result's worth first, so that the first method does not pay it alone.
        warm, _, _ = measure(np.ones, 2 * dataset.size, dataset.dtype)
        print(f"warm-up: {2 * dataset.size * dataset.dtype.itemsize / 1e9:.1f} GB touched in {warm:.1f} s")
        for repeat in range(repeats):
            print(f"repeat {repeat + 1} of {repeats}", flush=True)
            record("h5py dataset[...]", *measure(h5py_read, dataset)[:2])
            for n in threads:
                record(f"read_cells threads={n}", *measure(read_cells, dataset, 0, None, n)[:2])
            fetch, fetch_cpu, (raws, strip) = measure(fetch_raw, dataset)
            record("floor: fetch raw chunks", fetch, fetch_cpu)
            for n in sorted({1, *threads}):
                label = f"{n} thread{'s' if n > 1 else ''}"
                for inflater in INFLATERS:
                    inflate, inflate_cpu, _ = measure(inflate_all, raws, strip, chunk_bytes, n, inflater)
                    record(f"floor: {inflater} {label}", inflate, inflate_cpu)
                    record(f"floor: fetch + {inflater} {label}", fetch + inflate, fetch_cpu + inflate_cpu)
            raws = None
            record("result array: fresh, first touch", *measure(first_touch, dataset)[:2])
            record("read_session before (h5py)", *measure(read_session_with, h5py_read)[:2])
            record("read_session after (read_cells)", *measure(read_session_with, read_cells)[:2])
    return walls, cpus


def first_touch(dataset) -> None:
    """What a reader pays beyond decoding for a result it must return: a fresh array as large as
    the dataset, one write per 4 KiB page (no decoding, no copy)."""
    result = np.empty(dataset.shape, dataset.dtype).reshape(-1).view(np.uint8)
    result[::4096] = 0


def measure_process(path: Path, folder: Path, repeats: int) -> dict[str, list[tuple[float, float, float]]]:
    """`pressure process` of the session, before and after, interleaved: (wall, read part, cpu)."""
    out = folder / "process.results.h5"
    results: dict[str, list[tuple[float, float, float]]] = {}
    for repeat in range(repeats + 1):  # the first, unrecorded, compiles the kernels if need be
        for mode in ("before", "after"):
            command = [sys.executable, "-c", PROCESS_SCRIPT, mode, "process", str(path), "-o", str(out),
                       "--overwrite", "--quiet"]
            before = os.times()
            started = time.perf_counter()
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
            wall = time.perf_counter() - started
            after = os.times()
            if done.returncode:
                raise SystemExit(f"pressure process failed: {done.stderr.strip()}")
            line = [text for text in done.stderr.splitlines() if text.startswith("BENCH ")][-1]
            read = json.loads(line[6:])["read_s"]
            cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
            if repeat:
                results.setdefault(mode, []).append((wall, read, cpu))
                print(f"  pressure process ({mode}) {wall:6.2f} s, of which reading {read:5.2f} s; "
                      f"cpu {cpu:.1f} s   (load {os.getloadavg()[0]:.1f})", flush=True)
    out.unlink(missing_ok=True)
    return results


def report(walls: dict[str, list[float]], cpus: dict[str, list[float]], threads: list[int]) -> None:
    floor_name = "floor: zlib 2 threads" if "floor: zlib 2 threads" in walls else f"floor: zlib {max(threads)} threads"
    floor = walls[floor_name]
    print()
    print(f"{'wall s':<34} {'best':>7} {'median':>7}   {'best / floor':>12} {'median / floor':>14}   "
          f"{'cpu s (median)':>14}   repeats (wall)")
    for name, values in walls.items():
        best, median = min(values), statistics.median(values)
        print(f"{name:<34} {best:7.2f} {median:7.2f}   {best / min(floor):12.2f} "
              f"{median / statistics.median(floor):14.2f}   {statistics.median(cpus[name]):14.2f}   "
              f"{' '.join(f'{v:.2f}' for v in values)}")
    print(f"(floor = {floor_name}: zlib.decompress alone, raw chunks already in memory; "
          f"cpu = the process's CPU seconds, every thread)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=Path("/tmp/pressure-read-bench"))
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts for read_cells")
    parser.add_argument("--process", action="store_true", help="also time `pressure process`, before and after")
    parser.add_argument("--process-repeats", type=int, default=2)
    parser.add_argument("--no-reads", action="store_true", help="skip the read measurements")
    args = parser.parse_args(argv)
    threads = [int(text) for text in args.threads.split(",")]
    print(f"cores: {os.cpu_count()}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    path = make_session(args.folder, args.minutes)
    if not args.no_reads:
        walls, cpus = measure_reads(path, args.repeats, threads)
        report(walls, cpus, threads)
    if args.process:
        print()
        results = measure_process(path, args.folder, args.process_repeats)
        for mode, rows in results.items():
            walls, reads, _ = zip(*rows)
            print(f"pressure process {mode:<6}: {min(walls):6.2f} s best of {len(walls)} "
                  f"(reading {min(reads):5.2f} s, the rest {min(w - r for w, r, _ in rows):5.2f} s); "
                  f"each: {', '.join(f'{w:.2f}' for w in walls)}")


if __name__ == "__main__":
    main()
