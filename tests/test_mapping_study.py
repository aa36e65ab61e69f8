"""A study's maps from its session files (pressure.mapping.study): the files written, the sign of
the Welch t map and of the correlation where the simulated sessions differ by construction, the
tables' errors, and the sessions that are skipped.

The study: four simulated walks (three complete steps each) of two "subjects", each once light
(600 / 700 N) and once heavy (850 / 950 N). Body weight scales every pressure of a step, so the
heavy group's peak pressure is higher everywhere on the foot (t > 0 for heavy - light) and
peak pressure correlates positively with weight, also within each subject. Beside them, a
standing session (no step) and a file that is not a session, which are skipped.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pressure.mapping.study import Table, map_study, read_table
from pressure.mapping.template import MUN104_FOLDER
from pressure.pipeline import capture
from pressure.study import STUDY_MARK

WALKS = {  # relative path: (weight N, seed, arch)
    "sub-01/light.h5": (600, 1, "normal"),
    "sub-01/heavy.h5": (850, 2, "high"),
    "sub-02/light.h5": (700, 3, "flat"),
    "sub-02/heavy.h5": (950, 4, "normal"),
}
PERMUTATIONS = 200
TEMPLATE = "mun104" if (MUN104_FOLDER / "MUN104R.csv").is_file() else "study"


def write_csv(path, rows, header=("file", "value")):
    lines = [",".join(header)] if header else []
    lines += [",".join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("mapping-study")
    folder = root / "study"
    for relative, (weight, seed, arch) in WALKS.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        capture(f"sim://walking?speed=0&seed={seed}&weight={weight}&arch={arch}", folder / relative)
    capture("sim://standing?speed=0&duration=1.5", folder / "standing.h5")
    (folder / "broken.h5").write_bytes(b"this is not a session file\n")
    extra = root / "extra"
    extra.mkdir()
    capture("sim://step?speed=0&seed=5", extra / "one-step.h5")
    # The tables lie in the study folder: they must not be taken for sessions.
    groups = write_csv(folder / "groups.csv", [(name, "heavy" if "heavy" in name else "light")
                                               for name in sorted(WALKS, key=lambda n: "light" in n)])
    weights = write_csv(folder / "weight.csv", [(name, w) for name, (w, _, _) in WALKS.items()], ("file", "weight"))
    subjects = write_csv(folder / "subjects.csv", [(name, name.split("/")[0]) for name in WALKS])
    result = map_study([str(folder)], root / "maps", template=TEMPLATE, groups=read_table(groups),
                       covariate=read_table(weights), subjects=read_table(subjects),  # named by its header
                       permutations=PERMUTATIONS)
    return {"root": root, "folder": folder, "extra": extra, "result": result, "groups": groups}


def on_foot(maps, name):
    values = np.asarray(maps[name], float)
    return values[np.asarray(maps["outline"], bool) & np.isfinite(values)]


def test_files_are_written_and_open(study):
    result = study["result"]
    assert result.registered.is_file() and result.maps.is_file() and result.picture.stat().st_size > 10_000
    assert (result.output_folder / STUDY_MARK).is_file()
    assert result.steps == result.registered_steps == 12 and not result.flagged
    assert sorted(result.sessions) == sorted(WALKS)
    with xr.open_dataset(result.registered, engine="h5netcdf") as registered:
        assert registered["peak_pressure"].dims == ("step", "y_mm", "x_mm")
        sources = {str(s) for s in registered["source"].values}
        assert sources == {str(study["folder"] / name) for name in WALKS}
        assert set(registered["session"].values) == set(WALKS)
        assert set(registered["group"].values) == {"heavy", "light"}
        assert sorted(set(registered["covariate"].values.tolist())) == [600, 700, 850, 950]
    with xr.open_dataset(result.maps, engine="h5netcdf") as maps:
        for name in ("template", "outline", "mean_peak", "sd_peak", "welch_t", "welch_p", "r", "r_p"):
            assert maps[name].dims == ("y_mm", "x_mm"), name
        assert maps["group_mean"].dims == ("group", "y_mm", "x_mm")
        assert list(maps["group_steps"].values) == [6, 6]
        assert maps["welch_t"].attrs["fwe_threshold"] == pytest.approx(result.thresholds["welch_t"])
        assert maps["r"].attrs["fwe_threshold"] == pytest.approx(result.thresholds["r"])
        assert maps["welch_t"].attrs["fwe_permutations"] == PERMUTATIONS
        assert 0 < maps["r"].attrs["fwe_threshold"] < 1
        assert (on_foot(maps, "mean_peak") >= 0).all() and on_foot(maps, "mean_peak").max() > 100
        assert np.isfinite(on_foot(maps, "sd_peak")).all()


def test_welch_t_is_positive_where_the_heavy_group_presses_harder(study):
    with xr.open_dataset(study["result"].maps, engine="h5netcdf") as maps:
        assert list(maps["group"].values) == ["heavy", "light"]  # the first group in groups.csv comes first
        assert maps["welch_t"].attrs["first"] == "heavy"
        t = on_foot(maps, "welch_t")
        heavy, light = (np.asarray(maps["group_mean"].sel(group=g)) for g in ("heavy", "light"))
        loaded = np.asarray(maps["outline"], bool) & (light > 50)
        assert np.mean(t > 0) > 0.9
        assert np.median(np.asarray(maps["welch_t"])[loaded]) > 3
        assert (heavy[loaded] > light[loaded]).mean() > 0.95
        assert np.nanmax(t) > maps["welch_t"].attrs["fwe_threshold"]


def test_correlation_with_weight_is_positive_within_subject(study):
    with xr.open_dataset(study["result"].maps, engine="h5netcdf") as maps:
        r = maps["r"]
        assert r.attrs["pooled_within_subject"] == 1 and r.attrs["dof"] == 12 - 2 - 1
        assert r.attrs["covariate"] == "weight"
        values = on_foot(maps, "r")
        loaded = np.asarray(maps["outline"], bool) & (np.asarray(maps["mean_peak"]) > 50)
        assert np.median(np.asarray(r)[loaded]) > 0.8
        assert np.mean(values > r.attrs["fwe_threshold"]) > 0.5


def test_skipped_sessions_are_reported_one_line_each(study):
    skipped = study["result"].skipped
    assert len(skipped) == 2, skipped
    by_name = {line.split(":")[0]: line for line in skipped}
    assert set(by_name) == {"standing.h5", "broken.h5"}
    assert "no complete footprint" in by_name["standing.h5"] and "no step" in by_name["standing.h5"]
    assert all("\n" not in line for line in skipped)
    with xr.open_dataset(study["result"].maps, engine="h5netcdf") as maps:
        assert "broken.h5" in maps.attrs["skipped"]


def test_read_table(tmp_path):
    table = read_table(write_csv(tmp_path / "t.csv", [("a.h5", "x"), (r".\sub\b.h5", "y")]))
    assert isinstance(table, Table) and dict(table) == {"a.h5": "x", "sub/b.h5": "y"}
    assert table.rows == {"a.h5": 2, "sub/b.h5": 3}
    assert table.value_name == "value"
    assert read_table(write_csv(tmp_path / "n.csv", [("a.h5", "1.5")], header=None)) == {"a.h5": "1.5"}
    for rows, message in ((["a.h5,x", "b.h5"], "row 3: no value for 'b.h5'"),
                          (["a.h5,x", ",y"], "row 3: no file name"),
                          (["a.h5,x,z"], "row 2: 3 cells"),
                          (["a.h5,x", "b.h5,y", "a.h5,z"], "row 4: 'a.h5' is already named in row 2"),
                          ([], "no rows")):
        path = tmp_path / "bad.csv"
        path.write_text("file,group\n" + "\n".join(rows) + "\n")
        with pytest.raises(ValueError) as error:
            read_table(path)
        assert str(error.value).startswith(str(path)) and message in str(error.value)
        assert "\n" not in str(error.value)


def test_table_names_that_match_no_session_or_several(study, tmp_path):
    folder, out = study["folder"], tmp_path / "maps"
    unknown = write_csv(tmp_path / "unknown.csv", [("sub-01/light.h5", "a"), ("sub-03/light.h5", "b")])
    with pytest.raises(ValueError, match=r"unknown\.csv row 3: 'sub-03/light\.h5' names no session"):
        map_study([str(folder)], out, groups=read_table(unknown))
    ambiguous = write_csv(tmp_path / "ambiguous.csv", [("light.h5", "a")])
    with pytest.raises(ValueError, match=r"ambiguous\.csv row 2: 'light\.h5' names 2 sessions"):
        map_study([str(folder)], out, groups=read_table(ambiguous))
    twice = write_csv(tmp_path / "twice.csv", [("sub-01/light.h5", "1"), (str(folder / "sub-01/light.h5"), "2")])
    with pytest.raises(ValueError, match=r"twice\.csv row 3: .* already named by 'sub-01/light\.h5'"):
        map_study([str(folder)], out, covariate=read_table(twice))
    not_a_number = write_csv(tmp_path / "speed.csv", [("sub-01/light.h5", "fast")])
    with pytest.raises(ValueError, match=r"speed\.csv row 2: 'fast' .* not a finite number"):
        map_study([str(folder)], out, covariate=read_table(not_a_number))
    three = write_csv(tmp_path / "three.csv", [(name, name.split("/")[0][-1] + name[7]) for name in WALKS])
    with pytest.raises(ValueError, match=r"three\.csv: 4 group names .* exactly two"):
        map_study([str(folder)], out, groups=read_table(three))
    # By file name, without the folder: a name that only one session has.
    missing = write_csv(tmp_path / "missing.csv", [("one-step", "a")])
    with pytest.raises(ValueError, match=r"missing\.csv: no row for session \S*sub-01/light\.h5"):
        map_study([str(folder / "sub-01/light.h5"), str(study["extra"])], out, subjects=read_table(missing))
    assert not out.exists()


def test_a_group_with_fewer_than_two_steps_is_refused(study, tmp_path):
    out = tmp_path / "maps"
    light = study["folder"] / "sub-01" / "light.h5"
    one = study["extra"] / "one-step.h5"
    groups = write_csv(tmp_path / "groups.csv", [("light.h5", "walk"), ("one-step.h5", "step")])
    with pytest.raises(ValueError, match=r"group 'step' has 1 complete footprint; Welch's t needs at least 2 steps"):
        map_study([str(light), str(one)], out, groups=read_table(groups))
    assert not (out / "maps.h5").exists() and not (out / "registered.h5").exists()


def test_a_template_file_and_existing_outputs(study, tmp_path):
    maps = study["result"].maps
    out = tmp_path / "maps"
    out.mkdir()
    (out / "maps.png").write_bytes(b"someone else's picture")
    light = str(study["folder"] / "sub-01" / "light.h5")
    with pytest.raises(ValueError, match=r"maps\.png: exists and was not written by pressure map"):
        map_study([light], out, template=maps)
    result = map_study([light], out, template=maps, overwrite=True, permutations=10)
    assert result.steps == 3 and not result.skipped and not result.thresholds
    with xr.open_dataset(result.registered, engine="h5netcdf") as registered, \
            xr.open_dataset(maps, engine="h5netcdf") as first:
        assert registered.sizes["y_mm"] == first.sizes["y_mm"]
    with xr.open_dataset(result.maps, engine="h5netcdf") as written:
        assert "welch_t" not in written and "r" not in written
    # The folder is ours now: a second run replaces its files without being asked.
    assert map_study([light], out, template=maps, permutations=10).steps == 3
    with pytest.raises(ValueError, match="no such template file"):
        map_study([light], tmp_path / "other", template=tmp_path / "nothing.h5")


def test_the_map_command_runs_a_study(tmp_path):
    """`pressure map` from the command line: two simulated walks to maps and a summary."""
    from typer.testing import CliRunner

    from pressure.cli import app
    from pressure.pipeline import capture

    folder = tmp_path / "study"
    folder.mkdir()
    for seed in (1, 2):
        capture(f"sim://walking?seed={seed}&speed=0", folder / f"walk{seed}.h5")
    result = CliRunner().invoke(app, ["map", str(folder), "-o", str(tmp_path / "maps"), "--permutations", "20"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "maps" / "maps.h5").is_file() and (tmp_path / "maps" / "maps.png").is_file()
    assert "steps" in result.stdout


def test_maps_name_the_results_revision_they_were_made_from(monkeypatch):
    """The maps' and registrations' ``software_version`` says which results revision made them
    (0.1.0 alone did not tell yesterday's results from today's)."""
    import pressure.schema
    from pressure.mapping.study import _version

    before = _version()
    monkeypatch.setattr(pressure.schema, "RESULTS_REVISION", pressure.schema.RESULTS_REVISION + 1)
    assert _version() != before and _version().endswith(f"+results{pressure.schema.RESULTS_REVISION}")
