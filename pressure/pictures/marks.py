"""What every panel carries: bare axes, the big L or R, a COP path drawn so it shows on any colour
(a black line with a white edge, a circle where it starts, an arrowhead where it ends) and a
scale bar in mm."""

from __future__ import annotations

import math

import numpy as np

from pressure.pictures.scales import COLOURS, SIDE

PATH_COLOUR = "black"


def bare(axes) -> None:
    """No ticks, light grey frame: a panel of a print, not a plot."""
    axes.set_xticks([])
    axes.set_yticks([])
    for spine in axes.spines.values():
        spine.set_color("0.75")


def side_label(axes, foot: str, size: float = 18) -> None:
    """The big L or R in the panel's upper left corner, in the foot's colour."""
    axes.text(0.04, 0.97, SIDE[foot], transform=axes.transAxes, ha="left", va="top", fontsize=size,
              fontweight="bold", color=COLOURS[foot], zorder=10,
              bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor=COLOURS[foot], linewidth=1.2))


def white_edge(linewidth: float) -> list:
    """Path effects that draw a line over a white one ``linewidth`` wide, so it shows on any colour."""
    from matplotlib import patheffects

    return [patheffects.Stroke(linewidth=linewidth, foreground="white"), patheffects.Normal()]


def draw_path(axes, u, v, *, width: float = 2.2, arrow: bool = True, colour: str = PATH_COLOUR,
              start_marker: bool = True) -> None:
    """A COP path as a visible line: white edge, circle at its start, arrowhead at its end."""
    from matplotlib import patheffects

    u, v = np.asarray(u, float), np.asarray(v, float)
    valid = np.isfinite(u) & np.isfinite(v)
    if valid.sum() < 2:
        return
    axes.plot(u, v, color=colour, linewidth=width, solid_capstyle="round", path_effects=white_edge(width + 2.2),
              zorder=6)
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


def print_bar_mm(width_mm: float) -> float:
    """The scale bar under a print ``width_mm`` wide: 50 mm, or 20 mm on a narrow one."""
    return 50.0 if width_mm > 70 else 20.0


def nice_length(span: float) -> float:
    """A round scale-bar length near a fifth of ``span``."""
    target = max(span / 5, 1e-6)
    base = 10 ** math.floor(math.log10(target))
    return float(min((1, 2, 5, 10), key=lambda m: abs(m * base - target)) * base)
