"""The mat turned so the person faces (or walks) up: toes up, the person's right to the right,
never mirrored. Which way is up comes from the steps' COP where they agree, else from the
session's ``direction``."""

from __future__ import annotations

import numpy as np

from pressure.pictures.session import complete_steps, has_geometry, step_cop, step_frames
from pressure.schema import FEET

DIRECTIONS = ("+y", "-y", "+x", "-x")


def orient_grid(image: np.ndarray, direction: str) -> np.ndarray:
    """``image[row=y, col=x]`` turned so ``direction`` points up (rows of the result run along it)
    and the person's right is towards higher columns; never mirrored."""
    if direction == "-y":
        return image[::-1, ::-1]
    if direction == "+x":
        return image.T[:, ::-1]
    if direction == "-x":
        return image.T[::-1, :]
    return image


def orient_points(x, y, direction: str):
    """Mat mm (x, y) to (u across, v along ``direction``), as :func:`orient_grid` turns the cells."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if direction == "-y":
        return -x, -y
    if direction == "+x":
        return -y, x
    if direction == "-x":
        return y, -x
    return x, y


def view_direction(results) -> str:
    """Which way the pictures turn the mat so toes point up: the heel-to-toe way of the complete
    steps' COP where they agree (insoles, whose ``direction`` is only the default facing, and walks
    in one direction), else the session's ``direction`` (standing; walks out and back)."""
    direction = str(results.attrs.get("direction", "+y"))
    if direction not in DIRECTIONS:
        direction = "+y"
    if not results.sizes.get("step", 0) or not has_geometry(results):
        return direction
    moves = []
    for i in np.flatnonzero(complete_steps(results)):
        side = FEET.index(str(results["step_foot"].values[i]))
        cop = step_cop(results, side, *step_frames(results, i))
        if len(cop) >= 2:
            moves.append(cop[-1] - cop[0])
    if not moves:
        return direction
    moves = np.array(moves)
    total = moves.sum(axis=0)
    if np.hypot(*total) < 0.5 * np.hypot(moves[:, 0], moves[:, 1]).sum():
        return direction  # the steps go different ways: out and back
    if abs(total[0]) > abs(total[1]):
        return "+x" if total[0] > 0 else "-x"
    return "+y" if total[1] > 0 else "-y"
