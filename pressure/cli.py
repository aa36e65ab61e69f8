"""The ``pressure`` command line. Commands parse and validate, then call library functions;
heavy modules (numba, xarray, matplotlib) are imported inside commands so ``--help`` is instant."""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from pressure import __version__
from pressure.cli_style import Command, Group

app = typer.Typer(
    name="pressure",
    cls=Group,
    help="Plantar pressure-mat pipeline: capture sessions, process them into per-foot results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pressure {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_show_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Plantar pressure-mat pipeline: capture sessions, process them into per-foot results."""


class Facing(str, Enum):
    plus_y = "+y"
    minus_y = "-y"
    plus_x = "+x"
    minus_x = "-x"


class Activity(str, Enum):
    auto = "auto"
    standing = "standing"
    walking = "walking"


def fail(message: str) -> None:
    """One line on stderr, exit status 1: bad input, named."""
    typer.echo(f"error: {message.splitlines()[0] if message.strip() else 'failed'}", err=True)
    raise typer.Exit(1)


@contextmanager
def user_errors():
    """Turn the library's exceptions into one line on stderr and exit status 1."""
    from drivers import DriverError

    try:
        yield
    except typer.Exit:
        raise
    except OSError as error:  # "FILE: what is wrong", not "[Errno 13] ..."
        if error.filename is not None:
            fail(f"{error.filename}: {error.strerror or error}")
        fail(error.strerror or str(error) or type(error).__name__)
    except (DriverError, ValueError, RuntimeError) as error:
        fail(str(error).splitlines()[0] if str(error) else type(error).__name__)
    except Exception as error:  # a bug, not bad input: still one line, named for the report
        fail(f"unexpected {type(error).__name__}: {error}")


def console():
    from rich.console import Console

    return Console()


@contextmanager
def progress(out, shown: bool = True):
    """A spinner with what is being done (a first run's kernel compilation included) and the time
    it has taken, for waits over a second; gives the function that says what is being done.
    Off a terminal (scripts, pipes) nothing is shown: their output stays what they parse."""
    if not shown or not out.is_terminal:
        yield lambda text: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=out, transient=True) as bar:
        task = bar.add_task("starting", total=None)
        yield lambda text: bar.update(task, description=text)


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout instead of tables.")]


def _positive(value: Optional[float]) -> Optional[float]:
    if value is not None and not value > 0:
        raise typer.BadParameter(f"{value:g} is not a positive number")
    return value


def _pitch(value: Optional[str]) -> Optional[str]:
    """Checked here so that a wrong pitch is the option's error, not a URL's."""
    if value is None:
        return None
    parts = value.lower().split("x")
    try:
        ok = len(parts) in (1, 2) and all(float(part) > 0 for part in parts)
    except ValueError:
        ok = False
    if not ok:
        raise typer.BadParameter(f"{value!r}: expected a positive number of mm, or ACROSSxALONG (e.g. 5.08x7.62)")
    return value


PitchOption = Annotated[Optional[str], typer.Option(
    "--pitch-mm", metavar="MM", callback=_pitch,
    help="Cell pitch in mm for inputs without metadata, or ACROSSxALONG (e.g. 5.08x7.62).")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace existing output files.")]
RateOption = Annotated[Optional[float], typer.Option(
    "--rate-hz", metavar="HZ", callback=_positive, help="Frame rate for inputs without metadata (> 0).")]
ScaleOption = Annotated[Optional[float], typer.Option(
    "--scale-kpa", metavar="KPA", callback=_positive,
    help="kPa per device unit, for exports in raw units that do not say (Tekscan UNITS raw).")]
Threshold = Annotated[float, typer.Option("--threshold-kpa", min=0.0, help="Cells at or below this pressure are unloaded.")]
FacingOption = Annotated[Optional[Facing], typer.Option(
    "--facing", help="Direction a standing person faces, used only when the prints' shape does not show it "
                     "[default: +y].")]
ActivityOption = Annotated[Activity, typer.Option("--activity", help="Standing or walking; auto decides from the data.")]


@app.command(cls=Command)
def process(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Session file, vendor export, .npy/.csv frames, driver URL, or a study folder.")],
    right: Annotated[Optional[str], typer.Argument(metavar="RIGHT",
        help="The right insole's file, when SOURCE is the left insole's file of the same trial.")] = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Results file (.h5), or the output folder for a study.")] = None,
    picture: Annotated[Optional[Path], typer.Option("--picture", dir_okay=False, help="Also write a PNG picture.")] = None,
    report: Annotated[bool, typer.Option("--report", help="Also write an HTML report beside each results file.")] = False,
    pitch_mm: PitchOption = None,
    rate_hz: RateOption = None,
    threshold_kpa: Threshold = 5.0,
    facing: FacingOption = None,
    activity: ActivityOption = Activity.auto,
    calibration: Annotated[Optional[Path], typer.Option(
        "--calibration", exists=True, dir_okay=False,
        help="CSV table of (device value, kPa) points, used instead of the linear scale.")] = None,
    scale_kpa: ScaleOption = None,
    regions: Annotated[Optional[Path], typer.Option(
        "--regions", exists=True, dir_okay=False, metavar="FILE",
        help="Your own regions: polygons in the print's frame, TOML or GeoJSON (see README), measured beside the built-in ones.")] = None,
    skip_steps: Annotated[int, typer.Option("--skip-steps", min=0, help=(
        "Steps left out of each foot's statistics at each end of the walk (acceleration, deceleration).")
    )] = 0,
    min_stance: Annotated[float, typer.Option("--min-stance", min=0.0, metavar="S", help=(
        "Steps shorter than this (s) are left out of each foot's statistics."))] = 0.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Sessions processed at once (a study folder).")] = os.cpu_count() or 1,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help=(
        "Dask scheduler, tcp://HOST:PORT: a study's sessions, or one session's stretches of time, on its workers."))] = None,
    force: Annotated[bool, typer.Option("--force", help="Redo sessions whose results are up to date.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help=(
        "Replace an existing output file. A study replaces the stale results files it wrote itself "
        "without it; --overwrite also lets it replace other files found at its results paths."))] = False,
    quiet: QuietOption = False,
    json_summary: JsonOption = False,
) -> None:
    """Compute per-foot force, area, peak pressure, COP, arch index, load share, steps and sway."""
    with user_errors():
        settings = {"threshold_kpa": threshold_kpa, "facing": facing.value if facing else None,
                    "activity": None if activity is Activity.auto else activity.value,
                    "calibration": str(calibration.resolve()) if calibration else None,
                    "skip_steps": skip_steps, "min_stance_s": min_stance,
                    "regions": str(regions.resolve()) if regions else None}
        fallbacks = {"pitch": pitch_mm, "rate": rate_hz, "scale_kpa": scale_kpa,
                     "calibration": settings["calibration"]}  # a raw export is read when either is given
        if Path(source).is_dir():
            if right is not None:
                fail(f"{right}: a study folder is processed alone; its left and right insole files are paired by name")
            _process_study(Path(source), output, settings, fallbacks, workers, scheduler, force, report, overwrite,
                           quiet, json_summary)
            return
        from drivers.files import HDF5_SUFFIXES
        from pressure.study import Task, process_session, report_path
        from pressure.summary import region_table, results_caption, results_summary, results_table

        if right is not None:  # two insole files of one trial: one two-foot session
            from drivers.pair import pair_url

            output = output or Path(Path(source.split("?")[0]).stem + ".pair.results.h5")
            source = pair_url(source, right)

        output = output or Path(Path(source.split("?")[0]).stem + ".results.h5")
        if output.is_dir():
            fail(f"{output}: is a folder; give a results file name")
        _refuse_suffix(output, HDF5_SUFFIXES, "results are an HDF5 file (.h5); for CSV tables, pressure export")
        if picture is not None:
            _refuse_suffix(picture, PICTURE_SUFFIXES, "a picture is " + ", ".join(PICTURE_SUFFIXES))
        outputs = [output, picture, report_path(output) if report else None]
        _refuse_overwriting(source, outputs, overwrite)
        _refuse_unwritable(outputs)
        hint = _recover_hint(source)
        out = console()
        with progress(out, shown=not (quiet or json_summary)) as stage:
            dataset = process_session(Task(source, str(output), settings, fallbacks, report=report), picture, stage,
                                      scheduler)
        if json_summary:
            typer.echo(json.dumps(results_summary(dataset, source, str(output)), indent=2))
        elif not quiet:
            out.print(results_table(dataset, f"{source}"))
            out.print(results_caption(dataset))
            out.print(region_table(dataset))
            out.print(f"results: {output}" + (f", picture: {picture}" if picture else ""))
        if not quiet:
            _warn(dataset)
            if hint:
                typer.echo(f"note: {hint}", err=True)


def _warn(dataset) -> None:
    """The session's plausibility warnings (pressure/plausibility.py), a line each on stderr."""
    for line in str(dataset.attrs.get("warnings", "")).splitlines():
        typer.echo(f"warning: {line}", err=True)


def _input_files(source: str) -> list[Path]:
    """The files a source reads: a path, a file:// URL, or both files of a pair://."""
    from drivers import DriverError, parse_url

    if source.startswith("pair://"):
        from pressure.study import source_files

        return source_files(source)
    try:
        parsed = parse_url(source)
    except DriverError:
        return [Path(source)]
    return [Path(parsed.path)] if parsed.scheme == "file" else []


def _same_file(a: Path, b: Path) -> bool:
    """The same file: the same path once links are resolved, or the same inode (a hard link)."""
    try:
        if a.resolve() == b.resolve():
            return True
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _refuse_overwriting(source: str, outputs: list, overwrite: bool) -> None:
    """No output is ever the input (by name, symlink or hard link); an existing output is
    replaced only with --overwrite."""
    for output in filter(None, outputs):
        for path in _input_files(source):
            if _same_file(path, output):
                fail(f"{output}: is the input {path}; give another output file")
        if output.exists() and not overwrite:
            fail(f"{output}: exists; give --overwrite to replace it")


PICTURE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".eps")


def _refuse_suffix(path: Path, allowed: tuple[str, ...], what: str) -> None:
    """Before any work: an output named for another kind of file (a .csv results file was an HDF5
    file under that name; a .txt picture failed once the results were written)."""
    if path.suffix.lower() not in allowed:
        fail(f"{path}: {what}")


def _refuse_unwritable(outputs: list) -> None:
    """Each output's folder takes a file, tried before any work: a picture that cannot be
    written must not fail the command after its results file was written. A missing folder is
    made later; its nearest existing ancestor is tried (nothing is left behind either way)."""
    import tempfile

    for output in filter(None, outputs):
        folder = Path(output).absolute().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".pressure-write-test-"):
                pass
        except OSError as error:
            fail(f"{output}: cannot be written in {folder} ({error.strerror or error})")


def _recover_hint(source: str) -> str | None:
    """What ``pressure recover`` would do for a session file from a killed capture, if anything."""
    from drivers.files import HDF5_SUFFIXES
    from drivers.session_recovery import recover_hint

    paths = _input_files(source)
    if len(paths) == 1 and paths[0].suffix.lower() in HDF5_SUFFIXES and paths[0].is_file():
        return recover_hint(paths[0])
    return None


def _written_by_process(path: Path) -> bool:
    """A results file that ``pressure process`` wrote (it records how it was made)."""
    from drivers import DriverError
    from drivers.hdf5_safety import open_hdf5

    try:
        with open_hdf5(path) as f:  # checked first: a damaged file cannot hang the study
            return "processing" in f.attrs and "force" in f
    except DriverError:
        return False


def _process_study(folder: Path, output: Optional[Path], settings: dict, fallbacks: dict, workers: int,
                   scheduler: Optional[str], force: bool, report: bool, overwrite: bool = False,
                   quiet: bool = False, json_summary: bool = False) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from pressure.study import Task, find_sessions, outcome_counts, output_for, pair_insoles, run_tasks, write_summary

    output_folder = output or folder.with_name(folder.name + "-results")
    sessions = find_sessions(folder, output_folder.resolve())
    if not sessions:
        from drivers.files import FORMATS

        fail(f"{folder}: no session files found (known: {', '.join(sorted(FORMATS))})")
    tasks = [Task(source, str(output_for(named, folder, output_folder)), settings, fallbacks, report, force)
             for source, named in pair_insoles(sessions)]
    for task in tasks:  # a results path never leads to a session, and replaces only results of ours
        results = Path(task.output)
        if not results.exists():
            continue
        for session in sessions:
            if _same_file(session, results):
                fail(f"{results}: is the input {session}; give another output folder")
        if not overwrite and not _written_by_process(results):
            fail(f"{results}: exists and was not written by pressure process; give --overwrite to replace it")
    out = console()
    with Progress(TextColumn("processing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=out, transient=True, disable=quiet or json_summary) as progress:
        task_id = progress.add_task("study", total=len(tasks))
        outcomes = run_tasks(tasks, workers, scheduler, progress=lambda outcome: progress.advance(task_id))
    written = write_summary(outcomes, output_folder)
    counts = outcome_counts(outcomes)
    failed = [o for o in outcomes if o.status == "failed"]
    if json_summary:
        typer.echo(json.dumps({"sessions": len(tasks), **counts, "tables": [str(p) for p in written],
                               "outcomes": [{"source": o.source, "results": o.output, "status": o.status,
                                             "error": o.error or None} for o in outcomes]}, indent=2))
    elif not quiet:
        out.print(f"{len(tasks)} sessions: {counts['done']} processed, {counts['skipped']} up to date, "
                  f"{counts['failed']} failed; table: {', '.join(str(p) for p in written)}")
    for outcome in failed:
        typer.echo(f"failed: {outcome.error}", err=True)
    if failed:
        raise typer.Exit(1)


@app.command(cls=Command)
def report(
    path: Annotated[str, typer.Argument(metavar="PATH", help="A results file, or anything process reads (processed first).")],
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help=(
        "report.html (a page), report.png (a picture), or report.gif / report.mp4 (the session "
        "animated with its COP trace; .mp4 needs ffmpeg)"))],
    pitch_mm: PitchOption = None,
    rate_hz: RateOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """A picture, a self-contained HTML page or an animation of a session: feet, COP, forces, steps or sway."""
    with user_errors():
        from pressure.report import check_report_path, write_report

        check_report_path(output)  # said before the session is processed
        _refuse_overwriting(path, [output], overwrite)

        dataset, recording = _results_and_recording(path, {"pitch": pitch_mm, "rate": rate_hz})
        write_report(dataset, output, recording=recording)  # a recording read here is not read again
        typer.echo(f"wrote {output}")


@app.command(cls=Command)
def export(
    path: Annotated[str, typer.Argument(metavar="PATH", help="A results file, or anything process reads (processed first).")],
    csv_files: Annotated[bool, typer.Option("--csv", help="Per-frame and per-step CSV files (the default, and so far the only format).")] = True,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Prefix of the files written.")] = None,
    pitch_mm: PitchOption = None,
    rate_hz: RateOption = None,
    overwrite: OverwriteOption = False,
) -> None:
    """Results for spreadsheets: PREFIX.frames.csv, PREFIX.steps.csv and PREFIX.regions.csv, units in the headers."""
    with user_errors():
        from pressure.export import export_csv, export_paths

        prefix = output or Path(Path(path.split("?")[0]).name.removesuffix(".h5").removesuffix(".results"))
        _refuse_overwriting(path, export_paths(prefix), overwrite)
        for written in export_csv(_results_and_recording(path, {"pitch": pitch_mm, "rate": rate_hz})[0], prefix):
            typer.echo(f"wrote {written}")


def _results_and_recording(path: str, fallbacks: dict):
    """The results dataset of ``path``, read when it is a results file (and no recording), else
    computed from the recording read with ``fallbacks`` (and that recording: a picture or an
    animation of it must not read it again without them)."""
    from drivers.files import HDF5_SUFFIXES
    from pressure.pipeline import describe

    if Path(path).is_file() and Path(path).suffix.lower() in HDF5_SUFFIXES:
        found = describe(path)
        if found["kind"] == "results":
            return found["dataset"], None
    import drivers
    from pressure.analysis import analyse

    recording = drivers.load(path, fallbacks=fallbacks)
    dataset, _ = analyse(recording)
    return dataset, recording


class Compression(str, Enum):
    gzip = "gzip"
    lzf = "lzf"
    lz4 = "lz4"
    zstd = "zstd"
    none = "none"


@app.command(cls=Command)
def capture(
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Driver URL: serial:///dev/ttyUSB0?..., sim://standing, a stored file.")],
    output: Annotated[Path, typer.Option("-o", "--output", dir_okay=False, help="Session file to write (.h5).")],
    duration: Annotated[Optional[float], typer.Option("--duration", callback=_positive, help="Stop after this many seconds (> 0).")] = None,
    frames: Annotated[Optional[int], typer.Option("--frames", min=1, help="Stop after this many frames.")] = None,
    overwrite: OverwriteOption = False,
    live: Annotated[bool, typer.Option("--live/--no-live", help="Show the mat live in the terminal.")] = True,
    compression: Annotated[Compression, typer.Option("--compression", help=(
        "gzip is read everywhere; lzf writes faster (h5py only); lz4 and zstd (Blosc, with hdf5plugin: "
        "pip install 'pressure-mat[fast]') read 1.5-3x faster, zstd 10 % smaller."))] = Compression.gzip,
    quiet: QuietOption = False,
    json_summary: JsonOption = False,
) -> None:
    """Record frames from a mat into a session file (Ctrl-C stops and keeps everything)."""
    with user_errors():
        from drivers.files import HDF5_SUFFIXES

        _refuse_suffix(output, HDF5_SUFFIXES, "a session is an HDF5 file (.h5)")
        _refuse_overwriting(source, [output], overwrite)
        _refuse_unwritable([output])
        output.parent.mkdir(parents=True, exist_ok=True)  # as process does
        from pressure.pipeline import capture as run

        out = console()
        packing = None if compression is Compression.none else compression.value
        if live and out.is_terminal and not (quiet or json_summary):
            result = _capture_live(run, source, output, duration, frames, packing, out)
        else:
            if not (quiet or json_summary) and sys.stderr.isatty():  # a person waits; a script knows
                typer.echo(f"capturing {source} into {output}; Ctrl-C stops and keeps everything", err=True)
            result = run(source, output, duration_s=duration, max_frames=frames, compression=packing)
        if json_summary:
            typer.echo(json.dumps({"output": str(output), "frames": result.frames, "duration_s": result.duration_s,
                                   "stopped_by": result.stopped_by, "counters": vars(result.counters)}, indent=2))
        elif not quiet:
            counters = ", ".join(f"{k} {v}" for k, v in vars(result.counters).items())
            typer.echo(f"{output}: {result.frames} frames, {result.duration_s:.2f} s ({counters})")
            if result.stopped_by == "end" and duration is not None and result.duration_s < duration - 0.5:
                typer.echo(f"note: the source ended after {result.duration_s:.2f} s, before --duration "
                           f"{duration:g} s", err=True)
        if result.stopped_by not in ("limit", "end", "interrupt"):
            reason = result.stopped_by.removeprefix(f"{output}: ")
            fail(f"{output}: capture stopped early: {reason}; the {result.frames} frames written are kept")


def _capture_live(run, source, output, duration, frames, packing, out):
    """Capture with the live view; the view only peeks at the latest frame, so drawing never
    holds up reading or writing."""
    from rich.live import Live

    from pressure.live import LiveView

    view = LiveView(source)
    with Live(get_renderable=view.render, console=out, refresh_per_second=8, transient=False):
        return run(source, output, duration_s=duration, max_frames=frames, on_start=view.start,
                   on_frame=view.update, compression=packing)


@app.command(cls=Command)
def recover(
    path: Annotated[Path, typer.Argument(metavar="FILE", dir_okay=False, help="A session file whose capture was killed.")],
) -> None:
    """Repair a session file from its capture journal after a crash or a kill."""
    with user_errors():
        from drivers.session_recovery import recover as run  # not the analysis: well under a second

        frames, what = run(path)
        typer.echo(f"{path}: {what}")


@app.command(cls=Command)
def simulate(
    framing: Annotated[str, typer.Option("--framing", help="binary, trailer, rle, poll or lines.")] = "binary",
    rate: Annotated[float, typer.Option("--rate", min=1.0, help="Frames per second.")] = 100.0,
    corrupt: Annotated[float, typer.Option("--corrupt", min=0.0, max=1.0, help="Share of frames with a damaged byte.")] = 0.0,
    drop: Annotated[float, typer.Option("--drop", min=0.0, max=1.0, help="Share of frames never sent.")] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed for the feet and the damage.")] = 0,
    rows: Annotated[int, typer.Option("--rows", min=8, help="Rows of cells of the virtual mat.")] = 64,
    cols: Annotated[int, typer.Option("--cols", min=8, help="Columns of cells of the virtual mat.")] = 64,
    kind: Annotated[str, typer.Option("--sim", help="What stands on the virtual mat (a sim:// URL).")] = "sim://standing",
    duration: Annotated[Optional[float], typer.Option("--duration", min=0.0, help="Stop after this many seconds.")] = None,
) -> None:
    """A virtual mat on a real pseudo-terminal: prints its device path, then streams frames."""
    with user_errors():
        import time

        from drivers.virtual_mat import VirtualMat

        max_frames = None if duration is None else int(duration * rate)
        mat = VirtualMat(framing, rate, corrupt, drop, seed, kind, rows, cols, max_frames)
        typer.echo(mat.device)
        typer.echo(f"capture it with: pressure capture '{mat.capture_url()}' -o session.h5", err=True)
        mat.start()
        try:
            while mat.running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            mat.stop()
        injected = mat.injected
        typer.echo(f"sent {injected.sent} frames, corrupted {injected.corrupted}, dropped {injected.dropped}",
                   err=True)


@app.command(cls=Command)
def info(
    path: Annotated[str, typer.Argument(metavar="PATH", help="A session, results file or any input that process reads.")],
    pitch_mm: PitchOption = None,
    rate_hz: RateOption = None,
    scale_kpa: ScaleOption = None,
    json_summary: JsonOption = False,
) -> None:
    """Summarise a session or results file: shape, rate, duration, pitch, device, counters."""
    with user_errors():
        from pressure.pipeline import describe, unused_settings
        from pressure.summary import results_caption, results_summary, results_table, session_lines, session_summary

        fallbacks = {"pitch": pitch_mm, "rate": rate_hz, "scale_kpa": scale_kpa}
        found = describe(path, fallbacks)
        out = console()
        if json_summary:
            summary = (results_summary(found["dataset"], output=path) if found["kind"] == "results"
                       else {**session_summary(found["recording"]), "recover": _recover_hint(path)})
            typer.echo(json.dumps(summary, indent=2, default=str))
        elif found["kind"] == "results":
            dataset = found["dataset"]
            out.print(f"results of {dataset.attrs.get('source_url', '?')} "
                      f"(software {dataset.attrs.get('software_version', '?')})")
            out.print(results_table(dataset, path))
            out.print(results_caption(dataset))
            _warn(dataset)
            counters = {k: v for k, v in dataset.attrs.items() if k.startswith("frames_")}
            out.print("counters: " + ", ".join(f"{k[7:]} {v}" for k, v in counters.items()))
        else:
            for line in session_lines(found["recording"]):
                out.print(line, highlight=False)
            hint = _recover_hint(path)
            if hint:
                out.print(f"recover     {hint}", highlight=False)
        if found["kind"] == "session":
            for line in unused_settings(path, found["recording"].info, fallbacks):
                typer.echo(f"note: {line}", err=True)


@app.command(name="map", cls=Command)
def map_(
    sources: Annotated[list[str], typer.Argument(metavar="SOURCE...", help=(
        "Study folders, session files, vendor exports or driver URLs; a folder gives every session "
        "below it, as process finds them."))],
    output: Annotated[Path, typer.Option("-o", "--output", file_okay=False,
                                         help="Folder for registered.h5, maps.h5 and maps.png.")] = Path("maps"),
    template: Annotated[str, typer.Option("--template", help=(
        "mun104 (the MUN104 mean right foot), study (built from the steps), a maps.h5 or template "
        ".h5 file, or a folder with MUN104R.csv."))] = "mun104",
    groups: Annotated[Optional[Path], typer.Option("--groups", exists=True, dir_okay=False, metavar="CSV", help=(
        "Two columns, file and group: exactly two groups, compared pixel by pixel by Welch's t "
        "(the first row's group minus the other)."))] = None,
    covariate: Annotated[Optional[Path], typer.Option("--covariate", exists=True, dir_okay=False, metavar="CSV", help=(
        "Two columns, file and a number (e.g. walking speed): its correlation with peak pressure, "
        "pixel by pixel."))] = None,
    subjects: Annotated[Optional[Path], typer.Option("--subjects", exists=True, dir_okay=False, metavar="CSV", help=(
        "Two columns, file and subject: the correlation is pooled within subject."))] = None,
    nonrigid: Annotated[bool, typer.Option("--nonrigid", help=(
        "Refine each registration with a smooth warp (seconds a step)."))] = False,
    permutations: Annotated[int, typer.Option("--permutations", min=1, help=(
        "Permutations for the family-wise 5 % thresholds."))] = 1000,
    pitch_mm: PitchOption = None,
    rate_hz: RateOption = None,
    scale_kpa: ScaleOption = None,
    overwrite: OverwriteOption = False,
    quiet: QuietOption = False,
) -> None:
    """Register every complete footprint to a template and map peak pressure pixel by pixel: mean, SD, group t, correlation."""
    with user_errors():
        from pressure.mapping.study import map_study, read_table

        tables = {name: read_table(path) if path else None
                  for name, path in (("groups", groups), ("covariate", covariate), ("subjects", subjects))}
        out = console()
        with progress(out, shown=not quiet) as stage:
            result = map_study(sources, output, template=template, **tables, nonrigid=nonrigid,
                               fallbacks={"pitch": pitch_mm, "rate": rate_hz, "scale_kpa": scale_kpa},
                               progress=stage, permutations=permutations, overwrite=overwrite)
        if not quiet:
            for line in result.lines():
                out.print(line, highlight=False)


@app.command(cls=Command)
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Smaller data and fewer repeats: under a minute.")] = False,
    json_path: Annotated[Optional[Path], typer.Option("--json", dir_okay=False, help="Also write results as JSON.")] = None,
    accuracy: Annotated[bool, typer.Option("--accuracy", help="Instead: how right the contacts are, on simulated hard "
                                           "cases and the real recordings in ../shared/data (a markdown table).")] = False,
) -> None:
    """Measure throughput of every stage against plain NumPy and this machine's memory bandwidth."""
    with user_errors():
        if accuracy:
            from pressure.bench_report import accuracy_report

            accuracy_report(console())
            return
        from pressure.bench_report import run_and_report

        run_and_report(quick, json_path, console())


@app.command(cls=Command)
def demo(
    output_dir: Annotated[Path, typer.Option("-o", "--output-dir", file_okay=False, help="Where results go.")] = Path("demo-output"),
) -> None:
    """Process the bundled standing and walking recordings and show what the pipeline finds."""
    with user_errors():
        from pressure.demo import run_demo

        out = console()
        run_demo(output_dir, out, progress=lambda: progress(out))


def main() -> None:  # pragma: no cover - the console script `pressure` and `python -m pressure`
    """Run the command, its atexit handlers, and leave without the interpreter's teardown
    (``pressure.quick_exit``: 0.35-0.65 s after each command here)."""
    import atexit

    from pressure.quick_exit import leave

    try:
        app(prog_name="pressure")
        status = 0
    except SystemExit as done:
        status = done.code
    if not isinstance(status, int):  # sys.exit("message"), as Python itself shows it
        if status is not None:
            print(status, file=sys.stderr)
        status = 0 if status is None else 1
    atexit._run_exitfuncs()
    leave(status)


if __name__ == "__main__":  # pragma: no cover
    main()
