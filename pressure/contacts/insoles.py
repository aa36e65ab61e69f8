"""Contacts (stances) of an in-shoe insole, found on its total force curve.

An insole has no floor position, so a stance is a stretch where its total force (N) is well above
its unloaded (swing) level, the baseline: the median of the lowest tenth of the curve's range,
per insole (real insoles read 0-20 N unloaded and drift). NaN frames count as unloaded and a
median filter removes spikes and dropouts up to 40 ms. Hysteresis: a contact starts above
baseline + 30 % of the span (robust peak - baseline) and lasts until the force falls below
baseline + 10 %; its edges then move out to where the curve leaves and returns to the baseline
band (baseline + max(3 % of span, 4 noise SD)), so thresholds do not shorten stance times.
Then swings under ``min_swing_s`` are bridged and contacts under ``min_contact_s`` (half for one
cut by the recording) dropped, shortest first. A never-unloaded insole (standing) is one contact,
unless stances and swings alternate over its low level as in gait: an insole whose channels
are not zeroed walks on top of its offset (STAPPone reads ~290 N unloaded).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

# Gait physiology: a walking stance lasts >= ~0.4 s even at fast walking (~0.25 s when
# running) and a swing >= ~0.25-0.3 s. Measured on the real insoles (pedar, F-Scan, XSENSOR):
# complete stances 0.57-0.93 s, swings 0.33-0.49 s. 0.2 s stays 20 % below the shortest
# plausible stance or swing, and is still about twice the longest noise blip seen on real
# insoles (fake "steps" of 10-110 ms) and five times a 40 ms dropout.
MIN_CONTACT_S = 0.2
MIN_SWING_S = 0.2

SPIKE_S = 0.04  # spikes and dropouts up to this long are removed by the median filter
ON_FRACTION = 0.30  # a contact starts above baseline + this fraction of the stance span
OFF_FRACTION = 0.10  # ... and lasts until the force falls below baseline + this fraction
BAND_FRACTION = 0.03  # the baseline band: baseline + max(this fraction of the span, ...
BAND_NOISE_SD = 4.0  # ... this many noise standard deviations)
LOW_PART = 0.10  # the baseline is the median of the frames in the lowest 10 % of the range
PEAK_QUANTILE = 0.90  # robust peak: this quantile of the loaded frames
# A stance raises an insole's force by far more than this above its swing level (a 20 kg
# child's stance peaks near 200 N); real swing noise is <= 4 N SD and drift <= 10 N.
MIN_RISE_N = 50.0
# An unloaded insole reads below this (measured: 0-19 N swing levels, single frames up to
# 30 N); when even the lowest part of the curve is above it, the foot never left the insole,
# unless the curve walks (below).
MAX_SWING_N = 100.0
# An insole whose channels are not zeroed (STAPPone reads ~290 N unloaded) walks on top of its
# offset: its lowest level is then a swing level after all when stances and swings alternate
# as in gait, at least this many complete stances, none longer than MAX_GAIT_STANCE_S, with
# every swing between them shorter than MAX_GAIT_SWING_S (walking: stances 0.4-1.0 s, swings
# 0.25-0.6 s). Shifting weight while standing loads a foot for seconds, and stays standing.
MIN_GAIT_STANCES = 4
MAX_GAIT_STANCE_S = 2.0
MAX_GAIT_SWING_S = 1.5


@dataclass(frozen=True)
class ForceContact:
    """One stance of an insole: frames ``first`` to ``last`` (inclusive) of its force curve."""

    first: int  # first frame of the stance
    last: int  # last frame (inclusive)
    cut_start: bool  # the recording starts inside this contact
    cut_end: bool  # the recording ends inside this contact

    @property
    def n_frames(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class _Levels:
    smooth: np.ndarray  # the force with NaN filled and spikes removed (N)
    lower_mode: float  # the curve's low level (N), whatever it is
    flat: bool  # the curve is constant: a channel that measures nothing

    @property
    def baseline(self) -> float:
        """The swing (unloaded) level (N); 0 when the insole is never unloaded (or walks on an offset)."""
        return self.lower_mode if self.lower_mode < MAX_SWING_N else 0.0


def _check(force_n: np.ndarray, rate_hz: float) -> np.ndarray:
    force = np.asarray(force_n, dtype=np.float64)
    if force.ndim != 1:
        raise ValueError(f"force must be one value per frame (1-D), got shape {force.shape}")
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"frame rate must be positive, got {rate_hz} Hz")
    return force


def _levels(force: np.ndarray, rate_hz: float) -> _Levels | None:
    """Smoothed curve and baseline; None when no frame holds a number."""
    finite = np.isfinite(force)
    if not finite.any():
        return None
    # Missing frames take the recording's low level: unloaded when the foot ever lifts, the
    # standing level when it never does (so a gap in quiet standing does not split it).
    filled = np.where(finite, force, np.quantile(force[finite], 0.01))
    half = int(round(SPIKE_S * rate_hz))
    smooth = ndimage.median_filter(filled, size=2 * half + 1, mode="nearest") if half else filled
    lo, hi = np.quantile(smooth, [0.01, 0.99])
    if hi - lo <= 1e-9 * max(1.0, abs(hi)):
        return _Levels(smooth, float(lo), True)
    # Baseline = median of the lowest tenth of the range (the lower mode). A plain low quantile
    # is biased low by the noise (pedar left: 5 % quantile 11 N, swing median 15-19 N) and a
    # middle quantile lands in a stance when most of the recording is loaded; the lower mode is
    # the swing level whenever the foot lifts for at least ~1 % of the frames. Measured: pedar
    # left 19 N (swing frames 8-30 N, per-swing medians 11-19 N, SD 3-4 N), pedar right 3 N
    # (0-11 N), F-Scan right 9.5 N (16 N in the first swing, 7-10 N later: a slow drift),
    # F-Scan left and XSENSOR 0 N (their exports zero everything under a noise threshold).
    level = float(np.median(smooth[smooth <= lo + LOW_PART * (hi - lo)]))
    return _Levels(smooth, level, False)


def insole_baseline(force_n: np.ndarray, rate_hz: float) -> float:
    """The force (N) this insole reads unloaded, in swing: its zero for stance detection.

    Insoles are not zero when unloaded (pedar left reads ~19 N, F-Scan right 7-16 N) and the
    level drifts slowly, so it is measured per insole as the median of the lowest tenth of the
    force range (after removing spikes). 0.0 when it cannot be seen: no finite frame, or an
    insole that is never unloaded (quiet standing: even its lowest level is above 100 N).
    ``rate_hz`` (frames per second) sizes the spike filter.
    """
    levels = _levels(_check(force_n, rate_hz), rate_hz)
    return 0.0 if levels is None else levels.baseline


def _runs(mask: np.ndarray) -> np.ndarray:
    """(k, 2) first and last index of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return edges.reshape(-1, 2) - np.array([0, 1])


def insole_contacts(force_n: np.ndarray, rate_hz: float, *, min_contact_s: float = MIN_CONTACT_S,
                    min_swing_s: float = MIN_SWING_S) -> list[ForceContact]:
    """The stances of one insole, in order, from its total force per frame.

    ``force_n`` is the insole's total force (N) per frame, NaN where a frame is missing (taken
    as unloaded: the recording's 1 % low level); ``rate_hz`` the frame rate (Hz). Swings
    shorter than ``min_swing_s`` (s) are bridged (a dropout inside a stance is not a step) and
    contacts shorter than ``min_contact_s`` (s) are dropped (noise is not a step), the shortest
    of these first; a contact cut by the start or end of the recording only needs half of
    ``min_contact_s``, since only part of it was recorded.
    A constant curve, or one that never rises 50 N above its baseline, has no contacts.
    """
    force = _check(force_n, rate_hz)
    if min_contact_s < 0 or min_swing_s < 0:
        raise ValueError("minimum contact and swing durations must not be negative")
    levels = _levels(force, rate_hz)
    if levels is None or levels.flat:
        return []
    stances = _stances(levels.smooth, levels.baseline, rate_hz, min_contact_s, min_swing_s)
    if levels.lower_mode >= MAX_SWING_N:  # never unloaded, or an offset
        on_offset = _stances(levels.smooth, levels.lower_mode, rate_hz, min_contact_s, min_swing_s)
        if _walks(on_offset, rate_hz):
            return on_offset
    return stances


def _stances(g: np.ndarray, base: float, rate_hz: float, min_contact_s: float,
             min_swing_s: float) -> list[ForceContact]:
    """The stances of the smoothed force ``g`` over the swing level ``base``."""
    loaded = g > base + MIN_RISE_N
    if not loaded.any():
        return []
    # Robust peak: the 90 % quantile of the frames loaded 50 N above the baseline, so it is a
    # stance's level however short the stances are against the swings, and a few spike frames
    # do not move it. Measured spans: pedar 773 / 862 N, F-Scan 869 / 695 N, XSENSOR 425 / 246 N.
    span = float(np.quantile(g[loaded], PEAK_QUANTILE)) - base
    upper, lower = base + ON_FRACTION * span, base + OFF_FRACTION * span
    residual = g[g < lower] - base
    noise_sd = 1.4826 * float(np.median(np.abs(residual))) if residual.size else 0.0
    band_top = min(base + max(BAND_FRACTION * span, BAND_NOISE_SD * noise_sd), lower)

    # Hysteresis: runs at or above the lower threshold that reach above the upper one.
    runs = [(a, b) for a, b in _runs(g >= lower) if g[a:b + 1].max() > upper]
    if not runs:
        return []
    # Each run lies inside one run above the baseline band: move its edges out to that run's,
    # except between two contacts whose swing never came back into the band (e.g. drift), which
    # keep their threshold edges.
    band = _runs((g > band_top) | (g >= lower))
    which = np.searchsorted(band[:, 0], [a for a, _ in runs], side="right") - 1
    spans = []
    for k, (a, b) in enumerate(runs):
        first = band[which[k], 0] if k == 0 or which[k - 1] != which[k] else a
        last = band[which[k], 1] if k == len(runs) - 1 or which[k + 1] != which[k] else b
        spans.append([int(first), int(last)])

    return [ForceContact(first, last, first == 0, last == len(g) - 1)
            for first, last in _clean(spans, len(g), rate_hz, min_contact_s, min_swing_s)]


def _walks(stances: list[ForceContact], rate_hz: float) -> bool:
    """Whether stances and swings alternate as in gait (see MIN_GAIT_STANCES)."""
    complete = [c for c in stances if not (c.cut_start or c.cut_end)]
    if len(complete) < MIN_GAIT_STANCES or any(c.n_frames > MAX_GAIT_STANCE_S * rate_hz for c in complete):
        return False
    swings = [b.first - a.last - 1 for a, b in zip(stances, stances[1:])]
    return all(swing <= MAX_GAIT_SWING_S * rate_hz for swing in swings)


def _clean(spans: list[list[int]], n: int, rate_hz: float, min_contact_s: float,
           min_swing_s: float) -> list[list[int]]:
    """Bridge swings shorter than ``min_swing_s`` and drop contacts shorter than ``min_contact_s``
    (half that when cut by the recording), the shortest offender first: a 30 ms spike 100 ms from
    a stance is dropped (not bridged onto it), a 40 ms dropout between two halves of a stance is
    bridged (not dropped with one of them). A heap keeps this O(k log k) for k pieces."""
    first = [s[0] for s in spans]
    last = [s[1] for s in spans]
    alive = [True] * len(spans)
    prev = list(range(-1, len(spans) - 1))
    nxt = list(range(1, len(spans))) + [-1]

    def gap(i: int) -> int | None:  # frames of swing after piece i, None if too long or none
        j = nxt[i]
        frames = first[j] - last[i] - 1 if j >= 0 else None
        return frames if frames is not None and frames / rate_hz < min_swing_s else None

    def short(i: int) -> int | None:  # frames of piece i, None if long enough
        frames = last[i] - first[i] + 1
        needed = min_contact_s / 2 if first[i] == 0 or last[i] == n - 1 else min_contact_s
        return frames if frames / rate_hz < needed else None

    heap: list[tuple[int, int, int]] = []  # (frames, 0 swing | 1 contact, piece): a tie bridges

    def push(i: int) -> None:
        for kind, frames in ((0, gap(i)), (1, short(i))):
            if frames is not None:
                heapq.heappush(heap, (frames, kind, i))

    for i in range(len(spans)):
        push(i)
    while heap:
        frames, kind, i = heapq.heappop(heap)
        if not alive[i] or (gap(i) if kind == 0 else short(i)) != frames:
            continue  # stale: the piece is gone or has changed since
        if kind == 0:  # bridge: piece i absorbs the next one
            j = nxt[i]
            last[i], alive[j], nxt[i] = last[j], False, nxt[j]
            if nxt[j] >= 0:
                prev[nxt[j]] = i
            push(i)
        else:  # drop piece i; its neighbours now face each other across a longer swing
            alive[i] = False
            p, q = prev[i], nxt[i]
            if p >= 0:
                nxt[p] = q
            if q >= 0:
                prev[q] = p
            if p >= 0:
                push(p)
    return [[first[i], last[i]] for i in range(len(spans)) if alive[i]]
