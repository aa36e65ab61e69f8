"""HDF5's shuffle and unshuffle, each in one pass.

A shuffled chunk of n items of k bytes stores byte j of every item as plane j: ``planes[j, i]``.
On a little-endian machine byte j of a k-byte word weighs 256**j, so item i is the word
``sum(planes[j, i] << 8 * j)``. Joining the planes, NumPy needs a cast, a shift and an or over the
chunk (three passes); these loops make each word in one: 0.23 against 0.50 s for the 14,400
chunks of an hour of 64x64 uint16 frames, here (``read_cells`` runs them on every decoding
thread, the GIL released). Splitting words into planes, NumPy's transposed copy moves a byte at a
time: 466 against 32 us for a capture's chunk of 128 64x64 uint16 frames (``ChunkWriter``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def join_2(planes, words):
    """``words[i]`` (uint16) from the planes of a 2-byte type: a (2, n) uint8 array."""
    for i in range(words.size):
        words[i] = planes[0, i] | (np.uint16(planes[1, i]) << 8)


@njit(cache=True, nogil=True)
def join_4(planes, words):
    """``words[i]`` (uint32) from the planes of a 4-byte type: a (4, n) uint8 array."""
    for i in range(words.size):
        words[i] = (np.uint32(planes[0, i]) | (np.uint32(planes[1, i]) << 8)
                    | (np.uint32(planes[2, i]) << 16) | (np.uint32(planes[3, i]) << 24))


JOINS = {2: (join_2, np.dtype("<u2")), 4: (join_4, np.dtype("<u4"))}  # bytes per item: kernel, word


@njit(cache=True, nogil=True)
def split_2(words, planes):
    """The planes (a (2, n) uint8 array) of ``words`` (uint16): HDF5's shuffle, in one pass."""
    for i in range(words.size):
        planes[0, i] = words[i] & 0xFF
        planes[1, i] = words[i] >> 8


@njit(cache=True, nogil=True)
def split_4(words, planes):
    """The planes (a (4, n) uint8 array) of ``words`` (uint32)."""
    for i in range(words.size):
        planes[0, i] = words[i] & 0xFF
        planes[1, i] = (words[i] >> 8) & 0xFF
        planes[2, i] = (words[i] >> 16) & 0xFF
        planes[3, i] = words[i] >> 24


@njit(cache=True, nogil=True)
def split_8(words, planes):
    """The planes (an (8, n) uint8 array) of ``words`` (uint64): the results' float64 series."""
    for i in range(words.size):
        for j in range(8):
            planes[j, i] = (words[i] >> np.uint64(8 * j)) & np.uint64(0xFF)


SPLITS = {2: (split_2, np.dtype("<u2")), 4: (split_4, np.dtype("<u4")), 8: (split_8, np.dtype("<u8"))}
