"""Library functions behind the CLI: capture a session, process a recording, describe a file."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import drivers
from drivers import DriverError, EndOfStream
from pressure import __version__
from pressure.analysis import Options, analyse
from pressure.schema import write_results


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
    written; the file is finalised in every case, and a journal beside it (removed when the file
    is complete) survives even SIGKILL."""
    from drivers.framing import TYPE_CODES
    from drivers.session_file import SessionWriter

    stop = {"reason": ""}

    def request_stop(signum, _frame):
        stop["reason"] = "interrupt"

    source = drivers.open_url(url)
    try:
        writer = SessionWriter(output, source.info, {"source_url": url, "software_version": __version__},
                               compression=compression, journal=source.info.dtype.name in TYPE_CODES)
    except BaseException:
        source.close()
        raise
    if on_start is not None:
        on_start(source.info)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, request_stop) if in_main_thread else None
    first_time: float | None = None
    last_time = 0.0
    frames = 0
    failed = False

    def keep_going() -> bool:
        if stop_event is not None and stop_event.is_set():
            stop["reason"] = "interrupt"
        return not stop["reason"]

    try:
        while keep_going() or stop["reason"] == "interrupt":
            try:
                # Once asked to stop, only take what has already arrived.
                frame = source.read_frame(timeout=0.25 if not stop["reason"] else 0.0)
            except EndOfStream:
                stop["reason"] = stop["reason"] or "end"
                break
            if frame is None:
                if stop["reason"]:
                    break
                continue
            t = frame.device_time_s if frame.device_time_s is not None else frame.host_time_s
            first_time = t if first_time is None else first_time
            if duration_s is not None and t - first_time >= duration_s - 1e-9:
                stop["reason"] = "limit"
                break
            writer.append(frame, source.counters)
            frames += 1
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
        stop["reason"] = f"cannot write {output}: {error.strerror or error}"
        failed = True
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
        source.close()
        if failed:
            writer.abandon()
        else:
            try:
                writer.close(source.counters)
            except OSError as error:
                writer.abandon()
                stop["reason"] = f"cannot finish {output}: {error}; run pressure recover {output}"
    duration = last_time + 1.0 / source.info.rate_hz if frames else 0.0
    return CaptureResult(frames, duration, source.counters, stop["reason"])


def recover(path: Path) -> tuple[int, str]:
    from drivers.session_file import recover as rebuild

    return rebuild(path)


def process(
    source: str,
    output: Path,
    options: Options,
    fallbacks: dict[str, str] | None = None,
    picture: Path | None = None,
    extra_attrs: dict | None = None,
):
    """Analyse one recording and write its results file (and optionally a picture)."""
    recording = drivers.load(source, fallbacks=fallbacks)
    dataset, _ = analyse(recording, options)
    dataset.attrs.update(extra_attrs or {})
    write_results(dataset, output)
    if picture is not None:
        from pressure.picture import save_picture

        save_picture(dataset, picture)
    return dataset


def describe(path: str) -> dict[str, object]:
    """What ``pressure info`` shows: for results files their summary, for any source its frames."""
    candidate = Path(path)
    if candidate.suffix.lower() in (".h5", ".hdf5", ".nc") and candidate.is_file() and _is_results(candidate):
        import xarray as xr

        with xr.open_dataset(candidate, engine="h5netcdf") as dataset:
            dataset.load()
        return {"kind": "results", "dataset": dataset}
    with drivers.open_url(path) as source:
        recording = source.load()
    return {"kind": "session", "recording": recording}


def _is_results(path: Path) -> bool:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "force" in f and "pressure" not in f
    except (OSError, RuntimeError) as error:
        raise DriverError(f"{path}: cannot read as HDF5 ({error})") from None

