"""The pressure colour scales, both from 0 kPa, and the feet's colours and letters.

``style="clinical"`` is the vendor tools' stepped rainbow (blue, cyan, green, yellow, red, magenta
in fixed kPa bands, the same on every picture, so pictures of two sessions compare at a glance; a
named matplotlib colormap, ``pressure_clinical``); ``style="magma"`` the continuous scale the
project drew before, from 0 to the picture's highest pressure. Unloaded cells are masked, so they
show white.
"""

from __future__ import annotations

import numpy as np

COLOURS = {"left": "#1f77b4", "right": "#d62728"}
SIDE = {"left": "L", "right": "R"}
STYLES = ("clinical", "magma")

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


def highest_kpa(images) -> float:
    """The highest pressure in ``images`` (arrays; None and all-NaN ones are passed over), 1.0 when
    there is none: the top of the ``magma`` scale."""
    return max((np.nanmax(image) for image in images if image is not None and np.isfinite(image).any()),
               default=1.0)


def masked(values: np.ndarray, threshold: float):
    """``values`` with every cell or sensor at or below ``threshold`` (and NaN) masked: drawn white."""
    return np.ma.masked_where(~(values > threshold), values)


def add_colourbar(container, mappable, axes, extend: str, **kwargs):
    bar = container.colorbar(mappable, ax=axes, extend=extend, label="peak pressure (kPa)", **kwargs)
    if extend == "max":  # the stepped scale: a tick at every band edge
        bar.set_ticks(CLINICAL_EDGES_KPA)
    return bar
