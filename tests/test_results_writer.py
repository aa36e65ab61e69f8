"""The results writer (pressure.schema.write_results, h5netcdf directly) against the writer it
replaced (xarray's ``to_netcdf``, kept here as the reference): the same file, read back the same,
without importing Dask's ``distributed``.

``python -m tests.test_results_writer`` times the two writers (interleaved, 20 repeats)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

import drivers
from pressure.analysis import analyse
from pressure.schema import SchemaError, write_results
from tests.conftest import FIXTURES, ROOT, shared_file


def reference_write_results(dataset, path: Path) -> None:
    """The writer as it was before issue 15 (xarray's generic netCDF writer), verbatim."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = {
        name: {"compression": "gzip", "compression_opts": 4}
        for name, variable in dataset.data_vars.items()
        if variable.ndim >= 1 and variable.dtype.kind in "fiu" and variable.size > 1024
    }
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OSError(error.errno, f"{path}: cannot write ({error.strerror})") from None
    os.close(handle)
    try:
        dataset.to_netcdf(temporary, engine="h5netcdf", encoding=encoding, invalid_netcdf=False)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(error.errno, f"{path}: cannot write ({error.strerror or error})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


_RESULTS: dict[str, xr.Dataset] = {}


def results_of(source) -> xr.Dataset:
    key = str(source)
    if key not in _RESULTS:
        _RESULTS[key], _ = analyse(drivers.load(key))
    return _RESULTS[key].copy(deep=True)  # cases change attrs and values


def standing():
    return results_of(FIXTURES / "standing.h5")  # no steps: step_foot is an empty object array


def walking():
    return results_of(FIXTURES / "walking.h5")


def zero_steps():
    """Walking results cut to no steps (step_foot an empty unicode array, not an object one)."""
    return walking().isel(step=slice(0, 0))


def string_and_nan_attrs():
    dataset = standing()
    dataset.attrs.update(
        warnings="first line\nsecond line: ünïcode ✓", empty="", standing_from_s=float("nan"),
        nan32=np.float32("nan"), nan_array=np.array([np.nan, 1.5]), names=["a", "bc"],
        numbers=[1, 2, 3], count=np.int16(7), raw=b"bytes as text",
    )
    dataset["force"].attrs.update(comment="ünïcode ✓", valid_max=float("nan"), empty="", levels=[0.5, np.nan])
    dataset["step_foot"].attrs["note"] = "no steps"
    dataset["arch_type"].attrs["choices"] = ["high", "normal", "flat"]
    return dataset


def missing_strings_and_numbers():
    """Object arrays as xarray stores them: None becomes "" among strings, NaN among numbers."""
    dataset = walking()
    dataset["arch_type"] = dataset["arch_type"].copy(data=np.array([None, "flat"], dtype=object))
    steps = dataset.sizes["step"]
    dataset["step_foot"] = dataset["step_foot"].copy(
        data=np.array(["left", None] + ["right"] * (steps - 2), dtype=object))
    dataset["arch_axis_method"] = dataset["arch_axis_method"].copy(data=np.array([1, None], dtype=object))
    return dataset


def extra_coordinates():
    """xarray's coordinates attributes beyond the schema's: a scalar coordinate (named by every
    variable) and one on a dimension no variable has (named in the global attribute)."""
    return walking().assign_coords(subject="S01", trial_label=("trial", np.array(["a", "b"])))


def pedar():
    return results_of(shared_file("novel_pedar/pedar_example.asc"))


CASES = {
    "standing": standing,
    "walking": walking,
    "zero_steps": zero_steps,
    "string_and_nan_attrs": string_and_nan_attrs,
    "missing_strings_and_numbers": missing_strings_and_numbers,
    "extra_coordinates": extra_coordinates,
    "pedar_insoles": pedar,
}


def _read(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="h5netcdf") as dataset:
        return dataset.load()


@pytest.mark.parametrize("case", list(CASES))
def test_the_file_reads_back_as_the_reference_writers(case, tmp_path):
    dataset = CASES[case]()
    new, old = tmp_path / "new.h5", tmp_path / "old.h5"
    write_results(dataset, new)
    reference_write_results(dataset, old)
    written, reference = _read(new), _read(old)
    xr.testing.assert_identical(written, reference)
    assert list(written.variables) == list(reference.variables)
    for name, variable in reference.variables.items():
        assert written[name].dtype == variable.dtype, name
        assert _encoding(written[name]) == _encoding(variable), name
    assert written.encoding.get("unlimited_dims") == reference.encoding.get("unlimited_dims")


@pytest.mark.parametrize("case", list(CASES))
def test_the_hdf5_file_is_the_reference_writers(case, tmp_path):
    """Object by object: datasets (type, shape, chunks, filters, fill value, values), attributes
    (type, shape, value; dimension-scale references by the names they point to), creation order."""
    dataset = CASES[case]()
    new, old = tmp_path / "new.h5", tmp_path / "old.h5"
    write_results(dataset, new)
    reference_write_results(dataset, old)
    written, reference = hdf5_structure(new), hdf5_structure(old)
    assert list(written) == list(reference)
    differences = [name for name in reference if written[name] != reference[name]]
    assert not differences, {name: (written[name], reference[name]) for name in differences[:3]}


def _encoding(variable) -> str:
    """How xarray says a variable is stored (chunks, filters, _FillValue, dtype), NaN-safe."""
    return repr(sorted((key, value) for key, value in variable.encoding.items() if key != "source"))


def hdf5_structure(path: Path) -> dict:
    structure = {}
    with h5py.File(path, "r") as file:
        def describe(name, item):
            entry = {"attrs": _attributes(file, item)}
            plist = item.id.get_create_plist()
            entry["attr_order"] = plist.get_attr_creation_order()
            if isinstance(item, h5py.Dataset):
                entry.update(
                    dtype=item.dtype.str, string=h5py.check_string_dtype(item.dtype),
                    shape=item.shape, maxshape=item.maxshape, chunks=item.chunks,
                    compression=item.compression, compression_opts=item.compression_opts,
                    shuffle=item.shuffle, fletcher32=item.fletcher32, fillvalue=_value(item.fillvalue),
                    layout=plist.get_layout(), values=_value(item[()]),
                )
            else:
                entry["link_order"] = plist.get_link_creation_order()
                entry["members"] = list(item)  # in the file's iteration order
            structure[name] = entry

        describe("/", file)
        file.visititems(describe)
    return structure


def _attributes(file, item) -> dict:
    attributes = {}
    for key in item.attrs:
        stored = item.attrs.get_id(key)
        value = item.attrs[key]
        if key == "REFERENCE_LIST":
            value = sorted((file[reference].name, int(dim)) for reference, dim in value)
        elif key == "DIMENSION_LIST":
            value = [[file[reference].name for reference in references] for references in value]
        else:
            value = _value(value)
        attributes[key] = (stored.dtype.str, h5py.check_string_dtype(stored.dtype), stored.shape, value)
    return attributes


def _value(value):
    array = np.asarray(value)
    if array.dtype.kind in "fiub":
        return (array.dtype.str, array.shape, array.tobytes())  # NaN compares by its bits
    return (array.dtype.str, array.shape,
            [item.decode() if isinstance(item, bytes) else item for item in array.ravel().tolist()])


def test_writing_does_not_import_distributed(tmp_path):
    pytest.importorskip("distributed")  # without it the check says nothing
    code = f"""
import sys
import pressure.schema
import drivers
import xarray as xr
from pressure.analysis import analyse
dataset, _ = analyse(drivers.load({str(FIXTURES / "walking.h5")!r}))
pressure.schema.write_results(dataset, {str(tmp_path / "r.h5")!r})
print("after writing", "distributed" in sys.modules)
with xr.open_dataset({str(tmp_path / "r.h5")!r}, engine="h5netcdf") as results:
    results.load()
print("after reading", "distributed" in sys.modules)
"""
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split("\n")[:2] == ["after writing False", "after reading False"], shown.stdout


def test_process_does_not_import_distributed_without_a_scheduler(tmp_path):
    pytest.importorskip("distributed")
    code = f"""
import sys
from pressure.cli import app
try:
    app(["process", {str(FIXTURES / "standing.h5")!r}, "-o", {str(tmp_path / "r.h5")!r}])
except SystemExit as end:
    assert not end.code, end.code
print("distributed" in sys.modules)
"""
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "False", shown.stdout
    assert (tmp_path / "r.h5").is_file()


def test_the_results_imports_are_done_ahead_while_a_long_session_is_analysed():
    """What the results' first xarray Variable imports (dask.array, where dask is installed) is
    imported on the import-ahead thread, not after the passes; and never ``distributed``."""
    code = """
import sys
from pressure.imports_ahead import RESULTS_MODULES, imported_ahead
with imported_ahead(*RESULTS_MODULES):
    pass
import xarray
before = set(sys.modules)
xarray.Variable(("x",), [1.0, 2.0])
print(sorted(set(sys.modules) - before), "distributed" in sys.modules)
"""
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "[] False", shown.stdout


def test_a_file_is_replaced_whole_and_readable_by_all(tmp_path):
    path = tmp_path / "sub" / "r.h5"
    write_results(standing(), path)
    write_results(walking(), path)
    assert _read(path).attrs["activity"] == "walking"
    assert [p.name for p in path.parent.iterdir()] == ["r.h5"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_refused_dataset_leaves_nothing_behind(tmp_path):
    path = tmp_path / "r.h5"
    write_results(standing(), path)
    dataset = walking()
    dataset["step_start"] = dataset["step_start"].astype("datetime64[ns]")
    with pytest.raises(SchemaError, match="step_start"):
        write_results(dataset, path)
    dataset = walking()
    dataset.attrs["bad"] = None
    with pytest.raises(SchemaError, match="bad"):
        write_results(dataset, path)
    dataset.attrs["bad"] = True  # netCDF has no booleans: h5netcdf refused it under xarray too
    with pytest.raises(Exception, match="boolean"):
        reference_write_results(dataset, path)
    with pytest.raises(SchemaError, match="bad = True: netCDF has no boolean"):
        write_results(dataset, path)
    assert [p.name for p in tmp_path.iterdir()] == ["r.h5"]
    assert _read(path).attrs["activity"] == "standing"


def test_a_failure_while_writing_removes_the_temporary_file(tmp_path, monkeypatch):
    import pressure.schema as schema

    def fail(target, variables, attrs):
        Path(target).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(schema, "_write_netcdf", fail)
    with pytest.raises(OSError, match=re.escape(f"{tmp_path / 'r.h5'}: cannot write (No space left on device)")):
        write_results(standing(), tmp_path / "r.h5")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_takes_no_file_names_the_file(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # as in a read-only folder (root ignores modes)
    with pytest.raises(OSError, match=re.escape(f"{tmp_path / 'r.h5'}: cannot write (Permission denied)")):
        write_results(standing(), tmp_path / "r.h5")


def bench(repeats: int = 20) -> None:
    """Median and spread of the time to write each fixture's results with each writer (wall
    clock and this process's CPU time), and the paired ratio new/old of each repeat. The writers
    take turns (their order flips every repeat), after one unmeasured write each."""
    import statistics
    import time

    def spread(values):
        q1, median, q3 = statistics.quantiles(values, n=4)
        return (f"median {statistics.median(values):6.1f}  IQR {q1:6.1f}-{q3:6.1f}  "
                f"min {min(values):6.1f}  max {max(values):6.1f}")

    writers = {"old (xarray to_netcdf)": reference_write_results, "new (h5netcdf direct)": write_results}
    print(f"{repeats} repeats per writer, interleaved; times in ms")
    with tempfile.TemporaryDirectory() as folder:
        for name in ("standing", "walking"):
            dataset = CASES[name]()
            wall: dict[str, list[float]] = {writer: [] for writer in writers}
            cpu: dict[str, list[float]] = {writer: [] for writer in writers}
            for writer, write in writers.items():
                write(dataset, Path(folder) / "warm.h5")
            for repeat in range(repeats):
                order = list(writers) if repeat % 2 == 0 else list(writers)[::-1]
                for writer in order:
                    start, start_cpu = time.perf_counter(), time.process_time()
                    writers[writer](dataset, Path(folder) / "r.h5")
                    wall[writer].append((time.perf_counter() - start) * 1000)
                    cpu[writer].append((time.process_time() - start_cpu) * 1000)
            for writer in writers:
                print(f"{name:8} {writer:22} wall {spread(wall[writer])}")
                print(f"{name:8} {writer:22} cpu  {spread(cpu[writer])}")
            old, new = writers
            for label, times in (("wall", wall), ("cpu", cpu)):
                ratios = [b / a for a, b in zip(times[old], times[new])]
                q1, _, q3 = statistics.quantiles(ratios, n=4)
                print(f"{name:8} new/old paired ({label}): median {statistics.median(ratios):.2f}  "
                      f"IQR {q1:.2f}-{q3:.2f}")


if __name__ == "__main__":
    bench()


@pytest.mark.parametrize("value", [
    np.arange(10)[::2],  # not contiguous: copied, as h5py copies it
    np.array(3, np.int32),  # 0-d stays a scalar
    np.array([1.5, np.nan], ">f8"),
    "ünïcode ✓",
    ["a", "bc"],  # h5py's way
])
def test_an_attribute_is_the_one_h5py_makes_and_replaces_one_of_its_name(tmp_path, value):
    from pressure.schema import _attribute

    with h5py.File(tmp_path / "a.h5", "w") as file:
        ours, theirs = file.create_dataset("ours", data=[1.0]), file.create_dataset("theirs", data=[1.0])
        ours.attrs["a"] = "made before: replaced"
        _attribute(ours, "a", value)
        theirs.attrs["a"] = value
        made, reference = ours.attrs.get_id("a"), theirs.attrs.get_id("a")
        assert (made.dtype, made.shape) == (reference.dtype, reference.shape)
        assert repr(ours.attrs["a"]) == repr(theirs.attrs["a"])


def test_the_standing_mean_is_over_every_stretch_of_standing_a_block_at_a_time(monkeypatch):
    """Stand, walk, stand again: the mean is over the two stretches only, read in blocks smaller
    than the session; results written before ``standing`` use their one span."""
    import pressure.schema as schema

    rng = np.random.default_rng(3)
    force = rng.uniform(0, 500, (50, 2))
    force[7, 1] = np.nan
    standing = np.zeros(50, bool)
    standing[:10] = standing[35:] = True
    time = np.arange(50) / 10.0
    results = xr.Dataset({"force": (("time", "foot"), force), "standing": ("time", standing)},
                         coords={"time": time}, attrs={"standing_from_s": 0.0, "standing_to_s": 4.9})
    monkeypatch.setattr(schema, "TIME_BLOCK_FRAMES", 8)  # blocks that split the stretches
    np.testing.assert_allclose(schema.standing_mean(results, "force"), np.nanmean(force[standing], axis=0))
    older = results.drop_vars("standing")  # the span: all 50 frames
    np.testing.assert_allclose(schema.standing_mean(older, "force"), np.nanmean(force, axis=0))
    assert schema.standing_mean(results.assign(standing=("time", np.zeros(50, bool))), "force") is None
