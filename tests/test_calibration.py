from __future__ import annotations

import numpy as np
import pytest

from pressure.calibration import NOT_A_SENSOR, SATURATED, STUCK, CalibrationError, CalibrationTable, cell_mask


def test_table_interpolates_and_holds_its_ends(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("# mat 7\nraw;kPa\n10;0\n20;100\n40;200\n")
    table = CalibrationTable.from_csv(path)
    np.testing.assert_allclose(table.apply(np.array([0, 10, 15, 30, 99, np.nan])), [0, 0, 50, 150, 200, np.nan])


@pytest.mark.parametrize("text, fragment", [
    ("1,0\n", "at least two"),
    ("1,0\n1,5\n", "increase"),
    ("1,5\n2,3\n", "must not decrease"),
    ("1,0\n2,x\n", "line 2"),
])
def test_bad_tables_are_refused(tmp_path, text, fragment):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(CalibrationError, match=fragment):
        CalibrationTable.from_csv(path)


def test_cell_mask_finds_stuck_saturated_and_missing_cells():
    peak = np.array([[50.0, 80.0, 400.0, np.nan, 0.0]])
    floor = np.array([[0.0, 80.0, 400.0, np.nan, 0.0]])
    mask = cell_mask(peak, floor, threshold_kpa=5.0, saturation_kpa=400.0)
    assert mask.tolist() == [[0, STUCK, SATURATED, NOT_A_SENSOR, 0]]


def test_a_static_image_has_no_stuck_cells():
    peak = np.array([[50.0, 80.0]])
    assert (cell_mask(peak, peak.copy(), threshold_kpa=5.0, saturation_kpa=None) == 0).all()
