"""Plate and static-image readers on the real samples in ../shared/data: MUN104 templates (one
image), Novel pliance ASCII, RSscan footscan Excel; and ``?pitch=AxB`` for plain frames."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import drivers
from drivers.base import DriverError
from pressure.analysis import Options
from pressure.cli import app
from tests.conftest import shared_file
from tests.test_reader_metadata import PLIANCE as PLIANCE_EXPORT

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


# -- MUN104 templates: a file with one frame is a one-frame recording --------------------------
def test_mun104_template_is_one_frame():
    path = shared_file("mun104_template/MUN104L.csv")
    recording = drivers.load(f"{path}?pitch=5")
    assert recording.cells.shape == (1, 63, 27)
    assert recording.info.pitch_x_mm == recording.info.pitch_y_mm == 5.0
    assert "nominal" in recording.info.extra["nominal_rate"]
    with pytest.raises(DriverError, match="--pitch-mm"):
        drivers.load(str(path))


@pytest.mark.parametrize("side, foot", [("L", 0), ("R", 1)])
def test_mun104_template_arch_index(tmp_path, side, foot):
    path = shared_file(f"mun104_template/MUN104{side}.csv")
    out = tmp_path / "out.h5"
    result = run("process", path, "--pitch-mm", 5, "-o", out)
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out, engine="h5netcdf") as results:
        assert results.sizes["time"] == 1
        assert results["force"].shape == (1, 2)
        arch = results["arch_index"].values
        assert 0.18 <= arch[foot] <= 0.28
        assert np.isnan(arch[1 - foot])


def test_one_block_csv_is_one_frame_and_one_line_is_refused(tmp_path):
    path = tmp_path / "image.csv"
    path.write_text("0,1,2\n3,4,5\n")
    recording = drivers.load(f"{path}?pitch=4")
    assert recording.cells.shape == (1, 2, 3) and recording.info.rate_hz == 1.0
    assert drivers.load(f"{path}?pitch=4&rate=50").info.rate_hz == 50.0
    line = tmp_path / "line.csv"
    line.write_text("0,1,2,3\n")
    with pytest.raises(DriverError, match="one line"):
        drivers.load(f"{line}?pitch=4")


# -- Novel pliance ----------------------------------------------------------------------------
PLIANCE = "pressuRe_extdata/pliance_test.asc"


def test_pliance_is_told_from_pedar_by_content():
    from drivers.files import format_module

    assert format_module(shared_file(PLIANCE)).__name__ == "drivers.files.pliance"
    assert format_module(shared_file("novel_pedar/pedar_example.asc")).__name__ == "drivers.files.pedar"


def test_pliance_frames_rate_and_geometry():
    recording = drivers.load(str(shared_file(PLIANCE)))
    info = recording.info
    assert recording.cells.shape == (281, 29, 28)  # 812 sensors, the 'electrical' frames 5.79 s to 17.46 s
    assert info.rate_hz == 24.0 and info.has_geometry
    assert info.pitch_x_mm == pytest.approx(5.28) and info.pitch_y_mm == pytest.approx(10.28)
    assert info.cell_area_mm2 == pytest.approx(54.28)
    assert recording.attrs["mat_type"] == "s2160_001"
    assert recording.time_s[-1] == pytest.approx(280 / 24, abs=1e-4)
    assert not np.isnan(recording.cells).any()


def test_pliance_force_and_cop_agree_with_the_vendor():
    recording = drivers.load(str(shared_file(PLIANCE)))
    info = recording.info
    kpa = recording.kpa()
    force = kpa.sum(axis=(1, 2), dtype=np.float64) * info.cell_area_mm2 / 1000
    reported = recording.extras["reported_force_n"]
    assert not np.isnan(reported).any() and reported.max() > 200
    assert np.max(np.abs(force - reported)) < 0.01  # measured 0.0088 N (the table is rounded to 1 mN)
    loaded = force > 0
    rows, cols = np.mgrid[0:info.rows, 0:info.cols]
    total = kpa.sum(axis=(1, 2))[loaded]
    cop_x = (kpa * cols).sum(axis=(1, 2))[loaded] / total * info.pitch_x_mm  # cell (0, 0)'s centre at 0
    cop_y = (kpa * rows).sum(axis=(1, 2))[loaded] / total * info.pitch_y_mm
    assert np.max(np.abs(cop_x - recording.extras["reported_cop_x_mm"][loaded])) < 0.01
    assert np.max(np.abs(cop_y - recording.extras["reported_cop_y_mm"][loaded])) < 0.01


def test_the_results_carry_the_pliance_cop_beside_their_own_in_one_frame():
    """The vendor's COP was kept from its corner, half a cell (2.64 and 5.14 mm) off the results'
    own, both in mm."""
    from pressure.analysis import analyse

    results, _ = analyse(drivers.load(str(shared_file(PLIANCE))), Options(threshold_kpa=0.0))
    both = np.isfinite(results["mat_cop_x"].values) & np.isfinite(results["reported_cop_x"].values)
    assert both.sum() > 100
    for axis in ("x", "y"):  # the results count the contacts' cells: a few loaded cells apart move it a little
        apart = np.abs(results[f"mat_cop_{axis}"].values - results[f"reported_cop_{axis}"].values)[both]
        assert np.median(apart) < 0.01 and apart.max() < 0.1, axis


PLIANCE_NO_GEOMETRY = PLIANCE_EXPORT.format(date="17.06.23 15.21")  # the metadata tests' sample export


def test_pliance_without_geometry_is_a_sensor_set(tmp_path):
    path = tmp_path / "trial.asc"
    path.write_text(PLIANCE_NO_GEOMETRY)
    with pytest.raises(DriverError, match="sensor_area_cm2"):
        drivers.load(str(path))
    recording = drivers.load(f"{path}?sensor_area_cm2=2")
    assert recording.cells.shape == (2, 1, 3) and not recording.info.has_geometry
    assert recording.info.rate_hz == 20.0 and recording.info.cell_area_mm2 == pytest.approx(200.0)
    assert recording.extras is None


def test_pliance_damage_is_one_line(tmp_path):
    path = tmp_path / "bad.asc"
    path.write_text(PLIANCE_NO_GEOMETRY.replace("30.0   0.0    5.0", "30.0   x    5.0"))
    with pytest.raises(DriverError, match="line 9"):
        drivers.load(f"{path}?sensor_area_cm2=2")


# -- RSscan footscan (.xls) -------------------------------------------------------------------
FOOTSCAN = "pressuRe_extdata/footscan_test.xls"


def test_footscan_workbook_frames_pitch_and_units():
    pytest.importorskip("xlrd")
    recording = drivers.load(str(shared_file(FOOTSCAN)))
    info = recording.info
    assert recording.n_frames == 329
    assert recording.cells.shape[1:] == (38 + 4, 20 + 4)  # the 38 x 20 window and a margin of 2
    assert info.rate_hz == 500.0 and recording.time_s[-1] == pytest.approx(0.656)
    assert (info.pitch_x_mm, info.pitch_y_mm) == (5.08, 7.62)  # across x along: rows run along the foot
    # --pitch-mm (a study's, for its frames without metadata) leaves the plate's known sensors be;
    # ?pitch= on the file's own URL overrides them.
    told = drivers.load(str(shared_file(FOOTSCAN)), fallbacks={"pitch": "5"}).info
    assert (told.pitch_x_mm, told.pitch_y_mm) == (5.08, 7.62)
    assert drivers.load(f"{shared_file(FOOTSCAN)}?pitch=5").info.pitch_x_mm == 5.0
    assert recording.attrs["foot"] == "right"
    kpa = recording.kpa()
    force = kpa.sum(axis=(1, 2), dtype=np.float64) * info.cell_area_mm2 / 1000
    assert force.max() == pytest.approx(recording.cells.sum(axis=(1, 2)).max(), rel=1e-5)  # N per sensor
    assert force.max() == pytest.approx(735.3, abs=0.1)
    assert kpa.max() == pytest.approx(22.6 * 1000 / (5.08 * 7.62), rel=1e-5)
    as_pressure = drivers.load(f"{shared_file(FOOTSCAN)}?units=ncm2&margin=0")
    assert as_pressure.cells.shape == (329, 38, 20) and as_pressure.kpa().max() == pytest.approx(226.0)


def test_footscan_processes_as_one_right_step(tmp_path):
    pytest.importorskip("xlrd")
    out = tmp_path / "fs.h5"
    result = run("process", shared_file(FOOTSCAN), "-o", out)
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out, engine="h5netcdf") as results:
        assert list(results["step_foot"].values) == ["right"]
        assert 0.15 < float(results["arch_index"].sel(foot="right")) < 0.3


def test_footscan_without_xlrd_names_the_extra(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_xlrd(name, *args, **kwargs):
        if name == "xlrd":
            raise ImportError("no xlrd")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_xlrd)
    path = tmp_path / "x.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    with pytest.raises(DriverError, match=r'pip install -e "\.\[formats\]"'):
        drivers.load(str(path))


def test_footscan_damage_is_one_line(tmp_path):
    pytest.importorskip("xlrd")
    path = tmp_path / "bad.xls"
    path.write_bytes(b"not a workbook at all")
    with pytest.raises(DriverError, match="OLE2"):
        drivers.load(str(path))
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(DriverError, match="cannot be read"):
        drivers.load(str(path))


# -- --pitch-mm ACROSSxALONG ------------------------------------------------------------------
def test_pitch_across_x_along(tmp_path):
    path = tmp_path / "frames.npy"
    np.save(path, np.zeros((3, 4, 5), np.float32))
    recording = drivers.load(str(path), fallbacks={"pitch": "5.08x7.62", "rate": "100"})
    assert (recording.info.pitch_x_mm, recording.info.pitch_y_mm) == (5.08, 7.62)
    assert recording.info.cell_area_mm2 == pytest.approx(5.08 * 7.62)
    assert drivers.load(f"{path}?pitch=5&rate=100").info.pitch_y_mm == 5.0
    for bad in ("5x", "x7", "5x6x7", "0x5", "-1", "axb"):
        with pytest.raises(DriverError, match="pitch"):
            drivers.load(f"{path}?pitch={bad}&rate=100")


def test_a_single_image_without_a_pitch_says_it_has_none():
    """The message said "the file has a cell pitch" where it has none."""
    from tests.conftest import shared_file

    with pytest.raises(drivers.DriverError, match=r"MUN104R.csv: the file has no cell pitch; give --pitch-mm"):
        drivers.load(str(shared_file("mun104_template/MUN104R.csv")))
