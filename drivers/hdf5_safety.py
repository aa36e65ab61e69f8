"""Opening HDF5 files that may be damaged or still marked open for writing, without hanging.

HDF5 trusts a file's metadata: a few zeroed bytes in the wrong place make it loop forever, and a
file whose SWMR writer was killed is refused by plain readers until its superblock's
open-for-writing mark is cleared (what ``h5clear -s`` does). This module reads just enough of the
file format (the superblock, object headers, global heaps) to clear that mark and to refuse, with
a one-line error naming the file, what HDF5 could not read in bounded time.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from drivers.base import DriverError


# -- the superblock's open-for-writing mark -----------------------------------------------------
SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _superblock(fd: int) -> tuple[int, bytes] | None:
    """(offset, first 48 bytes) of a version 2/3 superblock (the ones with status flags)."""
    offset = 0
    size = os.fstat(fd).st_size
    while offset + 48 <= size:
        head = os.pread(fd, 48, offset)
        if head[:8] == SIGNATURE:
            return (offset, head) if head[8] in (2, 3) and head[9] == 8 else None
        offset = 512 if offset == 0 else offset * 2
    return None


def status_flags(path: Path) -> int:
    """The superblock's file consistency flags (0 for a closed file or one written before SWMR)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        found = _superblock(fd)
        return found[1][11] if found else 0
    finally:
        os.close(fd)


def clear_status_flags(path: Path) -> bool:
    """What ``h5clear -s`` does: mark the file as not open for writing (the superblock's flags
    byte, and its checksum). True if a mark was cleared."""
    fd = os.open(path, os.O_RDWR)
    try:
        found = _superblock(fd)
        if found is None or not found[1][11]:
            return False
        offset, head = found
        block = bytearray(head)
        block[11] = 0
        block[44:48] = struct.pack("<I", lookup3(bytes(block[:44])))
        os.pwrite(fd, bytes(block[11:48]), offset + 11)
        return True
    finally:
        os.close(fd)


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``: HDF5's metadata checksum."""
    mask = 0xFFFFFFFF

    def rot(x: int, k: int) -> int:
        return ((x << k) | (x >> (32 - k))) & mask

    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & mask
    i = 0
    while length > 12:
        a = (a + int.from_bytes(data[i:i + 4], "little")) & mask
        b = (b + int.from_bytes(data[i + 4:i + 8], "little")) & mask
        c = (c + int.from_bytes(data[i + 8:i + 12], "little")) & mask
        a = (a - c) & mask; a ^= rot(c, 4); c = (c + b) & mask  # noqa: E702
        b = (b - a) & mask; b ^= rot(a, 6); a = (a + c) & mask  # noqa: E702
        c = (c - b) & mask; c ^= rot(b, 8); b = (b + a) & mask  # noqa: E702
        a = (a - c) & mask; a ^= rot(c, 16); c = (c + b) & mask  # noqa: E702
        b = (b - a) & mask; b ^= rot(a, 19); a = (a + c) & mask  # noqa: E702
        c = (c - b) & mask; c ^= rot(b, 4); b = (b + a) & mask  # noqa: E702
        length -= 12
        i += 12
    if length == 0:
        return c
    tail = data[i:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & mask
    b = (b + int.from_bytes(tail[4:8], "little")) & mask
    c = (c + int.from_bytes(tail[8:12], "little")) & mask
    c ^= b; c = (c - rot(b, 14)) & mask  # noqa: E702
    a ^= c; a = (a - rot(c, 11)) & mask  # noqa: E702
    b ^= a; b = (b - rot(a, 25)) & mask  # noqa: E702
    c ^= b; c = (c - rot(b, 16)) & mask  # noqa: E702
    a ^= c; a = (a - rot(c, 4)) & mask  # noqa: E702
    b ^= a; b = (b - rot(a, 14)) & mask  # noqa: E702
    c ^= b; c = (c - rot(b, 24)) & mask  # noqa: E702
    return c


# -- reading ------------------------------------------------------------------------------------
OPEN_FOR_WRITING = ("already open for write", "open for SWMR write")


def open_hdf5(path: Path):
    """An HDF5 file opened for reading, checked so that reading its metadata cannot hang.
    A file still marked open for writing (a capture killed in the microseconds the mark is set,
    or being written now) is opened in SWMR mode. Raises DriverError naming the file."""
    import h5py

    try:
        try:
            f = h5py.File(path, "r")
        except OSError as error:
            if not any(text in str(error) for text in OPEN_FOR_WRITING):
                raise
            f = h5py.File(path, "r", libver="latest", swmr=True)
    except (OSError, RuntimeError, ValueError) as error:
        raise DriverError(f"{path}: cannot read as HDF5 ({first_line(error)})") from None
    try:
        check_metadata(f, Path(path))
    except DriverError:
        f.close()
        raise
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        f.close()
        raise DriverError(f"{path}: cannot read as HDF5 ({first_line(error)})") from None
    except BaseException:
        f.close()
        raise
    return f


def first_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text


# -- metadata that HDF5 cannot read safely ------------------------------------------------------
UNDEFINED = 0xFFFFFFFFFFFFFFFF


def check_metadata(f, path: Path) -> None:
    """HDF5 spins forever reading a global heap collection whose objects were zeroed (an object
    of size 0 never advances its loop), and variable-length attributes (text, dimension lists)
    live in such heaps. Every object's attribute messages are read here from the file's bytes,
    and every heap collection their values point to is checked before HDF5 is let near it."""
    import h5py

    with open(path, "rb") as raw:
        size = os.fstat(raw.fileno()).st_size
        header = _Headers(raw, size)
        if header.base is None:
            return
        heaps: set[int] = set()
        objects = [f]
        f.visit_links(lambda name: objects.append(f.get(name)) if isinstance(
            f.get(name, getlink=True), h5py.HardLink) else None)
        for obj in objects[:10000]:
            if obj is None:
                continue
            try:
                address = h5py.h5o.get_info(obj.id).addr
            except (KeyError, RuntimeError, OSError, ValueError, AttributeError):
                continue
            heaps.update(header.vlen_heaps(address))
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "O" and obj.chunks is None:
                heaps.update(header.contiguous_vlen_heaps(obj))
        for address in sorted(heaps):
            problem = header.heap_problem(address)
            if problem:
                raise DriverError(f"{path}: damaged: {problem}; HDF5 would loop forever reading it")


class _Headers:
    """Just enough of the HDF5 file format to find variable-length values and check their heaps."""

    def __init__(self, raw, size: int):
        self.raw, self.size = raw, size
        self.base = None
        offset = 0
        while offset + 16 <= size:
            head = self._read(offset, 16)
            if head[:8] == SIGNATURE:
                version = head[8]
                self.offsets, self.lengths = (head[13], head[14]) if version < 2 else (head[9], head[10])
                if self.offsets in (4, 8) and self.lengths in (4, 8):
                    self.base = offset
                return
            offset = 512 if offset == 0 else offset * 2

    def _read(self, address: int, n: int) -> bytes:
        self.raw.seek(address)
        return self.raw.read(n)

    def _int(self, data: bytes, at: int, n: int) -> int:
        return int.from_bytes(data[at:at + n], "little")

    def _messages(self, address: int):
        """(type, body) of every message of the object header at ``address`` (v1 or v2)."""
        address += self.base
        first = self._read(address, 16)
        blocks = []
        if first[:4] == b"OHDR":
            flags = first[5]
            at = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
            width = 1 << (flags & 3)
            head = self._read(address, at + width)
            chunk = self._int(head, at, width)
            blocks.append((address + at + width, chunk, 2, flags))
        elif first[:1] == b"\x01":
            blocks.append((address + 16, self._int(first, 8, 4), 1, 0))
        else:
            return
        seen = 0
        while blocks and seen < 1000:
            start, length, version, flags = blocks.pop(0)
            seen += 1
            if length <= 0 or start + length > self.size or length > (16 << 20):
                continue
            data = self._read(start, length)
            at = 0
            if version == 2 and data[:4] == b"OCHK":
                at = 4
            end = length - 4 if version == 2 else length
            while at < end:
                if version == 1:
                    if at + 8 > end:
                        break
                    kind, body_size = self._int(data, at, 2), self._int(data, at + 2, 2)
                    at += 8
                else:
                    if at + 4 > end:
                        break
                    kind, body_size = data[at], self._int(data, at + 1, 2)
                    at += 4 + (2 if flags & 0x04 else 0)
                body = data[at: at + body_size]
                at += body_size
                if kind == 0x10 and len(body) >= self.offsets + self.lengths:
                    target = self._int(body, 0, self.offsets)
                    span = self._int(body, self.offsets, self.lengths)
                    if target != UNDEFINED:
                        blocks.append((target + self.base, span, version, flags))
                elif kind:
                    yield kind, body

    def vlen_heaps(self, address: int) -> set[int]:
        heaps = set()
        for kind, body in self._messages(address):
            if kind != 0x0C or len(body) < 8:
                continue
            version, flags = body[0], body[1]
            if flags & 0x03:  # shared datatype or dataspace: not followed here
                continue
            name_size, type_size, space_size = (self._int(body, at, 2) for at in (2, 4, 6))
            pad = (lambda n: (n + 7) & ~7) if version == 1 else (lambda n: n)
            at = 8 if version < 3 else 9
            at += pad(name_size)
            datatype = body[at: at + type_size]
            at += pad(type_size)
            dataspace = body[at: at + space_size]
            at += pad(space_size)
            if not datatype or datatype[0] & 0x0F != 9:
                continue
            count = self._elements(dataspace)
            heaps.update(self._heap_ids(body[at:], count))
        return heaps

    def contiguous_vlen_heaps(self, dataset) -> set[int]:
        offset = dataset.id.get_offset()
        if offset is None:
            return set()
        count = int(np.prod(dataset.shape)) if dataset.shape else 1
        element = 4 + self.offsets + 4
        return self._heap_ids(self._read(offset + self.base, min(count, 1 << 16) * element), count)

    def _elements(self, dataspace: bytes) -> int:
        if len(dataspace) < 4:
            return 0
        version, rank = dataspace[0], dataspace[1]
        if version >= 2:
            if dataspace[3] == 0:
                return 1
            if dataspace[3] == 2:
                return 0
            at = 4
        else:
            at = 8
        count = 1
        for i in range(rank):
            count *= self._int(dataspace, at + i * self.lengths, self.lengths)
        return count

    def _heap_ids(self, data: bytes, count: int) -> set[int]:
        element = 4 + self.offsets + 4
        heaps = set()
        for i in range(min(count, len(data) // element, 1 << 16)):
            at = i * element
            if self._int(data, at, 4) == 0:
                continue
            address = self._int(data, at + 4, self.offsets)
            if address not in (0, UNDEFINED, (1 << (8 * self.offsets)) - 1):
                heaps.add(address)
        return heaps

    def heap_problem(self, address: int) -> str | None:
        """What makes HDF5's reading of the global heap collection at ``address`` never end."""
        start = address + self.base
        head = self._read(start, 8 + self.lengths)
        if head[:4] != b"GCOL":
            return None  # HDF5 says so itself, and stops
        size = self._int(head, 8, self.lengths)
        if size < 8 + self.lengths or start + size > self.size:
            return f"the global heap at {address} claims {size} bytes"
        data = self._read(start, size)
        object_header = 8 + self.lengths
        at = 8 + self.lengths
        while at < size:
            if at + object_header > size:
                break
            index = self._int(data, at, 2)
            length = self._int(data, at + 8, self.lengths)
            need = object_header + ((length + 7) & ~7) if index > 0 else length
            if need == 0:
                return f"an object of size 0 in the global heap at {address} (byte {start + at})"
            if at + need > size:
                return f"an object beyond the end of the global heap at {address} (byte {start + at})"
            at += need
        return None
