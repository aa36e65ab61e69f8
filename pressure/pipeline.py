"""Library functions behind the CLI: capture a session, process a recording, describe a file."""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

import drivers
from drivers import DriverError, EndOfStream
from drivers.files import HDF5_SUFFIXES
from drivers.url import pair_files
from pressure import __version__

if TYPE_CHECKING:
    from pressure.analysis import Options

# A stored session whose frames take more than this is analysed from its file, a block at a
# time (bounded memory, the frames decoded once per pass); smaller ones are read whole, once.
STREAM_ABOVE_BYTES = 512 << 20


@dataclass
class CaptureResult:
    frames: int
    duration_s: float
    counters: drivers.Counters
    stopped_by: str  # "limit", "end", "interrupt", or what went wrong


def capture(
    url: str,
    output: Path,
    *,
    duration_s: float | None = None,
    max_frames: int | None = None,
    on_frame: Callable[[drivers.Frame, drivers.Counters], None] | None = None,
    on_start: Callable[[drivers.MatInfo], None] | None = None,
    stop_event: threading.Event | None = None,
    compression: str | None = "gzip",
) -> CaptureResult:
    """Record frames from ``url`` into a session file until a limit, the end of the source,
    Ctrl-C, SIGTERM or ``stop_event``. Frames already received when asked to stop are still
    written (only those: a stop takes well under a second); the file is finalised in every case,
    and is consistent on disk at every flush (at least once a second), so even SIGKILL leaves a
    file that opens (see drivers/session_file.py)."""
    from drivers.chunk_writer import load_kernels
    from drivers.session_file import SessionWriter, write_error

    stop = {"reason": ""}

    def request_stop(signum, _frame):
        stop["reason"] = stop["reason"] or "interrupt"

    load_kernels()  # before the port is read: see there
    source = drivers.open_url(url)
    try:
        writer = SessionWriter(output, source.info, {"source_url": url, "software_version": __version__},
                               compression=compression, journal=True)
    except BaseException:
        source.close()
        raise
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main_thread:  # Ctrl-C and SIGTERM ask the loop to stop; nothing is cut off mid-write
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, request_stop)
    first_time: float | None = None
    last_time = 0.0
    frames = 0
    unwritten = 0
    left_to_take: int | None = None  # once asked to stop: the frames that had already arrived
    begun = time.monotonic()

    try:
        if on_start is not None:
            on_start(source.info)
        while True:
            if stop_event is not None and stop_event.is_set():
                stop["reason"] = stop["reason"] or "interrupt"
            if stop["reason"]:
                if left_to_take is None:
                    left_to_take = source.pending() if hasattr(source, "pending") else 0
                if left_to_take <= 0:
                    break
                left_to_take -= 1
            try:
                frame = source.read_frame(timeout=0.25 if not stop["reason"] else 0.0)
            except EndOfStream:
                stop["reason"] = stop["reason"] or "end"
                break
            if frame is None:
                if stop["reason"]:
                    break
                writer.flush_if_due(source.counters)  # a quiet mat: what came is on disk within a second
                if first_time is None and duration_s is not None and time.monotonic() - begun >= duration_s:
                    stop["reason"] = "limit"  # not a frame in all that time: a silent device ends too
                continue
            t = frame.device_time_s if frame.device_time_s is not None else frame.host_time_s
            first_time = t if first_time is None else first_time
            if duration_s is not None and t - first_time >= duration_s - 1e-9:
                source.counters.received -= 1  # read, but past the end: not part of the session
                stop["reason"] = "limit"
                break
            frames += 1
            # Frames already waiting (a fast mat's batch) share one journal write with the last of them.
            writer.append(frame, source.counters, more=hasattr(source, "pending") and source.pending() > 0)
            last_time = t - first_time
            if on_frame is not None:
                on_frame(frame, source.counters)
            if max_frames is not None and frames >= max_frames:
                stop["reason"] = "limit"
                break
    except KeyboardInterrupt:
        stop["reason"] = "interrupt"
    except DriverError as error:
        stop["reason"] = str(error)
    except OSError as error:  # the disk is full, or the file went away
        stop["reason"] = str(write_error(Path(output), error))
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        source.close()
        try:
            unwritten = writer.close(source.counters)
        except OSError as error:
            writer.abandon()
            stop["reason"] = str(error)
            unwritten = frames - writer.frames_written
    if unwritten:
        stop["reason"] = (stop["reason"] if stop["reason"] not in ("limit", "end", "interrupt") else
                          f"{output}: the disk is full") + f"; the last {unwritten} frames could not be written"
    frames -= unwritten
    duration = last_time + 1.0 / source.info.rate_hz if frames else 0.0
    return CaptureResult(frames, duration, source.counters, stop["reason"])


def recover(path: Path) -> tuple[int, str]:
    from drivers.session_recovery import recover as rebuild

    return rebuild(path)


def process(
    source: str,
    output: Path,
    options: "Options",
    fallbacks: dict[str, str] | None = None,
    picture: Path | None = None,
    extra_attrs: dict | None = None,
    stage: Callable[[str], None] = lambda text: None,
    report: Path | None = None,
    scheduler: str | None = None,
):
    """Analyse one recording and write its results file (and optionally a picture and a report,
    drawn from the recording in memory). ``stage`` is told what is being done, for a progress
    display. With ``scheduler`` (a Dask scheduler's address) the session is split along time
    across that cluster's workers (``pressure.cluster``)."""
    from pressure.analysis import analyse
    from pressure.kernels import compiled_before
    from pressure.schema import write_results

    stage(f"reading {source}")
    recording = drivers.load(source, fallbacks=fallbacks, stream_above_bytes=0 if scheduler else STREAM_ABOVE_BYTES)
    compiling = "" if compiled_before() else " (compiling kernels, first run only)"
    streamed = " from its file, a block at a time" if not isinstance(recording.cells, np.ndarray) else ""
    if scheduler:
        from pressure.cluster import cluster_reader

        with cluster_reader(scheduler, source, fallbacks, recording.cells) as reader:
            stage(f"analysing {recording.n_frames:,} frames on the cluster at {scheduler}, "
                  f"{len(reader.spans)} segments")
            dataset, analysis = analyse(recording, options, scratch_folder=Path(output).parent, reader=reader)
    else:
        stage(f"analysing {recording.n_frames:,} frames{streamed}{compiling}")
        dataset, analysis = analyse(recording, options, scratch_folder=Path(output).parent)
    try:
        dataset.attrs["source_url"] = absolute_source(source)  # read again later from anywhere (report, picture)
        unused = unused_settings(source, recording.info, fallbacks)
        if unused:  # said with the warnings: the results were computed without them
            dataset.attrs["warnings"] = "\n".join(unused + [line for line in
                                                            str(dataset.attrs.get("warnings", "")).splitlines() if line])
        dataset.attrs.update(extra_attrs or {})
        stage(f"writing {output}")
        write_results(dataset, output)
    finally:
        if analysis.series is not None and not analysis.series.in_memory:
            analysis.series.close()
            import xarray as xr

            dataset = xr.open_dataset(output, engine="h5netcdf")  # read when used, not held whole
    if picture is not None:
        from pressure.pictures.figure import save_picture

        stage(f"drawing {picture}")
        save_picture(dataset, picture, recording=recording)
    if report is not None:
        from pressure.report import write_report

        stage(f"writing {report}")
        write_report(dataset, report, recording=recording)
    return dataset


def absolute_source(source: str) -> str:
    """``source`` with the paths of local files made absolute (options and other URLs as they
    are): the results name their recording so that it is found again from any folder."""
    if pair := pair_files(source):
        from drivers.pair import pair_url

        options = source.partition("?")[1:]
        return pair_url(*map(absolute_source, pair)) + "".join(options) if len(pair) == 2 else source
    if "://" in source:
        return source
    path, mark, options = source.partition("?")
    return str(Path(path).resolve()) + mark + options if path and Path(path).exists() else source


def unused_settings(source: str, info: drivers.MatInfo, fallbacks: dict[str, object] | None) -> list[str]:
    """A line for each setting given on the command line that ``source`` did not take: it has its
    own (an export's pitch), or takes none (frames in kPa take no scale). The user is told, not
    refused: the recording is right about itself."""
    from drivers.files.metadata import pitch_mm

    given = {name: value for name, value in (fallbacks or {}).items() if value is not None}
    name = source.split("?")[0]
    lines = []
    if "pitch" in given:
        across, along = pitch_mm(str(given["pitch"]))
        if not (math.isclose(across, info.pitch_x_mm) and math.isclose(along, info.pitch_y_mm)):
            lines.append(f"--pitch-mm {given['pitch']} is not used: {name} gives its cells' pitch "
                         f"({info.pitch_x_mm:g} x {info.pitch_y_mm:g} mm)")
    if "rate" in given and not math.isclose(float(given["rate"]), info.rate_hz):
        lines.append(f"--rate-hz {float(given['rate']):g} is not used: {name} gives its frame rate ({info.rate_hz:g} Hz)")
    if "scale_kpa" in given and not math.isclose(float(given["scale_kpa"]), info.scale_kpa):
        lines.append(f"--scale-kpa {float(given['scale_kpa']):g} is not used: {name} gives its units "
                     f"({info.scale_kpa:g} kPa per unit)")
    return lines


def describe(path: str, fallbacks: dict[str, object] | None = None) -> dict[str, object]:
    """What ``pressure info`` shows: for results files their summary, for any source its frames
    (``fallbacks``: what the command line says of a source that does not, as for ``process``)."""
    candidate = Path(path)
    if candidate.suffix.lower() in HDF5_SUFFIXES and candidate.is_file() and _is_results(candidate):
        import xarray as xr

        with xr.open_dataset(candidate, engine="h5netcdf") as dataset:
            dataset.load()
        return {"kind": "results", "dataset": dataset}
    with drivers.open_url(path, fallbacks, stream_above_bytes=0) as source:  # a session's frames are not read
        recording = source.load()
    return {"kind": "session", "recording": recording}


def _is_results(path: Path) -> bool:
    from drivers.hdf5_safety import open_hdf5

    with open_hdf5(path) as f:  # checked: reading its metadata cannot hang
        return "force" in f and "pressure" not in f

