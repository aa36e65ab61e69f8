"""A fast mat in a process of its own, through a real pty: every frame stored, none lost (issue 15)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import xarray as xr

import drivers
from drivers.virtual_mat import VirtualMat
from pressure.pipeline import capture
from tests.conftest import ROOT

FRAMES = 3000


def test_an_external_mat_sending_as_fast_as_the_pty_takes_loses_nothing(tmp_path):
    """The sender blocks whenever the pty is full, so it sends as fast as the capture reads; a
    capture that cannot keep up would drop frames from its bounded buffer and count them."""
    mat = VirtualMat("binary", rate_hz=100_000, max_frames=FRAMES, seed=12)
    path = tmp_path / "fast.h5"
    done = threading.Event()

    def stop_when_sent():
        mat.wait(30)
        time.sleep(0.5)
        done.set()

    watcher = threading.Thread(target=stop_when_sent, daemon=True)
    url = f"serial://{mat.device}?rows=64&cols=64&framing=binary&cell=uint16&rate=2000"
    try:
        result = capture(url, path, stop_event=done, on_start=lambda info: (mat.start(process=True), watcher.start()))
    finally:
        mat.stop()
    assert mat.injected.sent == FRAMES
    assert result.frames == result.counters.received == FRAMES
    assert (result.counters.dropped, result.counters.corrupt, result.counters.resyncs) == (0, 0, 0)
    with xr.open_dataset(path, engine="h5netcdf", mask_and_scale=False) as session:
        assert session["frame"].values.tolist() == list(range(FRAMES))
        stored = session["pressure"].values  # device values, as sent
        received = session["receive_time"].values
    expected = np.stack([mat.encode_cells(mat.loop[i % len(mat.loop)]) for i in range(FRAMES)])
    np.testing.assert_array_equal(stored, expected)
    assert np.all(np.diff(received) >= 0)


def test_the_shuffle_kernels_are_loaded_before_the_port_is_read(tmp_path):
    """Loaded at the first full chunk, Numba stalled the writing process for a second while the
    reader's ring filled: 227 of 30,000 frames dropped at 9,500 frames/s. Capture loads them
    before it opens the source (in a fresh interpreter: nothing loaded them before)."""
    code = f"""
import sys, drivers
from drivers import byte_planes
from pressure.pipeline import capture
opened, loaded = drivers.open_url, []
def open_url(url, *args, **kwargs):
    loaded.append(all(split.signatures for split, _ in byte_planes.SPLITS.values()))
    return opened(url, *args, **kwargs)
drivers.open_url = open_url
assert not any(split.signatures for split, _ in byte_planes.SPLITS.values())
capture("sim://standing?seed=1&speed=0&duration=0.2", {str(tmp_path / "s.h5")!r})
print("LOADED", loaded)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "LOADED [True]" in done.stdout, done.stdout + done.stderr


def test_closing_a_serial_source_ends_its_reader_process_at_once():
    mat = VirtualMat("binary", rate_hz=1000, seed=13).start()
    try:
        source = drivers.open_url(f"serial://{mat.device}?rows=64&cols=64&framing=binary&cell=uint16&rate=1000")
        assert source.read_frame(timeout=5) is not None
        reader = source._reader_pid
        started = time.monotonic()
        source.close()
        assert time.monotonic() - started < 0.5
        try:
            os.kill(reader, 0)
        except ProcessLookupError:
            pass  # gone, and reaped
        else:
            raise AssertionError(f"reader process {reader} still exists after close")
    finally:
        mat.stop()


def test_the_capture_benchmark_measures_the_pty_alone_beside_the_capture(tmp_path):
    """``benchmarks/capture_speed.py``: a round of each; the capture keeps every frame, the
    pty's own pace is measured from the same mat, and the share is their ratio."""
    from benchmarks.capture_speed import measure

    report = measure(400, 1, tmp_path)
    (captured,), (pace,), (share,) = report["captures"], report["paces"], report["shares"]
    assert (captured.kept, captured.sent, captured.dropped, captured.corrupt) == (400, 400, 0, 0)
    assert captured.frames_per_s > 0 and pace > 0
    assert share == captured.frames_per_s / pace
    assert list(tmp_path.iterdir()) == []  # the session is removed after its round


def test_the_capture_benchmark_refuses_no_frames(tmp_path):
    """A round of no frames has no pace to measure (it crashed on an unbound name)."""
    from benchmarks.capture_speed import measure, pty_rate

    for call in (lambda: pty_rate(0), lambda: measure(0, 1, tmp_path)):
        with pytest.raises(ValueError, match="at least 1"):
            call()
