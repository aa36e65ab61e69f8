"""One session split along time across a Dask cluster gives the local run's results (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

import pressure.cluster as cluster
from pressure.analysis import Options
from pressure.pipeline import process
from tests.conftest import FIXTURES, shared_file
from tests.test_streaming import assert_same_results

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  processes=True) as local_cluster:
        yield local_cluster.scheduler_address


def same_as_here(source: str, tmp_path: Path, scheduler: str, options: Options | None = None) -> None:
    options = options or Options()
    here = process(source, tmp_path / "here.h5", options)
    on_cluster = process(source, tmp_path / "cluster.h5", options, scheduler=scheduler)
    assert_same_results(here, on_cluster)
    with xr.open_dataset(tmp_path / "here.h5", engine="h5netcdf") as a, \
         xr.open_dataset(tmp_path / "cluster.h5", engine="h5netcdf") as b:
        assert_same_results(a.load(), b.load())


@pytest.mark.parametrize("name", ["walking.h5", "standing.h5"])
def test_a_session_in_many_segments_gives_the_local_results(name, tmp_path, scheduler, monkeypatch):
    monkeypatch.setattr(cluster, "SEGMENT_BYTES", 40 * 64 * 64 * 2)  # segments of tens of frames: seams in steps
    same_as_here(str(FIXTURES / name), tmp_path, scheduler)


def test_a_real_export_and_a_forced_activity_on_the_cluster(tmp_path, scheduler, monkeypatch):
    monkeypatch.setattr(cluster, "SEGMENT_BYTES", 1 << 18)  # 4 stretches of the export, each read by its task
    same_as_here(str(shared_file("tekscan_fscan/FrasP01L.asf")), tmp_path, scheduler)
    same_as_here(str(FIXTURES / "walking.h5"), tmp_path, scheduler, Options(activity="walking"))


def test_the_command_line_for_one_file(tmp_path, scheduler):
    from typer.testing import CliRunner

    from pressure.cli import app

    runner = CliRunner()
    out = tmp_path / "walk.h5"
    result = runner.invoke(app, ["process", str(FIXTURES / "walking.h5"), "-o", str(out), "--scheduler", scheduler,
                                 "--quiet"])
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out, engine="h5netcdf") as results:
        assert results.attrs["activity"] == "walking"
    unreachable = runner.invoke(app, ["process", str(FIXTURES / "walking.h5"), "-o", str(tmp_path / "x.h5"),
                                      "--scheduler", "tcp://127.0.0.1:1"])
    assert unreachable.exit_code != 0
    assert "cannot reach the Dask scheduler" in unreachable.output and "Traceback" not in unreachable.output
