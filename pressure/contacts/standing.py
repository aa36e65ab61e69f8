"""Which frames the person stood in, and which of them were quiet standing.

The person stands where every standing foot is on the ground. Standing measures (the load
share, the mean force and pressure image while standing, sway) are taken over quiet standing
only: the standing frames without the second before the person walks off and the second after
they come to a stand. Before the first step the weight moves between the feet (the anticipatory
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
    frames = np.zeros(n_frames, bool)
    for contact in standing:
        frames[contact.first: contact.last + 1] = True
    for foot in {c.foot for c in standing}:
        on = np.zeros(n_frames, bool)
        for contact in standing:
            if contact.foot == foot:
                on[contact.first: contact.last + 1] = True
        frames &= on
    return frames


def quiet_standing(standing: np.ndarray, rate_hz: float) -> np.ndarray:
    """``standing`` without ``TRANSITION_S`` at each end of a stretch that the recording does not
    end there (so it joins walking): where standing is measured."""
    quiet = np.zeros_like(standing)
    transition = int(round(TRANSITION_S * rate_hz))
    for start, stop in runs_of(standing):
        first = start + transition if start > 0 else start
        last = stop - transition if stop < len(standing) else stop
        quiet[first:max(first, last)] = True
    return quiet
