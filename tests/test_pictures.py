"""Pictures, the HTML report and the animation: what a clinician and a patient see."""

from __future__ import annotations

import html.parser
import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.table  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import drivers  # noqa: E402
from drivers.base import Counters, MatInfo  # noqa: E402
from drivers.recording import Recording  # noqa: E402
from pressure.analysis import analyse  # noqa: E402
from pressure.pictures.feet import draw_feet  # noqa: E402
from pressure.pictures.figure import picture_figure, save_picture  # noqa: E402
from pressure.pictures.heel_down import heel_down, step_prints  # noqa: E402
from pressure.pictures.scales import CLINICAL_EDGES_KPA, CLINICAL_NAME, pressure_scale  # noqa: E402
from pressure.pictures.step_grid import draw_step_grid  # noqa: E402
from pressure.pictures.text import title_lines  # noqa: E402

DATE = "2024-03-05T09:30:00+00:00"


def with_session_facts(results, subject="P07"):
    results.attrs["started_at"] = DATE
    if subject:
        results.attrs["subject"] = subject
    return results


@pytest.fixture(scope="module")
def standing():
    recording = drivers.load("sim://standing?duration=1&speed=0&imbalance=0.2&arch=flat")
    results, _ = analyse(recording)
    return with_session_facts(results), recording


@pytest.fixture(scope="module")
def walks():
    """Simulated walks whose heel-to-toe direction is known: the walking direction."""
    out = {}
    for direction in ("+y", "-x"):
        recording = drivers.load(f"sim://walking?duration=2.2&speed=0&direction={direction}")
        results, _ = analyse(recording)
        out[direction] = (with_session_facts(results, subject=None), recording)
    return out


def texts(container) -> list[str]:
    """Every text drawn in a figure or axes, table cells included."""
    found = [t.get_text() for t in container.findobj(matplotlib.text.Text)]
    for table in container.findobj(matplotlib.table.Table):
        found += [cell.get_text().get_text() for cell in table.get_celld().values()]
    return [t for t in found if t]


# -- colour scales ------------------------------------------------------------------------------

def test_colour_scales_start_at_zero_and_the_clinical_one_is_a_named_colormap():
    cmap, norm, extend = pressure_scale("clinical")
    assert cmap.name == CLINICAL_NAME and matplotlib.colormaps[CLINICAL_NAME].N == len(CLINICAL_EDGES_KPA) - 1
    assert norm.vmin == 0 and list(norm.boundaries) == list(CLINICAL_EDGES_KPA) and extend == "max"
    # stepped, blue at the bottom to magenta at the top; above the last band the "over" colour
    low, high = cmap(norm(np.array([5.0])))[0], cmap(norm(np.array([500.0])))[0]
    assert low[2] > low[0] and high[0] > 0.8 and high[2] > 0.7
    assert np.allclose(cmap(norm(np.array([20.0]))), cmap(norm(np.array([39.0]))))  # one band, one colour
    magma, magma_norm, _ = pressure_scale("magma", 250.0)
    assert magma_norm.vmin == 0 and magma_norm.vmax == 250.0
    with pytest.raises(ValueError, match="unknown picture style"):
        pressure_scale("jet")


# -- feet, title -----------------------------------------------------------------------------

def test_standing_picture_has_feet_labelled_l_and_r_a_scale_from_zero_and_the_facts_in_the_title(standing,
                                                                                               tmp_path):
    results, _ = standing
    figure = picture_figure(results)
    try:
        title = figure._suptitle.get_text()
        for fragment in ("subject P07", "2024-03-05 09:30 UTC", "standing", "arch index L", "flat"):
            assert fragment in title, (fragment, title)
        share = re.search(r"load L (\d+) % / R (\d+) %", title)  # recorded with a 40/60 split
        assert share and int(share.group(1)) < 45 and int(share.group(2)) > 55, title
        images = [a for a in figure.get_axes() if a.get_images()]
        assert len(images) == 2  # one panel per foot
        labels = [[t for t in texts(a) if t in ("L", "R")] for a in images]
        assert labels == [["L"], ["R"]]  # the left foot's panel on the left
        assert images[0].get_position().x0 < images[1].get_position().x0
        for axes in images:
            assert axes.get_images()[0].norm.vmin == 0
        bars = [a for a in figure.get_axes() if a.get_label() == "<colorbar>"]
        assert bars and bars[0].get_ylim()[0] == 0
        # the standing COP: drawn on the foot and magnified beside it, with its factor
        assert any("COP sway, magnified ×" in t for t in texts(figure))
        assert any("hindfoot" in t for t in texts(figure))  # the region table
    finally:
        plt.close(figure)
    save_picture(results, tmp_path / "standing.png", style="magma")
    assert (tmp_path / "standing.png").stat().st_size > 20_000


def test_a_source_without_subject_or_date_says_so_in_the_title(walks):
    results, _ = walks["+y"]
    plain = results.copy()
    plain.attrs = {k: v for k, v in results.attrs.items() if k not in ("started_at", "subject")}
    head, numbers = title_lines(plain)
    assert "date not recorded" in head and "walking" in head and "sim://walking" in head
    assert "steps" in numbers and "cadence" in numbers


# -- steps -------------------------------------------------------------------------------------

@pytest.mark.parametrize("direction", ["+y", "-x"])
def test_step_grid_has_one_print_per_complete_step_heel_down(walks, direction):
    results, recording = walks[direction]
    complete = results["step_complete"].values.astype(bool)
    assert complete.sum() >= 2
    prints = step_prints(results, recording)
    assert [p.index for p in prints] == list(np.flatnonzero(complete))
    for one in prints:
        # the centre of pressure rolls from heel to toe: upwards in the turned print
        assert one.cop[-1, 1] - one.cop[0, 1] > 100, (one.index, one.cop[[0, -1]])
        assert abs(one.cop[-1, 0] - one.cop[0, 0]) < 40
        # and the forefoot, wider than the heel, is at the top
        loaded = np.isfinite(one.image) & (one.image > 5)
        rows = np.flatnonzero(loaded.any(axis=1))
        span = rows.max() - rows.min() + 1
        width = loaded.sum(axis=1)
        heel = width[rows.min():rows.min() + span // 4].max()
        forefoot = width[rows.min() + span // 2:].max()
        assert forefoot > 1.3 * heel, (one.index, heel, forefoot)
        assert one.heel_from == "loading"
    figure = plt.figure(figsize=(8, 4))
    try:
        used = draw_step_grid(figure, prints)
        assert len(used) == len(prints) == len([a for a in figure.get_axes() if a.get_images()])
        sides = [[t for t in texts(a) if t in ("L", "R")] for a in used]
        assert sides == [[{"left": "L", "right": "R"}[p.foot]] for p in prints]
    finally:
        plt.close(figure)


def test_heel_down_turns_a_print_by_its_axis_and_loading_order():
    # A print at 30 degrees below -x: narrow heel first, wide forefoot 150 mm further along.
    pitch = 5.0
    yy, xx = np.mgrid[0:80, 0:80] * pitch
    heading = np.radians(180 + 30)
    axis = np.array([math.cos(heading), math.sin(heading)])
    heel_xy = np.array([300.0, 250.0])
    fore_xy = heel_xy + 150 * axis
    heel = np.hypot(xx - heel_xy[0], yy - heel_xy[1]) < 22
    fore = np.hypot(xx - fore_xy[0], yy - fore_xy[1]) < 42
    along = (xx - heel_xy[0]) * axis[0] + (yy - heel_xy[1]) * axis[1]
    across = np.abs(-(xx - heel_xy[0]) * axis[1] + (yy - heel_xy[1]) * axis[0])
    band = (along > 0) & (along < 150) & (across < 15)
    loaded = heel | fore | band
    peak = np.where(loaded, 100 + 0 * xx, np.nan)
    onset = np.where(loaded, np.round(along / 10).astype(int) + 20, -1)
    image, _, angle, heel_from, out_pitch = heel_down(peak, onset, pitch, pitch)
    assert heel_from == "loading"
    assert angle == pytest.approx(90 - (-150), abs=8) or angle == pytest.approx(90 + 210 - 360, abs=8)
    rows = np.flatnonzero(np.isfinite(image).any(axis=1))
    width = np.isfinite(image).sum(axis=1)
    assert width[rows[-len(rows) // 4:]].max() > 1.5 * width[rows[:len(rows) // 5]].max()
    assert (rows.max() - rows.min() + 1) * out_pitch == pytest.approx(150 + 22 + 42, abs=15)
    # without a loading order (one static image) the narrower end is the heel
    same, _, _, how, _ = heel_down(peak, np.where(loaded, 0, -1), pitch, pitch)
    assert how == "shape" and np.array_equal(np.isfinite(same), np.isfinite(image))


def test_walking_picture_without_its_recording_falls_back_to_the_feet_and_says_why(walks, tmp_path):
    results, _ = walks["+y"]
    moved = results.copy()
    moved.attrs = dict(results.attrs, source_url=str(tmp_path / "gone.h5"))
    figure = picture_figure(moved)
    try:
        assert any("Step prints not drawn" in t and "gone.h5" in t for t in texts(figure))
        assert len([a for a in figure.get_axes() if a.get_images()]) == 2
    finally:
        plt.close(figure)


# -- insoles without positions ---------------------------------------------------------------------

def sensor_set(device: str, sensors: int) -> Recording:
    """Two insoles of ``sensors`` sensors without positions, as pedar reads by default."""
    rate, seconds = 50.0, 3.0
    t = np.arange(int(rate * seconds)) / rate
    gait = np.clip(np.sin(2 * np.pi * t / 1.1), 0, None)
    shape = np.linspace(40, 250, sensors)
    cells = np.zeros((len(t), 2, sensors), np.float32)
    cells[:, 0] = gait[:, None] * shape
    cells[:, 1] = np.clip(np.sin(2 * np.pi * t / 1.1 + np.pi), 0, None)[:, None] * shape[::-1]
    foot_map = np.repeat(np.array([[0], [1]], np.int8), sensors, axis=1)
    info = MatInfo(rows=2, cols=sensors, pitch_x_mm=13.8, pitch_y_mm=13.8, rate_hz=rate, device=device,
                   dtype=np.float32, cell_area_mm2=190.0, foot_map=foot_map, has_geometry=False)
    return Recording(cells, np.arange(len(t)), t, info, Counters(), "memory://insoles")


@pytest.mark.parametrize("device, sensors", [("Novel pedar", 99), ("some insole", 16)])
def test_insoles_without_positions_are_drawn_as_sensors_at_a_readable_size(device, sensors):
    results, _ = analyse(sensor_set(device, sensors))
    assert int(results.attrs["has_geometry"]) == 0
    figure = plt.figure(figsize=(8, 6), layout="constrained")
    try:
        feet = draw_feet(figure, results)
        figure.draw_without_rendering()
        for axes, side in zip(feet, "LR"):
            assert not axes.get_images()  # no 1-pixel strip
            patches = axes.collections[0]
            assert len(patches.get_paths()) == sensors
            assert patches.norm.vmin == 0
            assert side in texts(axes)
            box = axes.get_window_extent()
            assert box.height > 150 and box.width > 60  # pixels, not a strip
            corners = np.concatenate([p.vertices for p in patches.get_paths()])
            assert np.ptp(corners[:, 1]) > 1.5 * np.ptp(corners[:, 0])  # an insole: longer than wide
        if sensors == 16:  # positions unknown: numbered tiles
            assert "1\n" in "".join(t for t in texts(feet[0]) if "\n" in t)
    finally:
        plt.close(figure)


# -- the HTML report ------------------------------------------------------------------------------

class Structure(html.parser.HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__()
        self.open, self.tables, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append(dict(attrs).get("class", ""))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()


def test_html_report_has_date_subject_region_table_readable_attributes_and_one_summary(standing, tmp_path):
    from pressure.report import write_report

    results, _ = standing
    page = tmp_path / "standing.html"
    write_report(results, page)
    text = page.read_text(encoding="utf-8")
    parser = Structure()
    parser.feed(text)
    assert not parser.errors and parser.open == [], (parser.errors, parser.open)
    # the summary (the one table without a class) once, and the region and session tables
    assert parser.tables.count("") == 1 and "regions" in parser.tables and "session" in parser.tables
    assert text.count("data:image/png;base64,") == 1 and 'src="http' not in text
    assert "2024-03-05 09:30 UTC" in text and "P07" in text
    for fragment in ("hindfoot", "forefoot", "L peak (kPa)", "R PTI (kPa s)", "Cell pitch across (mm)",
                     "Frame rate (Hz)", "load L 3"):
        assert fragment in text, fragment
    assert ">pitch_x_mm<" not in text and ">rate_hz<" not in text
    assert text.count("<h2>Summary</h2>") == 1


# -- the animation -------------------------------------------------------------------------------

def test_frame_plan_is_real_time_up_to_a_cap_then_spreads_the_frames():
    from pressure.animation import frame_plan

    indices, fps, speed = frame_plan(np.arange(300) / 100.0, fps=25, max_frames=500)
    assert len(indices) == 75 and fps == 25 and speed == 1 and indices[1] == 4
    indices, fps, speed = frame_plan(np.arange(6000) / 100.0, fps=25, max_frames=500)
    assert len(indices) == 500 and indices[0] == 0 and indices[-1] == 5999 and speed == pytest.approx(3.0, rel=0.01)
    indices, fps, speed = frame_plan(np.arange(48) / 24.0, fps=25, max_frames=500)
    assert list(indices) == list(range(48)) and fps == pytest.approx(24)  # slower than fps: every frame


def test_gif_has_the_planned_frames(standing, tmp_path):
    from PIL import Image

    from pressure.animation import frame_plan, save_animation

    results, recording = standing
    path = tmp_path / "standing.gif"
    written = save_animation(results, recording, path, fps=25, dpi=40)
    expected = len(frame_plan(results["time"].values, 25)[0])
    assert written == expected == 25  # 1 s at 100 Hz, one frame every 40 ms
    with Image.open(path) as gif:
        assert gif.n_frames == expected
        assert gif.info["duration"] == 40
    from pressure.report import write_report

    write_report(results, tmp_path / "report.gif", recording=recording)  # `pressure report x.h5 -o x.gif`
    with Image.open(tmp_path / "report.gif") as gif:
        assert gif.n_frames == expected
    capped = tmp_path / "capped.gif"
    assert save_animation(results, recording, capped, fps=25, max_frames=8, dpi=40) == 8
    with Image.open(capped) as gif:
        assert gif.n_frames == 8


def test_mp4_needs_ffmpeg_and_says_so_in_one_line(standing, tmp_path, monkeypatch):
    from matplotlib.animation import FFMpegWriter

    from pressure.animation import save_animation

    results, recording = standing
    monkeypatch.setattr(FFMpegWriter, "isAvailable", classmethod(lambda cls: False))
    with pytest.raises(ValueError) as error:
        save_animation(results, recording, tmp_path / "walk.mp4")
    message = str(error.value)
    assert "\n" not in message and "walk.mp4" in message and "ffmpeg" in message and ".gif" in message
    assert not (tmp_path / "walk.mp4").exists()
    with pytest.raises(ValueError, match=r"walk\.avi: an animation is \.gif or \.mp4"):
        save_animation(results, recording, tmp_path / "walk.avi")


def test_mp4_when_ffmpeg_is_there(standing, tmp_path):
    from matplotlib.animation import FFMpegWriter

    from pressure.animation import save_animation

    if not FFMpegWriter.isAvailable():
        pytest.skip("ffmpeg is not installed")
    results, recording = standing
    path = tmp_path / "standing.mp4"
    assert save_animation(results, recording, path, fps=25, max_frames=10, dpi=40) == 10
    assert path.stat().st_size > 1000


def test_the_report_of_a_walk_shows_its_step_curves(tmp_path):
    from pressure.analysis import analyse
    from pressure.report import write_report

    import drivers
    from tests.conftest import FIXTURES

    for name, expected in (("walking", True), ("standing", False)):
        dataset, _ = analyse(drivers.load(str(FIXTURES / f"{name}.h5")))
        page = tmp_path / f"{name}.html"
        write_report(dataset, page)
        text = page.read_text()
        assert ("<h2>Step curves</h2>" in text) is expected
        assert text.count("data:image/png;base64,") == 1 + expected


def test_a_mixed_activity_is_told_in_the_order_it_happened():
    """Moticon's export walks, then stands (12.52-16.95 s): it was told "standing, then walking"."""
    from pressure.pictures.text import activity_text

    attrs = {"activity": "mixed", "standing_from_s": 12.52, "standing_to_s": 16.95}
    assert activity_text(attrs, [1.0, 5.0, 12.0]) == "walking, then standing"
    assert activity_text(attrs, [1.0, 5.0, 12.0], spans=True) == "walking, then standing (12.52-16.95 s)"
    assert activity_text({**attrs, "standing_from_s": 0.0, "standing_to_s": 2.96}, [3.4, 4.0]) == \
        "standing, then walking"
    assert activity_text(attrs, [1.0, 17.5]) == "walking, then standing, then walking"
    assert activity_text({"activity": "walking"}, [1.0]) == "walking"
    # Stretches of standing, each told where it is (one span from the first to the last standing
    # frame held the walk between them).
    mixed = {"activity": "mixed"}
    assert activity_text(mixed, [2.0, 8.0], spans=True, standing=[(0.0, 1.64), (12.52, 16.95)]) == \
        "standing (0.00-1.64 s), then walking, then standing (12.52-16.95 s)"
    assert activity_text(mixed, [20.0], spans=True, standing=[(0.0, 1.0), (1.5, 3.0)]) == \
        "standing (0.00-1.00, 1.50-3.00 s), then walking"
    # A day of standing and walking in turn is summed up, not listed (300 turns made a title of
    # 8,693 characters).
    turns = [(10.0 * k, 10.0 * k + 5) for k in range(300)]
    assert activity_text(mixed, [10.0 * k + 7 for k in range(300)], spans=True, standing=turns) == \
        "standing and walking in turn (300 stretches of standing)"
    # Many stretches with no walk between them are one part: still "standing, then walking".
    stretches = [(2.0 * k, 2.0 * k + 1) for k in range(5)]
    assert activity_text(mixed, [20.0], standing=stretches) == "standing, then walking"
    assert activity_text(mixed, [20.0], spans=True, standing=stretches) == \
        "standing (0.00-9.00 s, 5 stretches), then walking"


def test_the_moticon_export_stands_walks_then_stands(tmp_path):
    import drivers
    from pressure.analysis import analyse
    from pressure.summary import results_caption
    from tests.conftest import shared_file

    results, _ = analyse(drivers.load(str(shared_file("moticon_opengo/230927_102114.txt"))))
    # Both feet carry 400 N for the first 1.6 s: the standing the export opens with is told too.
    assert results_caption(results).startswith("standing (0.00-1.64 s), then walking, then standing (12.52-16.95 s)")
    standing = results["standing"].values
    assert standing[:164].all() and not standing[170:1250].any() and standing[1253:].all()
    from pressure.report import write_report

    write_report(results, tmp_path / "moticon.html")
    page = (tmp_path / "moticon.html").read_text()
    assert "Standing (s)</td><td>0.00-1.64, 12.52-16.95" in page and "Standing from" not in page


def test_an_insole_report_draws_no_empty_legends(tmp_path):
    """Pedar has no COP along its foot: its step-curve panels held no curve, and matplotlib
    warned "No artists with labels found to put in legend" on every report."""
    import warnings

    import drivers
    from pressure.analysis import analyse
    from pressure.report import write_report
    from tests.conftest import shared_file

    recording = drivers.load(str(shared_file("novel_pedar/pedar_example.asc")))
    results, _ = analyse(recording)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_report(results, tmp_path / "pedar.html", recording=recording)
    assert (tmp_path / "pedar.html").stat().st_size > 10_000


def test_a_real_steps_panel_keeps_the_heel_island_the_analysis_joined():
    """SpeedPP2DS subject 1: a high arch leaves 45 mm between heel and forefoot. The analysis
    joins them into one foot (fragments.MAX_GAP_MM); the step panel kept only what lay within
    40 mm of the forefoot, so it showed 264 kPa where the step's peak (the heel) was 863 kPa."""
    from pathlib import Path

    from benchmarks.accuracy import speedpp2ds_trials
    from pressure.pictures.steps import step_peaks
    from tests.conftest import shared_file

    _, recording = next(speedpp2ds_trials(Path(shared_file("speedpp2ds/subj001.h5"))))
    results, _ = analyse(recording)
    (panel,) = step_peaks(results, recording)
    assert np.nanmax(panel.peak) == pytest.approx(float(results["peak_pressure"].sel(foot="right").max()))
    print_rows = np.flatnonzero(np.isfinite(panel.peak).any(axis=1))
    assert len(print_rows) * 5.0 > 200  # the whole print, heel to toes, not a forefoot's 100 mm


def test_a_session_foot_panel_reaches_40_mm_for_toes_not_a_steps_100():
    """A walk's prints of one foot do not fit one panel: the panel is the print nearest the
    anchor and what lies within FOOT_REACH_MM (40 mm) of it, not MAX_GAP_MM (100 mm)."""
    from pressure.pictures.feet import FOOT_REACH_MM, foot_box

    mine = np.zeros((200, 40), bool)
    mine[10:60, 10:30] = True  # a print, 250 x 100 mm at 5 mm
    mine[65:68, 12:20] = True  # toes 25 mm beyond it: in its panel
    mine[80:84, 12:20] = True  # 100 mm beyond: within a step's reach, not a session panel's
    mine[150:199, 10:30] = True  # the next print of the same foot
    rows, cols = foot_box(mine, 5.0, 5.0, anchor=(30.0, 20.0))
    assert FOOT_REACH_MM == 40.0
    assert (rows.start, rows.stop, cols.start, cols.stop) == (10, 68, 10, 30)
