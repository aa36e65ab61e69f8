"""Readable summaries of results and sessions for the terminal."""

from __future__ import annotations

import numpy as np
from rich.table import Table

from pressure.schema import FEET, covered_seconds, foot_seen, span_seconds, standing_mean


def _fmt(value: float, pattern: str) -> str:
    """A number as text; "-" for none, and never "-0" (a negative number that rounds to zero)."""
    if not np.isfinite(value):
        return "-"
    text = pattern.format(value)
    if text.startswith("-") and not any(c in "123456789" for c in text.split(" ")[0]):
        text = pattern.format(abs(value))
    return text


def counted_steps(dataset) -> np.ndarray:
    """The steps each foot's statistics use: complete, and as --skip-steps and --min-stance chose
    (results written before ``step_selected`` existed: the complete ones)."""
    if "step_selected" in dataset:
        return dataset["step_selected"].values.astype(bool)
    return dataset["step_complete"].values.astype(bool)


def step_median(dataset, name: str, chosen: np.ndarray) -> float:
    """Median of step variable ``name`` over the ``chosen`` steps where it is finite; NaN if none."""
    values = dataset[name].values[chosen]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else float("nan")


def summary_rows(dataset) -> list[tuple[str, str, str]]:
    """Per-foot summary of a results dataset as (label, left, right) text; "-" throughout for a
    foot the session never saw (not 0 N, 0 kPa)."""
    seen = {foot: foot_seen(dataset, foot) for foot in FEET}
    per_foot = dataset.sel
    rows = [
        ("arch index", lambda f: _fmt(float(per_foot(foot=f)["arch_index"]), "{:.3f}")),
        ("arch type", lambda f: str(per_foot(foot=f)["arch_type"].values) or "-"),
        ("load share", lambda f: _fmt(100 * float(per_foot(foot=f)["load_share"]), "{:.1f} %")),
        ("peak pressure", lambda f: _fmt(float(per_foot(foot=f)["peak_pressure"].max()), "{:.0f} kPa")),
        ("COP path (raw)", lambda f: _fmt(float(per_foot(foot=f)["cop_path_length"]), "{:.0f} mm")),
    ]
    if dataset.attrs.get("load_share_from") == "standing":  # the standing part's, as the load share
        standing = standing_mean(dataset, "force")
        rows.insert(3, ("mean force standing",
                        lambda f: _fmt(float(standing[FEET.index(f)]) if standing is not None else float("nan"),
                                       "{:.0f} N")))
    if dataset.attrs.get("activity") in ("standing", "mixed"):
        sway = dataset.sel(part=list(FEET))
        rows.append(("sway path (5 Hz)", lambda f: _fmt(float(sway["sway_path_length"].sel(part=f)), "{:.0f} mm")))
        rows.append(("sway ellipse 95 %", lambda f: _fmt(float(sway["sway_ellipse_area"].sel(part=f)), "{:.1f} mm^2")))
    if dataset.sizes.get("step", 0):
        counted = counted_steps(dataset)

        def per_step(name, pattern):
            return lambda f: _fmt(step_median(dataset, name, counted & (dataset["step_foot"].values == f)), pattern)

        def step_count(foot):
            mine = dataset["step_foot"].values == foot
            complete = mine & dataset["step_complete"].values.astype(bool)
            notes = [f"{int((mine & ~complete).sum())} cut"] if (mine & ~complete).any() else []
            if (counted & mine).sum() < complete.sum():  # --skip-steps or --min-stance left some out
                notes.append(f"{int((counted & mine).sum())} counted")
            return f"{int(mine.sum())}" + (f" ({', '.join(notes)})" if notes else "")

        rows.append(("steps", step_count))
        rows.append(("step peak force", per_step("step_peak_force", "{:.0f} N")))
        rows.append(("step length", per_step("step_length", "{:.0f} mm")))
        rows.append(("stance time", per_step("step_stance_time", "{:.2f} s")))
        rows.append(("progression angle", per_step("step_progression_angle", "{:+.1f} deg")))
        rows.append(("CPEI", per_step("step_cpei", "{:.1f} %")))
    return [(label, *(value(foot) if seen[foot] else "-" for foot in FEET)) for label, value in rows]


def results_table(dataset, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for foot in FEET:
        table.add_column(foot, justify="right")
    for row in summary_rows(dataset):
        table.add_row(*row)
    return table


def region_table(dataset) -> Table | str:
    """Per region and foot: the highest pressure, the mean pressure-time integral and the share
    of the foot's load, over the selected steps (or standing), as the picture's table has them;
    or a line saying why there are none (a recording without print geometry, such as insoles)."""
    from pressure.pictures.region_table import no_regions_reason, region_columns, region_rows

    rows = region_rows(dataset)
    if not rows:
        return f"regions: none ({no_regions_reason(dataset)})"
    table = Table(title="regions (selected steps, or standing)", title_justify="left")
    for k, heading in enumerate(region_columns(dataset)):
        if k == 0:
            table.add_column("", no_wrap=True)  # region names whole, however narrow the terminal
        else:
            table.add_column(heading, justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def _quiet_seconds(dataset) -> float | None:
    """How long standing was measured (quiet standing), s; None in results from before it."""
    if "quiet_standing" not in dataset:
        return None
    return int(dataset["quiet_standing"].values.sum()) / float(dataset.attrs["rate_hz"])


def _quiet_standing_words(dataset) -> str:
    """What a standing load share is the mean of: "mean force standing", and in a session that
    also walks, for how long the person stood quietly (the weight shifts next to walking left
    out)."""
    if dataset.attrs.get("activity") != "mixed" or "quiet_standing" not in dataset:
        return "mean force standing"
    return f"mean force over {_quiet_seconds(dataset):.2f} s of quiet standing"


def results_caption(dataset) -> str:
    duration = covered_seconds(dataset)
    si = float(dataset["symmetry_index"])
    activity = dataset.attrs.get("activity", "?")
    if activity == "mixed":
        from pressure.pictures.session import standing_spans
        from pressure.pictures.text import activity_text, step_starts

        activity = activity_text(dataset.attrs, step_starts(dataset), spans=True, standing=standing_spans(dataset))
    n = dataset.sizes["time"]
    text = f"{activity}, " + ("one frame (a static print); " if n == 1 else f"{n} frames over {duration:.2f} s; ")
    if np.isfinite(si):
        source = {"standing": _quiet_standing_words(dataset), "steps": "mean step impulse"}.get(
            dataset.attrs.get("load_share_from", ""), "")
        side = "more load on the right" if si > 0 else "more load on the left" if si < 0 else "equal load"
        text += (f"symmetry index {_fmt(si, '{:+.1f}')} % ({side}"
                 + (f"; {source})" if source else ")"))
    elif not all(foot_seen(dataset, foot) for foot in FEET):
        text += f"symmetry index - (no {next(f for f in FEET if not foot_seen(dataset, f))} foot in the recording)"
    else:
        text += "symmetry index - (a foot without complete contacts)"
    if dataset.attrs.get("activity") == "mixed" and _quiet_seconds(dataset) == 0:
        text += (f"; no quiet standing, so no sway (every stand was within "
                 f"{float(dataset.attrs.get('quiet_transition_s', 1.0)):g} s of walking)")
    elif dataset.attrs.get("activity") in ("standing", "mixed") and np.isfinite(
            float(dataset["sway_path_length"].sel(part="mat"))):
        mat = dataset.sel(part="mat")
        text += (f"; whole-mat sway {float(mat['sway_path_length']):.0f} mm path, "
                 f"{float(mat['sway_ellipse_area']):.0f} mm^2 ellipse")
    if np.isfinite(float(dataset["cadence"])):
        text += f"; cadence {float(dataset['cadence']):.0f} steps/min"
    notes = [f"{dataset.attrs[key]} {label}" for key, label in (
        ("extra_blobs", "loaded region(s) not a foot"), ("stuck_cells", "stuck cell(s) masked"),
        ("saturated_cells", "saturated cell(s) masked")) if dataset.attrs.get(key)]
    return text + ("\n" + "; ".join(notes) if notes else "")


def recorded_seconds(recording) -> float:
    """The time a recording's frames cover, the last frame's period included."""
    return span_seconds(recording.time_s, recording.info.rate_hz)


def session_lines(recording) -> list[str]:
    info = recording.info
    n = recording.n_frames
    duration = recorded_seconds(recording)
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


REGION_SUMMARY = ("peak_pressure", "pti", "mean_pressure", "contact_area", "force", "fti", "time_of_peak",
                  "relative_load")


def _number(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def results_summary(dataset, source: str = "", output: str = "") -> dict:
    """The key numbers of a results dataset as plain JSON-ready values (None for none)."""
    feet = {}
    for foot in FEET:
        one = dataset.sel(foot=foot)
        seen = foot_seen(dataset, foot)
        numbers = {
            "arch_index": _number(one["arch_index"]),
            "arch_type": str(one["arch_type"].values) or None,
            "load_share": _number(one["load_share"]),
            "peak_pressure_kpa": _number(one["peak_pressure"].max()) if seen else None,
            "cop_path_length_mm": _number(one["cop_path_length"]),
            "regions": {str(region): {name: _number(one[f"region_{name}"].sel(region=region))
                                      for name in REGION_SUMMARY} for region in dataset["region"].values},
        }
        if dataset.sizes.get("step", 0):
            mine = dataset["step_foot"].values == foot
            complete = mine & dataset["step_complete"].values.astype(bool)
            numbers["steps"] = int(mine.sum())
            numbers["complete_steps"] = int(complete.sum())
            counted = mine & counted_steps(dataset)
            numbers["counted_steps"] = int(counted.sum())
            for name, key in (("step_peak_force", "step_peak_force_n"), ("step_length", "step_length_mm"),
                              ("step_stance_time", "stance_time_s")):
                numbers[key] = _number(step_median(dataset, name, counted))
        feet[foot] = numbers if seen else {key: None for key in numbers}
    return {
        "source": source or str(dataset.attrs.get("source_url", "")),
        "results": output,
        "activity": str(dataset.attrs.get("activity", "")),
        "frames": int(dataset.sizes["time"]),
        "duration_s": covered_seconds(dataset),
        "symmetry_index_percent": _number(dataset["symmetry_index"]),
        "load_share_from": str(dataset.attrs.get("load_share_from", "")) or None,  # "standing" or "steps"
        "quiet_standing_s": _quiet_seconds(dataset),
        "cadence_per_min": _number(dataset["cadence"]),
        "feet": feet,
        "warnings": [line for line in str(dataset.attrs.get("warnings", "")).splitlines() if line],
    }


def session_summary(recording) -> dict:
    """What ``session_lines`` says, as JSON-ready values."""
    info = recording.info
    n = recording.n_frames
    return {
        "source": recording.source_url, "device": info.device, "frames": n, "rows": info.rows,
        "cols": info.cols, "dtype": str(info.dtype), "rate_hz": info.rate_hz,
        "duration_s": recorded_seconds(recording),
        "pitch_x_mm": info.pitch_x_mm, "pitch_y_mm": info.pitch_y_mm, "cell_area_mm2": info.cell_area_mm2,
        "scale_kpa": info.scale_kpa, "offset_kpa": info.offset_kpa, "insoles": info.foot_map is not None,
        "assumed": list(info.assumed), "attrs": dict(recording.attrs or {}), "counters": vars(recording.counters),
    }
