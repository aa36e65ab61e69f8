"""The measuring pass's reductions of per-frame series, a block of frames at a time: contacts' series
added up per foot and for the whole mat (``add_series``), and each region's running measures
(``feed_regions``).

In NumPy these were some twenty calls a contact and block, most of them reductions of a few
columns over 4,000 frames (0.1-0.2 ms each): 1 s of an hour of 64x64, on the thread that the
measuring pass waits for. Here each is one loop, summing in NumPy's order wherever NumPy's is
plain: down the columns of several regions row after row, and along a row of fewer than 8 slots
(a contact's thirds, a whole contact), so that the results are those NumPy gave, to the bit.
NumPy sums a longer row, or a lone column, pairwise: there these sums may differ from its in the
last bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _nan_max(a, b):
    """``np.maximum``: NaN where either is."""
    if a != a or b != b:
        return np.nan
    return max(a, b)


@njit(cache=True, nogil=True)
def add_series(force, area, peak, moment_x, moment_y, first_row, column, force_n, area_cm2, peak_kpa, cop_x_mm,
               cop_y_mm):
    """Adds a contact's (frames, slots) series, every slot, into ``column`` of the whole-session
    sums from row ``first_row`` on: force and area add, peaks take the maximum, the COP moments
    add the force-weighted COP of each loaded slot."""
    slots = force_n.shape[1]
    if slots == 0:
        return
    for t in range(force_n.shape[0]):
        row = first_row + t
        total_force, total_area, highest, weighted_x, weighted_y = 0.0, 0.0, peak_kpa[t, 0], 0.0, 0.0
        for k in range(slots):
            total_force += force_n[t, k]
            total_area += area_cm2[t, k]
            highest = _nan_max(highest, peak_kpa[t, k])
            loaded = force_n[t, k] > 0
            weighted_x += cop_x_mm[t, k] * force_n[t, k] if loaded else 0.0
            weighted_y += cop_y_mm[t, k] * force_n[t, k] if loaded else 0.0
        force[row, column] += total_force
        area[row, column] += total_area
        peak[row, column] = _nan_max(peak[row, column], highest)
        moment_x[row, column] += weighted_x
        moment_y[row, column] += weighted_y


@njit(cache=True, nogil=True)
def feed_regions(force_n, area_cm2, peak_kpa, frames_before, n_per_cm2_in_kpa, peak, peak_frame, area, force,
                 force_sum, peak_sum, pressure_sum, loaded_frames):
    """Feeds the next (frames, regions) series of a contact into its regions' running measures
    (``pressure.measures.regions.RegionMeasures``, whose arrays these are): the highest peak and
    the first frame it is reached in, the largest area and force, the sums of force, peak and
    mean pressure (force over area, where loaded), the frames loaded."""
    n_frames, n_regions = force_n.shape
    for j in range(n_regions):
        highest, at = peak_kpa[0, j], 0
        largest_area, largest_force = area_cm2[0, j], force_n[0, j]
        sum_force, sum_peak, sum_pressure, loaded = 0.0, 0.0, 0.0, 0
        for t in range(n_frames):
            value = peak_kpa[t, j]
            if value > highest or (value != value and highest == highest):  # the first maximum (or NaN)
                highest, at = value, t
            largest_area = _nan_max(largest_area, area_cm2[t, j])
            largest_force = _nan_max(largest_force, force_n[t, j])
            sum_force += force_n[t, j]
            sum_peak += value
            if area_cm2[t, j] > 0:
                sum_pressure += n_per_cm2_in_kpa * force_n[t, j] / area_cm2[t, j]
                loaded += 1
        if highest > peak[j]:
            peak_frame[j] = frames_before + at
        peak[j] = _nan_max(peak[j], highest)
        area[j] = _nan_max(area[j], largest_area)
        force[j] = _nan_max(force[j], largest_force)
        force_sum[j] += sum_force
        peak_sum[j] += sum_peak
        pressure_sum[j] += sum_pressure
        loaded_frames[j] += loaded
