"""What the pictures read from a results dataset beyond its plain variables: whether it knows its
sensors' positions, whether and when the person stood, each step's frames and COP, which steps
are complete, the cell pitches."""

from __future__ import annotations

import numpy as np

from pressure.schema import quiet_standing_of, runs_of, standing_frames_of

COP_MIN_FORCE_SHARE = 0.1  # a step's COP is drawn while its force is at least this share of its peak


def has_geometry(dataset) -> bool:
    """Whether the cells have positions (a mat, or insoles drawn on cells); a sensor set has none."""
    return bool(int(dataset.attrs.get("has_geometry", 1)))


def has_standing(dataset) -> bool:
    """Whether the person stood at some time (a standing or a mixed session)."""
    return dataset.attrs.get("activity") in ("standing", "mixed")


def stood_quietly(dataset) -> bool:
    """Whether standing was measured: the person stood, and not only next to walking (a stand
    shorter than two seconds between walks has no quiet standing, so no sway)."""
    return has_standing(dataset) and bool(quiet_standing_of(dataset).any())


def pitches(dataset) -> tuple[float, float]:
    return float(dataset.attrs["pitch_x_mm"]), float(dataset.attrs["pitch_y_mm"])


def number(dataset, name, **where) -> float:
    """One value of ``name`` (at ``where``) as a float; NaN where the results do not hold it."""
    if name not in dataset:
        return float("nan")
    value = dataset[name].sel(**where) if where else dataset[name]
    return float(value.values)


def standing_spans(dataset) -> list[tuple[float, float]]:
    """The (first, last) time (s) of each stretch of standing frames."""
    time = dataset["time"].values
    return [(float(time[start]), float(time[stop - 1])) for start, stop in runs_of(standing_frames_of(dataset))]


def complete_steps(dataset) -> np.ndarray:
    """Per step, whether it is complete (not cut by the start or end of the recording or the mat)."""
    if "step_complete" in dataset:
        return dataset["step_complete"].values.astype(bool)
    return np.ones(dataset.sizes.get("step", 0), bool)


def step_frames(results, step: int) -> tuple[int, int]:
    """(first, last + 1): the frames of step number ``step``."""
    time = results["time"].values
    first = int(np.searchsorted(time, results["step_start"].values[step] - 1e-9))
    last = int(np.searchsorted(time, results["step_end"].values[step] + 1e-9, side="right"))
    return first, last


def step_cop(results, side: int, first: int, last: int) -> np.ndarray:
    """(n, 2) COP x, y (mat mm) of foot number ``side`` over frames ``first:last``, where it is
    known and the foot bears at least :data:`COP_MIN_FORCE_SHARE` of its peak force there (a
    light touch gives a noisy COP); empty without force."""
    cop = np.stack([results["cop_x"].values[first:last, side], results["cop_y"].values[first:last, side]], axis=1)
    force = results["force"].values[first:last, side]
    top = np.nanmax(force) if np.isfinite(force).any() else 0.0
    return cop[np.isfinite(cop).all(axis=1) & (force >= COP_MIN_FORCE_SHARE * top)]
