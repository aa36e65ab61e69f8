"""Stored sessions and vendor exports, chosen by file extension (and content, for .csv).

Each format module has ``OPTIONS`` (its URL options) and ``read(path, options, url) -> Recording``.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import numpy as np

from drivers.base import DriverError, EndOfStream, Frame, MatDriver, Pacer
from drivers.files.metadata import is_number
from drivers.recording import Recording
from drivers.url import DriverURL, existing_file, non_negative

FORMATS: dict[str, str] = {
    ".h5": "drivers.files.session",
    ".hdf5": "drivers.files.session",
    ".nc": "drivers.files.session",
    ".npy": "drivers.files.npy_frames",
    ".csv": "drivers.files.csv_frames",
    ".asf": "drivers.files.tekscan",
    ".asc": "drivers.files.pedar",
    ".lst": "drivers.files.emed",
    ".xls": "drivers.files.footscan",
    ".txt": "drivers.files.moticon",
}
HDF5_SUFFIXES = tuple(suffix for suffix, module in FORMATS.items() if module == "drivers.files.session")
COMMON_OPTIONS = {"speed": (non_negative(float), 0.0)}


def format_module(path: Path):
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise DriverError(f"{path}: unknown format '{suffix or path.name}'; known: {known}")
    module_name = FORMATS[suffix]
    if suffix == ".csv":
        module_name = _csv_format(path)
    if suffix == ".asc" and _is_pliance(path):
        module_name = "drivers.files.pliance"
    return importlib.import_module(module_name)


def _head(path: Path) -> bytes:
    """The first bytes of a file, where its format shows."""
    try:
        with open(path, "rb") as f:
            return f.read(4096)
    except OSError as error:
        raise DriverError(f"{path}: cannot be read ({error.strerror or error})") from None


def _is_pliance(path: Path) -> bool:
    """A Novel pliance ``.asc`` has a ``mat type`` header line (pedar's has ``sensor type``)."""
    return any(line.strip().lower().startswith(b"mat type") for line in _head(path).splitlines()[:10])


CSV_FORMATS = {  # told apart by content: module, and the name used when none matches
    "drivers.files.xsensor": "XSENSOR",
    "drivers.files.iscan": "Tekscan I-Scan",
    "drivers.files.stappone": "STAPPone",
    "drivers.files.moticon": "Moticon OpenGo",
}


def _csv_format(path: Path) -> str:
    """The reader of a ``.csv`` by its first bytes; plain frames (numbers only) when no export matches."""
    if _is_xsensor(path):
        return "drivers.files.xsensor"
    head = _head(path)
    for name in list(CSV_FORMATS)[1:]:
        if importlib.import_module(name).looks_like(head):
            return name
    first = next((line for line in head.lstrip(b"\xef\xbb\xbf").splitlines()
                  if line.strip() and not line.lstrip().startswith(b"#")), b"")  # '#' lines are comments
    fields = first.replace(b";", b" ").replace(b",", b" ").split()
    if any(not is_number(field.decode("latin-1")) for field in fields):
        tried = ", ".join([*CSV_FORMATS.values(), "plain CSV frames (numbers only)"])
        raise DriverError(f"{path}: not a CSV export this reads (tried {tried}); line 1 starts "
                          f"{first[:40].decode('latin-1')!r}")
    return FORMATS[".csv"]


def _is_xsensor(path: Path) -> bool:
    head = _head(path)
    return head.lstrip(b"\xef\xbb\xbf").startswith(b"File:") or b"SENSELS" in head


NOTE_SUFFIXES = (".csv", ".txt")  # extensions that notes, READMEs and tables share with exports


def recognised(path: Path, by_content: bool = False) -> bool:
    """Whether ``path`` has the extension of a format a driver reads; ``by_content``: and, for
    a text extension that notes share with exports, whether its first bytes are an export's (a
    study folder's README.txt or table of subjects is no recording)."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        return False
    if not by_content or suffix not in NOTE_SUFFIXES:
        return True
    try:
        module = format_module(path)
    except DriverError:  # a .csv whose first line is no export's header and not numbers
        return False
    looks_like = getattr(module, "looks_like", None)
    return looks_like is None or bool(looks_like(_head(path)))


def open_file(url: DriverURL) -> FileMat:
    """Read a stored file; whatever is wrong with it ends in one DriverError line naming it."""
    path = existing_file(url)
    try:
        module = format_module(path)
    except DriverError as error:  # a .csv no reader knows
        raise DriverError(str(error) + _named_as(path)) from None
    try:
        options = url.take({**COMMON_OPTIONS, **module.OPTIONS}, known=getattr(module, "KNOWN_SETTINGS", ()))
    except DriverError as error:
        raise DriverError(f"{path}: {str(error).replace(f' in {url.text}', '')}") from None
    try:
        streaming = {"stream_above_bytes": url.stream_above_bytes} if getattr(module, "STREAMS", False) else {}
        recording = module.read(path, options, url.text, **streaming)
    except DriverError as error:
        message = " ".join(str(error).split())  # one line, whatever a value quoted in it held
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        message += _named_as(path)
        if message == str(error):
            raise
        raise DriverError(message) from error
    except OSError as error:
        raise DriverError(f"{path}: cannot be read ({error.strerror or error})") from None
    except MemoryError:
        raise DriverError(f"{path}: does not fit in memory") from None
    except Exception as error:  # a reader that missed some damage: still one line naming the file
        raise unexpected(path, module.FORMAT_NAME, error) from error
    return FileMat(recording, options["speed"])


SIGNATURES = (  # what a file's first bytes show, and the extension its format is read by
    (lambda head: head.startswith(b"\x89HDF\r\n\x1a\n"), "an HDF5 file (a session or results file)", (".h5",)),
    (lambda head: head.startswith(b"\xd0\xcf\x11\xe0"), "an Excel 97-2003 workbook (footscan)", (".xls",)),
    (lambda head: importlib.import_module("drivers.files.iscan").looks_like(head), "a Tekscan ASCII export",
     (".asf", ".csv")),
    (lambda head: importlib.import_module("drivers.files.moticon").looks_like(head), "a Moticon OpenGo export",
     (".txt",)),
    (lambda head: importlib.import_module("drivers.files.stappone").looks_like(head), "a STAPPone export", (".csv",)),
)


def _named_as(path: Path) -> str:
    """Where a file that its extension's reader refused is another format's: what it looks like and
    the name it wants (an F-Scan export named .txt was "not a Moticon OpenGo text export")."""
    try:
        head = _head(path)
    except DriverError:
        return ""
    for matches, what, suffixes in SIGNATURES:
        if path.suffix.lower() not in suffixes and matches(head):
            return f"; its content is {what}: name it {suffixes[0]}"
    return ""


def unexpected(path: Path, format_name: str, error: Exception) -> DriverError:
    """The last resort for damage a reader did not foresee; ``benchmarks.fuzz`` counts these."""
    detail = " ".join(f"{type(error).__name__}: {error}".split())[:200]
    wrapped = DriverError(f"{path}: not a readable {format_name} file ({detail})")
    wrapped.unexpected = type(error).__name__
    return wrapped


class FileMat(MatDriver):
    """Replays a loaded recording, at ``speed`` times real time (0: as fast as possible)."""

    def __init__(self, recording: Recording, speed: float = 0.0):
        super().__init__()
        self.recording = recording
        self.info = recording.info
        self.url = recording.source_url
        self.pacer = Pacer(speed)
        self.counters.corrupt = recording.counters.corrupt
        self.counters.resyncs = recording.counters.resyncs
        self.counters.reconnects = recording.counters.reconnects
        self._next = 0

    def _read_frame(self, timeout: float | None) -> Frame | None:
        recording = self.recording
        if self._next >= recording.n_frames:
            raise EndOfStream
        t = float(recording.time_s[self._next])
        if not self.pacer.wait_for(t, timeout):
            return None
        index = self._next
        self._next += 1
        return Frame(recording.cells[index], int(recording.counter[index]), t, time.time())

    def load(self, max_frames: int | None = None) -> Recording:
        """The frames not yet read, at once and without pacing."""
        start = self._next
        stop = self.recording.n_frames if max_frames is None else min(self.recording.n_frames, start + max_frames)
        self._next = stop
        recording = self.recording
        self.counters.received += stop - start
        gaps = np.diff(recording.counter[start:stop]) - 1
        self.counters.dropped += int(gaps[gaps > 0].sum())
        if start == 0 and stop == recording.n_frames:
            recording.counters = self.counters
            return recording
        return Recording(
            recording.cells[start:stop], recording.counter[start:stop],
            recording.time_s[start:stop] - (recording.time_s[start] if stop > start else 0.0),
            recording.info, self.counters, recording.source_url, recording.attrs, recording.extras,
        )
