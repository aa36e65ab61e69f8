"""Writing a chunked, deflated HDF5 dataset with its chunks filtered here (issue 15).

HDF5 runs a dataset's filters on the thread that writes, one chunk after another, with zlib:
writing an hour's per-frame results (110 MB of float64 at gzip level 4) took 1.6-2.2 s of a
15 s ``pressure process``, and deflating was half of what a fast capture cost. Here each chunk
is filtered as HDF5's own filters would (shuffle: the byte planes; deflate: a zlib stream;
fletcher32: HDF5's checksum appended little-endian), in the order of the dataset's pipeline,
deflated by ISA-L (``isal``: 4-5x zlib at its level 1-3, the same zlib format, within a few per
cent of zlib's size), on a pool of threads when there are many, and stored as it is
(``write_direct_chunk``). Every HDF5 reader reads these chunks as it reads any other: the
filters recorded in the file are the ones applied (the deflate level recorded is the dataset's,
which readers never need; ISA-L deflates at its own level 1 for zlib's 1 and at its level 2 for
zlib's 2-9: its level 3 took 2.1-2.4x as long and was no smaller, an hour's per-frame results 52.2
MB against 52.1 MB, the benchmark's frames 56.7 MB against 56.3). A dataset with any other filter (lzf, Blosc,
scale-offset, ...) is left to HDF5 (``for_dataset`` returns None).

Rows are written along the first axis a block at a time; the chunk the last block left partly
filled is kept and rewritten whole with the next block's first rows (as HDF5 does from its chunk
cache), so the file holds every row written so far after each ``store``. Chunk space beyond the
dataset's extent (the last rows, the edges of other axes) holds zeros, which no reader sees.
"""

from __future__ import annotations

import itertools

import numpy as np
from isal import isal_zlib

from drivers.chunk_reader import (
    FILTER_DEFLATE,
    FILTER_FLETCHER32,
    FILTER_SHUFFLE,
    LITTLE_ENDIAN,
    fletcher32,
)
from drivers.thread_pool import cores, shared_pool

FILTERS = (FILTER_SHUFFLE, FILTER_DEFLATE, FILTER_FLETCHER32)  # in the order HDF5 applies them
PARALLEL_FROM = 4  # chunks in one store: fewer are filtered on the calling thread (handing them over costs more)


class ChunkWriter:
    """Writes a chunked dataset's rows (first axis), its chunks filtered here; see the module."""

    def __init__(self, dataset, pipeline: tuple[int, ...], level: int, threads: int | None = None):
        self.dataset = dataset
        self.pipeline = pipeline
        self.level = level
        self.chunks = tuple(dataset.chunks)
        self.dtype = dataset.dtype  # the file's type, byte order included: chunks hold its bytes
        self.threads = max(1, threads if threads is not None else cores())
        self._open = np.empty((0, *dataset.shape[1:]), dataset.dtype)  # rows of the partly filled chunk

    @classmethod
    def for_dataset(cls, dataset, threads: int | None = None) -> ChunkWriter | None:
        """A writer for a chunked dataset of numbers whose filters are shuffle, deflate and
        fletcher32 (any of them, in HDF5's order); None when HDF5 must do the work."""
        if dataset.chunks is None or dataset.dtype.kind not in "biuf" or dataset.dtype.fields is not None:
            return None
        plist = dataset.id.get_create_plist()
        filters = [plist.get_filter(index) for index in range(plist.get_nfilters())]
        pipeline = tuple(code for code, *_ in filters)
        if not pipeline or any(code not in FILTERS for code in pipeline) or list(pipeline) != sorted(pipeline, key=FILTERS.index):
            return None  # another filter, or these in an order h5py does not make
        level = next((int(values[0]) if values else 6 for code, _flags, values, _name in filters
                      if code == FILTER_DEFLATE), 0)
        return cls(dataset, pipeline, level, threads)

    def store(self, first: int, rows: np.ndarray) -> None:
        """Rows ``first`` onwards (the dataset already holds their extent): every chunk they
        touch, written whole. ``first`` is where the last store ended, or a chunk's start."""
        per = self.chunks[0]
        start = first // per * per
        if start < first:
            if len(self._open) != first - start:
                raise ValueError(f"{self.dataset.name}: rows from {first}, but the open chunk holds "
                                 f"{len(self._open)} rows from {start}")
            rows = np.concatenate([self._open, rows])
        boxes = [(start + offset, *corner) for offset in range(0, len(rows), per)
                 for corner in itertools.product(*(range(0, size, step)
                                                   for size, step in zip(rows.shape[1:], self.chunks[1:])))]

        def encode(box: tuple[int, ...]) -> bytes:
            lo = box[0] - start
            part = rows[(slice(lo, lo + per),) + tuple(slice(at, at + step) for at, step in zip(box[1:], self.chunks[1:]))]
            return self.encode(part)

        if len(boxes) < PARALLEL_FROM or self.threads == 1:
            for box in boxes:
                self.dataset.id.write_direct_chunk(box, encode(box), 0)
        else:  # a few chunks a thread in flight at a time, not a whole variable's
            pool, window = shared_pool(self.threads), 4 * self.threads
            for at in range(0, len(boxes), window):
                some = boxes[at:at + window]
                for box, data in zip(some, pool.map(encode, some)):
                    self.dataset.id.write_direct_chunk(box, data, 0)
        whole = len(rows) // per * per
        self._open = rows[whole:].copy()

    def encode(self, part: np.ndarray) -> bytes:
        """One chunk's stored bytes: ``part`` (at most a chunk) padded with zeros to the chunk's
        shape, then filtered."""
        if part.shape == self.chunks:
            chunk = np.ascontiguousarray(part, self.dtype)
        else:
            chunk = np.zeros(self.chunks, self.dtype)
            chunk[tuple(slice(0, size) for size in part.shape)] = part
        data = chunk.view(np.uint8).reshape(-1)
        for code in self.pipeline:
            if code == FILTER_SHUFFLE and self.dtype.itemsize > 1:
                data = _shuffled(data, self.dtype.itemsize)
            elif code == FILTER_DEFLATE:
                data = deflate(data, self.level)
            elif code == FILTER_FLETCHER32:
                data = bytes(data) + fletcher32(data).to_bytes(4, "little")
        return bytes(data)


def load_kernels(itemsizes: tuple[int, ...] = (2, 4, 8)) -> None:
    """Import Numba and load the shuffle kernels (compile them, on a first run) now, before frames
    flow: loaded when a capture's first chunk was full, they stalled its writing process for a
    second, the reader's ring (32 MiB: 4,000 frames of 64x64 uint16) filled and frames were
    dropped (227 and 43 of 30,000 at 9,400-9,500 frames/s). Capture calls it before it opens the
    port; elsewhere the first chunk shuffled loads them."""
    for itemsize in itemsizes:
        _shuffled(np.zeros(itemsize, np.uint8), itemsize)


def _shuffled(data: np.ndarray, itemsize: int) -> np.ndarray:
    """HDF5's shuffle of a chunk's bytes (uint8, whole items): byte j of every item in plane j."""
    from drivers import byte_planes  # Numba: imported by the first chunk shuffled, not by ``import drivers``

    if LITTLE_ENDIAN and itemsize in byte_planes.SPLITS:
        split, word = byte_planes.SPLITS[itemsize]
        planes = np.empty((itemsize, len(data) // itemsize), np.uint8)
        split(data.view(word), planes)
        return planes.reshape(-1)
    return np.ascontiguousarray(data.reshape(-1, itemsize).T).reshape(-1)


ISAL_LEVEL_FOR_ZLIB = (0, 1) + (2,) * 8  # zlib's levels 0-9 (see the module's note)


def deflate(data, level: int) -> bytes:
    """A zlib stream of ``data`` by ISA-L at the level that stands for zlib's ``level``."""
    return isal_zlib.compress(data, ISAL_LEVEL_FOR_ZLIB[max(0, min(level, 9))])


__all__ = ["ChunkWriter", "deflate"]
