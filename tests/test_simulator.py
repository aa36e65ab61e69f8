from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers.foot_model import ARCH_INDEX_BY_TYPE, shape_for_arch
from drivers.simulator import SCALE_KPA, simulate


def test_same_seed_same_session_however_it_is_read():
    url = "sim://standing?seed=3&duration=1.2&speed=0"
    whole, _ = simulate(url)
    with drivers.open_url(url) as source:
        one_by_one = np.stack([frame.cells for frame in source])
    np.testing.assert_array_equal(whole.cells, one_by_one)
    other, _ = simulate("sim://standing?seed=4&duration=1.2&speed=0")
    assert not np.array_equal(whole.cells, other.cells)


@pytest.mark.parametrize("arch", ["high", "normal", "flat"])
def test_arch_types_have_their_arch_index(arch):
    shape = shape_for_arch(arch)
    assert shape.arch_index == pytest.approx(ARCH_INDEX_BY_TYPE[arch], abs=1e-3)


def test_ground_truth_force_is_what_the_noiseless_frames_carry():
    recording, truth = simulate("sim://standing?noise=0&duration=0.5&imbalance=0.2&speed=0")
    kpa = recording.cells.astype(float) * SCALE_KPA
    total = kpa.sum(axis=(1, 2)) * 25e-6 * 1000
    np.testing.assert_allclose(truth.force_n.sum(axis=1), total, rtol=2e-3)
    assert truth.load_share["right"] == pytest.approx(0.6, abs=0.02)
    assert truth.force_n.sum(axis=1).mean() == pytest.approx(700, rel=0.01)


def test_standing_feet_lie_left_and_right_of_the_facing_direction():
    _, truth = simulate("sim://standing?duration=0.2&speed=0")
    assert np.nanmean(truth.cop_x_mm[:, 0]) < np.nanmean(truth.cop_x_mm[:, 1])
    _, facing_minus_x = simulate("sim://standing?duration=0.2&speed=0&facing=-x")
    # Facing -x, the person's left is towards -y.
    assert np.nanmean(facing_minus_x.cop_y_mm[:, 0]) < np.nanmean(facing_minus_x.cop_y_mm[:, 1])


def test_walking_alternates_feet_with_double_support():
    recording, truth = simulate("sim://walking?speed=0")
    feet = [contact.foot for contact in truth.contacts]
    assert feet == ["right", "left", "right"]
    for before, after in zip(truth.contacts, truth.contacts[1:]):
        assert after.start_s < before.end_s  # double support
    assert recording.n_frames == pytest.approx((truth.contacts[-1].end_s + 0.3) * 100, abs=1)


def test_options_are_validated():
    with pytest.raises(drivers.DriverError, match="imbalance"):
        drivers.open_url("sim://standing?imbalance=2")
    with pytest.raises(drivers.DriverError, match="do not fit"):
        drivers.open_url("sim://standing?rows=20&cols=20")


def _standing_session(url):
    from drivers.simulator import SimMat
    from drivers.url import parse_url

    return SimMat(parse_url(url)).session


def test_ground_truth_cop_is_what_the_noiseless_frames_carry():
    url = "sim://standing?noise=0&duration=2&imbalance=0.2&angle=8&speed=0"
    recording, truth = simulate(url)
    kpa = recording.cells.astype(float) * SCALE_KPA
    x, y = np.meshgrid(np.arange(kpa.shape[2]) * 5.0, np.arange(kpa.shape[1]) * 5.0)
    middle = x.max() / 2  # the feet stand apart, left at smaller x
    for index, side in enumerate((x < middle, x >= middle)):
        per_foot = kpa * side[None]
        total = per_foot.sum(axis=(1, 2))
        np.testing.assert_allclose((per_foot * x).sum(axis=(1, 2)) / total, truth.cop_x_mm[:, index], atol=0.02)
        np.testing.assert_allclose((per_foot * y).sum(axis=(1, 2)) / total, truth.cop_y_mm[:, index], atol=0.02)


@pytest.mark.parametrize("url", ["sim://standing?seed=1&imbalance=0.2&arch=flat&angle=8&duration=5&speed=0",
                                 "sim://standing?seed=6&angle=0&facing=-x&foot=220&duration=10&speed=0"])
def test_each_standing_foot_sways_across_itself_not_on_a_line(url):
    session = _standing_session(url)
    _, truth = simulate(url)
    for index, foot in enumerate(session.standing_feet):
        u, m = foot.foot_coordinates(truth.cop_x_mm[:, index], truth.cop_y_mm[:, index])
        assert 8.0 < np.ptp(u) < 16.0  # heel to toe, as before
        assert 2.0 < np.ptp(m) < 6.0  # inversion/eversion: a few mm across the foot
        smallest, largest = np.linalg.eigvalsh(np.cov(u, m))
        assert smallest > 0.3 and largest > smallest  # an area, not a line segment

