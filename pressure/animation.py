"""An animated export of a session, for teaching and for patients: frame by frame, the pressure
under the feet on the clinical colour scale, each foot's centre-of-pressure trace growing (over the
whole standing session; over the current contact when walking), the force curves with a cursor,
and the time.

``save_animation(results, source, "walk.gif")`` (or ``.mp4``): ``source`` is the recording the
results were made from (a :class:`drivers.Recording`, a URL or a path), or None for the results'
own ``source_url``.

Which frames: one every 1/``fps`` s of the recording, so it plays in real time (a recording slower
than ``fps`` shows every frame at its own rate). When that would be more than ``max_frames``
(default 500 for GIF, 3000 for MP4: 20 s and 2 min at 25 fps), ``max_frames`` frames are spread
evenly over the whole session and it plays faster than real time; the time label says how much
faster. Memory does not grow with the session or the frame count: the figure is laid out and drawn
once and only the moving parts are redrawn; frames are converted to kPa one at a time; MP4 frames
stream to ffmpeg and GIF frames to the file as they are drawn. (The recording itself is in memory,
as every command reads it.)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from pressure.pictures.insoles import draw_sensors, sensor_outlines, sensor_shapes, sensor_values
from pressure.pictures.marks import PATH_COLOUR, bare, side_label, white_edge
from pressure.pictures.orientation import orient_grid, orient_points, view_direction
from pressure.pictures.recording import kpa_reader, load_recording
from pressure.pictures.scales import (CLINICAL_COLOURS, CLINICAL_OVER, COLOURS, SIDE, add_colourbar, masked,
                                      pressure_scale)
from pressure.pictures.session import has_geometry, pitches
from pressure.pictures.text import title_lines
from pressure.schema import FEET

DEFAULT_FPS = 25.0
MAX_FRAMES = {".gif": 500, ".mp4": 3000}
DPI = 80
FOLLOW_WINDOW_MM = 450.0  # a walkway longer than this is followed by a window this long
FORMATS = (".gif", ".mp4")
TRANSPARENT = 255  # the GIF palette's last index: "as in the frame before"
KEY_COLOURS = (*COLOURS.values(), *CLINICAL_COLOURS, CLINICAL_OVER, "black", "white", "0.2", "0.5", "0.8")


def frame_plan(time_s: np.ndarray, fps: float = DEFAULT_FPS, max_frames: int = MAX_FRAMES[".gif"]):
    """(recorded frame indices to show, playback frames per second, speed against real time).

    One frame every 1/fps s of recording (real time); a recording slower than ``fps`` shows every
    frame at its own rate; more than ``max_frames`` frames are thinned to ``max_frames`` spread
    evenly over the session (speed > 1)."""
    time_s = np.asarray(time_s, float)
    if len(time_s) == 0:
        return np.zeros(0, int), float(fps), 1.0
    if fps <= 0 or not math.isfinite(fps):
        raise ValueError(f"frames per second must be positive, got {fps}")
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")
    duration = float(time_s[-1] - time_s[0])
    if len(time_s) > 1:
        rate = (len(time_s) - 1) / duration if duration > 0 else fps
        fps = min(float(fps), rate)
    wanted = int(math.floor(duration * fps + 1e-9)) + 1
    if wanted <= max_frames:
        targets = time_s[0] + np.arange(wanted) / fps
        speed = 1.0
    else:
        targets = np.linspace(time_s[0], time_s[-1], max_frames)
        step = duration / (max_frames - 1) if max_frames > 1 else duration
        speed = step * fps
    indices = np.clip(np.searchsorted(time_s, targets - 1e-9), 0, len(time_s) - 1)
    return indices, float(fps), float(speed)


def _check_target(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: an animation is .gif or .mp4")
    if suffix == ".mp4":
        from matplotlib.animation import FFMpegWriter

        if not FFMpegWriter.isAvailable():
            raise ValueError(f"{path}: writing .mp4 needs ffmpeg, which is not installed here; "
                             "install ffmpeg (e.g. apt-get install ffmpeg) or write a .gif")
    return suffix


def _gif_writer(fps: float):
    from matplotlib.animation import PillowWriter
    from matplotlib.colors import to_rgb
    from PIL import GifImagePlugin, Image

    class StreamingGifWriter(PillowWriter):
        """A GIF written frame by frame as it comes (Pillow's GIF encoder, one frame at a time), so
        memory does not grow with the number of frames: matplotlib's PillowWriter keeps every frame
        until the end. All frames share one palette, the colours that must stay exact first (feet,
        clinical bands) and the first frame's other colours; a frame stores only the box that
        changed since the one before."""

        def setup(self, fig, outfile, dpi=None):
            super().setup(fig, outfile, dpi=dpi)
            self._file = open(outfile, "wb")
            self._palette = None
            self._previous = None

        def add_rgba(self, rgba: np.ndarray) -> None:
            frame = Image.fromarray(np.ascontiguousarray(rgba[..., :3]))
            if self._palette is None:  # 255 colours; index 255 marks "unchanged" (transparent)
                exact = [tuple(int(round(255 * c)) for c in to_rgb(colour)) for colour in KEY_COLOURS]
                rest = frame.quantize(colors=255 - len(exact), method=Image.Quantize.MEDIANCUT)
                values = [c for rgb in exact for c in rgb] + rest.getpalette()[:3 * (255 - len(exact))]
                self._palette = Image.new("P", (1, 1))
                self._palette.putpalette(values + [0] * (765 - len(values)))
            pixels = np.asarray(frame.quantize(palette=self._palette, dither=Image.Dither.NONE))
            duration = int(round(1000 / self.fps))
            if self._previous is None:
                first = Image.fromarray(pixels, mode="P")
                first.putpalette(self._palette.getpalette())
                header, _ = GifImagePlugin.getheader(first, info={"loop": 0, "optimize": False,
                                                                  "duration": duration})
                self._file.write(b"".join(header))
                chunks = GifImagePlugin.getdata(first, duration=duration, disposal=1)
            else:
                changed = pixels != self._previous
                if changed.any():
                    rows, cols = np.nonzero(changed.any(axis=1))[0], np.nonzero(changed.any(axis=0))[0]
                    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
                else:  # nothing moved: one pixel, so the frame (and its time) still counts
                    r0, r1, c0, c1 = 0, 1, 0, 1
                box = pixels[r0:r1, c0:c1].copy()
                box[~changed[r0:r1, c0:c1]] = TRANSPARENT  # unchanged pixels: transparent, compress well
                chunks = GifImagePlugin.getdata(Image.fromarray(box, mode="P"), offset=(c0, r0), duration=duration,
                                                disposal=1, transparency=TRANSPARENT)
            for chunk in chunks:
                self._file.write(chunk)
            self._previous = pixels

        def finish(self):
            if getattr(self, "_file", None) is not None:
                self._file.write(b";")
                self._file.close()
                self._file = None

    return StreamingGifWriter(fps=fps)


def _mp4_writer(fps: float):
    from matplotlib.animation import FFMpegWriter

    class StreamingMp4Writer(FFMpegWriter):
        """matplotlib's ffmpeg pipe, fed ready RGBA frames (nothing kept in memory)."""

        def add_rgba(self, rgba: np.ndarray) -> None:
            self._proc.stdin.write(np.ascontiguousarray(rgba).tobytes())

    return StreamingMp4Writer(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])


def _trace_starts(results, foot: str) -> np.ndarray:
    """Per frame, where the COP trace drawn up to it begins: the session's start when standing,
    else the start of the foot's latest step (so steps on one spot, or in a shoe, do not pile up)."""
    n = results.sizes.get("time", 0)
    starts = np.zeros(n, int)
    if results.attrs.get("activity") == "standing" or not results.sizes.get("step", 0):
        return starts
    time = results["time"].values
    mine = results["step_foot"].values.astype(str) == foot
    firsts = np.searchsorted(time, results["step_start"].values[mine] - 1e-9)
    marks = np.zeros(n, bool)
    marks[firsts[firsts < n]] = True
    return np.maximum.accumulate(np.where(marks, np.arange(n), 0))


class _MatView:
    """A box of the mat (around ``cells``), turned so the person faces (walks) up."""

    def __init__(self, results, cells: np.ndarray, direction: str, feet=FEET, margin: int = 2):
        rows, cols = np.nonzero(cells) if cells.any() else np.nonzero(np.ones_like(cells))
        self.rows = slice(max(rows.min() - margin, 0), min(rows.max() + margin + 1, cells.shape[0]))
        self.cols = slice(max(cols.min() - margin, 0), min(cols.max() + margin + 1, cells.shape[1]))
        self.direction = direction
        self.feet = tuple(feet)
        px, py = pitches(results)
        x, y = results["x"].values[self.cols], results["y"].values[self.rows]
        corners_u, corners_v = orient_points(np.array([x[0] - px / 2, x[-1] + px / 2, x[0] - px / 2, x[-1] + px / 2]),
                                             np.array([y[0] - py / 2, y[0] - py / 2, y[-1] + py / 2, y[-1] + py / 2]),
                                             self.direction)
        self.extent = (corners_u.min(), corners_u.max(), corners_v.min(), corners_v.max())

    def image(self, frame: np.ndarray) -> np.ndarray:
        return orient_grid(frame[self.rows, self.cols], self.direction)

    @property
    def length(self) -> float:
        return self.extent[3] - self.extent[2]

    @property
    def window(self) -> float:
        """How much of the mat's length is shown at once: all of it, or on a long walkway a window
        of about two steps that follows the feet."""
        width = self.extent[1] - self.extent[0]
        return min(self.length, max(FOLLOW_WINDOW_MM, 1.4 * width))

    @property
    def aspect(self) -> float:
        return (self.extent[1] - self.extent[0]) / max(self.window, 1e-9)

    def centre_of(self, image: np.ndarray, threshold: float) -> float | None:
        """Along the view (v, mm): the loaded cells' centre in ``image`` (turned), None if unloaded."""
        loaded = image > threshold
        if not loaded.any():
            return None
        rows = np.nonzero(loaded.any(axis=1))[0]
        v = np.linspace(self.extent[2], self.extent[3], image.shape[0] + 1)
        return float(((v[:-1] + v[1:]) / 2)[rows].mean())


def mat_views(results, threshold: float) -> list[_MatView]:
    """What the animation shows: the loaded part of the mat, turned toes up; or, where turning it
    would put the left foot right of the right one (two insoles side by side on one grid, whose
    toes point down), each foot's own box, left then right."""
    peak = results["peak_pressure_image"].values
    foot_map = results["foot_map"].values
    direction = view_direction(results)
    whole = _MatView(results, peak > threshold, direction)
    side = {}
    for index, foot in enumerate(FEET):
        rows, cols = np.nonzero(foot_map == index)
        if len(rows):
            u, _ = orient_points(cols.astype(float), rows.astype(float), direction)
            side[foot] = u.mean()
    if len(side) < 2 or side["left"] < side["right"]:
        return [whole]
    return [_MatView(results, (foot_map == index) & (peak > threshold), direction, feet=(foot,))
            for index, foot in enumerate(FEET)]


def save_animation(results, source, path: Path, fps: float = DEFAULT_FPS, *, style: str = "clinical",
                   max_frames: int | None = None, dpi: int = DPI) -> int:
    """Write ``path`` (.gif or .mp4): the session frame by frame with the COP trace growing and a
    time label; returns the number of frames written. See the module docstring for which frames.

    ``source``: the recording (Recording, URL or path) or None for the results' ``source_url``.
    Raises ValueError with one line naming the file for a wrong suffix, a missing ffmpeg (.mp4),
    or a recording that cannot be read or does not match the results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    suffix = _check_target(path)
    pressure_scale(style)
    recording = load_recording(results, source)
    read = kpa_reader(results, recording)
    time = results["time"].values
    indices, play_fps, speed = frame_plan(time, fps, max_frames or MAX_FRAMES[suffix])
    threshold = float(results.attrs.get("threshold_kpa", 5.0))
    geometry = has_geometry(results)
    peak = float(np.nanmax(results["peak_pressure_image"].values)) if results.sizes.get("x") else 1.0
    cmap, norm, extend = pressure_scale(style, peak)

    if geometry:
        views = mat_views(results, threshold)
        image_width = float(np.clip(4.6 * sum(v.aspect for v in views), 1.6, 7.0))
    else:
        views = []
        image_width = 4.0
    width, height = image_width + 5.0, 6.0
    width_px, height_px = 2 * math.ceil(width * dpi / 2), 2 * math.ceil(height * dpi / 2)  # even: yuv420p
    fig = plt.figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi, layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[image_width + 0.8, 4.2])
    patches = {}
    traces = {}
    panels = []  # (view, axes, image artist, camera or None)
    if geometry:
        first = read(slice(int(indices[0]), int(indices[0]) + 1))[0] if len(indices) else None
        axes_list = np.atleast_1d(left.subplots(1, len(views), width_ratios=[v.aspect for v in views]))
        for view, axes in zip(views, axes_list):
            turned = view.image(first)
            shown = axes.imshow(masked(turned, threshold), origin="lower", extent=view.extent, cmap=cmap,
                                norm=norm, interpolation="nearest")
            axes.set_xlim(view.extent[0], view.extent[1])
            camera = None
            if view.window < view.length - 1e-6:  # a long walkway: a window that follows the feet
                start = view.centre_of(turned, threshold)
                camera = float(np.clip(start if start is not None else view.extent[2],
                                       view.extent[2] + view.window / 2, view.extent[3] - view.window / 2))
                axes.set_ylim(camera - view.window / 2, camera + view.window / 2)
            else:
                axes.set_ylim(view.extent[2], view.extent[3])
            axes.set_aspect("equal")
            bare(axes)
            if len(views) > 1:
                side_label(axes, view.feet[0], size=13)
            panels.append([view, axes, shown, camera])
            for foot in view.feet:
                u, v = orient_points(results["cop_x"].sel(foot=foot).values, results["cop_y"].sel(foot=foot).values,
                                     view.direction)
                line, = axes.plot([], [], color=PATH_COLOUR, linewidth=1.8, path_effects=white_edge(3.6))
                dot, = axes.plot([], [], "o", markersize=7, markerfacecolor=COLOURS[foot], markeredgecolor="white",
                                 markeredgewidth=1.2)
                traces[foot] = (u, v, line, dot, _trace_starts(results, foot))
        add_colourbar(left, panels[0][2], list(axes_list), extend, shrink=0.8)
        left.suptitle("pressure, toes up; COP: dot, trace", fontsize="small")
    else:
        feet_axes = left.subplots(1, 2)
        outlines = sensor_outlines(results)
        values = sensor_values(results)
        foot_map = results["foot_map"].values
        mappable = None
        for axes, foot in zip(feet_axes, FEET):
            n = len(values[foot])
            if not n:
                axes.set_axis_off()
                continue
            patches[foot] = draw_sensors(axes, sensor_shapes(outlines, foot, n), np.zeros(n), cmap, norm, threshold)
            mappable = patches[foot]
            side_label(axes, foot, size=13)
        if mappable is not None:
            add_colourbar(left, mappable, list(feet_axes), extend, shrink=0.8)
        left.suptitle("pressure per sensor", fontsize="medium")

    force_axes = right.subplots()
    for foot in FEET:
        force_axes.plot(time, results["force"].sel(foot=foot).values, color=COLOURS[foot], linewidth=1.2,
                        label=f"{SIDE[foot]} ({foot})")
    cursor = force_axes.axvline(time[0] if len(time) else 0.0, color="0.2", linewidth=1.2)
    force_axes.set_xlabel("time (s)")
    force_axes.set_ylabel("force (N)")
    force_axes.set_title("vertical force", fontsize="medium")
    force_axes.legend(loc="upper right", fontsize="small")
    top_force = float(np.nanmax(results["force"].values)) if np.isfinite(results["force"].values).any() else 1.0
    force_axes.set_ylim(bottom=0, top=max(top_force, 1.0) * 1.25)  # room for the clock above the curves
    clock = force_axes.text(0.02, 0.97, "", transform=force_axes.transAxes, ha="left", va="top", fontsize=13,
                            fontweight="bold", bbox=dict(facecolor="white", edgecolor="0.7", boxstyle="round"))
    import textwrap

    head, numbers = title_lines(results)
    fig.suptitle(textwrap.fill(head, 100) + "\n" + textwrap.fill(numbers, 100), fontsize="small")
    pace = "real time" if abs(speed - 1.0) < 1e-6 else f"{speed:.1f}× real time"
    clock.set_text(f"t = {time[-1] if len(time) else 0:.2f} s  ({pace})")  # the widest label, for the layout
    fig.draw_without_rendering()
    fig.set_layout_engine("none")  # laid out once: every frame is drawn in place, much faster

    # Drawn once without the moving parts; each frame redraws only those over that background.
    moving = [cursor, clock] + ([panel[2] for panel in panels] + [a for _, _, line, dot, _ in traces.values()
                                                                   for a in (line, dot)]
                                if geometry else list(patches.values()))
    for artist in moving:
        artist.set_animated(True)
    canvas = fig.canvas
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    writer = _gif_writer(play_fps) if suffix == ".gif" else _mp4_writer(play_fps)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        writer.setup(fig, str(path), dpi)
        try:
            for index in indices:
                index = int(index)
                frame = read(slice(index, index + 1))[0]
                if geometry:
                    for panel in panels:
                        view, axes, shown, camera = panel
                        turned = view.image(frame)
                        shown.set_data(masked(turned, threshold))
                        centre = view.centre_of(turned, threshold) if camera is not None else None
                        if centre is not None:  # eased, so the view glides from step to step
                            camera += 0.35 * (centre - camera)
                            camera = float(np.clip(camera, view.extent[2] + view.window / 2,
                                                   view.extent[3] - view.window / 2))
                            axes.set_ylim(camera - view.window / 2, camera + view.window / 2)
                            panel[3] = camera
                    for u, v, line, dot, starts in traces.values():
                        line.set_data(u[starts[index]:index + 1], v[starts[index]:index + 1])
                        if np.isfinite(u[index]) and np.isfinite(v[index]):
                            dot.set_data([u[index]], [v[index]])
                        else:
                            dot.set_data([], [])
                else:
                    for foot, collection in patches.items():
                        mine = frame[foot_map == FEET.index(foot)]
                        collection.set_array(masked(mine, threshold))
                cursor.set_xdata([time[index], time[index]])
                clock.set_text(f"t = {time[index]:.2f} s  ({pace})")
                canvas.restore_region(background)
                for artist in moving:
                    artist.axes.draw_artist(artist)
                writer.add_rgba(np.asarray(canvas.buffer_rgba()))
                written += 1
        finally:
            writer.finish()
    except BaseException:
        plt.close(fig)
        Path(path).unlink(missing_ok=True)
        raise
    plt.close(fig)
    return written
