"""A session analysed from its file is decoded once: its first pass keeps the loaded cells for the
passes after it (pressure/kept_frames.py), and the results are those of the whole session in
memory, kept or not (dropped past its budget, on a full disk, or with faulty cells to repair)."""

from __future__ import annotations

import errno
import os

from pathlib import Path

import numpy as np
import pytest

import drivers
import drivers.session_frames as session_frames
import pressure.kept_frames as kept_frames
from pressure.analysis import analyse
from pressure.kept_frames import KeptFrames
from pressure.reading import LocalReader, Preparation
from tests.conftest import FIXTURES, shared_file
from tests.test_streaming import assert_same_results, blocks_of


def decoded_frames(monkeypatch) -> list[int]:
    """Counts every frame decoded from a session file (one number, in a list)."""
    count = [0]
    read = session_frames.SessionFrames._read

    def counting(self, start, stop, out=None):
        count[0] += stop - start
        return read(self, start, stop, out)

    monkeypatch.setattr(session_frames.SessionFrames, "_read", counting)
    return count


@pytest.mark.parametrize("name", ["standing.h5", "walking.h5"])
def test_a_session_from_its_file_is_decoded_once(name, tmp_path, monkeypatch):
    """Standing takes two passes and walking three (the steps are measured to tell them from
    standing); each is decoded once, in blocks that cut its contacts anywhere."""
    source = str(FIXTURES / name)
    whole, _ = analyse(drivers.load(source))
    recording = drivers.load(source, stream_above_bytes=0)
    assert isinstance(recording.cells, session_frames.SessionFrames)
    blocks_of(monkeypatch, 97, recording)
    decoded = decoded_frames(monkeypatch)
    streamed, _ = analyse(recording, scratch_folder=tmp_path)
    assert decoded[0] == len(recording.cells)
    assert_same_results(whole, streamed)
    assert list(tmp_path.iterdir()) == []  # the kept cells' file has no name: nothing is left


@pytest.mark.parametrize("how", ["over its budget", "disk full", "no room at all", "the disk filling meanwhile"])
def test_kept_cells_given_up_the_session_is_decoded_again_with_the_same_results(how, tmp_path, monkeypatch):
    source = str(FIXTURES / "walking.h5")
    whole, _ = analyse(drivers.load(source))
    recording = drivers.load(source, stream_above_bytes=0)
    blocks_of(monkeypatch, 50, recording)
    if how == "over its budget":  # foreseen from the first blocks: a tenth of what this walk needs
        monkeypatch.setattr(KeptFrames, "default_budget", staticmethod(lambda folder, direct: 10_000))
    elif how == "no room at all":
        monkeypatch.setattr(KeptFrames, "default_budget", staticmethod(lambda folder, direct: 0))
    elif how == "the disk filling meanwhile":  # another program writing to it: asked before each block
        real, asked = os.fstatvfs, [0]

        def filling(fd):
            asked[0] += 1
            disk = real(fd)
            return type("Disk", (), {"f_bavail": disk.f_bavail if asked[0] < 3 else 0, "f_frsize": disk.f_frsize})

        monkeypatch.setattr(kept_frames.os, "fstatvfs", filling)
    else:
        write, writes = KeptFrames._write, [0]

        def failing(self, record, size, at):
            writes[0] += 1
            if writes[0] == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
            return write(self, record, size, at)

        monkeypatch.setattr(KeptFrames, "_write", failing)
    decoded = decoded_frames(monkeypatch)
    given_up = []
    drop = KeptFrames.drop
    monkeypatch.setattr(KeptFrames, "drop", lambda self: (given_up.append(self.complete), drop(self)))
    streamed, _ = analyse(recording, scratch_folder=tmp_path)
    assert given_up and not given_up[0]  # dropped before it was complete
    assert decoded[0] > 2 * len(recording.cells)  # the later passes decode it (the steps' frames, then all)
    assert_same_results(whole, streamed)
    assert list(tmp_path.iterdir()) == []


def test_faulty_cells_to_repair_are_read_from_the_frames_themselves(tmp_path):
    """Repairs read the faulty cell's neighbours, loaded or not: the kept cells cannot stand for
    the frames then."""
    recording = drivers.load(str(FIXTURES / "standing.h5"), stream_above_bytes=0)
    reader = LocalReader(recording.cells, tmp_path)
    reader.scan(lambda block: block, 20.0, recording.info.rate_hz, track=True)
    assert reader.kept is not None and reader.kept.complete
    plain = Preparation(lambda block: block)
    repairing = Preparation(lambda block: block, repair=lambda block: block)
    assert reader._source(plain)[0] is reader.kept
    assert reader._source(repairing)[0] is recording.cells
    assert reader._source(lambda first, block: block)[0] is recording.cells  # not known to repair nothing
    reader.close()
    assert reader.kept is None


def test_kept_frames_read_back_any_span_as_the_frames_thresholded(tmp_path):
    rng = np.random.default_rng(2)
    frames = rng.integers(0, 100, (1003, 7, 9)).astype(np.uint16)
    kept = KeptFrames(frames.shape, 50.5, tmp_path, budget_bytes=1 << 30)
    for first in range(0, len(frames), 100):
        kept.add(first, frames[first:first + 100])
    kept.finish()
    assert kept.complete and 0 < kept.kept_bytes
    want = np.where(frames > 50, frames, 0)
    for start, stop in ((0, 1003), (150, 777), (999, 1003), (100, 200), (5, 6)):
        got = [(first, block.copy()) for first, block in session_frames.frame_blocks(kept, start, stop)]
        assert got[0][0] == start
        np.testing.assert_array_equal(np.concatenate([block for _, block in got]), want[start:stop])
    kept.close()
    with pytest.raises(RuntimeError):
        next(kept.blocks())


def test_blocks_out_of_order_or_of_another_type_are_not_kept(tmp_path):
    frames = np.arange(2 * 4 * 4, dtype=np.uint16).reshape(2, 4, 4)
    skipped = KeptFrames((4, 4, 4), 3.0, tmp_path, budget_bytes=1 << 20)
    skipped.add(2, frames)  # frames 0-1 never added
    assert skipped.dropped
    mixed = KeptFrames((4, 4, 4), 3.0, tmp_path, budget_bytes=1 << 20)
    mixed.add(0, frames)
    mixed.add(2, frames.astype(np.float32))
    mixed.finish()
    assert not mixed.complete
    short = KeptFrames((4, 4, 4), 3.0, tmp_path, budget_bytes=1 << 20)
    short.add(0, frames)
    short.finish()  # half the session: of no use
    assert not short.complete


def test_the_budget_is_the_disks_room_to_spare_and_through_the_cache_half_the_memory(tmp_path, monkeypatch):
    """Straight to the disk (O_DIRECT) the kept cells take no memory: only the disk's room limits
    them, its last quarter and last GiB spared (before, half the memory dropped a day's 21 GB
    after 5 % of it, and the passes after the first decoded the whole day again)."""
    gib = 1 << 30
    usage = type("Usage", (), {"free": 40 * gib})
    monkeypatch.setattr(kept_frames.shutil, "disk_usage", lambda folder: usage)
    monkeypatch.setattr(kept_frames, "available_memory", lambda: 24 * gib)
    assert KeptFrames.default_budget(tmp_path, direct=True) == 30 * gib
    assert KeptFrames.default_budget(tmp_path, direct=False) == 12 * gib
    usage.free = 2 * gib  # a nearly full disk: never its last GiB
    assert KeptFrames.default_budget(tmp_path, direct=True) == gib
    usage.free = gib // 2
    assert KeptFrames.default_budget(tmp_path, direct=True) == 0
    monkeypatch.setattr(kept_frames, "available_memory", lambda: None)  # memory unknown: only O_DIRECT keeps
    usage.free = 40 * gib
    assert KeptFrames.default_budget(tmp_path, direct=False) == 0
    assert KeptFrames.default_budget(tmp_path, direct=True) == 30 * gib


def test_no_budget_no_scratch_file(tmp_path, monkeypatch):
    budgets, closed = [], []
    monkeypatch.setattr(KeptFrames, "default_budget",
                        staticmethod(lambda folder, direct: budgets.append(direct) or 0))
    opened = []
    real_scratch, real_close = kept_frames._scratch_file, os.close
    monkeypatch.setattr(kept_frames, "_scratch_file", lambda folder: opened.append(real_scratch(folder)) or opened[-1])
    monkeypatch.setattr(kept_frames.os, "close", lambda fd: closed.append(fd) or real_close(fd))
    kept = KeptFrames((10, 4, 4), 3.0, tmp_path)
    assert kept.dropped and kept._fd is None
    assert budgets == [opened[0][1]]  # the budget knows whether the file opened is O_DIRECT
    assert closed == [opened[0][0]]  # the descriptor opened to learn it is closed again
    assert KeptFrames((10, 4, 4), 3.0, tmp_path, budget_bytes=0).dropped and len(opened) == 1  # not even opened


def test_a_file_system_in_memory_is_never_o_direct(tmp_path, monkeypatch):
    """tmpfs takes O_DIRECT since Linux 6.6, but its pages are memory all the same: the kept
    cells then go through the cache, and half the memory available limits them (review: a day's
    21 GB would have filled /tmp where it is tmpfs, as on Fedora, Arch and Debian 13)."""
    assert kept_frames.file_system_type(str(tmp_path)) not in (None, "")
    shm = Path("/dev/shm")
    if shm.is_dir() and kept_frames.file_system_type(str(shm)) == "tmpfs" and os.access(shm, os.W_OK):
        fd, direct = kept_frames._scratch_file(shm)
        os.close(fd)
        assert not direct
    monkeypatch.setattr(kept_frames, "file_system_type", lambda folder: "tmpfs")
    fd, direct = kept_frames._scratch_file(tmp_path)
    os.close(fd)
    assert not direct
    assert kept_frames._unescaped(r"/mnt/two\040words\134and") == "/mnt/two words\\and"


def test_without_o_direct_the_file_is_an_ordinary_nameless_one(tmp_path, monkeypatch):
    """Systems and file systems without O_DIRECT (macOS; tmpfs before Linux 6.6) keep the cells
    through the cache."""
    monkeypatch.delattr(kept_frames.os, "O_DIRECT", raising=False)
    frames = np.random.default_rng(3).integers(0, 100, (40, 5, 5)).astype(np.uint16)
    kept = KeptFrames(frames.shape, 50, tmp_path, budget_bytes=1 << 20)
    kept.add(0, frames[:25])
    kept.add(25, frames[25:])
    kept.finish()
    assert kept.complete and list(tmp_path.iterdir()) == []
    got = np.concatenate([block.copy() for _, block in kept.blocks()])
    np.testing.assert_array_equal(got, np.where(frames > 50, frames, 0))
    kept.close()


def test_many_spans_of_one_pass_read_each_kept_block_once(tmp_path, monkeypatch):
    """A pass reads each contact's frames apart; a block restored for one span serves the next
    spans in it (review: every span read and restored its whole block again, 945 MB read back
    from a 23 MB file of 200 separated contacts)."""
    frames = np.random.default_rng(4).integers(0, 100, (1000, 6, 6)).astype(np.uint16)
    kept = KeptFrames(frames.shape, 50, tmp_path, budget_bytes=1 << 30)
    for first in range(0, 1000, 250):
        kept.add(first, frames[first:first + 250])
    kept.finish()
    read = []
    real = kept_frames.os.preadv
    monkeypatch.setattr(kept_frames.os, "preadv", lambda fd, buffers, at: read.append(at) or real(fd, buffers, at))
    want = np.where(frames > 50, frames, 0)
    for start in range(0, 1000, 20):  # fifty contacts of ten frames, ten frames apart
        got = np.concatenate([block for _, block in session_frames.frame_blocks(kept, start, start + 10)])
        np.testing.assert_array_equal(got, want[start:start + 10])
    assert sorted(read) == sorted(set(read)) and len(read) == 4  # each of the four blocks once
    kept.close()


@pytest.mark.parametrize("failing_read", [3, 8])
def test_kept_cells_that_cannot_be_read_back_give_way_to_the_frames(failing_read, tmp_path, monkeypatch):
    """A read of the kept cells fails in a later pass (a disk error): that pass is read again from
    the frames themselves, with the same results (each pass reads the five blocks: the third read
    fails in the steps' pass, the eighth in the measuring pass, two blocks measured)."""
    source = str(FIXTURES / "walking.h5")
    whole, _ = analyse(drivers.load(source))
    recording = drivers.load(source, stream_above_bytes=0)
    blocks_of(monkeypatch, 50, recording)
    reads = [0]
    real = KeptFrames._restored

    def failing(self, block):
        reads[0] += 1
        if reads[0] == failing_read:
            raise OSError(5, "Input/output error")
        return real(self, block)

    monkeypatch.setattr(KeptFrames, "_restored", failing)
    decoded = decoded_frames(monkeypatch)
    streamed, _ = analyse(recording, scratch_folder=tmp_path)
    assert reads[0] >= failing_read and decoded[0] > len(recording.cells)
    assert_same_results(whole, streamed)


@pytest.mark.parametrize("name", ["pressuRe_extdata/emed_test.lst", "pressuRe_extdata/pliance_test.asc",
                                  "tekscan_fscan/FrasP01L.asf", "xsensor_insole/xsensor_data.csv"])
def test_real_recordings_captured_into_a_session_are_decoded_once(name, tmp_path, monkeypatch):
    """Real prints (an emed and a pliance plate, F-Scan and XSENSOR insoles, NaN outside the
    insole) recorded through the capture path: the session from its file, its loaded cells kept,
    gives the results of the same session read whole."""
    from pressure.pipeline import capture

    path = tmp_path / "session.h5"
    assert capture(str(shared_file(name)), path).stopped_by == "end"
    whole, _ = analyse(drivers.load(str(path)))
    recording = drivers.load(str(path), stream_above_bytes=0)
    blocks_of(monkeypatch, 13, recording)
    decoded = decoded_frames(monkeypatch)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    streamed, analysis = analyse(recording, scratch_folder=scratch)
    assert decoded[0] == len(recording.cells)  # the later passes read the kept cells
    assert_same_results(whole, streamed)
    assert len(analysis.contacts) > 0 and list(scratch.iterdir()) == []
