"""A study folder: parallel equals serial, re-runs skip, failures are reported, Dask agrees."""

from __future__ import annotations

import csv
import importlib.util
import os

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from pressure.cli import app
from pressure.pipeline import capture
from tests.conftest import SHARED_DATA

GENERATED = 8  # standing and walking, .h5 and .npy, in four subjects' folders
REAL = ["tekscan_fscan/FrasP01L.asf", "tekscan_fscan/FrasP01R.asf", "xsensor_insole/xsensor_data.csv",
        "novel_pedar/pedar_example.asc"]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """GENERATED sessions in subject folders, the real recordings linked in (read in place), and
    one corrupt file."""
    folder = tmp_path_factory.mktemp("study")
    for subject in range(1, 5):
        (folder / f"sub-{subject:02d}").mkdir()
    for index in range(GENERATED):
        subject = folder / f"sub-{index % 4 + 1:02d}"
        kind = "walking" if index % 4 == 3 else "standing"
        url = (f"sim://{kind}?seed={index}&speed=0" + ("&duration=1" if kind == "standing" else "")
               + f"&imbalance={(index % 5 - 2) / 10}")
        if index % 5 == 4:  # some as plain frames, which need --pitch-mm and --rate-hz
            import drivers

            np.save(subject / f"sub-{index % 4 + 1:02d}_ses-{index}_{kind}.npy", drivers.load(url).kpa())
        else:
            capture(url, subject / f"sub-{index % 4 + 1:02d}_ses-{index}_{kind}.h5")
    if SHARED_DATA.is_dir():
        (folder / "real").mkdir()
        for relative in REAL:
            os.symlink(SHARED_DATA / relative, folder / "real" / relative.replace("/", "_"))
    (folder / "sub-04" / "sub-04_ses-99_broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    return folder


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def read_summary(folder):
    with open(folder / "summary.csv") as f:
        return list(csv.DictReader(f))


def load_all(folder):
    return {path.relative_to(folder): xr.load_dataset(path, engine="h5netcdf")
            for path in sorted(folder.rglob("*.results.h5"))}


COMMON = ["--pitch-mm", 5, "--rate-hz", 100]


@pytest.fixture(scope="module")
def parallel(study, tmp_path_factory):
    """The study processed on two local worker processes, once for the tests below."""
    out = tmp_path_factory.mktemp("parallel")
    return run("process", study, "-o", out, "--workers", 2, *COMMON), out


def test_parallel_equals_serial_then_rerun_skips(study, parallel, tmp_path):
    common = COMMON
    serial = run("process", study, "-o", tmp_path / "serial", "--workers", 1, *common)
    parallel, parallel_folder = parallel
    n = GENERATED + 1 + (len(REAL) - 1 if SHARED_DATA.is_dir() else 0)  # the two F-Scan insoles are one pair
    for result in (serial, parallel):
        assert result.exit_code == 1  # the broken file
        assert f"{n} sessions: {n - 1} processed, 0 up to date, 1 failed" in result.stdout
        assert "sub-04_ses-99_broken.h5" in result.stderr and "Traceback" not in result.output
    one, other = load_all(tmp_path / "serial"), load_all(parallel_folder)
    assert one.keys() == other.keys() and len(one) == n - 1
    for key in one:
        xr.testing.assert_identical(one[key], other[key])
    rows = read_summary(parallel_folder)
    assert len(rows) == n
    standing = [r for r in rows if r["session"] == "0"][0]
    assert standing["subject"] == "01" and standing["activity"] == "standing"
    assert float(standing["load_share_left"]) + float(standing["load_share_right"]) == pytest.approx(1.0)
    walking = [r for r in rows if r["session"] == "3"][0]
    assert int(walking["steps"]) == 3 and float(walking["cadence_per_min"]) > 100
    assert [r["status"] for r in rows].count("failed") == 1
    assert (parallel_folder / "summary.parquet").exists() == (importlib.util.find_spec("pyarrow") is not None)

    again = run("process", study, "-o", tmp_path / "serial", "--workers", 1, *common)
    assert f"{n} sessions: 0 processed, {n - 1} up to date, 1 failed" in again.stdout
    changed = run("process", study, "-o", tmp_path / "serial", "--workers", 1, "--threshold-kpa", 6, *common)
    assert f"{n - 1} processed, 0 up to date" in changed.stdout  # other options: redone
    forced = run("process", study, "-o", tmp_path / "serial", "--workers", 1, "--force", "--threshold-kpa", 6,
                 *common)
    assert f"{n - 1} processed, 0 up to date" in forced.stdout


def test_dask_cluster_gives_the_same_results(study, parallel, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                                  processes=True) as cluster:
        result = run("process", study, "-o", tmp_path / "dask", "--scheduler", cluster.scheduler_address,
                     "--pitch-mm", 5, "--rate-hz", 100)
    assert "processed" in result.stdout, result.output
    local, local_folder = parallel
    assert local.exit_code == result.exit_code == 1
    on_dask, here = load_all(tmp_path / "dask"), load_all(local_folder)
    assert on_dask.keys() == here.keys()
    for key in here:
        xr.testing.assert_identical(on_dask[key], here[key])


def test_unreachable_scheduler_is_one_line(study, tmp_path):
    pytest.importorskip("distributed")
    result = run("process", study, "-o", tmp_path / "x", "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 1 and result.stderr.startswith("error: cannot reach the Dask scheduler")


def test_results_of_a_study_open_together_along_session(parallel):
    """As the README shows: per-session values of every results file, concatenated."""
    pytest.importorskip("dask")
    paths = sorted(parallel[1].rglob("*standing*.results.h5"))

    def per_session(dataset):
        return dataset[["arch_index", "load_share", "symmetry_index"]]

    combined = xr.open_mfdataset(paths, engine="h5netcdf", combine="nested", concat_dim="session",
                                 preprocess=per_session)
    assert combined.sizes["session"] == len(paths) > 5
    assert combined["load_share"].dims == ("session", "foot")
    assert np.allclose(combined["load_share"].sum("foot").values, 1.0)
    combined.close()


def test_report_png_and_html(tmp_path):
    from tests.conftest import FIXTURES

    png = tmp_path / "walk.png"
    assert run("report", FIXTURES / "walking.h5", "-o", png).exit_code == 0
    from matplotlib.image import imread

    picture = imread(png)
    assert picture.shape[:2] == (1000, 1200)  # 12 x 10 inches at 100 dpi
    assert png.stat().st_size > 50_000
    assert picture[..., :3].std() > 0.05  # not a blank page
    page = tmp_path / "stand.html"
    processed = tmp_path / "stand.results.h5"
    run("process", FIXTURES / "standing.h5", "-o", processed)
    assert run("report", processed, "-o", page).exit_code == 0
    text = page.read_text()
    assert text.count("data:image/png;base64,") == 1 and "<table>" in text and "arch index" in text
    assert "src=\"http" not in text  # self-contained
    bad = run("report", processed, "-o", tmp_path / "r.pdf")
    assert bad.exit_code == 1 and "a report is .html or .png" in bad.stderr


def test_process_report_flag_writes_one_per_session(tmp_path):
    from tests.conftest import FIXTURES

    out = tmp_path / "w.results.h5"
    assert run("process", FIXTURES / "walking.h5", "-o", out, "--report").exit_code == 0
    assert (tmp_path / "w.report.html").exists()


def test_export_csv_with_units(tmp_path):
    from tests.conftest import FIXTURES

    result = run("export", FIXTURES / "walking.h5", "--csv", "-o", tmp_path / "walk")
    assert result.exit_code == 0, result.output
    with open(tmp_path / "walk.frames.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0][:4] == ["time [s]", "frame", "force_left [N]", "force_right [N]"]
    assert "cop_x_left [mm]" in rows[0] and "contact_area_left [cm^2]" in rows[0]
    assert len(rows) == 1 + 234
    assert rows[0][-2:] == ["standing", "quiet_standing"]
    assert {tuple(row[-2:]) for row in rows[1:]} == {("0", "0")}  # a walk: never standing
    with open(tmp_path / "walk.steps.csv") as f:
        steps = list(csv.DictReader(f))
    assert [s["step_foot"] for s in steps] == ["right", "left", "right"]
    assert float(steps[1]["step_length [mm]"]) == pytest.approx(600, abs=5)
    assert run("export", FIXTURES / "walking.h5", "-o", tmp_path / "x").exit_code == 0  # CSV is the default
    assert (tmp_path / "x.steps.csv").exists()


def test_left_and_right_insole_files_are_one_session(study, parallel):
    """FrasP01L.asf and FrasP01R.asf of one trial are paired into one two-foot session."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA}")
    _, folder = parallel
    pair = folder / "real" / "tekscan_fscan_FrasP01.asf.results.h5"
    with xr.open_dataset(pair, engine="h5netcdf") as results:
        share = results["load_share"].values
        assert share.sum() == pytest.approx(1.0) and np.isfinite(float(results["symmetry_index"]))
        assert set(results["step_foot"].values) == {"left", "right"}
    rows = {r["session"]: r for r in read_summary(folder)}
    assert "FrasP01" in rows.get("tekscan_fscan_FrasP01", rows.get("FrasP01", {"session": ""}))["session"]


def test_an_output_folder_inside_the_study_is_never_read_back(tmp_path):
    from tests.conftest import FIXTURES

    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("standing.h5", "walking.h5"):
        os.symlink(FIXTURES / name, folder / name)
    first = run("process", folder, "-o", folder / "out", "--workers", 1)
    assert first.exit_code == 0, first.output
    # A second run into another folder still sees two sessions, not the first run's tables.
    second = run("process", folder, "-o", tmp_path / "elsewhere", "--workers", 1, "--json")
    assert second.exit_code == 0, second.output
    import json

    summary = json.loads(second.stdout)
    assert summary["sessions"] == 2 and summary["done"] == 2
    assert sorted(o["source"].rsplit("/", 1)[-1] for o in summary["outcomes"]) == ["standing.h5", "walking.h5"]


def test_open_study_names_each_session(parallel):
    from pressure.study import open_study

    _, out = parallel
    combined = open_study(out)
    assert combined.sizes["session"] == len(list(out.rglob("*.results.h5")))
    assert all(isinstance(name, str) and name for name in combined["session"].values)
    assert combined["results"].values[0].endswith(".results.h5")
    assert combined["load_share"].dims == ("session", "foot")


def test_notes_beside_the_recordings_are_no_sessions(tmp_path):
    """A study folder's README.txt, licence and table of subjects were taken for recordings and
    counted as failed sessions (the Moticon folder's study exited 1 for its README.txt)."""
    import shutil

    from pressure.study import find_sessions
    from tests.conftest import FIXTURES, shared_file

    shutil.copy(FIXTURES / "standing.h5", tmp_path / "standing.h5")
    shutil.copy(shared_file("moticon_opengo/230927_102114.txt"), tmp_path / "walk.txt")
    (tmp_path / "README.txt").write_text("Recorded on 2026-11-26; subject 3 wore shoes.\n")
    (tmp_path / "subjects.csv").write_text("subject,age,shoe size\n1,34,42\n")
    np.savetxt(tmp_path / "frame.csv", np.arange(12.0).reshape(3, 4), delimiter=",")  # plain frames: numbers only
    assert [path.name for path in find_sessions(tmp_path)] == ["frame.csv", "standing.h5", "walk.txt"]


def test_results_of_an_earlier_revision_of_the_analysis_are_redone(tmp_path, monkeypatch):
    """The version stayed 0.1.0 while fixes changed results (insoles mirrored, CPEI): a study run
    again kept yesterday's files. The results' revision is part of what makes them up to date."""
    import h5py

    import pressure.schema
    from pressure.study import Task, options_signature, up_to_date
    from tests.conftest import FIXTURES

    out = tmp_path / "standing.results.h5"
    task = Task(str(FIXTURES / "standing.h5"), str(out), {"threshold_kpa": 5.0}, {})
    assert run("process", FIXTURES / "standing.h5", "-o", out).exit_code == 0

    with h5py.File(out, "a") as f:
        f.attrs["processing"] = options_signature(task.options, task.fallbacks)
    assert up_to_date(task)
    monkeypatch.setattr(pressure.schema, "RESULTS_REVISION", pressure.schema.RESULTS_REVISION + 1)
    assert not up_to_date(task)
