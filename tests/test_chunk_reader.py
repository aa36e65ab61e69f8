"""Chunks decoded on every core (issue 15): ``read_cells`` gives exactly what h5py gives."""

from __future__ import annotations

import io
import itertools
import os
import tempfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import drivers
from drivers import Frame, MatInfo, chunk_reader
from drivers.chunk_reader import DamagedChunk, fletcher32, read_cells
from drivers.session_file import COMPRESSION, SessionWriter, chunk_frames, read_session
from tests.conftest import FIXTURES

DTYPES = ["uint8", "uint16", "int16", "float32"]


def session(path, dtype="uint16", frames=77, compression="gzip", rows=6, cols=5, seed=0):
    """A session written by SessionWriter, with noisy values that do not compress to nothing."""
    rng = np.random.default_rng(seed)
    info = MatInfo(rows=rows, cols=cols, pitch_x_mm=5, pitch_y_mm=5, rate_hz=100.0, device="test", dtype=dtype)
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        cells = rng.normal(50, 20, (frames, rows, cols)).astype(dtype)
    else:
        top = min(np.iinfo(dtype).max, 3000)
        cells = rng.integers(max(np.iinfo(dtype).min, -3000), top, (frames, rows, cols)).astype(dtype)
        cells[:, : rows // 2] = 0  # unloaded cells, as on a real mat
    with SessionWriter(path, info, {"source_url": "test"}, compression=compression) as writer:
        for i in range(frames):
            writer.append(Frame(cells[i], i, i / 100.0, 0.0))
    return cells


def same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()  # bit for bit (NaN and -0.0 included)


# -- files as SessionWriter writes them -----------------------------------------------------------
@pytest.mark.parametrize("compression", list(COMPRESSION))
@pytest.mark.parametrize("dtype", DTYPES)
def test_session_files_read_as_h5py_reads_them(tmp_path, compression, dtype):
    path = tmp_path / "s.h5"
    cells = session(path, dtype, frames=2 * 25 + 13, compression=compression)  # a partial last chunk
    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        assert dataset.fletcher32 and dataset.chunks[0] == 25 and dataset.shape[0] % 25
        assert (chunk_reader._plan(dataset) is None) == (compression == "lzf")  # lzf: h5py decodes
        same(dataset[...], cells)
        for threads in (1, 2, 3):
            same(read_cells(dataset, threads=threads), cells)
        for start, stop in [(0, 1), (3, 24), (24, 26), (7, 63), (26, 50), (50, 63), (62, None), (-30, -2), (63, 63)]:
            same(read_cells(dataset, start, stop, threads=2), dataset[start:stop])


def test_read_session_reads_with_read_cells(tmp_path, monkeypatch):
    path = tmp_path / "s.h5"
    cells = session(path, frames=61)
    calls = []
    original = chunk_reader.read_cells
    monkeypatch.setattr(chunk_reader, "read_cells", lambda *a, **k: calls.append(1) or original(*a, **k))
    same(read_session(path, str(path)).cells, cells)
    assert calls == [1]


def test_old_files_without_fletcher32_read_the_same(tmp_path):
    """Sessions written before fletcher32 was added: gzip after shuffle, 128-frame chunks."""
    path = tmp_path / "old.h5"
    rng = np.random.default_rng(3)
    cells = rng.integers(0, 900, (300, 16, 12)).astype(np.uint16)
    with h5py.File(path, "w") as f:
        f.create_dataset("pressure", data=cells, chunks=(128, 16, 12), maxshape=(None, 16, 12),
                         compression="gzip", compression_opts=1, shuffle=True)
    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        assert not dataset.fletcher32
        for threads in (1, 2):
            same(read_cells(dataset, threads=threads), cells)
        same(read_cells(dataset, 100, 257), cells[100:257])


@pytest.mark.parametrize("name", ["standing.h5", "walking.h5"])
def test_real_fixtures(name):
    with h5py.File(FIXTURES / name, "r") as f:
        dataset = f["pressure"]
        expected = dataset[...]
        assert chunk_reader._plan(dataset) is not None
        same(read_cells(dataset), expected)
        same(read_cells(dataset, threads=1), expected)
        same(read_cells(dataset, 5, -5, threads=2), expected[5:-5])
    same(read_session(FIXTURES / name, "x").cells, expected)


def test_a_capture_reads_as_it_did(tmp_path):
    path = tmp_path / "capture.h5"
    from pressure.pipeline import capture

    capture("sim://standing?seed=2&speed=0&duration=0.8", path)
    same(read_session(path, str(path)).cells, drivers.load("sim://standing?seed=2&speed=0&duration=0.8").cells)


# -- any shape, chunking, pipeline and slice -------------------------------------------------------
PIPELINES = {
    "gzip+shuffle+fletcher32": dict(compression="gzip", shuffle=True, fletcher32=True),
    "gzip+shuffle": dict(compression="gzip", shuffle=True),
    "gzip": dict(compression="gzip"),
    "gzip+fletcher32": dict(compression="gzip", fletcher32=True),
    "shuffle+fletcher32": dict(shuffle=True, fletcher32=True),
    "fletcher32": dict(fletcher32=True),
    "shuffle": dict(shuffle=True),
    "none": dict(),
    "lzf+shuffle": dict(compression="lzf", shuffle=True),
}


def in_memory_file():
    return h5py.File(io.BytesIO(), "w")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.integers(1, 90), frame_shape=st.sampled_from([(), (1,), (3,), (4, 5), (2, 3, 2)]),
    chunk=st.integers(1, 40), dtype=st.sampled_from(["u1", "u2", "i2", "<f4", ">u2", "<i4", "<f8", "?"]),
    pipeline=st.sampled_from(sorted(PIPELINES)), level=st.integers(0, 9), threads=st.integers(1, 4),
    start=st.integers(-100, 100), stop=st.one_of(st.none(), st.integers(-100, 100)), seed=st.integers(0, 2**16),
)
def test_any_shape_pipeline_and_slice(frames, frame_shape, chunk, dtype, pipeline, level, threads, start, stop, seed):
    rng = np.random.default_rng(seed)
    shape = (frames, *frame_shape)
    data = (rng.integers(0, 200, shape) * rng.integers(0, 2, shape)).astype(dtype)
    options = dict(PIPELINES[pipeline])
    if options.get("compression") == "gzip":
        options["compression_opts"] = level
    with in_memory_file() as f:
        dataset = f.create_dataset("pressure", data=data, chunks=(chunk, *frame_shape),
                                   maxshape=(None, *frame_shape), **options)
        assert (chunk_reader._plan(dataset) is None) == pipeline.startswith("lzf")
        expected = dataset[slice(start, stop)]
        same(read_cells(dataset, start, stop, threads=threads), expected)
        same(read_cells(dataset, threads=threads), data)
        into = np.full_like(expected, 1)  # whatever was there is overwritten
        assert read_cells(dataset, start, stop, threads=threads, out=into) is into
        same(into, expected)


def test_out_must_match_what_is_read():
    with in_memory_file() as f:
        dataset = f.create_dataset("pressure", data=np.zeros((6, 2, 2), np.uint16), chunks=(2, 2, 2),
                                   compression="gzip")
        for wrong in (np.empty((5, 2, 2), np.uint16), np.empty((6, 2, 2), np.int16),
                      np.empty((6, 2, 4), np.uint16)[:, :, ::2]):
            with pytest.raises(ValueError, match="out must be"):
                read_cells(dataset, out=wrong)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.integers(1, 120), frame_shape=st.sampled_from([(3,), (4, 5), (6, 6)]), chunk=st.integers(1, 30),
    dtype=st.sampled_from(["u2", "<f4", ">u2", "i1"]), pipeline=st.sampled_from(sorted(set(PIPELINES) - {"lzf+shuffle"})),
    order=st.sampled_from(["in time", "scattered"]), task_chunks=st.integers(1, 5), threads=st.integers(1, 3),
    start=st.integers(-130, 130), stop=st.one_of(st.none(), st.integers(-130, 130)), seed=st.integers(0, 2**16),
    runs=st.booleans(),
)
def test_chunks_read_straight_from_the_file(frames, frame_shape, chunk, dtype, pipeline, order, task_chunks,
                                            threads, start, stop, seed, runs):
    """The ChunkIndex path: runs of chunks stored one after another read with one pread, chunks
    stored apart (written out of time order) one by one; the same bytes as h5py's. ``runs``: the
    chunks of a run inflated in one call (``chunk_inflate``) where the pipeline allows, or each
    on its own as where libdeflate's symbols are not found."""
    rng = np.random.default_rng(seed)
    shape = (frames, *frame_shape)
    data = (rng.integers(0, 120, shape) * rng.integers(0, 2, shape)).astype(dtype)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.h5"
        with h5py.File(path, "w") as f:
            dataset = f.create_dataset("pressure", shape=shape, dtype=dtype, chunks=(chunk, *frame_shape),
                                       maxshape=(None, *frame_shape), **PIPELINES[pipeline])
            firsts = list(range(0, frames, chunk))
            if order == "scattered":
                rng.shuffle(firsts)
            for first in firsts:
                dataset[first:first + chunk] = data[first:first + chunk]
        with h5py.File(path, "r") as f:
            dataset = f["pressure"]
            index = chunk_reader.ChunkIndex.of(dataset)
            assert index is not None
            item_bytes = int(np.prod(frame_shape)) * np.dtype(dtype).itemsize * chunk
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(chunk_reader, "TASK_BYTES", task_chunks * item_bytes)
                if not runs:
                    patch.setattr(chunk_reader, "_runs_inflate", lambda: False)
                same(read_cells(dataset, start, stop, threads=threads, index=index), data[slice(start, stop)])
                same(read_cells(dataset, threads=threads), data)  # the index made here


def counting_chunks_decoded_alone(monkeypatch) -> list[int]:
    """The first frame of every chunk decoded on the per-chunk path, in order."""
    alone = []
    decode = chunk_reader._decode
    monkeypatch.setattr(chunk_reader, "_decode", lambda plan, first, *rest: (alone.append(first),
                                                                             decode(plan, first, *rest))[1])
    return alone


@pytest.mark.parametrize("pipeline", [name for name in PIPELINES if name.startswith("gzip")])
@pytest.mark.parametrize("dtype", ["u1", "<u2", ">u2", "<f4", "<f8"])
def test_runs_of_chunks_inflate_in_one_call_without_the_gil(tmp_path, monkeypatch, pipeline, dtype):
    """Deflated chunks, shuffled or not, with fletcher32 or not, any item size, are inflated a run
    at a time by libdeflate called from Numba, the GIL released: only the chunks cut by the
    frames asked for go through the per-chunk path."""
    from drivers import chunk_inflate

    assert chunk_inflate.available(), "the deflate package exports libdeflate's symbols"
    rng = np.random.default_rng(5)
    data = (rng.integers(0, 120, (103, 6, 7)) * rng.integers(0, 2, (103, 6, 7))).astype(dtype)
    per = 10
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("pressure", data=data, chunks=(per, 6, 7), **PIPELINES[pipeline])
    alone = counting_chunks_decoded_alone(monkeypatch)
    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        index = chunk_reader.ChunkIndex.of(dataset)
        same(read_cells(dataset, threads=2), data)
        assert alone == [100]  # the last chunk, cut by the end of the data
        alone.clear()
        same(read_cells(dataset, 5, 2 * per + 3, index=index), data[5:2 * per + 3])
        assert alone == [0, 2 * per]  # the first and the last chunk are cut; the one between is whole


def test_a_damaged_chunk_stops_the_run_and_is_said_by_the_per_chunk_path(tmp_path, monkeypatch):
    path = tmp_path / "s.h5"
    session(path, frames=300, rows=8, cols=8)  # fletcher32, deflate, shuffle, as captured
    alone = counting_chunks_decoded_alone(monkeypatch)
    with h5py.File(path, "r") as f:
        per = f["pressure"].chunks[0]
    flip(path, 1, 0.5)  # the second chunk: the first is inflated by the run, which stops there
    with h5py.File(path, "r") as f:
        with pytest.raises(DamagedChunk, match=f"frames {per}-{2 * per - 1}"):
            read_cells(f["pressure"], threads=1)
    assert alone == [per]


def test_the_inflating_kernel_refuses_arrays_that_do_not_hold_what_they_say():
    """libdeflate is handed raw pointers: runs whose sizes point past the stored bytes, or whose
    result does not fit, are left whole to the per-chunk path (0 chunks done)."""
    from drivers.chunk_inflate import inflate_chunks

    chunk = np.arange(64, dtype=np.uint8)
    stored = np.frombuffer(zlib.compress(chunk.tobytes()), np.uint8)
    out = np.zeros(128, np.uint8)
    ok = np.array([0], np.int64), np.array([len(stored)], np.int64)
    assert inflate_chunks(stored, *ok, 64, 1, False, out) == -1 and (out[:64] == chunk).all()
    assert inflate_chunks(stored, np.array([0, 0], np.int64), np.array([len(stored), len(stored)], np.int64),
                          64, 1, False, out) == -1  # two chunks from the same bytes: fine
    for starts, sizes, chunk_bytes, itemsize, room in (
            ([0], [len(stored) + 1], 64, 1, 128),  # past the stored bytes
            ([-1], [len(stored)], 64, 1, 128), ([0], [-1], 64, 1, 128),
            ([0], [len(stored)], 64, 1, 63),  # no room for the chunk
            ([0], [len(stored)], 64, 0, 128), ([0], [len(stored)], 63, 2, 128), ([0], [len(stored)], 0, 1, 128)):
        assert inflate_chunks(stored, np.array(starts, np.int64), np.array(sizes, np.int64), chunk_bytes, itemsize,
                              itemsize > 1, np.zeros(room, np.uint8)) == 0
    assert inflate_chunks(stored, np.array([0], np.int64), np.array([len(stored) - 1], np.int64), 64, 1, False,
                          out) == 0  # cut short: refused by libdeflate


def test_no_chunk_index_where_the_file_is_not_read_as_hdf5_reads_it(tmp_path):
    data = np.arange(60, dtype=np.uint16).reshape(6, 2, 5)
    plain, with_userblock = tmp_path / "plain.h5", tmp_path / "userblock.h5"
    for path, options in ((plain, {}), (with_userblock, {"userblock_size": 512})):
        with h5py.File(path, "w", **options) as f:
            f.create_dataset("p", data=data, chunks=(2, 2, 5), compression="gzip")
    with h5py.File(plain, "r") as f:
        assert chunk_reader.ChunkIndex.of(f["p"]) is not None
    with h5py.File(plain, "r+") as f:  # open for writing: chunks may not be on disk yet
        assert chunk_reader.ChunkIndex.of(f["p"]) is None
    with h5py.File(with_userblock, "r") as f:
        assert chunk_reader.ChunkIndex.of(f["p"]) is None
        same(read_cells(f["p"]), data)
    with in_memory_file() as f:
        assert chunk_reader.ChunkIndex.of(f.create_dataset("p", data=data, chunks=(2, 2, 5))) is None


def test_a_file_cut_short_is_a_damaged_chunk_naming_the_chunk_cut(tmp_path, monkeypatch):
    path = tmp_path / "cut.h5"
    session(path, frames=200, rows=8, cols=8)
    monkeypatch.setattr(chunk_reader, "TASK_BYTES", 1 << 30)  # every chunk in one run: one pread
    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        index = chunk_reader.ChunkIndex.of(dataset)
        last = int(index.offset.argmax())
        os.truncate(path, int(index.offset[last] + index.size[last]) - 10)  # cut while it is open
        first = last * dataset.chunks[0]
        with pytest.raises(DamagedChunk, match=f"frames {first}-.*10 bytes short"):
            read_cells(dataset, index=index)


def test_no_chunk_index_while_a_capture_still_writes_the_file(tmp_path):
    """Read with SWMR beside a writer, the last chunk may still move: HDF5 fetches the chunks."""
    path = tmp_path / "live.h5"
    with h5py.File(path, "w", libver="latest") as writer:
        dataset = writer.create_dataset("p", data=np.ones((10, 2, 2), np.uint16), chunks=(5, 2, 2),
                                        maxshape=(None, 2, 2), compression="gzip")
        writer.swmr_mode = True
        with h5py.File(path, "r", swmr=True) as reader:
            assert chunk_reader.ChunkIndex.of(reader["p"]) is None
            dataset.resize((15, 2, 2))
            dataset[10:] = 2
            dataset.flush()
            reader["p"].refresh()
            same(read_cells(reader["p"]), np.concatenate([np.ones((10, 2, 2), np.uint16),
                                                          np.full((5, 2, 2), 2, np.uint16)]))


def test_the_index_reads_its_own_descriptor(tmp_path):
    """Closing the file closes HDF5's descriptor, whose number the next open file may take; the
    index keeps reading the session through a descriptor of its own until it is dropped."""
    path = tmp_path / "s.h5"
    cells = session(path, frames=100, rows=4, cols=4)
    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        index = chunk_reader.ChunkIndex.of(dataset)
        plan = chunk_reader._plan(dataset)
        assert index.fd != f.id.get_vfd_handle()
    with open(tmp_path / "other", "wb") as other:  # may take the number HDF5's descriptor had
        other.write(b"x" * 10_000)
        stored = index.fetch(plan, range(0, 2))
    with h5py.File(path, "r") as f:
        assert [bytes(raw) for _, raw in stored] == [bytes(f["pressure"].id.read_direct_chunk((c * plan.chunk_frames, 0, 0))[1])
                                                     for c in range(2)]
    fd = index.fd
    del index
    with pytest.raises(OSError):
        os.fstat(fd)  # closed with the index
    assert cells.shape == (100, 4, 4)


def test_what_it_does_not_decode_is_read_by_h5py():
    data = np.arange(4 * 6 * 5, dtype=np.uint16).reshape(4, 6, 5)
    with in_memory_file() as f:
        cases = {
            "contiguous": f.create_dataset("a", data=data),
            "chunks that cut frames": f.create_dataset("b", data=data, chunks=(2, 3, 5), compression="gzip"),
            "lzf": f.create_dataset("c", data=data, chunks=(2, 6, 5), compression="lzf"),
            "scale-offset": f.create_dataset("d", data=data, chunks=(2, 6, 5), scaleoffset=0),
            "never written": f.create_dataset("e", shape=data.shape, dtype=data.dtype, chunks=(2, 6, 5),
                                              compression="gzip", fillvalue=7),
            "text": f.create_dataset("g", data=np.array([b"ab", b"cd", b"ef"]), chunks=(2,), compression="gzip"),
        }
        for name, dataset in cases.items():
            assert chunk_reader._plan(dataset) is None, name
            same(read_cells(dataset, 1, 3), dataset[1:3])
        same(read_cells(cases["never written"]), np.full(data.shape, 7, np.uint16))


def test_a_filter_skipped_when_written_is_skipped_when_read(tmp_path):
    """A chunk's filter mask: bit i set means filter i was not applied to that chunk (HDF5 skips
    an optional filter that fails). Here the deflate of one chunk was skipped, not its shuffle,
    and of another both."""
    path = tmp_path / "masked.h5"
    data = np.random.default_rng(1).integers(0, 60000, (7, 4, 3)).astype(np.uint16)
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("p", data=data, chunks=(2, 4, 3), compression="gzip", shuffle=True)
        assert [dataset.id.get_create_plist().get_filter(i)[0] for i in range(2)] == [2, 1]  # shuffle, deflate
        shuffled = data[2:4].reshape(-1).view(np.uint8).reshape(-1, 2).T.tobytes()
        dataset.id.write_direct_chunk((2, 0, 0), shuffled, filter_mask=0b10)
        dataset.id.write_direct_chunk((4, 0, 0), data[4:6].tobytes(), filter_mask=0b11)
    with h5py.File(path, "r") as f:
        dataset = f["p"]
        assert [dataset.id.get_chunk_info(i).filter_mask for i in range(4)] == [0, 0b10, 0b11, 0]
        same(dataset[...], data)
        for threads in (1, 2):
            same(read_cells(dataset, threads=threads), data)
        same(read_cells(dataset, 3, 5), data[3:5])


# -- fletcher32 as HDF5 computes it ----------------------------------------------------------------
def hdf5_fletcher32(data: bytes) -> int:
    """H5_checksum_fletcher32 (H5checksum.c), line by line."""
    length = len(data) // 2
    sum1 = sum2 = 0
    at = 0
    while length:
        block = min(length, 360)
        length -= block
        for _ in range(block):
            sum1 += (data[at] << 8) | data[at + 1]
            at += 2
            sum2 += sum1
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    if len(data) % 2:
        sum1 += data[at] << 8
        sum2 += sum1
        sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
        sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    sum1 = (sum1 & 0xFFFF) + (sum1 >> 16)
    sum2 = (sum2 & 0xFFFF) + (sum2 >> 16)
    return (sum2 << 16) | sum1


@given(st.binary(max_size=3000))
def test_fletcher32_is_hdf5s(data):
    assert fletcher32(data) == hdf5_fletcher32(data)


def test_fletcher32_edges():
    for data in [b"", b"\x00", b"\xff", b"\xff\xff" * 1000, b"\xff" * 1001, bytes(5000), b"\x00\x01" * 65535,
                 bytes(range(256)) * 700, b"\xfe" + b"\xff" * 200_001]:
        assert fletcher32(data) == hdf5_fletcher32(data), len(data)


def test_fletcher32_matches_what_hdf5_stored(tmp_path):
    path = tmp_path / "s.h5"
    session(path, frames=260, rows=16, cols=16, compression=None)  # 2 x 65536 words and more per chunk
    with h5py.File(path, "r") as f:
        dsid = f["pressure"].id
        for index in range(dsid.get_num_chunks()):
            _mask, raw = dsid.read_direct_chunk(dsid.get_chunk_info(index).chunk_offset)
            assert fletcher32(raw[:-4]) == int.from_bytes(raw[-4:], "little")


# -- damage --------------------------------------------------------------------------------------------
def flip(path, chunk: int, where: float) -> None:
    """Flip one byte of a stored chunk (``where``: a fraction of the chunk, or an offset from its end)."""
    with h5py.File(path, "r") as f:
        info = f["pressure"].id.get_chunk_info(chunk)
    at = info.byte_offset + (int(where * info.size) if isinstance(where, float) else info.size + where)
    data = bytearray(path.read_bytes())
    data[at] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compression,fletcher,where", [
    ("gzip", True, 0.5), ("gzip", True, 0.01), ("gzip", True, -5),  # the deflate stream, its Adler-32
    ("gzip", False, 0.5), ("gzip", False, 0.02), ("gzip", False, -1),  # the same, without fletcher32
    (None, True, 0.3), (None, True, -2),  # the cells, their checksum
])
def test_a_damaged_chunk_is_one_line_naming_the_file(tmp_path, compression, fletcher, where):
    path = tmp_path / "damaged.h5"
    rng = np.random.default_rng(7)
    cells = rng.integers(0, 4000, (200, 8, 8)).astype(np.uint16)
    if fletcher:
        session_cells = session(path, frames=200, rows=8, cols=8, compression=compression)
        cells = session_cells
    else:
        info = MatInfo(rows=8, cols=8, pitch_x_mm=5, pitch_y_mm=5, rate_hz=100.0, device="t", dtype="uint16")
        session(path, frames=1, rows=8, cols=8)  # the attributes a session has
        with h5py.File(path, "r+") as f:
            del f["pressure"]
            f.create_dataset("pressure", data=cells, chunks=(chunk_frames(info), 8, 8), compression="gzip",
                             compression_opts=1, shuffle=True)
            for name in ("time", "frame"):
                del f[name]
                f[name] = np.arange(200) / (100.0 if name == "time" else 1)
    flip(path, 3, where)
    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        with pytest.raises(OSError):
            dataset[...]  # h5py refuses it too
        for threads in (1, 2):
            with pytest.raises(DamagedChunk, match="damaged chunk"):
                read_cells(dataset, threads=threads)
        same(read_cells(dataset, 0, 3 * dataset.chunks[0]), cells[: 3 * dataset.chunks[0]])  # the rest is fine
    with pytest.raises(drivers.DriverError) as error:
        read_session(path, str(path))
    message = str(error.value)
    assert message.startswith(f"{path}: ") and "\n" not in message and "damaged chunk" in message, message


def test_damage_to_only_the_checksum_of_a_deflated_chunk_reads_the_intact_data(tmp_path):
    """The one difference from h5py: a deflated chunk's data are verified by zlib's Adler-32, so its
    fletcher32 is not checked; when only those 4 bytes are damaged, the data read are the right ones."""
    path = tmp_path / "checksum.h5"
    cells = session(path, frames=200, rows=8, cols=8)
    flip(path, 3, -2)
    with h5py.File(path, "r") as f:
        with pytest.raises(OSError):
            f["pressure"][...]
        same(read_cells(f["pressure"], threads=2), cells)


def test_errors_of_zlib_are_oserrors():
    plan = type("Plan", (), {"steps": [(0, 1)], "chunk_bytes": 8, "chunk_frames": 2, "itemsize": 1})()
    with pytest.raises(DamagedChunk) as error:
        chunk_reader._decode(plan, 4, 0, b"not a zlib stream")
    assert isinstance(error.value, OSError) and "frames 4-5" in str(error.value)
    with pytest.raises(DamagedChunk, match="decodes to 9 bytes"):
        chunk_reader._decode(plan, 0, 0, zlib.compress(b"123456789"))


# -- bounded memory ------------------------------------------------------------------------------------
class CountingDataset:
    """A dataset whose chunk fetches are counted."""

    def __init__(self, dataset):
        self._dataset = dataset
        self.fetched = 0
        outer = self

        class Id:
            def __getattr__(self, name):
                return getattr(dataset.id, name)

            def read_direct_chunk(self, offsets):
                outer.fetched += 1
                outer.on_fetch()
                return dataset.id.read_direct_chunk(offsets)

        self.id = Id()
        self.on_fetch = lambda: None

    def __getattr__(self, name):
        return getattr(self._dataset, name)

    def __getitem__(self, key):
        return self._dataset[key]


def test_chunks_in_flight_are_bounded(monkeypatch):
    data = np.random.default_rng(2).integers(0, 1000, (3000, 4, 4)).astype(np.uint16)
    copied = []
    original = chunk_reader._copy_out
    monkeypatch.setattr(chunk_reader, "_copy_out", lambda *a: (original(*a), copied.append(1)))
    chunk_bytes = 5 * 4 * 4 * 2
    monkeypatch.setattr(chunk_reader, "TASK_BYTES", 3 * chunk_bytes)  # runs of 3 chunks
    monkeypatch.setattr(chunk_reader, "IN_FLIGHT_BYTES", 12 * chunk_bytes)
    with in_memory_file() as f:
        dataset = CountingDataset(f.create_dataset("p", data=data, chunks=(5, 4, 4), compression="gzip",
                                                   shuffle=True, fletcher32=True))
        in_flight = []
        dataset.on_fetch = lambda: in_flight.append(dataset.fetched - len(copied))
        same(read_cells(dataset, threads=2), data)
    assert dataset.fetched == 600 and len(copied) == 600
    assert max(in_flight) <= 12  # IN_FLIGHT_BYTES


def test_threads_default_to_every_core(monkeypatch):
    seen = []
    shared = chunk_reader.shared_pool

    def pool(threads):
        seen.append(threads)
        return shared(threads)

    monkeypatch.setattr(chunk_reader, "shared_pool", pool)
    monkeypatch.setattr(chunk_reader, "cores", lambda: 3)
    monkeypatch.setattr(chunk_reader, "TASK_BYTES", 1)  # a chunk a task: the pool is used
    data = np.arange(40 * 9, dtype=np.int16).reshape(40, 3, 3)
    with in_memory_file() as f:
        dataset = f.create_dataset("p", data=data, chunks=(4, 3, 3), compression="gzip", shuffle=True)
        same(read_cells(dataset), data)
    assert seen == [3]


def test_the_threads_are_started_once_and_a_forked_child_starts_its_own():
    """A short session's read started a pool of threads of its own, which cost more than its
    decoding; the pool is now the process's. A child forked (as capture forks its reader) has
    none of its parent's threads, so it must not wait on its parent's pool."""
    import multiprocessing

    from drivers.thread_pool import shared_pool

    assert shared_pool(2) is shared_pool(2) and shared_pool(3) is not shared_pool(2)
    shared_pool(2).submit(int).result()  # the parent's threads are running
    child = multiprocessing.get_context("fork").Process(target=_decode_in_a_pool)
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0


def _decode_in_a_pool() -> None:
    from drivers.thread_pool import shared_pool

    if shared_pool(2).submit(lambda: 7).result(timeout=10) != 7:
        raise SystemExit(1)


def test_many_slices_of_one_file(tmp_path):
    path = tmp_path / "s.h5"
    session(path, "int16", frames=101, compression="gzip", rows=3, cols=7)
    with h5py.File(path, "r") as f:
        dataset = f["pressure"]
        everything = dataset[...]
        for start, stop in itertools.combinations(range(0, 102, 7), 2):
            same(read_cells(dataset, start, stop, threads=2), everything[start:stop])


@settings(max_examples=60, deadline=None)
@given(itemsize=st.sampled_from([2, 4]), items=st.integers(0, 300), seed=st.integers(0, 2**16),
       step=st.integers(1, 3))
def test_byte_planes_join_as_numpy_transposes_them(itemsize, items, seed, step):
    """The one-pass kernel against NumPy's transpose of the planes, viewed as little-endian
    words; planes taken with a stride, as a chunk's part is."""
    from drivers.byte_planes import JOINS

    planes = np.random.default_rng(seed).integers(0, 256, (itemsize, items * step), dtype=np.uint8)[:, ::step]
    join, word = JOINS[itemsize]
    words = np.full(items, 7, word)
    join(planes, words)
    np.testing.assert_array_equal(words, np.ascontiguousarray(planes.T).view(word).reshape(-1))


@settings(max_examples=60, deadline=None)
@given(itemsize=st.sampled_from([2, 4, 8]), items=st.integers(0, 300), seed=st.integers(0, 2**16))
def test_byte_planes_split_as_numpy_transposes_them(itemsize, items, seed):
    """The shuffle the chunk writer applies against NumPy's transposed copy of the bytes."""
    from drivers.byte_planes import SPLITS

    data = np.random.default_rng(seed).integers(0, 256, items * itemsize, dtype=np.uint8)
    split, word = SPLITS[itemsize]
    planes = np.full((itemsize, items), 7, np.uint8)
    split(data.view(word), planes)
    np.testing.assert_array_equal(planes, np.ascontiguousarray(data.reshape(-1, itemsize).T))
