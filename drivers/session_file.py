"""Session files (DESIGN.md section 5): HDF5 that xarray opens with h5netcdf, written while frames arrive.

Device values are stored losslessly with CF ``scale_factor``/``add_offset``, so any xarray user
decodes kPa without this code. Frames are buffered and appended a chunk at a time, and the file
is flushed at least every ``flush_interval_s``, so a capture killed at any moment keeps every
frame up to the last flush.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from drivers.base import Counters, DriverError, Frame, MatInfo
from drivers.journal import JournalWriter, journal_path, read_journal
from drivers.recording import Recording

CHUNK_BYTES = 1 << 20
CHUNKS_PER_WRITE = 8  # fewer, larger writes: each costs a resize and a flush
CHUNK_CACHE_BYTES = 32 << 20  # room for a few open chunks; the 1 MiB default thrashes on appends
PRESSURE = "pressure"
# gzip (level 1, after byte shuffling) is read by every HDF5 tool; lzf is faster but h5py-only.
COMPRESSION = {
    "gzip": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
    "lzf": {"compression": "lzf", "shuffle": True},
    None: {},
}


def chunk_frames(info: MatInfo) -> int:
    return max(1, CHUNK_BYTES // (info.rows * info.cols * info.dtype.itemsize))


class SessionWriter:
    """Appends frames to a new session file; use as a context manager, or call ``close``."""

    def __init__(self, path: Path, info: MatInfo, attrs: dict, flush_interval_s: float = 1.0,
                 compression: str | None = "gzip", journal: bool = False):
        import h5netcdf

        self.path = Path(path)
        self.info = info
        self.flush_interval_s = flush_interval_s
        self._chunk = chunk_frames(info)
        self._pending: list[Frame] = []
        self._written = 0
        self._first_device_time: float | None = None
        self._first_counter: int | None = None
        self._last_flush = time.monotonic()
        self._file = h5netcdf.File(self.path, "w", rdcc_nbytes=CHUNK_CACHE_BYTES)
        f = self._file
        f.dimensions = {"time": None, "y": info.rows, "x": info.cols}
        for name, n, pitch, long_name in (("y", info.rows, info.pitch_y_mm, "cell centre along rows"),
                                          ("x", info.cols, info.pitch_x_mm, "cell centre along columns")):
            variable = f.create_variable(name, (name,), "f8", data=np.arange(n) * pitch)
            variable.attrs.update(units="mm", long_name=long_name)
        series = {"chunks": (max(1024, self._chunk),)}
        f.create_variable("time", ("time",), "f8", **series).attrs.update(
            units="s", long_name="time from the first frame")
        f.create_variable("frame", ("time",), "i8", **series).attrs.update(long_name="device frame counter")
        f.create_variable("receive_time", ("time",), "f8", **series).attrs.update(
            units="s", long_name="host receive time, seconds after the Unix epoch")
        packing = COMPRESSION[compression]
        pressure = f.create_variable(
            PRESSURE, ("time", "y", "x"), info.dtype, chunks=(self._chunk, info.rows, info.cols), **packing)
        pressure.attrs.update(units="kPa", long_name="pressure", coordinates="frame")
        if info.scale_kpa != 1.0:
            pressure.attrs["scale_factor"] = np.float64(info.scale_kpa)
        if info.offset_kpa != 0.0:
            pressure.attrs["add_offset"] = np.float64(info.offset_kpa)
        if info.foot_map is not None:
            foot_map = f.create_variable("foot_map", ("y", "x"), "i1", data=info.foot_map.astype(np.int8))
            foot_map.attrs.update(long_name="foot of each sensor: 0 left, 1 right, -1 none",
                                  flag_values=np.array([-1, 0, 1], np.int8), flag_meanings="none left right")
        self._journal = JournalWriter(self.path, info, attrs) if journal else None
        f.attrs.update({
            "pitch_x_mm": info.pitch_x_mm,
            "pitch_y_mm": info.pitch_y_mm,
            "cell_area_mm2": info.cell_area_mm2,
            "rate_hz": info.rate_hz,
            "device": info.device,
            "has_geometry": int(info.has_geometry),
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "complete": 0,
            **attrs,
            **Counters().as_attrs(),
        })
        self._file.flush()

    @property
    def frames_written(self) -> int:
        return self._written

    def append(self, frame: Frame, counters: Counters | None = None) -> None:
        if frame.cells.shape != (self.info.rows, self.info.cols):
            raise DriverError(
                f"frame of shape {frame.cells.shape} does not fit the session's {self.info.rows}x{self.info.cols}")
        if self._journal is not None:
            self._journal.append(frame, self._written + len(self._pending))
        self._pending.append(frame)
        if (len(self._pending) >= CHUNKS_PER_WRITE * self._chunk
                or time.monotonic() - self._last_flush >= self.flush_interval_s):
            self.flush(counters)

    def flush(self, counters: Counters | None = None) -> None:
        """Write buffered frames and make the file consistent on disk (the journal first)."""
        if self._journal is not None:
            self._journal.sync()
        if self._pending:
            frames = self._pending
            self._pending = []
            n0, n1 = self._written, self._written + len(frames)
            if self._first_counter is None:
                self._first_counter = frames[0].counter
                self._first_device_time = frames[0].device_time_s
                self._first_receive = frames[0].host_time_s
            f = self._file
            f.resize_dimension("time", n1)
            f[PRESSURE][n0:n1] = np.stack([frame.cells for frame in frames])
            f["frame"][n0:n1] = [frame.counter if frame.counter is not None else n0 + i
                                 for i, frame in enumerate(frames)]
            f["time"][n0:n1] = [self._time_of(frame, n0 + i) for i, frame in enumerate(frames)]
            f["receive_time"][n0:n1] = [frame.host_time_s for frame in frames]
            self._written = n1
        if counters is not None:
            self._file.attrs.update(counters.as_attrs())
        self._file.flush()
        self._last_flush = time.monotonic()

    def _time_of(self, frame: Frame, index: int) -> float:
        if frame.device_time_s is not None and self._first_device_time is not None:
            return frame.device_time_s - self._first_device_time
        if frame.counter is not None and self._first_counter is not None:
            return (frame.counter - self._first_counter) / self.info.rate_hz
        return index / self.info.rate_hz

    def close(self, counters: Counters | None = None) -> None:
        if self._file is None:
            return
        try:
            self.flush(counters)
            self._file.attrs["complete"] = 1
        finally:
            self._file.close()
            self._file = None
        if self._journal is not None:
            self._journal.close()  # the session file is whole: the journal has done its job

    def abandon(self) -> None:
        """Close after a failure (a full disk): keep the journal, whatever the file holds."""
        if self._journal is not None:
            try:
                self._journal.close(keep=True)
            except OSError:
                pass
        if self._file is not None:
            try:
                self._file.close()
            except (OSError, ValueError, RuntimeError):
                pass
            self._file = None

    def __enter__(self) -> "SessionWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def read_session(path: Path, source_url: str) -> Recording:
    """A session file as a Recording of device values (h5py only: no xarray needed)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            if PRESSURE not in f:
                hint = " (it looks like a results file)" if "force" in f else ""
                raise DriverError(f"{path}: not a session file, no '{PRESSURE}' variable{hint}")
            pressure = f[PRESSURE]
            if pressure.ndim != 3:
                raise DriverError(f"{path}: '{PRESSURE}' must be (time, y, x), has {pressure.ndim} dims")
            attrs = {key: _plain(value) for key, value in f.attrs.items()}
            cells = pressure[...]
            n = len(cells)
            counter = f["frame"][:n].astype(np.int64) if "frame" in f else np.arange(n, dtype=np.int64)
            time_s = f["time"][:n].astype(np.float64) if "time" in f else None
            scale = float(_plain(pressure.attrs.get("scale_factor", 1.0)))
            offset = float(_plain(pressure.attrs.get("add_offset", 0.0)))
            foot_map = f["foot_map"][...] if "foot_map" in f else None
    except DriverError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as error:  # h5py raises all of these on damage
        raise DriverError(f"{path}: cannot read as HDF5 session ({error})") from None
    try:
        info = MatInfo(
            rows=cells.shape[1], cols=cells.shape[2],
            pitch_x_mm=float(attrs["pitch_x_mm"]), pitch_y_mm=float(attrs["pitch_y_mm"]),
            rate_hz=float(attrs["rate_hz"]), device=str(attrs.get("device", "unknown")), dtype=cells.dtype,
            scale_kpa=scale, offset_kpa=offset, cell_area_mm2=float(attrs.get("cell_area_mm2", 0)) or None,
            foot_map=foot_map, has_geometry=bool(attrs.get("has_geometry", 1)),
        )
    except KeyError as missing:
        raise DriverError(f"{path}: session attribute {missing} is missing") from None
    if time_s is None:
        time_s = np.arange(n) / info.rate_hz
    counters = Counters(**{name: int(attrs.get(f"frames_{name}", 0)) for name in vars(Counters())})
    kept = {"started_at": attrs.get("started_at", ""), "captured_from": attrs.get("source_url", "")}
    return Recording(cells, counter, time_s, info, counters, source_url, attrs=kept)


def _plain(value):
    """An HDF5 attribute as a Python scalar (netCDF stores numbers as one-element arrays)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def recover(path: Path) -> tuple[int, str]:
    """Rebuild a session file from its capture journal; returns (frames, what was done)."""
    path = Path(path)
    journal = journal_path(path)
    if not journal.exists():
        if not path.exists():
            raise DriverError(f"{path}: no such file, and no journal to rebuild it from")
        recording = read_session(path, str(path))  # raises if it cannot be read
        return recording.n_frames, "nothing to repair: the file opens and no journal is left"
    info, attrs, frames = read_journal(journal)
    counters = Counters(received=len(frames))
    try:
        counters = read_session(path, str(path)).counters
        counters.received = max(counters.received, len(frames))
    except DriverError:
        pass
    rebuilt = path.with_name(f".{path.name}.recovering")
    writer = SessionWriter(rebuilt, info, {**attrs, "recovered_from_journal": 1})
    for frame in frames:
        writer.append(frame)
    writer.close(counters)
    os.replace(rebuilt, path)
    journal.unlink()
    return len(frames), f"rebuilt from the capture journal ({len(frames)} frames)"
