"""The analysis read a block of frames at a time gives the results of the whole recording at once
(issue 15): block boundaries anywhere, sessions left in their file, per-frame results in a
scratch file. Checked on the fixtures and on real recordings."""

from __future__ import annotations

import weakref

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import drivers
import drivers.session_frames as session_frames
import pressure.measures.series_store as series_store
from pressure.analysis import analyse
from pressure.kernels.peak_image import CellSummary, cell_summary
from pressure.measures.regions import RegionMeasures, contact_region_measures
from tests.conftest import FIXTURES, shared_file

REAL = ["tekscan_fscan/FrasP01L.asf", "novel_pedar/pedar_example.asc", "xsensor_insole/xsensor_data.csv",
        "pressuRe_extdata/emed_test.lst", "pressuRe_extdata/pliance_test.asc"]


def assert_same_results(a: xr.Dataset, b: xr.Dataset) -> None:
    assert set(a.variables) == set(b.variables)
    for name in a.variables:
        x, y = a[name].values, b[name].values
        assert x.shape == y.shape, name
        if x.dtype.kind == "f":
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.attrs.keys() == b.attrs.keys()
    for key in a.attrs:
        if isinstance(a.attrs[key], float) and np.isnan(a.attrs[key]):
            assert np.isnan(b.attrs[key]), key
        else:
            assert a.attrs[key] == b.attrs[key], key


def blocks_of(monkeypatch, frames: int, recording) -> None:
    """Blocks of about ``frames`` frames for every reader of the recording's frames."""
    monkeypatch.setattr(session_frames, "BLOCK_BYTES", frames * recording.cells[0].nbytes)


def real_or_fixture(name: str) -> str:
    return str(FIXTURES / name) if name.endswith(".h5") and "/" not in name else str(shared_file(name))


@pytest.mark.parametrize("name", ["standing.h5", "walking.h5", *REAL])
def test_blocks_anywhere_give_the_whole_recordings_results(name, monkeypatch):
    source = real_or_fixture(name)
    whole, _ = analyse(drivers.load(source))
    recording = drivers.load(source)
    blocks_of(monkeypatch, 7, recording)  # prime-sized blocks: contacts and steps cut at odd places
    blocked, _ = analyse(recording)
    assert_same_results(whole, blocked)


def test_blocks_kept_by_the_caller_are_never_read_into_again(tmp_path):
    path = tmp_path / "capture.h5"
    from pressure.pipeline import capture

    capture("sim://walking?seed=3&speed=0&duration=1.5", path)
    recording = drivers.load(path, stream_above_bytes=0)
    assert isinstance(recording.cells, session_frames.SessionFrames)
    whole = np.asarray(recording.cells)
    kept = [block[2:] for _, block in recording.cells.blocks(size=11)]  # views keep their blocks
    assert len(kept) > 2 * session_frames.KEPT_BLOCKS
    np.testing.assert_array_equal(np.concatenate([whole[f:f + 11][2:] for f in range(0, len(whole), 11)]),
                                  np.concatenate(kept))
    earlier, again = [], 0  # blocks dropped at once: the same arrays come back
    for _, block in recording.cells.blocks(size=11):
        again += any(ref() is block for ref in earlier)
        earlier.append(weakref.ref(block))
    assert again >= len(earlier) - session_frames.KEPT_BLOCKS - 1  # the last, shorter block is new


def test_block_memory_hands_out_an_array_again_only_when_nothing_refers_to_it():
    memory = session_frames.BlockMemory(kept=2)
    a = memory.take((4, 3), np.uint16)
    b = memory.take((4, 3), np.uint16)
    assert a is not b
    view, a_id = a[1:], id(a)
    del a
    c = memory.take((4, 3), np.uint16)  # ``a`` is still seen through its view
    assert id(c) != a_id and c is not b
    del view
    assert id(memory.take((4, 3), np.uint16)) == a_id
    assert memory.take((5, 3), np.uint16).shape == (5, 3)  # another shape: a new array
    assert memory.take((4, 3), np.int32).dtype == np.int32


def test_real_single_footsteps_in_blocks(monkeypatch):
    from benchmarks.accuracy import speedpp2ds_trials

    for number, (_, recording) in enumerate(speedpp2ds_trials(shared_file("speedpp2ds/subj001.h5"))):
        if number % 12:
            continue  # five of the sixty trials
        whole, _ = analyse(recording)
        blocks_of(monkeypatch, 11, recording)
        blocked, _ = analyse(recording)
        monkeypatch.undo()
        assert_same_results(whole, blocked)


def test_a_session_analysed_from_its_file_with_results_on_disk(tmp_path, monkeypatch):
    source = str(FIXTURES / "walking.h5")
    whole, _ = analyse(drivers.load(source))
    recording = drivers.load(source, stream_above_bytes=0)
    assert isinstance(recording.cells, session_frames.SessionFrames)
    blocks_of(monkeypatch, 100, recording)
    monkeypatch.setattr(series_store, "IN_MEMORY_BYTES", 0)
    streamed, analysis = analyse(recording, scratch_folder=tmp_path)
    assert not analysis.series.in_memory
    assert_same_results(whole, streamed.compute())
    analysis.series.close()
    assert list(tmp_path.iterdir()) == []  # the scratch file is gone


def test_process_of_a_long_session_writes_the_same_file(tmp_path, monkeypatch):
    import pressure.pipeline as pipeline
    from pressure.analysis import Options

    source = str(FIXTURES / "standing.h5")
    pipeline.process(source, tmp_path / "whole.h5", Options())
    monkeypatch.setattr(pipeline, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(series_store, "IN_MEMORY_BYTES", 0)
    monkeypatch.setattr(session_frames, "BLOCK_BYTES", 1 << 16)
    returned = pipeline.process(source, tmp_path / "streamed.h5", Options())
    with xr.open_dataset(tmp_path / "whole.h5", engine="h5netcdf") as a, \
         xr.open_dataset(tmp_path / "streamed.h5", engine="h5netcdf") as b:
        assert_same_results(a.load(), b.load())
        assert_same_results(b, returned.load())
    returned.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed.h5", "whole.h5"]


def test_damage_found_mid_session_is_one_line_naming_the_file(tmp_path):
    import shutil

    import h5py

    path = tmp_path / "damaged.h5"
    shutil.copy(FIXTURES / "walking.h5", path)
    with h5py.File(path, "r") as f:
        info = f["pressure"].id.get_chunk_info(1)
    with open(path, "r+b") as f:
        f.seek(info.byte_offset + info.size // 2)
        f.write(b"\xff" * 16)
    recording = drivers.load(str(path), stream_above_bytes=0)
    with pytest.raises(drivers.DriverError, match=str(path)) as caught:
        analyse(recording)
    assert "\n" not in str(caught.value)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(0, 2**32 - 1), st.sampled_from([np.uint16, np.float32]))
def test_the_cell_summary_fed_in_blocks_or_merged_is_the_summary_of_the_whole(size, seed, dtype):
    rng = np.random.default_rng(seed)
    frames = (rng.random((37, 4, 5)) * 10).astype(dtype)
    if dtype is np.float32:
        frames[:, 0, 0] = np.nan  # no sensor
        frames[0, 1, 1] = np.nan  # NaN in the first frame only
        frames[20:, 2, 2] = np.nan  # NaN later on
    fed = CellSummary(frames.shape[1:], frames.dtype)
    merged = CellSummary(frames.shape[1:], frames.dtype)
    for first in range(0, len(frames), size):
        fed.feed(frames[first:first + size])
        apart = CellSummary(frames.shape[1:], frames.dtype)
        apart.feed(frames[first:first + size])
        merged.merge(apart)
    for one, other, whole in zip(fed.result(), merged.result(), cell_summary(frames)):
        np.testing.assert_array_equal(one, whole)
        np.testing.assert_array_equal(other, whole)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_region_measures_fed_in_blocks_are_those_of_the_whole_contact(size, seed):
    rng = np.random.default_rng(seed)
    frames, regions = 41, 4
    area = np.where(rng.random((frames, regions)) < 0.6, rng.random((frames, regions)) * 20, 0.0)
    area[:, 3] = 0.0  # a region never loaded
    force = area * rng.random((frames, regions)) * 30
    peak = np.where(area > 0, rng.random((frames, regions)) * 300, 0.0)
    peak[[5, 30], 0] = peak[:, 0].max() + 1  # a tie: the first frame of the highest peak counts
    measures = RegionMeasures(regions, 100.0)
    for first in range(0, frames, size):
        measures.feed(force[first:first + size], area[first:first + size], peak[first:first + size])
    whole = contact_region_measures(force, area, peak, 100.0)
    for name, values in measures.result().items():
        np.testing.assert_allclose(values, whole[name], rtol=1e-12, equal_nan=True, err_msg=name)
    assert whole["time_of_peak"][0] == pytest.approx(100 * 5 / 40)


def test_pictures_and_reports_of_a_session_read_from_its_file(tmp_path, monkeypatch):
    import pressure.pipeline as pipeline
    from pressure.analysis import Options

    monkeypatch.setattr(pipeline, "STREAM_ABOVE_BYTES", 0)
    monkeypatch.setattr(series_store, "IN_MEMORY_BYTES", 0)
    for name in ("walking.h5", "standing.h5"):
        out = tmp_path / name
        dataset = pipeline.process(str(FIXTURES / name), out, Options(), picture=tmp_path / f"{name}.png",
                                   report=tmp_path / f"{name}.html")
        dataset.close()
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000
        assert "<table" in (tmp_path / f"{name}.html").read_text()


def test_info_of_a_session_reads_none_of_its_frames(monkeypatch):
    from drivers import chunk_reader
    from pressure.pipeline import describe

    def refuse(*args, **kwargs):
        raise AssertionError("info read the frames")

    monkeypatch.setattr(chunk_reader, "read_cells", refuse)
    found = describe(str(FIXTURES / "walking.h5"))
    assert found["kind"] == "session" and found["recording"].n_frames == len(found["recording"].time_s) > 100


def test_the_measuring_pass_computes_one_block_ahead_in_order_and_passes_errors_on():
    from pressure.measures.session import one_ahead

    assert list(one_ahead(iter(range(5)))) == [0, 1, 2, 3, 4]
    assert list(one_ahead(iter([]))) == []

    def failing():
        yield 1
        raise ValueError("damaged block")

    with pytest.raises(ValueError, match="damaged block"):
        list(one_ahead(failing()))
    closed = []

    def blocks():
        try:
            yield from range(100)
        finally:
            closed.append(True)

    ahead = one_ahead(blocks())
    assert next(ahead) == 0
    ahead.close()  # the caller stops early (an error of its own): the blocks are closed too
    assert closed == [True]
