"""Fuzzing every file reader, every serial framing parser and the session-file reader.

Run ``python -m benchmarks.fuzz --cases 100000 --seed 1`` for the figures in the README (the
tests run a few thousand cases through :func:`run`). Each case is one random or mutated input:

- **file readers** (``npy csv tekscan xsensor pedar emed moticon iscan stappone pliance
  footscan``): a small valid file written here from the format's facts (or, when
  ``../shared/data`` exists, a copy of a real sample, which is read in place and never modified),
  damaged by byte flips, truncation, deleted or duplicated lines, huge numbers, NaN or inf text,
  zero or negative times and sizes, zeroed blocks, inserted bytes, or replaced by an empty file or
  random bytes; then opened as a user would (``drivers.load(path?options)``). footscan's ``.xls``
  is binary (an OLE2 compound document holding a BIFF8 workbook, written here by
  :func:`xls_workbook`): besides byte damage it gets damage to its structure that keeps the file's
  length (compound-document header fields, FAT and directory entries, BIFF record types, lengths,
  cell indices and values) and sound workbooks of damaged cells (values, labels, rows).
- **serial framings** (``binary trailer rle poll lines`` in ``drivers/framing.py``): encoded
  frames, damaged the same ways or replaced by random bytes, fed in random chunks (sometimes byte
  by byte) and again whole.
- **session files** (``drivers/session_file.py``, reported separately): a short simulated capture
  made through the real capture path, damaged bytewise or in its HDF5 attributes and variables.

Outcomes per case:

``ok``       the input was read, and what came out is sound (frames of the announced shape,
             finite positive rate and pitch, finite increasing times, no infinite pressure)
``error``    a ``DriverError`` whose single-line message starts with the file's path and says
             in words what is wrong
``crash``    any other exception (or a parser exception)
``raw``      a ``DriverError`` that names the file but only relays a Python exception caught by
             the last-resort net in ``drivers.files.open_file`` ("not a readable ... file (...)")
``unnamed``  a ``DriverError`` that does not start with the file's path, or is not one line
``bad``      read without an error but the result is unsound, or a warning was printed; for
             parsers: a frame of the wrong shape, a buffer that grows without bound, or other
             frames when the same bytes come in other pieces
``hang``     the case took longer than the time limit (5 s)

Readers and parsers run in this process, each case in a worker thread with a time limit: a case
over the limit is interrupted (an exception raised asynchronously in the worker) and counted as a
hang. Code that spins inside a C extension while holding the GIL (h5py does: HDF5 calls keep it)
cannot be interrupted in-process, so session-file cases run in a forked child process that works
through many cases and is replaced when one of them hangs or kills it; ``--isolate`` runs every
target that way. The address space is limited (``--memory-gb``, 4 by default), so a runaway
allocation is a MemoryError counted as a crash, not a visit from the OOM killer. The exit status
is 1 when any case was not ``ok`` or ``error``.

Each case is drawn from ``(seed, target, index)`` alone: ``--targets T --first-case N --cases 1
--keep DIR`` (with the same ``--seed`` and ``--real-share``) replays case N and writes its input.
"""

from __future__ import annotations

import argparse
import ctypes
import faulthandler
import functools
import io
import json
import math
import queue
import random
import re
import shutil
import struct
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
TIME_LIMIT_S = 5.0
KINDS = ("ok", "error", "crash", "raw", "unnamed", "bad", "hang")
FAILURES = ("crash", "raw", "unnamed", "bad", "hang")
GROUPS = {"readers": "file readers (drivers/files)", "framing": "serial framing parsers (drivers/framing.py)",
          "session": "session files (drivers/session_file.py, reported separately)"}

# Numbers a damaged file may hold instead of a sane one.
SPECIAL_NUMBERS = ["0", "-0", "-1", "-7", "0.0", "1e308", "-1e308", "1e-320", "1e400", "nan", "NaN", "inf", "-inf",
                   "Infinity", "99999999999999999999999", "1000000000", "100000", "4294967296",
                   "9223372036854775808", "-9223372036854775809", "", "x", "1,5", "0x10", "1e9", "3.5", "2",
                   "9" * 5000]
NUMBER_TOKEN = re.compile(rb"[-+]?\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?")


# -- outcomes ------------------------------------------------------------------------------------
@dataclass
class Tally:
    target: str
    group: str
    counts: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    seconds: float = 0.0
    findings: dict = field(default_factory=dict)  # signature -> (kind, detail, case index, note)

    @property
    def cases(self) -> int:
        return sum(self.counts.values())

    @property
    def failures(self) -> int:
        return sum(self.counts[kind] for kind in FAILURES)

    def add(self, kind: str, detail: str, index: int, note: str) -> None:
        self.counts[kind] += 1
        if kind in FAILURES:
            signature = f"{kind}: {re.sub(r'[0-9]+', 'N', detail)[:120]}"
            self.findings.setdefault(signature, (kind, detail, index, note))


@dataclass
class Report:
    tallies: dict
    seed: int
    seconds: float

    def failures(self, group: str | None = None) -> int:
        return sum(t.failures for t in self.tallies.values() if group is None or t.group == group)

    def table(self) -> str:
        lines = []
        for group, title in GROUPS.items():
            tallies = [t for t in self.tallies.values() if t.group == group]
            if not tallies:
                continue
            lines += ["", title, f"{'target':10} {'cases':>7} " + " ".join(f"{k:>7}" for k in KINDS) + f" {'s':>8}"]
            for t in tallies:
                lines.append(f"{t.target:10} {t.cases:7d} " + " ".join(f"{t.counts[k]:7d}" for k in KINDS)
                             + f" {t.seconds:8.1f}")
        total = sum(t.cases for t in self.tallies.values())
        lines.append(f"\n{total} cases, seed {self.seed}, {self.seconds:.0f} s")
        for group, title in GROUPS.items():
            if any(t.group == group for t in self.tallies.values()):
                failures = self.failures(group)
                lines.append(f"{title.split(' (')[0]}: " + (f"{failures} failures" if failures else "no failures"))
        return "\n".join(lines)

    def findings(self, limit: int = 12) -> str:
        lines = []
        for t in self.tallies.values():
            for signature, (kind, detail, index, note) in list(t.findings.items())[:limit]:
                lines.append(f"{t.target} case {index} [{note}]: {kind}: {detail}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"seed": self.seed, "seconds": round(self.seconds, 1),
                "targets": {name: {"group": t.group, "cases": t.cases, **t.counts, "seconds": round(t.seconds, 1),
                                   "findings": [f"case {i} [{n}]: {k}: {d}" for k, d, i, n in t.findings.values()]}
                            for name, t in self.tallies.items()}}


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(error: BaseException) -> str:
    return _one_line(f"{type(error).__name__}: {error}")


def classify_error(error: Exception, path: Path) -> tuple[str, str]:
    """How a reader failed on ``path``: a clean DriverError, or one of the failure kinds."""
    from drivers import DriverError

    described = _describe(error).replace(str(path), "FILE")
    if not isinstance(error, DriverError):
        return "crash", described
    message = str(error)
    if "\n" in message.strip() or not message.startswith(str(path)):
        return "unnamed", described
    if getattr(error, "unexpected", None) or re.search(r": not a readable .* file \(.*\)$", message):
        return "raw", described
    if not re.search(r"[A-Za-z]{3,}", message[len(str(path)):]):
        return "unnamed", described  # the path and nothing said about it
    return "error", message.replace(str(path), "FILE")


def recording_problems(recording) -> list[str]:
    """What is unsound in a recording a reader returned (empty when it is fine)."""
    problems = []
    cells, info = recording.cells, recording.info
    n = cells.shape[0] if cells.ndim == 3 else 0
    if cells.ndim != 3 or n < 1:
        return [f"frames of shape {cells.shape}"]
    if cells.shape[1:] != (info.rows, info.cols):
        problems.append(f"frames {cells.shape[1:]} but info says {info.rows}x{info.cols}")
    for name in ("rate_hz", "pitch_x_mm", "pitch_y_mm", "cell_area_mm2"):
        value = getattr(info, name)
        if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value) and value > 0):
            problems.append(f"{name} = {value!r}")
    if len(recording.time_s) != n or len(recording.counter) != n:
        problems.append("times or counters do not match the frames")
    else:
        time_s = np.asarray(recording.time_s, dtype=np.float64)
        if not np.isfinite(time_s).all():
            problems.append("non-finite frame times")
        elif n > 1 and not (np.diff(time_s) > 0).all():
            problems.append("frame times do not increase")
    if cells.dtype.kind == "f" and np.isinf(cells).any():
        problems.append("infinite pressure values")
    if cells.dtype.kind == "f" and cells.size and np.nanmax(np.abs(cells), initial=0.0) > np.finfo(np.float32).max:
        problems.append("pressure values beyond float32")
    if info.foot_map is not None and info.foot_map.shape != (info.rows, info.cols):
        problems.append(f"foot map of shape {info.foot_map.shape}")
    for name, values in (recording.extras or {}).items():
        if len(values) != n:
            problems.append(f"extras[{name!r}] has {len(values)} values for {n} frames")
    return problems


# -- mutations -----------------------------------------------------------------------------------
def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def mutate_bytes(rng: random.Random, data: bytes, text: bool) -> tuple[bytes, str]:
    """One damage to ``data``; returns the damaged bytes and its name."""
    data = bytearray(data)
    n = len(data)
    choices = ["flip", "truncate", "insert", "zero", "splice", "number", "number", "number"]
    if text:
        choices += ["delete_lines", "duplicate_lines", "duplicate_lines", "swap_lines", "line_endings", "encoding",
                    "blank_lines"]
    kind = rng.choice(choices)
    if n == 0:
        kind = "insert"
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(n)
            data[i] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
    elif kind == "truncate":
        del data[rng.randrange(n):]
    elif kind == "insert":
        at = rng.randrange(n + 1)
        data[at:at] = rng.choice([bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))),
                                  b"\x00" * rng.randint(1, 64), b"\xff\xfe", b"\t\t\t", b",,,,", b"\r", b"\x0c",
                                  rng.choice(SPECIAL_NUMBERS).encode()])
    elif kind == "zero":
        at = rng.randrange(n)
        length = min(n - at, rng.choice([1, 8, 64, 512, 1024]))
        data[at:at + length] = bytes(length)
    elif kind == "splice":
        a, b = sorted(rng.randrange(n + 1) for _ in range(2))
        at = rng.randrange(n + 1)
        data[at:at] = data[a:b][:1 << 16]
    elif kind == "number":
        data = bytearray(_replace_number(rng, bytes(data)))
    elif kind in ("delete_lines", "duplicate_lines", "swap_lines", "blank_lines"):
        lines = _lines(bytes(data))
        i = rng.randrange(len(lines))
        count = rng.choice([1, 1, 1, 2, 5, 30])
        if kind == "delete_lines":
            del lines[i:i + count]
        elif kind == "duplicate_lines":
            lines[i:i] = lines[i:i + count] * rng.choice([1, 1, 2, 10])
        elif kind == "swap_lines":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i:i] = [b""] * count
        data = bytearray(b"\n".join(lines))
    elif kind == "line_endings":
        data = bytearray(bytes(data).replace(b"\n", rng.choice([b"\r\n", b"\r", b"\n\n", b""])))
    elif kind == "encoding":
        at = rng.randrange(n + 1)
        data[at:at] = rng.choice([b"\xef\xbb\xbf", b"\xff", b"\xc3\x28", b"\x00", "é²µ".encode(), "١٢".encode()])
    return bytes(data), kind


def _replace_number(rng: random.Random, data: bytes) -> bytes:
    """A number in ``data`` (often one in the header) replaced by a special one."""
    head = data[:2000] if rng.random() < 0.6 else data
    matches = list(NUMBER_TOKEN.finditer(head))
    if not matches:
        return data
    match = rng.choice(matches)
    new = rng.choice(SPECIAL_NUMBERS).encode()
    return data[:match.start()] + new + data[match.end():]


def mutate(rng: random.Random, data: bytes, text: bool = True) -> tuple[bytes, str]:
    """Damage ``data`` one to three times, or replace it by nothing or by random bytes."""
    roll = rng.random()
    if roll < 0.03:
        return b"", "empty"
    if roll < 0.07:
        return bytes(rng.randrange(256) for _ in range(rng.choice([1, 16, 300, 3000]))), "random bytes"
    if roll < 0.10:
        return data, "intact"
    names = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        data, name = mutate_bytes(rng, data, text)
        names.append(name)
    return data, "+".join(names)


# -- seed files ----------------------------------------------------------------------------------
def _frames(rng: random.Random, n=None, rows=None, cols=None, high=400.0) -> np.ndarray:
    gen = np.random.default_rng(rng.getrandbits(64))
    n = n or rng.randint(1, 5)
    rows, cols = rows or rng.randint(1, 6), cols or rng.randint(1, 6)
    frames = np.round(gen.uniform(0, high, size=(n, rows, cols)), 1)
    frames[gen.random(frames.shape) < 0.3] = 0.0
    return frames


def seed_npy(rng):
    frames = _frames(rng).astype(rng.choice([np.float32, np.float64, np.uint16, np.int32, ">f4"]))
    out = io.BytesIO()
    np.save(out, frames if rng.random() < 0.8 else np.asfortranarray(frames))
    return out.getvalue(), "frames.npy", "?pitch=5&rate=100"


def seed_csv(rng):
    frames = _frames(rng, n=rng.randint(2, 5))
    sep = rng.choice([",", ";", "\t", " "])
    if rng.random() < 0.5:
        text = "\n\n".join("\n".join(sep.join(f"{v:g}" for v in row) for row in frame) for frame in frames)
        return text.encode(), "frames.csv", "?pitch=5&rate=100"
    _, rows, cols = frames.shape
    text = "# one frame per line\n" + "\n".join(sep.join(f"{v:g}" for v in frame.ravel()) for frame in frames)
    return text.encode(), "frames.csv", f"?pitch=5&rate=100&rows={rows}&cols={cols}"


def seed_tekscan(rng):
    frames = _frames(rng, rows=rng.randint(2, 8), cols=rng.randint(2, 8))
    n, rows, cols = frames.shape
    insole = rng.random() < 0.7
    header = ["DATA_TYPE MOVIE", "VERSION Tekscan Pressure Measurement System 6.33",
              f"SENSOR_TYPE {'FSCAN' if insole else 'EVOLUTION'}", f"ROWS {rows}", f"COLS {cols}",
              "ROW_SPACING 5.08 mm", "COL_SPACING 5.08 mm", "SENSEL_AREA 25.8064 mm2", "NOISE_THRESHOLD 3",
              f"SECONDS_PER_FRAME {rng.choice(['0.032', '0.01', '0.002'])}", "SATURATION_PRESSURE 1514.73 KPa ",
              "START_FRAME 1", f"END_FRAME {n}", f"UNITS {rng.choice(['KPa', 'PSI', 'MPa'])}",
              f"MIRROR_ROW {rng.choice('01')}", "MIRROR_COL 0", "ASCII_DATA @@", ""]
    body = []
    first = rng.randint(1, 5)
    masked = np.random.default_rng(rng.getrandbits(32)).random((rows, cols)) < 0.2
    for k, frame in enumerate(frames):
        body.append(f"Frame {first + k}")
        body += [",".join("B" if masked[r, c] else f"{frame[r, c]:g}" for c in range(cols)) for r in range(rows)]
        body.append("")
    text = "\r\n".join(header + body + ["@@", ""])
    return text.encode("latin-1"), "walkL.asf", rng.choice(["", "", "?foot=right"])


def seed_xsensor(rng):
    n = rng.randint(2, 4)
    shapes = {"LF": (rng.randint(1, 5), rng.randint(1, 4)), "RF": None}
    shapes["RF"] = shapes["LF"] if rng.random() < 0.8 else (rng.randint(1, 5), rng.randint(1, 4))
    feet = ["LF", "RF"] if rng.random() < 0.8 else [rng.choice(["LF", "RF"])]
    width = 8
    pad = lambda fields: ",".join(map(str, fields)) + "," * (width - len(fields))  # noqa: E731
    lines = [pad(["File:", '"C:\\data\\walk.XSN"']), pad([]), pad(["Units:", "mmHg"]), pad([])]
    first = rng.randint(1, 2000)
    stamp = rng.uniform(0, 86000)
    step = rng.choice([13, 10, 7])
    for k in range(n):
        t = stamp + k * step / 1000
        clock = f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"
        lines += [pad(["FRAME", first + k]), pad(["Date", " 2022 Aug 16"]), pad(["Time", f" {clock}"]), pad([])]
        for foot in feet:
            rows, cols = shapes[foot]
            values = _frames(rng, n=1, rows=rows, cols=cols, high=3000)[0]
            lines += [pad(["SENSOR", f"HX210.11.31.M11-DFM-{foot} S0073"]), pad(["Rows", rows]),
                      pad(["Columns", cols]), pad(["Sensel Width (cm)", 0.86]), pad(["Sensel Height (cm)", 0.86]),
                      pad(["Est. Load (N)", 411.67]), pad(["SENSELS"])]
            lines += [pad([f"{v:g}" for v in row]) for row in values]
            if rng.random() < 0.3:
                lines += [pad(["GROUP", 1]), pad(["Rows", 1]), pad(["SENSELS"]), pad(["1"] * cols)]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"), "insoles.csv", ""


def seed_pedar(rng):
    frames = _frames(rng, n=rng.randint(2, 6), rows=2, cols=rng.randint(1, 6))
    n, _, per = frames.shape
    period = rng.choice([0.01, 0.02])
    header = ["file name:  walk.sol\tdate/time  25.04.23 10.49", "sensor type:  y-1865l ",
              f"total time [secs]:  {n * period:.3f}\ttime per frame [secs]:  {period:.5f}"
              + (f"\tscanning rate [Hz]:   {1 / period:g}" if rng.random() < 0.7 else ""),
              f"pressure values in  {rng.choice(['kPa', 'N/cm2'])}", "", ""]
    columns = "time[secs]    \t" + "\t".join(f"{i:7d}" for i in range(1, 2 * per + 1))
    rows = [f"{(k + 1) * period:12.5f}\t" + "\t".join(f"{v:7.3f}" for v in frame.ravel())
            for k, frame in enumerate(frames)]
    return ("\r\n".join(header + [columns] + rows) + "\r\n").encode("latin-1"), "insoles.asc", ""


def seed_emed(rng):
    rows, cols = rng.randint(2, 12), rng.randint(2, 12)
    frames = _frames(rng, rows=rows, cols=cols)
    base = rng.choice([0, 1])
    lines = ["Novel emed export", f"Matrix: {cols}x{rows}", "Sensor area: 0.25 cm²",
             f"Time/picture: {rng.choice(['10.0', '5', '20.0'])} ms", ""]
    for number, frame in enumerate(frames, start=1):
        lines.append(f"Pict-No.: {number}")
        r_idx, c_idx = np.nonzero(frame > 0)
        if len(r_idx):
            r0, r1, c0, c1 = r_idx.min(), r_idx.max() + 1, c_idx.min(), c_idx.max() + 1
            window = frame[r0:r1, c0:c1]
            lines.append("\t" + "\t".join(str(c + base) for c in range(c0, c1)) + "\tForce")
            for r in range(r0, r1):
                lines.append(f"{r + base}\t" + "\t".join(f"{v:.1f}" for v in window[r - r0])
                             + f"\t{window[r - r0].sum() * 0.025:.2f}")
            lines.append("Force\t" + "\t".join(f"{v:.2f}" for v in window.sum(axis=0) * 0.025)
                         + f"\t{window.sum() * 0.025:.2f}")
        lines.append("")
    return "\n".join(lines).encode("latin-1"), "plate.lst", "?index_base=0" if base == 0 else ""


def seed_moticon(rng):
    n = rng.randint(2, 8)
    period = rng.choice([0.01, 0.01, 0.02])
    unit = rng.choice(["N/cm²", "N/cm²", "N/cm²", "kPa"])
    lines = ["# Start time: 27.09.2023 10:21:14.922", f"# Duration: 00:{n * period:06.3f}",
             "# Sensor insoles: Left SN5968, Right SN9171", f"# Size: {rng.randint(3, 12)}",
             "# Recording type: normal", "# Name: 230927_10:21:14", "# Notes: Some walking steps", "# Tag: normal"]
    columns = ["# time"]
    for side in ("left", "right"):
        columns += [f"{side} pressure {k}[{unit}]" for k in range(1, 17)]
        columns += [f"{side} acceleration {a}[g]" for a in "XYZ"] + [f"{side} angular {a}[dps]" for a in "XYZ"]
        columns += [f"{side} total force[N]", f"{side} center of pressure X[-0.5...+0.5]",
                    f"{side} center of pressure Y[-0.5...+0.5]"]
    lines.append("\t".join(columns + ["right steps[]", "left steps[]"]))
    for k in range(n):
        fields = [f"{k * period:.2f}"]
        for side in ("left", "right"):
            if 0 < k < n - 1 and rng.random() < 0.15:  # this insole sent nothing in this sample
                fields += [""] * 25
                continue
            fields += [f"{rng.choice([0, 0, rng.randint(1, 160)]) * 0.25:.2f}" for _ in range(16)]
            fields += [f"{rng.uniform(-1, 1):.6f}" for _ in range(3)] + [f"{rng.uniform(-5, 5):.6f}" for _ in range(3)]
            fields += [f"{rng.uniform(0, 900):.2f}", f"{rng.uniform(-0.5, 0.5):.6f}", f"{rng.uniform(-0.5, 0.5):.6f}"]
        lines.append("\t".join(fields + ["", ""]))
    text = "\n".join(lines) + "\n"
    return text.encode("utf-8"), "230927_102114.txt", rng.choice(["", "", "", "?sensor_area_cm2=10"])


def seed_iscan(rng):
    frames = _frames(rng, rows=rng.randint(2, 8), cols=rng.randint(2, 8), high=255)
    frames = np.round(frames)
    n, rows, cols = frames.shape
    raw = rng.random() < 0.7
    header = ["DATA_TYPE MOVIE", "VERSION Tekscan Pressure Measurement System 6.10I", "HARDWARE 102-B578",
              "MAP_VERSION 6.4", "FILENAME C:\\hand4\\hand4_index_45deg_hole35.fsx", "SENSOR_TYPE 6900",
              f"ROWS {rows}", f"COLS {cols}", "ROW_SPACING 0.127 centimeters", "COL_SPACING 0.127 centimeters",
              "SENSEL_AREA 0.016129 cm2", "NOISE_THRESHOLD 3", f"SECONDS_PER_FRAME {rng.choice(['0.1', '0.01'])}",
              "MICRO_SECOND 0", "TIME 12/2/2019 6:21:52.34PM", "START_FRAME 1", f"END_FRAME {n}",
              f"UNITS {'raw' if raw else 'KPa'}", "MIRROR_ROW 0", "MIRROR_COL 0", "ASCII_DATA @@", ""]
    masked = np.random.default_rng(rng.getrandbits(32)).random((rows, cols)) < 0.2
    body = []
    for k, frame in enumerate(frames):
        total = int(frame[~masked].sum())
        body.append(f"Frame {k + 1}, {k},, 12/2/2019 6:21:52.34PM,,,Raw Sum=,,{total}")
        body += [",".join("B" if masked[r, c] else f"{frame[r, c]:g}" for c in range(cols)) for r in range(rows)]
        body.append("")
    text = "\n".join(header + body + ["@@", ""])
    options = rng.choice(["?scale_kpa=0.5", "?scale_kpa=0.5", "?calibration=table.csv"]) if raw else ""
    return text.encode("latin-1"), "contact.csv", options


STAPPONE_COLUMNS = ["sole_id", "timestamp", "accel_x", "accel_y", "accel_z", "gyro_x", "gyro_y", "gyro_z", "magn_x",
                    "magn_y", "magn_z", *[f"pressure_{k:02d}" for k in range(1, 13)], "corrupt"]


def seed_stappone(rng):
    n = rng.randint(2, 8)
    soles = rng.sample(range(1, 5), rng.choice([1, 1, 2]))
    start, step = 1768494979568 + rng.randint(0, 10 ** 6), rng.choice([16, 10, 20])
    lines = [",".join(STAPPONE_COLUMNS)]
    for k in range(n):
        for sole in soles:
            imu = [rng.randint(-32768, 32767) for _ in range(6)] + [0, 0, 0]
            pressures = [rng.randint(100, 800) for _ in range(12)]
            lines.append(",".join(map(str, [sole, start + k * step, *imu, *pressures, 0])))
    data = "\n".join(lines).encode() + b"\n"
    if len(soles) == 2:
        name, options = "insoles.csv", [f"left_sole={soles[0]}"]
    else:  # the foot from the option, or from the file name
        name, options = rng.choice([("walkL.csv", []), ("walk_right.csv", []), ("insole.csv", ["foot=left"])])
    options += rng.choice([[], [], ["tare=1"]])
    return data, name, "?" + "&".join(options) if options else ""


def seed_pliance(rng):
    geometry = rng.random() < 0.7  # sensor centres on a grid (of two rows and columns at least), or none
    rows, cols = rng.randint(1 + geometry, 5), rng.randint(1 + geometry, 5)
    n = rng.randint(1, 5)
    period = rng.choice([0.04167, 0.02, 0.01])
    first = rng.randint(1, 4)
    sensors = list(range(first, first + rows * cols))
    frames = np.round(np.random.default_rng(rng.getrandbits(64)).uniform(0, 300, (n, len(sensors))), 3)
    lines = ["file name: 2112170R_1.mat date/time 17.06.23 15.21", "mat type s2160_001",
             f"total times [secs]: {10 * period:.3f} time per frame [secs]: {period:.5f} "
             f"scanning rate [Hz]: {round(1 / period)}", "pressure values in kPa", "", "", "electrical:",
             "time[secs]" + "".join(f"{s:8d}" for s in sensors)]
    t0 = rng.randint(0, 5)
    times = [(t0 + k + 1) * period for k in range(n)]
    lines += [f"{t:11.5f}" + "".join(f"{v:8.3f}" for v in frame) for t, frame in zip(times, frames)]
    lines += [f"{'MPP':>11}" + "".join(f"{v:8.3f}" for v in frames.max(axis=0)),
              f"{'MVP':>11}" + "".join(f"{v:8.3f}" for v in frames.mean(axis=0)), "", "",
              " time[secs] force[N]   x[cm]   y[cm]", ""]
    for k in range(t0 + n + 2):
        if rng.random() < 0.3:
            lines.append(f"{(k + 1) * period:11.5f}    0.000       -       -")
        else:
            lines.append(f"{(k + 1) * period:11.5f} {rng.uniform(0, 800):8.3f} {rng.uniform(0, 10):7.3f} "
                         f"{rng.uniform(0, 30):7.3f}")
    if geometry:
        pitch_x, pitch_y = rng.choice([0.528, 0.5, 1.0]), rng.choice([1.028, 0.5, 0.7])
        index = np.arange(len(sensors))
        col, row = index // rows, rows - 1 - index % rows  # numbered down each column, as the sample
        lines += ["", "", "sensor" + "".join(f"{s:9d}" for s in sensors), "corner[cm]"]
        for corner, (dx, dy) in enumerate([(0, 1), (0, 0), (1, 0), (1, 1)]):
            lines.append(f"x[{corner}]" + "".join(f"{(c + dx) * pitch_x:9.4f}" for c in col))
            lines.append(f"y[{corner}]" + "".join(f"{(r + dy) * pitch_y:9.4f}" for r in row))
        lines.append("x[c]" + "".join(f"{(c + 0.5) * pitch_x:9.4f}" for c in col))
        lines.append("y[c]" + "".join(f"{(r + 0.5) * pitch_y:9.4f}" for r in row))
        lines.append("area" + "".join(f"{pitch_x * pitch_y:9.4f}" for _ in sensors))
    text = "\r\n".join(lines) + "\r\n"
    return text.encode("latin-1"), "mat.asc", "" if geometry else "?sensor_area_cm2=0.5"


def footscan_sheet(rng) -> list[list]:
    """The cells of a small footscan "Dynamic Roll off" sheet (rows of str, float or None)."""
    height, width = rng.randint(1, 6), rng.randint(1, 6)
    side = rng.choice(["Left", "Right"])
    hertz = rng.choice([500.0, 250.0, 125.0])
    speeds = {"left": 0.0, "right": 0.0, side.lower(): hertz}
    sheet = [["Dynamic Roll offfor measurement: Barefoot_2"], ["Patient name: NA"],
             ["Measurement done on 07-07-2011"],
             [f"Scanning speed;  for the left foot: {speeds['left']:.2f} Hertz, for the right foot: "
              f"{speeds['right']:.2f} Hertz"], [], [f"{side} foot data"], [], [f"{side} rectangle position"]]
    for label, value in (("bottom", rng.randint(0, 60)), ("left", rng.randint(0, 60)), ("width", width),
                         ("height", height)):
        sheet += [[f"Rectangle {label}"], [float(value)]]
    sheet.append([])
    frames = _frames(rng, n=rng.randint(1, 5), rows=height, cols=width, high=30)
    for k, frame in enumerate(frames):
        sheet.append([f"Frame {k} ({k * 1000 / hertz:.2f} ms)"])
        sheet += [[float(v) for v in row] for row in frame]
        sheet.append([])
    return sheet


def seed_footscan(rng):
    return xls_workbook(footscan_sheet(rng)), "rolloff.xls", rng.choice(["", "", "", "?units=kpa&margin=0"])


# -- Excel 97-2003 workbooks (footscan) -----------------------------------------------------------
# Enough of BIFF8 and of the OLE2 compound document that holds it for xlrd to read one sheet of
# text and numbers: the fuzzer writes its own small workbooks and damages their structure.
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BIFF = {"BOF": 0x0809, "EOF": 0x000A, "DIMENSIONS": 0x0200, "NUMBER": 0x0203, "LABEL": 0x0204,
        "BOUNDSHEET": 0x0085, "CODEPAGE": 0x0042, "CONTINUE": 0x003C, "SST": 0x00FC, "LABELSST": 0x00FD,
        "RK": 0x027E, "MULRK": 0x00BD, "FORMULA": 0x0006, "ROW": 0x0208, "XF": 0x00E0}


def _biff(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def xls_workbook(cells: list[list], sheet: str = "Test") -> bytes:
    """A BIFF8 workbook of one sheet, in an OLE2 compound document: ``cells`` is a list of rows of
    str (a LABEL), float (a NUMBER) or None (no cell)."""
    ncols = max((len(row) for row in cells), default=0)
    body = [_biff(BIFF["BOF"], struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 6)),
            _biff(BIFF["DIMENSIONS"], struct.pack("<IIHHH", 0, len(cells), 0, ncols, 0))]
    for r, row in enumerate(cells):
        for c, value in enumerate(row):
            if isinstance(value, str):
                text = value.encode("latin-1", "replace")[:255]
                body.append(_biff(BIFF["LABEL"], struct.pack("<HHHHB", r, c, 0, len(text), 0) + text))
            elif value is not None:
                body.append(_biff(BIFF["NUMBER"], struct.pack("<HHHd", r, c, 0, value)))
    body.append(_biff(BIFF["EOF"]))
    name = sheet.encode("latin-1")
    head = [_biff(BIFF["BOF"], struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6)),
            _biff(BIFF["CODEPAGE"], struct.pack("<H", 1200))]
    offset = sum(map(len, head)) + 4 + 8 + len(name) + 4  # where the sheet's BOF starts
    head += [_biff(BIFF["BOUNDSHEET"], struct.pack("<IBBBB", offset, 0, 0, len(name), 0) + name), _biff(BIFF["EOF"])]
    return ole2(b"".join(head) + b"".join(body))


def ole2(stream: bytes, name: str = "Workbook") -> bytes:
    """A compound document of 512-byte sectors holding one stream (padded to the 4096 bytes below
    which a stream would live in the mini stream): header, FAT, the stream, the directory."""
    size = max(len(stream), 4096)
    stream = stream.ljust(-(-size // 512) * 512, b"\0")
    data_sectors = len(stream) // 512
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + data_sectors + 1:
        fat_sectors += 1
    first, directory = fat_sectors, fat_sectors + data_sectors
    fat = [-3] * fat_sectors + list(range(first + 1, directory)) + [-2, -2]
    fat += [-1] * (fat_sectors * 128 - len(fat))
    difat = list(range(fat_sectors)) + [-1] * (109 - fat_sectors)
    header = (OLE2_SIGNATURE + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
              + struct.pack("<9i", 0, fat_sectors, directory, 0, 4096, -2, 0, -2, 0) + struct.pack("<109i", *difat))

    def entry(title: str, kind: int, child: int, start: int, length: int) -> bytes:
        encoded = title.encode("utf-16-le") + b"\0\0" if title else b""
        return (encoded.ljust(64, b"\0") + struct.pack("<HBBiii", len(encoded), kind, 1, -1, -1, child)
                + bytes(36) + struct.pack("<iII", start, length, 0))

    entries = entry("Root Entry", 5, 1, -2, 0) + entry(name, 2, -1, first, size) + entry("", 0, -1, -1, 0) * 2
    return header + struct.pack(f"<{len(fat)}i", *fat) + stream + entries


@functools.lru_cache(maxsize=8)
def _xls_layout(data: bytes) -> dict:
    """Where the parts of an (intact) workbook lie in ``data``, for damage that keeps its length:
    the file offsets of the FAT sectors, of the directory entries, and of each BIFF record of the
    Workbook stream as (type, offset, length)."""
    layout = {"fat": [], "entries": [], "records": [], "sectors": max(0, (len(data) - 512) // 512)}
    if len(data) < 512 or data[:8] != OLE2_SIGNATURE:
        return layout
    sectors = layout["sectors"]
    fat: list[int] = []
    for sid in struct.unpack("<109i", data[76:512]):
        if 0 <= sid < sectors:
            layout["fat"].append(512 + 512 * sid)
            fat += struct.unpack("<128i", data[512 + 512 * sid: 1024 + 512 * sid])

    def chain(sid: int) -> list[int]:
        found: list[int] = []
        while 0 <= sid < min(sectors, len(fat)) and len(found) < sectors and sid not in found[-1:]:
            found.append(sid)
            sid = fat[sid]
        return found

    stream = None
    for sid in chain(struct.unpack("<i", data[48:52])[0])[:64]:
        for k in range(4):
            at = 512 + 512 * sid + 128 * k
            layout["entries"].append(at)
            if data[at:at + 16].lower() == "workbook".encode("utf-16-le"):
                stream = struct.unpack("<iI", data[at + 116:at + 124])
    if stream is None:
        return layout
    offsets = [512 + 512 * sid for sid in chain(stream[0])]
    body = b"".join(data[o:o + 512] for o in offsets)[:stream[1]]
    position = 0
    while position + 4 <= len(body):
        kind, size = struct.unpack_from("<HH", body, position)
        if kind == 0 and size == 0:
            break  # the padding after the last record
        if position % 512 <= 508:  # a record header within one sector
            layout["records"].append((kind, offsets[position // 512] + position % 512, size))
        position += 4 + size
    return layout


SPECIAL_INTS = [0, 1, 2, -1, -2, -3, -4, 0x7FFF, 0xFFFF, 0x10000, 2 ** 31 - 1, -2 ** 31]
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -1.0, 0.0, 0.5, 2.5, 1e300, -1e300, 1e-320, 2.0 ** 53, 65536.0,
                  65537.0, 1e9, 3.5e38, 1e39]


def _mutate_xls(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """A damaged workbook structure that keeps the file's length: a compound-document header
    field, FAT entry or directory entry, or a BIFF record's type, length or contents."""
    layout = _xls_layout(data)
    sectors = layout["sectors"]
    data = bytearray(data)
    choices = ["header"] + ["fat"] * bool(layout["fat"]) + ["directory"] * bool(layout["entries"])
    choices += ["record"] * 4 * bool(layout["records"])
    kind = rng.choice(choices) if len(data) >= 512 else "header"
    ints = SPECIAL_INTS + [sectors - 1, sectors, sectors + 1, rng.randrange(max(1, sectors))]
    if kind == "header" and len(data) >= 80:
        name, at, size = rng.choice([("sector shift", 30, 2), ("mini sector shift", 32, 2), ("FAT sectors", 44, 4),
                                     ("directory sector", 48, 4), ("mini cutoff", 56, 4), ("mini FAT", 60, 4),
                                     ("mini FAT sectors", 64, 4), ("DIFAT sector", 68, 4), ("DIFAT sectors", 72, 4),
                                     ("FAT sector", 76, 4), ("second FAT sector", 80, 4)])
        value = rng.choice([0, 6, 7, 8, 10, 12, 16, 20, 21, 255, 0xFFFF] if size == 2 else ints)
        data[at:at + size] = (value & (1 << 8 * size) - 1).to_bytes(size, "little")
        kind = f"header {name}"
    elif kind == "fat":
        at = rng.choice(layout["fat"]) + 4 * rng.randrange(min(128, sectors + 2))
        sid = (at - 512) // 4 % 128
        data[at:at + 4] = struct.pack("<i", rng.choice(ints + [sid, sid - 1]))
    elif kind == "directory":
        at = rng.choice(layout["entries"])
        field_name, offset, size = rng.choice([("name length", 64, 2), ("type", 66, 1), ("left", 68, 4),
                                               ("right", 72, 4), ("child", 76, 4), ("start", 116, 4),
                                               ("size", 120, 4), ("size", 120, 4)])
        value = rng.choice(ints + [4095, 4097, 64, 0x80000000])
        data[at + offset:at + offset + size] = (value & (1 << 8 * size) - 1).to_bytes(size, "little")
        kind = f"directory {field_name}"
    elif kind == "record":
        record, at, size = rng.choice(layout["records"])
        what = rng.choice(["type", "length", "length", "contents", "contents", "contents"])
        if what == "type":
            data[at:at + 2] = struct.pack("<H", rng.choice([*BIFF.values(), rng.randrange(0x10000)]))
        elif what == "length":
            new = rng.choice([0, 1, size - 1, size + 1, size + 4, 0xFFFF, 8224, 8225, rng.randrange(0x10000)])
            data[at + 2:at + 4] = struct.pack("<H", new % 0x10000)
        elif record == BIFF["NUMBER"] and size >= 14 and rng.random() < 0.6:
            data[at + 10:at + 18] = struct.pack("<d", rng.choice(SPECIAL_FLOATS))
            what = "number"
        elif record in (BIFF["NUMBER"], BIFF["LABEL"], BIFF["DIMENSIONS"], BIFF["ROW"], BIFF["RK"]) and size >= 4 \
                and rng.random() < 0.6:  # a row or column index (DIMENSIONS: the first and last row)
            offset = rng.choice([0, 2] if record != BIFF["DIMENSIONS"] else [0, 4, 8, 10])
            width = 4 if record == BIFF["DIMENSIONS"] and offset < 8 else 2
            value = rng.choice([0, 1, 255, 256, 0xFFFF, 0x10000, 2 ** 20, 2 ** 31 - 1, 2 ** 32 - 1])
            data[at + 4 + offset:at + 4 + offset + width] = (value % (1 << 8 * width)).to_bytes(width, "little")
            what = "index"
        elif size:
            for _ in range(rng.randint(1, 4)):
                data[at + 4 + rng.randrange(size)] = rng.randrange(256)
        kind = f"record {what}"
    return bytes(data), f"xls {kind}"


def _mutate_sheet(rng: random.Random, sheet: list[list]) -> tuple[list[list], str]:
    """Damage to what a sheet holds (its cells), one to three times; the workbook stays sound."""
    sheet = [list(row) for row in sheet]
    names = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        kind = rng.choice(["value", "value", "label", "label", "rows", "rows", "width"])
        if not sheet:
            sheet, kind = [[]], "rows"
        numbers = [(r, c) for r, row in enumerate(sheet) for c, v in enumerate(row) if isinstance(v, float)]
        labels = [(r, c) for r, row in enumerate(sheet) for c, v in enumerate(row) if isinstance(v, str)]
        if kind == "value" and numbers:
            r, c = rng.choice(numbers)
            sheet[r][c] = rng.choice(SPECIAL_FLOATS + [None, "", "x", rng.choice(SPECIAL_NUMBERS)[:200]])
        elif kind == "label" and labels:
            r, c = rng.choice(labels)
            text = sheet[r][c]
            if NUMBER_TOKEN.search(text.encode()) and rng.random() < 0.7:
                text = _replace_number(rng, text.encode("latin-1")).decode("latin-1")[:255]
            else:
                other = rng.choice(labels)
                text = rng.choice(["", " ", text.upper(), text[: len(text) // 2], sheet[other[0]][other[1]], None, 7.0])
            sheet[r][c] = text
        elif kind == "rows":
            i = rng.randrange(len(sheet))
            count = rng.choice([1, 1, 2, 5])
            how = rng.choice(["delete", "duplicate", "swap", "blank"])
            if how == "delete":
                del sheet[i:i + count]
            elif how == "duplicate":
                sheet[i:i] = [list(row) for row in sheet[i:i + count]] * rng.choice([1, 2])
            elif how == "swap":
                j = rng.randrange(len(sheet))
                sheet[i], sheet[j] = sheet[j], sheet[i]
            else:
                sheet[i:i] = [[] for _ in range(count)]
            kind = f"{how} rows"
        else:
            i = rng.randrange(len(sheet))
            if sheet[i] and rng.random() < 0.5:
                sheet[i].pop()
            else:
                sheet[i].append(rng.choice([0.0, 1.0, "x"]))
            kind = "width"
        names.append(kind)
    return sheet, "+".join(names)


# Real samples per target (relative to ../shared/data), with the URL options they need.
REAL = {
    "csv": [("mun104_template/MUN104L.csv", "?pitch=5&rate=100"),
            ("mun104_template/MUN104R.csv", "?pitch=5&rate=100&rows=1&cols=27"),
            ("pressuRe_extdata/iscan_test.csv", "?pitch=5&rate=100"),
            ("pressuRe_extdata/stappone_example.csv", "?pitch=5&rate=100")],
    "tekscan": [("tekscan_fscan/FrasP01L.asf", ""), ("tekscan_fscan/FrasP01R.asf", "")],
    "xsensor": [("xsensor_insole/xsensor_data.csv", "")],
    "pedar": [("novel_pedar/pedar_example.asc", ""), ("pressuRe_extdata/pliance_test.asc", "")],
    "emed": [("pressuRe_extdata/emed_test.lst", "")],
    "moticon": [("moticon_opengo/230927_102114.txt", "")],
    "iscan": [("pressuRe_extdata/iscan_test.csv", "?scale_kpa=0.5")],
    "stappone": [("pressuRe_extdata/stappone_example.csv", "?foot=left")],
    "pliance": [("pressuRe_extdata/pliance_test.asc", "")],
    "footscan": [("pressuRe_extdata/footscan_test.xls", "")],
}
SEEDS: dict[str, Callable] = {"npy": seed_npy, "csv": seed_csv, "tekscan": seed_tekscan, "xsensor": seed_xsensor,
                              "pedar": seed_pedar, "emed": seed_emed, "moticon": seed_moticon, "iscan": seed_iscan,
                              "stappone": seed_stappone, "pliance": seed_pliance, "footscan": seed_footscan}
BINARY = ("npy", "footscan")  # targets whose files are not text: no line damage
OPTION_VALUES = ["0", "-1", "nan", "inf", "1e400", "1e-320", "x", ""]


# -- cases ---------------------------------------------------------------------------------------
@dataclass
class Context:
    folder: Path
    real_share: float
    real: dict = field(default_factory=dict)  # target -> [(bytes, name, options)]
    session_seed: bytes = b""


def load_real_samples(targets) -> dict:
    real = {}
    if not SHARED_DATA.is_dir():
        return real
    for target in targets:
        for relative, options in REAL.get(target, []):
            path = SHARED_DATA / relative
            if path.is_file():
                real.setdefault(target, []).append((path.read_bytes(), path.name, options))
    return real


@dataclass
class FileCase:
    data: bytes
    name: str
    options: str
    note: str


def make_file_case(target: str, rng: random.Random, context: Context) -> FileCase:
    if context.real.get(target) and rng.random() < context.real_share:
        data, name, options = rng.choice(context.real[target])
        note = f"real {name}"
    else:
        if target == "footscan" and rng.random() < 0.3:  # a sound workbook of damaged cells
            sheet, how = _mutate_sheet(rng, footscan_sheet(rng))
            return FileCase(xls_workbook(sheet), "rolloff.xls", "", f"seed, sheet {how}")
        data, name, options = SEEDS[target](rng)
        note = "seed"
    if target == "npy" and rng.random() < 0.35:
        data, how = _mutate_npy_header(rng, data)
    elif target == "footscan" and rng.random() < 0.4:
        data, how = _mutate_xls(rng, data)
    else:
        data, how = mutate(rng, data, text=target not in BINARY)
    if options and rng.random() < 0.03:  # a damaged option: the URL parser must refuse it cleanly
        key = rng.choice(re.findall(r"(\w+)=", options))
        options = re.sub(rf"{key}=[^&]*", f"{key}={rng.choice(OPTION_VALUES)}", options)
        how += f", option {key}"
    return FileCase(data, name, options, f"{note}, {how}")


def _mutate_npy_header(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """A damaged .npy header: shapes, types and the header's own syntax."""
    end = data.find(b"\n") + 1 or len(data)
    header, body = data[:end], data[end:]
    kind = rng.choice(["shape", "shape", "descr", "open", "order", "length", "version"])
    if kind == "shape":
        values = rng.choice(["(0, 3, 4)", "(3, 0, 4)", "(-1, 4, 5)", "(1000000000, 100, 100)",
                             "(100000, 100000, 1)", "(2, 3)", "(2, 3, 4, 5)", "()", "(3,)", "(10**30, 2, 2)",
                             "(9223372036854775807, 2, 2)", "(1, 1, 1)", "('a', 2, 2)", "(2.5, 2, 2)"])
        header = re.sub(rb"'shape': \([^)]*\)", f"'shape': {values}".encode(), header)
    elif kind == "descr":
        descr = rng.choice(["'|O'", "'<c8'", "'<U4'", "'|V8'", "'>f8'", "'<M8[s]'", "'|b1'", "'<f2'", "'zz'",
                            "[('a', '<f4')]", "'|S3'"])
        header = re.sub(rb"'descr': '[^']*'", f"'descr': {descr}".encode(), header)
    elif kind == "open":
        header = header.replace(b"}", b" ").replace(b")", b" ", rng.randint(0, 1))
    elif kind == "order":
        header = header.replace(b"False", rng.choice([b"True", b"None", b"0"]))
    elif kind == "length":
        header = header[:8] + bytes([rng.randrange(256), rng.randrange(256)]) + header[10:]
    else:
        header = header[:6] + bytes([rng.choice([0, 2, 3, 9]), 0]) + header[8:]
    return header + body, f"npy {kind}"


def quietly(function: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """``function``'s outcome; a warning it printed makes a clean outcome ``bad`` (a user would see
    it on stderr beside the one error line)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kind, detail = function()
    if caught and kind in ("ok", "error"):
        first = caught[0]
        return "bad", _one_line(f"printed a warning: {first.category.__name__}: {first.message}")
    return kind, detail


def run_file_case(case: FileCase, folder: Path) -> tuple[str, str]:
    return quietly(lambda: _run_file_case(case, folder))


def _run_file_case(case: FileCase, folder: Path) -> tuple[str, str]:
    import drivers

    path = folder / case.name
    path.write_bytes(case.data)
    try:
        recording = drivers.load(f"{path}{case.options}")
    except CaseTimeout:
        raise
    except Exception as error:  # noqa: BLE001 - classifying is the point
        return classify_error(error, path)
    problems = recording_problems(recording)
    return ("bad", "; ".join(problems)) if problems else ("ok", "")


# -- session files -------------------------------------------------------------------------------
def make_session_seed(folder: Path) -> bytes:
    """A short simulated capture through the real capture path (as ``pressure capture ... --no-live``)."""
    from pressure.pipeline import capture

    path = folder / "seed-capture.h5"
    capture("sim://standing?speed=0&duration=0.3", path)
    return path.read_bytes()


SESSION_EDITS = ["rate list", "rate zero", "rate nan", "rate text", "pitch negative", "no time", "no frame",
                 "short time", "pressure 2d", "no pressure", "scale text", "foot map wrong", "counters text",
                 "no rate", "huge rate", "time backwards", "pressure float inf"]


def make_session_case(rng: random.Random, context: Context) -> FileCase:
    if rng.random() < 0.25:
        return FileCase(context.session_seed, "session.h5", "", f"edit {rng.choice(SESSION_EDITS)}")
    data, how = mutate(rng, context.session_seed, text=False)
    return FileCase(data, "session.h5", "", how)


def _edit_session(path: Path, edit: str) -> None:
    import h5py

    with h5py.File(path, "r+") as f:
        n = f["pressure"].shape[0]
        if edit == "rate list":
            f.attrs["rate_hz"] = [100.0, 200.0]
        elif edit == "rate zero":
            f.attrs["rate_hz"] = 0.0
        elif edit == "rate nan":
            f.attrs["rate_hz"] = np.nan
        elif edit == "rate text":
            f.attrs["rate_hz"] = "fast"
        elif edit == "huge rate":
            f.attrs["rate_hz"] = 1e308 * 10
        elif edit == "no rate":
            del f.attrs["rate_hz"]
        elif edit == "pitch negative":
            f.attrs["pitch_x_mm"] = -5.0
        elif edit in ("no time", "no frame"):
            del f[edit.split()[1]]
        elif edit == "short time":
            data = f["time"][: n // 2]
            del f["time"]
            f.create_dataset("time", data=data)
        elif edit == "time backwards":
            f["time"][...] = f["time"][...][::-1]
        elif edit == "pressure 2d":
            del f["pressure"]
            f.create_dataset("pressure", data=np.zeros((3, 4)))
        elif edit == "pressure float inf":
            del f["pressure"]
            f.create_dataset("pressure", data=np.full((n, 4, 4), np.inf, np.float32))
        elif edit == "no pressure":
            del f["pressure"]
        elif edit == "scale text":
            f["pressure"].attrs["scale_factor"] = "much"
        elif edit == "foot map wrong":
            f.create_dataset("foot_map", data=np.zeros((2, 2), np.int8))
        elif edit == "counters text":
            f.attrs["frames_dropped"] = "many"


def run_session_case(case: FileCase, folder: Path) -> tuple[str, str]:
    if case.note.startswith("edit "):
        path = folder / case.name
        path.write_bytes(case.data)
        _edit_session(path, case.note[5:])
        case = FileCase(path.read_bytes(), case.name, case.options, case.note)
    return run_file_case(case, folder)


# -- serial framings -----------------------------------------------------------------------------
@dataclass
class ParserCase:
    framing: str
    rows: int
    cols: int
    cell_type: str
    options: dict
    data: bytes
    cuts: list
    note: str


FRAMING_TYPES = {"binary": ["uint8", "uint16", "int16", "int32", "uint32", "float32", "float64"],
                 "trailer": ["uint8", "uint16"], "rle": ["uint8"], "poll": ["uint8", "uint16"],
                 "lines": ["uint8", "uint16", "int16", "int32", "uint32"]}


def make_parser_case(framing: str, rng: random.Random) -> ParserCase:
    from drivers import framing as fr

    rows, cols = rng.randint(1, 10), rng.randint(1, 10)
    cell_type = rng.choice(FRAMING_TYPES[framing])
    dtype = np.dtype(fr.CELL_TYPES[cell_type])
    gen = np.random.default_rng(rng.getrandbits(64))
    high = {"rle": 255, "lines": 1024}.get(framing, 255 if dtype.itemsize == 1 else 60000)
    sent = [gen.integers(0, high, size=(rows, cols)).astype(dtype) for _ in range(rng.randint(1, 8))]
    if rng.random() < 0.2:
        sent[rng.randrange(len(sent))][:] = 0
    options: dict = {}
    if framing == "binary":
        stream = b"".join(fr.encode_binary(c, i, i * 10_000) for i, c in enumerate(sent))
    elif framing == "trailer":
        marker = rng.choice([b"\xff\xfe\xfe\xff", b"\xff\xfe\xfe\xff", b"\xaa\x55", b"\x0d\x0a"])
        options["marker"] = marker.hex()
        stream = b"".join(fr.encode_trailer(c, marker) for c in sent)
    elif framing == "rle":
        stream = b"".join(fr.encode_rle(c) for c in sent)
    elif framing == "poll":
        stream = b"".join(c.astype(dtype.newbyteorder("<")).tobytes() for c in sent)
    else:
        order, active = rng.choice(["row", "col"]), rng.choice(["high", "low"])
        options.update(order=order, active=active, full_scale=str(rng.choice([1023, 1023, 4095, 0, 2 ** 40])))
        per_row = rng.random() < 0.6
        stream = b"".join(fr.encode_lines(c, per_row=per_row, order=order, active=active,
                                          full_scale=int(options["full_scale"])) for c in sent)
    roll = rng.random()
    if roll < 0.08:
        data, note = bytes(rng.randrange(256) for _ in range(rng.choice([10, 1000, 20_000]))), "random bytes"
    elif roll < 0.12:
        filler = rng.choice([b"7", b"1,", b"\x01", b"\x00\x05", b"\xaa\x55\x5a\xa5"])
        data, note = stream + filler * rng.choice([50_000, 200_000]), "long run without a boundary"
    elif roll < 0.20:
        data, note = stream, "intact"
    else:
        data, notes = stream, []
        for _ in range(rng.choice([1, 1, 2, 3])):
            data, how = _mutate_stream(rng, data, framing)
            notes.append(how)
        note = "+".join(notes)
    n = len(data)
    style = rng.random()
    if style < 0.1:
        cuts = list(range(1, min(n, 3000)))  # byte by byte (the first 3000 bytes)
        note += ", byte by byte"
    else:
        cuts = sorted(rng.randrange(n + 1) for _ in range(rng.randint(0, 30))) if n else []
    return ParserCase(framing, rows, cols, cell_type, options, data, cuts, note)


def _mutate_stream(rng: random.Random, data: bytes, framing: str) -> tuple[bytes, str]:
    specials = {"binary": [b"\xaa\x55\x5a\xa5", b"\xaa\x55\x5a\xa5\x01"], "trailer": [b"\xff\xfe\xfe\xff", b"\xaa\x55"],
                "rle": [b"\x00\xff", b"\x00", b"\xff", b"\x00\x00"], "poll": [b"\x00", b"\xff\xff\xff"],
                "lines": [b"\n", b"\n\n", b"99999999999999999999999", b"9223372036854775808", b"-5", b"nan", b" , ",
                          b"1e3", b"\t"]}[framing]
    if rng.random() < 0.3 and data:
        at = rng.randrange(len(data) + 1)
        return data[:at] + rng.choice(specials) + data[at:], "special"
    return mutate_bytes(rng, data, text=framing == "lines")


def _wire_size(case: ParserCase) -> int:
    from drivers import framing as fr

    cells = case.rows * case.cols
    item = np.dtype(fr.CELL_TYPES[case.cell_type]).itemsize
    return {"binary": 4 + fr.HEADER.size + cells * item + 4, "trailer": cells * item + 4, "rle": 2 * cells + 1,
            "poll": cells * item, "lines": cells * 22 + case.rows + 2}[case.framing]


def run_parser_case(case: ParserCase) -> tuple[str, str]:
    return quietly(lambda: _run_parser_case(case))


def _run_parser_case(case: ParserCase) -> tuple[str, str]:
    from drivers.framing import make_parser

    try:
        parser = make_parser(case.framing, case.rows, case.cols, case.cell_type, **case.options)
        edges = sorted({0, len(case.data), *case.cuts})
        pieces, biggest = [], 0
        bound = 4 * _wire_size(case) + (16 << 10)
        for a, b in zip(edges, edges[1:]):
            pieces.extend(parser.feed(case.data[a:b]))
            biggest = max(biggest, b - a)
            if len(parser.buffer) > bound + biggest:
                return "bad", f"buffer holds {len(parser.buffer)} bytes (frames are {_wire_size(case)})"
        whole_parser = make_parser(case.framing, case.rows, case.cols, case.cell_type, **case.options)
        whole = whole_parser.feed(case.data)
    except CaseTimeout:
        raise
    except Exception as error:  # noqa: BLE001
        return "crash", _describe(error)
    for frame in pieces + whole:
        if frame.cells.shape != (case.rows, case.cols):
            return "bad", f"frame of shape {frame.cells.shape}, expected {(case.rows, case.cols)}"
    if len(pieces) != len(whole) or any(not np.array_equal(a.cells, b.cells) or a.counter != b.counter
                                        for a, b in zip(pieces, whole)):
        return "bad", f"{len(pieces)} frames in pieces, {len(whole)} whole: chunking changes the frames"
    if min(parser.corrupt, parser.resyncs) < 0:
        return "bad", "negative counters"
    return "ok", ""


# -- targets -------------------------------------------------------------------------------------
@dataclass
class Target:
    name: str
    group: str
    make: Callable  # (rng, context) -> case
    run: Callable  # (case, context) -> (kind, detail)
    isolate: bool = False


def targets() -> dict[str, Target]:
    found = {}
    for name in SEEDS:
        found[name] = Target(name, "readers", lambda rng, ctx, name=name: make_file_case(name, rng, ctx),
                             lambda case, ctx: run_file_case(case, ctx.folder))
    for framing in ("binary", "trailer", "rle", "poll", "lines"):
        found[framing] = Target(framing, "framing", lambda rng, ctx, framing=framing: make_parser_case(framing, rng),
                                lambda case, ctx: run_parser_case(case))
    found["session"] = Target("session", "session", lambda rng, ctx: make_session_case(rng, ctx),
                              lambda case, ctx: run_session_case(case, ctx.folder), isolate=True)
    return found


def case_rng(seed: int, target: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{target}:{index}")


# -- running with a time limit -------------------------------------------------------------------
class CaseTimeout(BaseException):
    """Raised inside a worker thread whose case ran over the time limit."""


def _interrupt(thread: threading.Thread, exception) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                               ctypes.py_object(exception) if exception else None)


class ThreadRunner:
    """Runs each case in a worker thread; a case over the limit is interrupted and is a hang.

    A case stuck in native code that holds the GIL stops this process too: a faulthandler
    watchdog then ends it with the stuck thread's traceback after ``hard_limit_s``.
    """

    def __init__(self, limit_s: float, grace_s: float = 2.0):
        self.limit_s, self.grace_s = limit_s, grace_s
        self.wedged = 0
        self._start()

    def _start(self) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._work, args=(self.jobs, self.results), daemon=True,
                                       name="fuzz-case")
        self.thread.start()

    @staticmethod
    def _work(jobs, results) -> None:
        while True:
            try:
                job = jobs.get()
                if job is None:
                    return
                number, function = job
                try:
                    outcome = function()
                except CaseTimeout:
                    outcome = ("hang", "")
                except Exception as error:  # noqa: BLE001
                    outcome = ("crash", _describe(error))
                results.put((number, outcome))
            except CaseTimeout:  # an interrupt that arrived after its case had ended
                continue

    def run(self, number: int, function: Callable) -> tuple[str, str]:
        faulthandler.dump_traceback_later(self.limit_s + self.grace_s + 30, exit=True)
        try:
            self.jobs.put((number, function))
            deadline = time.monotonic() + self.limit_s
            while True:
                try:
                    got, outcome = self.results.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if got == number:
                    return outcome
            _interrupt(self.thread, CaseTimeout)
            deadline = time.monotonic() + self.grace_s
            while True:
                try:
                    got, outcome = self.results.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    self.wedged += 1  # stuck in native code without the GIL: leave it, take a new worker
                    self._start()
                    return "hang", f"over {self.limit_s:g} s, and could not be interrupted (native code)"
                if got == number:
                    _interrupt(self.thread, None)  # clear an interrupt not yet delivered
                    kind, detail = outcome
                    return "hang", f"over {self.limit_s:g} s" + (f" (then {detail})" if detail else "")
        finally:
            faulthandler.cancel_dump_traceback_later()

    def close(self) -> None:
        self.jobs.put(None)


def _limit_memory(gigabytes: float | None) -> None:
    if not gigabytes:
        return
    import resource

    limit = int(gigabytes * (1 << 30))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _child(connection, target: Target, context: Context, seed: int, indices, memory_gb) -> None:
    """Forked worker: runs cases one after another, announcing each before it starts."""
    _limit_memory(memory_gb)
    for index in indices:
        case = target.make(case_rng(seed, target.name, index), context)
        connection.send(("start", index, case.note))
        try:
            outcome = target.run(case, context)
        except Exception as error:  # noqa: BLE001
            outcome = ("crash", _describe(error))
        connection.send(("done", index, outcome))
    connection.send(("end", None, None))


def run_isolated(target: Target, context: Context, seed: int, indices: range, limit_s: float, tally: Tally,
                 memory_gb: float | None, on_case: Callable | None = None) -> None:
    """Cases in a forked child process; a hang or a dead child costs one case, not the run."""
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    remaining = list(indices)
    while remaining:
        parent, child_end = fork.Pipe(duplex=False)
        process = fork.Process(target=_child, args=(child_end, target, context, seed, remaining, memory_gb),
                               daemon=True)
        process.start()
        child_end.close()
        current, note, started = None, "", time.monotonic()
        while True:
            wait = limit_s - (time.monotonic() - started) if current is not None else 60.0
            try:
                ready = parent.poll(max(0.0, wait))
                message = parent.recv() if ready else None
            except (EOFError, OSError):
                process.join(5)
                if current is None:
                    raise RuntimeError(f"fuzz worker for {target.name} died between cases "
                                       f"(exit {process.exitcode})") from None
                tally.add("crash", f"the process died (exit status {process.exitcode})", current, note)
                remaining = remaining[remaining.index(current) + 1:]
                break
            if message is None:
                process.kill()
                process.join()
                if current is None:
                    raise RuntimeError(f"fuzz worker for {target.name} did not start a case in 60 s")
                tally.add("hang", f"over {limit_s:g} s", current, note)
                remaining = remaining[remaining.index(current) + 1:]
                break
            what, index, payload = message
            if what == "start":
                current, note, started = index, payload, time.monotonic()
            elif what == "done":
                tally.add(*payload, index, note)
                if on_case:
                    on_case(target.name, index, note, *payload)
                current = None
            else:
                process.join()
                remaining = []
                break
        parent.close()


def run(cases: int = 2000, seed: int = 0, only: list[str] | None = None, limit_s: float = TIME_LIMIT_S,
        real_share: float = 0.1, isolate: bool = False, memory_gb: float | None = 4.0, keep: Path | None = None,
        first_case: int = 0, verbose: bool = False, progress: Callable[[Tally], None] | None = None) -> Report:
    """Throw ``cases`` inputs, shared evenly, at the chosen targets (all by default)."""
    # Every module under test is imported before the first case (and before any fork), so a run
    # tests one version of each even while its files are being edited.
    import drivers.framing  # noqa: F401
    import drivers.session_file  # noqa: F401
    from drivers.files import (csv_frames, emed, footscan, iscan, moticon, npy_frames, pedar, pliance,  # noqa: F401
                               session, stappone, tekscan, xsensor)
    try:
        import xlrd  # noqa: F401  (footscan's, imported when a workbook is first read)
    except ImportError:
        pass

    chosen = {name: t for name, t in targets().items() if not only or name in only}
    unknown = set(only or []) - set(targets())
    if unknown:
        raise SystemExit(f"unknown target(s) {', '.join(sorted(unknown))}; known: {', '.join(targets())}")
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        context = Context(folder, real_share, load_real_samples(chosen))
        if "session" in chosen:
            context.session_seed = make_session_seed(folder)
        tallies = {}
        share, extra = divmod(cases, len(chosen))
        for position, (name, target) in enumerate(chosen.items()):
            count = share + (position < extra)
            tally = tallies[name] = Tally(name, target.group)
            t0 = time.monotonic()
            indices = range(first_case, first_case + count)
            case_folder = folder / name
            case_folder.mkdir()
            target_context = Context(case_folder, real_share, context.real, context.session_seed)
            if target.isolate or isolate:
                run_isolated(target, target_context, seed, indices, limit_s, tally, memory_gb,
                             _print_failure if verbose else None)
            else:
                runner = ThreadRunner(limit_s)
                try:
                    for index in indices:
                        case = target.make(case_rng(seed, name, index), target_context)
                        kind, detail = runner.run(index, lambda case=case: target.run(case, target_context))
                        tally.add(kind, detail, index, case.note)
                        if verbose:
                            _print_failure(name, index, case.note, kind, detail)
                        if runner.wedged > 3:
                            print(f"{name}: stopped after {tally.cases} cases: cases stuck in native code",
                                  file=sys.stderr)
                            break
                finally:
                    runner.close()
            tally.seconds = time.monotonic() - t0
            if progress is not None:
                progress(tally)
            if keep is not None:
                _keep_findings(target, tally, target_context, seed, keep)
        return Report(tallies, seed, time.monotonic() - started)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _keep_findings(target: Target, tally: Tally, context: Context, seed: int, keep: Path) -> None:
    """Write each distinct failure's input to ``keep`` so it can be replayed."""
    keep.mkdir(parents=True, exist_ok=True)
    for kind, detail, index, note in tally.findings.values():
        case = target.make(case_rng(seed, target.name, index), context)
        stem = f"{target.name}-{index}-{kind}"
        if isinstance(case, FileCase):
            if case.note.startswith("edit "):
                (keep / case.name).write_bytes(case.data)
                _edit_session(keep / case.name, case.note[5:])
                data = (keep / case.name).read_bytes()
                (keep / case.name).unlink()
            else:
                data = case.data
            (keep / f"{stem}-{case.name}").write_bytes(data)
            info = {"options": case.options}
        else:
            (keep / f"{stem}.bin").write_bytes(case.data)
            info = {"framing": case.framing, "rows": case.rows, "cols": case.cols, "cell_type": case.cell_type,
                    "options": case.options, "cuts": case.cuts}
        info.update(note=note, outcome=f"{kind}: {detail}")
        (keep / f"{stem}.json").write_text(json.dumps(info, indent=1))


def _print_failure(target: str, index: int, note: str, kind: str, detail: str) -> None:
    if kind in FAILURES:
        print(f"{target} case {index} [{note}]: {kind}: {detail}", file=sys.stderr, flush=True)


def _progress(tally: Tally) -> None:
    counts = ", ".join(f"{kind} {tally.counts[kind]}" for kind in KINDS if tally.counts[kind])
    print(f"{tally.target}: {tally.cases} cases in {tally.seconds:.0f} s ({counts})", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases in all, shared evenly by the targets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--targets", default="", help=f"comma-separated, of: {', '.join(targets())}")
    parser.add_argument("--limit", type=float, default=TIME_LIMIT_S, help="seconds before a case is a hang")
    parser.add_argument("--real-share", type=float, default=0.1,
                        help="share of file cases that start from a real sample in ../shared/data")
    parser.add_argument("--isolate", action="store_true", help="run every target in forked workers")
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit (0: none)")
    parser.add_argument("--first-case", type=int, default=0, help="index of the first case (to replay one)")
    parser.add_argument("--keep", type=Path, help="write each distinct failing input here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each failure as it happens")
    args = parser.parse_args(argv)
    _limit_memory(args.memory_gb)
    report = run(args.cases, args.seed, [t for t in args.targets.split(",") if t], args.limit, args.real_share,
                 args.isolate, args.memory_gb, args.keep, args.first_case, args.verbose, _progress)
    print(report.table())
    findings = report.findings()
    if findings:
        print("\nfirst case of each distinct failure:\n" + findings)
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=1))
    return 1 if report.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
