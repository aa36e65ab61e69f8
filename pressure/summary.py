"""Readable summaries of results and sessions for the terminal."""

from __future__ import annotations

import numpy as np
from rich.table import Table

from pressure.schema import FEET


def _fmt(value: float, pattern: str) -> str:
    return pattern.format(value) if np.isfinite(value) else "-"


def results_table(dataset, title: str) -> Table:
    """Per-foot summary of a results dataset."""
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for foot in FEET:
        table.add_column(foot, justify="right")
    per_foot = dataset.sel
    rows = [
        ("arch index", lambda f: _fmt(float(per_foot(foot=f)["arch_index"]), "{:.3f}")),
        ("arch type", lambda f: str(per_foot(foot=f)["arch_type"].values) or "-"),
        ("load share", lambda f: _fmt(100 * float(per_foot(foot=f)["load_share"]), "{:.1f} %")),
        ("mean force", lambda f: _fmt(float(per_foot(foot=f)["force"].mean()), "{:.0f} N")),
        ("peak pressure", lambda f: _fmt(float(per_foot(foot=f)["peak_pressure"].max()), "{:.0f} kPa")),
        ("COP path length", lambda f: _fmt(float(per_foot(foot=f)["cop_path_length"]), "{:.0f} mm")),
    ]
    if dataset.sizes.get("step", 0):
        rows.append(("steps", lambda f: str(int((dataset["step_foot"] == f).sum()))))
    for label, value in rows:
        table.add_row(label, *(value(foot) for foot in FEET))
    return table


def results_caption(dataset) -> str:
    duration = float(dataset["time"][-1]) if dataset.sizes["time"] else 0.0
    si = float(dataset["symmetry_index"])
    side = "right" if si > 0 else "left"
    return (
        f"{dataset.attrs.get('activity', '?')}, {dataset.sizes['time']} frames over {duration:.2f} s; "
        f"symmetry index {si:+.1f} % (more load on the {side})"
    )


def session_lines(recording) -> list[str]:
    info = recording.info
    n = recording.n_frames
    duration = float(recording.time_s[-1]) + 1.0 / info.rate_hz if n else 0.0
    lines = [
        f"source      {recording.source_url}",
        f"device      {info.device}",
        f"frames      {n} of {info.rows} x {info.cols} cells ({info.dtype})",
        f"rate        {info.rate_hz:.4g} Hz, duration {duration:.3f} s",
        f"pitch       {info.pitch_x_mm:.4g} x {info.pitch_y_mm:.4g} mm (cell area {info.cell_area_mm2:.4g} mm^2)",
        f"scale       {info.scale_kpa:g} kPa per device unit" + (
            f", offset {info.offset_kpa:g} kPa" if info.offset_kpa else ""),
    ]
    if info.foot_map is not None:
        lines.append("layout      insoles (sensors belong to a known foot)")
    if recording.attrs:
        lines += [f"{key:<11} {value}" for key, value in recording.attrs.items() if value != ""]
    counters = ", ".join(f"{name} {value}" for name, value in vars(recording.counters).items())
    lines.append(f"counters    {counters}")
    return lines
