from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from drivers.simulator import simulate
from pressure.analysis import Options, analyse
from pressure.balance import f_quantile_2, sway
from pressure.gait import progression_angle


def test_f_quantile_matches_tables():
    # F(0.95; 2, m) from statistical tables.
    assert f_quantile_2(0.95, 10) == pytest.approx(4.103, abs=1e-3)
    assert f_quantile_2(0.95, 100) == pytest.approx(3.087, abs=1e-3)
    assert f_quantile_2(0.95, 1) == pytest.approx(199.5, abs=0.1)


def test_ellipse_area_of_a_gaussian_cloud():
    rng = np.random.default_rng(0)
    ap, ml = rng.normal(0, 4.0, 20000), rng.normal(0, 2.0, 20000)
    measures = sway(ml + 100, ap + 50, 100.0, np.array([0.0, 1.0]), lowpass_hz=None)
    # 95 % ellipse of independent normals: 2 pi F sqrt(var_ap var_ml) ~ 2 pi 3.0 * 8.
    assert measures["ellipse_area"] == pytest.approx(2 * np.pi * 2.996 * 8.0, rel=0.03)
    assert measures["rms_distance"] == pytest.approx(np.sqrt(16 + 4), rel=0.02)
    assert measures["range_ap"] > measures["range_ml"]


def test_sway_of_a_square_path():
    x = np.array([0.0, 10, 10, 0, 0])
    y = np.array([0.0, 0, 10, 10, 0])
    measures = sway(x, y, 2.0, np.array([0.0, 1.0]), lowpass_hz=None)
    assert measures["path_length"] == 40.0
    assert measures["mean_velocity"] == pytest.approx(40.0 / 2.5)
    assert measures["range_ap"] == measures["range_ml"] == 10.0


def test_sway_skips_unloaded_frames_and_needs_three_points():
    assert np.isnan(sway(np.array([1.0, np.nan]), np.array([1.0, np.nan]), 100.0, np.array([0.0, 1.0]))["path_length"])


def test_progression_angle_is_toe_out_positive_for_both_feet():
    forward = np.array([0.0, 1.0])
    out = np.deg2rad(10)
    left_axis = np.array([-np.sin(out), np.cos(out)])  # turned towards the walker's left
    right_axis = np.array([np.sin(out), np.cos(out)])
    assert progression_angle(left_axis, forward, "left") == pytest.approx(10.0)
    assert progression_angle(right_axis, forward, "right") == pytest.approx(10.0)
    assert progression_angle(right_axis, forward, "left") == pytest.approx(-10.0)


def naive_biquad(x, b, a):
    """One pass of a second-order section, starting as if ``x`` had always held its first value."""
    y, x1, x2, y1, y2 = [], x[0], x[0], x[0], x[0]
    for value in x:
        out = b[0] * value + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2
        x2, x1, y2, y1 = x1, value, y1, out
        y.append(out)
    return np.array(y)


def naive_lowpass(x, cutoff_hz, rate_hz):
    """Second-order Butterworth (bilinear transform, by hand) run forwards and backwards."""
    k = np.tan(np.pi * cutoff_hz / rate_hz)
    norm = 1.0 / (1.0 + np.sqrt(2.0) * k + k * k)
    b = np.array([1.0, 2.0, 1.0]) * k * k * norm
    a = np.array([2 * (k * k - 1) * norm, (1 - np.sqrt(2.0) * k + k * k) * norm])
    return naive_biquad(naive_biquad(x, b, a)[::-1], b, a)[::-1]


def test_lowpass_is_a_zero_phase_fourth_order_butterworth():
    from pressure.kernels.lowpass import lowpass

    rng = np.random.default_rng(5)
    x = rng.normal(size=500).cumsum()
    np.testing.assert_allclose(lowpass(x, 5.0, 100.0), naive_lowpass(x, 5.0, 100.0), rtol=1e-9, atol=1e-9)
    t = np.arange(2000) / 100.0
    slow, fast = np.sin(2 * np.pi * 0.5 * t), 0.5 * np.sin(2 * np.pi * 20 * t)
    filtered = lowpass(slow + fast, 5.0, 100.0)
    np.testing.assert_allclose(filtered[100:-100], slow[100:-100], atol=0.01)  # zero phase, stop band gone
    # Fourth order in all: half the amplitude at the cut-off, 1/(1 + (f/fc)^4) elsewhere (with
    # the bilinear transform's frequency warping, f -> tan(pi f / rate)).
    for hz in (2.0, 5.0, 10.0, 20.0):
        tone = lowpass(np.sin(2 * np.pi * hz * t), 5.0, 100.0)[500:-500]  # whole cycles
        ratio = np.tan(np.pi * hz / 100.0) / np.tan(np.pi * 5.0 / 100.0)
        assert np.sqrt(2 * np.mean(tone**2)) == pytest.approx(1 / (1 + ratio**4), rel=1e-3), hz
    gappy = (slow + fast).copy()
    gappy[500:510] = np.nan
    gappy[1000] = np.nan
    gappy[1002] = np.nan  # a one-frame run between gaps
    out = lowpass(gappy, 5.0, 100.0)
    assert np.isnan(out[500:510]).all() and np.isnan(out[[1000, 1002]]).all()
    assert out[1001] == gappy[1001]  # a run of one value is that value
    np.testing.assert_allclose(out[510:1000], naive_lowpass(gappy[510:1000], 5.0, 100.0), atol=1e-9)
    with pytest.raises(ValueError, match="cutoff"):
        lowpass(slow, 50.0, 100.0)


# -- sway measures against what can be worked out by hand ---------------------------------------
def test_ellipse_of_a_uniformly_sampled_circle_and_ellipse():
    n, radius = 400, 10.0
    angle = 2 * np.pi * np.arange(n) / n  # whole turns, uniformly: mean at the centre, no covariance
    forward = np.array([0.0, 1.0])
    circle = sway(100 + radius * np.cos(angle), 50 + radius * np.sin(angle), 100.0, forward, lowpass_hz=None)
    # Sample variances R^2/2 * n/(n-1) each, no covariance: area = 2 pi F * R^2/2 * n/(n-1).
    f95 = stats.f.ppf(0.95, 2, n - 2)
    assert circle["ellipse_area"] == pytest.approx(np.pi * f95 * radius**2 * n / (n - 1), rel=1e-9)
    # For many points 2 F(0.95; 2, n-2) tends to chi2(0.95; 2) = 5.99: about pi * 5.99/2 * R^2.
    assert circle["ellipse_area"] == pytest.approx(np.pi * 5.99 / 2 * radius**2, rel=0.02)
    assert circle["range_ap"] == pytest.approx(2 * radius) and circle["range_ml"] == pytest.approx(2 * radius)
    assert circle["rms_distance"] == pytest.approx(radius)
    assert circle["path_length"] == pytest.approx(2 * np.pi * radius * (n - 1) / n, rel=1e-3)
    # Semi-axes 8 mm and 3 mm, turned by 30 degrees on the mat: pi F a b n/(n-1), however turned.
    a, b, turn = 8.0, 3.0, np.deg2rad(30)
    u, v = a * np.cos(angle), b * np.sin(angle)
    x, y = u * np.cos(turn) - v * np.sin(turn), u * np.sin(turn) + v * np.cos(turn)
    ellipse = sway(x, y, 100.0, forward, lowpass_hz=None)
    assert ellipse["ellipse_area"] == pytest.approx(np.pi * f95 * a * b * n / (n - 1), rel=1e-9)


def test_a_straight_or_still_path_has_no_area():
    t = np.arange(500) / 100.0
    along = 5.0 * np.sin(2 * np.pi * 0.3 * t)
    line = sway(100 + 0.6 * along, 50 + 0.8 * along, 100.0, np.array([0.0, 1.0]))
    assert np.isfinite(line["ellipse_area"]) and line["ellipse_area"] < 1e-4  # rounding only, on a 10 mm path
    assert line["range_ap"] == pytest.approx(0.8 * 10.0, rel=0.01)
    assert line["range_ml"] == pytest.approx(0.6 * 10.0, rel=0.01)
    assert line["path_length"] > 0
    still = sway(np.full(50, 100.0), np.full(50, 50.0), 100.0, np.array([0.0, 1.0]))
    assert still["ellipse_area"] == 0.0 and still["path_length"] == 0.0 and still["range_ml"] == 0.0


# -- sway of a simulated standing session against its ground truth ------------------------------
FORWARD = {"+y": (0.0, 1.0), "-y": (0.0, -1.0), "+x": (1.0, 0.0), "-x": (-1.0, 0.0)}
STANDING = [
    ("sim://standing?seed=1&imbalance=0.2&arch=flat&angle=8&duration=5&speed=0", "+y"),  # the fixture
    ("sim://standing?seed=4&angle=0&duration=8&speed=0&facing=-x", "-x"),
]


def truth_sway(truth, facing: str) -> dict[str, dict[str, float]]:
    """Sway of the ground-truth COP (noiseless, so unfiltered), per part, by numpy and scipy."""
    x, y, force = truth.cop_x_mm, truth.cop_y_mm, truth.force_n
    paths = {"mat": ((x * force).sum(axis=1) / force.sum(axis=1), (y * force).sum(axis=1) / force.sum(axis=1)),
             "left": (x[:, 0], y[:, 0]), "right": (x[:, 1], y[:, 1])}
    fx, fy = FORWARD[facing]
    measures = {}
    for part, (px, py) in paths.items():
        assert np.isfinite(px).all() and np.isfinite(py).all()
        ap, ml = px * fx + py * fy, -px * fy + py * fx
        n = len(px)
        semi_axes_squared = 2 * stats.f.ppf(0.95, 2, n - 2) * np.maximum(np.linalg.eigvalsh(np.cov(px, py)), 0.0)
        measures[part] = {"ellipse_area": np.pi * np.sqrt(np.prod(semi_axes_squared)),
                          "path_length": np.hypot(np.diff(px), np.diff(py)).sum(),
                          "range_ap": np.ptp(ap), "range_ml": np.ptp(ml)}
    return measures


@pytest.mark.parametrize("url, facing", STANDING)
def test_standing_sway_matches_the_ground_truth(url, facing):
    recording, truth = simulate(url)
    results, _ = analyse(recording, Options(facing=facing))
    expected = truth_sway(truth, facing)
    for part, measures in expected.items():
        for name, value in measures.items():
            measured = float(results[f"sway_{name}"].sel(part=part))
            assert measured == pytest.approx(value, rel=0.1), f"{part} {name}: {measured:.3f} vs truth {value:.3f}"


@pytest.mark.parametrize("url, facing", STANDING)
def test_each_standing_foot_sways_across_as_well_as_along(url, facing):
    recording, truth = simulate(url)
    results, _ = analyse(recording, Options(facing=facing))
    expected = truth_sway(truth, facing)
    for foot in ("left", "right"):
        for source in (expected[foot], {name: float(results[f"sway_{name}"].sel(part=foot)) for name in expected[foot]}):
            assert source["range_ml"] > 1.0, foot
            assert 10.0 < source["ellipse_area"] < 300.0, foot


def test_the_foot_width_of_the_cpei_bridges_a_high_arch():
    """A left print of a 50 mm wide heel (rows 0-9) and a 90 mm wide forefoot (rows 20-29, four
    columns further out medially) joined by a 10 mm lateral band (rows 10-19): across the band
    (y 150 mm) the foot's width between its borders is 81 mm, where its loaded cells are 10 mm."""
    from pressure.arch import FootGeometry
    from pressure.gait import foot_width_at

    mask = np.zeros((30, 20), bool)
    mask[0:10, 0:5] = True  # heel, cols 0-4 (lateral side: low x for a left foot)
    mask[10:20, 0:1] = True  # the lateral band
    mask[20:30, 0:9] = True  # forefoot
    rows, cols = np.nonzero(mask)
    geometry = FootGeometry(axis=np.array([0.0, 1.0]), method="principal", heel_xy=np.array([20.0, 20.0]),
                            rows=rows, cols=cols, s=rows * 10.0, half_cell=5.0, start=-5.0, end=295.0,
                            width_mm=90.0)
    lateral = np.array([-1.0, 0.0])  # a left foot's lateral side, at lower x
    # The print's hull: its medial side runs from the heel's corner (45, -5) mm to the forefoot's
    # (85, 195) mm, so at y 150 mm it is at x 45 + 40 * 155 / 200 = 76 mm; its lateral side is x -5 mm.
    assert foot_width_at(geometry, 150.0, lateral, 10.0, 10.0) == pytest.approx(81.0)
    assert foot_width_at(geometry, 250.0, lateral, 10.0, 10.0) == pytest.approx(90.0)  # the forefoot itself
