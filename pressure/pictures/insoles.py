"""Sensor sets without positions (insoles: pedar by default, ``has_geometry`` 0) drawn as their
sensors: the pedar outlines shipped in drivers/layouts or, for other sensor sets, a grid of
labelled tiles in file order, each coloured by its sensor's pressure."""

from __future__ import annotations

import math

import numpy as np

from pressure.pictures.marks import bare, side_label
from pressure.pictures.scales import COLOURS, add_colourbar, highest_kpa, masked, pressure_scale
from pressure.schema import FEET


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


def sensor_shapes(outlines: dict | None, foot: str, n: int) -> np.ndarray:
    """The shapes ``foot``'s ``n`` sensors are drawn as: its outlines (:func:`sensor_outlines`)
    where known, else tiles in file order."""
    return outlines[foot] if outlines is not None else tile_outlines(n)


def draw_sensors(axes, outlines: np.ndarray, values: np.ndarray, cmap, norm, threshold: float, *,
                 numbers: bool = False, edge: str = "0.55"):
    """Each sensor as a patch coloured by its value (unloaded sensors white)."""
    from matplotlib.collections import PolyCollection

    patches = PolyCollection(list(outlines), array=masked(values, threshold), cmap=cmap, norm=norm,
                             edgecolors=edge, linewidths=0.4)
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
    bare(axes)
    return patches


def draw_sensor_feet(container, dataset, style: str = "clinical"):
    """Insoles without positions: each foot's sensors as patches at a readable size."""
    values = sensor_values(dataset)
    cmap, norm, extend = pressure_scale(style, highest_kpa(values.values()))
    threshold = float(dataset.attrs.get("threshold_kpa", 0.0))
    outlines = sensor_outlines(dataset)
    feet = list(container.subplots(1, 2))
    mappable = None
    for axes, foot in zip(feet, FEET):
        mine = values[foot]
        if not mine.size:
            axes.text(0.5, 0.5, "no sensors", ha="center", va="center", transform=axes.transAxes)
            bare(axes)
            continue
        mappable = draw_sensors(axes, sensor_shapes(outlines, foot, len(mine)), mine, cmap, norm, threshold,
                                numbers=outlines is None)
        side_label(axes, foot)
        how = "pedar outlines (pressuRe, schematic)" if outlines is not None else \
            "positions unknown: file order,\nsensor 1 at the bottom left"
        axes.set_title(f"{foot} insole: peak pressure", fontsize="medium", color=COLOURS[foot])
        axes.set_xlabel(how, fontsize="x-small")
    if mappable is not None:
        add_colourbar(container, mappable, feet, extend, shrink=0.85)
    return feet
