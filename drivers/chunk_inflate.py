"""Inflating a run of a session's chunks in one call that holds no GIL (issue 15).

Through the ``deflate`` package each chunk is a Python call that returns a new bytes object, and
each chunk took the GIL three times (around that call, to join its byte planes, to copy them
out), so a decoding thread waited for whatever else held it at each: the tracker, the keeping of
the loaded cells, the other decoding thread.

Here a Numba loop calls libdeflate's C API (``libdeflate_zlib_decompress``) for every chunk of a
run, the GIL released once for the run. The functions are those of the ``deflate`` package's own
extension module, which exports libdeflate's symbols; LLVM is given their addresses, and the loop
names them as external symbols, so its compiled code is cached as any other kernel's. Where the
module or a symbol is missing (another build of ``deflate``), ``available()`` is False and the
chunks are inflated one call at a time, as before. A small gain, but in every round: an hour of
64x64 gzip, ``pressure process`` alternated with the code before this in new processes, 8.10-8.53 s
against 8.28-9.11 s (user CPU 11.2-11.7 against 11.4-12.0 s), five rounds; its chunks alone,
read on two threads, 2.86-2.96 against 2.93-4.07 s, four rounds.

A chunk that libdeflate refuses (damaged, or not the size a chunk must have) stops the loop and
is named by its index: the caller decodes it again on the per-chunk path, which says how it is
damaged (zlib's message) or reads it if zlib accepts it.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

SYMBOLS = ("libdeflate_alloc_decompressor", "libdeflate_free_decompressor", "libdeflate_zlib_decompress")


def _bind() -> bool:
    """Tells LLVM where the ``deflate`` package's extension module has libdeflate's functions
    (``add_symbol``: for the kernels alone; the module's symbols are not made global, where they
    could stand in for another library's own libdeflate); whether every one was found."""
    try:
        import ctypes

        import llvmlite.binding as llvm
        from deflate import _deflate

        library = ctypes.CDLL(_deflate.__file__)
        for name in SYMBOLS:
            llvm.add_symbol(name, ctypes.cast(getattr(library, name), ctypes.c_void_p).value)
        return True
    except (ImportError, AttributeError, OSError, TypeError):
        return False


_BOUND = _bind()


def available() -> bool:
    """Whether runs of chunks can be inflated in one call (libdeflate's symbols found)."""
    return _BOUND


# The decompressor's pointer is held as an integer of a pointer's size (0: none could be made).
_alloc = types.ExternalFunction("libdeflate_alloc_decompressor", types.uintp())
_free = types.ExternalFunction("libdeflate_free_decompressor", types.void(types.uintp))
# (decompressor, in, in_nbytes, out, out_nbytes_avail, actual_out_nbytes): 0 on success, the
# Adler-32 at the stream's end checked against what it inflated to.
_zlib_decompress = types.ExternalFunction(
    "libdeflate_zlib_decompress",
    types.intc(types.uintp, types.voidptr, types.uintp, types.voidptr, types.uintp, types.voidptr))


@njit(cache=True, nogil=True)
def inflate_chunks(stored, starts, sizes, chunk_bytes, itemsize, shuffled, out):
    """Inflates chunk i from ``stored[starts[i]:starts[i] + sizes[i]]`` (its zlib stream, any
    checksum after it already left out of ``sizes``) into ``out[i * chunk_bytes:]``, each exactly
    ``chunk_bytes`` long; ``shuffled``: its ``itemsize`` byte planes joined into items on the way
    (HDF5's unshuffle). -1 when every chunk inflated, else the index of the first that did not;
    0 (none) when the arrays do not hold what they say: libdeflate is handed raw pointers, so
    nothing is read or written beyond them."""
    n = len(starts)
    if (len(sizes) != n or itemsize <= 0 or chunk_bytes <= 0 or chunk_bytes % itemsize
            or len(out) < n * chunk_bytes):
        return 0
    for i in range(n):
        if starts[i] < 0 or sizes[i] < 0 or starts[i] + sizes[i] > len(stored):
            return 0
    actual = np.zeros(1, np.uintp)
    planes = np.empty(chunk_bytes if shuffled else 0, np.uint8)
    items = chunk_bytes // itemsize
    decompressor = _alloc()
    if decompressor == 0:  # no memory for it: every chunk left to the per-chunk path
        return 0
    for i in range(n):
        target = out[i * chunk_bytes:(i + 1) * chunk_bytes]
        into = planes if shuffled else target
        status = _zlib_decompress(decompressor, stored[starts[i]:].ctypes.data, sizes[i],
                                  into.ctypes.data, chunk_bytes, actual.ctypes.data)
        if status != 0 or actual[0] != chunk_bytes:
            _free(decompressor)
            return i
        if shuffled:
            _join_planes(planes, items, itemsize, target)
    _free(decompressor)
    return -1


@njit(cache=True, nogil=True, inline="always")
def _join_planes(planes, items, itemsize, target):
    """Byte j of item k is ``planes[j * items + k]``; written as ``target[k * itemsize + j]``."""
    if itemsize == 2:  # the mats' counts: whole words at a time on a little-endian machine
        words = target.view(np.uint16)
        for k in range(items):
            words[k] = planes[k] | (np.uint16(planes[items + k]) << 8)
        return
    for k in range(items):
        for j in range(itemsize):
            target[k * itemsize + j] = planes[j * items + k]
