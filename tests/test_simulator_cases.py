"""The simulator's hard cases (merged toes, heel islands, single steps, cut contacts, walking off,
stepping in place, insoles with drifting baselines and spikes) and their exact ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import drivers
from drivers.foot_model import ARCH_INDEX_BY_TYPE, FootShape
from drivers.simulator import SCALE_KPA, simulate

EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)
AXES = {"+y": (0, 1), "-y": (0, -1), "+x": (1, 0), "-x": (-1, 0)}


def kpa(recording) -> np.ndarray:
    return recording.cells.astype(float) * SCALE_KPA


def force_n(frames: np.ndarray, pitch_mm: float, cells=None) -> np.ndarray:
    """Force of each frame (of ``cells`` only, when given)."""
    loads = frames if cells is None else frames * cells[None]
    return loads.sum(axis=(1, 2)) * pitch_mm * pitch_mm * 1e-3


def islands(image: np.ndarray) -> list[np.ndarray]:
    """Connected loaded regions (8 neighbours), ordered from low rows to high rows."""
    labels, n = ndimage.label(image, structure=EIGHT_NEIGHBOURS)
    found = [labels == index for index in range(1, n + 1)]
    return sorted(found, key=lambda island: np.nonzero(island)[0].mean())


def cell_distance_mm(a: np.ndarray, b: np.ndarray, pitch_mm: float) -> float:
    ra, ca = np.nonzero(a)
    rb, cb = np.nonzero(b)
    return float(np.hypot(ra[:, None] - rb[None], ca[:, None] - cb[None]).min() * pitch_mm)


@pytest.mark.parametrize("url", [
    "sim://step?toes=merged&heel=island&arch=high",
    "sim://step?direction=-x&side=left&shift=70",
    "sim://standwalk?stand=0.5&direction=+x",
    "sim://inplace?steps=3",
    "sim://insoles?steps=3&baseline=0&spikes=0",
    "sim://walking?start=0.6&duration=1",
])
def test_ground_truth_force_is_what_the_noiseless_frames_carry(url):
    recording, truth = simulate(url + "&noise=0&speed=0")
    frames, pitch = kpa(recording), recording.info.pitch_x_mm
    np.testing.assert_allclose(truth.force_n.sum(axis=1), force_n(frames, pitch), rtol=2e-3, atol=0.5)
    if recording.info.foot_map is not None:
        for index in range(2):
            own = recording.info.foot_map == index
            np.testing.assert_allclose(truth.force_n[:, index], force_n(frames, pitch, own), rtol=2e-3, atol=0.5)


@pytest.mark.parametrize("gap", [10, 20, 30])
def test_merged_toes_are_one_row_wider_than_long_about_the_gap_beyond_the_forefoot(gap):
    recording, _ = simulate(f"sim://step?toes=merged&toe_gap={gap}&noise=0&speed=0&duration=0.5")
    print_and_toes = islands(recording.cells.max(axis=0) > 0)
    assert len(print_and_toes) == 2  # the continuous print, then the toes (walking +y)
    forefoot, toes = print_and_toes
    assert ndimage.label(toes)[1] == 1  # one piece even with 4 neighbours: the toes touch
    rows, cols = np.nonzero(toes)
    width, length = (np.ptp(cols) + 1) * 5.0, (np.ptp(rows) + 1) * 5.0
    assert 80 <= width <= 100 and length < width
    assert gap - 1 <= cell_distance_mm(toes, forefoot, 5.0) <= gap + 10


def test_toe_gap_moves_apart_toes_too():
    distances = []
    for gap in (10, 30):
        recording, _ = simulate(f"sim://step?toe_gap={gap}&noise=0&speed=0&duration=0.5")
        footprint = recording.cells.max(axis=0) > 0
        main = max(islands(footprint), key=np.sum)
        distances.append(cell_distance_mm(footprint & ~main, main, 5.0))  # toes: all but the print
    assert distances[1] - distances[0] == pytest.approx(20, abs=5)


@pytest.mark.parametrize("arch", ["high", "0.12"])
def test_heel_island_stands_apart_and_keeps_the_continuous_print_arch_index(arch):
    recording, truth = simulate(f"sim://step?heel=island&arch={arch}&noise=0&speed=0&duration=0.5")
    parts = islands(recording.cells.max(axis=0) > 0)
    assert len(parts) == 3  # heel, forefoot with the band, toes
    heel, rest = parts[0], parts[1]
    assert np.nonzero(heel)[0].max() < np.nonzero(rest)[0].min() + 3  # the heel is behind the rest
    target = ARCH_INDEX_BY_TYPE["high"] if arch == "high" else float(arch)
    assert truth.arch_index["right"] == pytest.approx(target, abs=1e-3)
    band = truth.contacts[0].placed.shape.band_width_mm
    assert truth.arch_index["right"] == FootShape(250.0, band, heel="island").arch_index
    joined, _ = simulate(f"sim://step?arch={arch}&noise=0&speed=0&duration=0.5")
    assert len(islands(joined.cells.max(axis=0) > 0)) == 2


@pytest.mark.parametrize("direction", ["+y", "-y", "+x", "-x"])
def test_a_single_step_loads_the_heel_end_first(direction):
    recording, truth = simulate(f"sim://step?direction={direction}&noise=0&speed=0")
    assert recording.cells.shape == ((100, 64, 48) if direction[1] == "y" else (100, 48, 64))
    (contact,) = truth.contacts
    assert (contact.foot, contact.start_s, contact.end_s) == ("right", 0.1, pytest.approx(0.8))
    assert contact.complete and contact.direction == direction and contact.kind == "step"
    frames = kpa(recording)
    loaded = np.flatnonzero(frames.sum(axis=(1, 2)) > 0)
    assert loaded[0] == 11 and loaded[-1] == 79  # strictly between 0.1 s and 0.8 s
    rows, cols = np.mgrid[: frames.shape[1], : frames.shape[2]]
    axis = AXES[direction]
    along = (cols * axis[0] + rows * axis[1]) * 5.0  # mm along the walk
    footprint = frames.max(axis=0) > 0
    first = frames[loaded[0]] > 0
    middle = 0.5 * (along[footprint].min() + along[footprint].max())
    assert along[first].max() < middle  # only the heel half is loaded at first
    cop = np.c_[truth.cop_x_mm[:, 1], truth.cop_y_mm[:, 1]]
    assert (cop[loaded[-1]] - cop[loaded[0]]) @ np.array(axis) > 120  # the COP rolls to the toes
    assert np.isnan(truth.cop_x_mm[:, 0]).all() and truth.load_share == {"left": 0.0, "right": 1.0}


def test_start_and_duration_cut_contacts():
    _, truth = simulate("sim://walking?start=0.5&duration=1.2&speed=0")
    first, middle, last = truth.contacts
    assert (first.start_s, first.end_s, first.complete) == (0.0, pytest.approx(0.45), False)
    assert middle.complete and middle.start_s == pytest.approx(0.345)
    assert (last.end_s, last.complete) == (pytest.approx(1.19), False)
    assert truth.force_n[0, 1] > 0  # loaded from the first frame
    step, step_truth = simulate("sim://step?start=0.4&speed=0&noise=0")
    assert step.n_frames == 60 and not step_truth.contacts[0].complete
    standing, _ = simulate("sim://standing?start=2&speed=0")
    assert standing.n_frames == 800  # the default 10 s less the 2 s dropped


@pytest.mark.parametrize("shift, edge", [(90, "low"), (-90, "high")])
def test_shift_moves_the_print_off_the_mat_edge(shift, edge):
    recording, truth = simulate(f"sim://step?shift={shift}&noise=0&speed=0")
    footprint = recording.cells.max(axis=0) > 0
    assert footprint[:, 0 if edge == "low" else -1].any()
    assert not truth.contacts[0].complete
    _, centred = simulate("sim://step?noise=0&speed=0")
    assert centred.contacts[0].complete


def test_standwalk_stands_then_walks_off():
    recording, truth = simulate("sim://standwalk?stand=1&noise=0&speed=0")
    assert recording.cells.shape[1:] == (400, 64)
    standing, steps = truth.contacts[:2], truth.contacts[2:]
    assert [(c.foot, c.kind, c.start_s, c.complete) for c in standing] == [
        ("left", "standing", 0.0, False), ("right", "standing", 0.0, False)]
    assert [c.foot for c in steps] == ["right", "left", "right"]
    assert all(c.kind == "step" and c.complete and c.direction == "+y" for c in steps)
    left_stand, right_stand = standing
    assert right_stand.end_s == 1.0 < steps[0].start_s < left_stand.end_s < steps[1].start_s
    before_lift = int(0.5 * 100)
    assert (truth.force_n[before_lift] > 200).all()  # both feet carry weight while standing
    single = int(round((right_stand.end_s + steps[0].start_s) / 2 * 100))
    assert truth.force_n[single, 1] == 0 and truth.force_n[single, 0] == pytest.approx(700, rel=0.01)
    # Each step lands further along the walk than the standing feet.
    standing_y = np.nanmean(truth.cop_y_mm[:before_lift], axis=0)
    during = [int(round((c.start_s + c.end_s) / 2 * 100)) for c in steps]
    step_y = [truth.cop_y_mm[frame, ("left", "right").index(c.foot)] for frame, c in zip(during, steps)]
    assert step_y[0] > standing_y[1] + 200 and np.all(np.diff(step_y) > 400)


def test_in_place_steps_land_on_the_same_cells_again():
    recording, truth = simulate("sim://inplace?steps=4&noise=0&speed=0")
    assert [c.foot for c in truth.contacts] == ["right", "left", "right", "left"]
    assert [(c.start_s, c.end_s) for c in truth.contacts[:2]] == [(0.3, pytest.approx(0.9)), (0.8, 1.4)]
    frames = kpa(recording)
    for a, b in ((0, 2), (1, 3)):
        first, again = truth.contacts[a], truth.contacts[b]
        assert first.placed == again.placed and again.start_s - first.end_s == pytest.approx(0.4)
        mid = [int(round((c.start_s + c.end_s) / 2 * 100)) for c in (first, again)]
        np.testing.assert_array_equal(frames[mid[0]] > 0, frames[mid[1]] > 0)
        swing = slice(int(first.end_s * 100) + 1, int(again.start_s * 100))
        assert (truth.force_n[swing, ("left", "right").index(first.foot)] == 0).all()


def test_insoles_drift_and_spike_while_the_foot_is_in_the_air():
    recording, truth = simulate("sim://insoles?speed=0")
    info = recording.info
    assert recording.cells.shape[1:] == (31, 23) and info.pitch_x_mm == 8.6
    foot_map = info.foot_map
    assert (foot_map[:, 11] == -1).all() and (foot_map[:, :11] != 1).all() and (foot_map[:, 12:] != 0).all()
    assert (recording.cells[:, foot_map == -1] == 0).all()
    assert len(truth.contacts) == 8 and all(c.placed is None for c in truth.contacts)
    assert truth.spikes
    frames = kpa(recording)
    time_s = recording.time_s
    for index, foot in enumerate(("left", "right")):
        insole = force_n(frames, info.pitch_x_mm, foot_map == index)
        own = [c for c in truth.contacts if c.foot == foot]
        spikes = [s for s in truth.spikes if s.foot == foot]
        for before, after in zip(own, own[1:]):
            swing = (time_s > before.end_s + 0.02) & (time_s < after.start_s - 0.02)
            assert truth.force_n[swing, index].max() == 0
            spiking = np.zeros_like(swing)
            for spike in spikes:
                spiking |= (time_s >= spike.start_s - 0.01) & (time_s <= spike.end_s + 0.01)
            assert 15 < np.median(insole[swing]) < 80  # the baseline, clearly above zero
            for spike in spikes:
                assert not (before.end_s < spike.start_s < after.start_s) or insole[swing & spiking].max() > (
                    insole[swing & ~spiking].max())
        for spike in spikes:  # spikes are not contacts: never during one of this insole's contacts
            assert all(spike.end_s < c.start_s or spike.start_s > c.end_s for c in own)


def test_insole_artefacts_are_the_same_however_the_session_is_read():
    url = "sim://insoles?steps=6&duration=3&speed=0"  # 300 frames: crosses a render block
    whole, _ = simulate(url)
    with drivers.open_url(url) as source:
        one_by_one = np.stack([frame.cells for frame in source])
    np.testing.assert_array_equal(whole.cells, one_by_one)


def test_standing_lists_its_two_standing_feet():
    recording, truth = simulate("sim://standing?duration=0.5&speed=0&facing=-x")
    assert [(c.foot, c.kind, c.start_s, c.end_s, c.complete, c.direction) for c in truth.contacts] == [
        ("left", "standing", 0.0, 0.49, False, "-x"), ("right", "standing", 0.0, 0.49, False, "-x")]


@pytest.mark.parametrize("url, message", [
    ("sim://step?toes=webbed", "toes='webbed'.*apart, merged"),
    ("sim://step?toe_gap=50", "toe_gap='50'.*0 to 40"),
    ("sim://standing?heel=floating", "heel='floating'.*joined, island"),
    ("sim://step?facing=+y", "unknown option facing"),
    ("sim://insoles?rows=20", "unknown option rows"),
    ("sim://walking?shift=10", "unknown option shift"),
    ("sim://step?side=middle", "side='middle'"),
    ("sim://running", "sim://standing, sim://walking, sim://step, sim://standwalk, sim://inplace, sim://insoles"),
    ("sim://step?start=5", "past the session's end"),
    ("sim://step?shift=400", "off the mat"),
    ("sim://step?rows=30", "do not fit"),
])
def test_new_options_are_validated(url, message):
    with pytest.raises(drivers.DriverError, match=message):
        drivers.open_url(url)
