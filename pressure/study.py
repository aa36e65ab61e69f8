"""Processing a study folder: every session, in parallel (local processes or a Dask cluster),
skipping what is up to date, and one table across sessions."""

from __future__ import annotations

import csv
import json
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from drivers.url import pair_files
from pressure import __version__

RESULTS_SUFFIX = ".results.h5"
TEXT_COLUMNS = ("file", "subject", "session", "status", "error", "activity", "arch_type_left", "arch_type_right",
                "load_share_from", "warnings")
SUMMARY_COLUMNS = (
    "file", "subject", "session", "status", "error", "activity", "duration_s", "frames", "steps", "cadence_per_min",
    "arch_index_left", "arch_index_right", "arch_type_left", "arch_type_right", "load_share_left",
    "load_share_right", "load_share_from", "symmetry_index_pct", "sway_path_length_mm", "sway_mean_velocity_mm_s",
    "sway_ellipse_area_mm2", "warnings",
)


@dataclass(frozen=True)
class Task:
    """One session to process; plain data, so it travels to worker processes and clusters."""

    source: str
    output: str
    options: dict
    fallbacks: dict
    report: bool = False
    force: bool = False


@dataclass
class Outcome:
    source: str
    output: str
    status: str  # "done", "skipped" or "failed"
    error: str = ""
    row: dict = field(default_factory=dict)


def options_signature(options: dict, fallbacks: dict) -> str:
    """What makes a study's results file up to date: the options, and the software that wrote it
    (its version and RESULTS_REVISION: the version alone stayed 0.1.0 while results changed)."""
    from pressure.schema import RESULTS_REVISION

    return json.dumps({"options": options, "fallbacks": fallbacks, "version": __version__,
                       "results_revision": RESULTS_REVISION}, sort_keys=True)


STUDY_MARK = ".pressure-results"  # in every study output folder: never read back as sessions


def find_sessions(folder: Path, output_folder: Path | None = None) -> list[Path]:
    """Every file under ``folder`` that a driver reads, leaving out results files, journals,
    every study output folder (marked by ``STUDY_MARK``), wherever it is, and notes (a README.txt
    or a table of subjects: text files whose content is no export's)."""
    from drivers.files import recognised

    found = []
    marked: dict[Path, bool] = {}

    def in_results_folder(path: Path) -> bool:
        for parent in path.parents:
            if parent not in marked:
                marked[parent] = (parent / STUDY_MARK).exists()
            if marked[parent] or parent == folder:
                return marked[parent]
        return False

    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if output_folder is not None and output_folder in path.parents:
            continue
        if in_results_folder(path):
            continue
        if path.name.endswith(RESULTS_SUFFIX) or not recognised(path, by_content=True):
            continue
        found.append(path)
    return found


SIDE_SUFFIXES = (("L", "R"), ("_left", "_right"), ("-left", "-right"))
ONE_INSOLE_FORMATS = (".asf",)  # exports that hold one insole a file (Tekscan F-Scan)


def pair_insoles(paths: list[Path]) -> list[tuple[str, Path]]:
    """What to process: each file alone, except the left and right insole files of one trial
    (``...L.asf``/``...R.asf``, ``_left``/``_right``), which become one two-foot source named by
    their common stem (``...asf``). Returns (source, name for its results)."""
    from drivers.pair import pair_url

    present = set(paths)
    sources, taken = [], set()
    for path in paths:
        if path in taken:
            continue
        partner = None
        if path.suffix.lower() in ONE_INSOLE_FORMATS:
            for left, right in SIDE_SUFFIXES:
                if path.stem.endswith(left):
                    candidate = path.with_name(path.stem[: -len(left)] + right + path.suffix)
                    if candidate in present:
                        partner = candidate
                        break
        if partner is None:
            sources.append((str(path), path))
            continue
        taken.update({path, partner})
        name = path.with_name(path.stem[: -len(left)] + path.suffix)
        sources.append((pair_url(str(path), str(partner)), name))
    return sources


def source_files(source: str) -> list[Path]:
    """The files a source reads (both files of a ``pair://``)."""
    return [Path(part) for part in pair_files(source)] or [Path(source)]


def report_path(results: Path) -> Path:
    """walk.results.h5 -> walk.report.html, beside it."""
    name = results.name
    base = name[: -len(RESULTS_SUFFIX)] if name.endswith(RESULTS_SUFFIX) else results.stem
    return results.with_name(base + ".report.html")


def output_for(source: Path, folder: Path, output_folder: Path) -> Path:
    relative = source.relative_to(folder)
    return output_folder / relative.parent / (relative.name + RESULTS_SUFFIX)


def up_to_date(task: Task) -> bool:
    """The output is newer than its input and was made by this version with the same options."""
    import h5py

    output = Path(task.output)
    if task.force or not output.exists():
        return False
    if output.stat().st_mtime < max(path.stat().st_mtime for path in source_files(task.source)):
        return False
    try:
        with h5py.File(output, "r") as f:
            made_with = f.attrs.get("processing", b"")
    except (OSError, RuntimeError):
        return False
    made_with = made_with.decode() if isinstance(made_with, bytes) else str(made_with)
    return made_with == options_signature(task.options, task.fallbacks)


def process_session(task: Task, picture: Path | None = None, stage=lambda text: None, scheduler: str | None = None):
    """Analyse one session, write its results (and report, and picture) and return the dataset;
    ``stage`` is told what is being done; ``scheduler``: split it across that Dask cluster."""
    from pressure.analysis import Options
    from pressure.calibration import CalibrationTable
    from pressure.pipeline import process

    settings = dict(task.options)
    calibration = settings.pop("calibration", None)
    regions = settings.pop("regions", None)
    options = Options(**settings, calibration=CalibrationTable.from_csv(Path(calibration)) if calibration else None,
                      user_masks=_user_masks(regions))
    dataset = process(task.source, Path(task.output), options, task.fallbacks, picture=picture,
                      extra_attrs={"processing": options_signature(task.options, task.fallbacks)}, stage=stage,
                      report=report_path(Path(task.output)) if task.report else None, scheduler=scheduler)
    return dataset


def _user_masks(path: str | None):
    """The user's region file (``--regions``), read; its errors name it in one line."""
    if path is None:
        return None
    from pressure.regions import MaskFileError, load_masks

    try:
        return load_masks(path)
    except MaskFileError as error:
        raise ValueError(str(error)) from None


def process_task(task: Task) -> Outcome:
    """Process one session (or skip it); never raises, so one bad file cannot stop a study."""
    try:
        if up_to_date(task):
            import xarray as xr

            with xr.open_dataset(task.output, engine="h5netcdf") as dataset:
                row = summary_row(dataset, task.source)
            return Outcome(task.source, task.output, "skipped", row=row)
        dataset = process_session(task)
        return Outcome(task.source, task.output, "done", row=summary_row(dataset, task.source))
    except Exception as error:  # a study goes on: the failure is reported with the others
        from drivers import DriverError

        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not isinstance(error, (DriverError, ValueError, OSError)):  # unexpected: say what it was
            message = traceback.format_exception_only(error)[-1].strip()
        if task.source not in message:
            message = f"{task.source}: {message}"
        return Outcome(task.source, task.output, "failed", error=message,
                       row={"file": task.source, "status": "failed", "error": message})


SUBJECT = re.compile(r"(?:^|[_\-. ])(?:sub|subject|subj|participant)[_\-]?([A-Za-z0-9]+)", re.IGNORECASE)
SESSION = re.compile(r"(?:^|[_\-. ])(?:ses|session|visit)[_\-]?([A-Za-z0-9]+)", re.IGNORECASE)


def subject_and_session(path: Path) -> tuple[str, str]:
    """From names like ``sub-03_ses-2_walk.h5``; else the folder names the subject and the file
    the session."""
    subject = SUBJECT.search(path.stem)
    session = SESSION.search(path.stem)
    return (subject.group(1) if subject else path.parent.name,
            session.group(1) if session else path.stem)


def summary_row(dataset, source: str) -> dict:
    """One row of the study's table; a pair of insole files is named by the left one's name
    without its side (``FrasP01L.asf`` + ``FrasP01R.asf``: session ``FrasP01``)."""
    import numpy as np

    from pressure.schema import covered_seconds

    files = source_files(source)
    shown = " + ".join(str(f) for f in files)
    source = files[0]
    if len(files) == 2:
        for left, _ in SIDE_SUFFIXES:
            if source.stem.endswith(left):
                source = source.with_name(source.stem[: -len(left)] + source.suffix)
                break

    def number(value) -> float | str:
        value = float(value)
        return round(value, 6) if np.isfinite(value) else ""

    subject, session = subject_and_session(source)
    subject = str(dataset.attrs.get("subject", subject))
    session = str(dataset.attrs.get("session", session))
    mat = dataset.sel(part="mat")
    return {
        "file": shown, "subject": subject, "session": session, "status": "done", "error": "",
        "activity": dataset.attrs.get("activity", ""), "duration_s": round(covered_seconds(dataset), 4),
        "frames": int(dataset.sizes["time"]), "steps": int(dataset.sizes.get("step", 0)),
        "cadence_per_min": number(dataset["cadence"]),
        "arch_index_left": number(dataset["arch_index"].sel(foot="left")),
        "arch_index_right": number(dataset["arch_index"].sel(foot="right")),
        "arch_type_left": str(dataset["arch_type"].sel(foot="left").values),
        "arch_type_right": str(dataset["arch_type"].sel(foot="right").values),
        "load_share_left": number(dataset["load_share"].sel(foot="left")),
        "load_share_right": number(dataset["load_share"].sel(foot="right")),
        "load_share_from": str(dataset.attrs.get("load_share_from", "")),
        "symmetry_index_pct": number(dataset["symmetry_index"]),
        "sway_path_length_mm": number(mat["sway_path_length"]),
        "sway_mean_velocity_mm_s": number(mat["sway_mean_velocity"]),
        "sway_ellipse_area_mm2": number(mat["sway_ellipse_area"]),
        "warnings": "; ".join(str(dataset.attrs.get("warnings", "")).splitlines()),
    }


def run_tasks(tasks: list[Task], workers: int, scheduler: str | None,
              progress: Callable[[Outcome], None] = lambda outcome: None,
              pool: LocalWorkers | None = None) -> list[Outcome]:
    """Every task's outcome, in the order of ``tasks``; on the Dask cluster at ``scheduler``
    (tcp://host:port), on ``pool`` (local workers kept warm between studies), on ``workers``
    local processes started for these tasks, or in this process when ``workers`` is 1."""
    outcomes: dict[int, Outcome] = {}
    if scheduler:
        done = _on_dask(tasks, scheduler)
    elif pool is not None:
        done = pool.run(tasks)
    elif workers <= 1 or len(tasks) <= 1:
        done = ((index, process_task(task)) for index, task in enumerate(tasks))
    else:
        with LocalWorkers(min(workers, len(tasks))) as started:
            return run_tasks(tasks, workers, None, progress, pool=started)
    for index, outcome in done:
        outcomes[index] = outcome
        progress(outcome)
    return [outcomes[index] for index in range(len(tasks))]


class LocalWorkers:
    """``workers`` local processes that take one session after another.

    A worker pays once for what every session needs: the imports (xarray, h5py, Numba: about
    0.8 s) and loading the compiled kernels (0.3 s), several short sessions' worth; it then
    stays up for the rest of the study, and for further studies while this object is open.
    Only small things travel: a Task out, an Outcome (a summary row) back."""

    def __init__(self, workers: int):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        # Spawned, not forked: a fork after Numba's threads have run can deadlock or abort.
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_start_worker)

    def run(self, tasks: list[Task]) -> Iterable[tuple[int, Outcome]]:
        """Each task's index and outcome, as each is done. The largest inputs go first, so that no
        long session starts last while the other workers stand idle."""
        from concurrent.futures import as_completed

        order = sorted(range(len(tasks)), key=lambda index: _input_bytes(tasks[index]), reverse=True)
        futures = {self._pool.submit(process_task, tasks[index]): index for index in order}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:  # a study stopped half-way (an error, Ctrl-C) leaves no sessions queued behind it
            for future in futures:
                future.cancel()

    def warm_up(self) -> set[int]:
        """Start every worker and have each import what a session needs and load the compiled
        kernels (from Numba's cache), by processing a short simulated session; returns the
        workers' process ids. Without it the first session of each worker does this."""
        pids: set[int] = set()
        for _ in range(3):  # a worker that is done early may take a second warm-up; start the rest
            pids |= {future.result() for future in [self._pool.submit(_warm_worker) for _ in range(self.workers)]}
            if len(pids) >= self.workers:
                break
        return pids

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _start_worker() -> None:
    """Run in each worker as it starts. A worker leaves without tearing the interpreter down:
    when it is told to stop, every outcome has been sent back (synchronously) and every file is
    closed, yet unloading Numba, xarray and h5py took 0.1-0.3 s on an idle machine and 0.7-0.9 s
    on a busy one (measured: closing two warm workers), and the study waited for it. Not while
    coverage is measuring: it saves its data on the way out."""
    import atexit
    import sys

    from pressure.quick_exit import leave

    if "coverage" not in sys.modules:
        atexit.register(leave)  # registered last, so run first


def _warm_worker() -> int:
    """One short simulated session processed and written to a scratch folder: the imports and
    kernels a real session uses are then loaded. Returns this worker's process id."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pressure-warm-") as scratch:
        task = Task("sim://standing?duration=0.5&speed=0", str(Path(scratch) / "warm.results.h5"),
                    {"threshold_kpa": 5.0, "facing": "+y", "activity": None, "calibration": None}, {})
        summary_row(process_session(task), task.source)
    return os.getpid()


def _input_bytes(task: Task) -> int:
    """The size of a task's input files: how long it will take, near enough (0 for a URL)."""
    total = 0
    for path in source_files(task.source):
        try:
            total += path.stat().st_size
        except OSError:  # not a file (sim://...), or gone: the task says so when it runs
            pass
    return total


def _on_dask(tasks: list[Task], scheduler: str) -> Iterable[tuple[int, Outcome]]:
    from pressure.cluster import connect

    with connect(scheduler) as client:
        from distributed import as_completed

        futures = client.map(process_task, tasks, pure=False)
        index_of = {future.key: index for index, future in enumerate(futures)}
        for future in as_completed(futures):
            yield index_of[future.key], future.result()


def write_summary(outcomes: list[Outcome], output_folder: Path) -> list[Path]:
    """summary.csv (and summary.parquet when pyarrow is installed): one row per session."""
    output_folder.mkdir(parents=True, exist_ok=True)
    (output_folder / STUDY_MARK).write_text("written by pressure process: results, not sessions\n")
    rows = [{column: outcome.row.get(column, "") for column in SUMMARY_COLUMNS} for outcome in outcomes]
    written = [output_folder / "summary.csv"]
    with open(written[0], "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    try:
        import pyarrow  # noqa: F401 - only to know whether parquet can be written
    except ImportError:
        return written
    import pandas as pd

    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    for column in SUMMARY_COLUMNS:
        if column not in TEXT_COLUMNS:  # blank cells (failed sessions, no steps) become NaN
            table[column] = pd.to_numeric(table[column], errors="coerce")
    table.to_parquet(output_folder / "summary.parquet")
    written.append(output_folder / "summary.parquet")
    return written


def outcome_counts(outcomes: list[Outcome]) -> dict[str, int]:
    counts = {"done": 0, "skipped": 0, "failed": 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return counts



def open_study(folder: Path):
    """The per-session results of a study's output folder as one dataset: every variable with one
    value per session (dims ``foot``, ``region``, ``part`` or none), along a ``session``
    coordinate naming each session's source, with ``results`` naming its results file."""
    import xarray as xr

    folder = Path(folder)
    paths = sorted(folder.rglob("*" + RESULTS_SUFFIX))
    if not paths:
        raise ValueError(f"{folder}: no results files (*{RESULTS_SUFFIX}) found")
    per_session = []
    for path in paths:
        with xr.open_dataset(path, engine="h5netcdf") as dataset:
            keep = [name for name, variable in dataset.data_vars.items()
                    if set(variable.dims) <= {"foot", "region", "part"}]
            one = dataset[keep].load()
        source = str(dataset.attrs.get("source_url", path))
        per_session.append(one.expand_dims(session=[source]).assign_coords(
            results=("session", [str(path.relative_to(folder))])))
    return xr.concat(per_session, dim="session", join="outer", combine_attrs="drop")
