"""Warnings for sessions whose numbers cannot be right as they are, with the likely cause.

They warn, never fail: a clinician still gets the results, and sees beside them why they may be
wrong (a mat configured without its pitch or scale reports a standing person at 14,000 N).
"""

from __future__ import annotations

import numpy as np

from pressure.contacts.session import overlap
from pressure.schema import standing_mean

WEIGHT_RANGE_N = (20.0, 2000.0)  # one person, a child's foot to a heavy adult
STEP_PEAK_PER_WEIGHT = 1.2  # a walking step's peak vertical force, in body weights (about 1.1-1.3)
RATE_TOLERANCE = 0.05  # frame times and the stated rate may differ by this share


def weight_estimate_n(dataset) -> tuple[float, str]:
    """Body weight as the session shows it, and how: the mean force on the mat while standing,
    else the median peak force of complete steps over 1.2."""
    if dataset.attrs.get("load_share_from") == "standing":
        force = standing_mean(dataset, "force")  # per foot; a foot off the mat counted 0 N
        if force is not None:
            return float(np.nansum(force)), "mean force standing"
    if dataset.sizes.get("step", 0) and "step_complete" in dataset:
        peaks = dataset["step_peak_force"].values[dataset["step_complete"].values.astype(bool)]
        peaks = peaks[np.isfinite(peaks)]
        if peaks.size:
            return float(np.median(peaks)) / STEP_PEAK_PER_WEIGHT, "step peak force / 1.2"
    return float("nan"), ""


def feet_at_once(contacts) -> int:
    """The most standing contacts loaded at the same time."""
    events = sorted([(c.first, 1) for c in contacts if c.kind == "standing"]
                    + [(c.last + 1, -1) for c in contacts if c.kind == "standing"])
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


def named_alike_at_once(contacts) -> str | None:
    """The side two feet standing at the same time were both named, if any."""
    standing = [c for c in contacts if c.kind == "standing"]
    for i, a in enumerate(standing):
        for b in standing[i + 1:]:
            if a.foot == b.foot and overlap(a, b):
                return a.foot
    return None


def assumed_settings(info) -> str:
    """The pitch and scale the source did not tell, as a clause ("" when it told both);
    ``info.assumed`` names them by the source's URL options (a file's scale is ``scale_kpa``)."""
    values = {"pitch": f"pitch {info.pitch_x_mm:g} mm", "scale": f"scale {info.scale_kpa:g} kPa per unit",
              "scale_kpa": f"scale {info.scale_kpa:g} kPa per unit"}
    assumed = [name for name in values if name in info.assumed]
    if not assumed:
        return ""
    return (f"{' and '.join(values[name] for name in assumed)} assumed (the source does not say; give "
            f"{' and '.join(f'{name}=' for name in assumed)} in the URL)")


def plausibility_warnings(recording, dataset, contacts) -> list[str]:
    """One line each: what looks wrong, and what likely causes it."""
    info = recording.info
    warnings = []
    if (recording.attrs or {}).get("cut_short"):  # a reader kept the whole frames of a file cut off
        warnings.append(str(recording.attrs["cut_short"]))
    if assumed_settings(info):
        warnings.append(assumed_settings(info) + ": forces and areas are right only if the mat's are these")
    weight, how = weight_estimate_n(dataset)
    low, high = WEIGHT_RANGE_N
    if np.isfinite(weight) and not low <= weight <= high:
        warnings.append(f"body weight about {weight:,.0f} N ({how}), outside {low:,.0f}-{high:,.0f} N for one "
                        f"person: the scale (kPa per device unit) or the cell pitch is likely wrong")
    times = np.asarray(recording.time_s, dtype=np.float64)
    if times.size > 10:
        interval = float(np.median(np.diff(times), overwrite_input=True))  # no second copy of a day's intervals
        stated = 1.0 / info.rate_hz
        if interval > 0 and abs(interval - stated) > RATE_TOLERANCE * stated:
            warnings.append(f"frames are {1000 * interval:.3g} ms apart ({1 / interval:.4g} Hz) but the rate says "
                            f"{info.rate_hz:g} Hz: durations and cadence use the frame times; check the rate")
    standing = feet_at_once(contacts)
    if standing > 2:
        warnings.append(f"{standing} feet standing at once: more than one person on the mat, or a foot "
                        f"split in pieces (see the picture)")
    alike = named_alike_at_once(contacts)
    if alike:
        warnings.append(f"two feet standing at once are both named {alike}: their shapes named them, one "
                        f"in front of the other (tandem stance) or too close to tell apart; the load share "
                        f"and each foot's measures are not to be trusted (see the picture)")
    return warnings
