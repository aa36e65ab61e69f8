"""The time-normalised step curves of a results dataset drawn per foot, mean with a +-1 SD band:
force, COP along and across the foot, and the anatomical regions' forces."""

from __future__ import annotations

import numpy as np

from pressure.pictures.scales import COLOURS


def has_curves(dataset) -> bool:
    return "curve_force_mean" in dataset and bool(np.isfinite(dataset["curve_force_mean"].values).any())


def curves_figure(dataset):
    """A matplotlib figure (the caller closes it) of the selected steps' mean curves per foot."""
    import matplotlib.pyplot as plt

    stance = dataset["stance"].values
    figure, axes = plt.subplots(2, 2, figsize=(11, 7), layout="constrained")
    panels = (("force", "force (N)"), ("cop_along", "COP along the foot from the heel (mm)"),
              ("cop_across", "COP across the foot, medial + (mm)"))
    for ax, (name, label) in zip(axes.flat, panels):
        for foot, colour in COLOURS.items():
            mean = dataset[f"curve_{name}_mean"].sel(foot=foot).values
            sd = dataset[f"curve_{name}_sd"].sel(foot=foot).values
            if not np.isfinite(mean).any():
                continue
            steps = int((dataset["step_selected"].values & (dataset["step_foot"].values == foot)).sum())
            ax.plot(stance, mean, color=colour, label=f"{foot} ({steps} steps)")
            ax.fill_between(stance, mean - np.nan_to_num(sd), mean + np.nan_to_num(sd), color=colour, alpha=0.2)
        ax.set_xlabel("stance (%)")
        ax.set_ylabel(label)
        _legend(ax, fontsize="small")
    ax = axes.flat[3]
    anatomical = dataset["region_set"].values == "anatomical"
    names = dataset["region"].values[anatomical]
    colours = plt.get_cmap("tab10")
    for k, name in enumerate(names):
        for foot, style in (("left", "-"), ("right", "--")):
            mean = dataset["curve_region_force_mean"].sel(foot=foot, region=name).values
            if np.isfinite(mean).any():
                ax.plot(stance, mean, style, color=colours(k % 10), label=str(name) if foot == "left" else None)
    ax.set_xlabel("stance (%)")
    ax.set_ylabel("region force (N); left -, right --")
    _legend(ax, fontsize="x-small", ncol=2)
    figure.suptitle("step curves: mean of the selected steps, band +-1 SD", fontsize="medium")
    return figure


def _legend(ax, **style) -> None:
    """A legend of the panel's curves; none where no curve was drawn (an insole has no COP
    along its foot): matplotlib warns of an empty legend."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**style)
