"""Serial framings: round trips, resynchronisation, and arbitrary bytes in arbitrary splits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import (BinaryParser, LinesParser, PollParser, RleParser, TrailerParser, encode_binary,
                             encode_lines, encode_rle, encode_trailer, make_parser)

ROWS, COLS = 4, 5


def frames(n, dtype=np.uint16, high=1000, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, high, size=(ROWS, COLS)).astype(dtype) for _ in range(n)]


def stream_of(framing, cells_list):
    if framing == "binary":
        return b"".join(encode_binary(c, i, i * 10_000) for i, c in enumerate(cells_list))
    if framing == "trailer":
        return b"".join(encode_trailer(c) for c in cells_list)
    if framing == "rle":
        return b"".join(encode_rle(c) for c in cells_list)
    if framing == "poll":
        return b"".join(c.astype("<u2").tobytes() for c in cells_list)
    return b"".join(encode_lines(c) for c in cells_list)


CASES = {  # framing: (cell type, value range)
    "binary": ("uint16", 60000),
    "trailer": ("uint8", 250),
    "rle": ("uint8", 255),
    "poll": ("uint16", 60000),
    "lines": ("uint16", 1023),
}


def parse_in_pieces(parser, data, cuts):
    got = []
    edges = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    for a, b in zip(edges, edges[1:]):
        got.extend(parser.feed(data[a:b]))
    return got


@pytest.mark.parametrize("framing", list(CASES))
def test_round_trip(framing):
    cell, high = CASES[framing]
    sent = frames(6, np.uint8 if cell == "uint8" else np.uint16, high)
    if framing == "rle":
        sent = [np.clip(c, 0, 254).astype(np.uint8) for c in sent]
        sent[2][:] = 0  # a frame of nothing but zero runs
    got = make_parser(framing, ROWS, COLS, cell).feed(stream_of(framing, sent))
    assert len(got) == len(sent)
    for frame, cells in zip(got, sent):
        np.testing.assert_array_equal(frame.cells, cells)


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, 10_000), max_size=20), framing=st.sampled_from(list(CASES)))
def test_any_split_gives_the_same_frames(cuts, framing):
    cell, high = CASES[framing]
    sent = frames(5, np.uint8 if cell == "uint8" else np.uint16, min(high, 254))
    data = stream_of(framing, sent)
    whole = make_parser(framing, ROWS, COLS, cell).feed(data)
    pieces = parse_in_pieces(make_parser(framing, ROWS, COLS, cell), data, cuts)
    assert len(pieces) == len(whole) == len(sent)
    for a, b in zip(pieces, whole):
        np.testing.assert_array_equal(a.cells, b.cells)
        assert a.counter == b.counter


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=10),
       framing=st.sampled_from(list(CASES)))
def test_arbitrary_bytes_never_crash(data, cuts, framing):
    cell, _ = CASES[framing]
    parser = make_parser(framing, ROWS, COLS, cell)
    for frame in parse_in_pieces(parser, data, cuts):
        assert frame.cells.shape == (ROWS, COLS)
    assert parser.corrupt >= 0 and parser.resyncs >= 0


@settings(max_examples=60, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=200), cuts=st.lists(st.integers(0, 5000), max_size=10))
def test_binary_resyncs_after_garbage_and_keeps_every_intact_frame(garbage, cuts):
    sent = frames(4)
    good = [encode_binary(c, i, 0) for i, c in enumerate(sent)]
    data = good[0] + garbage + good[1] + good[2] + garbage + good[3]
    got = parse_in_pieces(BinaryParser(ROWS, COLS), data, cuts)
    assert [f.counter for f in got][-3:] == [1, 2, 3]  # garbage may not hide an intact frame
    assert [f.counter for f in got][0] == 0


def test_binary_checksum_failure_is_counted_and_skipped():
    sent = frames(3)
    damaged = bytearray(encode_binary(sent[1], 1, 0))
    damaged[30] ^= 0xFF
    parser = BinaryParser(ROWS, COLS)
    got = parser.feed(encode_binary(sent[0], 0, 0) + bytes(damaged) + encode_binary(sent[2], 2, 0))
    assert [f.counter for f in got] == [0, 2]
    assert parser.corrupt == 1
    assert got[1].device_time_s == 0.0


def test_trailer_wrong_length_is_counted_and_resynchronised():
    sent = frames(3, np.uint8, 250)
    data = encode_trailer(sent[0]) + encode_trailer(sent[1])[3:] + encode_trailer(sent[2])
    parser = TrailerParser(ROWS, COLS, "uint8")
    got = parser.feed(data)
    assert len(got) == 2 and parser.corrupt == 1
    np.testing.assert_array_equal(got[1].cells, sent[2])


def test_rle_bad_count_is_counted():
    parser = RleParser(ROWS, COLS)
    good = encode_rle(np.ones((ROWS, COLS), np.uint8))
    got = parser.feed(good + b"\x05\x05\xff" + good)
    assert len(got) == 2 and parser.corrupt == 1


def test_poll_reset_drops_a_short_reply():
    parser = PollParser(ROWS, COLS, "uint16")
    parser.feed(b"\x00" * 7)
    parser.reset()
    got = parser.feed(np.arange(ROWS * COLS, dtype="<u2").tobytes())
    assert len(got) == 1 and parser.corrupt == 1
    assert got[0].cells[0, 1] == 1


@pytest.mark.parametrize("order", ["row", "col"])
@pytest.mark.parametrize("active", ["high", "low"])
@pytest.mark.parametrize("per_row", [True, False])
def test_lines_order_polarity_and_layout(order, active, per_row):
    sent = frames(3, np.uint16, 1023)
    data = b"".join(encode_lines(c, per_row=per_row, order=order, active=active) for c in sent)
    got = LinesParser(ROWS, COLS, "uint16", order, active).feed(data)
    assert len(got) == 3
    for frame, cells in zip(got, sent):
        np.testing.assert_array_equal(frame.cells, cells)


def test_lines_with_spaces_tabs_and_a_bad_line():
    parser = LinesParser(2, 2, "uint16")
    got = parser.feed(b"1\t2\n3 4\n\n5,x\n7,8\n\n9, 10\n11,12\n\n")
    assert [f.cells.tolist() for f in got] == [[[1, 2], [3, 4]], [[9, 10], [11, 12]]]
    assert parser.corrupt == 1
