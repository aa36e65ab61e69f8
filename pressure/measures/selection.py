"""Which steps a foot's statistics use, as gait labs choose them: complete contacts only, the
first and last steps of the walk skipped (acceleration and deceleration), a minimum stance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StepSelection:
    skip: int = 0  # steps skipped at each end of the walk (in time order, both feet together)
    min_stance_s: float = 0.0

    def describe(self) -> str:
        return f"complete steps; first and last {self.skip} skipped; stance >= {self.min_stance_s:g} s"


def selected_steps(steps: list, time_s: np.ndarray, selection: StepSelection) -> np.ndarray:
    """For each step (FootContact, in time order), whether the foot's statistics use it."""
    chosen = np.array([step.complete for step in steps], dtype=bool)
    if selection.skip:
        chosen[: selection.skip] = False
        chosen[max(len(steps) - selection.skip, 0):] = False
    if selection.min_stance_s > 0:
        stance = np.array([time_s[step.last] - time_s[step.first] for step in steps], dtype=float)
        chosen &= stance >= selection.min_stance_s
    return chosen
