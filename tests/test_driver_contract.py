"""Every frame source honours the same contract (DESIGN.md section 3)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import drivers
from drivers import EndOfStream, Frame
from tests.conftest import FIXTURES


@pytest.fixture(params=["sim", "session", "npy"])
def source_url(request, tmp_path):
    if request.param == "sim":
        return "sim://standing?duration=0.5&speed=0&rows=64&cols=80"
    if request.param == "session":
        return str(FIXTURES / "standing.h5")
    frames = np.random.default_rng(0).random((30, 12, 10)).astype(np.float32) * 100
    path = tmp_path / "frames.npy"
    np.save(path, frames)
    return f"{path}?pitch=5&rate=50"


def test_frames_carry_cells_counter_and_times(source_url):
    with drivers.open_url(source_url) as source:
        info = source.info
        frames = [source.read_frame() for _ in range(5)]
    for frame in frames:
        assert isinstance(frame, Frame)
        assert frame.cells.shape == (info.rows, info.cols)
        assert frame.cells.dtype == info.dtype
        assert frame.host_time_s > 0
    counters = [frame.counter for frame in frames]
    assert counters == list(range(counters[0], counters[0] + 5))


def test_iteration_ends_and_counts_every_frame(source_url):
    with drivers.open_url(source_url) as source:
        n = sum(1 for _ in source)
        assert source.counters.received == n > 0
        assert source.counters.dropped == 0
        with pytest.raises(EndOfStream):
            source.read_frame()


def test_load_equals_iteration(source_url):
    with drivers.open_url(source_url) as source:
        iterated = np.stack([frame.cells for frame in source])
    recording = drivers.load(source_url)
    np.testing.assert_array_equal(recording.cells, iterated)
    assert recording.time_s[0] == 0.0


def test_close_is_safe_twice_and_reading_after_close_fails(source_url):
    source = drivers.open_url(source_url)
    source.close()
    source.close()
    with pytest.raises(drivers.DriverError, match="closed"):
        source.read_frame()


def test_counter_gaps_count_as_dropped():
    class Gappy(drivers.MatDriver):
        def __init__(self):
            super().__init__()
            self.counters_to_send = [0, 1, 4, 5, 9]

        def _read_frame(self, timeout):
            if not self.counters_to_send:
                raise EndOfStream
            return Frame(np.zeros((2, 2)), self.counters_to_send.pop(0), None, 0.0)

    with Gappy() as source:
        assert sum(1 for _ in source) == 5
        assert source.counters.dropped == 5


def test_replay_speed_paces_in_real_time():
    import time

    url = f"{FIXTURES / 'standing.h5'}?speed=1"
    with drivers.open_url(url) as source:
        start = time.monotonic()
        for _ in range(21):
            source.read_frame()
        elapsed = time.monotonic() - start
    assert elapsed == pytest.approx(0.2, abs=0.08)


@pytest.mark.skipif(not os.environ.get("PRESSURE_TEST_URL"), reason="set PRESSURE_TEST_URL to test real hardware")
def test_real_device_from_environment():
    with drivers.open_url(os.environ["PRESSURE_TEST_URL"]) as source:
        frame = source.read_frame(timeout=5.0)
    assert frame is not None and frame.cells.shape == (source.info.rows, source.info.cols)
