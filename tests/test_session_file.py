"""Session files: what capture writes is what xarray reads, losslessly and without warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import drivers
from drivers.session_file import SessionWriter, chunk_frames
from pressure.pipeline import capture

URL = "sim://standing?seed=5&duration=1.5&speed=0&imbalance=0.2"


def open_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return xr.open_dataset(path, engine="h5netcdf").load()


def test_capture_roundtrip_is_identical(tmp_path):
    path = tmp_path / "session.h5"
    result = capture(URL, path)
    expected = drivers.load(URL)
    assert result.frames == expected.n_frames == 150
    dataset = open_quietly(path)
    assert dataset["pressure"].dims == ("time", "y", "x")
    assert dataset["pressure"].attrs["units"] == "kPa"
    np.testing.assert_allclose(dataset["pressure"].values, expected.kpa(), rtol=1e-6)
    np.testing.assert_array_equal(dataset["frame"].values, expected.counter)
    np.testing.assert_allclose(dataset["time"].values, expected.time_s)
    np.testing.assert_allclose(dataset["x"].values, np.arange(64) * 5.0)
    for key in ("pitch_x_mm", "pitch_y_mm", "rate_hz", "device", "source_url", "started_at",
                "software_version", "frames_received", "frames_dropped", "frames_corrupt"):
        assert key in dataset.attrs
    assert dataset.attrs["frames_received"] == 150
    assert dataset.attrs["complete"] == 1
    assert "frame" in dataset.coords


def test_device_values_are_stored_losslessly(tmp_path):
    import h5py

    path = tmp_path / "session.h5"
    capture(URL, path)
    with h5py.File(path, "r") as f:
        stored = f["pressure"]
        assert stored.dtype == np.uint16
        assert stored.compression == "gzip"
        assert stored.chunks[0] > 1
        np.testing.assert_array_equal(stored[...], drivers.load(URL).cells)


def test_replaying_a_session_gives_the_same_frames(tmp_path):
    path = tmp_path / "session.h5"
    capture(URL, path)
    replay = drivers.load(str(path))
    original = drivers.load(URL)
    np.testing.assert_array_equal(replay.cells, original.cells)
    assert replay.info.scale_kpa == original.info.scale_kpa
    assert replay.info.pitch_x_mm == 5.0 and replay.info.rate_hz == 100.0


def test_capture_stops_at_duration_and_frames(tmp_path):
    assert capture(URL, tmp_path / "a.h5", duration_s=0.5).frames == 50
    assert capture(URL, tmp_path / "b.h5", max_frames=7).frames == 7


def test_unfinished_file_holds_every_flushed_frame(tmp_path):
    source = drivers.open_url(URL)
    path = tmp_path / "partial.h5"
    writer = SessionWriter(path, source.info, {"source_url": URL})
    frames = [source.read_frame() for _ in range(chunk_frames(source.info) + 3)]
    for frame in frames:
        writer.append(frame)
    writer.flush()
    # The writer is still open (as in a capture that is about to be killed): a reader sees it all.
    dataset = open_quietly(path)
    assert dataset.sizes["time"] == len(frames)
    assert dataset.attrs["complete"] == 0
    writer.close()


def test_reading_a_results_file_as_a_session_is_refused(tmp_path):
    from pressure.analysis import analyse
    from pressure.schema import write_results

    dataset, _ = analyse(drivers.load(URL))
    write_results(dataset, tmp_path / "r.h5")
    with pytest.raises(drivers.DriverError, match="results file"):
        drivers.load(str(tmp_path / "r.h5"))


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
def test_blosc_sessions_hold_the_same_frames_and_are_analysed(codec, tmp_path):
    pytest.importorskip("hdf5plugin")
    from pressure.analysis import analyse
    from pressure.pipeline import capture

    url = "sim://walking?seed=2&speed=0"
    capture(url, tmp_path / "gzip.h5")
    capture(url, tmp_path / f"{codec}.h5", compression=codec)
    gzip, blosc = drivers.load(str(tmp_path / "gzip.h5")), drivers.load(str(tmp_path / f"{codec}.h5"))
    np.testing.assert_array_equal(gzip.cells, blosc.cells)
    streamed = drivers.load(str(tmp_path / f"{codec}.h5"), stream_above_bytes=0)
    a, _ = analyse(gzip)
    b, _ = analyse(streamed)
    np.testing.assert_array_equal(a["force"].values, b["force"].values)


def test_a_blosc_session_without_hdf5plugin_is_one_line(tmp_path, monkeypatch):
    pytest.importorskip("hdf5plugin")
    import sys

    import h5py

    from pressure.pipeline import capture

    capture("sim://standing?speed=0&duration=1", tmp_path / "s.h5", compression="zstd")
    monkeypatch.setattr(h5py.h5z, "filter_avail", lambda code: False)
    monkeypatch.setitem(sys.modules, "hdf5plugin", None)  # import hdf5plugin now fails
    with pytest.raises(drivers.DriverError) as caught:
        drivers.load(str(tmp_path / "s.h5"))
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "s.h5")) and "pip install" in message and "\n" not in message
