"""The region table: peak pressure, pressure-time integral (and, where the results hold it, the
share of the foot's load) per region and foot, as text rows (also for the HTML report) and drawn
as a table beside the feet. Regions need sensor positions: without them the table says why."""

from __future__ import annotations

import numpy as np

from pressure.pictures.scales import COLOURS, SIDE
from pressure.schema import FEET

REGION_NAMES = ("hindfoot", "midfoot", "forefoot", "toes")
REGION_MEASURES = (("region_peak_pressure", "peak (kPa)", "{:.0f}"), ("region_pti", "PTI (kPa s)", "{:.1f}"),
                   ("region_relative_load", "load (%)", "{:.1f}"))  # the last where the results hold it


def _region_measures(dataset):
    return [m for m in REGION_MEASURES if m[0] in dataset]


def region_columns(dataset) -> tuple[str, ...]:
    """Headings of :func:`region_rows`: region, then each measure for L, then for R."""
    return ("region",) + tuple(f"{SIDE[foot]} {heading}" for foot in FEET
                               for _, heading, _ in _region_measures(dataset))


def region_rows(dataset) -> list[tuple[str, ...]]:
    """(region, L peak kPa, L PTI kPa s[, L load %], R ...) as text, for the regions measured on
    either foot; [] without any (a print of unknown geometry: its regions are NaN)."""
    if not has_regions(dataset):
        return []
    rows = []
    for region in dataset["region"].values:
        if not np.isfinite(dataset["region_peak_pressure"].sel(region=region).values).any():
            continue
        cells = [str(region)]
        for foot in FEET:
            for name, _, pattern in _region_measures(dataset):
                value = float(dataset[name].sel(foot=foot, region=region))
                cells.append(pattern.format(value) if np.isfinite(value) else "-")
        rows.append(tuple(cells))
    return rows


def has_regions(dataset) -> bool:
    """Whether any region was measured: a print's regions need its geometry (a mat's print) or a
    template of its sensors (pedar); without either they are NaN."""
    return "region_peak_pressure" in dataset and bool(np.isfinite(dataset["region_peak_pressure"].values).any())


def no_regions_reason(dataset) -> str:
    if not int(dataset.attrs.get("has_geometry", 1)):
        return "regions need sensor positions, and this recording has none"
    return "the analysis divides a print into regions only where it knows the print's geometry (not insoles)"


def region_table_inches(dataset) -> float:
    """The height the region table needs (its title and a row per region)."""
    rows = len(region_rows(dataset))
    return 0.9 if not rows else 0.4 + (0.19 if rows <= 8 else 0.15) * (rows + 1)


def draw_region_table(axes, dataset, fontsize: float = 8) -> None:
    axes.set_axis_off()
    rows = region_rows(dataset)
    if not rows:
        import textwrap

        axes.text(0.5, 0.5, textwrap.fill("No region table: " + no_regions_reason(dataset) + ".", 60), ha="center",
                  va="center", fontsize=fontsize, transform=axes.transAxes)
        return
    columns = region_columns(dataset)
    if len(rows) > 8:  # the anatomical regions too: smaller type
        fontsize = min(fontsize, 6.5)
    # Units go in the title: "L peak (kPa)" overflowed its column, and a pedar region's name its own.
    headings = [column.split(" (")[0] for column in columns]
    table = axes.table(cellText=[list(r) for r in rows], colLabels=headings, cellLoc="right",
                       bbox=[0, 0, 1, 1])  # the rows share the axes' height: the layout gives it room
    table.auto_set_font_size(False)
    table.set_fontsize(fontsize)
    name_width = min(0.3, 0.012 * max(len(row[0]) for row in rows) + 0.03)
    for (row, col), cell in table.get_celld().items():
        cell.set_width(name_width if col == 0 else (1.0 - name_width) / (len(columns) - 1))
        if row == 0:
            cell.set_facecolor("#f0f0f0")
            if col > 0:
                cell.get_text().set_color(COLOURS["left" if columns[col].startswith("L ") else "right"])
    load = ", share of the foot's load (%)" if "region_relative_load" in dataset else ""
    axes.set_title(f"regions: peak pressure (kPa), pressure-time integral (PTI, kPa s){load}", fontsize=fontsize + 1)
