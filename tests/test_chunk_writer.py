"""Chunks filtered here and stored as they are (``drivers.chunk_writer``): every HDF5 reader reads
them as it reads HDF5's own, checksums included, whatever the chunk shape, filters and blocks."""

from __future__ import annotations

import itertools

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.chunk_reader import read_cells
from drivers.chunk_writer import ChunkWriter

FILTERS = {  # h5py's create_dataset options, each a pipeline ChunkWriter must reproduce
    "deflate": {"compression": "gzip", "compression_opts": 4},
    "shuffle+deflate": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
    "shuffle+deflate+fletcher32": {"compression": "gzip", "compression_opts": 1, "shuffle": True, "fletcher32": True},
    "deflate+fletcher32": {"compression": "gzip", "compression_opts": 9, "fletcher32": True},
    "shuffle": {"shuffle": True},
    "fletcher32": {"fletcher32": True},
}


def values(rng, shape, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        data = rng.normal(0, 100, shape).astype(dtype)
        data.ravel()[:: 7] = np.nan  # per-frame results hold NaN where a foot is off the mat
        return data
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, dtype=dtype.newbyteorder("="), endpoint=True).astype(dtype)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shape=st.lists(st.integers(1, 9), min_size=0, max_size=2).flatmap(
        lambda rest: st.tuples(st.integers(1, 200), st.just(tuple(rest)))),
    chunk_rows=st.integers(1, 40),
    chunk_rest=st.integers(1, 4),
    dtype=st.sampled_from(["<f8", ">f4", "<u2", "<i4", "u1", ">i8"]),
    filters=st.sampled_from(list(FILTERS)),
    cuts=st.lists(st.integers(1, 199), max_size=4),
    threads=st.sampled_from([1, 2, 3]),
    seed=st.integers(0, 2**16),
)
def test_chunks_written_here_read_as_hdf5s_own(tmp_path, shape, chunk_rows, chunk_rest, dtype, filters, cuts,
                                               threads, seed):
    rows, rest = shape
    shape = (rows, *rest)
    chunks = (min(chunk_rows, rows), *(min(chunk_rest, size) for size in rest))
    data = values(np.random.default_rng(seed), shape, dtype)
    path = tmp_path / f"c{seed}.h5"
    with h5py.File(path, "w") as file:
        dataset = file.create_dataset("d", shape=shape, dtype=dtype, chunks=chunks, **FILTERS[filters])
        writer = ChunkWriter.for_dataset(dataset, threads=threads)
        assert writer is not None
        edges = [0, *sorted({cut for cut in cuts if cut < rows}), rows]  # blocks that cut chunks anywhere
        for first, stop in itertools.pairwise(edges):
            writer.store(first, data[first:stop])
    with h5py.File(path, "r") as file:  # HDF5 undoes the filters, fletcher32 checked
        stored = file["d"]
        assert stored.id.get_num_chunks() == np.prod([-(-size // step) for size, step in zip(shape, chunks)])
        read = stored[...]
        assert read.dtype == np.dtype(dtype) and read.tobytes() == data.astype(dtype).tobytes()
        if len(chunks) == 1 or chunks[1:] == shape[1:]:
            assert read_cells(stored).tobytes() == read.tobytes()


def test_every_row_written_is_in_the_file_after_each_store(tmp_path):
    """A capture's file holds every frame stored so far: the partly filled chunk is written too,
    and rewritten whole by the next store."""
    data = values(np.random.default_rng(1), (60, 4, 3), "<u2")
    with h5py.File(tmp_path / "s.h5", "w") as file:
        dataset = file.create_dataset("d", shape=(0, 4, 3), maxshape=(None, 4, 3), dtype="<u2", chunks=(25, 4, 3),
                                      **FILTERS["shuffle+deflate+fletcher32"])
        writer = ChunkWriter.for_dataset(dataset, threads=1)
        for first, stop in [(0, 7), (7, 30), (30, 31), (31, 60)]:
            dataset.resize(stop, axis=0)
            writer.store(first, data[first:stop])
            assert np.array_equal(dataset[...], data[:stop])  # HDF5 decodes the chunks as stored


def test_a_store_that_does_not_follow_the_last_is_refused(tmp_path):
    with h5py.File(tmp_path / "s.h5", "w") as file:
        dataset = file.create_dataset("d", shape=(50,), dtype="<f8", chunks=(10,), compression="gzip")
        writer = ChunkWriter.for_dataset(dataset)
        writer.store(0, np.arange(13.0))
        with pytest.raises(ValueError, match="rows from 17"):
            writer.store(17, np.arange(3.0))


@pytest.mark.parametrize("options", [
    {},  # contiguous
    {"chunks": (5,)},  # chunked, no filters: HDF5 writes as fast
    {"chunks": (5,), "compression": "lzf"},
    {"chunks": (5,), "scaleoffset": 0},
])
def test_other_storage_is_left_to_hdf5(tmp_path, options):
    with h5py.File(tmp_path / "s.h5", "w") as file:
        dataset = file.create_dataset("d", shape=(20,), dtype="<i4", **options)
        assert ChunkWriter.for_dataset(dataset) is None
