"""Each foot in its own panel, viewed from above with the toes up: cropped to the foot's box in
``peak_pressure_image`` by ``foot_map``, turned (:mod:`pressure.pictures.orientation`), with the
regions' boundaries and the COP path (standing: also magnified, :mod:`pressure.pictures.sway`);
both feet side by side with one colour bar (:func:`draw_feet`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pressure.pictures.insoles import draw_sensor_feet
from pressure.pictures.marks import bare, draw_path, print_bar_mm, scale_bar, side_label
from pressure.pictures.orientation import orient_grid, orient_points, view_direction
from pressure.pictures.scales import COLOURS, add_colourbar, highest_kpa, masked, pressure_scale
from pressure.pictures.session import has_geometry, has_standing, number, pitches
from pressure.pictures.sway import draw_sway
from pressure.schema import FEET, quiet_standing_of

FOOT_REACH_MM = 40.0  # toes within this of a print belong to its panel (a step's panel: MAX_GAP_MM)


@dataclass
class FootView:
    """One foot's crop of a peak image, turned toes up: ``image`` (kPa, NaN outside the foot),
    ``regions`` (region index, -1 outside), ``extent`` (u0, u1, v0, v1) in mm."""

    foot: str
    image: np.ndarray
    regions: np.ndarray
    extent: tuple[float, float, float, float]
    direction: str


def pieces(loaded: np.ndarray):
    """The 8-connected pieces of ``loaded``: (labels, how many, the largest one's label)."""
    from scipy import ndimage

    labels, n = ndimage.label(loaded, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    return labels, n, int(np.argmax(sizes))


def reach_cells(pitch_x: float, pitch_y: float) -> tuple[int, int]:
    """:data:`FOOT_REACH_MM` in (rows, columns) of cells."""
    return int(math.ceil(FOOT_REACH_MM / pitch_y)), int(math.ceil(FOOT_REACH_MM / pitch_x))


def foot_box(mine: np.ndarray, pitch_x: float, pitch_y: float, anchor: tuple[float, float] | None = None):
    """Rows and columns (slices) of one foot's print among ``mine`` (its cells over the session).

    All of them when they fit one foot (standing, insoles); else the print nearest ``anchor``
    (row, col) or the largest one, with whatever lies within :data:`FOOT_REACH_MM` of it (toes)."""
    rows, cols = np.nonzero(mine)
    if len(rows) == 0:
        return None
    length = (rows.max() - rows.min() + 1) * pitch_y
    width = (cols.max() - cols.min() + 1) * pitch_x
    if max(length, width) <= 380 and min(length, width) <= 200:
        return slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
    labels, _, chosen = pieces(mine)
    if anchor is not None and np.all(np.isfinite(anchor)):
        r, c = int(round(anchor[0])), int(round(anchor[1]))
        if 0 <= r < mine.shape[0] and 0 <= c < mine.shape[1]:
            near = labels[max(r - 3, 0):r + 4, max(c - 3, 0):c + 4]
            near = near[near > 0]
            if near.size:
                chosen = int(np.bincount(near).argmax())
    rr, cc = np.nonzero(labels == chosen)
    reach_r, reach_c = reach_cells(pitch_x, pitch_y)
    r0, r1 = max(rr.min() - reach_r, 0), min(rr.max() + reach_r + 1, mine.shape[0])
    c0, c1 = max(cc.min() - reach_c, 0), min(cc.max() + reach_c + 1, mine.shape[1])
    inside = np.nonzero(mine[r0:r1, c0:c1])
    return (slice(r0 + inside[0].min(), r0 + inside[0].max() + 1),
            slice(c0 + inside[1].min(), c0 + inside[1].max() + 1))


def _extent(u_centres: np.ndarray, v_centres: np.ndarray, pitch_u: float, pitch_v: float):
    return (float(u_centres[0] - pitch_u / 2), float(u_centres[-1] + pitch_u / 2),
            float(v_centres[0] - pitch_v / 2), float(v_centres[-1] + pitch_v / 2))


def foot_view(dataset, foot: str) -> FootView | None:
    """The crop of ``foot`` from ``peak_pressure_image`` (see :func:`foot_box`), turned toes up."""
    image = dataset["peak_pressure_image"].values.astype(float)
    mine = dataset["foot_map"].values == FEET.index(foot)
    px, py = pitches(dataset)
    anchor = None
    if has_standing(dataset) and has_geometry(dataset):
        standing = quiet_standing_of(dataset)
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
        bare(axes)
        if sway_axes is not None:
            sway_axes.set_axis_off()
        return None
    foot = view.foot
    threshold = float(dataset.attrs.get("threshold_kpa", 0.0)) if threshold is None else threshold
    shown = axes.imshow(masked(view.image, threshold), origin="lower", extent=view.extent, cmap=cmap, norm=norm,
                        interpolation="nearest", zorder=1)
    regions = view.regions.astype(float)
    if (regions >= 0).any() and len(np.unique(regions[regions >= 0])) > 1:
        u = np.linspace(view.extent[0], view.extent[1], regions.shape[1] + 1)
        v = np.linspace(view.extent[2], view.extent[3], regions.shape[0] + 1)
        axes.contour((u[:-1] + u[1:]) / 2, (v[:-1] + v[1:]) / 2, np.where(regions >= 0, regions, np.nan),
                     levels=[0.5, 1.5, 2.5], colors="0.35", linewidths=0.8, linestyles="--", zorder=3)
    standing = has_standing(dataset)
    if has_geometry(dataset):
        frames = quiet_standing_of(dataset) if standing else None
        u, v = _cop_in_view(dataset, foot, view, frames)
        draw_path(axes, u, v, width=2.6 if standing else 2.0, arrow=not standing)
        if sway_axes is not None:
            draw_sway(sway_axes, u, v, foot, main_axes=axes)
    span = max(view.extent[1] - view.extent[0], view.extent[3] - view.extent[2])
    axes.set_xlim(view.extent[0] - 0.04 * span, view.extent[1] + 0.04 * span)
    axes.set_ylim(view.extent[2] - 0.10 * span, view.extent[3] + 0.12 * span)
    axes.set_aspect("equal")
    bare(axes)
    side_label(axes, foot)
    scale_bar(axes, print_bar_mm(view.extent[1] - view.extent[0]))
    arch = number(dataset, "arch_index", foot=foot)
    label = f"{foot} foot"
    if np.isfinite(arch):
        label += f"\narch index {arch:.3f} ({dataset['arch_type'].sel(foot=foot).values})"
    axes.set_title(label, fontsize="medium", color=COLOURS[foot])
    return shown


def draw_feet(container, dataset, style: str = "clinical", *, sway_axes=None, colourbar: bool = True):
    """Both feet side by side (L left, R right) in ``container`` (a Figure or SubFigure), with a shared
    colour bar; sensor sets without positions as their sensors. ``sway_axes`` (two axes): where the
    standing feet's sway is drawn magnified. Returns the feet's axes."""
    if not has_geometry(dataset):
        if sway_axes is not None:
            for axes in sway_axes:
                axes.set_axis_off()
        return draw_sensor_feet(container, dataset, style)
    views = {foot: foot_view(dataset, foot) for foot in FEET}
    cmap, norm, extend = pressure_scale(style, highest_kpa(v.image for v in views.values() if v is not None))
    feet = list(container.subplots(1, 2))
    sways = list(sway_axes) if sway_axes is not None else [None, None]
    mappable = None
    for axes, sway, foot in zip(feet, sways, FEET):
        shown = draw_foot_panel(axes, dataset, views[foot], norm, cmap, sway_axes=sway)
        mappable = mappable or shown
    if mappable is not None and colourbar:
        add_colourbar(container, mappable, feet, extend, shrink=0.8)
    return feet
