"""Standing sway is a few mm, too small to see on the foot: under each standing foot the same COP
path is drawn again, magnified and centred, with a scale bar. How much it is magnified is known
only once the figure is laid out, so its title is written last (:func:`finish_sway_titles`)."""

from __future__ import annotations

import numpy as np

from pressure.pictures.marks import bare, draw_path, nice_length, scale_bar
from pressure.pictures.scales import COLOURS, SIDE


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
    bare(axes)
    scale_bar(axes, nice_length(2 * half))
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
