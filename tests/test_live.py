"""The live capture view: fits 80x24 without wrapping, scales up, kPa legend, per-side numbers."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.console import Console
from rich.live import Live

from drivers.base import Counters, Frame, MatInfo
from pressure.live import SHADES, LiveView, image_size, nice_top, pool_max, side_numbers

SCALE, OFFSET = 0.5, -10.0  # kPa = device * 0.5 - 10, so an unloaded cell reads 20


def device(kpa: np.ndarray) -> np.ndarray:
    return np.round((np.asarray(kpa, float) - OFFSET) / SCALE).astype(np.uint16)


def mat(rows=40, cols=60, pitch_x=5.0, pitch_y=10.0, **extra) -> MatInfo:
    return MatInfo(rows=rows, cols=cols, pitch_x_mm=pitch_x, pitch_y_mm=pitch_y, rate_hz=100.0,
                   device="test mat", dtype=np.uint16, scale_kpa=SCALE, offset_kpa=OFFSET, **extra)


def two_feet_kpa() -> np.ndarray:
    """40 x 60 cells of 5 x 10 mm: a left block, a right block with a hotter cell, and two cells at
    or below the 5 kPa threshold that must count for nothing (nor move the split)."""
    kpa = np.zeros((40, 60))
    kpa[4:10, 8:11] = 120.0  # left: 6 rows x 3 cols
    kpa[10:14, 40:45] = 200.0  # right: 4 rows x 5 cols
    kpa[20, 42] = 300.0  # right, a heel cell
    kpa[0, 59] = 5.0  # at the threshold: unloaded
    kpa[39, 0] = 4.0
    return kpa


def view_with(kpa: np.ndarray, info: MatInfo, counters: Counters | None = None, clock=None) -> LiveView:
    view = LiveView("sim://test", clock=clock) if clock else LiveView("sim://test")
    view.start(info)
    view.update(Frame(device(kpa), 1, None, 0.0), counters or Counters(received=1))
    return view


def render(view: LiveView, width=80, height=24, color_system="truecolor", **console_options) -> tuple[list[str], Console]:
    console = Console(width=width, height=height, record=True, color_system=color_system, file=io.StringIO(),
                      **console_options)
    console.print(view.render())
    return console.export_text(clear=False).splitlines(), console


def image_box(lines: list[str], marks: str) -> tuple[int, int]:
    """Lines holding image characters, and the widest run of them on a line."""
    rows = [line for line in lines if any(mark in line for mark in marks)]
    pattern = "[" + re.escape(marks) + "]+"
    widest = max((len(run) for line in rows for run in re.findall(pattern, line)), default=0)
    return len(rows), widest


def fits(lines: list[str], width: int, height: int) -> None:
    assert len(lines) <= height, f"{len(lines)} lines in a {height}-line terminal"
    for line in lines:
        assert len(line) <= width, f"wider than {width}: {line!r}"
        assert "…" not in line, f"cut: {line!r}"


# -- fits 80x24, everything visible --------------------------------------------------------------
@pytest.mark.parametrize("color_system", ["truecolor", "256", "standard", None])
def test_80x24_shows_everything_without_wrapping(color_system):
    counters = Counters(received=1234567, dropped=12345, corrupt=678, resyncs=90, reconnects=3)
    lines, _ = render(view_with(two_feet_kpa(), mat(), counters), color_system=color_system)
    fits(lines, 80, 24)
    text = "\n".join(lines)
    # each of these on one line, whole: nothing wrapped
    assert any("received 1234567  dropped 12345  corrupt 678  resyncs 90  reconnects 3" in line for line in lines)
    assert any(line.strip().endswith("Ctrl-C to stop") for line in lines)
    assert re.search(r"elapsed \d+:\d\d\.\d .*\d+ frames/s", text)
    assert any(re.search(r"left half +\d+ N +\d+ mm +\d+ mm", line) for line in lines)
    assert any(re.search(r"right half +\d+ N +\d+ mm +\d+ mm", line) for line in lines)
    assert any(re.search(r"total +\d+ N +\d+ mm +\d+ mm", line) for line in lines)
    assert "blank ≤ 5 kPa" in text and "peak 300 kPa" in text
    assert "sim://test" in lines[0]


def test_legend_is_labelled_in_kpa_up_to_a_round_top():
    lines, console = render(view_with(two_feet_kpa(), mat()))
    scale = next(line for line in lines if line.rstrip().endswith(" kPa") and line.split()[0] != "blank"
                 and re.search(r"\b0 +100 +200", line))
    assert re.search(r"\b0 +100 +200 +300 +400 +500 kPa$", scale.rstrip())  # peak 300 -> top 500
    styled = console.export_text(styles=True)
    assert "\x1b[48;2;" in styled  # the bar and the image are drawn with background colours
    assert "▀" in styled


def test_colour_scale_is_fixed_for_the_session_and_only_grows():
    info = mat()
    view = view_with(two_feet_kpa(), info)  # peak 300 kPa
    view.render()
    assert view.top_kpa == 500
    view.update(Frame(device(two_feet_kpa() / 5), 2, None, 0.0), Counters(received=2))  # peak 60
    view.render()
    assert view.top_kpa == 500  # a lighter frame keeps the colours' meaning
    heavier = two_feet_kpa()
    heavier[20, 42] = 640.0
    view.update(Frame(device(heavier), 3, None, 0.0), Counters(received=3))
    view.render()
    assert view.top_kpa == 1000
    assert [nice_top(v) for v in (1, 49, 50, 51, 180, 201, 260, 2400)] == [1, 50, 50, 100, 200, 250, 500, 2500]


# -- the numbers -----------------------------------------------------------------------------------
def test_per_side_force_and_cop_by_hand():
    kpa = two_feet_kpa()
    area = 5.0 * 10.0  # mm^2
    left_force = 18 * 120.0 * area / 1000  # 108 N
    left_x, left_y = 9 * 5.0, 6.5 * 10.0  # mean column 9, mean row 6.5
    right_sum = 20 * 200.0 + 300.0
    right_force = right_sum * area / 1000  # 215 N
    right_x = 42 * 5.0  # every right cell is in columns 40..44, weighted to 42
    right_y = (20 * 200.0 * 11.5 + 300.0 * 20) / right_sum * 10.0
    total = left_force + right_force
    total_x = (left_force * left_x + right_force * right_x) / total
    total_y = (left_force * left_y + right_force * right_y) / total

    sides, note = side_numbers(kpa, mat())
    by_name = {side.name: side for side in sides}
    assert by_name["left half"].force_n == pytest.approx(left_force)
    assert (by_name["left half"].cop_x_mm, by_name["left half"].cop_y_mm) == pytest.approx((left_x, left_y))
    assert by_name["right half"].force_n == pytest.approx(right_force)
    assert (by_name["right half"].cop_x_mm, by_name["right half"].cop_y_mm) == pytest.approx((right_x, right_y))
    assert by_name["total"].force_n == pytest.approx(total)
    assert (by_name["total"].cop_x_mm, by_name["total"].cop_y_mm) == pytest.approx((total_x, total_y))
    assert "middle" in note

    lines, _ = render(view_with(kpa, mat()))  # through the scale and offset, as shown
    for name, force, x, y in (("left half", left_force, left_x, left_y), ("right half", right_force, right_x, right_y),
                              ("total", total, total_x, total_y)):
        row = next(line for line in lines if re.search(rf"{name} +\d", line))
        assert re.search(rf"{name} +{force:.0f} N +{x:.0f} mm +{y:.0f} mm", row), row


def test_insoles_use_the_foot_map_and_say_so():
    foot_map = np.full((40, 60), -1)
    foot_map[:, :30] = 0
    foot_map[:, 30:] = 1
    kpa = np.zeros((40, 60))
    kpa[5:10, 20:25] = 100.0  # left foot's sensors, right of the loaded area's middle
    kpa[5:10, 50:52] = 50.0
    sides, note = side_numbers(kpa, mat(foot_map=foot_map))
    assert [side.name for side in sides] == ["left foot", "right foot", "total"]
    assert sides[0].force_n == pytest.approx(25 * 100.0 * 50 / 1000)
    assert sides[0].cop_x_mm == pytest.approx(22 * 5.0)
    assert sides[1].force_n == pytest.approx(10 * 50.0 * 50 / 1000)
    assert "map" in note
    lines, _ = render(view_with(kpa, mat(foot_map=foot_map)))
    fits(lines, 80, 24)
    assert any(re.search(r"left foot +125 N +110 mm +70 mm", line) for line in lines)


def test_nothing_loaded_and_no_geometry_show_dashes():
    sides, _ = side_numbers(np.zeros((40, 60)), mat())
    assert all(side.force_n == 0 and side.cop_x_mm is None for side in sides)
    sides, _ = side_numbers(two_feet_kpa(), mat(has_geometry=False))  # sensors without positions: no COP
    assert sides[2].force_n > 0 and sides[2].cop_x_mm is None
    lines, _ = render(view_with(np.zeros((40, 60)), mat()))
    assert any(re.search(r"left half +0 N +- +-", line) for line in lines)


# -- size, aspect, large mats --------------------------------------------------------------------
def test_256_mat_is_max_pooled_into_80x24():
    info = mat(rows=256, cols=256, pitch_x=2.0, pitch_y=2.0)
    kpa = np.zeros((256, 256))
    kpa[255, 255] = 400.0  # single cells in the last row and column: kept by max-pooling
    kpa[0, 0] = 400.0
    kpa[100:160, 60:100] = 150.0
    for color_system in ("truecolor", None):
        lines, _ = render(view_with(kpa, info), color_system=color_system)
        fits(lines, 80, 24)
        assert any("Ctrl-C to stop" in line for line in lines)
    # no colour at 80x24: 20 x 20 pixels of 12.8 x 12.8 cells, two characters each, beside the
    # numbers, under the title; the corner cells are drawn (y grows upwards)
    image = [line[:40] for line in lines[1:21]]
    assert image[0][-2:] == "%%" and image[0][:-2].strip() == ""  # row 255, col 255 (400 of 500 kPa)
    assert image[-1][:2] == "%%" and image[-1][2:].strip() == ""  # row 0, col 0
    assert lines[21].startswith("received")  # and nothing more of the image


def test_pool_max_never_drops_a_row_or_column():
    for rows, cols, out_rows, out_cols in ((256, 256, 40, 40), (256, 256, 44, 37), (100, 7, 13, 3)):
        for r, c in ((rows - 1, cols - 1), (0, 0), (rows // 2 + 1, cols // 3)):
            image = np.zeros((rows, cols))
            image[r, c] = 9.0
            pooled = pool_max(image, out_rows, out_cols)
            assert pooled.shape == (out_rows, out_cols) and pooled.max() == 9.0
    small = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(pool_max(small, 4, 6), np.repeat(np.repeat(small, 2, axis=0), 2, axis=1))


def test_larger_console_larger_image_same_aspect():
    info = mat()  # 60 cols x 5 mm = 300 mm wide, 40 rows x 10 mm = 400 mm tall
    full = np.full((40, 60), 100.0)
    boxes = {}
    for size in ((80, 24), (120, 40), (200, 60)):
        lines, _ = render(view_with(full, info), *size)
        fits(lines, *size)
        boxes[size] = image_box(lines, "▀▄")
    (h1, w1), (h2, w2), (h3, w3) = boxes.values()
    assert h1 < h2 < h3 and w1 < w2 < w3
    for lines_high, wide in boxes.values():
        # a character shows two square pixels one above the other
        assert wide / (2 * lines_high) == pytest.approx(300 / 400, rel=0.1)
    # no colour: a pixel is two characters side by side
    lines, _ = render(view_with(full, info), 120, 40, color_system=None)
    high, wide = image_box(lines, SHADES[1:])
    assert (wide / 2) / high == pytest.approx(300 / 400, rel=0.1)


def test_wide_walkway_goes_above_the_numbers():
    info = mat(rows=48, cols=256, pitch_x=5.0, pitch_y=5.0)
    kpa = np.full((48, 256), 100.0)
    lines, _ = render(view_with(kpa, info))
    fits(lines, 80, 24)
    high, wide = image_box(lines, "▀▄")
    assert wide == 80 and high >= 7  # the whole width: 80 x 15 pixels
    assert any("Ctrl-C to stop" in line for line in lines)
    assert any(re.search(r"right half +\d+ N", line) for line in lines)


def test_image_size_keeps_aspect_and_prefers_whole_cells():
    assert image_size(64, 64, 5, 5, 40, 44) == (40, 40)
    assert image_size(16, 16, 5, 5, 80, 68) == (64, 64)  # 4.25 per cell -> 4, the same size for all
    assert image_size(64, 64, 5, 5, 80, 76) == (76, 76)  # 1.19 per cell: fill rather than waste 16 %
    assert image_size(10, 10, 5.08, 7.62, 100, 100) == (60, 90)  # 6 x 9 pixels per cell: 5.08 : 7.62
    assert image_size(10, 10, 5, 5, 0, 10) == (0, 0)


# -- no colour -----------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{"color_system": None}, {"color_system": "truecolor", "no_color": True}])
def test_no_colour_falls_back_to_shades_with_a_kpa_legend(options):
    lines, _ = render(view_with(two_feet_kpa(), mat()), **options)
    fits(lines, 80, 24)
    text = "\n".join(lines)
    assert "▀" not in text and "▄" not in text
    legend = next(i for i, line in enumerate(lines) if "".join(c * 3 for c in SHADES[1:]) in line)
    assert re.search(r"\b0 +100 +200 +300 +400 +500 kPa", lines[legend + 1])
    # the image (16 x 22 pixels of two characters, under the title): 120 kPa is band 3 of 0..500
    # kPa (';'), 200 kPa band 5 ('='), the 300 kPa cell band 7 ('*')
    image = "\n".join(line[:32] for line in lines[1:23])
    assert ";;" in image and "==" in image and "**" in image and "@" not in image
    assert any(re.search(r"left half +108 N", line) for line in lines)


# -- time, rate, waiting, the way cli.py runs it --------------------------------------------------
def test_elapsed_and_frames_per_second_over_the_last_second():
    now = [100.0]
    view = LiveView("sim://test", clock=lambda: now[0])
    now[0] = 110.0
    view.start(mat())  # elapsed counts from the source opening
    frame = Frame(device(two_feet_kpa()), None, None, 0.0)
    for _ in range(100):
        view.update(frame, Counters(received=1))
    now[0] = 111.0
    lines, _ = render(view)
    assert any("elapsed 0:01.0  100 frames/s" in line for line in lines)
    for _ in range(300):
        view.update(frame, Counters(received=1))
    now[0] = 112.0
    lines, _ = render(view)
    assert any("elapsed 0:02.0  300 frames/s" in line for line in lines)
    now[0] = 110.0 + 3725.5
    lines, _ = render(view)
    assert any("elapsed 1:02:05.5  0 frames/s" in line for line in lines)  # nothing came in the last second


def test_waiting_for_the_first_frame():
    view = LiveView("serial:///dev/ttyUSB0")
    lines, _ = render(view)
    fits(lines, 80, 24)
    assert any("waiting" in line for line in lines) and any("Ctrl-C to stop" in line for line in lines)
    view.start(mat())
    lines, _ = render(view, color_system=None)
    assert any("waiting for the first frame" in line for line in lines)


def test_narrow_and_short_terminals_never_wrap():
    counters = Counters(received=123456789, dropped=1234567, corrupt=1234567, resyncs=1234567, reconnects=12)
    view = view_with(two_feet_kpa(), mat(), counters)
    for width, height in ((60, 24), (80, 12), (40, 10), (80, 24)):
        console = Console(width=width, height=height, record=True, color_system="truecolor", file=io.StringIO())
        console.print(view.render())
        lines = console.export_text().splitlines()
        assert len(lines) <= height and all(len(line) <= width for line in lines)
    lines, _ = render(view, 60, 24)
    assert any("recv 123456789 drop 1234567" in line for line in lines)  # short names when needed


def test_under_rich_live_as_the_capture_command_runs_it():
    """cli._capture_live: LiveView(source), Live(get_renderable=view.render), on_start, on_frame."""
    console = Console(width=80, height=24, record=True, color_system="truecolor", force_terminal=True,
                      file=io.StringIO())
    view = LiveView("sim://standing")
    with Live(get_renderable=view.render, console=console, auto_refresh=False, transient=False) as live:
        live.refresh()
        view.start(mat())
        counters = Counters()
        for i in range(50):
            counters.received += 1
            view.update(Frame(device(two_feet_kpa()), i, None, 0.0), counters)
        live.refresh()
    text = console.export_text()
    assert "received 50" in text and "Ctrl-C to stop" in text and "left half" in text


def test_update_is_cheap():
    import time

    view = view_with(two_feet_kpa(), mat())
    frame, counters = Frame(device(two_feet_kpa()), 1, None, 0.0), Counters()
    started = time.perf_counter()
    for _ in range(20000):
        view.update(frame, counters)
    assert (time.perf_counter() - started) / 20000 < 20e-6  # well under a frame at 500 Hz (about 1 us here)
