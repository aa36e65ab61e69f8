"""``pair://LEFT|RIGHT``: the left and right insole files of one trial as one two-foot recording.

In-shoe systems often export each insole to its own file (Tekscan F-Scan ``...L.asf`` and
``...R.asf``). Side by side on one grid, a masked column apart, with a foot map saying which cells
are whose (as XSENSOR exports both insoles), the pair gives load share and symmetry like any
two-foot recording. Both files must have the same pitch and frame rate; they are taken to start
together (one trial) and the longer one is cut to the shorter. Each file is told its foot, so
file names need not say it; options on the pair URL (and the command line's fallbacks) go to both.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files import FileMat
from drivers.files.tekscan import foot_named
from drivers.recording import Recording
from drivers.url import PAIR_SCHEME, DriverURL

RATE_TOLERANCE = 0.01  # the two files' frame rates may differ by 1 % (rounding in the headers)


def pair_url(left: str, right: str) -> str:
    return f"{PAIR_SCHEME}{left}|{right}"


def split_pair(url: DriverURL) -> tuple[str, str]:
    if "|" in url.text and "|" not in url.path:  # the URL's options began before the bar
        raise DriverError(f"{url.text}: a pair's options go once, after the right file, and apply to both: "
                          "pair://LEFT|RIGHT?options")
    parts = url.path.split("|")
    if len(parts) != 2 or not all(parts):
        raise DriverError(f"{url.text}: a pair is pair://LEFT|RIGHT, two files")
    return parts[0], parts[1]


def combine_insoles(left: Recording, right: Recording, name: str) -> Recording:
    """Two one-insole recordings side by side on one grid: left, a masked column, right."""
    for what, a, b in (("pitch across", left.info.pitch_x_mm, right.info.pitch_x_mm),
                       ("pitch along", left.info.pitch_y_mm, right.info.pitch_y_mm)):
        if not np.isclose(a, b):
            raise DriverError(f"{name}: the insoles' {what} differ ({a:g} and {b:g} mm)")
    if abs(left.info.rate_hz - right.info.rate_hz) > RATE_TOLERANCE * left.info.rate_hz:
        raise DriverError(f"{name}: the insoles' frame rates differ ({left.info.rate_hz:g} and "
                          f"{right.info.rate_hz:g} Hz)")
    n = min(left.n_frames, right.n_frames)
    rows = max(left.info.rows, right.info.rows)
    cols = left.info.cols + 1 + right.info.cols
    cells = np.full((n, rows, cols), np.nan, np.float32)
    foot_map = np.full((rows, cols), -1, np.int8)
    for foot, recording, first_col in ((0, left, 0), (1, right, left.info.cols + 1)):
        kpa = recording.kpa()[:n]
        block = (slice(0, recording.info.rows), slice(first_col, first_col + recording.info.cols))
        cells[(slice(None), *block)] = kpa
        own = recording.info.foot_map
        sensing = np.isfinite(kpa).any(axis=0) if own is None else own >= 0
        foot_map[block] = np.where(sensing, foot, -1)
    info = MatInfo(rows=rows, cols=cols, pitch_x_mm=left.info.pitch_x_mm, pitch_y_mm=left.info.pitch_y_mm,
                   rate_hz=left.info.rate_hz, device=f"{left.info.device} (left) + {right.info.device} (right)",
                   dtype=np.float32, cell_area_mm2=left.info.cell_area_mm2, foot_map=foot_map,
                   has_geometry=left.info.has_geometry and right.info.has_geometry)
    # What both files say alike (the recording's date, its subject) is the pair's too; what one
    # file says of its own damage (a file cut off) is kept, naming the file.
    shared = {key: value for key, value in (left.attrs or {}).items() if (right.attrs or {}).get(key) == value}
    cut = [f"{Path(r.source_url.split('?')[0]).name}: {r.attrs['cut_short']}" for r in (left, right)
           if (r.attrs or {}).get("cut_short")]
    attrs = {**shared, "left_source": left.source_url, "right_source": right.source_url,
             "frames_cut_to_pair": int(max(left.n_frames, right.n_frames) - n),
             **({"cut_short": "; ".join(cut)} if cut else {})}
    counters = Counters(**{counter: getattr(left.counters, counter) + getattr(right.counters, counter)
                           for counter in vars(left.counters)})
    extras = {}
    forces = [r.extras.get("reported_force_n") if r.extras else None for r in (left, right)]
    if all(f is not None and np.ndim(f) == 1 for f in forces):
        extras["reported_force_n"] = np.stack([f[:n] for f in forces], axis=1)
    return Recording(cells, np.arange(n), left.time_s[:n] - left.time_s[0], info, counters, name, attrs,
                     extras or None)


def open_pair(url: DriverURL) -> FileMat:
    import drivers

    left_path, right_path = split_pair(url)
    if os.path.realpath(left_path) == os.path.realpath(right_path):
        raise DriverError(f"{url.text}: the same file as both feet; a pair is the LEFT and the RIGHT insole's files")
    for path, side in ((left_path, "left"), (right_path, "right")):
        named = foot_named(path) if Path(path).suffix.lower() == ".asf" else None
        if named not in (None, side):
            raise DriverError(f"{path}: named as the {named} insole but given as the {side}; give LEFT first, "
                              "then RIGHT")
    shared = {**url.fallbacks, **url.options}
    left = drivers.load(left_path, fallbacks={**shared, "foot": "left"})
    right = drivers.load(right_path, fallbacks={**shared, "foot": "right"})
    for path, recording in ((left_path, left), (right_path, right)):
        _one_insole(path, recording)
    return FileMat(combine_insoles(left, right, url.text))


def _one_insole(path: str, recording: Recording) -> None:
    """A file of a pair holds one insole: not both feet (their map would be overwritten by one
    foot), and not a floor mat's recording (two sessions side by side are no pair of feet)."""
    own = recording.info.foot_map
    if own is not None and len(np.unique(own[own >= 0])) > 1:
        raise DriverError(f"{path}: holds both feet; process it on its own, not as one of a pair")
    if own is None and recording.info.has_geometry:
        raise DriverError(f"{path}: a floor-mat recording, not one insole; a pair is the LEFT and the RIGHT "
                          "insole's files")
