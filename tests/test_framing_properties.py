"""Properties of every serial framing, over random frames, damage and splits.

For each parser: (a) the same bytes give the same frames and counters whether fed whole, byte by
byte or in random pieces; (b) an undamaged stream comes back exactly with zero counters; (c) with
garbage and truncations between frames, every intact frame not adjacent to damage comes back,
nothing is emitted that was not sent, and a loss is always counted; (d) megabytes of garbage keep
the buffer under the parser's bound and never raise.

Where a framing cannot detect a kind of damage at all (see the module docstring of
drivers/framing.py: a marker pair inside payloads for ``trailer``, garbage that is itself a valid
frame, a number merged across a cut for ``lines``), the damaged case excludes it explicitly.
"""

from __future__ import annotations

import random
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from drivers.framing import (SYNC, TRAILER_MARKER, LinesParser, PollParser, encode_binary, encode_lines,
                             encode_poll, encode_rle, encode_trailer, make_parser)

PROPERTY = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])
STREAM_FRAMINGS = ["binary", "trailer", "rle", "lines"]
DIGITS = b"0123456789"


# -- frames ---------------------------------------------------------------------------------------
def make_frame(kind: str, rows: int, cols: int, dtype, high: int, seed: int, special: bytes = b"") -> np.ndarray:
    """A frame of the given kind: random, all zero, zero runs of 254/255/256/509 cells, constant,
    or a payload holding ``special`` (a marker or sync) at a random place or at its very end."""
    rng = np.random.default_rng(seed)
    cells = rows * cols
    flat = rng.integers(0, high + 1, size=cells).astype(np.int64)
    if kind == "zeros":
        flat[:] = 0
    elif kind == "constant":
        flat[:] = rng.integers(0, high + 1)
    elif kind.startswith("run"):
        run = int(kind[3:])
        flat[:] = rng.integers(1, high + 1, size=cells)
        start = int(rng.integers(0, max(1, cells - run + 1)))
        flat[start: start + run] = 0
    elif kind == "sparse":
        flat[rng.random(cells) < 0.8] = 0
    frame = flat.reshape(rows, cols).astype(dtype)
    if kind in ("special", "special_end") and special:
        raw = bytearray(frame.astype(frame.dtype.newbyteorder("<")).tobytes())
        if kind == "special_end":  # the payload ends with the special bytes, all but the last
            piece = special[:-1] or special
            at = len(raw) - len(piece)
        else:
            piece = special
            at = int(rng.integers(0, max(1, len(raw) - len(piece) + 1)))
        if at >= 0 and len(piece) <= len(raw):
            raw[at: at + len(piece)] = piece
        frame = np.frombuffer(bytes(raw), dtype=frame.dtype.newbyteorder("<")).astype(dtype).reshape(rows, cols)
    return frame


KINDS = st.sampled_from(["random", "random", "zeros", "constant", "sparse", "special", "special_end",
                         "run254", "run255", "run256", "run509"])


@st.composite
def framing_setups(draw, framing: str):
    """rows, cols, cell type, parser options and how to encode one frame."""
    if framing == "rle" and draw(st.booleans()):
        rows, cols = draw(st.sampled_from([(16, 16), (1, 300), (16, 17), (32, 16)]))
    elif framing in ("binary", "trailer") and draw(st.integers(0, 5)) == 0:
        rows, cols = 16, 16
    else:
        rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    options: dict = {}
    if framing == "rle":
        cell, high = "uint8", 254
    elif framing == "lines":
        cell, high = "uint16", 1023
        options = {"order": draw(st.sampled_from(["row", "col"])), "active": draw(st.sampled_from(["high", "low"])),
                   "per_row": draw(st.booleans())}
    else:
        cell = draw(st.sampled_from(["uint8", "uint16"]))
        high = 255 if cell == "uint8" else 65535
    return rows, cols, cell, high, options


def encoder(framing: str, options: dict):
    if framing == "binary":
        return lambda cells, i: encode_binary(cells, i, i * 1000)
    if framing == "trailer":
        return lambda cells, i: encode_trailer(cells)
    if framing == "rle":
        return lambda cells, i: encode_rle(cells)
    if framing == "poll":
        return lambda cells, i: encode_poll(cells)
    return lambda cells, i: encode_lines(cells, per_row=options["per_row"], order=options["order"],
                                         active=options["active"])


def parser_for(framing: str, rows: int, cols: int, cell: str, options: dict):
    return make_parser(framing, rows, cols, cell, order=options.get("order", "row"),
                       active=options.get("active", "high"))


SPECIAL = {"binary": SYNC, "trailer": TRAILER_MARKER, "rle": b"", "lines": b"", "poll": b""}


# -- feeding ----------------------------------------------------------------------------------------
def summary(frames, parser):
    return ([(f.cells.tobytes(), f.cells.shape, str(f.cells.dtype), f.counter, f.device_time_s, f.trouble_before)
             for f in frames], parser.corrupt, parser.resyncs)


def feed_three_ways(make, data: bytes, cuts: list[int]):
    """Whole, byte by byte, and at ``cuts``: the three must agree (property a)."""
    whole = make()
    results = [summary(whole.feed(data), whole)]
    one = make()
    frames = []
    for i in range(len(data)):
        frames += one.feed(data[i: i + 1])
    results.append(summary(frames, one))
    pieces = make()
    frames = []
    edges = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    for a, b in zip(edges, edges[1:]):
        frames += pieces.feed(data[a:b])
    results.append(summary(frames, pieces))
    assert results[0] == results[1], "whole and byte-by-byte feeding differ"
    assert results[0] == results[2], "whole and piecewise feeding differ"
    for parser in (whole, one, pieces):
        assert len(parser.buffer) <= parser.buffer_limit
    return results[0], whole


def is_subsequence(needles, haystack) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


# -- oracles: damage a framing cannot detect at all ------------------------------------------------
def rle_reference_decode(chunk: bytes, cells: int):
    values, i = [], 0
    while i < len(chunk):
        if chunk[i] == 0:
            if i + 1 >= len(chunk) or chunk[i + 1] == 0:
                return None
            values += [0] * chunk[i + 1]
            i += 2
        else:
            values.append(chunk[i])
            i += 1
    return values if len(values) == cells else None


def undetectable(framing: str, data: bytes, intact: set[bytes], real_markers: set[int], rows: int, cols: int,
                 itemsize: int) -> bool:
    """True when the damage forms something the framing must take as a frame."""
    if framing == "rle":
        chunks = data.split(b"\xff")[:-1]
        return any(chunk + b"\xff" not in intact and rle_reference_decode(chunk, rows * cols) is not None
                   for chunk in chunks)
    if framing == "trailer":
        width = len(TRAILER_MARKER)
        period = rows * cols * itemsize + width
        found, at = {-width}, data.find(TRAILER_MARKER)  # the start of the stream acts as a marker
        while at >= 0:
            found.add(at)
            at = data.find(TRAILER_MARKER, at + 1)
        real = real_markers | {-width}
        return any(x + period in found and not (x in real and x + period in real) for x in found)
    return False


# -- (a) + (b): undamaged streams ---------------------------------------------------------------------
@PROPERTY
@given(data=st.data(), framing=st.sampled_from(STREAM_FRAMINGS))
def test_undamaged_stream_comes_back_exactly_in_any_split(data, framing):
    rows, cols, cell, high, options = data.draw(framing_setups(framing))
    kinds = data.draw(st.lists(KINDS, min_size=1, max_size=6))
    seeds = data.draw(st.lists(st.integers(0, 2 ** 32 - 1), min_size=len(kinds), max_size=len(kinds)))
    dtype = np.uint8 if cell == "uint8" else np.uint16
    sent = [make_frame(k, rows, cols, dtype, high, s, SPECIAL[framing]) for k, s in zip(kinds, seeds)]
    encode = encoder(framing, options)
    stream = b"".join(encode(c, i) for i, c in enumerate(sent))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    (frames, corrupt, resyncs), _ = feed_three_ways(lambda: parser_for(framing, rows, cols, cell, options),
                                                       stream, cuts)
    assert (corrupt, resyncs) == (0, 0)
    assert len(frames) == len(sent)
    for (raw, shape, _, counter, _, trouble), cells, i in zip(frames, sent, range(len(sent))):
        assert shape == (rows, cols)
        assert raw == cells.tobytes()
        assert trouble == 0
        if framing == "binary":
            assert counter == i


# -- (a) + (c): damaged streams -------------------------------------------------------------------------
@st.composite
def damage_plans(draw, n: int):
    """Per frame: truncate it (keep a fraction), and garbage before it."""
    truncate = draw(st.lists(st.one_of(st.none(), st.floats(0.0, 0.999)), min_size=n, max_size=n))
    garbage = draw(st.lists(st.one_of(st.none(), st.binary(min_size=1, max_size=40)), min_size=n + 1, max_size=n + 1))
    return truncate, garbage


def clean_garbage(framing: str, garbage: bytes) -> bytes:
    if framing == "lines":  # digits could form valid lines: that is a frame, not damage
        return bytes(b for b in garbage if b not in DIGITS) or b"#"
    return garbage


def cut_point(framing: str, encoded: bytes, fraction: float) -> int:
    cut = int(fraction * len(encoded))
    if framing == "lines":  # a number cut and continued by the next line merges into one number
        while cut > 0 and encoded[cut - 1] in DIGITS:
            cut -= 1
    return cut


@PROPERTY
@given(data=st.data(), framing=st.sampled_from(STREAM_FRAMINGS))
def test_damage_is_counted_and_every_intact_frame_away_from_it_kept(data, framing):
    rows, cols, cell, high, options = data.draw(framing_setups(framing))
    kinds = data.draw(st.lists(KINDS, min_size=2, max_size=8))
    seeds = data.draw(st.lists(st.integers(0, 2 ** 32 - 1), min_size=len(kinds), max_size=len(kinds)))
    dtype = np.uint8 if cell == "uint8" else np.uint16
    sent = [make_frame(k, rows, cols, dtype, high, s, SPECIAL[framing]) for k, s in zip(kinds, seeds)]
    encode = encoder(framing, options)
    encoded = [encode(c, i) for i, c in enumerate(sent)]
    truncate, garbage = data.draw(damage_plans(len(sent)))
    # The stream goes on after the last damage (a frame cut at the very end is still arriving).
    sent += [make_frame("random", rows, cols, dtype, high, seeds[0] + j) for j in (1, 2)]
    encoded += [encode(c, len(encoded) + j) for j, c in enumerate(sent[-2:])]
    truncate += [None, None]
    garbage = garbage[:-1] + [garbage[-1], None]
    stream = bytearray()
    real_markers: set[int] = set()
    must_return = []
    damaged_before = False
    dropped = 0
    for i, piece in enumerate(encoded):
        if garbage[i] is not None:
            stream += clean_garbage(framing, garbage[i])
            damaged_before = True
        if truncate[i] is not None:
            cut = cut_point(framing, piece, truncate[i])
            stream += piece[:cut]
            dropped += cut == 0  # nothing of it left: a clean drop, not damage
            damaged_before = damaged_before or cut > 0
            continue
        if not damaged_before:
            must_return.append(i)
        stream += piece
        real_markers.add(len(stream) - len(TRAILER_MARKER))
        damaged_before = False
    stream = bytes(stream)
    intact = {encoded[i] for i in range(len(sent)) if truncate[i] is None}
    assume(not undetectable(framing, stream, intact, real_markers, rows, cols, np.dtype(dtype).itemsize))
    cuts = data.draw(st.lists(st.integers(0, max(1, len(stream))), max_size=12))
    (frames, corrupt, resyncs), _ = feed_three_ways(lambda: parser_for(framing, rows, cols, cell, options),
                                                       stream, cuts)
    got = [raw for raw, *_ in frames]
    sent_raw = [c.tobytes() for c in sent]
    assert is_subsequence(got, sent_raw), "a frame was emitted that was not sent"
    assert is_subsequence([sent_raw[i] for i in must_return], got), "an intact frame away from damage was lost"
    if len(got) < len(sent) - dropped:
        assert corrupt + resyncs > 0, "frames were lost and nothing was counted"
    if framing == "binary":
        counters = [counter for _, _, _, counter, _, _ in frames]
        assert counters == sorted(counters)


# -- poll: replies delimited by requests ---------------------------------------------------------------
REPLY_KINDS = ["ok", "ok", "extra", "twice", "short", "missing", "late"]


@PROPERTY
@given(data=st.data())
def test_poll_replies_never_shift_and_every_bad_reply_is_counted(data):
    rows, cols = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    cell = data.draw(st.sampled_from(["uint8", "uint16"]))
    dtype, high = (np.uint8, 255) if cell == "uint8" else (np.uint16, 65535)
    kinds = data.draw(st.lists(st.sampled_from(REPLY_KINDS), min_size=1, max_size=12))
    seeds = data.draw(st.lists(st.integers(0, 2 ** 32 - 1), min_size=2 * len(kinds), max_size=2 * len(kinds)))
    frames_kinds = data.draw(st.lists(KINDS, min_size=2 * len(kinds), max_size=2 * len(kinds)))
    size = rows * cols * np.dtype(dtype).itemsize
    cycles, expected = [], []
    corrupt = resyncs = 0
    for k, kind in enumerate(kinds):
        first = make_frame(frames_kinds[2 * k], rows, cols, dtype, high, seeds[2 * k])
        second = make_frame(frames_kinds[2 * k + 1], rows, cols, dtype, high, seeds[2 * k + 1])
        reply = encode_poll(first)
        if kind == "ok":
            cycles.append((reply, False, b""))
            expected.append(first)
        elif kind == "extra":
            extra = data.draw(st.binary(min_size=1, max_size=3 * size).filter(lambda b: len(b) % size))
            cycles.append((reply + extra, False, b""))
            expected.append(first)
            resyncs += 1
        elif kind == "twice":
            cycles.append((reply + encode_poll(second), False, b""))
            expected += [first, second]
        elif kind == "short":
            cycles.append((reply[: data.draw(st.integers(1, size - 1))] if size > 1 else b"", True, b""))
            corrupt += 1
        elif kind == "missing":
            cycles.append((b"", data.draw(st.booleans()), b""))  # the driver may or may not reset
            corrupt += 1
        else:  # late: part of the reply, a timeout, then the rest before the next request
            cut = data.draw(st.integers(0, size - 1))
            cycles.append((reply[:cut], True, reply[cut:]))
            corrupt += 1
            resyncs += 1

    def run(split):
        parser = PollParser(rows, cols, cell)
        got = []
        for reply, reset, late in cycles:
            got += parser.request()
            for piece in split(reply):
                got += parser.feed(piece)
            if reset:
                got += parser.reset()
            for piece in split(late):
                got += parser.feed(piece)
            assert len(parser.buffer) <= parser.buffer_limit
        got += parser.request()  # the next request closes the last reply
        return summary(got, parser)

    rnd = random.Random(data.draw(st.integers(0, 2 ** 32)))

    def random_pieces(b):
        edges = sorted({0, len(b), *(rnd.randint(0, len(b)) for _ in range(3))})
        return [b[x:y] for x, y in zip(edges, edges[1:])]

    whole = run(lambda b: [b])
    assert whole == run(lambda b: [b[i: i + 1] for i in range(len(b))])
    assert whole == run(random_pieces)
    frames, got_corrupt, got_resyncs = whole
    assert [raw for raw, *_ in frames] == [c.tobytes() for c in expected]
    assert (got_corrupt, got_resyncs) == (corrupt, resyncs)


def test_poll_without_requests_is_a_plain_stream_and_counts_each_reset():
    sent = [np.full((2, 3), i, np.uint16) for i in range(4)]
    parser = PollParser(2, 3, "uint16")
    got = parser.feed(b"".join(encode_poll(c) for c in sent[:2]))
    parser.reset()
    parser.reset()
    got += parser.feed(encode_poll(sent[2])[:5])
    parser.reset()  # a short reply fed, then reset: one count
    got += parser.feed(encode_poll(sent[3]))
    assert [f.cells[0, 0] for f in got] == [0, 1, 3]
    assert (parser.corrupt, parser.resyncs) == (3, 0)


# -- (d): garbage floods ----------------------------------------------------------------------------------
def flood(pattern: str, size: int = 2 << 20) -> bytes:
    rng = np.random.default_rng(len(pattern))
    if pattern == "random":
        return rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    if pattern == "no-delimiters":  # no FF, no newline, no sync start
        return rng.integers(0x20, 0x7F, size, dtype=np.uint8).tobytes()
    units = {"zeros": b"\x00", "ff": b"\xff", "marker": TRAILER_MARKER, "sync": SYNC, "digits": b"1,",
             "zero-runs": b"\x00\xfe", "newlines": b"\n"}[pattern]
    return (units * (size // len(units) + 1))[:size]


FLOODS = ["random", "no-delimiters", "zeros", "ff", "marker", "sync", "digits", "zero-runs", "newlines"]


def feed_in_reads(parser, data: bytes, read: int = 1 << 16) -> None:
    for start in range(0, len(data), read):  # the driver's reads
        parser.feed(data[start: start + read])
        assert len(parser.buffer) <= parser.buffer_limit


@pytest.mark.parametrize("framing", ["binary", "trailer", "rle", "poll", "lines"])
def test_two_mib_of_random_bytes_keep_memory_bounded_and_never_raise(framing):
    cell = "uint8" if framing in ("trailer", "rle") else "uint16"
    data = flood("random")
    parser = make_parser(framing, 16, 16, cell)
    tracemalloc.start()
    try:
        feed_in_reads(parser, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, f"{framing}: {peak} bytes at peak"
    whole = make_parser(framing, 16, 16, cell)
    whole.feed(data)  # one huge read
    assert len(whole.buffer) <= whole.buffer_limit
    assert (whole.corrupt, whole.resyncs) == (parser.corrupt, parser.resyncs)


@pytest.mark.parametrize("framing", ["binary", "trailer", "rle", "poll", "lines"])
@pytest.mark.parametrize("pattern", FLOODS[1:])
def test_floods_of_delimiters_and_garbage_keep_the_buffer_bounded(framing, pattern):
    cell = "uint8" if framing in ("trailer", "rle") else "uint16"
    data = flood(pattern, 256 << 10)
    parser = make_parser(framing, 16, 16, cell)
    feed_in_reads(parser, data, 4096)
    whole = make_parser(framing, 16, 16, cell)
    whole.feed(data)
    assert len(whole.buffer) <= whole.buffer_limit
    assert (whole.corrupt, whole.resyncs) == (parser.corrupt, parser.resyncs)
    if isinstance(parser, PollParser):
        polled = PollParser(16, 16, cell)
        for start in range(0, len(data), 700):
            polled.request()
            polled.feed(data[start: start + 700])
            assert len(polled.buffer) <= polled.buffer_limit


def test_a_lines_flood_of_huge_numbers_is_counted_not_raised():
    parser = LinesParser(2, 2)
    parser.feed(b"1,2\n3,4\n\n")
    got = parser.feed(b"9" * 30 + b",1\n3,4\n\n" + b"1,-9223372036854775809\n3,4\n\n" + b"5,6\n7,8\n\n")
    assert [f.cells.tolist() for f in got] == [[[5, 6], [7, 8]]]
    assert parser.corrupt == 2
