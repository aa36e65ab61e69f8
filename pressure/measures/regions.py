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

REGION_MEASURES = ("peak_pressure", "mean_pressure", "contact_area", "force", "fti", "pti", "time_of_peak",
                   "relative_load")
N_PER_CM2_IN_KPA = 10.0


def contact_region_measures(force_n: np.ndarray, area_cm2: np.ndarray, peak_kpa: np.ndarray,
                            rate_hz: float) -> dict[str, np.ndarray]:
    """Each of REGION_MEASURES per region, from (frames, regions) series of one contact; NaN for
    a region never loaded."""
    frames, regions = force_n.shape
    dt = 1.0 / rate_hz
    loaded = area_cm2 > 0
    ever = loaded.any(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a region never loaded: NaN says it
        pressure = np.where(loaded, N_PER_CM2_IN_KPA * force_n / area_cm2, np.nan)
        mean_pressure = np.where(ever, np.nanmean(pressure, axis=0), np.nan)
        fti = force_n.sum(axis=0) * dt
        total = fti.sum()
        relative = np.where(ever, 100.0 * fti / total, np.nan) if total > 0 else np.full(regions, np.nan)
    time_of_peak = 100.0 * np.argmax(peak_kpa, axis=0) / max(frames - 1, 1)
    measures = {
        "peak_pressure": peak_kpa.max(axis=0),
        "mean_pressure": mean_pressure,
        "contact_area": area_cm2.max(axis=0),
        "force": force_n.max(axis=0),
        "fti": fti,
        "pti": peak_kpa.sum(axis=0) * dt,
        "time_of_peak": time_of_peak,
        "relative_load": relative,
    }
    return {name: np.where(ever, values, np.nan) for name, values in measures.items()}


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
