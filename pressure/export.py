"""``pressure export --csv``: per-frame metrics, the step table and the region table as CSV,
units in the headers."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from pressure.schema import FEET, RESULTS

FRAME_VARIABLES = ("force", "contact_area", "peak_pressure", "cop_x", "cop_y", "mat_force", "mat_cop_x",
                   "mat_cop_y", "left_share")


def _header(name: str, foot: str | None = None) -> str:
    units = RESULTS[name].units
    label = f"{name}_{foot}" if foot else name
    return f"{label} [{units}]" if units and units != "1" else label


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{value:.6g}"
    return str(value)


def export_paths(prefix: Path) -> list[Path]:
    """The files ``export_csv`` writes for ``prefix``."""
    prefix = Path(prefix)
    return [prefix.with_name(prefix.name + suffix) for suffix in (".frames.csv", ".steps.csv", ".regions.csv")]


def export_csv(dataset, prefix: Path) -> list[Path]:
    """Writes PREFIX.frames.csv and PREFIX.steps.csv; returns the paths."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    frames_path, steps_path, regions_path = export_paths(prefix)
    columns = [("time [s]", dataset["time"].values), ("frame", dataset["frame"].values)]
    for name in FRAME_VARIABLES:
        variable = dataset[name]
        if "foot" in variable.dims:
            columns += [(_header(name, foot), variable.sel(foot=foot).values) for foot in FEET]
        else:
            columns.append((_header(name), variable.values))
    if "standing" in dataset:  # 1 in the frames in which the person stood (results from before: no column)
        columns.append(("standing", dataset["standing"].values.astype(np.int8)))
    if "quiet_standing" in dataset:  # 1 where standing was measured
        columns.append(("quiet_standing", dataset["quiet_standing"].values.astype(np.int8)))
    with open(frames_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([header for header, _ in columns])
        for row in zip(*(values for _, values in columns)):
            writer.writerow([_cell(v) for v in row])
    step_names = [name for name, spec in RESULTS.items() if spec.dims == ("step",)]
    with open(steps_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([_header(name) for name in step_names])
        for i in range(dataset.sizes.get("step", 0)):
            writer.writerow([_cell(dataset[name].values[i]) for name in step_names])
    _write_regions(dataset, regions_path)
    return [frames_path, steps_path, regions_path]


def _write_regions(dataset, path: Path) -> None:
    """A row per step and region (step = its index), then a row per foot and region over the
    selected steps (step = "selected"; peak pressure there is the highest of them)."""
    from pressure.measures.regions import REGION_MEASURES

    regions = [str(r) for r in dataset["region"].values]
    header = ["step", "foot", "region"] + [_header(f"step_region_{name}").removeprefix("step_region_")
                                           for name in REGION_MEASURES]
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for k in range(dataset.sizes.get("step", 0)):
            foot = str(dataset["step_foot"].values[k])
            for r, region in enumerate(regions):
                writer.writerow([k, foot, region] + [_cell(dataset[f"step_region_{name}"].values[k, r])
                                                     for name in REGION_MEASURES])
        for i, foot in enumerate(FEET):
            for r, region in enumerate(regions):
                writer.writerow(["selected", foot, region] + [_cell(dataset[f"region_{name}"].values[i, r])
                                                             for name in REGION_MEASURES])
