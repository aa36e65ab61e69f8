"""Reading a chunked, compressed HDF5 dataset on every core (issue 15).

HDF5 undoes a chunk's filters (deflate, shuffle, fletcher32) on the thread that reads, one chunk
after another, so ``dataset[...]`` of a gzip session decodes on one core. Here a pool of threads
undoes the filters, a run of chunks at a time: libdeflate inflates a run and joins its shuffled
bytes in one call without the GIL (``chunk_inflate``), so the chunks decode in parallel. Chunks
that call cannot take (cut by the frames asked for, another pipeline, damage) are undone one at
a time: libdeflate releases the GIL while it inflates, and ``byte_planes`` while it joins. Each
run's stored bytes are read straight from the file on its thread when the chunks' places are
known (``ChunkIndex``: one ``os.pread`` for chunks stored one after another), or else fetched by
the calling thread (``read_direct_chunk``: h5py serialises every HDF5 call behind one lock). At
most a few runs per thread are fetched and not yet decoded at any moment.

What is undone here, in the pipeline's reverse order as HDF5 does (``H5Z_pipeline``): fletcher32
(the checksum's 4 bytes), deflate (libdeflate, through ``deflate``) and shuffle (the byte planes put back
together while copying into the result). A filter whose bit is set in a chunk's filter mask was
skipped when that chunk was written, and is skipped here too. Anything else (lzf or any other
filter, chunks that cut frames, chunks never written, a non-numeric type) is read by h5py as it
always was: ``dataset[start:stop]``.

Damage is refused as HDF5 refuses it, with one difference. A deflated chunk is checked as zlib checks it:
the stream must decode and end, and the Adler-32 at its end must match the bytes it inflated
to, so damage anywhere in the stored data is refused. Its fletcher32 (over the compressed bytes:
the same 32 bits of protection against the same damage) is stripped unchecked: checking it too
costs about 7 % of the inflating (40 us against 550 us for a 72 KB chunk of 25 64x64 frames,
here), and all it adds is refusing a chunk whose only damage is to the 4 checksum bytes, whose
data are then intact (h5py refuses that chunk; here it reads, correctly). A chunk that is not
deflated (``compression=None``, or its deflate skipped) has no other check, and its fletcher32
is verified, computed as HDF5 computes it (``fletcher32``).

A damaged chunk raises ``DamagedChunk``, an OSError as h5py raises for the same damage, so
callers that handle h5py's errors (``read_session``) handle these.
"""

from __future__ import annotations

import os
import sys
import weakref
import zlib
from collections import deque
from concurrent.futures import wait

import numpy as np
from deflate import DeflateError, zlib_decompress

from drivers.thread_pool import cores, shared_pool

FILTER_DEFLATE = 1
FILTER_SHUFFLE = 2
FILTER_FLETCHER32 = 3
KNOWN_FILTERS = {FILTER_DEFLATE: "deflate", FILTER_SHUFFLE: "shuffle", FILTER_FLETCHER32: "fletcher32"}
IN_FLIGHT_BYTES = 32 << 20  # chunks fetched and not yet copied out: about this much (two tasks a thread at least)
TASK_BYTES = 2 << 20  # chunks a decoding thread takes at once: 10 of 25 64x64 uint16 frames (a future each cost 20 us)
LITTLE_ENDIAN = sys.byteorder == "little"


def _inflate(data, size: int) -> bytes:
    """A zlib stream inflated by libdeflate: 2.6x as fast as zlib (0.21 against 0.53 ms a 64x64x25
    uint16 chunk here), the Adler-32 checked as zlib checks it, the GIL released."""
    try:
        return zlib_decompress(data, size)  # size: the most it may decode to
    except DeflateError:  # damaged, or longer than the chunk: zlib's error says which
        return zlib.decompress(data, bufsize=size)


class DamagedChunk(OSError):
    """A chunk's stored bytes do not decode (bad checksum, broken deflate stream, wrong size)."""


# -- fletcher32, as HDF5 computes it (H5_checksum_fletcher32) -----------------------------------
_BLOCK = 1 << 16  # words per block: block sums stay far below 2**63
_RAMP = np.arange(_BLOCK, dtype=np.int64)


def fletcher32(data) -> int:
    """HDF5's Fletcher-32 of ``data`` (bytes-like): big-endian 16-bit words (an odd last byte is
    the high byte of a last word), sum1 = the sum of the words and sum2 = the sum of the running
    sums, each folded to 16 bits with end-around carry (so a nonzero sum that is a multiple of
    65535 gives 0xffff, not 0); ``sum2 << 16 | sum1``. Computed as sums over blocks instead of
    word by word: sum2 = sum over i of (n - i) * word[i]."""
    view = memoryview(data).cast("B")
    length = len(view)
    words = np.frombuffer(view, dtype=">u2", count=length // 2)
    n = len(words) + (length & 1)
    total1 = 0
    total2 = 0
    for at in range(0, len(words), _BLOCK):
        block = words[at:at + _BLOCK].astype(np.int64)
        block_sum = int(block.sum())
        total1 += block_sum
        total2 += (n - at) * block_sum - int(np.dot(block, _RAMP[:len(block)]))
    if length & 1:
        last = view[length - 1] << 8
        total1 += last
        total2 += last  # the last word's weight is 1
    return _fold(total2) << 16 | _fold(total1)


def _fold(total: int) -> int:
    return 0 if total == 0 else (total - 1) % 65535 + 1


def _swapped_halves(value: int) -> int:
    """The checksum as HDF5 before 1.6.3 stored it on little-endian machines (each 16-bit half
    byte-swapped); HDF5 accepts either, and so do we."""
    b = value.to_bytes(4, "little")
    return int.from_bytes(bytes((b[1], b[0], b[3], b[2])), "little")


# -- the plan: what the dataset's filter pipeline asks for ---------------------------------------
class _Plan:
    """How to decode the chunks of one dataset; ``None`` from ``_plan`` when h5py must."""

    def __init__(self, dataset, filters: list[tuple[int, int, tuple]]):
        self.chunk_frames = dataset.chunks[0]
        self.frame_items = int(np.prod(dataset.shape[1:], dtype=np.int64))
        self.itemsize = dataset.dtype.itemsize
        self.chunk_bytes = self.chunk_frames * self.frame_items * self.itemsize
        self.rest = (0,) * (dataset.ndim - 1)
        # (index in the pipeline, filter id), in the order a read undoes them
        self.steps = [(index, code) for index, (code, _flags, _values) in reversed(list(enumerate(filters)))]
        codes = [code for _index, code in self.steps]
        # Runs of chunks inflate in one call (``chunk_inflate``) when the pipeline is deflate, with
        # a fletcher32 after it and a shuffle before it or not, and nothing else.
        self.runs_inflate = (codes in ([FILTER_DEFLATE], [FILTER_FLETCHER32, FILTER_DEFLATE],
                                       [FILTER_DEFLATE, FILTER_SHUFFLE],
                                       [FILTER_FLETCHER32, FILTER_DEFLATE, FILTER_SHUFFLE])
                             and LITTLE_ENDIAN)  # (the kernel joins the planes of 2-byte items as words)
        self.checksum_bytes = 4 if codes[:1] == [FILTER_FLETCHER32] else 0  # after each stored stream
        self.shuffled = FILTER_SHUFFLE in codes and self.itemsize > 1


def _plan(dataset) -> _Plan | None:
    try:
        dsid = dataset.id
        if not hasattr(dsid, "read_direct_chunk") or getattr(dataset, "is_virtual", False):
            return None
        chunks = dataset.chunks
        shape = dataset.shape
        dtype = dataset.dtype
    except (AttributeError, TypeError):
        return None
    if chunks is None or len(shape) == 0 or tuple(chunks[1:]) != tuple(shape[1:]):
        return None  # contiguous, or chunks that cut frames: h5py assembles those
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        return None
    plist = dsid.get_create_plist()
    filters = []
    for index in range(plist.get_nfilters()):
        code, flags, values, _name = plist.get_filter(index)
        if code not in KNOWN_FILTERS:
            return None  # lzf, szip, scale-offset, n-bit, plugins: h5py knows them
        if code == FILTER_SHUFFLE and values and values[0] != dtype.itemsize:
            return None
        filters.append((code, flags, tuple(values)))
    plan = _Plan(dataset, filters)
    if plan.chunk_bytes == 0:
        return None
    expected = -(-shape[0] // chunks[0])
    if dsid.get_num_chunks() < expected:
        return None  # chunks never written read as the fill value: h5py knows it
    return plan


# -- decoding one chunk (on a pool thread) --------------------------------------------------------
def _decode(plan: _Plan, first: int, mask: int, raw: bytes) -> tuple[np.ndarray, bool]:
    """The chunk's bytes, filters undone: ``(bytes, False)`` as one uint8 array, or
    ``(planes, True)`` when the last step is an unshuffle: an (itemsize, items) uint8 array of
    byte planes, put together while copying out (one pass over the bytes instead of two)."""
    data = memoryview(raw)
    steps = [code for index, code in plan.steps if not mask & (1 << index)]  # skipped when written
    for at, code in enumerate(steps):
        if code == FILTER_FLETCHER32:
            if len(data) < 4:
                raise _damaged(first, plan, f"{len(data)} bytes, too short for its fletcher32 checksum")
            stored = int.from_bytes(data[-4:], "little")
            data = data[:-4]
            if FILTER_DEFLATE in steps[at + 1:]:
                continue  # zlib checks the Adler-32 of what it inflates: the data are verified there
            computed = fletcher32(data)
            if stored != computed and stored != _swapped_halves(computed):
                raise _damaged(first, plan, "fletcher32 checksum mismatch")
        elif code == FILTER_DEFLATE:
            try:
                data = memoryview(_inflate(data, plan.chunk_bytes))
            except zlib.error as error:
                raise _damaged(first, plan, f"inflate failed: {error}") from None
        elif code == FILTER_SHUFFLE:
            if at == len(steps) - 1 and len(data) == plan.chunk_bytes and plan.itemsize > 1:
                return np.frombuffer(data, dtype=np.uint8).reshape(plan.itemsize, -1), True
            data = memoryview(_unshuffle(data, plan.itemsize))
    if len(data) != plan.chunk_bytes:
        raise _damaged(first, plan, f"decodes to {len(data)} bytes, not {plan.chunk_bytes}")
    return np.frombuffer(data, dtype=np.uint8), False


def _unshuffle(data, itemsize: int) -> bytes:
    """HDF5's unshuffle of a buffer of any size (H5Z__filter_shuffle): the whole items' byte
    planes put back together, bytes beyond the last whole item left as they are."""
    whole = len(data) // itemsize
    if itemsize <= 1 or whole <= 1:
        return bytes(data)
    planes = np.frombuffer(data, dtype=np.uint8, count=whole * itemsize).reshape(itemsize, whole)
    return np.ascontiguousarray(planes.T).tobytes() + bytes(data[whole * itemsize:])


def _damaged(first: int, plan: _Plan, what: str) -> DamagedChunk:
    last = first + plan.chunk_frames - 1
    return DamagedChunk(f"damaged chunk (frames {first}-{last}): {what}")


def _copy_out(plan: _Plan, decoded: np.ndarray, planes: bool, out_items: np.ndarray,
              source: slice, target: slice) -> None:
    """Copy items ``source`` of a decoded chunk to items ``target`` of the result (``out_items``:
    the result as an (items, itemsize) uint8 array), putting shuffled byte planes together."""
    k = plan.itemsize
    if not planes:
        out_items[target] = decoded.reshape(-1, k)[source]
        return
    from drivers import byte_planes  # Numba: imported by the first shuffled chunk, not by ``import drivers``

    parts = decoded[:, source]
    if LITTLE_ENDIAN and k in byte_planes.JOINS:  # whole words at a time: byte j of an item weighs 256**j
        join, word = byte_planes.JOINS[k]
        join(parts, out_items[target].view(word).reshape(-1))
    else:  # a byte plane at a time
        into = out_items[target]
        for j in range(k):
            into[:, j] = parts[j]


# -- where the chunks lie ---------------------------------------------------------------------------
class ChunkIndex:
    """Each chunk's place in its file, for reading the stored bytes straight from the file.

    Fetching a chunk through HDF5 (``read_direct_chunk``) costs 15 us with the GIL and h5py's lock
    held, one chunk at a time; a session's chunks lie one after another in its file, so a run of
    them is one ``os.pread`` on a decoding thread, the GIL released. The index is read once
    (``chunk_iter``: 1.3 us a chunk, where asking for one chunk's place costs 48 us). Made only
    for what the file's own descriptor reads as HDF5 does (``of``)."""

    def __init__(self, dataset, fd: int):
        per = dataset.chunks[0]
        n_chunks = -(-dataset.shape[0] // per)
        self.offset = np.full(n_chunks, -1, np.int64)
        self.size = np.zeros(n_chunks, np.int64)
        self.mask = np.zeros(n_chunks, np.int64)

        def note(info) -> None:
            chunk = info.chunk_offset[0] // per
            if chunk < n_chunks:  # a chunk beyond the extent this handle knows is never read
                self.offset[chunk], self.size[chunk], self.mask[chunk] = info.byte_offset, info.size, info.filter_mask

        dataset.id.chunk_iter(note)
        # A descriptor of its own: a read ahead still running when the file is closed reads
        # this file, never whatever the number was given to next.
        self.fd = os.dup(fd)
        weakref.finalize(self, os.close, self.fd)

    @classmethod
    def of(cls, dataset) -> "ChunkIndex | None":
        """The index of ``dataset``'s chunks, or None when its file is not one plain file that
        only reads (another HDF5 driver, a user block before the HDF5 addresses, open for
        writing, or read while a capture still writes it: SWMR) or h5py cannot list the chunks:
        then HDF5 fetches them."""
        try:
            file = dataset.file
            if (_plan(dataset) is None or file.driver != "sec2" or file.mode != "r" or file.userblock_size != 0
                    or file.swmr_mode or not hasattr(dataset.id, "chunk_iter")):
                return None
            fd = file.id.get_vfd_handle()
            if not isinstance(fd, int) or fd < 0:
                return None
            index = cls(dataset, fd)
        except (AttributeError, TypeError, ValueError, IndexError, OSError, RuntimeError):
            return None
        return index if (index.offset >= 0).all() else None

    def fetch(self, plan: "_Plan", chunks: range) -> list[tuple[int, memoryview]]:
        """``(filter mask, stored bytes)`` of each chunk, as ``read_direct_chunk`` gives them."""
        together = self.span(chunks) if len(chunks) > 1 else None
        if together is not None:
            span, at, size = together
            stored = [span[a:a + n] for a, n in zip(at.tolist(), size.tolist())]
        else:  # apart, or the run cut short: one at a time, naming the chunk cut
            stored = [self._read(plan, c, int(o), int(n))
                      for c, o, n in zip(chunks, self.offset[chunks.start:chunks.stop].tolist(),
                                         self.size[chunks.start:chunks.stop].tolist())]
        return list(zip(self.mask[chunks.start:chunks.stop].tolist(), stored))

    def span(self, chunks: range) -> tuple[memoryview, np.ndarray, np.ndarray] | None:
        """The stored bytes of ``chunks`` read at once, with where each chunk begins in them and
        its size; None when they do not lie one after another, or the file ends before them."""
        offset, size = self.offset[chunks.start:chunks.stop], self.size[chunks.start:chunks.stop]
        if len(chunks) != len(offset):
            raise ValueError(f"chunks {chunks.start}-{chunks.stop - 1} are not all in the index")
        if len(chunks) == 0 or not (offset[1:] == offset[:-1] + size[:-1]).all():
            return None
        span = memoryview(os.pread(self.fd, int(offset[-1] + size[-1] - offset[0]), int(offset[0])))
        at = offset - offset[0]
        return (span, at, size) if len(span) == at[-1] + size[-1] else None

    def _read(self, plan: "_Plan", chunk: int, at: int, size: int) -> memoryview:
        data = os.pread(self.fd, size, at)
        if len(data) != size:
            raise _damaged(chunk * plan.chunk_frames, plan, f"the file ends {size - len(data)} bytes short of it")
        return memoryview(data)


# -- a run of chunks in one call ------------------------------------------------------------------
def _runs_inflate() -> bool:
    """Whether libdeflate's C API can be called from Numba here (``chunk_inflate``; imported by
    the first read that could use it, not by ``import drivers``)."""
    from drivers import chunk_inflate

    return chunk_inflate.available()


def _inflate_run(plan: _Plan, index: ChunkIndex, chunks: range, out: np.ndarray) -> int:
    """Inflates ``chunks`` (each wholly read) into ``out`` (their bytes in the result) in one
    call without the GIL; how many of them, from the first on, it did: all of them where none
    was written with a filter skipped, they lie one after another in the file, and libdeflate
    takes each; else none, or those before the first it refused."""
    if (not chunks or plan.itemsize * plan.frame_items == 0 or not _runs_inflate()
            or (index.mask[chunks.start:chunks.stop] != 0).any()):
        return 0
    together = index.span(chunks)
    if together is None:
        return 0
    from drivers.chunk_inflate import inflate_chunks

    span, at, size = together
    if (size < plan.checksum_bytes).any():  # too short for its checksum: said by the per-chunk path
        return 0
    refused = inflate_chunks(np.frombuffer(span, np.uint8), at, size - plan.checksum_bytes, plan.chunk_bytes,
                             plan.itemsize, plan.shuffled, out)
    return len(chunks) if refused < 0 else int(refused)


# -- reading ----------------------------------------------------------------------------------------
def read_cells(dataset, start: int = 0, stop: int | None = None, threads: int | None = None,
               out: np.ndarray | None = None, index: ChunkIndex | None = None) -> np.ndarray:
    """``dataset[start:stop]`` (a session's frames, along the first axis) with the chunks'
    filters undone on ``threads`` threads (default: every core it may use; 1 decodes on the calling thread).
    The same array as h5py's, dtype included; damage raises ``DamagedChunk`` (an OSError, as
    h5py's errors; see the module's note on checksums). Datasets whose storage it does not
    decode itself are read by h5py. ``out``: an array of the result's shape and dtype to read
    into (memory used again instead of fresh pages, which cost a fault each on first touch).
    ``index``: the dataset's ``ChunkIndex``, for reading the chunks straight from the file (made
    here when the whole dataset is read; HDF5 fetches them otherwise)."""
    n = dataset.shape[0] if dataset.shape else 0
    start, stop, _ = slice(start, stop).indices(n)
    stop = max(stop, start)
    shape = (stop - start,) + tuple(dataset.shape[1:])
    if out is not None and (out.shape != shape or out.dtype != dataset.dtype or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous {dataset.dtype} array of shape {shape}, "
                         f"not {out.dtype} {out.shape}")
    plan = _plan(dataset)
    if plan is None or stop == start:
        if out is None:
            return dataset[start:stop]
        out[...] = dataset[start:stop]
        return out
    threads = max(1, int(threads if threads is not None else cores()))
    if out is None:
        out = np.empty(shape, dtype=dataset.dtype)
    if index is None and (start, stop) == (0, n):
        index = ChunkIndex.of(dataset)
    out_bytes = out.reshape(-1).view(np.uint8)
    out_items = out_bytes.reshape(-1, plan.itemsize)
    per = plan.chunk_frames
    items = plan.frame_items
    frame_bytes = items * plan.itemsize
    inflate_runs = index is not None and plan.runs_inflate and _runs_inflate()

    def work(chunks: range, stored: list[tuple[int, bytes]] | None) -> None:
        if stored is not None or not inflate_runs:
            each(chunks, stored if stored is not None else index.fetch(plan, chunks))
            return
        # the chunks wholly within start:stop in one call, the others (and any refused) one by one
        lo = min(max(chunks.start, -(-start // per)), chunks.stop)
        hi = max(lo, min(chunks.stop, stop // per))
        done = _inflate_run(plan, index, range(lo, hi),
                            out_bytes[(lo * per - start) * frame_bytes:(hi * per - start) * frame_bytes])
        for rest in (range(chunks.start, lo), range(lo + done, chunks.stop)):
            if rest:
                each(rest, index.fetch(plan, rest))

    def each(chunks: range, stored: list[tuple[int, bytes]]) -> None:
        for chunk, (mask, raw) in zip(chunks, stored, strict=True):
            first = chunk * per
            decoded, planes = _decode(plan, first, mask, raw)
            lo, hi = max(first, start), min(first + per, stop)
            _copy_out(plan, decoded, planes, out_items,
                      slice((lo - first) * items, (hi - first) * items),
                      slice((lo - start) * items, (hi - start) * items))

    def fetched(chunks: range) -> list[tuple[int, bytes]] | None:
        """The chunks' stored bytes from HDF5 (here: h5py holds one lock), or None: read by ``work``."""
        if index is not None:
            return None
        return [dataset.id.read_direct_chunk((chunk * per, *plan.rest)) for chunk in chunks]

    per_task = max(1, TASK_BYTES // plan.chunk_bytes)
    first_chunk, end_chunk = start // per, -(-stop // per)
    tasks = [range(c, min(c + per_task, end_chunk)) for c in range(first_chunk, end_chunk, per_task)]
    if threads == 1 or len(tasks) == 1:
        for chunks in tasks:
            work(chunks, fetched(chunks))
        return out
    window = max(2 * threads, IN_FLIGHT_BYTES // (per_task * plan.chunk_bytes))
    pool = shared_pool(threads)
    pending: deque = deque()
    try:
        for chunks in tasks:
            pending.append(pool.submit(work, chunks, fetched(chunks)))
            if len(pending) >= window:
                pending.popleft().result()
        while pending:
            pending.popleft().result()
    finally:  # on damage: nothing left running that writes into ``out``
        for future in pending:
            future.cancel()
        wait(pending)
    return out


__all__ = ["ChunkIndex", "DamagedChunk", "fletcher32", "read_cells"]
