"""From device values to kPa, and the cells that cannot be trusted.

A mat is calibrated linearly (its driver's ``scale_kpa``/``offset_kpa``, stored as CF
``scale_factor``/``add_offset``) or by a table of (device value, kPa) points measured on the mat,
interpolated linearly between points. Cells stuck at one loaded value, or saturated, for the
whole session are masked: they would otherwise look like a small foot or move every COP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

STUCK, SATURATED, NOT_A_SENSOR = 1, 2, 3


class CalibrationError(ValueError):
    pass


@dataclass(frozen=True)
class CalibrationTable:
    device: np.ndarray
    kpa: np.ndarray
    source: str

    @classmethod
    def from_csv(cls, path: Path) -> "CalibrationTable":
        """Two columns, device value and kPa; a header line and ``#`` comments are allowed."""
        points = []
        with open(path, encoding="utf-8-sig") as f:
            for number, line in enumerate(f, start=1):
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                fields = [v for v in text.replace(";", ",").replace("\t", ",").split(",") if v.strip()]
                try:
                    points.append((float(fields[0]), float(fields[1])))
                except (ValueError, IndexError):
                    if points:
                        raise CalibrationError(f"{path}: line {number} is not 'device value, kPa'") from None
        table = np.array(points, dtype=np.float64).reshape(-1, 2)
        if len(table) < 2:
            raise CalibrationError(f"{path}: a calibration table needs at least two points")
        if np.any(np.diff(table[:, 0]) <= 0):
            raise CalibrationError(f"{path}: device values must increase from line to line")
        if np.any(np.diff(table[:, 1]) < 0) or table[0, 1] < 0:
            raise CalibrationError(f"{path}: kPa must be >= 0 and must not decrease")
        return cls(table[:, 0], table[:, 1], str(path))

    def apply(self, cells: np.ndarray) -> np.ndarray:
        """kPa as float32; beyond the table's ends the end values hold (NaN stays NaN)."""
        return np.interp(cells, self.device, self.kpa).astype(np.float32)

    def describe(self) -> str:
        return f"table of {len(self.device)} points from {Path(self.source).name}"


def cell_mask(peak_kpa: np.ndarray, floor_kpa: np.ndarray, threshold_kpa: float,
              saturation_kpa: float | None) -> np.ndarray:
    """Per cell: 0 usable, STUCK (one loaded value all session, while other loaded cells change),
    SATURATED, NOT_A_SENSOR (NaN). A static image (nothing changes) has no stuck cells."""
    mask = np.zeros(peak_kpa.shape, np.int8)
    loaded = peak_kpa > threshold_kpa
    constant = loaded & (peak_kpa == floor_kpa)
    if (loaded & ~constant).any():
        mask[constant] = STUCK
    if saturation_kpa is not None:
        mask[floor_kpa >= saturation_kpa] = SATURATED
    mask[np.isnan(floor_kpa)] = NOT_A_SENSOR
    return mask


def fill_from_neighbours(frames: np.ndarray, cells: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """A copy of ``frames`` where each of ``cells`` (boolean image) reads, frame by frame, the
    mean of its usable 8-neighbours: a faulty cell under a foot keeps carrying its share."""
    repaired = frames.copy()
    rows, cols = frames.shape[1:]
    for r, c in zip(*np.nonzero(cells)):
        r0, r1, c0, c1 = max(r - 1, 0), min(r + 2, rows), max(c - 1, 0), min(c + 2, cols)
        neighbours = usable[r0:r1, c0:c1]
        if not neighbours.any():
            continue
        mean = frames[:, r0:r1, c0:c1][:, neighbours].astype(np.float64).mean(axis=1)
        repaired[:, r, c] = np.rint(mean) if frames.dtype.kind in "iu" else mean
    return repaired
