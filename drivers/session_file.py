"""Session files (DESIGN.md section 5): HDF5 that xarray opens with h5netcdf, written while frames arrive.

Device values are stored losslessly with CF ``scale_factor``/``add_offset``, so any xarray user
decodes kPa without this code.

How a file stays openable whatever happens to its capture: the file is written in HDF5's
single-writer/multiple-reader mode (SWMR, ``libver="latest"``), whose writes are ordered so that
the file on disk is consistent at every moment, and it is flushed and fsynced at least once a
second. SWMR marks the superblock "open for writing" for as long as the writer has it open, and
plain ``h5py.File``/xarray refuse such a file; the writer clears that mark after every flush
(``clear_status_flags``), so after a ``kill -9`` the file opens as it is, with every frame up to the
last flush. Should a kill land between HDF5 writing the superblock and the mark being cleared
again (microseconds a second), ``h5py.File(path, "r", swmr=True)`` (xarray:
``driver_kwds={"swmr": True}``) opens it, and ``pressure recover`` clears the mark.

Beside the file, a bounded journal (``FILE.h5.journal``, drivers/journal.py) holds the frames
received since the last flush and the live counters; ``pressure recover`` appends them.
A full disk is seen before HDF5 writes: the room of every write (and of closing the file) is
allocated beyond the file's end first (drivers/disk_room.py), so whatever fills the disk, HDF5's
writes never fail for want of space and the file is always closed with what it holds.
"""

from __future__ import annotations

import errno
import math
import os
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from drivers import chunk_reader
from drivers.base import Counters, DriverError, Frame, MatInfo
from drivers.chunk_writer import ChunkWriter
from drivers.disk_room import NoRoom, Room
from drivers.files.metadata import check_pressures, check_times, positive_number
from drivers.hdf5_safety import clear_status_flags, first_line, open_hdf5
from drivers.journal import JournalWriter
from drivers.recording import Recording

CHUNK_BYTES = 1 << 20
CHUNK_SECONDS = 0.25  # a chunk holds at most this much time: a flush rewrites at most one partial chunk
CHUNKS_PER_WRITE = 8  # frames are written a few whole chunks at a time, and all of them every flush
PRESSURE = "pressure"
SERIES = ("time", "frame", "receive_time")
# gzip (level 1, after byte shuffling) is read by every HDF5 tool; lzf is faster but h5py-only;
# lz4 and zstd are Blosc (bytes shuffled, then LZ4 or Zstandard), the standard HDF5 filter 32001
# that h5py, h5netcdf and netCDF read once ``hdf5plugin`` is installed (the ``fast`` extra):
# reading them took 0.3-0.6x and 0.7x of gzip's time here, lz4 35 % larger, zstd 10 % smaller.
COMPRESSION = {
    "gzip": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
    "lzf": {"compression": "lzf", "shuffle": True},
    None: {},
}
BLOSC = {"lz4": ("lz4", 5), "zstd": ("zstd", 1)}  # codec and level
BLOSC_FILTER = 32001


def compression_options(name: str | None) -> dict:
    """The h5py dataset options of a session compressed with ``name``."""
    if name in BLOSC:
        plugin = hdf5_plugins(f"--compression {name}")
        codec, level = BLOSC[name]
        return dict(plugin.Blosc(cname=codec, clevel=level, shuffle=plugin.Blosc.SHUFFLE))
    if name not in COMPRESSION:
        raise DriverError(f"unknown compression {name!r}; known: {', '.join(str(n) for n in [*COMPRESSION, *BLOSC])}")
    return COMPRESSION[name]


def hdf5_plugins(needed_for: str):
    """``hdf5plugin``, which registers Blosc and other filters with HDF5; one line if missing."""
    try:
        import hdf5plugin
    except ImportError:
        raise DriverError(f"{needed_for} needs hdf5plugin: pip install 'pressure-mat[fast]' "
                          "(or pip install hdf5plugin)") from None
    return hdf5plugin
METADATA_MARGIN = 256 << 10  # bytes kept free for HDF5's own bookkeeping when a write is checked
ROOM_AHEAD_S = 2.0  # disk space taken ahead of the writes, in seconds of raw frames (1-64 MiB)
MAX_EXPANSION = 1100  # deflate never compresses more than ~1032:1: a bound on what a file can hold


def chunk_frames(info: MatInfo) -> int:
    by_size = CHUNK_BYTES // (info.rows * info.cols * info.dtype.itemsize)
    by_time = math.ceil(info.rate_hz * CHUNK_SECONDS)
    return max(1, min(by_size, by_time))


class WriteFailed(OSError):
    """The session file cannot be written; the message is one line naming the file."""

    def __init__(self, code: int, message: str):
        super().__init__(code, message)

    def __str__(self) -> str:
        return self.strerror


class DiskFull(WriteFailed):
    """The disk cannot take the next write; the session file is closed with what it holds."""

    def __init__(self, path: Path, detail: str):
        super().__init__(errno.ENOSPC, f"{path}: the disk is full ({detail})")


def write_error(path: Path, error: OSError) -> WriteFailed:
    """An error from writing the session file as one line naming the file and the cause."""
    if isinstance(error, WriteFailed):
        return error
    if error.errno == errno.ENOSPC or "No space left" in str(error):
        return DiskFull(path, "no space left on device")
    return WriteFailed(error.errno or errno.EIO, f"{path}: cannot write ({first_line(error)})")


class SessionWriter:
    """Appends frames to a new session file; use as a context manager, or call ``close``."""

    def __init__(self, path: Path, info: MatInfo, attrs: dict, flush_interval_s: float = 1.0,
                 compression: str | None = "gzip", journal: bool = False):
        import h5py

        self.path = Path(path)
        self.info = info
        self.flush_interval_s = flush_interval_s
        self._chunk = chunk_frames(info)
        self._frame_bytes = info.rows * info.cols * info.dtype.itemsize
        self._pending: list[tuple[Frame, float, float]] = []  # frame, session time, arrival
        self._written = 0
        self._synced = 0  # frames on disk as of the last flush
        self._first_device_time: float | None = None
        self._first_counter: int | None = None
        self._last_time: float | None = None
        self._clock_shift = 0.0  # added to device times once the device's clock went back
        self._last_flush = time.monotonic()
        self._file = None
        self._chunks: ChunkWriter | None = None  # pressure chunks filtered here, not by HDF5
        self._journal: JournalWriter | None = None
        self._room: Room | None = None
        self._probe: int | None = None  # one frame's size, compressed: what to expect before any is stored
        free = _free_bytes(self.path.parent)
        if free < 4 * METADATA_MARGIN:
            raise DiskFull(self.path, f"{free >> 10} KiB free")
        self._create(attrs, compression)
        self._start_size = self.path.stat().st_size
        try:
            ahead = int(ROOM_AHEAD_S * info.rate_hz * self._frame_bytes)
            self._room = Room(self.path, ahead=min(max(ahead, 1 << 20), 64 << 20))
            self._room.hold(2 * METADATA_MARGIN)
            # The whole capture is written in SWMR mode: ordered writes, so the file on disk is
            # consistent at every moment. Nothing may be created from here on, only appended.
            self._file = h5py.File(self.path, "r+", libver="latest", rdcc_nbytes=4 * self._chunk * self._frame_bytes,
                                   rdcc_nslots=1021)
            self._file.swmr_mode = True
            self._datasets = {name: self._file[name] for name in (PRESSURE, *SERIES)}
            self._chunks = ChunkWriter.for_dataset(self._datasets[PRESSURE], threads=1)
            self._sync_to_disk()
            if journal:
                self._journal = JournalWriter(self.path, info, attrs)
        except BaseException:
            self._discard()
            raise

    def _create(self, attrs: dict, compression: str | None) -> None:
        """The file's layout, written whole and closed before the first frame."""
        import h5netcdf
        import h5py

        info = self.info
        try:
            with h5netcdf.File(self.path, "w", libver="latest") as f:
                f.dimensions = {"time": None, "y": info.rows, "x": info.cols}
                for name, n, pitch, long_name in (
                        ("y", info.rows, info.pitch_y_mm, "cell centre along rows"),
                        ("x", info.cols, info.pitch_x_mm, "cell centre along columns")):
                    variable = f.create_variable(name, (name,), "f8", data=np.arange(n) * pitch)
                    variable.attrs.update(units="mm", long_name=long_name)
                series = {"chunks": (max(1024, self._chunk),), "fletcher32": True}  # damage is told, not read
                f.create_variable("time", ("time",), "f8", **series).attrs.update(
                    units="s", long_name="time from the first frame")
                f.create_variable("frame", ("time",), "i8", **series).attrs.update(long_name="device frame counter")
                f.create_variable("receive_time", ("time",), "f8", **series).attrs.update(
                    units="s", long_name="host receive time, seconds after the Unix epoch")
                pressure = f.create_variable(PRESSURE, ("time", "y", "x"), info.dtype, fletcher32=True,
                                             chunks=(self._chunk, info.rows, info.cols), **compression_options(compression))
                pressure.attrs.update(units="kPa", long_name="pressure", coordinates="frame")
                if info.scale_kpa != 1.0:
                    pressure.attrs["scale_factor"] = np.float64(info.scale_kpa)
                if info.offset_kpa != 0.0:
                    pressure.attrs["add_offset"] = np.float64(info.offset_kpa)
                if info.foot_map is not None:
                    foot_map = f.create_variable("foot_map", ("y", "x"), "i1", data=info.foot_map.astype(np.int8))
                    foot_map.attrs.update(long_name="foot of each sensor: 0 left, 1 right, -1 none",
                                          flag_values=np.array([-1, 0, 1], np.int8), flag_meanings="none left right")
            # Global attributes, every one that will ever change included (SWMR creates nothing).
            # Text is fixed-length: no global heap, which HDF5 reads badly when it is damaged.
            with h5py.File(self.path, "r+", libver="latest") as f:
                values = {
                    "pitch_x_mm": info.pitch_x_mm, "pitch_y_mm": info.pitch_y_mm,
                    "cell_area_mm2": info.cell_area_mm2, "rate_hz": info.rate_hz, "device": info.device,
                    "has_geometry": int(info.has_geometry),
                    **({"assumed_settings": ",".join(info.assumed)} if info.assumed else {}),
                    "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "complete": 0, **attrs, **Counters().as_attrs(),
                }
                for key, value in values.items():
                    f.attrs.create(key, _attribute(value))
        except OSError as error:
            self.path.unlink(missing_ok=True)
            if error.errno == errno.ENOSPC:
                raise DiskFull(self.path, "no space left on device while creating it") from None
            raise

    @property
    def frames_written(self) -> int:
        return self._written

    # -- appending -------------------------------------------------------------------------------
    def append(self, frame: Frame, counters: Counters | None = None, more: bool = False) -> None:
        """Add a frame; ``more`` says the caller has further frames in hand right now, so this
        one's journal record may wait for theirs and go out in the same write (the last frame
        of a batch comes with ``more`` false: a frame is never held back waiting for the mat)."""
        if frame.cells.shape != (self.info.rows, self.info.cols):
            raise DriverError(
                f"frame of shape {frame.cells.shape} does not fit the session's {self.info.rows}x{self.info.cols}")
        index = self._written + len(self._pending)
        if self._first_counter is None and self._first_device_time is None and index == 0:
            self._first_counter = frame.counter
            self._first_device_time = frame.device_time_s
        time_s = self._time_of(frame, index)
        if self._journal is not None:
            try:
                self._journal.append(frame, index, time_s, counters, hold=more)
            except OSError:  # the journal is a bonus for the last second: the session file goes on
                self._journal.close(keep=False)
                self._journal = None
        self._pending.append((frame, time_s, time.monotonic()))
        if time.monotonic() - self._last_flush >= self.flush_interval_s / 2:
            self.flush_if_due(counters)
        elif len(self._pending) >= CHUNKS_PER_WRITE * self._chunk:
            self._write(self._whole_chunks(), counters)

    def _whole_chunks(self) -> int:
        """How many pending frames fill chunks to their end (0 while the chunk a partial flush
        left open is not full yet)."""
        return max((self._written + len(self._pending)) // self._chunk * self._chunk - self._written, 0)

    def flush_if_due(self, counters: Counters | None = None) -> None:
        """Every half ``flush_interval_s``: write the whole chunks waiting, and the partial one
        too once its first frame is that old, then flush. So every frame is on disk within
        ``flush_interval_s`` of arriving, and a chunk is rarely written twice (HDF5 in SWMR mode
        never reuses the space of a chunk written over). Call it while no frames come, too."""
        now = time.monotonic()
        if now - self._last_flush < self.flush_interval_s / 2:
            return
        whole = self._whole_chunks()
        if whole < len(self._pending) and now - self._pending[whole][2] >= self.flush_interval_s / 2:
            whole = len(self._pending)
        self._flush(whole, counters)

    def flush(self, counters: Counters | None = None) -> None:
        """Write every buffered frame and make the file consistent on disk (fsynced)."""
        self._flush(len(self._pending), counters)

    def _flush(self, n: int, counters: Counters | None) -> None:
        self._write(n, counters)
        self._sync_to_disk()
        self._last_flush = time.monotonic()
        if self._journal is not None:  # it keeps only what the session file does not hold yet
            try:
                self._journal.reset()
                for index, (frame, time_s, _) in enumerate(self._pending, start=self._written):
                    self._journal.append(frame, index, time_s, counters, hold=True)
                self._journal.write_held()  # in one write
            except OSError:
                self._journal.close(keep=False)
                self._journal = None

    def _write(self, n: int, counters: Counters | None) -> None:
        if n > 0:
            self._make_room(n)
            frames, self._pending = self._pending[:n], self._pending[n:]
            try:
                self._store(frames)
            except BaseException:
                self._pending = frames + self._pending
                raise
        if counters is not None:
            for key, value in counters.as_attrs().items():
                self._file.attrs.modify(key, np.int64(value))

    def _store(self, frames: list[tuple[Frame, float, float]]) -> None:
        n0, n1 = self._written, self._written + len(frames)
        for dataset in self._datasets.values():
            dataset.resize(n1, axis=0)
        cells = np.stack([frame.cells for frame, _, _ in frames])
        if self._chunks is not None:
            self._chunks.store(n0, cells)
        else:
            self._datasets[PRESSURE][n0:n1] = cells
        self._datasets["frame"][n0:n1] = [frame.counter if frame.counter is not None else n0 + i
                                          for i, (frame, _, _) in enumerate(frames)]
        self._datasets["time"][n0:n1] = [time_s for _, time_s, _ in frames]
        self._datasets["receive_time"][n0:n1] = [frame.host_time_s for frame, _, _ in frames]
        self._written = n1

    def _sync_to_disk(self) -> None:
        """HDF5's flush (ordered: consistent on disk), the open-for-writing mark cleared so any
        reader opens the file, then fsync, so a power cut keeps it too."""
        self._file.flush()
        clear_status_flags(self.path)
        os.fsync(self._file.id.get_vfd_handle())
        self._synced = self._written

    def _bytes_needed(self, frames: int, per_frame: float | None = None) -> int:
        """A generous bound on what writing ``frames`` more frames adds to the file: their bytes
        (``_frame_bytes_bound``), the partial chunk they rewrite, and room for HDF5's own records."""
        per_frame = self._frame_bytes_bound() if per_frame is None else per_frame
        rewritten = self._written % self._chunk
        return int((frames + rewritten) * per_frame) + METADATA_MARGIN

    def _frame_bytes_bound(self) -> float:
        """What one more frame adds to the file, at most: its bytes as stored so far (before any,
        as one compresses) and half again."""
        per_frame = self._frame_bytes + 24
        if self._written >= self._chunk:
            stored = max(self.path.stat().st_size - self._start_size, 0) / self._written
            per_frame = min(per_frame, 1.5 * stored + 32)
        elif self._pending:
            if self._probe is None:  # shuffled and deflated, as HDF5 stores it
                cells = np.ascontiguousarray(self._pending[0][0].cells)
                shuffled = cells.view(np.uint8).reshape(-1, cells.dtype.itemsize).T.tobytes()
                self._probe = len(zlib.compress(shuffled, 1))
            per_frame = min(per_frame, 1.5 * self._probe + 64)
        return per_frame

    def _make_room(self, frames: int) -> None:
        """Raise DiskFull (the pending frames untouched) unless the room to write ``frames`` of
        them, and to close the file after, is the file's. The journal gives its room up first."""
        needed = self._bytes_needed(frames)
        try:
            self._room.hold(needed)
            return
        except NoRoom:
            if self._journal is None:
                raise DiskFull(self.path, f"{frames} frames to write need about {needed >> 10} KiB") from None
        self._journal.close(keep=False)  # nearly full: the session file's frames come first
        self._journal = None
        self._make_room(frames)

    def _time_of(self, frame: Frame, index: int) -> float:
        """The frame's time from the first frame: by the device's clock, else its counter, else
        the nominal rate. Times always increase: when the device's clock or counter goes back (a
        device that restarted), the session's time goes on from the last frame at the nominal rate."""
        if frame.device_time_s is not None and self._first_device_time is not None:
            time_s = frame.device_time_s - self._first_device_time
        elif frame.counter is not None and self._first_counter is not None:
            time_s = (frame.counter - self._first_counter) / self.info.rate_hz
        else:
            time_s = index / self.info.rate_hz
        time_s += self._clock_shift
        if self._last_time is not None and not time_s > self._last_time:
            self._clock_shift += self._last_time + 1.0 / self.info.rate_hz - time_s
            time_s = self._last_time + 1.0 / self.info.rate_hz
        self._last_time = time_s
        return time_s

    # -- closing ---------------------------------------------------------------------------------
    def close(self, counters: Counters | None = None) -> int:
        """Write what is buffered (what fits, when the disk is full), mark the file complete and
        close it. Returns the frames that could not be written (0 unless the disk is full)."""
        if self._file is None:
            return 0
        lost = 0
        try:
            try:
                self._write(len(self._pending), counters)
            except DiskFull:
                lost = self._write_what_fits(counters)
            self._file.attrs.modify("complete", np.int64(1))
            self._file.close()  # clears the open-for-writing mark itself
            self._file = None
            fsync_file(self.path)
        except OSError as error:
            self._last_resort()
            failed = write_error(self.path, error)
            raise WriteFailed(failed.errno, f"{failed}; it holds {self._synced} to {self._written} frames") from None
        finally:
            if self._file is None:
                self._release_room()
        if self._journal is not None:
            self._journal.close()  # the session file is whole: the journal has done its job
            self._journal = None
        return lost

    def _write_what_fits(self, counters: Counters | None) -> int:
        """The disk is full: write as many of the pending frames as the file's room holds; the
        number that did not fit."""
        if self._journal is not None:
            self._journal.close(keep=False)
            self._journal = None
        pending = len(self._pending)
        room = self._room.available()
        per_frame = self._frame_bytes_bound()  # once: it reads the file's size
        fits = 0
        while fits < pending and self._bytes_needed(fits + 1, per_frame) <= room:
            fits += 1
        del self._pending[fits:]
        try:
            self._write(fits, counters)
        except DiskFull:
            self._pending = []
            self._write(0, counters)
            return pending
        return pending - fits

    def _last_resort(self) -> None:
        """HDF5 could not write its last records (the disk filled under us). The file on disk is
        consistent as of the last flush (SWMR); drop the frames whose write failed, so HDF5 has
        less to write, and try to close (a file HDF5 cannot close is what crashes at exit)."""
        if self._file is None:
            return
        try:
            for dataset in self._datasets.values():
                dataset.resize(self._written, axis=0)
            self._file.close()
            self._file = None
        except (OSError, RuntimeError, ValueError):
            pass
        try:
            clear_status_flags(self.path)
        except OSError:
            pass

    def abandon(self) -> None:
        """Close after a failure that is not the disk's: keep the journal, whatever the file holds."""
        if self._journal is not None:
            try:
                self._journal.close(keep=True)
            except OSError:
                pass
            self._journal = None
        if self._file is not None:
            try:
                self._file.close()
            except (OSError, ValueError, RuntimeError):
                self._last_resort()
            self._file = None
        self._release_room()

    def _discard(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except (OSError, ValueError, RuntimeError):
                pass
            self._file = None
        if self._journal is not None:
            self._journal.close()
        self._release_room()
        self.path.unlink(missing_ok=True)

    def _release_room(self) -> None:
        if self._room is not None:
            self._room.close()
            self._room = None

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


def _attribute(value):
    """An attribute as stored: numbers as they are, text as fixed-length UTF-8."""
    import h5py

    if isinstance(value, bool):
        return np.int64(value)
    if isinstance(value, str):
        data = value.encode()
        return np.array(data, dtype=h5py.string_dtype("utf-8", max(len(data), 1)))
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    return value


# -- reading ------------------------------------------------------------------------------------
def read_session(path: Path, source_url: str, stream_above_bytes: int | None = None) -> Recording:
    """A session file as a Recording of device values (h5py only: no xarray needed). When its
    frames take more than ``stream_above_bytes``, they stay in the file (``SessionFrames``: the
    file stays open, read block by block) instead of being read into memory."""
    from drivers.session_frames import SessionFrames

    path = Path(path)
    f = open_hdf5(path)
    streamed = False
    try:
        try:
            if PRESSURE not in f:
                hint = " (it looks like a results file)" if "force" in f else ""
                raise DriverError(f"{path}: not a session file, no '{PRESSURE}' variable{hint}")
            pressure = f[PRESSURE]
            if pressure.ndim != 3:
                raise DriverError(f"{path}: '{PRESSURE}' must be (time, y, x), has {pressure.ndim} dims")
            n, rows, cols = pressure.shape
            _check_extent(path, pressure, f)
            _filters_available(path, pressure)
            attrs = {key: _plain(value) for key, value in f.attrs.items()}
            scale = _number(path, "scale_factor", _plain(pressure.attrs.get("scale_factor", 1.0)), f"'{PRESSURE}'")
            offset = _number(path, "add_offset", _plain(pressure.attrs.get("add_offset", 0.0)), f"'{PRESSURE}'")
            series = {}
            for name, dtype in (("frame", np.int64), ("time", np.float64)):
                if name in f:
                    if f[name].ndim != 1 or f[name].shape[0] < n:
                        raise DriverError(f"{path}: '{name}' holds {f[name].shape} values for {n} frames")
                    series[name] = np.asarray(f[name][:n], dtype)  # read as stored: no second copy
            foot_map = None
            if "foot_map" in f:
                if f["foot_map"].shape != (rows, cols):
                    raise DriverError(f"{path}: 'foot_map' is {f['foot_map'].shape}, the frames {rows}x{cols}")
                foot_map = f["foot_map"][...]
            if stream_above_bytes is not None and n * rows * cols * pressure.dtype.itemsize > stream_above_bytes:
                cells = SessionFrames(path, f, pressure, f"'{PRESSURE}'")
                streamed = True
            else:
                try:
                    cells = chunk_reader.read_cells(pressure)  # chunks decoded on every core
                except MemoryError:
                    raise DriverError(f"{path}: {n} frames of {rows}x{cols} do not fit in memory") from None
        finally:
            if not streamed:
                f.close()
    except DriverError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, TypeError) as error:  # h5py raises all of these on damage
        raise DriverError(f"{path}: cannot read as HDF5 session ({first_line(error)})") from None
    try:
        info = MatInfo(
            rows=rows, cols=cols,
            pitch_x_mm=_number(path, "pitch_x_mm", attrs["pitch_x_mm"]),
            pitch_y_mm=_number(path, "pitch_y_mm", attrs["pitch_y_mm"]),
            rate_hz=_number(path, "rate_hz", attrs["rate_hz"]), device=str(attrs.get("device", "unknown")),
            dtype=cells.dtype, scale_kpa=scale, offset_kpa=offset,
            cell_area_mm2=_number(path, "cell_area_mm2", attrs.get("cell_area_mm2", 0)) or None,
            foot_map=foot_map, has_geometry=bool(_number(path, "has_geometry", attrs.get("has_geometry", 1))),
            assumed=tuple(name for name in str(attrs.get("assumed_settings", "")).split(",") if name),
        )
    except KeyError as missing:
        raise DriverError(f"{path}: session attribute {missing} is missing") from None
    except DriverError as error:
        message = str(error)
        raise DriverError(message if message.startswith(str(path)) else f"{path}: {message}") from None
    for name, value in (("pitch_x_mm", info.pitch_x_mm), ("pitch_y_mm", info.pitch_y_mm), ("rate_hz", info.rate_hz)):
        positive_number(path, f"session attribute {name}", value)
    counter = series.get("frame", np.arange(n, dtype=np.int64))
    time_s = series.get("time", np.arange(n) / info.rate_hz)
    check_times(path, time_s)
    if not streamed:  # streamed frames are checked as each block is read
        check_pressures(path, cells, f"'{PRESSURE}'")
    counters = Counters(**{name: int(_number(path, f"frames_{name}", attrs.get(f"frames_{name}", 0)))
                           for name in vars(Counters())})
    kept = {"started_at": attrs.get("started_at", ""), "captured_from": attrs.get("source_url", "")}
    if attrs.get("complete", 1) == 0 and not attrs.get("recovered_from_journal"):
        kept["capture"] = "unfinished (the capture was killed or crashed; this is what it had flushed)"
    return Recording(cells, counter, time_s, info, counters, source_url, attrs=kept)


def _filters_available(path: Path, dataset) -> None:
    """Blosc-compressed frames (``--compression lz4|zstd``) need hdf5plugin to be read."""
    import h5py

    plist = dataset.id.get_create_plist()
    for index in range(plist.get_nfilters()):
        code = plist.get_filter(index)[0]
        if code == BLOSC_FILTER and not h5py.h5z.filter_avail(code):
            hdf5_plugins(f"{path}: its frames are compressed with Blosc; reading them")


def _check_extent(path: Path, pressure, f) -> None:
    """Refuse sizes the file cannot hold before HDF5 is asked for them: an extent beyond what the
    file's bytes could decompress to, or chunks missing (frames that would read as zeros)."""
    n = pressure.shape[0]
    raw = n * int(np.prod(pressure.shape[1:])) * pressure.dtype.itemsize
    size = path.stat().st_size
    if raw > MAX_EXPANSION * max(size, 1) + (1 << 20):
        raise DriverError(f"{path}: damaged: claims {n} frames ({raw >> 20} MiB), more than a file of "
                          f"{size} bytes can hold")
    if pressure.chunks is not None and n:
        expected = 1
        for extent, chunk in zip(pressure.shape, pressure.chunks):
            expected *= -(-extent // chunk)
        stored = pressure.id.get_num_chunks()
        if stored < expected:
            raise DriverError(f"{path}: damaged: '{PRESSURE}' has {stored} of its {expected} chunks; "
                              f"the missing frames would read as zeros")


def _number(path: Path, name: str, value, where: str = "session") -> float:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0].item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DriverError(f"{path}: {where} attribute {name} is {value!r}, not a number")
    return float(value)

def _plain(value):
    """An HDF5 attribute as a Python scalar (netCDF stores numbers as one-element arrays)."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
