"""Which frames the person stood in, and which of them were quiet standing.

The person stands where every standing foot is on the ground. Standing measures (the load
share, the mean force and pressure image while standing, sway) are taken over quiet standing
only: the standing frames without the second before the person walks off and the second after
they come to a stand from walking. Before the first step the weight moves between the feet (the anticipatory
postural adjustment of gait initiation: the swing foot is loaded, then unloaded, over 0.4-1 s);
after the last step it settles. In the real pedar export the left foot carried 45.7 % of the
load in quiet standing and 42.0 % over the standing frames with the weight shift included; the
Moticon export's first stand is half weight shift. A stretch of standing shorter than both ends
together has no quiet standing at all.
"""

from __future__ import annotations

import numpy as np

from pressure.contacts.session import FootContact
from pressure.schema import runs_of

TRANSITION_S = 1.0  # each end of a stand that joins walking: weight moving, not quiet standing


def standing_frames(contacts: list[FootContact], n_frames: int) -> np.ndarray:
    """Frames in which every standing foot stands (both feet when both stood, else the one that
    did)."""
    standing = [c for c in contacts if c.kind == "standing"]
    frames = np.full(n_frames, bool(standing))
    for foot in {c.foot for c in standing}:
        on = np.zeros(n_frames, bool)
        for contact in standing:
            if contact.foot == foot:
                on[contact.first: contact.last + 1] = True
        frames &= on
    return frames


def quiet_standing(standing: np.ndarray, rate_hz: float, steps: list[tuple[int, int]]) -> np.ndarray:
    """``standing`` without ``TRANSITION_S`` at each end of a stretch that joins walking: where a
    step (its first and last frame in ``steps``) is on the mat within that time of the end. Not
    where the person steps onto or off the mat to stand (those feet stand, they take no step):
    a 1.8 s stand between stepping on and off would otherwise have no standing measures left."""
    quiet = standing.copy()
    transition = int(round(TRANSITION_S * rate_hz))

    def walking_near(frame: int) -> bool:
        return any(first <= frame + transition and last >= frame - transition for first, last in steps)

    for start, stop in runs_of(standing):
        if walking_near(start):
            quiet[start:min(start + transition, stop)] = False
        if walking_near(stop - 1):
            quiet[max(stop - transition, start):stop] = False
    return quiet
