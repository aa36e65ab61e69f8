"""The picture of a results file: peak-pressure image with both feet's centre-of-pressure paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

COLOURS = {"left": "#1f77b4", "right": "#d62728"}


def save_picture(dataset, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = dataset["peak_pressure_image"].values
    x, y = dataset["x"].values, dataset["y"].values
    pitch_x = float(dataset.attrs["pitch_x_mm"])
    pitch_y = float(dataset.attrs["pitch_y_mm"])
    extent = (x[0] - pitch_x / 2, x[-1] + pitch_x / 2, y[0] - pitch_y / 2, y[-1] + pitch_y / 2)
    height = 6.0
    width = min(16.0, max(4.0, height * (extent[1] - extent[0]) / (extent[3] - extent[2]) + 1.5))
    figure, axes = plt.subplots(figsize=(width, height), layout="constrained")
    threshold = float(dataset.attrs.get("threshold_kpa", 0.0))
    shown = np.ma.masked_where(~(image > threshold), image)
    mappable = axes.imshow(shown, origin="lower", extent=extent, cmap="magma_r", interpolation="nearest")
    figure.colorbar(mappable, ax=axes, label="peak pressure (kPa)", shrink=0.85)
    if int(dataset.attrs.get("has_geometry", 1)):
        for foot in ("left", "right"):
            cop_x = dataset["cop_x"].sel(foot=foot).values
            cop_y = dataset["cop_y"].sel(foot=foot).values
            if np.isfinite(cop_x).any():
                axes.plot(cop_x, cop_y, color=COLOURS[foot], linewidth=1.2, label=f"COP {foot}")
        axes.legend(loc="upper right", fontsize="small")
    axes.set_xlabel("x (mm)")
    axes.set_ylabel("y (mm)")
    axes.set_aspect("equal")
    axes.set_title(Path(str(dataset.attrs.get("source_url", ""))).name or "pressure", fontsize="medium")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
