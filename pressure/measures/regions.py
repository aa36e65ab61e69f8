"""Per region of a contact: the measures pedobarography reports, from the region's per-frame
force, contact area and peak pressure over the contact's own frames.

peak pressure (kPa): the highest cell pressure; mean pressure (kPa): force over contact area,
averaged over the frames the region is loaded; contact area (cm^2): the largest loaded area;
force (N): the highest force; force-time integral (N s) and pressure-time integral of the peak
pressure (kPa s); time of peak pressure (% of the contact); relative load (%): the region's
force-time integral over the whole contact's.
"""

from __future__ import annotations

import warnings

import numpy as np

from pressure.kernels.series_sums import feed_regions

REGION_MEASURES = ("peak_pressure", "mean_pressure", "contact_area", "force", "fti", "pti", "time_of_peak",
                   "relative_load")
N_PER_CM2_IN_KPA = 10.0


class RegionMeasures:
    """REGION_MEASURES of one contact's regions, fed its (frames, regions) series in order, a
    block of frames at a time (a standing contact of a day-long session is never held whole)."""

    def __init__(self, n_regions: int, rate_hz: float):
        self.dt = 1.0 / rate_hz
        self.frames = 0
        self.peak = np.full(n_regions, -np.inf)
        self.peak_frame = np.zeros(n_regions, np.int64)
        self.area = np.full(n_regions, -np.inf)
        self.force = np.full(n_regions, -np.inf)
        self.force_sum = np.zeros(n_regions)
        self.peak_sum = np.zeros(n_regions)
        self.pressure_sum = np.zeros(n_regions)
        self.loaded_frames = np.zeros(n_regions, np.int64)

    def feed(self, force_n: np.ndarray, area_cm2: np.ndarray, peak_kpa: np.ndarray) -> None:
        if len(force_n) == 0:
            return
        feed_regions(np.ascontiguousarray(force_n, np.float64), np.ascontiguousarray(area_cm2, np.float64),
                     np.ascontiguousarray(peak_kpa, np.float64), self.frames, N_PER_CM2_IN_KPA, self.peak,
                     self.peak_frame, self.area, self.force, self.force_sum, self.peak_sum, self.pressure_sum,
                     self.loaded_frames)
        self.frames += len(force_n)

    def merge(self, later: "RegionMeasures") -> None:
        """Adds what ``later`` was fed (the frames after these) as if it had been fed here."""
        later_peak = later.peak > self.peak
        self.peak_frame = np.where(later_peak, self.frames + later.peak_frame, self.peak_frame)
        self.peak = np.maximum(self.peak, later.peak)
        self.area = np.maximum(self.area, later.area)
        self.force = np.maximum(self.force, later.force)
        self.force_sum += later.force_sum
        self.peak_sum += later.peak_sum
        self.pressure_sum += later.pressure_sum
        self.loaded_frames += later.loaded_frames
        self.frames += later.frames

    def total_fti(self) -> float:
        """The force-time integral (N s) of all these regions together."""
        return float(self.force_sum.sum() * self.dt)

    def result(self, whole_fti: float | None = None) -> dict[str, np.ndarray]:
        """Each measure per region; NaN for a region never loaded. ``whole_fti``: the whole
        contact's force-time integral (N s), which the relative load is a share of, where these
        regions leave some of its cells out (by default their own sum)."""
        ever = self.loaded_frames > 0
        fti = self.force_sum * self.dt
        total = self.total_fti() if whole_fti is None else whole_fti
        with np.errstate(invalid="ignore", divide="ignore"):
            relative = 100.0 * fti / total if total > 0 else np.full(len(fti), np.nan)
            mean_pressure = self.pressure_sum / self.loaded_frames
        # One frame (a static print, such as a template image) lasts no time: it has no time
        # integrals and no time of peak (its PTI read as its peak times a made-up frame period).
        timed = 1.0 if self.frames > 1 else np.nan
        measures = {
            "peak_pressure": self.peak,
            "mean_pressure": mean_pressure,
            "contact_area": self.area,
            "force": self.force,
            "fti": fti * timed,
            "pti": self.peak_sum * self.dt * timed,
            "time_of_peak": 100.0 * self.peak_frame / max(self.frames - 1, 1) * timed,
            "relative_load": relative,
        }
        return {name: np.where(ever, values, np.nan) for name, values in measures.items()}


def contact_region_measures(force_n: np.ndarray, area_cm2: np.ndarray, peak_kpa: np.ndarray,
                            rate_hz: float) -> dict[str, np.ndarray]:
    """Each of REGION_MEASURES per region, from (frames, regions) series of one contact; NaN for
    a region never loaded."""
    measures = RegionMeasures(force_n.shape[1], rate_hz)
    measures.feed(force_n, area_cm2, peak_kpa)
    return measures.result()


def foot_region_means(per_contact: list[dict[str, np.ndarray]], feet: list[int], n_regions: int
                      ) -> dict[str, np.ndarray]:
    """(foot, region) means over the contacts given, each with its foot index (0 left, 1 right);
    NaN where a foot has none."""
    out = {}
    for name in REGION_MEASURES:
        table = np.full((2, n_regions), np.nan)
        for foot in (0, 1):
            rows = [measures[name] for measures, f in zip(per_contact, feet) if f == foot]
            if rows:
                with warnings.catch_warnings():  # a region none of them loaded: NaN says it
                    warnings.simplefilter("ignore", RuntimeWarning)
                    table[foot] = np.nanmean(np.stack(rows), axis=0)
        out[name] = table
    return out
