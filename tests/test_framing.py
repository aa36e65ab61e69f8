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


# -- the defects of issue 11, one by one -----------------------------------------------------------
def feed_bytewise(parser, data):
    got = []
    for i in range(len(data)):
        got += parser.feed(data[i: i + 1])
    return got


def test_rle_empty_16x16_frames_and_zero_runs_of_any_length_round_trip():
    sent = [np.zeros((16, 16), np.uint8) for _ in range(600)]
    parser = RleParser(16, 16)
    got = parser.feed(b"".join(encode_rle(c) for c in sent))
    assert len(got) == 600 and (parser.corrupt, parser.resyncs) == (0, 0)
    for run in (1, 253, 254, 255, 256, 508, 509, 510):
        cells = np.full((1, 600), 7, np.uint8)
        cells[0, 3: 3 + run] = 0
        data = encode_rle(cells)
        assert data.index(b"\xff") == len(data) - 1  # FF only ends the frame
        pairs = [data[i + 1] for i in range(len(data) - 1) if data[i] == 0]
        assert pairs and all(1 <= n <= 254 for n in pairs)
        (frame,) = RleParser(1, 600).feed(data)
        np.testing.assert_array_equal(frame.cells, cells)


def test_rle_a_run_sent_as_00_ff_is_one_damaged_frame_and_the_next_is_kept():
    good = [np.full((16, 16), v, np.uint8) for v in (3, 4)]
    old_firmware = b"\x00\xff\x09\xff"  # 255 zeros as 00 FF, then the last cell
    data = encode_rle(good[0]) + old_firmware + encode_rle(good[1])
    for feed in (lambda p: p.feed(data), lambda p: feed_bytewise(p, data)):
        parser = RleParser(16, 16)
        got = feed(parser)
        assert [f.cells[0, 0] for f in got] == [3, 4]
        assert (parser.corrupt, parser.resyncs) == (1, 1)
    parser = RleParser(2, 2)
    one = encode_rle(np.ones((2, 2), np.uint8))
    assert len(parser.feed(one + b"\x01\x00\x00\x01\x01\xff" + one)) == 2
    assert parser.corrupt == 1  # a zero count is never sent


def test_trailer_payloads_holding_the_marker_come_back_while_in_sync():
    marker = b"\xff\xfe\xfe\xff"
    sent = []
    for at in range(0, 17):  # the marker at every place, and straddling the end of the payload
        raw = bytearray(range(20))
        raw[at: at + 4] = marker
        sent.append(np.frombuffer(bytes(raw[:20]), np.uint8).reshape(4, 5))
    data = b"".join(encode_trailer(c) for c in sent)
    for feed in (lambda p: p.feed(data), lambda p: feed_bytewise(p, data)):
        parser = TrailerParser(4, 5, "uint8")
        got = feed(parser)
        assert len(got) == len(sent) and (parser.corrupt, parser.resyncs) == (0, 0)
        for frame, cells in zip(got, sent):
            np.testing.assert_array_equal(frame.cells, cells)


def test_trailer_after_garbage_whole_and_bytewise_agree_and_the_frame_after_next_is_kept():
    sent = frames(6, np.uint8, 250)
    data = (encode_trailer(sent[0]) + b"\x01\x02\x03" + encode_trailer(sent[1]) + encode_trailer(sent[2])
            + encode_trailer(sent[3])[:-6] + encode_trailer(sent[4]) + encode_trailer(sent[5]))
    results = []
    for feed in (lambda p: p.feed(data), lambda p: feed_bytewise(p, data)):
        parser = TrailerParser(ROWS, COLS, "uint8")
        got = feed(parser)
        results.append(([f.cells.tobytes() for f in got], parser.corrupt, parser.resyncs))
    assert results[0] == results[1]
    # Frame 1 follows garbage (it cannot be told from garbage inside it), frame 3 is cut, frame 4
    # follows the cut: three frames lost and counted, two resynchronisations.
    assert results[0] == ([sent[i].tobytes() for i in (0, 2, 5)], 3, 2)


def test_trailer_marker_must_be_given():
    with pytest.raises(ValueError):
        TrailerParser(ROWS, COLS, "uint8", b"")


def poll_like_the_driver(parser, cycles):
    """A driver loop that calls request(): bytes waiting before a request are fed first."""
    got = []
    for waiting, reply in cycles:
        got += parser.feed(waiting)
        got += parser.request()
        got += parser.feed(reply)
    return got + parser.request()


def test_poll_extra_bytes_after_one_reply_never_shift_the_next_ones():
    sent = [np.full((16, 16), i, np.uint16) for i in range(500)]
    replies = [c.astype("<u2").tobytes() for c in sent]
    cycles = [(b"", r) for r in replies]
    cycles[85] = (b"\x01\x02\x03", replies[85])  # the extras after reply 84 wait until the next request
    parser = PollParser(16, 16, "uint16")
    got = poll_like_the_driver(parser, cycles)
    assert [int(f.cells[0, 0]) for f in got] == list(range(500))
    assert (parser.corrupt, parser.resyncs) == (0, 1)


def test_poll_short_missing_late_and_twice_answered_replies():
    a, b, c = (np.full((2, 2), v, np.uint16) for v in (1, 2, 3))
    ra, rb, rc = (x.astype("<u2").tobytes() for x in (a, b, c))
    parser = PollParser(2, 2, "uint16")
    got = poll_like_the_driver(parser, [(b"", ra[:5]), (b"", b""), (b"", ra + rb), (b"", rc)])
    assert [int(f.cells[0, 0]) for f in got] == [1, 2, 3]
    assert (parser.corrupt, parser.resyncs) == (2, 0)
    parser = PollParser(2, 2, "uint16")  # a short reply, the driver resets, the rest comes late
    parser.request()
    parser.feed(ra[:3])
    parser.reset()
    parser.feed(ra[3:])
    got = parser.request() + parser.feed(rb) + parser.request()
    assert [int(f.cells[0, 0]) for f in got] == [2]
    assert (parser.corrupt, parser.resyncs) == (1, 1)


def test_lines_a_garbage_line_between_frames_does_not_cost_the_next_frame():
    parser = LinesParser(2, 2, "uint16")
    got = parser.feed(b"1,2\n3,4\n\nGARBAGE\n5,6\n7,8\n\n9,10\n11,12\n\n")
    assert [f.cells.tolist() for f in got] == [[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]]
    assert parser.corrupt == 1


def test_lines_rows_from_two_frames_are_never_one_frame():
    for data in (b"1,2\n3,4\n\n" + b"5,6\n" + b"7,8\n9,10\n\n" + b"11,12\n13,14\n\n",   # cut after a row
                 b"1,2\n3,4\n\n" + b"5,6\n7," + b"8,9\n10,11\n\n" + b"11,12\n13,14\n\n",  # cut inside a row
                 b"1,2\n3,4\n\n" + b"5,6\n7,8\n" + b"9,10\n11,12\n\n" + b"11,12\n13,14\n\n"):  # blank line lost
        parser = LinesParser(2, 2, "uint16")
        got = parser.feed(data)
        assert [f.cells.tolist() for f in got] == [[[1, 2], [3, 4]], [[11, 12], [13, 14]]]
        assert parser.corrupt >= 1


def test_lines_numbers_out_of_range_are_counted_never_raised():
    parser = LinesParser(2, 2, "uint16")
    got = parser.feed(b"1,2\n3,4\n\n1,2\n3,9223372036854775808\n\n1,2\n3,-99999999999999999999\n\n"
                      b"5,6\n7,70000\n\n1,2\n3,-4\n\n")
    assert [f.cells.tolist() for f in got] == [[[1, 2], [3, 4]], [[5, 6], [7, 65535]], [[1, 2], [3, 0]]]
    assert parser.corrupt == 2  # readings beyond the cell type saturate; numbers beyond 2^62 are damage
    low = LinesParser(1, 2, "uint8", active="low", full_scale=1023)
    assert low.feed(b"1023 1000\n")[0].cells.tolist() == [[0, 23]]
    with pytest.raises(ValueError):
        LinesParser(1, 2, full_scale=2 ** 70)
    parser = LinesParser(1, 2, "float32")
    got = parser.feed(b"0 0\n99999999999999999999999 1\n1 2\n")
    assert [f.cells.tolist() for f in got] == [[[0.0, 0.0]], [[1.0, 2.0]]]
    assert parser.corrupt == 1


def test_lines_a_line_per_frame_with_bad_lines_and_a_switch_of_layout():
    parser = LinesParser(2, 2, "uint16")
    got = parser.feed(b"1 2 3 4\nbad\nbad\n5 6 7 8\n")
    assert [f.cells.ravel().tolist() for f in got] == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert parser.corrupt == 2
    parser = LinesParser(2, 2, "uint16")  # rows first; then a mat that prints a frame per line
    got = parser.feed(b"1,2\n3,4\n\n5,6,7,8\n9,10,11,12\n")
    assert [f.cells.ravel().tolist() for f in got] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]
    assert (parser.corrupt, parser.resyncs) == (0, 0)
    parser = LinesParser(2, 2, "uint16")  # among rows, a frame-sized line followed by rows is a splice
    got = parser.feed(b"1,2\n3,4\n\n5,6,7,8\n9,10\n\n1,2\n3,4\n\n")
    assert len(got) == 2 and parser.corrupt == 1


@pytest.mark.parametrize("framing", ["rle", "lines", "trailer", "poll", "binary"])
def test_a_2_mib_chunk_without_delimiters_keeps_the_buffer_bounded(framing):
    parser = make_parser(framing, 16, 16, "uint8" if framing in ("rle", "trailer") else "uint16")
    parser.feed(bytes(range(1, 255)) * (2 * 4096 + 1))
    assert len(parser.buffer) <= parser.buffer_limit < 64 << 10
    parser.feed(b"1," * (1 << 20))
    assert len(parser.buffer) <= parser.buffer_limit
