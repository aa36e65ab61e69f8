"""The command line as a user meets it: results on good input, one clear line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from pressure import __version__
from pressure.cli import app
from tests.conftest import FIXTURES, ROOT, shared_file

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_user_error(result, *fragments):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_demo_writes_results_and_pictures(tmp_path):
    result = run("demo", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    assert "arch index" in result.stdout and "load share" in result.stdout
    for name in ("standing", "walking"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        with xr.open_dataset(tmp_path / f"{name}.results.h5", engine="h5netcdf") as results:
            assert results.attrs["activity"] == name
    with xr.open_dataset(tmp_path / "standing.results.h5", engine="h5netcdf") as results:
        # The standing fixture was recorded with a 40/60 split and flat arches.
        assert results["load_share"].sel(foot="right") == pytest.approx(0.6, abs=0.01)
        assert list(results["arch_type"].values) == ["flat", "flat"]


def test_process_a_session_with_picture(tmp_path):
    out, picture = tmp_path / "r.h5", tmp_path / "r.png"
    result = run("process", FIXTURES / "walking.h5", "-o", out, "--picture", picture)
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out, engine="h5netcdf") as results:
        assert list(results["step_foot"].values) == ["right", "left", "right"]
    assert picture.stat().st_size > 10_000


def test_process_real_tekscan_insole(tmp_path):
    out = tmp_path / "fscan.h5"
    result = run("process", shared_file("tekscan_fscan/FrasP01L.asf"), "-o", out)
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out, engine="h5netcdf") as results:
        # One insole: the other foot was not measured, so there is no share or symmetry.
        assert np.isnan(results["load_share"].values).all() and np.isnan(float(results["symmetry_index"]))
        assert results["force"].sel(foot="left").max() > 300
        assert results.attrs["activity"] == "walking"
        assert results.sizes["step"] >= 2
    # 205 frames at 31.25 Hz cover 6.56 s, as info says; the right foot's share is not missing data.
    said = " ".join(result.stdout.split())  # the terminal wraps the caption
    assert "205 frames over 6.56 s" in said and "no right foot in the recording" in said


def test_process_real_pedar_gives_force_but_no_positions(tmp_path):
    out = tmp_path / "pedar.h5"
    result = run("process", shared_file("novel_pedar/pedar_example.asc"), "-o", out)
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out, engine="h5netcdf") as results:
        assert np.isnan(results["cop_x"].values).all()
        assert float(results["load_share"].sum()) == pytest.approx(1.0)


def test_process_npy_with_pitch_and_rate(tmp_path):
    from drivers.simulator import simulate

    recording, _ = simulate("sim://standing?duration=0.5&speed=0")
    path = tmp_path / "frames.npy"
    np.save(path, recording.kpa())
    result = run("process", path, "-o", tmp_path / "r.h5", "--pitch-mm", 5, "--rate-hz", 100)
    assert result.exit_code == 0, result.output
    assert_user_error(run("process", path, "-o", tmp_path / "r2.h5"), "--pitch-mm")
    assert not (tmp_path / "r2.h5").exists()


def test_settings_a_file_states_itself_are_named_as_not_used(tmp_path):
    emed = shared_file("pressuRe_extdata/emed_test.lst")  # states 5 mm cells at 100 Hz
    info = run("info", emed, "--pitch-mm", 7, "--rate-hz", 100)
    assert info.exit_code == 0, info.output
    assert info.stderr.splitlines() == [f"note: --pitch-mm 7 is not used: {emed} gives its cells' pitch (5 x 5 mm)"]
    out = tmp_path / "emed.h5"
    result = run("process", emed, "-o", out, "--pitch-mm", 7, "--rate-hz", 50, "-q")
    assert result.exit_code == 0, result.output
    with xr.open_dataset(out, engine="h5netcdf") as results:
        assert (results.attrs["pitch_x_mm"], results.attrs["rate_hz"]) == (5.0, 100.0)
        warnings = results.attrs["warnings"].splitlines()
    assert warnings[:2] == [f"--pitch-mm 7 is not used: {emed} gives its cells' pitch (5 x 5 mm)",
                            f"--rate-hz 50 is not used: {emed} gives its frame rate (100 Hz)"]
    # A setting the file lacks is used, and nothing is said of it.
    frames = tmp_path / "frames.npy"
    np.save(frames, np.zeros((3, 8, 8), np.float32))
    assert run("info", frames, "--pitch-mm", 7, "--rate-hz", 50).stderr == ""


def test_capture_then_info(tmp_path):
    out = tmp_path / "s.h5"
    result = run("capture", "sim://walking?speed=0", "-o", out, "--frames", 40)
    assert result.exit_code == 0, result.output
    assert "40 frames" in result.stdout
    info = run("info", out)
    assert info.exit_code == 0, info.output
    assert "40 of 320 x 64" in info.stdout and "100 Hz" in info.stdout and "received 40" in info.stdout
    assert_user_error(run("capture", "sim://walking?speed=0", "-o", out), "exists")


def test_info_on_results(tmp_path):
    out = tmp_path / "r.h5"
    run("process", FIXTURES / "standing.h5", "-o", out)
    result = run("info", out)
    assert result.exit_code == 0, result.output
    assert "results of" in result.stdout and "symmetry index" in result.stdout


@pytest.mark.parametrize("name, content, fragment", [
    ("absent.h5", None, "no such file"),
    ("frames.xyz", b"1,2", "unknown format"),
    ("truncated.h5", "truncate", "cannot read"),
    ("garbage.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 50, "cannot read"),
    ("rank.npy", "rank", "(time, rows, cols)"),
    ("nan.npy", "nan", "NaN"),
    ("negative.npy", "negative", "negative"),
    ("ragged.csv", b"1,2,3\n4,5\n\n1,2,3\n4,5,6\n", "line 2"),
    ("empty.csv", b"", "no frames"),
    ("empty.npy", "empty", "no frames"),
    ("nofeet.npy", "nofeet", "no foot"),
])
def test_bad_input_gets_one_line_and_no_output(tmp_path, name, content, fragment):
    path = tmp_path / name
    if content == "truncate":
        data = (FIXTURES / "standing.h5").read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif content in ("rank", "nan", "negative", "empty", "nofeet"):
        frames = {
            "rank": np.zeros((4, 5)),
            "nan": np.where(np.arange(5 * 20 * 20).reshape(5, 20, 20) == 7, np.nan, 1.0),
            "negative": -np.ones((5, 20, 20)),
            "empty": np.zeros((0, 20, 20)),
            "nofeet": np.zeros((5, 20, 20)),
        }[content]
        np.save(path, frames)
    elif content is not None:
        path.write_bytes(content)
    out = tmp_path / "out.h5"
    result = run("process", f"{path}", "-o", out, "--pitch-mm", 5, "--rate-hz", 100)
    assert_user_error(result, fragment, name)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_process_an_empty_folder(tmp_path):
    assert_user_error(run("process", tmp_path), "no session files found")


def test_help_is_instant_and_imports_nothing_heavy():
    code = ("import sys, pressure.cli; pressure.cli.app(['--help'], standalone_mode=False); "
            "heavy = [m for m in ('numba', 'xarray', 'matplotlib', 'h5py') if m in sys.modules]; "
            "print('HEAVY', heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr


def test_the_console_entry_exits_with_the_commands_status_and_everything_written(tmp_path):
    """``main`` leaves without the interpreter's teardown (os._exit): what the command printed
    and wrote is all there, its atexit handlers ran, and the exit status is the command's."""
    out = tmp_path / "standing.results.h5"
    done = subprocess.run([sys.executable, "-m", "pressure", "process", str(FIXTURES / "standing.h5"), "-o", str(out),
                           "--json"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"] == str(out)
    with xr.open_dataset(out, engine="h5netcdf") as results:
        assert results.sizes["time"] == 500
    missing = subprocess.run([sys.executable, "-m", "pressure", "process", str(tmp_path / "none.h5")],
                             capture_output=True, text=True, cwd=ROOT)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "no such file" in missing.stderr
    unknown = subprocess.run([sys.executable, "-m", "pressure", "nosuch"], capture_output=True, text=True, cwd=ROOT)
    assert unknown.returncode == 2
    code = ("import atexit, sys; sys.argv = ['pressure', '--version']; import pressure.cli; "
            "atexit.register(lambda: print('ATEXIT', flush=True)); pressure.cli.main()")
    version = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert version.returncode == 0 and version.stdout.splitlines() == [f"pressure {__version__}", "ATEXIT"]


def test_drivers_never_import_pressure():
    import ast

    for path in (ROOT / "drivers").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n == "pressure" or n.startswith("pressure.") for n in names), path


# -- conventions: help, version, one error style ---------------------------------------------------
def test_help_and_version_the_usual_ways():
    from pressure import __version__

    for flag in ("-h", "--help"):
        result = run("process", flag)
        assert result.exit_code == 0
        assert "Usage: pressure process [OPTIONS] SOURCE [RIGHT]" in " ".join(result.stdout.split())
    for flag in ("-V", "--version"):
        assert run(flag).stdout.strip() == f"pressure {__version__}"
    bare = runner.invoke(app, [])
    assert bare.exit_code == 0 and "Commands:" in bare.stdout


def test_every_option_has_help_and_flags_take_no_value():
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        text = run(name, "--help").stdout
        assert "<bool>" not in text and "{" not in text.split("Options:")[0], text
        for param in command.params:
            assert param.help, f"pressure {name}: {param.name} has no help text"


@pytest.mark.parametrize("args, fragment", [
    (["process"], "Missing argument 'SOURCE'"),
    (["process", "x", "--workers", "0"], "'--workers'"),
    (["process", "x", "--rate-hz", "0"], "0 is not a positive number"),
    (["process", "x", "--pitch-mm", "0"], "'--pitch-mm'"),
    (["nope"], "No such command"),
])
def test_a_wrong_command_line_is_one_line_and_exit_2(args, fragment):
    result = run(*args)
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message and fragment in message, message


def test_process_json_and_quiet(tmp_path):
    import json

    result = run("process", FIXTURES / "standing.h5", "-o", tmp_path / "s.h5", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["activity"] == "standing" and summary["results"] == str(tmp_path / "s.h5")
    left, right = summary["feet"]["left"], summary["feet"]["right"]
    assert left["load_share"] + right["load_share"] == pytest.approx(1.0)
    assert summary["warnings"] == []
    quiet = run("process", FIXTURES / "standing.h5", "-o", tmp_path / "q.h5", "-q")
    assert quiet.exit_code == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_a_foot_that_was_never_seen_reads_dash_not_zero():
    from dataclasses import replace

    import drivers
    from pressure.analysis import analyse
    from pressure.summary import summary_rows

    recording = drivers.load(str(FIXTURES / "standing.h5"))
    half = recording.cells.copy()
    half[:, :, recording.info.cols // 2:] = 0  # the right foot off the mat
    results, _ = analyse(replace(recording, cells=half))
    rows = {label: (left, right) for label, left, right in summary_rows(results)}
    assert rows["peak pressure"][1] == "-" and rows["peak pressure"][0].endswith("kPa")
    assert all(right == "-" for _, right in rows.values())


def test_info_json_for_a_session_and_for_results(tmp_path):
    import json

    session = json.loads(run("info", FIXTURES / "standing.h5", "--json").stdout)
    assert session["frames"] == 500 and session["rate_hz"] == 100 and session["recover"] is None
    run("process", FIXTURES / "walking.h5", "-o", tmp_path / "w.h5", "-q")
    results = json.loads(run("info", tmp_path / "w.h5", "--json").stdout)
    assert results["activity"] == "walking" and results["feet"]["left"]["steps"] >= 1


def test_a_first_run_says_it_compiles(tmp_path):
    """With an empty Numba cache the kernels are known to need compiling, and the spinner says so
    on a terminal; off a terminal nothing is added to what scripts read."""
    import io

    from rich.console import Console

    from pressure.cli import progress

    code = "from pressure.kernels import compiled_before; print(compiled_before())"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert cold.stdout.strip() == "False", cold.stderr
    screen = io.StringIO()
    with progress(Console(file=screen, force_terminal=True, width=100)) as stage:
        stage("analysing 10 frames (compiling kernels, first run only)")
        import time

        time.sleep(0.3)  # a refresh or two
    assert "compiling kernels, first run only" in screen.getvalue()
    pipe = io.StringIO()
    with progress(Console(file=pipe)) as stage:
        stage("analysing 10 frames (compiling kernels, first run only)")
    assert pipe.getvalue() == ""

def test_a_module_is_compiled_once_the_kernel_for_its_frames_is(tmp_path):
    """peak_image holds one kernel for integer frames and one for float frames: a user who only
    ever reads integer frames is not told of compiling on every run."""
    code = """
import numpy as np
import pressure.kernels as kernels
from pressure.kernels.peak_image import CellExtremes
kernels.KERNEL_MODULES = ("peak_image",)
print(kernels.compiled_before())
CellExtremes.of(np.zeros((2, 2, 2), np.uint16))
print(kernels.compiled_before())
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert shown.stdout.split() == ["False", "True"], shown.stderr


def test_leaving_quickly_waits_for_hdf5_files_open_for_writing(tmp_path):
    """A file still open for writing when a command ends is left to the interpreter's teardown,
    in which HDF5 flushes it: it opens afterwards with everything written."""
    path = tmp_path / "open.h5"
    code = (f"import h5py, numpy as np; from pressure.quick_exit import leave; f = h5py.File({str(path)!r}, 'w'); "
            "f['x'] = np.arange(1000); f.attrs['done'] = 1; print('bye'); leave(3)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 3 and done.stdout == "bye\n", done.stderr
    import h5py

    with h5py.File(path, "r") as f:
        assert f.attrs["done"] == 1 and f["x"][-1] == 999


def test_a_picture_that_cannot_be_written_fails_before_any_results_are(tmp_path):
    """The picture failed after the results file was written: exit 1 and an output left behind."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the picture's folder should be")
    results = tmp_path / "r.h5"
    shown = runner.invoke(app, ["process", str(FIXTURES / "standing.h5"), "-o", str(results),
                                "--picture", str(blocker / "x.png")])
    assert shown.exit_code == 1
    assert "x.png: cannot be written" in shown.output and len(shown.output.strip().splitlines()) == 1
    assert not results.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


def test_info_takes_what_its_errors_ask_for():
    """info told the user to give --pitch-mm or --scale-kpa, options it did not have."""
    image = str(shared_file("mun104_template/MUN104R.csv"))
    asked = runner.invoke(app, ["info", image])
    assert asked.exit_code == 1 and "give --pitch-mm" in asked.output
    given = runner.invoke(app, ["info", image, "--pitch-mm", "5"])
    assert given.exit_code == 0 and "5 x 5 mm" in given.output
    raw = runner.invoke(app, ["info", str(shared_file("pressuRe_extdata/iscan_test.csv")), "--scale-kpa", "1"])
    assert raw.exit_code == 0 and "309 of 28 x 28 cells" in raw.output


def test_an_animation_of_frames_without_metadata_takes_the_pitch_and_rate_given(tmp_path):
    """report frames.npy --pitch-mm 5 --rate-hz 100 -o x.gif failed: the animation read the
    frames again without the pitch and rate given."""
    import drivers

    frames = tmp_path / "frames.npy"
    np.save(frames, drivers.load(str(FIXTURES / "walking.h5")).kpa()[:40])
    shown = runner.invoke(app, ["report", str(frames), "--pitch-mm", "5", "--rate-hz", "100",
                                "-o", str(tmp_path / "x.gif")])
    assert shown.exit_code == 0, shown.output
    assert (tmp_path / "x.gif").read_bytes()[:6] in (b"GIF87a", b"GIF89a")


@pytest.mark.parametrize("arguments, says", [
    (["report", str(FIXTURES / "walking.h5"), "-o", "walk.pdf"], "walk.pdf: a report is .html or .png"),
    (["process", str(FIXTURES), "right.asf", "-o", "out"], "right.asf: a study folder is processed alone"),
    (["capture", "sim://standing", "-o", "zero.h5", "--duration", "0"], "0 is not a positive number"),
    (["capture", "sim://standing", "-o", "notes.txt/s.h5", "--duration", "1"], "cannot be written in"),
])
def test_what_cannot_work_is_refused_before_any_work(arguments, says, tmp_path, monkeypatch):
    """report -o x.pdf processed the session before refusing the extension; process DIR RIGHT
    dropped RIGHT silently; capture --duration 0 wrote a session of 0 frames."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    shown = runner.invoke(app, arguments)
    assert shown.exit_code in (1, 2) and says in shown.output
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


def test_a_recording_named_relatively_is_found_again_from_another_folder(tmp_path, monkeypatch):
    """Results kept the source as typed (walking.h5): a report made from another folder could
    not read the recording again for its animation."""
    import shutil

    (tmp_path / "a").mkdir()
    shutil.copy(FIXTURES / "walking.h5", tmp_path / "a" / "walking.h5")
    monkeypatch.chdir(tmp_path / "a")
    assert runner.invoke(app, ["process", "walking.h5?speed=0", "-o", "../r.h5", "-q"]).exit_code == 0
    with xr.open_dataset(tmp_path / "r.h5", engine="h5netcdf") as results:
        assert results.attrs["source_url"] == f"{tmp_path / 'a' / 'walking.h5'}?speed=0"
    monkeypatch.chdir(tmp_path)
    shown = runner.invoke(app, ["report", "r.h5", "-o", "x.gif"])
    assert shown.exit_code == 0, shown.output


def test_the_summary_counts_the_steps_the_options_chose(tmp_path):
    """The terminal and --json medians are those of the steps --skip-steps and --min-stance keep
    (they took every step of the foot: 891 N with --skip-steps 2, whose two steps give 892 N)."""
    fscan = shared_file("tekscan_fscan/FrasP01L.asf")
    out = tmp_path / "fscan.h5"
    result = run("process", fscan, "-o", out, "--skip-steps", 2)
    assert result.exit_code == 0, result.output
    assert "6 (1 cut, 2 counted)" in result.stdout
    summary = json.loads(run("process", fscan, "-o", out, "--skip-steps", 2, "--overwrite", "--json").stdout)
    with xr.open_dataset(out, engine="h5netcdf") as results:
        chosen = results["step_selected"].values & (results["step_foot"].values == "left")
        expected = float(np.median(results["step_peak_force"].values[chosen]))
    left = summary["feet"]["left"]
    assert left["counted_steps"] == chosen.sum() == 2
    assert left["step_peak_force_n"] == pytest.approx(expected)
    assert f"{expected:.0f} N" in result.stdout
    none = json.loads(run("process", fscan, "-o", out, "--min-stance", 5, "--overwrite", "--json").stdout)
    assert none["feet"]["left"]["counted_steps"] == 0 and none["feet"]["left"]["step_peak_force_n"] is None


def test_outputs_named_for_another_kind_of_file_are_refused_before_any_work(tmp_path):
    standing = FIXTURES / "standing.h5"
    assert_user_error(run("process", standing, "-o", tmp_path / "r.csv"), "r.csv", "pressure export")
    assert_user_error(run("process", standing, "-o", tmp_path / "r.h5", "--picture", tmp_path / "p.txt"),
                      "p.txt", ".png")
    assert_user_error(run("capture", "sim://standing?speed=0", "--frames", 5, "-o", tmp_path / "s.csv"),
                      "s.csv", ".h5")
    assert list(tmp_path.iterdir()) == []  # the results were not written before the picture failed
