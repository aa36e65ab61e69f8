"""Footprints: per complete step, its peak and mean pressure images cropped to the foot.

A footprint is taken from one foot contact of an analysed mat recording: over the contact's frames
and on the contact's own cells only (so another foot, or the same spot stepped on again, never
leaks in), the highest pressure of each cell (``peak_kpa``) and its mean over the contact
(``mean_kpa``: its pressure-time integral over the contact's duration). The images are cropped
to the contact's cells with a margin of unloaded cells. Left feet are mirrored across the mat's
columns so that every footprint is a right foot (``mirrored``; ``side=`` chooses); the
heel-to-toe axis is carried along in the footprint's own frame, where cell (0, 0) sits at
(0, 0) mm.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from pressure.schema import FEET

MARGIN_CELLS = 2  # unloaded cells kept around the print, so that resampling sees the print's edge fall to zero


@dataclass(frozen=True)
class Footprint:
    """One foot contact's pressure images on the mat's cells, cropped around the print.

    ``axis`` is the heel-to-toe unit vector (x, y) in the footprint's frame (x = col * pitch_x_mm,
    y = row * pitch_y_mm, after mirroring when ``mirrored``); ``origin_mm`` is where the crop's
    cell (0, 0) lies on the mat (x, y), before any mirroring.
    """

    peak_kpa: np.ndarray  # (rows, cols)
    mean_kpa: np.ndarray  # (rows, cols)
    pitch_x_mm: float
    pitch_y_mm: float
    foot: str  # the foot it was: "left" or "right"
    mirrored: bool
    axis: np.ndarray
    origin_mm: tuple[float, float]
    source: str = ""
    contact: int = 0  # the contact's index in its analysis
    start_s: float = 0.0
    stance_s: float = 0.0

    @property
    def side(self) -> str:
        """The foot it now shows: the other one when mirrored."""
        return FEET[1 - FEET.index(self.foot)] if self.mirrored else self.foot

    def loaded(self, threshold_kpa: float = 0.0) -> np.ndarray:
        return self.peak_kpa > threshold_kpa


def mirrored(footprint: Footprint) -> Footprint:
    """The footprint flipped across its columns (x -> width - x): a left foot shown as a right one."""
    # Column c goes to cols - 1 - c: a direction keeps its y and changes the sign of its x.
    axis = np.array([-footprint.axis[0], footprint.axis[1]])
    return replace(footprint, peak_kpa=footprint.peak_kpa[:, ::-1].copy(), mean_kpa=footprint.mean_kpa[:, ::-1].copy(),
                   mirrored=not footprint.mirrored, axis=axis)


def as_side(footprint: Footprint, side: str) -> Footprint:
    """The footprint as a ``side`` foot: mirrored when it shows the other one."""
    if side not in FEET:
        raise ValueError(f"side must be one of {FEET}, got {side!r}")
    return footprint if footprint.side == side else mirrored(footprint)


def contact_images(kpa: np.ndarray, cells: np.ndarray, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Peak and mean pressure (kPa) of ``cells`` (flat indices) over frames ``first``..``last`` of
    ``kpa`` (time, rows, cols); every other cell is 0 and NaN counts as 0."""
    window = np.nan_to_num(kpa[first: last + 1].reshape(last - first + 1, -1)[:, cells], nan=0.0)
    peak = np.zeros(kpa.shape[1] * kpa.shape[2])
    mean = np.zeros_like(peak)
    peak[cells] = window.max(axis=0)
    mean[cells] = window.mean(axis=0)
    return peak.reshape(kpa.shape[1:]), mean.reshape(kpa.shape[1:])


def footprint_of(kpa: np.ndarray, contact, pitch_x_mm: float, pitch_y_mm: float, *, axis=None, time_s=None,
                 source: str = "", margin_cells: int = MARGIN_CELLS) -> Footprint:
    """The footprint of one ``FootContact`` (pressure.contacts.session) in frames ``kpa``."""
    peak, mean = contact_images(kpa, contact.raw.cells, contact.first, contact.last)
    rows, cols = np.divmod(contact.raw.cells, kpa.shape[2])
    r0, r1 = max(rows.min() - margin_cells, 0), rows.max() + margin_cells + 1
    c0, c1 = max(cols.min() - margin_cells, 0), cols.max() + margin_cells + 1
    pad = ((max(margin_cells - rows.min(), 0), max(rows.max() + margin_cells + 1 - kpa.shape[1], 0)),
           (max(margin_cells - cols.min(), 0), max(cols.max() + margin_cells + 1 - kpa.shape[2], 0)))
    crop = (slice(r0, r1), slice(c0, c1))
    peak, mean = np.pad(peak[crop], pad), np.pad(mean[crop], pad)
    axis = np.asarray(contact.heading.axis if axis is None else axis, float)
    origin = ((c0 - pad[1][0]) * pitch_x_mm, (r0 - pad[0][0]) * pitch_y_mm)
    start = float(time_s[contact.first]) if time_s is not None else 0.0
    stance = float(time_s[contact.last] - time_s[contact.first]) if time_s is not None else 0.0
    return Footprint(peak, mean, float(pitch_x_mm), float(pitch_y_mm), contact.foot, False, axis / np.hypot(*axis),
                     origin, source, int(contact.index), start, stance)


def footprints(recording, analysis=None, *, side: str | None = "right", complete_only: bool = True,
               margin_cells: int = MARGIN_CELLS) -> list[Footprint]:
    """The footprints of a recording's steps (complete ones only unless ``complete_only`` is
    False), each as a ``side`` foot (None: as it was). ``analysis`` is the second value of
    ``pressure.analysis.analyse(recording)``; it is computed when not given. Standing contacts
    and sources without positions (insoles, sensor sets) give none."""
    if analysis is None:
        from pressure.analysis import analyse

        _, analysis = analyse(recording)
    info = recording.info
    if not info.has_geometry or info.foot_map is not None:
        return []
    kpa = recording.kpa()
    found = []
    for contact, geometry in zip(analysis.contacts, analysis.geometries):
        if contact.kind != "step" or (complete_only and not contact.complete):
            continue
        axis = geometry.axis if geometry is not None else contact.heading.axis
        footprint = footprint_of(kpa, contact, info.pitch_x_mm, info.pitch_y_mm, axis=axis, time_s=recording.time_s,
                                 source=recording.source_url, margin_cells=margin_cells)
        found.append(as_side(footprint, side) if side is not None else footprint)
    return found
