"""Options shared by frame files that carry no metadata of their own, and the checks every
reader makes before it trusts a number from a file.

A damaged file must end in a :class:`DriverError` that names the file and says what is wrong,
never in an exception from deep inside NumPy or a loop that never ends: sizes are checked before
anything is allocated, rates and pitches must be finite and positive, frame times must increase.
"""

from __future__ import annotations

import math
import re
from datetime import datetime

import numpy as np

from drivers.base import DriverError, MatInfo
from drivers.url import positive

def pitch_mm(raw: str) -> tuple[float, float]:
    """A cell pitch in mm: ``5`` (square cells) or ``5.08x7.62`` (across x along: pitch_x_mm x pitch_y_mm)."""
    parts = str(raw).strip().lower().replace("\u00d7", "x").split("x")
    if len(parts) > 2:
        raise ValueError("expected a pitch in mm, or two as ACROSSxALONG (e.g. 5.08x7.62)")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise ValueError("expected a pitch in mm, or two as ACROSSxALONG (e.g. 5.08x7.62)") from None
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError("expected a positive pitch")
    return (values[0], values[-1])


GEOMETRY_OPTIONS = {
    "pitch": (pitch_mm, None),
    "rate": (positive(float), None),
}
NOMINAL_RATE_HZ = 1.0  # the rate given to a single static image (one frame has no rate of its own)
FLOAT32_MAX = float(np.finfo(np.float32).max)
INT64_MAX = int(np.iinfo(np.int64).max)
MAX_FRAME_NUMBER = 1 << 53  # frame numbers become times and int64 counters: beyond this they are damage


def plain_info(path, options, rows: int, cols: int, dtype, device: str, frames: int | None = None) -> MatInfo:
    """Geometry from ``?pitch=&rate=`` (or --pitch-mm/--rate-hz). ``pitch`` is one number or
    ACROSSxALONG (pitch_x_mm x pitch_y_mm). A single frame (``frames == 1``, a static image) needs
    no rate: it gets a nominal 1 Hz, said in ``extra["nominal_rate"]``."""
    single = frames == 1 and options["rate"] is None
    missing = [name for name in ("pitch", "rate") if options[name] is None and not (name == "rate" and single)]
    if missing:
        needed = "no cell pitch; give --pitch-mm (or ?pitch= in the URL)" if single else (
            "no cell pitch or frame rate; give --pitch-mm and --rate-hz (or ?pitch=&rate= in the URL)")
        raise DriverError(f"{path}: the file has {needed}")
    pitch = options["pitch"]
    pitch_x, pitch_y = pitch if isinstance(pitch, tuple) else (pitch, pitch)
    pitch_x = positive_number(path, "the cell pitch (mm)", pitch_x)
    pitch_y = positive_number(path, "the cell pitch (mm)", pitch_y)
    extra = {}
    if single:
        rate = NOMINAL_RATE_HZ
        extra["nominal_rate"] = "one static image: the frame rate is nominal (1 Hz), not measured"
    else:
        rate = positive_number(path, "the frame rate (Hz)", options["rate"])
    return MatInfo(rows=rows, cols=cols, pitch_x_mm=pitch_x, pitch_y_mm=pitch_y, rate_hz=rate, device=device,
                   dtype=dtype, extra=extra)


def positive_number(path, what: str, value, low: float = 1e-9, high: float = 1e12) -> float:
    """``value`` as a float from ``low`` to ``high`` (positive, and far from 0 and infinity, so
    that times and areas computed from it stay finite); else an error naming ``what``."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise DriverError(f"{path}: {what} {value!r} is not a number") from None
    if not (math.isfinite(number) and number > 0):
        raise DriverError(f"{path}: {what} must be a positive number, got {value}")
    if not low <= number <= high:
        raise DriverError(f"{path}: {what} {value} is out of range ({low:g} to {high:g})")
    return number


def is_number(text: str) -> bool:
    """Whether ``text`` reads as a number (header words and data lines are told apart so)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_number(path, where: str, text: str) -> float:
    """A float from a file's text; ``where`` says where it was (e.g. "line 12: SECONDS_PER_FRAME")."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise DriverError(f"{path}: {where} {_show(text)} is not a number") from None


def parse_count(path, where: str, text: str, low: int = 1, high: int = INT64_MAX) -> int:
    """A whole number from a file's text, from ``low`` to ``high``."""
    try:
        number = int(str(text).strip())
    except (TypeError, ValueError):
        raise DriverError(f"{path}: {where} {_show(text)} is not a whole number") from None
    if not low <= number <= high:
        limits = f"at least {low}" if high == INT64_MAX else f"from {low} to {high}"
        raise DriverError(f"{path}: {where} must be {limits}, got {_show(text)}")
    return number


def _show(text) -> str:
    text = str(text)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def read_text(path, encoding: str) -> str:
    """The whole file as text; a byte that is not ``encoding`` is an error naming its line."""
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DriverError(f"{path}: line {line} holds bytes that are not {error.encoding.upper()} text "
                          f"(byte 0x{data[error.start]:02x}); not a text export, or damaged") from None


def text_lines(text: str) -> list[str]:
    """Lines as Python's universal newlines see them (``\\n``, ``\\r\\n`` or ``\\r``), so line numbers
    match an editor's; ``str.splitlines`` would also split at form feeds and other separators."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def unterminated(lines: list[str], number: int) -> bool:
    """Whether line ``number`` (1-based) of ``text_lines`` is the file's last with no newline after
    it: where a copy cut off ends (a file that ends with a newline gives an empty last line)."""
    return number == len(lines)


def check_pressures(path, values: np.ndarray, where: str) -> None:
    """Refuse infinite pressures and ones too large for float32 (NaN marks a cell with no sensor)."""
    if values.dtype.kind != "f" or not values.size:
        return
    with np.errstate(all="ignore"):
        bad = np.isinf(values) if values.dtype.itemsize <= 4 else np.abs(values) > FLOAT32_MAX
    if bad.any():
        first = np.argwhere(bad)[0]
        value = values[tuple(first)]
        raise DriverError(f"{path}: {where(first) if callable(where) else where} holds a pressure of {value:g}, "
                          "which is infinite or too large")


def check_times(path, time_s: np.ndarray, what: str = "frame") -> None:
    """Frame times must be finite and increase from frame to frame."""
    time_s = np.asarray(time_s, dtype=np.float64)
    if not np.isfinite(time_s).all():
        bad = int(np.argmin(np.isfinite(time_s)))
        raise DriverError(f"{path}: the time of {what} {bad + 1} is not a finite number")
    steps = np.diff(time_s)
    if len(steps) and not (steps > 0).all():
        bad = int(np.argmin(steps > 0))
        raise DriverError(f"{path}: {what} times do not increase: {what} {bad + 2} is at {time_s[bad + 1]:g} s, "
                          f"{what} {bad + 1} at {time_s[bad]:g} s")


def relative_times(path, time_s: np.ndarray, what: str = "frame") -> np.ndarray:
    """Frame times counted from the first (``time_s - time_s[0]``), checked before and after the
    subtraction: far from the first time, steps too small for float64 vanish (times of -1e23 s
    and 0.05, 0.1 s are all 1e23 s after the first) or the span overflows."""
    time_s = np.asarray(time_s, dtype=np.float64)
    check_times(path, time_s, what)
    with np.errstate(over="ignore"):
        relative = time_s - time_s[0]
    if not np.isfinite(relative).all():
        raise DriverError(f"{path}: {what} times from {time_s[0]:g} s to {time_s[-1]:g} s span more than a "
                          "float can hold; the times must be damaged")
    steps = np.diff(relative)
    if len(steps) and not (steps > 0).all():
        bad = int(np.argmin(steps > 0))
        raise DriverError(f"{path}: {what}s {bad + 1} and {bad + 2} ({float(time_s[bad])!r} s and "
                          f"{float(time_s[bad + 1])!r} s) cannot be told apart {relative[bad + 1]:g} s after "
                          f"{what} 1; the times must be damaged")
    return relative


def check_increasing(path, numbers, what: str = "frame number") -> None:
    """Frame numbers (counters) must increase: a repeated or earlier number means damage."""
    for previous, number in zip(numbers, numbers[1:]):
        if number <= previous:
            raise DriverError(f"{path}: {what} {number} comes after {previous}; {what}s must increase")


def check_memory(path, frames: int, rows: int, cols: int, itemsize: int, file_bytes: int,
                 what: str = "frames") -> None:
    """Refuse a file whose frames would take far more memory than the file itself could explain.

    Text exports hold every value they decode to, except formats that leave unloaded cells out;
    for them, more than 4096 bytes of frames per byte of file (and more than 256 MiB) is a damaged
    header, not a recording.
    """
    need = frames * rows * cols * itemsize
    allowed = max(256 << 20, 4096 * file_bytes)
    if need > allowed:
        raise DriverError(f"{path}: {frames} {what} of {rows}x{cols} cells would need {need / 2**30:.1f} GiB "
                          f"from a {file_bytes}-byte file; the size in the header must be damaged")


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PLACEHOLDERS = {"", "na", "n/a", "n.a.", "none", "unknown", "-", "--", "?"}


def cut_short_text(inside: str, whole: int) -> str:
    """What a recording says of an export that ends inside a frame (a copy cut off, a full disk):
    its whole frames are read, the cut one left out and counted corrupt (``attrs["cut_short"]``,
    shown with the warnings)."""
    return f"the file ends inside {inside}: {whole} whole frame{'s' if whole != 1 else ''} read, the cut one left out"


def marked_cut_short(recording, inside: str | None):
    """``recording`` (its whole frames) marked as read from an export that ends inside ``inside``
    (a frame, as words), if it does: ``attrs["cut_short"]`` and the cut frame counted corrupt."""
    if inside is not None:
        recording.attrs = {**(recording.attrs or {}), "cut_short": cut_short_text(inside, recording.n_frames)}
        recording.counters.corrupt += 1
    return recording


def header_attrs(date_text="", subject="") -> dict[str, str]:
    """Recording attrs from a header's date (and time) and subject, as the file writes them; never raises.

    ``recorded_at``: ISO 8601 to the precision written (``2023-04-25T10:49``, a date alone as
    ``2011-07-07``). Naive on purpose: no export gives a time zone (it is the recording PC's clock),
    so none is invented. Read: day.month.year with dots (novel, Moticon; ``yy`` as strptime's %y),
    year first (``2019-02-01``), English month names with an optional weekday that must agree
    (``Thursday, 16 February 2017``, ``2022 Aug 16``, ``Thu Jan 10 10:30:00 2019``), and
    month/day/year or day/month/year (``/`` or ``-``) only where the numbers or the weekday tell
    the order; times ``H:MM[:SS[.f]]`` (``:`` or ``.``), with AM/PM or a.m./p.m. A date that does
    not read so (damaged, or ``2/1/2019`` with no way to tell 2 January from 1 February) is kept
    as ``recorded_at_text`` instead of guessed. ``subject`` is the header's own subject or patient
    field; an empty one or a placeholder (``NA``, ``-``) is left out.
    """
    def clean(value) -> str:  # one printable line, short: a damaged header must not fill the attrs
        return " ".join("".join(c if c.isprintable() else " " for c in str(value or "")).split())[:120]

    attrs, text, subject = {}, clean(date_text), clean(subject)
    if subject.lower() not in _PLACEHOLDERS:
        attrs["subject"] = subject
    if not text:
        return attrs
    kept = {**attrs, "recorded_at_text": text}
    rest = " " + re.sub(r"(?<=\d)t(?=\d)", " ", text.lower()) + " "  # 2019-02-01T09:14

    def take(pattern):
        nonlocal rest
        found = re.search(pattern, rest)
        if found:
            rest = rest[:found.start()] + " " + rest[found.end():]
        return found

    def named(found, names):  # the full name a word abbreviates ("thu", "sept", "february"), or None
        word = found.group().rstrip(".") if found else ""
        return next((name for name in names if len(word) >= 3 and name.startswith(word)), None)

    half = take(r"(?<![a-z])([ap])\.?\s?m\.?(?![a-z])")  # AM, PM, a.m., p.m.
    weekday = take(r"(?<![a-z])(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?(?![a-z])")
    if weekday and not named(weekday, _WEEKDAYS):
        return kept
    weekday = named(weekday, _WEEKDAYS)
    month = take(r"(?<![a-z])[a-z]+\.?(?![a-z])")
    dates = []
    if month:  # a month name: the year has four digits, the day one or two ("16." too)
        year = take(r"(?<![\d:.])\d{4}(?![\d:])")
        day = take(r"(?<![\d:.])\d{1,2}(?![\d:]|\.\d)")
        if named(month, _MONTHS) and year and day:
            dates = [(int(year.group()), _MONTHS.index(named(month, _MONTHS)) + 1, int(day.group()))]
    else:
        found = take(r"(?<![\d:.])(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})(?![\d:])")
        if found:
            a, sep, b, c = int(found.group(1)), found.group(2), int(found.group(3)), found.group(4)
            if len(found.group(1)) == 4:
                dates = [(a, b, int(c))]
            elif len(c) in (2, 4):
                year = int(c) + (0 if len(c) == 4 else 2000 if int(c) < 69 else 1900)
                orders = [(a, b)] if sep == "." or a == b else [(a, b), (b, a)]  # (day, month)
                dates = [(year, m, d) for d, m in orders if m <= 12]
    clock = take(r"(?<![\d.])(\d{1,2})[:.](\d{2})(?:[:.](\d{2})(?:[.,](\d{1,6}))?)?(?![\d:])")
    if re.sub(r"[\s,;/.\-]", "", rest) or (half and not clock):  # words or numbers not read: not a date
        return kept
    hour, minute, second, fraction = (int(clock.group(1)), int(clock.group(2)), clock.group(3), clock.group(4)) \
        if clock else (0, 0, None, None)
    if half:
        if not 1 <= hour <= 12:
            return kept
        hour = hour % 12 + (12 if half.group(1) == "p" else 0)
    moments = []
    for year, month_number, day in dates:
        try:
            moment = datetime(year, month_number, day, hour, minute, int(second or 0),
                              int((fraction or "0").ljust(6, "0")))
        except ValueError:  # 30 February, 25:00, ...
            continue
        if weekday is None or _WEEKDAYS[moment.weekday()] == weekday:
            moments.append(moment)
    if len(moments) != 1:  # none reads (damaged, or the weekday disagrees), or two do: not guessed
        return kept
    if not clock:
        return {**attrs, "recorded_at": moments[0].date().isoformat()}
    spec = ("minutes" if second is None else "seconds" if fraction is None
            else "milliseconds" if len(fraction) <= 3 else "microseconds")
    return {**attrs, "recorded_at": moments[0].isoformat(timespec=spec)}
