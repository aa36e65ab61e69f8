"""A step's print turned so its long axis points up with the heel at the bottom, so the prints of
a walk compare side by side whichever way the person walked (:func:`orient_steps`, a pure function
of per-step peak images); :func:`step_prints` is the whole way from results to turned prints."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pressure.pictures.session import pitches
from pressure.pictures.steps import MAX_STEP_PANELS, Step, StepPeak, step_peaks


@dataclass
class StepPrint(Step):
    """A step's print turned heel down: ``image`` kPa (NaN off the print), rows along the foot
    from heel (row 0) to toes, on square cells of ``pitch_mm``; ``cop`` (n, 2) in the image's mm
    (origin at its lower left corner); ``heel_from`` says what decided which end is the heel."""

    image: np.ndarray
    pitch_mm: float
    cop: np.ndarray
    angle_deg: float
    heel_from: str
    sensors: bool = False


def heel_down(peak: np.ndarray, onset: np.ndarray, pitch_x: float, pitch_y: float, *,
              cop: np.ndarray | None = None, origin: tuple[float, float] = (0.0, 0.0),
              pitch_mm: float | None = None):
    """A print turned so its long (principal) axis points up with the heel at the bottom.

    The heel is the end that loaded first (``onset`` correlated with the position along the axis);
    where the loading order says nothing (all cells at once), the end the COP started at, else the
    narrower end. Returns (image on square cells of ``pitch_mm`` (default half the finer pitch),
    COP in the image's mm, rotation in degrees, what decided the heel, the pitch used).
    Nearest-cell resampling: every value shown is a measured one (the peak is kept)."""
    loaded = np.isfinite(peak)
    rows, cols = np.nonzero(loaded)
    pitch_mm = pitch_mm or min(pitch_x, pitch_y) / 2
    if len(rows) < 3:
        return np.where(loaded, peak, np.nan), np.zeros((0, 2)), 0.0, "none", min(pitch_x, pitch_y)
    points = np.stack([cols * pitch_x, rows * pitch_y], axis=1).astype(float)
    centre = points.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((points - centre).T))
    axis = vectors[:, int(np.argmax(values))]
    along = (points - centre) @ axis
    times = onset[rows, cols].astype(float)
    heel_from = "shape"
    sign = 0.0
    if np.ptp(times) > 0 and np.ptp(along) > 0:
        r = float(np.corrcoef(along, times)[0, 1])
        if abs(r) >= 0.2:
            sign, heel_from = np.sign(r), "loading"
    if sign == 0 and cop is not None and len(cop) >= 2:
        shift = float((cop[-1] - cop[0]) @ axis)
        if abs(shift) > 0.1 * np.ptp(along):
            sign, heel_from = np.sign(shift), "cop"
    if sign == 0:  # the heel end is the narrower one
        across = (points - centre) @ np.array([-axis[1], axis[0]])
        third = np.ptp(along) / 3
        back, front = along < along.min() + third, along > along.max() - third
        width = lambda part: np.ptp(across[part]) if part.sum() > 1 else 0.0  # noqa: E731
        sign = 1.0 if width(back) <= width(front) else -1.0
    axis = axis * sign  # heel to toe
    angle = math.degrees(math.atan2(axis[1], axis[0]))
    turn = math.radians(90.0 - angle)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    corners = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]) * (pitch_x, pitch_y)
    turned = ((points[:, None, :] + corners[None]) - centre).reshape(-1, 2) @ rotation.T
    low, high = turned.min(axis=0), turned.max(axis=0)
    n_u, n_v = (np.ceil((high - low) / pitch_mm)).astype(int)
    gu, gv = np.meshgrid(low[0] + (np.arange(n_u) + 0.5) * pitch_mm, low[1] + (np.arange(n_v) + 0.5) * pitch_mm)
    back = np.stack([gu.ravel(), gv.ravel()], axis=1) @ rotation + centre  # inverse rotation
    col = np.round(back[:, 0] / pitch_x).astype(int)
    row = np.round(back[:, 1] / pitch_y).astype(int)
    inside = (row >= 0) & (row < peak.shape[0]) & (col >= 0) & (col < peak.shape[1])
    image = np.full(n_u * n_v, np.nan)
    image[inside] = peak[row[inside], col[inside]]
    image = image.reshape(n_v, n_u)
    turned_cop = np.zeros((0, 2))
    if cop is not None and len(cop):
        relative = np.asarray(cop, float) - np.asarray(origin, float)
        turned_cop = (relative - centre) @ rotation.T - low
    return image, turned_cop, float(90.0 - angle), heel_from, float(pitch_mm)


def orient_steps(peaks: list[StepPeak], pitch_x: float, pitch_y: float) -> list[StepPrint]:
    """Each step's peak turned heel down (:func:`heel_down`); sensor sets stay as they are."""
    prints = []
    for step in peaks:
        if step.sensors:
            prints.append(StepPrint(**step.facts(), image=step.peak, pitch_mm=1.0, cop=np.zeros((0, 2)),
                                    angle_deg=0.0, heel_from="insole", sensors=True))
            continue
        image, cop, angle, heel_from, pitch = heel_down(step.peak, step.onset, pitch_x, pitch_y, cop=step.cop,
                                                        origin=(step.x0, step.y0))
        prints.append(StepPrint(**step.facts(), image=image, pitch_mm=pitch, cop=cop, angle_deg=angle,
                                heel_from=heel_from))
    return prints


def step_prints(results, recording=None, *, include_cut: bool = False,
                max_steps: int = MAX_STEP_PANELS) -> list[StepPrint]:
    """Every complete step's print, heel down: :func:`step_peaks` then :func:`orient_steps`."""
    px, py = pitches(results)
    return orient_steps(step_peaks(results, recording, include_cut=include_cut, max_steps=max_steps), px, py)


def try_step_prints(results, recording=None, *, max_steps: int = MAX_STEP_PANELS) -> tuple[list | None, str]:
    """(:func:`step_prints`, "") or, where the recording cannot be read again, (None, a note why)."""
    try:
        return step_prints(results, recording, max_steps=max_steps), ""
    except (ValueError, OSError) as error:
        return None, f"Step prints not drawn: {error}."
