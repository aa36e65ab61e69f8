"""From a recording to per-foot results: the analysis that ``pressure process`` runs.

1. Device values become kPa (linear scale, or a calibration table); cells stuck or saturated
   all session are masked.
2. Cells loaded for several frames in a row form footprints (toes join their print); a first
   kernel pass gives each footprint's force, so contacts, standing or walking, direction and
   left/right follow.
3. Each print's axis gives its arch index and its regions; a second kernel pass over the
   regions gives every per-frame measure, summed up to footprints and feet.
4. Steps, balance and imbalance are computed from those series, and everything is assembled
   through the results schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from drivers import Recording
from pressure import __version__
from pressure.arch import REGIONS, FootGeometry, arch_index, arch_type, foot_geometry, region_masks, side_of_print, split_toes
from pressure.balance import SWAY_LOWPASS_HZ, SWAY_MEASURES, sway
from pressure.calibration import NOT_A_SENSOR, SATURATED, STUCK, CalibrationTable, cell_mask, fill_from_neighbours
from pressure.feet import DIRECTIONS, FEET, Footprint, FootLayout, assign_feet, find_footprints
from pressure.gait import STEP_MEASURES, Contact, cadence, step_table
from pressure.kernels.frame_metrics import FrameMetrics, frame_metrics
from pressure.kernels.peak_image import cell_summary
from pressure.schema import build_results

CONTACT_FRACTION = 0.02  # a footprint is in contact while its force exceeds this share of its peak
MIN_CONTACT_FRAMES = 2
SUSTAINED_FRAMES = 3  # a cell belongs to a print when loaded this many frames in a row; noise spikes are not
PARTS = ("mat", "left", "right")


class InputError(ValueError):
    """The recording cannot be analysed; the message is meant for the user."""


@dataclass
class Options:
    threshold_kpa: float = 5.0
    facing: str = "+y"
    activity: str | None = None  # None: decided from the data
    calibration: CalibrationTable | None = None

    def __post_init__(self) -> None:
        if self.facing not in DIRECTIONS:
            raise InputError(f"facing must be one of {', '.join(DIRECTIONS)}, got {self.facing}")
        if self.activity not in (None, "standing", "walking"):
            raise InputError(f"activity must be standing or walking, got {self.activity}")
        if not self.threshold_kpa >= 0:
            raise InputError(f"threshold must be >= 0 kPa, got {self.threshold_kpa}")


@dataclass
class Analysis:
    """Intermediate results, kept for pictures and summaries."""

    layout: FootLayout
    footprint_metrics: FrameMetrics
    contacts: list[Contact] = field(default_factory=list)
    geometries: list[FootGeometry | None] = field(default_factory=list)


def kernel_frames(recording: Recording, calibration: CalibrationTable | None) -> tuple[np.ndarray, float]:
    """Frames for the kernels and their kPa scale: integers stay integers when no offset is set."""
    info = recording.info
    if calibration is not None:
        return calibration.apply(recording.cells), 1.0
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


def saturation_kpa(recording: Recording, frames: np.ndarray, scale: float) -> float | None:
    if "saturation_kpa" in recording.info.extra:
        return float(recording.info.extra["saturation_kpa"])
    if frames.dtype.kind in "iu":
        return float(np.iinfo(frames.dtype).max) * scale
    return None


def merge_slots(metrics: FrameMetrics, groups: list[list[int]]) -> FrameMetrics:
    """Metrics of groups of slots: forces and areas add, peaks take the maximum, COPs are
    force-weighted means."""
    n_frames = metrics.force_n.shape[0]
    shape = (n_frames, len(groups))
    force, area, peak = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    moment_x, moment_y = np.zeros(shape), np.zeros(shape)
    for index, slots in enumerate(groups):
        for slot in slots:
            f = metrics.force_n[:, slot]
            force[:, index] += f
            area[:, index] += metrics.contact_area_cm2[:, slot]
            peak[:, index] = np.maximum(peak[:, index], metrics.peak_kpa[:, slot])
            moment_x[:, index] += np.where(f > 0, metrics.cop_x_mm[:, slot] * f, 0.0)
            moment_y[:, index] += np.where(f > 0, metrics.cop_y_mm[:, slot] * f, 0.0)
    loaded = force > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        cop_x = np.where(loaded, moment_x / force, np.nan)
        cop_y = np.where(loaded, moment_y / force, np.nan)
    return FrameMetrics(force, area, peak, cop_x, cop_y)


def contact_runs(force: np.ndarray) -> list[tuple[int, int]]:
    """First and last frame of each run where ``force`` exceeds CONTACT_FRACTION of its peak."""
    peak = force.max(initial=0.0)
    if peak <= 0:
        return []
    on = np.concatenate([[False], force > CONTACT_FRACTION * peak, [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    return [(a, b - 1) for a, b in zip(edges[::2], edges[1::2]) if b - a >= MIN_CONTACT_FRAMES]


def path_length(x: np.ndarray, y: np.ndarray) -> float:
    """Length of a path with gaps (NaN) where it is not defined."""
    return float(np.nansum(np.hypot(np.diff(x), np.diff(y))))


def symmetry_index(mean_left: float, mean_right: float) -> float:
    """Robinson et al. (1987): 100 (R - L) / (0.5 (R + L))."""
    total = mean_left + mean_right
    return float(100.0 * (mean_right - mean_left) / (0.5 * total)) if total > 0 else float("nan")


def touches_edge(mask: np.ndarray) -> bool:
    return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())


def analyse(recording: Recording, options: Options | None = None):
    """Results dataset (DESIGN.md section 6) of one recording, and the intermediate Analysis."""
    options = options or Options()
    info = recording.info
    name = recording.source_url or "recording"
    frames, scale = kernel_frames(recording, options.calibration)
    check_frames(frames, scale, name)
    threshold = options.threshold_kpa
    peak, floor, sustained = cell_summary(frames, threshold / scale, SUSTAINED_FRAMES)
    peak_kpa, floor_kpa = peak.astype(np.float64) * scale, floor.astype(np.float64) * scale
    faults = cell_mask(peak_kpa, floor_kpa, threshold, saturation_kpa(recording, frames, scale))
    loaded = sustained & (faults == 0)
    peak_image = np.where(faults == 0, peak_kpa, np.nan)

    # Footprints, and a first pass for their force over time.
    if info.foot_map is not None:
        footprints = [Footprint(loaded & (info.foot_map == i), loaded & (info.foot_map == i), np.zeros(2), foot)
                      for i, foot in enumerate(FEET) if (loaded & (info.foot_map == i)).any()]
        extra: list[np.ndarray] = []
    else:
        footprints, extra = find_footprints(loaded, info.pitch_x_mm, info.pitch_y_mm, options.facing)
    if not footprints:
        raise InputError(f"{name}: no foot found (nothing above {threshold:g} kPa the size of a foot)")
    frames = _repair_under_feet(frames, faults, footprints)
    layout = FootLayout(footprints, "", options.facing, extra)
    geometry_args = dict(threshold_kpa=threshold, scale_kpa=scale, pitch_x_mm=info.pitch_x_mm,
                         pitch_y_mm=info.pitch_y_mm, cell_area_mm2=info.cell_area_mm2)
    first_pass = frame_metrics(frames, layout.labels(), len(footprints) + len(extra), **geometry_args)
    runs = [contact_runs(first_pass.force_n[:, i]) for i in range(len(footprints))]
    time_s = recording.time_s
    if info.foot_map is not None:
        layout.activity = options.activity or ("walking" if any(len(r) > 1 for r in runs) else "standing")
    else:
        start = np.array([time_s[r[0][0]] if r else np.inf for r in runs])
        fraction = np.array([sum(b - a + 1 for a, b in r) / len(time_s) for r in runs])
        layout.activity, layout.direction = assign_feet(footprints, start, fraction, options.facing, options.activity)
    forward = np.array(DIRECTIONS[layout.direction])

    # Geometry and regions of each print, then the second pass over the regions.
    geometries: list[FootGeometry | None] = []
    region_labels = np.full(loaded.shape, -1, np.int32)
    for index, footprint in enumerate(footprints):
        toes = footprint.mask & ~footprint.print_mask
        if not toes.any() and info.foot_map is None:
            footprint.print_mask, toes = split_toes(footprint.print_mask, peak_kpa, info.pitch_x_mm,
                                                    info.pitch_y_mm, forward)
        geometry = None
        if info.has_geometry:
            geometry = foot_geometry(footprint.print_mask, toes, info.pitch_x_mm, info.pitch_y_mm, forward,
                                     footprint.foot)
            if geometry is not None and len(footprints) == 1 and info.foot_map is None:
                # A lone print's position says nothing of its side; its shape does.
                footprint.foot = side_of_print(geometry, info.pitch_x_mm, info.pitch_y_mm)
                geometry = foot_geometry(footprint.print_mask, toes, info.pitch_x_mm, info.pitch_y_mm,
                                         forward, footprint.foot)
        geometries.append(geometry)
        masks = region_masks(geometry, toes)
        if geometry is None:  # no geometry: the whole print counts as one (unnamed) region
            masks["hindfoot"] = footprint.mask.copy()
        for region, region_name in enumerate(REGIONS):
            region_labels[masks[region_name]] = index * len(REGIONS) + region
    for blob, mask in enumerate(extra):
        region_labels[mask] = len(footprints) * len(REGIONS) + blob
    n_slots = len(footprints) * len(REGIONS) + len(extra)
    region_metrics = frame_metrics(frames, region_labels, n_slots, **geometry_args)
    footprint_metrics = merge_slots(
        region_metrics, [list(range(i * len(REGIONS), (i + 1) * len(REGIONS))) for i in range(len(footprints))])
    contacts = sorted(
        (Contact(i, footprints[i].foot, first, last) for i, r in enumerate(runs) for first, last in r),
        key=lambda contact: contact.first)
    analysis = Analysis(layout, footprint_metrics, contacts, geometries)
    results = _results(recording, options, analysis, region_metrics, peak_image, faults, region_labels)
    return results, analysis


def neighbour_count(mask: np.ndarray) -> np.ndarray:
    """How many of each cell's 8 neighbours are in ``mask``."""
    padded = np.pad(mask.astype(np.int8), 1)
    rows, cols = mask.shape
    return sum(padded[1 + dr: 1 + dr + rows, 1 + dc: 1 + dc + cols]
               for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)


def _repair_under_feet(frames: np.ndarray, faults: np.ndarray, footprints: list[Footprint]) -> np.ndarray:
    """Stuck or saturated cells inside a print (most of their neighbours in it) join the print
    and read their neighbours' mean; elsewhere they are simply left out."""
    faulty = (faults == STUCK) | (faults == SATURATED)
    if not faulty.any():
        return frames
    inside = np.zeros_like(faulty)
    for footprint in footprints:
        in_print = faulty & (neighbour_count(footprint.print_mask) >= 5)
        in_footprint = faulty & (neighbour_count(footprint.mask) >= 5)
        footprint.print_mask |= in_print
        footprint.mask |= in_print | in_footprint
        inside |= in_print | in_footprint
    return fill_from_neighbours(frames, inside, faults == 0) if inside.any() else frames


def _arch_indices(analysis: Analysis, info) -> tuple[list[float], dict[str, float], dict[str, str]]:
    """Per print, per foot (median over its prints) and the axis method per foot. NaN for
    insoles (in-shoe prints have no arch index), sensor sets and prints cut by the mat's edge."""
    per_print, method = [], {foot: "" for foot in FEET}
    for footprint, geometry in zip(analysis.layout.footprints, analysis.geometries):
        usable = info.foot_map is None and geometry is not None and not touches_edge(footprint.mask)
        per_print.append(arch_index(geometry) if usable else float("nan"))
        if usable:
            method[footprint.foot] = geometry.method
    per_foot = {}
    for foot in FEET:
        values = [a for a, fp in zip(per_print, analysis.layout.footprints) if fp.foot == foot and np.isfinite(a)]
        per_foot[foot] = float(np.median(values)) if values else float("nan")
    return per_print, per_foot, method


def _region_measures(analysis: Analysis, region_metrics: FrameMetrics, rate_hz: float):
    """Peak pressure and mean pressure-time integral per contact, per foot and region."""
    peak = np.full((2, len(REGIONS)), np.nan)
    pti_sum, contacts_of = np.zeros((2, len(REGIONS))), np.zeros(2)
    for index, footprint in enumerate(analysis.layout.footprints):
        foot = FEET.index(footprint.foot)
        slots = [index * len(REGIONS) + region for region in range(len(REGIONS))]
        region_peak = region_metrics.peak_kpa[:, slots]
        peak[foot] = np.fmax(peak[foot], region_peak.max(axis=0))
        for contact in analysis.contacts:
            if contact.footprint == index:
                pti_sum[foot] += region_peak[contact.first: contact.last + 1].sum(axis=0) / rate_hz
                contacts_of[foot] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        pti = np.where(contacts_of[:, None] > 0, pti_sum / contacts_of[:, None], np.nan)
    return peak, pti


def _results(recording, options, analysis, region_metrics, peak_image, faults, region_labels):
    info = recording.info
    layout = analysis.layout
    footprints = layout.footprints
    fp = analysis.footprint_metrics
    feet = merge_slots(fp, [[i for i, f in enumerate(footprints) if f.foot == foot] for foot in FEET])
    mat = region_metrics
    geometry = info.has_geometry
    forward = np.array(DIRECTIONS[layout.direction])
    time_s = recording.time_s
    standing = layout.activity == "standing"

    arch_per_print, arch, axis_method = _arch_indices(analysis, info)
    impulse = feet.force_n.sum(axis=0)
    share = impulse / impulse.sum() if impulse.sum() > 0 else np.full(2, np.nan)
    one_insole = info.foot_map is not None and not all((info.foot_map == i).any() for i in range(2))
    if one_insole:  # the other foot was not measured at all: no share, no symmetry
        share = np.full(2, np.nan)
    both = feet.force_n.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        left_share = np.where(both > 0, feet.force_n[:, 0] / both, np.nan)

    steps = [] if standing else analysis.contacts
    table = step_table(steps, fp.force_n, fp.cop_x_mm, fp.cop_y_mm,
                       analysis.geometries if geometry else [None] * len(footprints), arch_per_print,
                       forward, time_s, info.rate_hz, info.pitch_x_mm, info.pitch_y_mm)
    if standing and geometry:
        paths = [(mat.cop_x_mm[:, -1], mat.cop_y_mm[:, -1])] + [
            (feet.cop_x_mm[:, i], feet.cop_y_mm[:, i]) for i in range(2)]
        sways = [sway(x, y, info.rate_hz, forward) for x, y in paths]
    else:
        sways = [sway(np.full(1, np.nan), np.full(1, np.nan), info.rate_hz, forward)] * len(PARTS)
    region_peak, region_pti = _region_measures(analysis, region_metrics, info.rate_hz)

    foot_map = np.full(peak_image.shape, -1, np.int8)
    region_map = np.full(peak_image.shape, -1, np.int8)
    for footprint in footprints:
        foot_map[footprint.mask] = FEET.index(footprint.foot)
    in_footprints = (region_labels >= 0) & (region_labels < len(footprints) * len(REGIONS))
    region_map[in_footprints] = region_labels[in_footprints] % len(REGIONS)
    keep = (lambda a: a) if geometry else (lambda a: np.full_like(a, np.nan))
    data = {
        "force": feet.force_n,
        "contact_area": feet.contact_area_cm2,
        "peak_pressure": feet.peak_kpa,
        "cop_x": keep(feet.cop_x_mm),
        "cop_y": keep(feet.cop_y_mm),
        "mat_force": mat.force_n[:, -1],
        "mat_cop_x": keep(mat.cop_x_mm[:, -1]),
        "mat_cop_y": keep(mat.cop_y_mm[:, -1]),
        "left_share": left_share,
        "arch_index": np.array([arch[foot] for foot in FEET]),
        "arch_type": np.array([arch_type(arch[foot]) for foot in FEET], dtype=object),
        "arch_axis_method": np.array([axis_method[foot] for foot in FEET], dtype=object),
        "load_share": share,
        "cop_path_length": np.array([path_length(feet.cop_x_mm[:, i], feet.cop_y_mm[:, i]) if geometry else np.nan
                                     for i in range(2)]),
        "symmetry_index": np.array(np.nan if one_insole else symmetry_index(*feet.force_n.mean(axis=0))),
        "region_peak_pressure": region_peak,
        "region_pti": region_pti,
        **{f"sway_{name}": np.array([s[name] for s in sways]) for name in SWAY_MEASURES},
        "cadence": np.array(cadence(steps, time_s)),
        "step_foot": np.array([c.foot for c in steps], dtype=object),
        "step_start": np.array([time_s[c.first] for c in steps], dtype=float),
        "step_end": np.array([time_s[c.last] for c in steps], dtype=float),
        **{f"step_{name}": table[name] for name in STEP_MEASURES},
        "peak_pressure_image": peak_image,
        "foot_map": foot_map,
        "region_map": region_map,
        "cell_mask": faults,
    }
    coords = {
        "time": time_s,
        "frame": recording.counter,
        "foot": list(FEET),
        "region": list(REGIONS),
        "part": list(PARTS),
        "y": np.arange(info.rows) * info.pitch_y_mm,
        "x": np.arange(info.cols) * info.pitch_x_mm,
    }
    calibration = (options.calibration.describe() if options.calibration is not None
                   else f"linear: {info.scale_kpa:g} kPa per unit, offset {info.offset_kpa:g} kPa")
    attrs = {
        "activity": layout.activity,
        "direction": layout.direction,
        "extra_blobs": len(layout.extra_blobs),
        "threshold_kpa": options.threshold_kpa,
        "calibration": calibration,
        "sway_lowpass_hz": SWAY_LOWPASS_HZ,
        "stuck_cells": int((faults == 1).sum()),
        "saturated_cells": int((faults == 2).sum()),
        "masked_cells": int((faults == NOT_A_SENSOR).sum()),
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
