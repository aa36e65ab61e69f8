from __future__ import annotations

import numpy as np
import pytest

from pressure.balance import f_quantile_2, sway
from pressure.gait import progression_angle


def test_f_quantile_matches_tables():
    # F(0.95; 2, m) from statistical tables.
    assert f_quantile_2(0.95, 10) == pytest.approx(4.103, abs=1e-3)
    assert f_quantile_2(0.95, 100) == pytest.approx(3.087, abs=1e-3)


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
    y, x1, x2, y1, y2 = [], x[0], x[0], x[0], x[0]
    for value in x:
        out = b[0] * value + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2
        x2, x1, y2, y1 = x1, value, y1, out
        y.append(out)
    return np.array(y)


def test_lowpass_kernel_matches_its_twin_and_filters():
    from pressure.kernels.lowpass import _biquad, butterworth_coefficients, lowpass

    rng = np.random.default_rng(5)
    x = rng.normal(size=500).cumsum()
    b, a = butterworth_coefficients(5.0, 100.0)
    np.testing.assert_allclose(_biquad(x, b, a), naive_biquad(x, b, a), rtol=1e-12)
    t = np.arange(2000) / 100.0
    slow, fast = np.sin(2 * np.pi * 0.5 * t), 0.5 * np.sin(2 * np.pi * 20 * t)
    filtered = lowpass(slow + fast, 5.0, 100.0)
    np.testing.assert_allclose(filtered[100:-100], slow[100:-100], atol=0.01)  # zero phase, stop band gone
    gappy = (slow + fast).copy()
    gappy[500:510] = np.nan
    assert np.isnan(lowpass(gappy, 5.0, 100.0)[500:510]).all()
