"""pedar insole geometry from the pressuRe layouts (drivers/layouts), on the real sample."""

from pathlib import Path

import numpy as np
import pytest

import drivers
from drivers.files.pedar import SIZES_WITH_OUTLINES, load_layout, raster_layout

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "novel_pedar" / "pedar_example.asc"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} is not here")
HALLUX = [83, 84, 90, 91, 96]  # pressuRe's pedar_mask3 regions (sensor numbers)
LESSER_TOES = [81, 82, 85, 86, 87, 88, 89, 92, 93, 94, 95, 97, 98, 99]


@pytest.fixture(scope="module")
def pair():
    """The sample with geometry, and the same file as raw sensors (2 x 99, no geometry)."""
    return drivers.load(f"{SAMPLE}?layout=outlines"), drivers.load(f"{SAMPLE}?sensor_area_cm2=1")


def test_layout_loads():
    outlines, areas = load_layout()
    assert set(outlines) == {"left", "right"}
    assert all(corners.shape == (99, 4, 2) for corners in outlines.values())
    assert set(SIZES_WITH_OUTLINES) <= set(areas) and {"uw", "xw", "vw"} <= set(areas)
    assert all(area.shape == (99,) and (area > 0).all() for area in areas.values())
    assert areas["y"][:3].tolist() == [192, 195, 197]  # pressuRe's pedar_insole_area()$y
    for size in SIZES_WITH_OUTLINES:
        layout = raster_layout(size, 2.5)
        counts = np.bincount(layout["owner"][layout["owner"] >= 0], minlength=198)
        assert (counts > 0).all()  # every sensor has cells
        assert 0.7 < layout["factor"].min() and layout["factor"].max() < 1.5


@needs_sample
def test_sample_gets_geometry_from_its_sensor_type(pair):
    recording, raw = pair
    assert recording.info.has_geometry and recording.info.extra["insole_size"] == "y"
    assert raw.cells.shape == (1505, 2, 99) and not raw.info.has_geometry
    foot_map = recording.info.foot_map
    assert foot_map.shape == recording.cells.shape[1:]
    assert np.isnan(recording.cells[:, foot_map < 0]).all()
    assert np.isfinite(recording.cells[:, foot_map >= 0]).all()
    assert drivers.load(f"{SAMPLE}?insole=x").info.extra["insole_size"] == "x"


@needs_sample
def test_force_is_pressure_times_sensor_area(pair):
    recording, raw = pair
    area_mm2 = load_layout()[1]["y"]
    for foot in (0, 1):
        expected_n = raw.cells[:, foot].astype(np.float64) @ area_mm2 * 1e-3  # kPa x mm² = mN
        cells = recording.cells[:, recording.info.foot_map == foot].astype(np.float64)
        force_n = cells.sum(axis=1) * recording.info.cell_area_mm2 * 1e-3
        np.testing.assert_allclose(force_n, expected_n, rtol=1e-5, atol=1e-3)
        assert expected_n.max() > 500  # a real load, not zeros
    from pressure.kernels.frame_metrics import frame_metrics  # the pipeline's own force
    metrics = frame_metrics(np.nan_to_num(recording.cells), recording.info.foot_map, 2, threshold_kpa=0.0,
                            pitch_x_mm=recording.info.pitch_x_mm, pitch_y_mm=recording.info.pitch_y_mm)
    np.testing.assert_allclose(metrics.force_n[:, 0], raw.cells[:, 0].astype(np.float64) @ area_mm2 * 1e-3,
                               rtol=1e-4, atol=0.01)


def _steps(force_n, minimum_n=50.0, min_frames=30):
    loaded = np.concatenate([[False], force_n > minimum_n, [False]])
    edges = np.flatnonzero(np.diff(loaded.astype(int)))
    runs = [(start, stop) for start, stop in zip(edges[::2], edges[1::2])]
    return [(start, stop) for start, stop in runs
            if stop - start >= min_frames and start > 0 and stop < len(force_n)]  # whole steps only


@needs_sample
def test_cop_runs_heel_to_toe_in_every_step(pair):
    recording, _ = pair
    info = recording.info
    rows = (np.arange(info.rows) + 0.5) * info.pitch_y_mm
    cells = np.nan_to_num(recording.cells.astype(np.float64))
    for foot in (0, 1):
        mine = cells * (info.foot_map == foot)
        load = mine.sum(axis=(1, 2))
        cop_y = np.divide(mine.sum(axis=2) @ rows, load, out=np.full(len(load), np.nan), where=load > 0)
        force_n = load * info.cell_area_mm2 * 1e-3
        steps = _steps(force_n)
        assert len(steps) >= 6, (foot, steps)
        for start, stop in steps:
            stance = cop_y[start:stop]
            n = len(stance)
            # heel (low y) at first contact to the forefoot (high y) at push-off; on the sample the
            # rise is 60 to 125 mm (66 mm in the last left step, where the walker slows down)
            early, late = np.median(stance[: n // 5]), stance[-n // 5:].max()
            assert late - early > 50, (foot, start, stop, early, late)
            slope = np.polyfit(np.arange(n), stance, 1)[0]
            assert slope > 0


def test_left_and_right_are_mirror_images():
    outlines, _ = load_layout()
    left, right = outlines["left"], outlines["right"]
    axis = (left[..., 0].max() + right[..., 0].min()) / 2
    np.testing.assert_allclose(left[..., 0], 2 * axis - right[..., 0], atol=1e-12)
    np.testing.assert_allclose(left[..., 1], right[..., 1], atol=1e-12)
    for size in SIZES_WITH_OUTLINES:
        owner = raster_layout(size, 2.5)["owner"]
        left_owner = np.where((owner >= 0) & (owner < 99), owner, -1)
        right_owner = np.where(owner >= 99, owner - 99, -1)
        assert np.array_equal(left_owner[:, ::-1], right_owner)
    # the left insole's medial side (hallux) is on the walker's right (+x), the right insole's on -x
    centre = outlines["left"].mean(axis=1)
    assert centre[np.array(HALLUX) - 1, 0].mean() > centre[np.array(LESSER_TOES) - 1, 0].mean()
    centre = outlines["right"].mean(axis=1)
    assert centre[np.array(HALLUX) - 1, 0].mean() < centre[np.array(LESSER_TOES) - 1, 0].mean()
    # heel sensors (1..26) behind the toes (83..99): toes at higher y
    assert centre[:26, 1].max() < centre[82:, 1].min()
