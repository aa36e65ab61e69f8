"""From a recording to per-foot results: the analysis that ``pressure process`` runs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from drivers import Recording
from pressure import __version__
from pressure.arch import arch_index, arch_type
from pressure.feet import DIRECTIONS, FEET, Footprint, FootLayout, assign_feet, find_footprints
from pressure.kernels.frame_metrics import FrameMetrics, frame_metrics
from pressure.kernels.peak_image import peak_and_sustained
from pressure.schema import build_results

CONTACT_FRACTION = 0.02  # a footprint is in contact while its force exceeds this share of its peak
MIN_CONTACT_FRAMES = 2
SUSTAINED_FRAMES = 3  # a cell belongs to a print when loaded this many frames in a row; noise spikes are not


class InputError(ValueError):
    """The recording cannot be analysed; the message is meant for the user."""


@dataclass
class Options:
    threshold_kpa: float = 5.0
    facing: str = "+y"
    activity: str | None = None  # None: decided from the data

    def __post_init__(self) -> None:
        if self.facing not in DIRECTIONS:
            raise InputError(f"facing must be one of {', '.join(DIRECTIONS)}, got {self.facing}")
        if self.activity not in (None, "standing", "walking"):
            raise InputError(f"activity must be standing or walking, got {self.activity}")
        if not self.threshold_kpa >= 0:
            raise InputError(f"threshold must be >= 0 kPa, got {self.threshold_kpa}")


@dataclass
class Contact:
    footprint: int
    foot: str
    first: int
    last: int


@dataclass
class Analysis:
    """Intermediate results, kept for pictures and summaries."""

    layout: FootLayout
    per_footprint: FrameMetrics
    contacts: list[Contact] = field(default_factory=list)


def device_frames(recording: Recording) -> tuple[np.ndarray, float]:
    """Frames for the kernels and their kPa scale: integers stay integers when no offset is set."""
    info = recording.info
    if info.offset_kpa == 0.0:
        return recording.cells, info.scale_kpa
    return recording.kpa(), 1.0


def check_frames(frames: np.ndarray, scale: float, name: str) -> None:
    """Refuses empty recordings, NaN in cells that are not masked throughout, and negative pressures."""
    if frames.shape[0] == 0:
        raise InputError(f"{name}: the recording holds no frames")
    if frames.dtype.kind == "f":
        nan = np.isnan(frames)
        if (nan.any(axis=0) & ~nan.all(axis=0)).any():
            raise InputError(f"{name}: NaN pressures in cells that are not masked for the whole recording")
        lowest = np.nanmin(np.fmin.reduce(frames, axis=0), initial=0.0)
        if lowest < 0:
            raise InputError(f"{name}: negative pressures (lowest {lowest * scale:.3g} kPa)")
    elif frames.dtype.kind == "i" and frames.min(initial=0) < 0:
        raise InputError(f"{name}: negative pressures")


def analyse(recording: Recording, options: Options | None = None):
    """Results dataset (DESIGN.md section 6) of one recording."""
    options = options or Options()
    info = recording.info
    name = recording.source_url or "recording"
    frames, scale = device_frames(recording)
    check_frames(frames, scale, name)
    peak, loaded = peak_and_sustained(frames, options.threshold_kpa / scale, SUSTAINED_FRAMES)
    peak_image = peak.astype(np.float64) * scale
    if frames.dtype.kind == "f":
        peak_image[np.isnan(frames[0])] = np.nan  # masked cells stay visibly masked
    if info.foot_map is not None:
        footprints = [
            Footprint(loaded & (info.foot_map == index), loaded & (info.foot_map == index), np.zeros(2), foot)
            for index, foot in enumerate(FEET)
            if (loaded & (info.foot_map == index)).any()
        ]
        extra = []
    else:
        footprints, extra = find_footprints(loaded, info.pitch_x_mm, info.pitch_y_mm)
    if not footprints:
        raise InputError(f"{name}: no foot found (nothing above {options.threshold_kpa:g} kPa the size of a foot)")
    layout = FootLayout(footprints, "", options.facing, extra)
    labels = layout.labels()
    metrics = frame_metrics(
        frames, labels, len(footprints) + len(extra), threshold_kpa=options.threshold_kpa, scale_kpa=scale,
        pitch_x_mm=info.pitch_x_mm, pitch_y_mm=info.pitch_y_mm, cell_area_mm2=info.cell_area_mm2,
    )
    runs = [contact_runs(metrics.force_n[:, index]) for index in range(len(footprints))]
    time_s = recording.time_s
    if info.foot_map is not None:
        layout.activity = options.activity or ("walking" if any(len(r) > 1 for r in runs) else "standing")
    else:
        start = np.array([time_s[r[0][0]] if r else np.inf for r in runs])
        fraction = np.array([sum(b - a + 1 for a, b in r) / len(time_s) for r in runs])
        layout.activity, layout.direction = assign_feet(
            footprints, start, fraction, options.facing, options.activity)
    contacts = [
        Contact(index, footprints[index].foot, first, last)
        for index, footprint_runs in enumerate(runs)
        for first, last in footprint_runs
    ]
    contacts.sort(key=lambda contact: contact.first)
    analysis = Analysis(layout, metrics, contacts)
    return _results(recording, options, analysis, peak_image), analysis


def contact_runs(force: np.ndarray) -> list[tuple[int, int]]:
    """First and last frame of each run where ``force`` exceeds CONTACT_FRACTION of its peak."""
    peak = force.max(initial=0.0)
    if peak <= 0:
        return []
    on = np.concatenate([[False], force > CONTACT_FRACTION * peak, [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    return [(a, b - 1) for a, b in zip(edges[::2], edges[1::2]) if b - a >= MIN_CONTACT_FRAMES]


def per_foot(metrics: FrameMetrics, footprints: list[Footprint]) -> dict[str, np.ndarray]:
    """Footprint metrics summed into left and right (COP weighted by force)."""
    n_frames = metrics.force_n.shape[0]
    out = {key: np.zeros((n_frames, 2)) for key in ("force", "contact_area", "peak_pressure", "mx", "my")}
    for index, footprint in enumerate(footprints):
        foot = FEET.index(footprint.foot)
        force = metrics.force_n[:, index]
        out["force"][:, foot] += force
        out["contact_area"][:, foot] += metrics.contact_area_cm2[:, index]
        out["peak_pressure"][:, foot] = np.maximum(out["peak_pressure"][:, foot], metrics.peak_kpa[:, index])
        out["mx"][:, foot] += np.where(force > 0, metrics.cop_x_mm[:, index] * force, 0.0)
        out["my"][:, foot] += np.where(force > 0, metrics.cop_y_mm[:, index] * force, 0.0)
    loaded = out["force"] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out["cop_x"] = np.where(loaded, out.pop("mx") / out["force"], np.nan)
        out["cop_y"] = np.where(loaded, out.pop("my") / out["force"], np.nan)
    return out


def path_length(x: np.ndarray, y: np.ndarray) -> float:
    """Length of a path with gaps (NaN) where it is not defined."""
    steps = np.hypot(np.diff(x), np.diff(y))
    return float(np.nansum(steps))


def symmetry_index(mean_left: float, mean_right: float) -> float:
    """Robinson et al. (1987): 100 (R - L) / (0.5 (R + L))."""
    total = mean_left + mean_right
    return float(100.0 * (mean_right - mean_left) / (0.5 * total)) if total > 0 else float("nan")


def _results(recording: Recording, options: Options, analysis: Analysis, peak_image):
    info = recording.info
    layout = analysis.layout
    feet = per_foot(analysis.per_footprint, layout.footprints)
    mat = analysis.per_footprint
    arch = _arch_indices(layout, info)
    impulse = feet["force"].sum(axis=0)
    share = impulse / impulse.sum() if impulse.sum() > 0 else np.full(2, np.nan)
    if layout.activity == "walking":
        steps = analysis.contacts
    else:
        steps = []
    time_s = recording.time_s
    foot_map = np.full(peak_image.shape, -1, np.int8)
    for index, footprint in enumerate(layout.footprints):
        foot_map[footprint.mask] = FEET.index(footprint.foot)
    geometry = info.has_geometry
    nan_unless_geometry = (lambda a: a) if geometry else (lambda a: np.full_like(a, np.nan))
    data = {
        "force": feet["force"],
        "contact_area": feet["contact_area"],
        "peak_pressure": feet["peak_pressure"],
        "cop_x": nan_unless_geometry(feet["cop_x"]),
        "cop_y": nan_unless_geometry(feet["cop_y"]),
        "mat_force": mat.force_n[:, -1],
        "mat_cop_x": nan_unless_geometry(mat.cop_x_mm[:, -1]),
        "mat_cop_y": nan_unless_geometry(mat.cop_y_mm[:, -1]),
        "arch_index": np.array([arch[foot] for foot in FEET]),
        "arch_type": np.array([arch_type(arch[foot]) for foot in FEET], dtype=object),
        "load_share": share,
        "cop_path_length": np.array(
            [path_length(feet["cop_x"][:, i], feet["cop_y"][:, i]) if geometry else np.nan for i in range(2)]
        ),
        "symmetry_index": np.array(symmetry_index(*feet["force"].mean(axis=0))),
        "step_foot": np.array([c.foot for c in steps], dtype=object),
        "step_start": np.array([time_s[c.first] for c in steps], dtype=float),
        "step_end": np.array([time_s[c.last] for c in steps], dtype=float),
        "peak_pressure_image": peak_image,
        "foot_map": foot_map,
    }
    coords = {
        "time": time_s,
        "frame": recording.counter,
        "foot": list(FEET),
        "y": np.arange(info.rows) * info.pitch_y_mm,
        "x": np.arange(info.cols) * info.pitch_x_mm,
    }
    attrs = {
        "activity": layout.activity,
        "direction": layout.direction,
        "extra_blobs": len(layout.extra_blobs),
        "threshold_kpa": options.threshold_kpa,
        "pitch_x_mm": info.pitch_x_mm,
        "pitch_y_mm": info.pitch_y_mm,
        "cell_area_mm2": info.cell_area_mm2,
        "rate_hz": info.rate_hz,
        "device": info.device,
        "source_url": recording.source_url,
        "software_version": __version__,
        "has_geometry": int(geometry),
        **recording.counters.as_attrs(),
        **(recording.attrs or {}),
    }
    return build_results(data, coords, attrs)


def _arch_indices(layout: FootLayout, info) -> dict[str, float]:
    """Median arch index over each foot's prints; NaN for insoles and sensor sets."""
    if info.foot_map is not None or not info.has_geometry:
        return {foot: float("nan") for foot in FEET}
    forward = np.array(DIRECTIONS[layout.direction])
    found: dict[str, list[float]] = {foot: [] for foot in FEET}
    for footprint in layout.footprints:
        index, _ = arch_index(
            footprint.print_mask, footprint.mask & ~footprint.print_mask, info.pitch_x_mm, info.pitch_y_mm, forward
        )
        if np.isfinite(index):
            found[footprint.foot].append(index)
    return {foot: float(np.median(values)) if values else float("nan") for foot, values in found.items()}
