"""How a study scales over local workers, and what a short session costs a warm worker (issue 15).

    python -m benchmarks.study_speed                   # 24 sessions, 3 rounds of each measure
    python -m benchmarks.study_speed --rounds 5 --json study_speed.json

Measured in one run, on one study folder of short simulated sessions (two standing sessions of
10 s for each walk, 64 x 64 cells, captured through the real capture path, as bench_study makes):

- ``cold``: ``pressure process DIR --workers N`` as a new process each time, what a user runs: the
  command's start, every worker's imports and kernel loading, every session, the summary table.
  Wall time, and the CPU time of the command and its workers (the children's rusage): CPU over
  wall says how much of the machine the run had (2.0 would be both cores all the time).
- ``warm``: the same study on ``LocalWorkers(N)`` already started and warmed up: the scaling
  once each worker's fixed cost is paid (a long study, or a pool kept open between studies).
- per session: every session processed in this process after one unmeasured pass (imports done,
  kernels loaded), and split by the pipeline's own stages (reading, analysing, writing) plus the
  summary row.

1 and 2 workers take turns within each round, in an order flipped every round, so that a change
in the machine's load (other programs share it) touches both alike; the ratio is taken per round
(paired) and reported with the lowest and highest round. The load average is printed before and
after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPTIONS = {"threshold_kpa": 5.0, "facing": "+y", "activity": None, "calibration": None}


def make_study(folder: Path, count: int) -> list[Path]:
    """``count`` short sessions in ``folder``: two standing (10 s) for every walk."""
    from pressure.pipeline import capture
    from pressure.study import find_sessions

    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        kind = "walking" if index % 3 == 2 else "standing"
        url = f"sim://{kind}?seed={index}&speed=0" + ("&duration=10" if kind == "standing" else "")
        capture(url, folder / f"sub-{index:02d}_{kind}.h5")
    return find_sessions(folder)


def tasks_for(sessions: list[Path], folder: Path, output: Path) -> list:
    from pressure.study import Task, output_for

    return [Task(str(path), str(output_for(path, folder, output)), OPTIONS, {}, force=True) for path in sessions]


def cold_run(folder: Path, output: Path, workers: int) -> tuple[float, float]:
    """Wall and CPU seconds of ``pressure process folder --workers N`` in a new process."""
    shutil.rmtree(output, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pressure", "process", str(folder), "-o", str(output),
                    "--workers", str(workers), "--quiet"], check=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def paired(first: dict[int, list[float]], rounds: int, counts: tuple[int, int]) -> dict:
    """Median, lowest and highest of each count's times, and of the per-round ratio one/many."""
    one, many = counts
    ratios = [first[one][r] / first[many][r] for r in range(rounds)]
    summary = {f"{n}_workers_s": _spread(first[n]) for n in counts}
    summary["speedup"] = _spread(ratios)
    return summary


def _spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "all": [round(v, 3) for v in values]}


def measure_cold(folder: Path, scratch: Path, rounds: int, counts: tuple[int, int]) -> dict:
    walls: dict[int, list[float]] = {n: [] for n in counts}
    cpus: dict[int, list[float]] = {n: [] for n in counts}
    cold_run(folder, scratch / "cold-warmup", counts[0])  # Numba's cache and the OS's file cache filled
    for round_ in range(rounds):
        for workers in (counts if round_ % 2 == 0 else counts[::-1]):
            wall, cpu = cold_run(folder, scratch / f"cold-{workers}", workers)
            walls[workers].append(wall)
            cpus[workers].append(cpu)
    result = paired(walls, rounds, counts)
    result["cpu_s"] = {str(n): _spread(cpus[n]) for n in counts}
    return result


def measure_warm(tasks_of: dict[int, list], rounds: int, counts: tuple[int, int]) -> dict:
    from pressure.study import LocalWorkers, run_tasks

    walls: dict[int, list[float]] = {n: [] for n in counts}
    pools = {n: LocalWorkers(n) for n in counts}
    try:
        for pool in pools.values():
            pool.warm_up()
        for round_ in range(rounds):
            for workers in (counts if round_ % 2 == 0 else counts[::-1]):
                start = time.perf_counter()
                outcomes = run_tasks(tasks_of[workers], workers, None, pool=pools[workers])
                walls[workers].append(time.perf_counter() - start)
                failed = [o.error for o in outcomes if o.status != "done"]
                if failed:
                    raise RuntimeError(f"sessions failed: {failed[:3]}")
    finally:
        for pool in pools.values():
            pool.close()
    return paired(walls, rounds, counts)


def measure_per_session(tasks: list, rounds: int) -> dict:
    """Median per-session wall time in this process once warm, and its split by stage."""
    from pressure.study import process_session, summary_row

    stages: dict[str, list[float]] = {"total": [], "read": [], "analyse": [], "write": [], "summary": []}
    names = {"reading": "read", "analysing": "analyse", "writing": "write"}

    def once(task) -> dict[str, float]:
        marks: list[tuple[str, float]] = []
        start = time.perf_counter()
        dataset = process_session(task, stage=lambda text: marks.append((text.split()[0], time.perf_counter())))
        marks.append(("summary", time.perf_counter()))
        summary_row(dataset, task.source)
        end = time.perf_counter()
        split = {"total": end - start}
        for (name, at), (_, until) in zip(marks, marks[1:] + [("", end)]):
            split[names.get(name, name)] = until - at
        return split

    for task in tasks:
        once(task)
    for _ in range(rounds):
        for task in tasks:
            for name, value in once(task).items():
                stages.setdefault(name, []).append(value)
    totals = stages["total"]
    return {
        "sessions": len(tasks), "rounds": rounds,
        "ms": {name: round(1000 * statistics.median(values), 1) for name, values in stages.items() if values},
        "total_ms_min_max": [round(1000 * min(totals), 1), round(1000 * max(totals), 1)],
        "sessions_per_s_per_core": round(1 / statistics.median(totals), 2),
    }


def run(count: int = 24, rounds: int = 3, counts: tuple[int, int] = (1, 2), cold: bool = True,
        folder: Path | None = None) -> dict:
    from pressure.study import find_sessions

    with tempfile.TemporaryDirectory(prefix="pressure-study-speed-") as scratch_name:
        scratch = Path(scratch_name)
        study = folder or scratch / "study"
        sessions = make_study(study, count) if folder is None else find_sessions(study)
        report: dict = {"sessions": len(sessions), "rounds": rounds, "cores": os.cpu_count(),
                        "load_start": round(os.getloadavg()[0], 2)}
        if cold:
            report["cold"] = measure_cold(study, scratch, rounds, counts)
        report["warm"] = measure_warm({n: tasks_for(sessions, study, scratch / f"warm-{n}") for n in counts},
                                      rounds, counts)
        report["per_session"] = measure_per_session(tasks_for(sessions[:3], study, scratch / "single"), rounds)
        report["load_end"] = round(os.getloadavg()[0], 2)
    return report


def show(report: dict) -> None:
    print(f"{report['sessions']} sessions, {report['rounds']} rounds, {report['cores']} cores, "
          f"load average {report['load_start']} -> {report['load_end']}")
    for kind in ("cold", "warm"):
        if kind not in report:
            continue
        part = report[kind]
        times = ", ".join(f"{key.split('_')[0]} worker(s) {value['median']:.2f} s "
                          f"({value['min']:.2f}-{value['max']:.2f})"
                          for key, value in part.items() if key.endswith("_workers_s"))
        speedup = part["speedup"]
        print(f"{kind:5} {times}; speed-up {speedup['median']:.2f}x ({speedup['min']:.2f}-{speedup['max']:.2f})")
        if "cpu_s" in part:
            print("      CPU s: " + ", ".join(f"{n} worker(s) {v['median']:.2f}" for n, v in part["cpu_s"].items()))
    single = report["per_session"]
    split = ", ".join(f"{name} {value:.1f}" for name, value in single["ms"].items() if name != "total")
    print(f"warm session: {single['ms']['total']:.1f} ms median ({single['total_ms_min_max'][0]:.1f}-"
          f"{single['total_ms_min_max'][1]:.1f}), {single['sessions_per_s_per_core']:.1f} sessions/s per core; "
          f"ms: {split}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="compared with 1 worker")
    parser.add_argument("--no-cold", action="store_true", help="skip the new-process runs")
    parser.add_argument("--folder", type=Path, help="an existing study folder instead of a new one")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    report = run(args.sessions, args.rounds, (1, args.workers), not args.no_cold, args.folder)
    show(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
