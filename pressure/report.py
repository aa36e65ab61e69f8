"""``pressure report``: one picture (PNG) or one self-contained page (HTML) per session.

Peak pressure of each foot with its COP path and the arch-index thirds, force over time for both
feet with the steps marked, the sway ellipse when standing (or step forces when walking), and the
summary table.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from pressure.balance import SWAY_LOWPASS_HZ, f_quantile_2
from pressure.kernels.components import label_components
from pressure.kernels.lowpass import lowpass
from pressure.picture import COLOURS
from pressure.summary import summary_rows

FIGURE_INCHES = (12.0, 10.0)
DPI = 100


def _foot_panel(axes, dataset, foot: str) -> None:
    image = dataset["peak_pressure_image"].values
    foot_map = dataset["foot_map"].values
    index = 0 if foot == "left" else 1
    mine = foot_map == index
    axes.set_title(f"{foot} foot: peak pressure", fontsize="medium")
    if not mine.any():
        axes.text(0.5, 0.5, "no print", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    x, y = dataset["x"].values, dataset["y"].values
    px, py = float(dataset.attrs["pitch_x_mm"]), float(dataset.attrs["pitch_y_mm"])
    # Walking leaves several prints of a foot: show the largest, with room for its toes.
    labels, n = label_components(mine)
    largest = np.argmax(np.bincount(labels[labels >= 0], minlength=n))
    rows, cols = np.nonzero(labels == largest)
    reach_r, reach_c = int(np.ceil(40 / py)), int(np.ceil(40 / px))
    r0, r1 = max(rows.min() - reach_r, 0), min(rows.max() + reach_r + 1, len(y))
    c0, c1 = max(cols.min() - reach_c, 0), min(cols.max() + reach_c + 1, len(x))
    crop = np.where(mine, image, np.nan)[r0:r1, c0:c1]
    extent = (x[c0] - px / 2, x[c1 - 1] + px / 2, y[r0] - py / 2, y[r1 - 1] + py / 2)
    shown = axes.imshow(np.ma.masked_invalid(crop), origin="lower", extent=extent, cmap="magma_r",
                        interpolation="nearest")
    axes.figure.colorbar(shown, ax=axes, label="kPa", shrink=0.8)
    regions = np.where(mine, dataset["region_map"].values, -1)[r0:r1, c0:c1].astype(float)
    if (regions >= 0).any():  # the arch-index thirds: boundaries between hindfoot, midfoot, forefoot
        axes.contour(x[c0:c1], y[r0:r1], regions, levels=[0.5, 1.5, 2.5], colors="white", linewidths=1.0)
    if int(dataset.attrs.get("has_geometry", 1)):
        axes.plot(dataset["cop_x"].sel(foot=foot), dataset["cop_y"].sel(foot=foot), color=COLOURS[foot],
                  linewidth=1.2, label="COP")
    axes.set_xlim(extent[0], extent[1])  # other prints' COP paths lie outside the crop
    axes.set_ylim(extent[2], extent[3])
    arch = float(dataset["arch_index"].sel(foot=foot))
    if np.isfinite(arch):
        axes.set_xlabel(f"x (mm); arch index {arch:.3f} ({dataset['arch_type'].sel(foot=foot).values})")
    axes.set_aspect("equal")


def _force_panel(axes, dataset) -> None:
    time = dataset["time"].values
    for foot in ("left", "right"):
        axes.plot(time, dataset["force"].sel(foot=foot), color=COLOURS[foot], label=foot)
    for start, end, foot in zip(dataset["step_start"].values, dataset["step_end"].values,
                                dataset["step_foot"].values):
        axes.axvspan(start, end, color=COLOURS[str(foot)], alpha=0.12)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("force (N)")
    axes.set_title("vertical force" + (" (steps shaded)" if dataset.sizes.get("step", 0) else ""),
                   fontsize="medium")
    axes.legend(loc="upper right", fontsize="small")


def _balance_panel(axes, dataset) -> None:
    rate = float(dataset.attrs["rate_hz"])
    if dataset.attrs.get("activity") in ("standing", "mixed") and int(dataset.attrs.get("has_geometry", 1)):
        time = dataset["time"].values
        standing = (time >= dataset.attrs.get("standing_from_s", -np.inf)) & (
            time <= dataset.attrs.get("standing_to_s", np.inf))
        x = np.where(standing, dataset["mat_cop_x"].values, np.nan)
        y = np.where(standing, dataset["mat_cop_y"].values, np.nan)
        if rate / 2 > SWAY_LOWPASS_HZ:
            x, y = lowpass(x, SWAY_LOWPASS_HZ, rate), lowpass(y, SWAY_LOWPASS_HZ, rate)
        valid = np.isfinite(x) & np.isfinite(y)
        if valid.sum() >= 3:
            x, y = x[valid], y[valid]
            axes.plot(x, y, color="0.3", linewidth=0.8)
            covariance = np.cov(np.vstack([x, y]))
            values, vectors = np.linalg.eigh(covariance)
            scale = np.sqrt(2 * f_quantile_2(0.95, len(x) - 2))
            angle = np.linspace(0, 2 * np.pi, 200)
            circle = np.stack([np.cos(angle), np.sin(angle)])
            ellipse = vectors @ (np.sqrt(np.maximum(values, 0))[:, None] * scale * circle)
            axes.plot(x.mean() + ellipse[0], y.mean() + ellipse[1], color="tab:green", label="95 % ellipse")
            axes.set_aspect("equal")
            axes.legend(fontsize="small")
        axes.set_title(f"whole-mat COP sway ({SWAY_LOWPASS_HZ:g} Hz low-pass)", fontsize="medium")
        axes.set_xlabel("x (mm)")
        axes.set_ylabel("y (mm)")
        return
    feet = [str(f) for f in dataset["step_foot"].values]
    axes.bar(range(len(feet)), dataset["step_peak_force"].values, color=[COLOURS[f] for f in feet])
    axes.set_xticks(range(len(feet)), [f"{i + 1}\n{f[0].upper()}" for i, f in enumerate(feet)])
    axes.set_title("peak force per step", fontsize="medium")
    axes.set_ylabel("N")


def figure(dataset):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=FIGURE_INCHES, layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[2.2, 1.2, 1.4])
    _foot_panel(fig.add_subplot(grid[0, 0]), dataset, "left")
    _foot_panel(fig.add_subplot(grid[0, 1]), dataset, "right")
    _force_panel(fig.add_subplot(grid[1, :]), dataset)
    _balance_panel(fig.add_subplot(grid[2, 0]), dataset)
    table_axes = fig.add_subplot(grid[2, 1])
    table_axes.set_axis_off()
    rows = summary_rows(dataset)
    table = table_axes.table(cellText=[[label, left, right] for label, left, right in rows],
                             colLabels=["", "left", "right"], loc="center", cellLoc="right")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    fig.suptitle(f"{Path(str(dataset.attrs.get('source_url', ''))).name}: {dataset.attrs.get('activity', '')}")
    return fig


def write_report(dataset, path: Path) -> None:
    """PNG or HTML by the file's extension; the HTML holds its picture inline."""
    import matplotlib.pyplot as plt

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".html", ".htm"):
        raise ValueError(f"{path}: a report is .html or .png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = figure(dataset)
    try:
        if suffix == ".png":
            fig.savefig(path, dpi=DPI)
            return
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    picture = base64.b64encode(buffer.getvalue()).decode()
    path.write_text(_html(dataset, picture), encoding="utf-8")


def _html(dataset, picture_base64: str) -> str:
    title = html.escape(Path(str(dataset.attrs.get("source_url", "session"))).name)
    summary = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(left)}</td><td>{html.escape(right)}</td></tr>"
                      for label, left, right in summary_rows(dataset))
    steps = ""
    if dataset.sizes.get("step", 0):
        columns = [("foot", "step_foot", "{}"), ("start (s)", "step_start", "{:.2f}"),
                   ("end (s)", "step_end", "{:.2f}"), ("peak force (N)", "step_peak_force", "{:.0f}"),
                   ("impulse (N s)", "step_impulse", "{:.1f}"), ("length (mm)", "step_length", "{:.0f}"),
                   ("width (mm)", "step_width", "{:.0f}"), ("angle (deg)", "step_progression_angle", "{:+.1f}"),
                   ("CPEI (%)", "step_cpei", "{:.1f}")]
        head = "".join(f"<th>{html.escape(name)}</th>" for name, _, _ in columns)
        body = ""
        for i in range(dataset.sizes["step"]):
            cells = []
            for _, variable, pattern in columns:
                value = dataset[variable].values[i]
                text = pattern.format(value) if not (isinstance(value, float) and np.isnan(value)) else "-"
                cells.append(f"<td>{html.escape(text)}</td>")
            body += "<tr>" + "".join(cells) + "</tr>"
        steps = f"<h2>Steps</h2><table><tr>{head}</tr>{body}</table>"
    attrs = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                    for k, v in dataset.attrs.items() if k in ("activity", "direction", "device", "rate_hz",
                                                                "pitch_x_mm", "threshold_kpa", "calibration",
                                                                "extra_blobs", "stuck_cells", "software_version"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1250px;margin:1em auto}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#f4f4f4}}img{{max-width:100%}}</style>
</head><body><h1>{title}</h1>
<img alt="peak pressure, force and balance of {title}" src="data:image/png;base64,{picture_base64}">
<h2>Summary</h2><table><tr><th></th><th>left</th><th>right</th></tr>{summary}</table>
{steps}<h2>Session</h2><table>{attrs}</table></body></html>
"""
