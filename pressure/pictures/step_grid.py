"""Walking: every step's print heel down in a grid, all on one mm scale and one colour scale, each
with its COP path from heel to toe, its foot, number and time."""

from __future__ import annotations

import math

import numpy as np

from pressure.pictures.heel_down import StepPrint
from pressure.pictures.insoles import draw_sensors, sensor_shapes
from pressure.pictures.marks import bare, draw_path, print_bar_mm, scale_bar, side_label
from pressure.pictures.scales import COLOURS, add_colourbar, highest_kpa, masked, pressure_scale


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
    cmap, norm, extend = pressure_scale(style, highest_kpa(p.image for p in prints))
    n_rows, n_cols = grid_shape(len(prints), max_columns)
    axes_grid = np.atleast_1d(container.subplots(n_rows, n_cols, squeeze=False)).ravel()
    width = max((p.image.shape[1] * p.pitch_mm for p in prints if not p.sensors), default=0.0)
    length = max((p.image.shape[0] * p.pitch_mm for p in prints if not p.sensors), default=0.0)
    mappable = None
    for axes, one in zip(axes_grid, prints):
        if one.sensors:
            shapes = sensor_shapes(outlines, one.foot, one.image.shape[1])
            mappable = draw_sensors(axes, shapes, one.image[0], cmap, norm, threshold_kpa, edge="0.7")
        else:
            w, h = one.image.shape[1] * one.pitch_mm, one.image.shape[0] * one.pitch_mm
            left = (width - w) / 2
            mappable = axes.imshow(masked(one.image, threshold_kpa), origin="lower", cmap=cmap, norm=norm,
                                   extent=(left, left + w, 0, h), interpolation="nearest")
            if len(one.cop) >= 2:
                draw_path(axes, one.cop[:, 0] + left, one.cop[:, 1], width=1.6)
            axes.set_xlim(-0.06 * width, width * 1.06)
            axes.set_ylim(-0.12 * length, length * 1.12)
            axes.set_aspect("equal")
            bare(axes)
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
        scale_bar(used[0], print_bar_mm(width))
    if mappable is not None:
        add_colourbar(container, mappable, list(axes_grid), extend, shrink=0.9, fraction=0.04)
    return used
