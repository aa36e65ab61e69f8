"""Where the CPU of `pressure process` goes, pass by pass and thread by thread.

    python -m benchmarks.pass_threads /tmp/pressure-read-bench/standing-3600s-gzip.h5

Processes the file as `pressure process` does, in this process, and prints for the first pass
(``scan``) and the measuring pass (``measure``) their wall time and the CPU time of each thread
that worked in them, by the thread's name (``chunks``: decoding; ``keep-frames``: keeping the
loaded cells; ``read-ahead``: the next blocks read; ``measure-ahead``: the frame kernels;
``import-ahead``: the imports the results need), and then the times of the rest. The CPU times
are read from ``/proc/self/task`` (Linux) at each pass's start and end and every 20 ms between,
so that threads that end with the pass are counted too.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
SAMPLE_S = 0.02


class ThreadClock:
    """The CPU time of every thread of this process seen so far, by native id, and their names."""

    def __init__(self):
        self.cpu: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self._lock = threading.Lock()

    def read(self) -> None:
        with self._lock:
            for tid in os.listdir("/proc/self/task"):
                try:
                    with open(f"/proc/self/task/{tid}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except OSError:  # ended since listed
                    continue
                self.cpu[int(tid)] = (int(fields[11]) + int(fields[12])) * TICK_S  # utime + stime
            for thread in threading.enumerate():
                if thread.native_id is not None:
                    self.names[thread.native_id] = thread.name.split("_")[0]

    def since(self, before: dict[int, float]) -> dict[str, float]:
        """CPU seconds by thread name since ``before`` (a copy of ``cpu``)."""
        by_name: dict[str, float] = {}
        for tid, seconds in self.cpu.items():
            name = self.names.get(tid, "other")
            by_name[name] = by_name.get(name, 0.0) + seconds - before.get(tid, 0.0)
        return {name: seconds for name, seconds in by_name.items() if seconds >= 0.005}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a recording or session file")
    parser.add_argument("--output", type=Path, default=None, help="results file (default: a temporary one)")
    args = parser.parse_args()
    started = time.perf_counter()

    import pressure.reading as reading
    from pressure.analysis import Options
    from pressure.pipeline import process

    clock = ThreadClock()

    def sample() -> None:
        while True:
            clock.read()
            time.sleep(SAMPLE_S)

    def timed(name: str, method):
        def run(self, *positional, **keywords):
            clock.read()
            before, began = dict(clock.cpu), time.perf_counter()
            result = method(self, *positional, **keywords)
            wall = time.perf_counter() - began
            clock.read()
            spent = clock.since(before)
            spent.pop("sampler", None)
            threads = ", ".join(f"{thread} {seconds:.2f}" for thread, seconds in
                                sorted(spent.items(), key=lambda item: -item[1]))
            print(f"{name}: {wall:.2f} s, CPU {sum(spent.values()):.2f} s ({threads})", flush=True)
            return result
        return run

    threading.Thread(target=sample, name="sampler", daemon=True).start()
    reading.LocalReader.scan = timed("first pass", reading.LocalReader.scan)
    reading.LocalReader.measure = timed("measuring pass", reading.LocalReader.measure)
    with tempfile.TemporaryDirectory(prefix="pass-threads-") as folder:
        process(args.source, args.output or Path(folder) / "results.h5", Options())
    print(f"whole: {time.perf_counter() - started:.2f} s, CPU {time.process_time():.2f} s of this process")


if __name__ == "__main__":
    main()
