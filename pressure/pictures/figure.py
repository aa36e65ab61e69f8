"""The session's picture put together: the title; the feet with their sway and, beside them, the
region table and the caption (standing, or whenever there are no step prints); every complete
step's print heel down (walking); saved as PNG by :func:`save_picture`."""

from __future__ import annotations

from pathlib import Path

from pressure.pictures.feet import draw_feet
from pressure.pictures.heel_down import try_step_prints
from pressure.pictures.insoles import sensor_outlines
from pressure.pictures.region_table import draw_region_table, region_table_inches
from pressure.pictures.scales import pressure_scale
from pressure.pictures.session import has_geometry, has_standing, stood_quietly
from pressure.pictures.step_grid import draw_step_grid, grid_shape
from pressure.pictures.sway import finish_sway_titles
from pressure.pictures.text import caption, draw_text_block, draw_title


def wants_steps(dataset) -> bool:
    return dataset.attrs.get("activity") in ("walking", "mixed") and dataset.sizes.get("step", 0) > 0


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
        prints, note = try_step_prints(dataset, recording)
        if note:
            note += " Each foot's largest print instead."
    standing = has_standing(dataset)
    show_feet = not prints or standing
    n_rows = grid_shape(len(prints))[0] if prints else 0
    table = region_table_inches(dataset)
    sway = show_feet and stood_quietly(dataset) and has_geometry(dataset)
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
        draw_text_block(right.add_subplot(rows[-1, :]), text)
    if prints:
        draw_step_grid(parts[1 if show_feet else 0], prints, style,
                       threshold_kpa=float(dataset.attrs.get("threshold_kpa", 5.0)), outlines=sensor_outlines(dataset))
    if not show_feet:
        bottom = parts[-1].subplots(1, 2, width_ratios=[1.2, 1.0])
        draw_region_table(bottom[0], dataset)
        draw_text_block(bottom[1], text)
    draw_title(figure, dataset)
    finish_sway_titles(figure)
    return figure
