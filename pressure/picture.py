"""Pictures of a results file in the way clinicians know them from the vendor tools.

* Each foot in its own panel, labelled **L** and **R**, viewed from above with the toes up (the
  session's ``direction`` turns the mat so), cropped to the foot's box in ``peak_pressure_image``
  by ``foot_map``.
* A pressure colour scale from 0 kPa: ``style="clinical"`` is the vendor tools' stepped rainbow
  (blue, cyan, green, yellow, red, magenta in fixed kPa bands, the same on every picture, so
  pictures of two sessions compare at a glance; a named matplotlib colormap,
  ``pressure_clinical``), ``style="magma"`` the continuous scale the project drew before, from 0
  to the picture's highest pressure.
* Centre-of-pressure paths as black lines with a white edge, a circle where the path starts and
  an arrowhead where it ends (heel to toe when walking). Standing sway is a few mm, so under each
  standing foot the same path is drawn magnified, with a scale bar.
* Walking: every step's own print in a grid, each turned heel down. Results files hold one peak
  image for the whole session, so the prints come from the recording
  (:func:`step_peaks` -> :func:`orient_steps` -> :func:`draw_step_grid`; the middle step is a pure
  function of per-step peak images and could read a stored per-step print instead).
* Insoles without sensor positions (pedar by default: ``has_geometry`` 0) are drawn as their
  sensors: the pedar outlines (drivers/layouts) or, for other sensor sets, a grid of labelled
  tiles in file order.
* The title gives subject (where the source names one), date, activity and the key numbers; the
  region table (peak pressure and pressure-time integral per region and foot) sits below.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pressure.schema import FEET

COLOURS = {"left": "#1f77b4", "right": "#d62728"}
SIDE = {"left": "L", "right": "R"}
STYLES = ("clinical", "magma")
REGION_NAMES = ("hindfoot", "midfoot", "forefoot", "toes")

# The vendor tools' stepped scale (kPa): the bands pressuRe draws for Novel (0-40, 40-60, 60-100,
# 100-150, 150-220, 220-300, > 300), split below 40 kPa so standing prints are not one colour, and
# extended beyond 300 kPa for forefoot and heel peaks when walking.
CLINICAL_NAME = "pressure_clinical"
CLINICAL_EDGES_KPA = (0.0, 15.0, 40.0, 60.0, 100.0, 150.0, 220.0, 300.0, 450.0, 600.0)
CLINICAL_COLOURS = ("#b9cbef",  # 0-15: pale blue
                    "#3b66d6",  # 15-40: blue
                    "#1fb8e3",  # 40-60: cyan
                    "#2bb24c",  # 60-100: green
                    "#b5dc3a",  # 100-150: yellow-green
                    "#ffe11a",  # 150-220: yellow
                    "#ff961b",  # 220-300: orange
                    "#e3241f",  # 300-450: red
                    "#e23ccc")  # 450-600: magenta
CLINICAL_OVER = "#74168f"  # above 600 kPa: purple
PATH_COLOUR = "black"

SUBJECT_KEYS = ("subject", "subject_name", "subject_id", "patient", "patient_name", "patient_id", "participant")
DATE_KEYS = ("started_at", "recorded_at", "date")
MAX_STEP_PANELS = 48
COP_MIN_FORCE_SHARE = 0.1  # a step's COP is drawn while its force is at least this share of its peak
FOOT_REACH_MM = 40.0  # toes and a heel island within this of a print belong to its panel


# -- colour scales -------------------------------------------------------------------------------

def clinical_colormap():
    """The stepped clinical colormap, registered with matplotlib as ``pressure_clinical``."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    if CLINICAL_NAME in matplotlib.colormaps:
        return matplotlib.colormaps[CLINICAL_NAME]
    cmap = ListedColormap(CLINICAL_COLOURS, name=CLINICAL_NAME).with_extremes(over=CLINICAL_OVER, bad=(1, 1, 1, 0))
    cmap.name = CLINICAL_NAME
    matplotlib.colormaps.register(cmap)
    return matplotlib.colormaps[CLINICAL_NAME]


def pressure_scale(style: str = "clinical", vmax_kpa: float | None = None):
    """(colormap, norm, colour bar ``extend``) of a pressure picture; both scales start at 0 kPa.

    ``clinical``: fixed bands (:data:`CLINICAL_EDGES_KPA`), above the last one purple.
    ``magma``: continuous from 0 to ``vmax_kpa`` (the picture's highest pressure)."""
    import matplotlib
    from matplotlib.colors import BoundaryNorm, Normalize

    if style == "clinical":
        cmap = clinical_colormap()
        return cmap, BoundaryNorm(CLINICAL_EDGES_KPA, cmap.N), "max"
    if style == "magma":
        cmap = matplotlib.colormaps["magma_r"].with_extremes(bad=(1, 1, 1, 0))
        top = float(vmax_kpa) if vmax_kpa is not None and np.isfinite(vmax_kpa) and vmax_kpa > 0 else 1.0
        return cmap, Normalize(0.0, top), "neither"
    raise ValueError(f"unknown picture style {style!r}; known: {', '.join(STYLES)}")


def add_colourbar(container, mappable, axes, extend: str, **kwargs):
    bar = container.colorbar(mappable, ax=axes, extend=extend, label="peak pressure (kPa)", **kwargs)
    if extend == "max":  # the stepped scale: a tick at every band edge
        bar.set_ticks(CLINICAL_EDGES_KPA)
    return bar


# -- what the session is: title, date, subject, key numbers -------------------------------------------

def source_name(attrs) -> str:
    url = str(attrs.get("source_url", "") or "")
    if url.startswith("pair://"):
        return " + ".join(Path(part.split("?")[0]).name for part in url[len("pair://"):].split("|"))
    if "://" in url and not url.startswith("file://"):
        return url.split("&")[0] if url.startswith("sim://") else url
    return Path(url.removeprefix("file://").split("?")[0]).name or "session"


def session_date(attrs) -> str:
    """The recording's date and time as 'YYYY-MM-DD HH:MM UTC' (or as the source wrote it), '' if unknown."""
    for key in DATE_KEYS:
        value = str(attrs.get(key, "") or "").strip()
        if not value:
            continue
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return moment.strftime("%Y-%m-%d %H:%M")
    return ""


def session_subject(attrs) -> str:
    for key in SUBJECT_KEYS:
        value = str(attrs.get(key, "") or "").strip()
        if value:
            return value
    return ""


def activity_text(attrs) -> str:
    activity = str(attrs.get("activity", "") or "")
    if activity == "mixed":
        return "standing, then walking"
    return activity or "activity unknown"


def _number(dataset, name, **where) -> float:
    if name not in dataset:
        return float("nan")
    value = dataset[name].sel(**where) if where else dataset[name]
    return float(value.values)


def key_numbers(dataset) -> list[str]:
    """The numbers a clinician looks for first, as short texts."""
    parts = []
    share = [_number(dataset, "load_share", foot=f) for f in FEET]
    if all(np.isfinite(share)):
        parts.append(f"load L {100 * share[0]:.0f} % / R {100 * share[1]:.0f} %")
    arch = []
    for foot in FEET:
        index = _number(dataset, "arch_index", foot=foot)
        if np.isfinite(index):
            arch.append(f"{SIDE[foot]} {index:.2f} {str(dataset['arch_type'].sel(foot=foot).values)}")
    if arch:
        parts.append("arch index " + ", ".join(arch))
    peaks = []
    for foot in FEET:
        values = dataset["peak_pressure"].sel(foot=foot).values
        if np.isfinite(values).any() and np.nanmax(values) > 0:
            peaks.append(f"{SIDE[foot]} {np.nanmax(values):.0f}")
    if peaks:
        parts.append("peak " + " / ".join(peaks) + " kPa")
    steps = dataset.sizes.get("step", 0)
    if steps:
        complete = int(dataset["step_complete"].values.astype(bool).sum()) if "step_complete" in dataset else steps
        cut = f" ({steps - complete} cut)" if complete < steps else ""
        parts.append(f"{steps} step{'s' if steps != 1 else ''}{cut}")
    cadence = _number(dataset, "cadence")
    if np.isfinite(cadence):
        parts.append(f"cadence {cadence:.0f}/min")
    if dataset.attrs.get("activity") in ("standing", "mixed") and "sway_ellipse_area" in dataset:
        area = float(dataset["sway_ellipse_area"].sel(part="mat"))
        if np.isfinite(area):
            parts.append(f"sway ellipse {area:.0f} mm²")
    return parts


def title_lines(dataset) -> list[str]:
    """Headline (subject or source, date, activity, duration) and the key numbers."""
    attrs = dataset.attrs
    duration = float(dataset["time"].values[-1]) if dataset.sizes.get("time", 0) else 0.0
    who = session_subject(attrs)
    head = [f"subject {who}" if who else source_name(attrs)]
    if who:
        head.append(source_name(attrs))
    head.append(session_date(attrs) or "date not recorded")
    head.append(f"{activity_text(attrs)}, {duration:.1f} s")
    return [" · ".join(head), " · ".join(key_numbers(dataset))]


REGION_MEASURES = (("region_peak_pressure", "peak (kPa)", "{:.0f}"), ("region_pti", "PTI (kPa s)", "{:.1f}"),
                   ("region_relative_load", "load (%)", "{:.1f}"))  # the last where the results hold it


def _region_measures(dataset):
    return [m for m in REGION_MEASURES if m[0] in dataset]


def region_columns(dataset) -> tuple[str, ...]:
    """Headings of :func:`region_rows`: region, then each measure for L, then for R."""
    return ("region",) + tuple(f"{SIDE[foot]} {heading}" for foot in FEET
                               for _, heading, _ in _region_measures(dataset))


def region_rows(dataset) -> list[tuple[str, ...]]:
    """(region, L peak kPa, L PTI kPa s[, L load %], R ...) as text; [] without per-region results."""
    if "region_peak_pressure" not in dataset or not has_regions(dataset):
        return []
    rows = []
    for region in dataset["region"].values:
        cells = [str(region)]
        for foot in FEET:
            for name, _, pattern in _region_measures(dataset):
                value = float(dataset[name].sel(foot=foot, region=region))
                cells.append(pattern.format(value) if np.isfinite(value) else "-")
        rows.append(tuple(cells))
    return rows


def has_regions(dataset) -> bool:
    """Regions need positions: a sensor set without geometry has everything in region 0."""
    regions = dataset["region_map"].values if "region_map" in dataset else np.zeros(0)
    return int(dataset.attrs.get("has_geometry", 1)) == 1 and len(np.unique(regions[regions >= 0])) > 1


def no_regions_reason(dataset) -> str:
    if not int(dataset.attrs.get("has_geometry", 1)):
        return "regions need sensor positions, and this recording has none"
    return "the analysis divides a print into regions only where it knows the print's geometry (not insoles)"


def region_table_inches(dataset) -> float:
    """The height the region table needs (its title and a row per region)."""
    rows = len(region_rows(dataset))
    return 0.9 if not rows else 0.4 + (0.19 if rows <= 8 else 0.15) * (rows + 1)


def draw_region_table(axes, dataset, fontsize: float = 8) -> None:
    axes.set_axis_off()
    rows = region_rows(dataset)
    if not rows:
        import textwrap

        axes.text(0.5, 0.5, textwrap.fill("No region table: " + no_regions_reason(dataset) + ".", 60), ha="center",
                  va="center", fontsize=fontsize, transform=axes.transAxes)
        return
    columns = region_columns(dataset)
    if len(rows) > 8:  # the anatomical regions too: smaller type
        fontsize = min(fontsize, 6.5)
    table = axes.table(cellText=[list(r) for r in rows], colLabels=list(columns), cellLoc="right",
                       bbox=[0, 0, 1, 1])  # the rows share the axes' height: the layout gives it room
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    for (row, col), cell in table.get_celld().items():
        if row == 0:
            cell.set_facecolor("#f0f0f0")
            if col > 0:
                cell.get_text().set_color(COLOURS["left" if columns[col].startswith("L ") else "right"])
    load = ", share of the foot's load" if "region_relative_load" in dataset else ""
    axes.set_title(f"regions: peak pressure, pressure-time integral (PTI){load}", fontsize=fontsize + 1)


# -- orientation: the mat turned so the person faces (or walks) up --------------------------------------

def orient_grid(image: np.ndarray, direction: str) -> np.ndarray:
    """``image[row=y, col=x]`` turned so ``direction`` points up (rows of the result run along it)
    and the person's right is towards higher columns; never mirrored."""
    if direction == "-y":
        return image[::-1, ::-1]
    if direction == "+x":
        return image.T[:, ::-1]
    if direction == "-x":
        return image.T[::-1, :]
    return image


def orient_points(x, y, direction: str):
    """Mat mm (x, y) to (u across, v along ``direction``), as :func:`orient_grid` turns the cells."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if direction == "-y":
        return -x, -y
    if direction == "+x":
        return -y, x
    if direction == "-x":
        return y, -x
    return x, y


def view_direction(results) -> str:
    """Which way the pictures turn the mat so toes point up: the heel-to-toe way of the complete
    steps' COP where they agree (insoles, whose ``direction`` is only the default facing, and walks
    in one direction), else the session's ``direction`` (standing; walks out and back)."""
    direction = str(results.attrs.get("direction", "+y"))
    if direction not in ("+y", "-y", "+x", "-x"):
        direction = "+y"
    if not results.sizes.get("step", 0) or not int(results.attrs.get("has_geometry", 1)):
        return direction
    time = results["time"].values
    complete = results["step_complete"].values.astype(bool) if "step_complete" in results else \
        np.ones(results.sizes["step"], bool)
    moves = []
    for i in np.flatnonzero(complete):
        side = FEET.index(str(results["step_foot"].values[i]))
        first = int(np.searchsorted(time, results["step_start"].values[i] - 1e-9))
        last = int(np.searchsorted(time, results["step_end"].values[i] + 1e-9, side="right"))
        x = results["cop_x"].values[first:last, side]
        y = results["cop_y"].values[first:last, side]
        force = results["force"].values[first:last, side]
        if not np.isfinite(force).any():
            continue
        ok = np.isfinite(x) & np.isfinite(y) & (force >= COP_MIN_FORCE_SHARE * np.nanmax(force))
        if ok.sum() >= 2:
            moves.append((x[ok][-1] - x[ok][0], y[ok][-1] - y[ok][0]))
    if not moves:
        return direction
    moves = np.array(moves)
    total = moves.sum(axis=0)
    if np.hypot(*total) < 0.5 * np.hypot(moves[:, 0], moves[:, 1]).sum():
        return direction  # the steps go different ways: out and back
    if abs(total[0]) > abs(total[1]):
        return "+x" if total[0] > 0 else "-x"
    return "+y" if total[1] > 0 else "-y"


def _extent(u_centres: np.ndarray, v_centres: np.ndarray, pitch_u: float, pitch_v: float):
    return (float(u_centres[0] - pitch_u / 2), float(u_centres[-1] + pitch_u / 2),
            float(v_centres[0] - pitch_v / 2), float(v_centres[-1] + pitch_v / 2))


@dataclass
class FootView:
    """One foot's crop of a peak image, turned toes up: ``image`` (kPa, NaN outside the foot),
    ``regions`` (region index, -1 outside), ``extent`` (u0, u1, v0, v1) in mm."""

    foot: str
    image: np.ndarray
    regions: np.ndarray
    extent: tuple[float, float, float, float]
    direction: str


def _pitches(dataset) -> tuple[float, float]:
    return float(dataset.attrs["pitch_x_mm"]), float(dataset.attrs["pitch_y_mm"])


def foot_box(mine: np.ndarray, pitch_x: float, pitch_y: float, anchor: tuple[float, float] | None = None):
    """Rows and columns (slices) of one foot's print among ``mine`` (its cells over the session).

    All of them when they fit one foot (standing, insoles); else the print nearest ``anchor``
    (row, col) or the largest one, with whatever lies within :data:`FOOT_REACH_MM` of it (toes)."""
    from scipy import ndimage

    rows, cols = np.nonzero(mine)
    if len(rows) == 0:
        return None
    length = (rows.max() - rows.min() + 1) * pitch_y
    width = (cols.max() - cols.min() + 1) * pitch_x
    if max(length, width) <= 380 and min(length, width) <= 200:
        return slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
    labels, n = ndimage.label(mine, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    chosen = int(np.argmax(sizes))
    if anchor is not None and np.all(np.isfinite(anchor)):
        r, c = int(round(anchor[0])), int(round(anchor[1]))
        if 0 <= r < mine.shape[0] and 0 <= c < mine.shape[1]:
            near = labels[max(r - 3, 0):r + 4, max(c - 3, 0):c + 4]
            near = near[near > 0]
            if near.size:
                chosen = int(np.bincount(near).argmax())
    rr, cc = np.nonzero(labels == chosen)
    reach_r, reach_c = int(math.ceil(FOOT_REACH_MM / pitch_y)), int(math.ceil(FOOT_REACH_MM / pitch_x))
    r0, r1 = max(rr.min() - reach_r, 0), min(rr.max() + reach_r + 1, mine.shape[0])
    c0, c1 = max(cc.min() - reach_c, 0), min(cc.max() + reach_c + 1, mine.shape[1])
    inside = np.nonzero(mine[r0:r1, c0:c1])
    return (slice(r0 + inside[0].min(), r0 + inside[0].max() + 1),
            slice(c0 + inside[1].min(), c0 + inside[1].max() + 1))


def _standing_frames(dataset) -> np.ndarray:
    time = dataset["time"].values
    if dataset.attrs.get("activity") == "mixed":
        return (time >= float(dataset.attrs.get("standing_from_s", -np.inf))) & (
            time <= float(dataset.attrs.get("standing_to_s", np.inf)))
    return np.ones(len(time), bool)


def foot_view(dataset, foot: str) -> FootView | None:
    """The crop of ``foot`` from ``peak_pressure_image`` (see :func:`foot_box`), turned toes up."""
    image = dataset["peak_pressure_image"].values.astype(float)
    mine = dataset["foot_map"].values == FEET.index(foot)
    px, py = _pitches(dataset)
    anchor = None
    if dataset.attrs.get("activity") in ("standing", "mixed") and int(dataset.attrs.get("has_geometry", 1)):
        standing = _standing_frames(dataset)
        cx = dataset["cop_x"].sel(foot=foot).values[standing]
        cy = dataset["cop_y"].sel(foot=foot).values[standing]
        if np.isfinite(cx).any():
            x0, y0 = float(dataset["x"].values[0]), float(dataset["y"].values[0])
            anchor = ((np.nanmedian(cy) - y0) / py, (np.nanmedian(cx) - x0) / px)
    box = foot_box(mine, px, py, anchor)
    if box is None:
        return None
    rows, cols = box
    crop = np.where(mine, image, np.nan)[rows, cols]
    regions = np.where(mine, dataset["region_map"].values, -1)[rows, cols]
    direction = view_direction(dataset)
    x, y = dataset["x"].values[cols], dataset["y"].values[rows]
    u, _ = orient_points(x, np.zeros_like(x), direction)
    _, v = orient_points(np.zeros_like(y), y, direction)
    if direction in ("+x", "-x"):  # rows of the turned crop run along x, columns along y
        u, _ = orient_points(np.zeros_like(y), y, direction)
        _, v = orient_points(x, np.zeros_like(x), direction)
        pitch_u, pitch_v = py, px
    else:
        pitch_u, pitch_v = px, py
    return FootView(foot, orient_grid(crop, direction), orient_grid(regions, direction),
                    _extent(np.sort(u), np.sort(v), pitch_u, pitch_v), direction)


# -- drawing helpers ------------------------------------------------------------------------------

def _masked(image: np.ndarray, threshold: float):
    return np.ma.masked_where(~(image > threshold), image)


def side_label(axes, foot: str, size: float = 18) -> None:
    """The big L or R in the panel's upper left corner, in the foot's colour."""
    axes.text(0.04, 0.97, SIDE[foot], transform=axes.transAxes, ha="left", va="top", fontsize=size,
              fontweight="bold", color=COLOURS[foot], zorder=10,
              bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor=COLOURS[foot], linewidth=1.2))


def draw_path(axes, u, v, *, width: float = 2.2, arrow: bool = True, colour: str = PATH_COLOUR,
              start_marker: bool = True) -> None:
    """A COP path as a visible line: white edge, circle at its start, arrowhead at its end."""
    from matplotlib import patheffects

    u, v = np.asarray(u, float), np.asarray(v, float)
    valid = np.isfinite(u) & np.isfinite(v)
    if valid.sum() < 2:
        return
    edge = [patheffects.Stroke(linewidth=width + 2.2, foreground="white"), patheffects.Normal()]
    axes.plot(u, v, color=colour, linewidth=width, solid_capstyle="round", path_effects=edge, zorder=6)
    # each unbroken piece (a step, a standing part) gets its own start and end marks
    breaks = np.flatnonzero(np.diff(valid.astype(int)) != 0) + 1
    for piece in np.split(np.arange(len(u)), breaks):
        piece = piece[valid[piece]]
        if len(piece) < 2:
            continue
        pu, pv = u[piece], v[piece]
        if start_marker:
            axes.plot(pu[0], pv[0], "o", markersize=width * 2.4, markerfacecolor="white",
                      markeredgecolor=colour, markeredgewidth=1.4, zorder=7)
        if arrow:
            span = np.hypot(pu - pu[-1], pv - pv[-1])
            back = np.flatnonzero(span >= max(span.max() * 0.15, 1e-9))
            tail = back[-1] if len(back) else 0
            axes.annotate("", xy=(pu[-1], pv[-1]), xytext=(pu[tail], pv[tail]), zorder=8,
                          arrowprops=dict(arrowstyle="-|>", color=colour, lw=width * 0.8,
                                          mutation_scale=10 + 3 * width, shrinkA=0, shrinkB=0,
                                          path_effects=[patheffects.withStroke(linewidth=width + 1.5,
                                                                               foreground="white")]))


def scale_bar(axes, length_mm: float, label: str | None = None, colour: str = "0.2") -> None:
    """A horizontal bar of ``length_mm`` in the lower right of a panel in mm."""
    u0, u1 = axes.get_xlim()
    v0, v1 = axes.get_ylim()
    x1 = u1 - 0.05 * (u1 - u0)
    y = v0 + 0.05 * (v1 - v0)
    axes.plot([x1 - length_mm, x1], [y, y], color=colour, linewidth=2.5, solid_capstyle="butt", zorder=9)
    axes.text(x1 - length_mm / 2, y + 0.015 * (v1 - v0), label or f"{length_mm:g} mm", ha="center",
              va="bottom", fontsize=7, color=colour, zorder=9)


def _bare(axes) -> None:
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_color("0.75")


def _nice_length(span: float) -> float:
    """A round scale-bar length near a fifth of ``span``."""
    target = max(span / 5, 1e-6)
    base = 10 ** math.floor(math.log10(target))
    return float(min((1, 2, 5, 10), key=lambda m: abs(m * base - target)) * base)


def _cop_in_view(dataset, foot: str, view: FootView, frames: np.ndarray | None = None):
    u, v = orient_points(dataset["cop_x"].sel(foot=foot).values, dataset["cop_y"].sel(foot=foot).values,
                         view.direction)
    if frames is not None:
        u, v = np.where(frames, u, np.nan), np.where(frames, v, np.nan)
    u0, u1, v0, v1 = view.extent
    inside = (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)
    return np.where(inside, u, np.nan), np.where(inside, v, np.nan)


def draw_foot_panel(axes, dataset, view: FootView | None, norm, cmap, *, sway_axes=None,
                    threshold: float | None = None):
    """One foot: peak pressure, region boundaries, the COP path; standing sway magnified in ``sway_axes``."""
    if view is None:
        axes.text(0.5, 0.5, "no print", ha="center", va="center", transform=axes.transAxes)
        _bare(axes)
        if sway_axes is not None:
            sway_axes.set_axis_off()
        return None
    foot = view.foot
    threshold = float(dataset.attrs.get("threshold_kpa", 0.0)) if threshold is None else threshold
    shown = axes.imshow(_masked(view.image, threshold), origin="lower", extent=view.extent, cmap=cmap, norm=norm,
                        interpolation="nearest", zorder=1)
    regions = view.regions.astype(float)
    if (regions >= 0).any() and len(np.unique(regions[regions >= 0])) > 1:
        u = np.linspace(view.extent[0], view.extent[1], regions.shape[1] + 1)
        v = np.linspace(view.extent[2], view.extent[3], regions.shape[0] + 1)
        axes.contour((u[:-1] + u[1:]) / 2, (v[:-1] + v[1:]) / 2, np.where(regions >= 0, regions, np.nan),
                     levels=[0.5, 1.5, 2.5], colors="0.35", linewidths=0.8, linestyles="--", zorder=3)
    standing = dataset.attrs.get("activity") in ("standing", "mixed")
    if int(dataset.attrs.get("has_geometry", 1)):
        frames = _standing_frames(dataset) if standing else None
        u, v = _cop_in_view(dataset, foot, view, frames)
        draw_path(axes, u, v, width=2.6 if standing else 2.0, arrow=not standing)
        if sway_axes is not None:
            draw_sway(sway_axes, u, v, foot, main_axes=axes)
    span = max(view.extent[1] - view.extent[0], view.extent[3] - view.extent[2])
    axes.set_xlim(view.extent[0] - 0.04 * span, view.extent[1] + 0.04 * span)
    axes.set_ylim(view.extent[2] - 0.10 * span, view.extent[3] + 0.12 * span)
    axes.set_aspect("equal")
    _bare(axes)
    side_label(axes, foot)
    scale_bar(axes, 50.0 if view.extent[1] - view.extent[0] > 70 else 20.0)
    arch = _number(dataset, "arch_index", foot=foot)
    label = f"{foot} foot"
    if np.isfinite(arch):
        label += f"\narch index {arch:.3f} ({dataset['arch_type'].sel(foot=foot).values})"
    axes.set_title(label, fontsize="medium", color=COLOURS[foot])
    return shown


def draw_sway(axes, u, v, foot: str, main_axes=None) -> None:
    """The standing COP path magnified, centred, with a scale bar. How much it is magnified
    against ``main_axes`` is known after layout: :func:`finish_sway_titles` writes it."""
    valid = np.isfinite(u) & np.isfinite(v)
    if valid.sum() < 3:
        axes.set_axis_off()
        return
    cu, cv = np.nanmean(u), np.nanmean(v)
    half = max(np.nanmax(np.abs(u - cu)), np.nanmax(np.abs(v - cv)), 1.0) * 1.3
    draw_path(axes, u - cu, v - cv, width=1.6, arrow=True)
    axes.set_xlim(-half * 1.3, half * 1.3)
    axes.set_ylim(-half, half)
    axes.set_aspect("equal")
    _bare(axes)
    scale_bar(axes, _nice_length(2 * half))
    axes.set_title(f"{SIDE[foot]} COP sway, magnified", fontsize="small", color=COLOURS[foot])
    if main_axes is not None:
        axes._pressure_sway = (main_axes, foot)


def finish_sway_titles(figure) -> None:
    """Write each sway panel's magnification (its mm against its foot panel's) once laid out."""
    pairs = [axes for axes in figure.get_axes() if hasattr(axes, "_pressure_sway")]
    if not pairs:
        return
    figure.draw_without_rendering()

    def per_mm(axes):
        (x0, _), (x1, _) = axes.transData.transform([(0, 0), (1, 0)])
        return abs(x1 - x0)

    for axes in pairs:
        main, foot = axes._pressure_sway
        factor = per_mm(axes) / per_mm(main) if per_mm(main) > 0 else 0.0
        text = f"{SIDE[foot]} COP sway, magnified ×{factor:.0f}" if factor >= 1.5 else f"{SIDE[foot]} COP path"
        axes.set_title(text, fontsize="small", color=COLOURS[foot])


def draw_feet(container, dataset, style: str = "clinical", *, sway_axes=None, colourbar: bool = True):
    """Both feet side by side (L left, R right) in ``container`` (a Figure or SubFigure), with a shared
    colour bar; sensor sets without positions as their sensors. ``sway_axes`` (two axes): where the
    standing feet's sway is drawn magnified. Returns the feet's axes."""
    if not int(dataset.attrs.get("has_geometry", 1)):
        if sway_axes is not None:
            for axes in sway_axes:
                axes.set_axis_off()
        return draw_sensor_feet(container, dataset, style)
    views = {foot: foot_view(dataset, foot) for foot in FEET}
    peak = max((np.nanmax(v.image) for v in views.values() if v is not None and np.isfinite(v.image).any()),
               default=1.0)
    cmap, norm, extend = pressure_scale(style, peak)
    feet = list(container.subplots(1, 2))
    sways = list(sway_axes) if sway_axes is not None else [None, None]
    mappable = None
    for axes, sway, foot in zip(feet, sways, FEET):
        shown = draw_foot_panel(axes, dataset, views[foot], norm, cmap, sway_axes=sway)
        mappable = mappable or shown
    if mappable is not None and colourbar:
        add_colourbar(container, mappable, feet, extend, shrink=0.8)
    return feet


# -- sensor sets without positions (insoles: pedar by default) --------------------------------------------

def sensor_outlines(dataset):
    """Per foot, each sensor's outline (n, k, 2) in arbitrary units with toes up, or None.

    A pedar export (99 sensors per insole) is drawn with the pressuRe outlines shipped in
    drivers/layouts (the drawing's shape; its scale is not used)."""
    n = dataset.sizes.get("x", 0)
    if "pedar" in str(dataset.attrs.get("device", "")).lower() and n == 99 and dataset.sizes.get("y") == 2:
        try:
            from drivers.files.pedar import load_layout

            outlines = load_layout()[0]
            return {foot: outlines[foot] for foot in FEET}
        except Exception:  # the layout files are missing: fall back to tiles
            return None
    return None


def sensor_values(dataset, image: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per foot, its sensors' values (file order) from a (y, x) image over a sensor set."""
    image = dataset["peak_pressure_image"].values if image is None else image
    foot_map = dataset["foot_map"].values
    return {foot: image[foot_map == FEET.index(foot)] for foot in FEET}


def tile_outlines(n: int) -> np.ndarray:
    """(n, 4, 2) tiles of a grid about 2.5 times as long as wide, sensor 1 at the bottom left."""
    cols = max(1, int(round(math.sqrt(n / 2.5))))
    rows = int(math.ceil(n / cols))
    index = np.arange(n)
    r, c = index // cols, index % cols
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], float) * 0.92
    out = np.empty((n, 4, 2))
    out[:, :, 0] = c[:, None] + corners[None, :, 0]
    out[:, :, 1] = r[:, None] + corners[None, :, 1]
    return out / max(rows, cols)


def draw_sensors(axes, outlines: np.ndarray, values: np.ndarray, cmap, norm, threshold: float, *,
                 numbers: bool = False, edge: str = "0.55"):
    """Each sensor as a patch coloured by its value (unloaded sensors white)."""
    from matplotlib.collections import PolyCollection

    shown = np.ma.masked_where(~(values > threshold), values)
    patches = PolyCollection(list(outlines), array=shown, cmap=cmap, norm=norm, edgecolors=edge,
                             linewidths=0.4)
    axes.add_collection(patches)
    if numbers:
        for k, (corners, value) in enumerate(zip(outlines, values)):
            centre = corners.mean(axis=0)
            text = f"{k + 1}\n{value:.0f}" if np.isfinite(value) else f"{k + 1}"
            axes.text(centre[0], centre[1], text, ha="center", va="center", fontsize=5.5, color="0.15")
    low, high = outlines.reshape(-1, 2).min(axis=0), outlines.reshape(-1, 2).max(axis=0)
    pad = 0.04 * (high - low).max()
    axes.set_xlim(low[0] - pad, high[0] + pad)
    axes.set_ylim(low[1] - pad, high[1] + pad * 4)
    axes.set_aspect("equal")
    _bare(axes)
    return patches


def draw_sensor_feet(container, dataset, style: str = "clinical"):
    """Insoles without positions: each foot's sensors as patches at a readable size."""
    values = sensor_values(dataset)
    peak = max((np.nanmax(v) for v in values.values() if v.size and np.isfinite(v).any()), default=1.0)
    cmap, norm, extend = pressure_scale(style, peak)
    threshold = float(dataset.attrs.get("threshold_kpa", 0.0))
    outlines = sensor_outlines(dataset)
    feet = list(container.subplots(1, 2))
    mappable = None
    for axes, foot in zip(feet, FEET):
        mine = values[foot]
        if not mine.size:
            axes.text(0.5, 0.5, "no sensors", ha="center", va="center", transform=axes.transAxes)
            _bare(axes)
            continue
        shapes = outlines[foot] if outlines is not None else tile_outlines(len(mine))
        mappable = draw_sensors(axes, shapes, mine, cmap, norm, threshold, numbers=outlines is None)
        side_label(axes, foot)
        how = "pedar outlines (pressuRe, schematic)" if outlines is not None else \
            "positions unknown: file order,\nsensor 1 at the bottom left"
        axes.set_title(f"{foot} insole: peak pressure", fontsize="medium", color=COLOURS[foot])
        axes.set_xlabel(how, fontsize="x-small")
    if mappable is not None:
        add_colourbar(container, mappable, feet, extend, shrink=0.85)
    return feet


# -- the recording behind a results file ---------------------------------------------------------------

def processing_settings(attrs) -> tuple[dict, dict]:
    """(options, fallbacks) the results were made with, from the ``processing`` attribute."""
    try:
        made = json.loads(str(attrs.get("processing", "") or "{}"))
    except ValueError:
        return {}, {}
    return dict(made.get("options") or {}), dict(made.get("fallbacks") or {})


def load_recording(results, source=None):
    """The recording ``results`` were computed from: ``source`` (a Recording, URL or path), else
    the results' ``source_url`` read again with the pitch, rate and scale they were made with.
    Raises ValueError (one line, naming the source) when it cannot be read or does not match."""
    import drivers
    from drivers.recording import Recording

    if isinstance(source, Recording):
        recording, url = source, source.source_url or "the recording"
    else:
        url = str(source) if source is not None else str(results.attrs.get("source_url", "") or "")
        if not url:
            raise ValueError("the results do not name their recording (no source_url); give the recording")
        if url.startswith("serial:"):
            raise ValueError(f"{url}: a live mat cannot be read again; give the session file it was captured to")
        _, fallbacks = processing_settings(results.attrs)
        fallbacks = {k: str(v) for k, v in fallbacks.items() if v is not None and k != "calibration"}
        try:
            recording = drivers.load(url, fallbacks=fallbacks)
        except Exception as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ValueError(message if url in message else f"{url}: {message}") from None
    n = results.sizes.get("time", 0)
    if recording.n_frames != n or tuple(recording.cells.shape[1:]) != tuple(results["peak_pressure_image"].shape):
        raise ValueError(f"{url}: {recording.n_frames} frames of {recording.cells.shape[1]} x "
                         f"{recording.cells.shape[2]} cells, but the results hold {n} frames of "
                         f"{results.sizes.get('y')} x {results.sizes.get('x')}; not the recording they were made from")
    return recording


def kpa_reader(results, recording):
    """A function of a frame slice giving those frames in kPa (float32), as the analysis saw them:
    the calibration table the results were made with, else the recording's linear scale."""
    options, fallbacks = processing_settings(results.attrs)
    table_path = options.get("calibration") or fallbacks.get("calibration")
    info = recording.info
    if table_path:
        from pressure.calibration import CalibrationTable

        table = CalibrationTable.from_csv(Path(table_path))
        return lambda index: table.apply(recording.cells[index])

    def linear(index):
        frames = recording.cells[index].astype(np.float32)
        if info.scale_kpa != 1.0:
            frames *= np.float32(info.scale_kpa)
        if info.offset_kpa != 0.0:
            frames += np.float32(info.offset_kpa)
        return frames

    return linear


# -- steps: each contact's print, turned heel down --------------------------------------------------------

@dataclass
class StepPeak:
    """One contact's peak (kPa, NaN off its cells) and onset (first frame above the threshold,
    from the contact's start; -1 never) over a crop of the mat whose cell (0, 0) lies at
    (``x0``, ``y0``) mm; ``cop`` (n, 2) the contact's COP in mat mm (may be empty)."""

    index: int
    foot: str
    start_s: float
    end_s: float
    complete: bool
    peak: np.ndarray
    onset: np.ndarray
    x0: float
    y0: float
    cop: np.ndarray
    sensors: bool = False  # a sensor set: peak is (1, n sensors) in file order


@dataclass
class StepPrint:
    """A step's print turned heel down: ``image`` kPa (NaN off the print), rows along the foot
    from heel (row 0) to toes, on square cells of ``pitch_mm``; ``cop`` (n, 2) in the image's mm
    (origin at its lower left corner); ``heel_from`` says what decided which end is the heel."""

    index: int
    foot: str
    start_s: float
    end_s: float
    complete: bool
    image: np.ndarray
    pitch_mm: float
    cop: np.ndarray
    angle_deg: float
    heel_from: str
    sensors: bool = False


def contact_peak(frames_kpa: np.ndarray, cells: np.ndarray, threshold_kpa: float):
    """Peak and onset of one contact over ``frames_kpa`` (time, rows, cols) restricted to ``cells``."""
    with np.errstate(invalid="ignore"):
        peak = np.fmax.reduce(np.where(cells, frames_kpa, np.nan), axis=0) if len(frames_kpa) else \
            np.full(cells.shape, np.nan)
        above = frames_kpa > threshold_kpa
    onset = np.where(above.any(axis=0), above.argmax(axis=0), -1)
    return np.where(cells, peak, np.nan), np.where(cells, onset, -1)


def step_peaks(results, recording=None, *, include_cut: bool = False,
               max_steps: int = MAX_STEP_PANELS) -> list[StepPeak]:
    """Each step's peak image from the recording (read again by :func:`load_recording` when not given).

    A step's print: the cells of its foot (``foot_map``) over the contact's frames, kept where they
    pass the threshold, the largest piece with what lies within 40 mm of it (toes), cropped.
    Sensor sets without positions give each step's per-sensor peaks. At most ``max_steps``, in time
    order; cut steps only with ``include_cut``. Frames are read a contact at a time."""
    n_steps = results.sizes.get("step", 0)
    if not n_steps:
        return []
    complete = results["step_complete"].values.astype(bool) if "step_complete" in results else np.ones(n_steps, bool)
    wanted = [i for i in range(n_steps) if include_cut or complete[i]][:max_steps]
    if not wanted:
        return []
    recording = load_recording(results, recording)
    read = kpa_reader(results, recording)
    time = results["time"].values
    foot_map = results["foot_map"].values
    threshold = float(results.attrs.get("threshold_kpa", 5.0))
    px, py = _pitches(results)
    geometry = bool(int(results.attrs.get("has_geometry", 1)))
    stuck = results["cell_mask"].values == 1 if "cell_mask" in results else np.zeros(foot_map.shape, bool)
    x, y = results["x"].values, results["y"].values
    peaks = []
    for i in wanted:
        foot = str(results["step_foot"].values[i])
        first = int(np.searchsorted(time, results["step_start"].values[i] - 1e-9))
        last = int(np.searchsorted(time, results["step_end"].values[i] + 1e-9, side="right"))
        mine = (foot_map == FEET.index(foot)) & ~stuck
        if not mine.any() or last <= first:
            continue
        rows, cols = np.nonzero(mine)
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        peak = np.full((r1 - r0, c1 - c0), np.nan)
        onset = np.full((r1 - r0, c1 - c0), -1)
        for chunk in range(first, last, 256):  # bounded memory on large mats and fast rates
            block = read(slice(chunk, min(chunk + 256, last)))[:, r0:r1, c0:c1]
            p, o = contact_peak(block, mine[r0:r1, c0:c1], threshold)
            new = (onset < 0) & (o >= 0)
            onset = np.where(new, o + (chunk - first), onset)
            peak = np.fmax(peak, p)
        side = FEET.index(foot)
        cop = np.stack([results["cop_x"].values[first:last, side], results["cop_y"].values[first:last, side]], axis=1)
        force = results["force"].values[first:last, side]
        top = np.nanmax(force) if np.isfinite(force).any() else 0.0
        cop = cop[np.isfinite(cop).all(axis=1) & (force >= COP_MIN_FORCE_SHARE * top)]  # light touch: noisy COP
        meta = dict(index=i, foot=foot, start_s=float(time[first]), end_s=float(time[min(last, len(time)) - 1]),
                    complete=bool(complete[i]))
        if not geometry:
            order = mine[r0:r1, c0:c1]
            peaks.append(StepPeak(**meta, peak=peak[order][None, :], onset=onset[order][None, :], x0=0.0, y0=0.0,
                                  cop=np.zeros((0, 2)), sensors=True))
            continue
        keep = _print_cells(peak > threshold, px, py)
        if not keep.any():
            continue
        rr, cc = np.nonzero(keep)
        a0, a1, b0, b1 = rr.min(), rr.max() + 1, cc.min(), cc.max() + 1
        peaks.append(StepPeak(**meta, peak=np.where(keep, peak, np.nan)[a0:a1, b0:b1],
                              onset=np.where(keep, onset, -1)[a0:a1, b0:b1],
                              x0=float(x[c0 + b0]), y0=float(y[r0 + a0]), cop=cop))
    return peaks


def _print_cells(loaded: np.ndarray, px: float, py: float) -> np.ndarray:
    """The largest piece of ``loaded`` and every piece within 40 mm of it (toes, a heel island)."""
    from scipy import ndimage

    labels, n = ndimage.label(loaded, structure=np.ones((3, 3)))
    if n <= 1:
        return loaded
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    main = labels == int(np.argmax(sizes))
    reach = ndimage.binary_dilation(main, structure=np.ones((2 * int(math.ceil(FOOT_REACH_MM / py)) + 1,
                                                             2 * int(math.ceil(FOOT_REACH_MM / px)) + 1), bool))
    near = np.unique(labels[reach & loaded])
    return np.isin(labels, near[near > 0])


def heel_down(peak: np.ndarray, onset: np.ndarray, pitch_x: float, pitch_y: float, *,
              cop: np.ndarray | None = None, origin: tuple[float, float] = (0.0, 0.0),
              pitch_mm: float | None = None):
    """A print turned so its long (principal) axis points up with the heel at the bottom.

    The heel is the end that loaded first (``onset`` correlated with the position along the axis);
    where the loading order says nothing (all cells at once), the end the COP started at, else the
    narrower end. Returns (image on square cells of ``pitch_mm`` (default half the finer pitch),
    COP in the image's mm, rotation in degrees, what decided the heel, the pitch used).
    Nearest-cell resampling: every value shown is a measured one (the peak is kept)."""
    loaded = np.isfinite(peak)
    rows, cols = np.nonzero(loaded)
    pitch_mm = pitch_mm or min(pitch_x, pitch_y) / 2
    if len(rows) < 3:
        return np.where(loaded, peak, np.nan), np.zeros((0, 2)), 0.0, "none", min(pitch_x, pitch_y)
    points = np.stack([cols * pitch_x, rows * pitch_y], axis=1).astype(float)
    centre = points.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((points - centre).T))
    axis = vectors[:, int(np.argmax(values))]
    along = (points - centre) @ axis
    times = onset[rows, cols].astype(float)
    heel_from = "shape"
    sign = 0.0
    if np.ptp(times) > 0 and np.ptp(along) > 0:
        r = float(np.corrcoef(along, times)[0, 1])
        if abs(r) >= 0.2:
            sign, heel_from = np.sign(r), "loading"
    if sign == 0 and cop is not None and len(cop) >= 2:
        shift = float((cop[-1] - cop[0]) @ axis)
        if abs(shift) > 0.1 * np.ptp(along):
            sign, heel_from = np.sign(shift), "cop"
    if sign == 0:  # the heel end is the narrower one
        across = (points - centre) @ np.array([-axis[1], axis[0]])
        third = np.ptp(along) / 3
        back, front = along < along.min() + third, along > along.max() - third
        width = lambda part: np.ptp(across[part]) if part.sum() > 1 else 0.0  # noqa: E731
        sign = 1.0 if width(back) <= width(front) else -1.0
    axis = axis * sign  # heel to toe
    angle = math.degrees(math.atan2(axis[1], axis[0]))
    turn = math.radians(90.0 - angle)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    corners = np.array([(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]) * (pitch_x, pitch_y)
    turned = ((points[:, None, :] + corners[None]) - centre).reshape(-1, 2) @ rotation.T
    low, high = turned.min(axis=0), turned.max(axis=0)
    n_u, n_v = (np.ceil((high - low) / pitch_mm)).astype(int)
    gu, gv = np.meshgrid(low[0] + (np.arange(n_u) + 0.5) * pitch_mm, low[1] + (np.arange(n_v) + 0.5) * pitch_mm)
    back = np.stack([gu.ravel(), gv.ravel()], axis=1) @ rotation + centre  # inverse rotation
    col = np.round(back[:, 0] / pitch_x).astype(int)
    row = np.round(back[:, 1] / pitch_y).astype(int)
    inside = (row >= 0) & (row < peak.shape[0]) & (col >= 0) & (col < peak.shape[1])
    image = np.full(n_u * n_v, np.nan)
    image[inside] = peak[row[inside], col[inside]]
    image = image.reshape(n_v, n_u)
    turned_cop = np.zeros((0, 2))
    if cop is not None and len(cop):
        relative = np.asarray(cop, float) - np.asarray(origin, float)
        turned_cop = (relative - centre) @ rotation.T - low
    return image, turned_cop, float(90.0 - angle), heel_from, float(pitch_mm)


def orient_steps(peaks: list[StepPeak], pitch_x: float, pitch_y: float) -> list[StepPrint]:
    """Each step's peak turned heel down (:func:`heel_down`); sensor sets stay as they are."""
    prints = []
    for step in peaks:
        meta = dict(index=step.index, foot=step.foot, start_s=step.start_s, end_s=step.end_s,
                    complete=step.complete)
        if step.sensors:
            prints.append(StepPrint(**meta, image=step.peak, pitch_mm=1.0, cop=np.zeros((0, 2)), angle_deg=0.0,
                                    heel_from="insole", sensors=True))
            continue
        image, cop, angle, heel_from, pitch = heel_down(step.peak, step.onset, pitch_x, pitch_y, cop=step.cop,
                                                        origin=(step.x0, step.y0))
        prints.append(StepPrint(**meta, image=image, pitch_mm=pitch, cop=cop, angle_deg=angle, heel_from=heel_from))
    return prints


def step_prints(results, recording=None, *, include_cut: bool = False,
                max_steps: int = MAX_STEP_PANELS) -> list[StepPrint]:
    """Every complete step's print, heel down: :func:`step_peaks` then :func:`orient_steps`."""
    px, py = _pitches(results)
    return orient_steps(step_peaks(results, recording, include_cut=include_cut, max_steps=max_steps), px, py)


def grid_shape(n: int, max_columns: int = 8, min_columns: int = 4) -> tuple[int, int]:
    """(rows, columns) of a grid of ``n`` panels: rows of at most ``max_columns``, balanced; never
    fewer than ``min_columns`` columns, so one or two prints are not blown up to the page's width."""
    rows = max(1, math.ceil(n / max_columns))
    return rows, max(min_columns, math.ceil(n / rows))


def draw_step_grid(container, prints: list[StepPrint], style: str = "clinical", *, threshold_kpa: float = 5.0,
                   max_columns: int = 8, outlines: dict | None = None, total_steps: int | None = None):
    """One panel per step print, heel down, all on one mm scale and one colour scale; the COP
    path with its arrow from heel to toe; L/R and the step's number and time above each."""
    if not prints:
        axes = container.subplots()
        axes.text(0.5, 0.5, "no complete steps", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return []
    peak = max((np.nanmax(p.image) for p in prints if np.isfinite(p.image).any()), default=1.0)
    cmap, norm, extend = pressure_scale(style, peak)
    n_rows, n_cols = grid_shape(len(prints), max_columns)
    axes_grid = np.atleast_1d(container.subplots(n_rows, n_cols, squeeze=False)).ravel()
    width = max((p.image.shape[1] * p.pitch_mm for p in prints if not p.sensors), default=0.0)
    length = max((p.image.shape[0] * p.pitch_mm for p in prints if not p.sensors), default=0.0)
    mappable = None
    for axes, one in zip(axes_grid, prints):
        if one.sensors:
            shapes = outlines[one.foot] if outlines is not None else tile_outlines(one.image.shape[1])
            mappable = draw_sensors(axes, shapes, one.image[0], cmap, norm, threshold_kpa, edge="0.7")
        else:
            w, h = one.image.shape[1] * one.pitch_mm, one.image.shape[0] * one.pitch_mm
            left = (width - w) / 2
            mappable = axes.imshow(_masked(one.image, threshold_kpa), origin="lower", cmap=cmap, norm=norm,
                                   extent=(left, left + w, 0, h), interpolation="nearest")
            if len(one.cop) >= 2:
                draw_path(axes, one.cop[:, 0] + left, one.cop[:, 1], width=1.6)
            axes.set_xlim(-0.06 * width, width * 1.06)
            axes.set_ylim(-0.12 * length, length * 1.12)
            axes.set_aspect("equal")
            _bare(axes)
        for spine in axes.spines.values():
            spine.set_color(COLOURS[one.foot])
            spine.set_linewidth(1.4)
        side_label(axes, one.foot, size=11)
        value = np.nanmax(one.image) if np.isfinite(one.image).any() else float("nan")
        title = f"step {one.index + 1} · {one.start_s:.2f} s" + ("" if one.complete else " (cut)")
        axes.set_title(title, fontsize="small", color=COLOURS[one.foot])
        axes.set_xlabel(f"peak {value:.0f} kPa", fontsize="x-small")
    for axes in axes_grid[len(prints):]:
        axes.set_axis_off()
    used = list(axes_grid[:len(prints)])
    if width > 0 and used:
        scale_bar(used[0], 50.0 if width > 70 else 20.0)
    if mappable is not None:
        add_colourbar(container, mappable, list(axes_grid), extend, shrink=0.9, fraction=0.04)
    return used


# -- the picture ----------------------------------------------------------------------------------

def wants_steps(dataset) -> bool:
    return dataset.attrs.get("activity") in ("walking", "mixed") and dataset.sizes.get("step", 0) > 0


def caption(dataset, prints: list[StepPrint] | None, note: str = "", style: str = "clinical") -> str:
    standing = dataset.attrs.get("activity") in ("standing", "mixed")
    scale = ("colours in fixed kPa bands from 0 (clinical scale)" if style == "clinical"
             else "colours from 0 kPa to the highest pressure")
    parts = ["Peak pressure viewed from above, toes up; L left foot, R right foot; " + scale + "."]
    if int(dataset.attrs.get("has_geometry", 1)):
        text = "COP: black line with a white edge, circle where it starts"
        text += ("; standing sway at true size on the foot and magnified beside it (scale bar)."
                 if standing else ", arrowhead where it ends (heel to toe).")
        parts.append(text)
    if prints:
        total = int(dataset["step_complete"].values.astype(bool).sum()) if "step_complete" in dataset else len(prints)
        cut = dataset.sizes.get("step", 0) - total
        count = f"{len(prints)} of {total} complete steps" + (f"; {cut} cut by the recording or the mat not shown"
                                                               if cut else "")
        if all(p.sensors for p in prints):
            parts.append(f"Steps: each complete step's peak per sensor ({count}).")
        else:
            how = sorted({p.heel_from for p in prints})
            parts.append(f"Steps: each complete step's own print ({count}), turned heel down along its long axis "
                         f"(heel end from: {', '.join(how)}); arrow: COP heel to toe.")
    if note:
        parts.append(note)
    warnings = [line for line in str(dataset.attrs.get("warnings", "") or "").splitlines() if line.strip()]
    if warnings:
        parts.append("Check: " + "; ".join(warnings))
    return "\n".join(parts)


def _text_block(axes, text: str, fontsize: float = 7.5) -> None:
    import textwrap

    axes.set_axis_off()
    wrapped = "\n".join(textwrap.fill(line, 95) for line in text.splitlines())
    axes.text(0.0, 1.0, wrapped, ha="left", va="top", fontsize=fontsize, transform=axes.transAxes)


def save_picture(dataset, path: Path, *, style: str = "clinical", recording=None, dpi: int = 110) -> None:
    """The session's picture (PNG), :func:`picture_figure` saved to ``path``."""
    import matplotlib.pyplot as plt

    figure = picture_figure(dataset, style=style, recording=recording)
    try:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=dpi)
    finally:
        plt.close(figure)


def picture_figure(dataset, *, style: str = "clinical", recording=None):
    """The session's picture: title with subject, date, activity and key numbers; the feet
    (standing, or whenever there are no step prints) and every complete step's print heel down
    (walking: read from ``recording``, else from the results' source; where that cannot be read,
    each foot's largest print and a note why); the region table; a caption saying how it is drawn.
    ``style``: ``clinical`` (stepped vendor-like scale) or ``magma``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pressure_scale(style)  # an unknown style fails before any work
    prints, note = None, ""
    if wants_steps(dataset):
        try:
            prints = step_prints(dataset, recording)
        except (ValueError, OSError) as error:
            note = f"Step prints not drawn: {error}. Each foot's largest print instead."
    standing = dataset.attrs.get("activity") in ("standing", "mixed")
    show_feet = not prints or standing
    n_rows = grid_shape(len(prints))[0] if prints else 0
    table = region_table_inches(dataset)
    sway = show_feet and standing and int(dataset.attrs.get("has_geometry", 1))
    feet_height = max(5.2, (1.6 if sway else 0.0) + table + 1.3)
    heights = ([feet_height] if show_feet else []) + ([2.9 * n_rows + 0.3] if prints else []) + (
        [] if show_feet else [max(1.3, table)])
    figure = plt.figure(figsize=(11.0, sum(heights) + 0.8), layout="constrained")
    parts = figure.subfigures(len(heights), 1, height_ratios=heights, squeeze=False)[:, 0]
    text = caption(dataset, prints, note, style)
    if show_feet:
        left, right = parts[0].subfigures(1, 2, width_ratios=[1.2, 1.0])
        rows = right.add_gridspec(3 if sway else 2, 2, height_ratios=([1.5] if sway else []) + [table, 1.0])
        sway_axes = [right.add_subplot(rows[0, i]) for i in range(2)] if sway else None
        draw_feet(left, dataset, style, sway_axes=sway_axes)
        draw_region_table(right.add_subplot(rows[-2, :]), dataset)
        _text_block(right.add_subplot(rows[-1, :]), text)
    if prints:
        draw_step_grid(parts[1 if show_feet else 0], prints, style,
                       threshold_kpa=float(dataset.attrs.get("threshold_kpa", 5.0)), outlines=sensor_outlines(dataset))
    if not show_feet:
        bottom = parts[-1].subplots(1, 2, width_ratios=[1.2, 1.0])
        draw_region_table(bottom[0], dataset)
        _text_block(bottom[1], text)
    head, numbers = title_lines(dataset)
    figure.suptitle(f"{head}\n{numbers}", fontsize="medium")
    finish_sway_titles(figure)
    return figure
