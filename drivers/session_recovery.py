"""Making a killed capture's session file whole: ``pressure recover``.

The session file opens as it is after a kill (drivers/session_file.py); what it cannot hold is
the last second's frames, which are in the capture journal beside it, and the live counters.
Recovery clears HDF5's open-for-writing mark where a kill left it set, appends the journal's
frames the file lacks and its counters, in well under a second. A journal of the first format
(every frame of a capture, from before the file survived a kill) rebuilds the whole session.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from drivers.base import Counters, DriverError
from drivers.hdf5_safety import clear_status_flags, first_line, open_hdf5, status_flags
from drivers.journal import journal_in_use, journal_path, journal_version, read_journal
from drivers.session_file import PRESSURE, SERIES, SessionWriter, fsync_file, read_session


def recover(path: Path) -> tuple[int, str]:
    """Make a killed capture's file whole: clear HDF5's open-for-writing mark and append the
    frames its journal holds beyond the last flush. Returns (frames in the file, what was done)."""
    import h5py

    path = Path(path)
    journal = journal_path(path)
    if journal.exists() and journal_in_use(journal):
        raise DriverError(f"{path}: is being captured now (its journal is in use); stop the capture first")
    version = 0
    if journal.exists():
        try:
            version = journal_version(journal)
        except OSError as error:
            raise DriverError(f"{journal}: cannot read ({error.strerror or error})") from None
    if not path.exists():
        if version:
            return _rebuild(path, journal, version)
        raise DriverError(f"{path}: no such file, and no journal to rebuild it from")
    done = []
    if clear_status_flags(path):
        done.append("cleared HDF5's open-for-writing mark")
    if version == 1:  # from before the session file could open after a kill: every frame is there
        return _rebuild(path, journal, version)
    if version == 2:
        try:
            info, _, entries = read_journal(journal)
        except DriverError:
            info, entries = None, []
        open_hdf5(path).close()  # refuses a damaged file before it is written to
        try:
            with h5py.File(path, "r+") as f:
                n = f[PRESSURE].shape[0]
                if entries and f[PRESSURE].shape[1:] != (info.rows, info.cols):
                    entries = []
                newer = [entry for entry in entries if entry.index >= n]
                newer = [entry for i, entry in enumerate(newer) if entry.index == n + i]  # contiguous only
                if newer:
                    _append_entries(f, newer)
                lost = 0
                if entries:  # the live capture's counters, as of its last frame
                    for key, value in entries[-1].counters.as_attrs().items():
                        if key in f.attrs:
                            f.attrs.modify(key, np.int64(value))
                    # Frames the reader had taken from the mat but the kill caught queued, before
                    # their journal record: received, and honestly counted so, but not in the file.
                    lost = max(entries[-1].counters.received - (n + len(newer)), 0)
                f.attrs["recovered_from_journal"] = np.int64(len(newer))
            fsync_file(path)
        except (OSError, KeyError, ValueError, RuntimeError) as error:
            raise DriverError(f"{path}: cannot add the journal's frames ({first_line(error)})") from None
        journal.unlink()
        done.append(f"appended the {len(newer)} frames its journal held beyond the last flush" if newer
                    else "its journal held nothing beyond the last flush")
        if lost:
            done.append(f"{lost} frames received just before the kill never reached the journal and are lost")
    recording = read_session(path, str(path))  # raises if it cannot be read
    if not done:
        return recording.n_frames, "nothing to repair: the file opens and no journal is left"
    return recording.n_frames, "; ".join(done) + f" ({recording.n_frames} frames)"


def recover_hint(path: Path) -> str | None:
    """One line on what ``pressure recover`` would do for this file, or None."""
    path = Path(path)
    journal = journal_path(path)
    if journal.exists() and journal_in_use(journal):
        return None  # being captured now
    reasons = []
    try:
        if status_flags(path):
            reasons.append("HDF5 still marks it open for writing (plain h5py and xarray refuse it)")
    except OSError:
        pass
    if journal.exists():
        try:
            if journal_version(journal) == 1:
                reasons.append("its journal holds the whole capture")
            else:
                count = len(read_journal(journal)[2])
                if count:
                    reasons.append(f"its journal holds {count} frames received after the last flush")
        except (OSError, DriverError):
            pass
    if not reasons:
        return None
    return f"pressure recover {path} applies: " + "; ".join(reasons)


def _append_entries(f, entries) -> None:
    n0 = f[PRESSURE].shape[0]
    n1 = n0 + len(entries)
    for name in (PRESSURE, *SERIES):
        f[name].resize(n1, axis=0)
    f[PRESSURE][n0:n1] = np.stack([entry.frame.cells for entry in entries])
    f["frame"][n0:n1] = [entry.frame.counter if entry.frame.counter is not None else entry.index
                         for entry in entries]
    f["time"][n0:n1] = [entry.time_s for entry in entries]
    f["receive_time"][n0:n1] = [entry.frame.host_time_s for entry in entries]


def _rebuild(path: Path, journal: Path, version: int) -> tuple[int, str]:
    """A whole session from a journal alone: one of the first format (every frame of the
    capture), or the last second's frames when the session file itself is gone."""
    from drivers.journal import read_journal_v1

    if version == 1:
        info, attrs, frames = read_journal_v1(journal)
        counters = Counters(received=len(frames))
        try:
            counters = read_session(path, str(path)).counters
            counters.received = max(counters.received, len(frames))
        except DriverError:
            pass
    else:
        info, attrs, entries = read_journal(journal)
        frames = [entry.frame for entry in entries]
        counters = entries[-1].counters if entries else Counters()
    rebuilt = path.with_name(f".{path.name}.recovering")
    writer = SessionWriter(rebuilt, info, {**attrs, "recovered_from_journal": len(frames)}, journal=False)
    for frame in frames:
        writer.append(frame)
    writer.close(counters)
    os.replace(rebuilt, path)
    journal.unlink()
    return len(frames), f"rebuilt from the capture journal ({len(frames)} frames)"
