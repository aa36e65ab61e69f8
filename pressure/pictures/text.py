"""The words of a picture: what the session is (subject where the source names one, date, activity,
duration), the numbers a clinician looks for first, and the caption saying how it is drawn."""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from drivers.url import pair_files
from pressure.pictures.scales import SIDE
from pressure.pictures.session import complete_steps, has_geometry, number, standing_spans, stood_quietly
from pressure.schema import FEET, covered_seconds

SUBJECT_KEYS = ("subject", "subject_name", "subject_id", "patient", "patient_name", "patient_id", "participant")
DATE_KEYS = ("started_at", "recorded_at", "date", "recorded_at_text")  # the text: a date we would not guess


def source_name(attrs) -> str:
    url = str(attrs.get("source_url", "") or "")
    if pair := pair_files(url):
        return " + ".join(Path(part).name for part in pair)
    if "://" in url and not url.startswith("file://"):
        return url.split("&")[0] if url.startswith("sim://") else url
    return Path(url.removeprefix("file://").split("?")[0]).name or "session"


def session_date(attrs) -> str:
    """The recording's date and time as 'YYYY-MM-DD HH:MM UTC' (or as the source wrote it), '' if unknown."""
    for key in DATE_KEYS:
        value = str(attrs.get(key, "") or "").strip()
        if not value:
            continue
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if "T" not in value and " " not in value:  # a date without a time: none is made up
            return moment.strftime("%Y-%m-%d")
        return moment.strftime("%Y-%m-%d %H:%M")
    return ""


def session_subject(attrs) -> str:
    for key in SUBJECT_KEYS:
        value = str(attrs.get(key, "") or "").strip()
        if value:
            return value
    return ""


def step_starts(dataset) -> np.ndarray:
    """Each step's start (s), none in results without steps."""
    return dataset["step_start"].values if "step_start" in dataset else np.zeros(0)


MAX_ACTIVITY_PARTS = 4  # told one by one up to this many; more would fill a title


def activity_text(attrs, step_start=None, spans: bool = False, standing=None) -> str:
    """The activity in words; a mixed one in the order it happened: the stretches of standing
    (``standing``: their (first, last) times, s; by default the one span from ``standing_from_s``
    to ``standing_to_s`` that results written before ``standing`` give) and the walking between
    them (the steps' ``step_start``, s), with the standing times if ``spans``."""
    activity = str(attrs.get("activity", "") or "")
    if activity != "mixed":
        return activity or "activity unknown"
    if standing is None:
        first, last = float(attrs.get("standing_from_s", np.nan)), float(attrs.get("standing_to_s", np.nan))
        standing = [(first, last)] if np.isfinite(first) else []
    starts = np.asarray(step_start if step_start is not None else [], dtype=float)
    parts: list[list] = []  # "walking", or the standing stretches with no walk between them
    after = -np.inf
    for first, last in standing:
        if ((starts > after) & (starts < first)).any():
            parts.append(["walking"])
        if not parts or parts[-1] == ["walking"]:
            parts.append([])
        parts[-1].append((first, last))
        after = last
    if (starts > after).any() or not parts:
        parts.append(["walking"])

    def told(part) -> str:
        if part == ["walking"]:
            return "walking"
        if not spans:
            return "standing"
        if len(part) > MAX_ACTIVITY_PARTS:  # many stretches with no walk between: their whole time
            return f"standing ({part[0][0]:.2f}-{part[-1][1]:.2f} s, {len(part)} stretches)"
        return f"standing ({', '.join(f'{first:.2f}-{last:.2f}' for first, last in part)} s)"
    if len(parts) > MAX_ACTIVITY_PARTS:
        stretches = sum(len(part) for part in parts if part != ["walking"])
        return f"standing and walking in turn ({stretches} stretches of standing)"
    return ", then ".join(told(part) for part in parts)


def warning_lines(attrs) -> list[str]:
    """The plausibility warnings the results carry, one a line."""
    return [line for line in str(attrs.get("warnings", "") or "").splitlines() if line.strip()]


def key_numbers(dataset) -> list[str]:
    """The numbers a clinician looks for first, as short texts."""
    parts = []
    share = [number(dataset, "load_share", foot=f) for f in FEET]
    if all(np.isfinite(share)):
        parts.append(f"load L {100 * share[0]:.0f} % / R {100 * share[1]:.0f} %")
    arch = []
    for foot in FEET:
        index = number(dataset, "arch_index", foot=foot)
        if np.isfinite(index):
            arch.append(f"{SIDE[foot]} {index:.2f} {str(dataset['arch_type'].sel(foot=foot).values)}")
    if arch:
        parts.append("arch index " + ", ".join(arch))
    peaks = []
    for foot in FEET:
        values = dataset["peak_pressure"].sel(foot=foot).values
        if np.isfinite(values).any() and np.nanmax(values) > 0:
            peaks.append(f"{SIDE[foot]} {np.nanmax(values):.0f}")
    if peaks:
        parts.append("peak " + " / ".join(peaks) + " kPa")
    steps = dataset.sizes.get("step", 0)
    if steps:
        complete = int(complete_steps(dataset).sum())
        cut = f" ({steps - complete} cut)" if complete < steps else ""
        parts.append(f"{steps} step{'s' if steps != 1 else ''}{cut}")
    cadence = number(dataset, "cadence")
    if np.isfinite(cadence):
        parts.append(f"cadence {cadence:.0f}/min")
    if stood_quietly(dataset) and "sway_ellipse_area" in dataset:
        area = float(dataset["sway_ellipse_area"].sel(part="mat"))
        if np.isfinite(area):
            parts.append(f"sway ellipse {area:.0f} mm²")
    return parts


def title_lines(dataset) -> list[str]:
    """Headline (subject or source, date, activity, duration) and the key numbers."""
    attrs = dataset.attrs
    who = session_subject(attrs)
    head = [f"subject {who}" if who else source_name(attrs)]
    if who:
        head.append(source_name(attrs))
    head.append(session_date(attrs) or "date not recorded")
    head.append(f"{activity_text(attrs, step_starts(dataset), standing=standing_spans(dataset))}, "
                f"{duration_text(dataset)}")
    return [" · ".join(head), " · ".join(key_numbers(dataset))]


def duration_text(dataset) -> str:
    """How long the recording lasts ("6.6 s"), or that it is one frame, which lasts no time."""
    return "one frame (a static print)" if dataset.sizes["time"] == 1 else f"{covered_seconds(dataset):.1f} s"


def draw_title(figure, dataset) -> None:
    """:func:`title_lines` as the figure's title."""
    head, numbers = title_lines(dataset)
    figure.suptitle(f"{head}\n{numbers}", fontsize="medium")


def caption(dataset, prints: list | None, note: str = "", style: str = "clinical") -> str:
    """How the picture is drawn, for a reader who has not seen one before; ``prints``: the step
    prints drawn (:class:`pressure.pictures.heel_down.StepPrint`), ``note``: why they are not."""
    scale = ("colours in fixed kPa bands from 0 (clinical scale)" if style == "clinical"
             else "colours from 0 kPa to the highest pressure")
    parts = ["Peak pressure viewed from above, toes up; L left foot, R right foot; " + scale + "."]
    if has_geometry(dataset):
        text = "COP: black line with a white edge, circle where it starts"
        text += ("; standing sway at true size on the foot and magnified beside it (scale bar)."
                 if stood_quietly(dataset) else ", arrowhead where it ends (heel to toe).")
        parts.append(text)
    if prints:
        total = int(complete_steps(dataset).sum()) if "step_complete" in dataset else len(prints)
        cut = dataset.sizes.get("step", 0) - total
        count = f"{len(prints)} of {total} complete steps" + (f"; {cut} cut by the recording or the mat not shown"
                                                               if cut else "")
        if all(p.sensors for p in prints):
            parts.append(f"Steps: each complete step's peak per sensor ({count}).")
        else:
            how = sorted({p.heel_from for p in prints})
            parts.append(f"Steps: each complete step's own print ({count}), turned heel down along its long axis "
                         f"(heel end from: {', '.join(how)}); arrow: COP heel to toe.")
    if note:
        parts.append(note)
    warnings = warning_lines(dataset.attrs)
    if warnings:
        parts.append("Check: " + "; ".join(warnings))
    return "\n".join(parts)


def draw_text_block(axes, text: str, fontsize: float = 7.5) -> None:
    """``text`` wrapped to the width of a column, from the axes' upper left corner."""
    axes.set_axis_off()
    wrapped = "\n".join(textwrap.fill(line, 84) for line in text.splitlines())  # 95 ran off the page
    axes.text(0.0, 1.0, wrapped, ha="left", va="top", fontsize=fontsize, transform=axes.transAxes)
