"""``pressure report``: one picture (PNG), one self-contained page (HTML) or an animation (GIF, MP4)
of a session.

The picture: a title with subject (where the source names one), date, activity and key numbers;
each foot's peak pressure labelled L and R on the clinical colour scale (or every complete step's
print heel down when walking), force over time for both feet with the steps marked, the sway
ellipse when standing (or step forces when walking), and the summary and region tables. The page
holds the same picture without the tables, which it gives once as HTML tables, with the session's
attributes under readable names and units. Animations: :mod:`pressure.animation`.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from pressure.curve_plots import curves_figure, has_curves
from pressure.balance import SWAY_LOWPASS_HZ, f_quantile_2
from pressure.kernels.lowpass import lowpass
from pressure.pictures.feet import draw_feet
from pressure.pictures.figure import wants_steps
from pressure.pictures.heel_down import try_step_prints
from pressure.pictures.insoles import sensor_outlines
from pressure.pictures.region_table import draw_region_table, no_regions_reason, region_columns, region_rows
from pressure.pictures.scales import COLOURS, SIDE, pressure_scale
from pressure.pictures.session import complete_steps, has_geometry, standing_spans, stood_quietly
from pressure.pictures.step_grid import draw_step_grid
from pressure.pictures.text import (MAX_ACTIVITY_PARTS, activity_text, caption, draw_title, duration_text, key_numbers,
                                    session_date, session_subject, source_name, step_starts, warning_lines)
from pressure.schema import FEET, quiet_standing_of
from pressure.summary import summary_rows

FIGURE_INCHES = (12.0, 10.0)
PAGE_FIGURE_INCHES = (12.0, 9.0)
DPI = 100
REPORT_STEPS = 16  # step prints in a report's picture (two rows of eight)
PICTURES = (".png", ".html", ".htm")
ANIMATIONS = (".gif", ".mp4")

# Session attributes as a reader should see them: name (unit), in this order; others follow.
ATTRIBUTE_LABELS = {
    "activity": "Activity",
    "direction": "Direction (facing when standing, walking direction when walking)",
    "direction_source": "Direction decided by",
    "standing_from_s": "Standing from (s)",
    "standing_to_s": "Standing until (s)",
    "contacts": "Foot contacts found",
    "standing_contacts": "Standing contacts",
    "load_share_from": "Load share measured from",
    "device": "Device",
    "source_url": "Source",
    "captured_from": "Captured from",
    "left_source": "Left insole file",
    "right_source": "Right insole file",
    "started_at": "Recording started (UTC)",
    "rate_hz": "Frame rate (Hz)",
    "pitch_x_mm": "Cell pitch across (mm)",
    "pitch_y_mm": "Cell pitch along (mm)",
    "cell_area_mm2": "Cell area (mm²)",
    "sensor_area_cm2": "Sensor area (cm²)",
    "has_geometry": "Sensor positions known",
    "threshold_kpa": "Unloaded at or below (kPa)",
    "calibration": "Calibration",
    "sway_lowpass_hz": "Sway low-pass filter (Hz)",
    "extra_blobs": "Loaded regions that are not a foot",
    "stuck_cells": "Stuck cells masked",
    "saturated_cells": "Saturated cells masked",
    "masked_cells": "Cells that are not sensors",
    "frames_received": "Frames received",
    "frames_dropped": "Frames dropped",
    "frames_corrupt": "Frames corrupt",
    "frames_resyncs": "Resynchronisations",
    "frames_reconnects": "Reconnections",
    "frames_cut_to_pair": "Frames cut to pair the insoles",
    "mat_type": "Mat type",
    "first_frame_time_s": "First frame's time in the export (s)",
    "pedar_insole_size": "pedar insole size",
    "pedar_cell_mm": "pedar raster cell (mm)",
    "insole_size": "Insole size",
    "units": "Units in the file",
    "processing": "Processing options",
    "warnings": "Warnings",
    "software_version": "Software version",
}
HIDDEN_ATTRIBUTES = ("complete",)


def _force_panel(axes, dataset) -> None:
    time = dataset["time"].values
    for foot in FEET:
        axes.plot(time, dataset["force"].sel(foot=foot), color=COLOURS[foot], label=f"{SIDE[foot]} ({foot})")
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
    if stood_quietly(dataset) and has_geometry(dataset):
        standing = quiet_standing_of(dataset)
        x = np.where(standing, dataset["mat_cop_x"].values, np.nan)
        y = np.where(standing, dataset["mat_cop_y"].values, np.nan)
        if rate / 2 > SWAY_LOWPASS_HZ:
            x, y = lowpass(x, SWAY_LOWPASS_HZ, rate), lowpass(y, SWAY_LOWPASS_HZ, rate)
        valid = np.isfinite(x) & np.isfinite(y)
        if valid.sum() >= 3:
            x, y = x[valid], y[valid]
            axes.plot(x, y, color="0.2", linewidth=1.2)
            axes.plot(x[0], y[0], "o", markerfacecolor="white", markeredgecolor="0.2")
            covariance = np.cov(np.vstack([x, y]))
            values, vectors = np.linalg.eigh(covariance)
            scale = np.sqrt(2 * f_quantile_2(0.95, len(x) - 2))
            angle = np.linspace(0, 2 * np.pi, 200)
            circle = np.stack([np.cos(angle), np.sin(angle)])
            ellipse = vectors @ (np.sqrt(np.maximum(values, 0))[:, None] * scale * circle)
            axes.plot(x.mean() + ellipse[0], y.mean() + ellipse[1], color="tab:green", label="95 % ellipse")
            axes.set_aspect("equal", adjustable="datalim")
            axes.legend(fontsize="small")
        axes.set_title(f"whole-mat COP sway ({SWAY_LOWPASS_HZ:g} Hz low-pass, circle: start)", fontsize="medium")
        axes.set_xlabel("x (mm)")
        axes.set_ylabel("y (mm)")
        return
    feet = [str(f) for f in dataset["step_foot"].values]
    if not feet:
        axes.text(0.5, 0.5, "no steps", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    axes.bar(range(len(feet)), dataset["step_peak_force"].values, color=[COLOURS[f] for f in feet])
    axes.set_xticks(range(len(feet)), [f"{i + 1}\n{SIDE[f]}" for i, f in enumerate(feet)],
                    fontsize="small" if len(feet) < 30 else "xx-small")
    axes.set_title("peak force per step", fontsize="medium")
    axes.set_ylabel("N")


def _summary_table(axes, dataset) -> None:
    axes.set_axis_off()
    rows = summary_rows(dataset)
    table = axes.table(cellText=[[label, left, right] for label, left, right in rows],
                       colLabels=["", "L (left)", "R (right)"], cellLoc="right", colWidths=[0.4, 0.3, 0.3],
                       bbox=[0, 0, 1, 1])
    table.auto_set_font_size(False)
    table.set_fontsize(8 if len(rows) <= 12 else 6.5)
    axes.set_title("summary", fontsize=9)


def figure(dataset, *, style: str = "clinical", recording=None, tables: bool = True,
           size: tuple[float, float] = FIGURE_INCHES, prints=None):
    """The report's picture. ``tables``: the summary and region tables in it (the PNG report); the
    HTML page gives them as HTML instead. Walking: the step prints of ``prints`` (or made from
    ``recording``, or from the results' source when that can be read) instead of the two feet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pressure_scale(style)
    note = ""
    if prints is None:
        prints, note = _report_prints(dataset, recording)
    fig = plt.figure(figsize=size, layout="constrained")
    if prints:  # the steps across the top, force and step forces beside each other below
        top, middle, *bottom = fig.subfigures(3 if tables else 2, 1, height_ratios=[2.4, 1.3, 1.3][:3 if tables else 2])
        draw_step_grid(top, prints, style, threshold_kpa=float(dataset.attrs.get("threshold_kpa", 5.0)),
                       outlines=sensor_outlines(dataset))
        force_axes, balance_axes = middle.subplots(1, 2, width_ratios=[1.6, 1.0])
    else:  # the feet on the left, force and balance on the right
        top, *bottom = fig.subfigures(2 if tables else 1, 1, height_ratios=[3.0, 1.3][:2 if tables else 1],
                                      squeeze=False)[:, 0]
        feet, right = top.subfigures(1, 2, width_ratios=[1.0, 1.15])
        draw_feet(feet, dataset, style)
        force_axes, balance_axes = right.subplots(2, 1, height_ratios=[1.0, 1.2])
    _force_panel(force_axes, dataset)
    _balance_panel(balance_axes, dataset)
    if tables:
        summary_axes, region_axes = bottom[0].subplots(1, 2, width_ratios=[1.0, 1.2])
        _summary_table(summary_axes, dataset)
        draw_region_table(region_axes, dataset, fontsize=8)
    if note and tables:
        fig.text(0.005, 0.002, note, fontsize=7, ha="left", va="bottom", color="0.3")
    draw_title(fig, dataset)
    return fig


def _report_prints(dataset, recording) -> tuple[list | None, str]:
    """(the step prints a walk's report shows, or None; why they are not drawn, or "")."""
    if wants_steps(dataset) and dataset.attrs.get("activity") == "walking":
        return try_step_prints(dataset, recording, max_steps=REPORT_STEPS)
    return None, ""


def check_report_path(path: Path) -> Path:
    """``path``, when its extension names a report (ValueError, one line, otherwise)."""
    if path.suffix.lower() not in PICTURES + ANIMATIONS:
        raise ValueError(f"{path}: a report is .html or .png (a picture), or .gif or .mp4 (an animation)")
    return path


def write_report(dataset, path: Path, *, style: str = "clinical", recording=None) -> None:
    """PNG or HTML by the file's extension (the HTML holds its picture inline); ``.gif``/``.mp4``
    write an animation (:func:`pressure.animation.save_animation`, from ``recording`` or the
    results' source). ``style``: ``clinical`` (stepped vendor-like scale from 0) or ``magma``."""
    import matplotlib.pyplot as plt

    path = check_report_path(Path(path))
    suffix = path.suffix.lower()
    if suffix in ANIMATIONS:
        from pressure.animation import save_animation

        save_animation(dataset, recording, path, style=style)
        return
    pressure_scale(style)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".png":
        fig = figure(dataset, style=style, recording=recording)
        try:
            fig.savefig(path, dpi=DPI)
        finally:
            plt.close(fig)
        return
    prints, note = _report_prints(dataset, recording)
    picture = _png_base64(figure(dataset, style=style, tables=False, size=PAGE_FIGURE_INCHES, prints=prints or []))
    curves = _png_base64(curves_figure(dataset)) if has_curves(dataset) else ""
    path.write_text(page(dataset, picture, caption(dataset, prints, note, style), curves), encoding="utf-8")


def _png_base64(fig) -> str:
    """A figure as base64 PNG text for an inline image; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


# -- the page -----------------------------------------------------------------------------------

def attribute_label(name: str) -> str:
    return ATTRIBUTE_LABELS.get(name) or name.replace("_", " ").capitalize()


def attribute_text(name: str, value) -> str:
    """A session attribute's value for a reader: numbers rounded, flags as yes/no, JSON made readable."""
    if name == "processing":
        return _processing_text(str(value))
    if name == "warnings":
        return "; ".join(line for line in str(value).splitlines() if line.strip())
    if name == "has_geometry":
        return "yes" if int(value) else "no (a set of sensors: force and load share, no COP or regions)"
    if name == "started_at":
        return session_date({"started_at": value}) or str(value)
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode(errors="replace")
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "-"
        return f"{float(value):.6g}"
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, np.ndarray):
        return ", ".join(str(v) for v in value.ravel()[:20])
    return str(value)


def _processing_text(raw: str) -> str:
    try:
        made = json.loads(raw)
    except ValueError:
        return raw
    parts = []
    names = {"threshold_kpa": "threshold {} kPa", "facing": "facing {}", "activity": "activity {}",
             "calibration": "calibration table {}", "pitch": "pitch {} mm", "rate": "rate {} Hz",
             "scale_kpa": "scale {} kPa per unit"}
    for group in ("options", "fallbacks"):
        for key, value in (made.get(group) or {}).items():
            if value is not None:
                parts.append(names.get(key, key + " {}").format(value))
    if made.get("version"):
        parts.append(f"software {made['version']}")
    return "; ".join(dict.fromkeys(parts)) or "defaults"


def _table(head: list[str], rows: list[list[str]], classes: str = "") -> str:
    head_html = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    opening = f'<table class="{classes}">' if classes else "<table>"
    return f'{opening}<thead><tr>{head_html}</tr></thead><tbody>{body}</tbody></table>'


def _steps_table(dataset) -> str:
    if not dataset.sizes.get("step", 0):
        return ""
    columns = [("foot", "step_foot", "{}"), ("start (s)", "step_start", "{:.2f}"),
               ("end (s)", "step_end", "{:.2f}"), ("peak force (N)", "step_peak_force", "{:.0f}"),
               ("impulse (N s)", "step_impulse", "{:.1f}"), ("length (mm)", "step_length", "{:.0f}"),
               ("width (mm)", "step_width", "{:.0f}"), ("angle (deg)", "step_progression_angle", "{:+.1f}"),
               ("CPEI (%)", "step_cpei", "{:.1f}")]
    complete = complete_steps(dataset)
    rows = []
    for i in range(dataset.sizes["step"]):
        row = [str(i + 1)]
        for _, variable, pattern in columns:
            value = dataset[variable].values[i]
            if variable == "step_foot":
                text = f"{SIDE.get(str(value), str(value))} ({value})"
            elif isinstance(value, (float, np.floating)) and not np.isfinite(value):
                text = "-"
            else:
                text = pattern.format(value)
            row.append(text)
        row.append("yes" if complete[i] else "no (cut)")
        rows.append(row)
    return "<h2>Steps</h2>" + _table(["step"] + [name for name, _, _ in columns] + ["complete"], rows, "steps")


def page(dataset, picture_base64: str, picture_caption: str = "", curves_base64: str = "") -> str:
    """The self-contained HTML page of a results dataset around its picture (base64 PNG)."""
    attrs = dataset.attrs
    subject = session_subject(attrs)
    name = source_name(attrs)
    title = f"Subject {subject}" if subject else name
    date = session_date(attrs) or "date not recorded"
    meta = [("Subject", subject or "not recorded in the source"), ("Date", date),
            ("Activity", f"{activity_text(attrs, step_starts(dataset), standing=standing_spans(dataset))}, "
                         f"{duration_text(dataset)}"),
            ("Device", str(attrs.get("device", "-"))), ("Source", name)]
    meta_html = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in meta)
    keys = "".join(f"<li>{html.escape(text)}</li>" for text in key_numbers(dataset))
    summary = _table(["", "L (left)", "R (right)"], [list(row) for row in summary_rows(dataset)])
    regions = region_rows(dataset)
    region_html = (_table(list(region_columns(dataset)), [list(row) for row in regions], "regions") if regions else
                   f"<p>No region table: {html.escape(no_regions_reason(dataset))}.</p>")
    shown = [k for k in ATTRIBUTE_LABELS if k in attrs] + sorted(
        k for k in attrs if k not in ATTRIBUTE_LABELS and k not in HIDDEN_ATTRIBUTES)
    shown = [k for k in shown if str(attrs[k]).strip() != ""]  # an empty attribute says nothing
    rows = [[attribute_label(k), attribute_text(k, attrs[k])] for k in shown]
    spans = standing_spans(dataset) if "standing_from_s" in shown else []
    if len(spans) > 1:  # "from" the first "until" the last standing frame would take in the walks between
        at = shown.index("standing_from_s")
        rows = [row for k, row in zip(shown, rows) if k not in ("standing_from_s", "standing_to_s")]
        told = ", ".join(f"{first:.2f}-{last:.2f}" for first, last in spans[:MAX_ACTIVITY_PARTS])
        more = f", ... ({len(spans)} stretches, the last {spans[-1][0]:.2f}-{spans[-1][1]:.2f})" \
            if len(spans) > MAX_ACTIVITY_PARTS else ""
        rows.insert(at, ["Standing (s)", told + more])
    session = _table(["attribute", "value"], rows, "session")
    caption_html = "<br>".join(html.escape(line) for line in picture_caption.splitlines())
    warnings = warning_lines(attrs)
    warnings_html = ""
    if warnings:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in warnings)
        warnings_html = f'<div class="warn"><strong>Check before use:</strong><ul>{items}</ul></div>'
    head_title = html.escape(f"{title} · {date}")
    curves_html = (f'<h2>Step curves</h2><img alt="time-normalised step curves" src="data:image/png;base64,{curves_base64}">'
                   if curves_base64 else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{head_title}</title>
<style>body{{font-family:sans-serif;max-width:1250px;margin:1em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;margin:0.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
th{{background:#f4f4f4}}table.session td{{text-align:left}}table.session td:first-child,table:not([class]) td:first-child{{text-align:left;font-weight:bold;background:#fafafa}}
dl.meta{{display:grid;grid-template-columns:max-content auto;gap:2px 1em;margin:0.5em 0}}dt{{font-weight:bold}}dd{{margin:0}}
ul.keys{{font-size:1.15em}}img{{max-width:100%}}div.warn{{border:1px solid #e0a000;background:#fff7e0;padding:0.3em 1em;margin:1em 0}}p.caption{{font-size:0.9em;color:#444}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<dl class="meta">{meta_html}</dl>
{warnings_html}<h2>Key numbers</h2><ul class="keys">{keys}</ul>
<img alt="peak pressure of each foot or step, force over time and balance: {html.escape(name)}" src="data:image/png;base64,{picture_base64}">
<p class="caption">{caption_html}</p>
<h2>Summary</h2>{summary}
<h2>Regions</h2>{region_html}
{curves_html}
{_steps_table(dataset)}
<h2>Session</h2>{session}
</body></html>
"""
