"""Contacts of an in-shoe insole on its total force curve: real recordings and synthetic curves."""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import drivers
from pressure.contacts.insoles import (
    MIN_CONTACT_S,
    MIN_SWING_S,
    ForceContact,
    insole_baseline,
    insole_contacts,
)
from tests.conftest import shared_file


# --- real recordings -------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _insole_forces(relative: str) -> tuple[dict[str, np.ndarray], float]:
    """Total force (N) per frame of each insole in a recording, keyed "left"/"right"."""
    recording = drivers.load(str(shared_file(relative)))
    kpa = recording.kpa()
    info = recording.info
    forces = {}
    for code, side in ((0, "left"), (1, "right")):
        cells = info.foot_map == code
        if cells.any():
            forces[side] = np.nansum(np.where(cells, kpa, np.nan), axis=(1, 2)) * info.cell_area_mm2 * 1e-3
    return forces, info.rate_hz


def _real(relative: str, side: str) -> tuple[np.ndarray, float, list[ForceContact]]:
    forces, rate = _insole_forces(relative)
    force = forces[side]
    return force, rate, insole_contacts(force, rate)


def _durations(contacts: list[ForceContact], rate: float) -> np.ndarray:
    return np.array([c.n_frames / rate for c in contacts])


def _swings(contacts: list[ForceContact], rate: float) -> np.ndarray:
    return np.array([(b.first - a.last - 1) / rate for a, b in zip(contacts, contacts[1:])])


def _assert_steps(contacts: list[ForceContact], rate: float) -> None:
    """Complete steps last 0.3-1.5 s, cut ones at most that, swings 0.3-0.8 s."""
    for contact, duration in zip(contacts, _durations(contacts, rate)):
        if contact.cut_start or contact.cut_end:
            assert duration <= 1.5 or contact.cut_start  # a standing contact may be long
        else:
            assert 0.3 <= duration <= 1.5, contact
    assert np.all((_swings(contacts, rate) >= 0.3) & (_swings(contacts, rate) <= 0.8))


def _cuts(contacts: list[ForceContact]) -> list[tuple[bool, bool]]:
    return [(c.cut_start, c.cut_end) for c in contacts]


def test_pedar_left_stands_3_s_then_takes_9_steps():
    # Truth: ~3 s of standing (the recording starts in it), then 9 steps; ends in swing.
    force, rate, contacts = _real("novel_pedar/pedar_example.asc", "left")
    assert rate == 100.0
    assert 10 <= insole_baseline(force, rate) <= 25  # measured swing level ~19 N (frames 8-30 N)
    assert len(contacts) == 10
    assert _cuts(contacts) == [(True, False)] + [(False, False)] * 9
    assert 2.5 <= contacts[0].n_frames / rate <= 3.5  # standing, 0-2.96 s
    _assert_steps(contacts[1:], rate)


def test_pedar_right_stands_then_takes_9_steps_the_last_cut_by_the_end():
    force, rate, contacts = _real("novel_pedar/pedar_example.asc", "right")
    assert 0 <= insole_baseline(force, rate) <= 10  # measured ~3 N
    assert len(contacts) == 10
    assert _cuts(contacts) == [(True, False)] + [(False, False)] * 8 + [(False, True)]
    assert 2.5 <= contacts[0].n_frames / rate <= 4.0  # standing until the first left step, 0-3.70 s
    _assert_steps(contacts[1:], rate)


def test_fscan_left_six_contacts_the_first_cut_by_the_start():
    force, rate, contacts = _real("tekscan_fscan/FrasP01L.asf", "left")
    assert rate == 31.25
    assert insole_baseline(force, rate) == 0.0  # the export zeroes cells under its noise threshold
    assert len(contacts) == 6
    assert _cuts(contacts) == [(True, False)] + [(False, False)] * 5
    _assert_steps(contacts, rate)


def test_fscan_right_six_contacts_the_last_cut_by_the_end():
    # The right insole starts in swing (reading 15-19 N) and ends in the sixth stance.
    force, rate, contacts = _real("tekscan_fscan/FrasP01R.asf", "right")
    assert 5 <= insole_baseline(force, rate) <= 15  # measured 9.5 N, drifting 16 -> 7 N
    assert len(contacts) == 6
    assert _cuts(contacts) == [(False, False)] * 5 + [(False, True)]
    _assert_steps(contacts, rate)


def test_xsensor_two_contacts_per_insole():
    # 1.3 s at ~77 Hz. Left: the end of a stance (0-0.13 s), swing, one complete stance
    # (0.56-1.12 s), swing. Right: a stance cut by the start (0-0.70 s), swing, a stance cut by
    # the end (1.07 s on). Read off the force curves.
    force, rate, left = _real("xsensor_insole/xsensor_data.csv", "left")
    assert len(left) == 2
    assert _cuts(left) == [(True, False), (False, False)]
    assert 0.3 <= left[1].n_frames / rate <= 1.5
    force, rate, right = _real("xsensor_insole/xsensor_data.csv", "right")
    assert len(right) == 2
    assert _cuts(right) == [(True, False), (False, True)]
    _assert_steps(left, rate)
    _assert_steps(right, rate)


# --- synthetic curves ------------------------------------------------------------------------

def _stance_train(rate: float, pattern: list[tuple[str, float]], *, peak: float = 700.0,
                  baseline: float = 0.0, ramp_s: float = 0.05) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A force curve from ("stance"|"swing", seconds) pieces, and each stance's true first and
    last frame. Stances are square-ish: a linear ramp up over ``ramp_s``, a double hump, a
    ramp down; every frame of a stance is above the baseline."""
    force, truth, start = [], [], 0
    for kind, seconds in pattern:
        n = int(round(seconds * rate))
        if kind == "swing":
            force.append(np.full(n, baseline))
        else:
            ramp = max(1, int(round(ramp_s * rate)))
            t = np.linspace(0.0, 1.0, n)
            shape = 0.85 + 0.15 * np.abs(np.cos(2 * np.pi * t))  # two humps, a mid-stance dip
            envelope = np.minimum(1.0, np.minimum(np.arange(1, n + 1), np.arange(n, 0, -1)) / ramp)
            force.append(baseline + peak * shape * envelope)
            truth.append((start, start + n - 1))
        start += n
    return np.concatenate(force), truth


WALK = [("swing", 0.4)] + [("stance", 0.65), ("swing", 0.45)] * 6


@pytest.mark.parametrize("rate", [31.25, 76.9, 100.0])
def test_clean_stance_train_found_within_one_frame(rate):
    force, truth = _stance_train(rate, WALK)
    contacts = insole_contacts(force, rate)
    assert len(contacts) == len(truth)
    for contact, (first, last) in zip(contacts, truth):
        assert abs(contact.first - first) <= 1 and abs(contact.last - last) <= 1
        assert not contact.cut_start and not contact.cut_end
    assert insole_baseline(force, rate) == 0.0


@pytest.mark.parametrize("rate", [31.25, 100.0, 200.0])
def test_offset_noise_and_short_spikes_in_swing_make_no_contacts(rate):
    rng = np.random.default_rng(7)
    clean, truth = _stance_train(rate, WALK, baseline=40.0)
    force = clean + rng.normal(0.0, 4.0, clean.size)  # 40 N offset, 4 N SD (real: <= 4 N)
    spike = max(1, int(round(0.03 * rate)))  # 30 ms spikes, as high as a third of a stance
    clear = int(round(0.05 * rate))  # >= 50 ms from a stance (closer, it reads as the foot landing)
    for first, last in [(0, truth[0][0])] + [(a[1] + 1, b[0]) for a, b in zip(truth, truth[1:])]:
        for at in (first + clear, (first + last) // 2, last - spike - clear):
            force[at:at + spike] += 250.0
    assert 30.0 <= insole_baseline(force, rate) <= 50.0
    contacts = insole_contacts(force, rate)
    assert len(contacts) == len(truth)
    for contact, (first, last) in zip(contacts, truth):
        assert abs(contact.first - first) <= 1 and abs(contact.last - last) <= 1


@pytest.mark.parametrize("missing", [False, True])
def test_brief_dropout_inside_a_stance_is_bridged(missing):
    rate = 100.0
    force, truth = _stance_train(rate, WALK)
    first, last = truth[2]
    for at in (first + 20, last - 10):  # 40 ms to the unloaded level, mid-stance and near its end
        force[at:at + 4] = np.nan if missing else 0.0
    contacts = insole_contacts(force, rate)
    assert len(contacts) == len(truth)
    assert abs(contacts[2].first - first) <= 1 and abs(contacts[2].last - last) <= 1


def test_recording_starting_and_ending_inside_a_contact_is_cut():
    rate = 100.0
    force, truth = _stance_train(rate, [("stance", 0.65), ("swing", 0.45)] * 3 + [("stance", 0.65)])
    force = force[20:-25]  # starts 0.2 s into the first stance and ends 0.25 s before the last ends
    contacts = insole_contacts(force, rate)
    assert len(contacts) == 4
    assert _cuts(contacts) == [(True, False), (False, False), (False, False), (False, True)]
    assert contacts[0].first == 0 and contacts[-1].last == len(force) - 1


def test_short_slivers_at_the_edges():
    """A contact cut by the recording only needs half of min_contact_s; shorter is noise."""
    rate = 100.0
    force, _ = _stance_train(rate, [("stance", 0.65), ("swing", 0.45)] * 2 + [("stance", 0.65)])
    start_of_first_swing = 65
    kept = insole_contacts(force[start_of_first_swing - 12:], rate)  # 0.12 s of the first stance
    assert kept[0].cut_start and kept[0].first == 0
    dropped = insole_contacts(force[start_of_first_swing - 6:], rate)  # 0.06 s: noise
    assert not dropped[0].cut_start and len(dropped) == len(kept) - 1


def test_quiet_standing_is_one_contact():
    rate = 100.0
    t = np.arange(0, 10, 1 / rate)
    rng = np.random.default_rng(3)
    force = 400 + 30 * np.sin(2 * np.pi * 0.3 * t) + rng.normal(0, 5, t.size)
    assert insole_baseline(force, rate) == 0.0  # never unloaded: the swing level is not seen
    assert insole_contacts(force, rate) == [ForceContact(0, t.size - 1, True, True)]


@pytest.mark.parametrize("rate", [31.25, 100.0])
def test_a_walk_on_an_insole_that_reads_300_n_unloaded_is_still_a_walk(rate):
    """Channels not zeroed (STAPPone reads ~290 N unloaded): the stances are those of the same
    walk read from zero, not one standing contact."""
    zeroed, truth = _stance_train(rate, WALK)
    offset, _ = _stance_train(rate, WALK, baseline=300.0)
    assert insole_contacts(offset, rate) == insole_contacts(zeroed, rate)
    assert len(insole_contacts(offset, rate)) == len(truth)


def test_weight_shifts_over_a_high_level_stay_standing():
    """Standing and shifting weight from foot to foot every few seconds: the low level is the
    other foot's turn, not a swing; stances of seconds are no gait."""
    rate = 100.0
    shifts, _ = _stance_train(rate, [("swing", 2.5), ("stance", 3.0)] * 4 + [("swing", 2.5)], peak=250.0,
                              baseline=300.0, ramp_s=0.5)
    assert insole_contacts(shifts, rate) == [ForceContact(0, shifts.size - 1, True, True)]


def test_stappone_walks_without_its_tare():
    """The real STAPPone export (left insole): called standing with 0 steps until its offset
    was taken off (``?tare=1``); the same 60 steps either way now."""
    from pressure.analysis import analyse

    path = shared_file("pressuRe_extdata/stappone_example.csv")
    plain, _ = analyse(drivers.load(f"{path}?foot=left"))
    tared, _ = analyse(drivers.load(f"{path}?foot=left&tare=1"))
    assert plain.attrs["activity"] != "standing"
    assert plain.sizes["step"] == tared.sizes["step"] == 60


@pytest.mark.parametrize("force", [np.zeros(500), np.full(500, np.nan), np.full(500, 40.0),
                                   np.full(500, 500.0), np.zeros(0), np.full(1, 300.0)],
                         ids=["zero", "nan", "constant-40", "constant-500", "empty", "one-frame"])
def test_no_signal_no_contacts(force):
    assert insole_contacts(force, 100.0) == []
    assert np.isfinite(insole_baseline(force, 100.0))


def test_noise_only_no_contacts():
    rng = np.random.default_rng(11)
    force = 40 + rng.normal(0, 4, 1500) + np.linspace(0, 10, 1500)  # offset, noise and drift
    assert insole_contacts(force, 100.0) == []


def test_bad_arguments():
    with pytest.raises(ValueError):
        insole_contacts(np.zeros((10, 2)), 100.0)
    with pytest.raises(ValueError):
        insole_contacts(np.zeros(10), 0.0)
    with pytest.raises(ValueError):
        insole_contacts(np.zeros(10), 100.0, min_contact_s=-1)


def test_defaults_fit_gait():
    # Below the shortest walking stance and swing (~0.25 s, measured >= 0.33 s on real insoles),
    # above noise blips (<= 0.11 s) and dropouts (~0.04 s).
    assert 0.12 <= MIN_CONTACT_S <= 0.25 and 0.05 <= MIN_SWING_S <= 0.25


# --- property --------------------------------------------------------------------------------

pieces = st.lists(st.tuples(st.floats(0.0, 1200.0), st.integers(1, 90)), min_size=0, max_size=25)


@settings(max_examples=300, deadline=None)
@given(pieces=pieces,
       noise=st.floats(0.0, 30.0),
       nan_at=st.lists(st.integers(0, 3000), max_size=20),
       rate=st.sampled_from([31.25, 50.0, 76.9, 100.0, 200.0]),
       min_contact_s=st.floats(0.0, 0.6),
       min_swing_s=st.floats(0.0, 0.6),
       seed=st.integers(0, 2**16))
def test_contacts_are_ordered_disjoint_inside_and_long_enough(pieces, noise, nan_at, rate, min_contact_s,
                                                              min_swing_s, seed):
    levels = [level for level, _ in pieces]
    force = np.repeat(np.array(levels, dtype=float), [n for _, n in pieces])
    force = force + np.random.default_rng(seed).normal(0.0, noise, force.size)
    force[[i for i in nan_at if i < force.size]] = np.nan
    contacts = insole_contacts(force, rate, min_contact_s=min_contact_s, min_swing_s=min_swing_s)
    n = force.size
    for k, contact in enumerate(contacts):
        assert 0 <= contact.first <= contact.last <= n - 1
        assert contact.cut_start == (contact.first == 0) and contact.cut_end == (contact.last == n - 1)
        needed = min_contact_s / 2 if contact.cut_start or contact.cut_end else min_contact_s
        assert contact.n_frames / rate >= needed
        if k:
            previous = contacts[k - 1]
            assert contact.first > previous.last + 1
            assert (contact.first - previous.last - 1) / rate >= min_swing_s
    assert np.isfinite(insole_baseline(force, rate))


def test_both_insoles_loaded_over_a_second_is_standing_and_a_walks_double_support_is_not():
    from types import SimpleNamespace

    from pressure.contacts.session import settle_double_support

    rate = 100.0

    def contact(foot, first, last):
        return SimpleNamespace(foot=foot, kind="step", first=first, last=last)

    # Both feet loaded for the first 1.6 s (the recording starts mid-stand), then a walk whose
    # stances overlap by 0.15 s: 60 frames of each stance, a step every 0.45 s.
    opening = [contact("left", 0, 164), contact("right", 0, 200)]
    walk = [contact("left" if k % 2 else "right", 150 + 45 * k, 150 + 45 * k + 59) for k in range(1, 20000)]
    contacts = opening + walk
    started = time.perf_counter()
    settle_double_support(contacts, rate)
    assert time.perf_counter() - started < 2.0  # a day's insole contacts: bisection, not every pair
    assert [c.kind for c in opening] == ["standing", "standing"]
    assert {c.kind for c in walk} == {"step"}
