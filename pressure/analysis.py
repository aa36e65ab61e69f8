"""From a recording to per-foot results: the analysis that ``pressure process`` runs.

1. Device values become kPa (linear scale, or a calibration table); cells stuck or saturated
   all session are masked.
2. Contacts are found in space and time (``pressure.contacts``): on a mat, cells loaded together
   over a stretch of time, pieces of one foot joined; on insoles, each insole's force curve. A
   first kernel pass gives each contact's force and COP, so each one is a step or standing,
   complete or cut, left or right, and the session's activity and direction follow.
3. Each print's axis gives its arch index and its regions; a second kernel pass over the
   regions gives every per-frame measure, summed up to contacts and feet.
4. Steps, balance and imbalance are computed from those series (cut contacts left out of the
   statistics), and everything is assembled through the results schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivers import Recording
from pressure import __version__
from pressure.arch import REGIONS, FootGeometry, arch_index, arch_type, foot_geometry, region_masks, split_toes
from pressure.balance import SWAY_LOWPASS_HZ, SWAY_MEASURES, sway
from pressure.calibration import NOT_A_SENSOR, SATURATED, STUCK, CalibrationTable, cell_mask, fill_from_neighbours
from pressure.contacts.fragments import TOE_ZONE, find_feet
from pressure.contacts.geometry import Grid, cut_by_edge
from pressure.contacts.insoles import insole_contacts
from pressure.contacts.orientation import Heading, heading
from pressure.contacts.series import combine, contact_metrics, summed
from pressure.contacts.session import (DIRECTIONS, FEET, FootContact, activity_of, cut_by_recording, kind_of,
                                       name_feet, settle_cut_kinds)
from pressure.contacts.tracking import MIN_RUN_FRAMES, RawContact, track_contacts
from pressure.gait import STEP_MEASURES, cadence, path_length, step_table
from pressure.kernels.frame_metrics import FrameMetrics, frame_metrics
from pressure.kernels.peak_image import cell_summary
from pressure.measures.curves import STANCE, STANCE_POINTS, cop_along_across, foot_mean_sd, normalised
from pressure.measures.regions import REGION_MEASURES, contact_region_measures, foot_region_means
from pressure.measures.selection import StepSelection, selected_steps
from pressure.plausibility import assumed_settings, plausibility_warnings
from pressure.regions import REGIONS as ANATOMICAL_REGIONS
from pressure.regions import UserMasks, automask_of_geometry, cell_regions, insole_labels, pedar_sensor_of_cells, shipped_template
from pressure.schema import build_results

SUSTAINED_FRAMES = 3  # a cell belongs to a print when loaded this many frames in a row; noise spikes are not
PARTS = ("mat", "left", "right")
PRINT_SHARE = 0.02  # a print's cells were loaded for at least this share of its contact
INSOLE_HEADING = Heading(np.array([0.0, 1.0]), "insole", 0.0)  # insole grids run heel to toe along rows


class InputError(ValueError):
    """The recording cannot be analysed; the message is meant for the user."""


@dataclass
class Options:
    threshold_kpa: float = 5.0
    facing: str = "+y"
    activity: str | None = None  # None: decided from the data
    calibration: CalibrationTable | None = None
    user_masks: UserMasks | None = None  # regions drawn by the user, in the print's own frame
    skip_steps: int = 0  # steps left out of each foot's statistics at each end of the walk
    min_stance_s: float = 0.0  # steps shorter than this are left out of them too

    @property
    def activity_kind(self) -> str | None:
        """The kind every contact takes when the activity is forced."""
        return {"standing": "standing", "walking": "step"}.get(self.activity or "")

    def __post_init__(self) -> None:
        if self.facing not in DIRECTIONS:
            raise InputError(f"facing must be one of {', '.join(DIRECTIONS)}, got {self.facing}")
        if self.activity not in (None, "standing", "walking"):
            raise InputError(f"activity must be standing or walking, got {self.activity}")
        if not self.threshold_kpa >= 0:
            raise InputError(f"threshold must be >= 0 kPa, got {self.threshold_kpa}")


@dataclass
class Analysis:
    """Intermediate results, kept for pictures, summaries and benchmarks."""

    contacts: list[FootContact]
    extra_blobs: list[RawContact]
    contact_metrics: list[FrameMetrics]  # per contact, over its own frames: (frames, 1)
    geometries: list[FootGeometry | None]
    direction: str
    direction_source: str
    grid: Grid

    def labels(self) -> np.ndarray:
        """Per cell: the last contact on it, then extra blobs numbered after the contacts; -1 elsewhere."""
        labels = np.full(self.grid.shape[0] * self.grid.shape[1], -1, np.int32)
        for index, raw in enumerate([c.raw for c in self.contacts] + self.extra_blobs):
            labels[raw.cells] = index
        return labels.reshape(self.grid.shape)


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


def symmetry_index(mean_left: float, mean_right: float) -> float:
    """Robinson et al. (1987): 100 (R - L) / (0.5 (R + L))."""
    total = mean_left + mean_right
    return float(100.0 * (mean_right - mean_left) / (0.5 * total)) if total > 0 else float("nan")


def analyse(recording: Recording, options: Options | None = None):
    """Results dataset (DESIGN.md section 6) of one recording, and the intermediate Analysis."""
    options = options or Options()
    info = recording.info
    name = recording.source_url or "recording"
    frames, scale = kernel_frames(recording, options.calibration)
    check_frames(frames, scale, name)
    threshold = options.threshold_kpa
    peak, floor, _ = cell_summary(frames, threshold / scale, SUSTAINED_FRAMES)
    peak_kpa, floor_kpa = peak.astype(np.float64) * scale, floor.astype(np.float64) * scale
    faults = cell_mask(peak_kpa, floor_kpa, threshold, saturation_kpa(recording, frames, scale))
    peak_image = np.where(faults == 0, peak_kpa, np.nan)
    geometry_args = dict(threshold_kpa=threshold, scale_kpa=scale, pitch_x_mm=info.pitch_x_mm,
                         pitch_y_mm=info.pitch_y_mm, cell_area_mm2=info.cell_area_mm2)
    grid = Grid(frames.shape[1:], info.pitch_x_mm, info.pitch_y_mm)

    # Contacts in space and time, then a first pass for each one's force and COP.
    if info.foot_map is not None:
        contacts, extra = _insole_contacts(frames, faults, info.foot_map, info.rate_hz, geometry_args)
    else:
        raw = track_contacts(frames, threshold / scale, info.rate_hz, scale, live=faults == 0)
        pieces, extra = find_feet(raw, grid, info.rate_hz)
        contacts = [FootContact(i, p.whole, p.parts, heading(p.whole, grid, info.rate_hz)) for i, p in enumerate(pieces)]
    if not contacts:
        assumed = assumed_settings(info)
        raise InputError(f"{name}: no foot found (nothing above {threshold:g} kPa the size of a foot)"
                         + (f"; {assumed}" if assumed else ""))
    frames = _repair_under_feet(frames, faults, contacts, grid)
    windows = [(c.first, c.last) for c in contacts]
    whole = contact_metrics(frames, [(c.raw.cells, np.zeros(len(c.raw.cells), np.int64)) for c in contacts],
                            windows, 1, **geometry_args)
    spatial = grid if info.foot_map is None else None
    for contact, metrics in zip(contacts, whole):
        if info.foot_map is None:
            contact.cut_start, contact.cut_end = cut_by_recording(metrics.force_n[:, 0], contact.first,
                                                                  contact.last, len(frames))
            contact.cut_edge = cut_by_edge(contact.raw, grid)
        contact.kind = options.activity_kind or kind_of(contact, metrics.cop_x_mm[:, 0], metrics.cop_y_mm[:, 0],
                                                         info.rate_hz, spatial)
    if options.activity_kind is None:
        settle_cut_kinds(contacts, info.rate_hz)
    direction, direction_source = name_feet(contacts, spatial, options.facing)

    # Geometry and regions of each print, then the second pass over the regions.
    geometries, toes = [], []
    for contact in contacts:
        geometry, toe_cells = _print_geometry(contact, grid) if info.has_geometry and spatial else (None, None)
        geometries.append(geometry)
        toes.append(toe_cells)
    region_slots = [(c.raw.cells, _region_of_cells(c, g, t, grid)) for c, g, t in zip(contacts, geometries, toes)]
    region_slots += [(blob.cells, np.zeros(len(blob.cells), np.int64)) for blob in extra]
    all_windows = windows + [(b.first, b.last) for b in extra]
    region_metrics = contact_metrics(frames, region_slots, all_windows, len(REGIONS), **geometry_args)
    per_contact = [summed(metrics) for metrics in region_metrics[:len(contacts)]]
    divisions = _region_divisions(frames, contacts, geometries, toes, grid, windows, region_metrics, info,
                                  options.user_masks, geometry_args)
    analysis = Analysis(contacts, extra, per_contact, geometries, direction, direction_source, grid)
    mat = combine(region_metrics, all_windows, [list(range(len(all_windows)))], len(frames))
    standing_mean = mean_image(frames, _standing_frames(contacts, len(frames)), scale, faults)
    results = _results(recording, options, analysis, divisions, mat, peak_image, standing_mean, faults, region_slots)
    results.attrs["warnings"] = "\n".join(plausibility_warnings(recording, results, contacts))
    return results, analysis


def _insole_contacts(frames, faults, foot_map, rate_hz, geometry_args) -> tuple[list[FootContact], list]:
    """Insoles: each grid's force curve gives its contacts; all its cells belong to its foot."""
    labels = np.where((faults == 0) & (foot_map >= 0), foot_map, -1).astype(np.int32)
    force = frame_metrics(frames, labels, len(FEET), **geometry_args).force_n
    contacts = []
    for side, foot in enumerate(FEET):
        cells = np.flatnonzero(labels.ravel() == side)
        if len(cells) == 0:
            continue
        for found in insole_contacts(force[:, side], rate_hz):
            raw = RawContact(found.first, found.last, cells, np.full(len(cells), found.first), np.zeros(len(cells)),
                             np.full(len(cells), found.n_frames))
            contacts.append(FootContact(0, raw, [raw], INSOLE_HEADING, foot, cut_start=found.cut_start,
                                        cut_end=found.cut_end))
    contacts.sort(key=lambda contact: contact.first)
    for index, contact in enumerate(contacts):
        contact.index = index
    return contacts, []


def _print_geometry(contact: FootContact, grid: Grid) -> tuple[FootGeometry | None, np.ndarray]:
    """The print's geometry and its toes, cut at the toe crease (the deepest dip of load between
    the forefoot and the toes, or the gap before toe islands). The print holds the cells loaded
    for a real share of the contact: a cell that noise lifted above the threshold for a few frames
    of a long stance is no part of the foot's outline."""
    raw, axis = contact.raw, contact.heading.axis
    duration = raw.last - raw.first + 1
    enough = raw.loaded_frames >= max(min(MIN_RUN_FRAMES, duration), PRINT_SHARE * duration)
    mask = raw.restricted(enough).mask(grid.shape)
    # Pieces of their own (islands) in the front of the foot are toes; then toes still joined to
    # the forefoot are cut at the crease.
    along = grid.xy(raw.cells) @ axis
    front = along.min() + (1 - TOE_ZONE) * np.ptp(along)
    largest = max(contact.parts, key=lambda part: len(part.cells))
    toe_islands = np.zeros(grid.shape, bool)
    for part in contact.parts:
        if part is not largest and (grid.xy(part.cells) @ axis).mean() >= front:
            toe_islands.ravel()[part.cells] = True
    peak = raw.image(raw.peak_kpa, grid.shape)
    print_mask, toes_mask = split_toes(mask & ~toe_islands, peak, grid.pitch_x_mm, grid.pitch_y_mm, axis)
    toes_mask |= toe_islands & mask
    geometry = foot_geometry(print_mask, toes_mask, grid.pitch_x_mm, grid.pitch_y_mm, contact.heading.axis,
                             contact.foot)
    return geometry, toes_mask


def _region_of_cells(contact: FootContact, geometry: FootGeometry | None, toes_mask, grid: Grid) -> np.ndarray:
    """Each cell's region index (REGIONS): the print's thirds and the toes; a faint cell outside
    the print goes by its place along the foot. Without geometry every cell counts as the first."""
    if geometry is None:
        return np.zeros(len(contact.raw.cells), np.int64)
    masks = region_masks(geometry, toes_mask)
    along = grid.xy(contact.raw.cells) @ geometry.axis
    region = np.clip(((along - geometry.start) / (geometry.length_mm / 3)).astype(np.int64), 0, 3)
    for index, region_name in enumerate(REGIONS):
        region[masks[region_name].ravel()[contact.raw.cells]] = index
    return region


def neighbour_count(mask: np.ndarray) -> np.ndarray:
    """How many of each cell's 8 neighbours are in ``mask``."""
    padded = np.pad(mask.astype(np.int8), 1)
    rows, cols = mask.shape
    return sum(padded[1 + dr: 1 + dr + rows, 1 + dc: 1 + dc + cols]
               for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)


def _repair_under_feet(frames: np.ndarray, faults: np.ndarray, contacts: list[FootContact], grid: Grid) -> np.ndarray:
    """Stuck or saturated cells inside a print (most of their neighbours in it) join the contact,
    loaded as long as it is, and read their neighbours' mean; elsewhere they are simply left out."""
    faulty = (faults == STUCK) | (faults == SATURATED)
    if not faulty.any():
        return frames
    inside = np.zeros_like(faulty)
    for contact in contacts:
        mask = contact.raw.mask(grid.shape)
        joining = faulty & ~mask & (neighbour_count(mask) >= 5)
        if joining.any():
            cells = np.flatnonzero(joining.ravel())
            n = len(cells)
            contact.raw = contact.raw.merged(RawContact(contact.first, contact.last, cells, np.full(n, contact.first),
                                                        np.zeros(n), np.full(n, contact.last - contact.first + 1)))
            inside |= joining
    return fill_from_neighbours(frames, inside, faults == 0) if inside.any() else frames


def _arch_indices(analysis: Analysis) -> tuple[list[float], dict[str, float], dict[str, str]]:
    """Per contact, per foot (median over its whole prints) and the axis method per foot. NaN
    for insoles (in-shoe prints have no arch index), sensor sets and prints not seen whole."""
    per_contact, method = [], {foot: "" for foot in FEET}
    for contact, geometry in zip(analysis.contacts, analysis.geometries):
        usable = geometry is not None and contact.print_whole
        per_contact.append(arch_index(geometry) if usable else float("nan"))
        if usable:
            method[contact.foot] = geometry.method
    per_foot = {}
    for foot in FEET:
        values = [a for a, c in zip(per_contact, analysis.contacts) if c.foot == foot and np.isfinite(a)]
        per_foot[foot] = float(np.median(values)) if values else float("nan")
    return per_contact, per_foot, method


def _regions_and_curves(analysis: Analysis, divisions: list[Division], steps: list[FootContact],
                        selected: np.ndarray, n_frames: int, rate_hz: float, positions: bool) -> dict:
    """Per step and per foot: the region measures (pressure/measures/regions.py) of every
    division's regions side by side (a region's relative load is its share within its division),
    each region's force over the session, and the time-normalised step curves with their mean and
    SD per foot over the selected steps (standing contacts count for the region means, not the
    curves)."""
    contacts = analysis.contacts
    n_regions = sum(len(division.names) for division in divisions)
    region_metrics = [FrameMetrics(*(np.concatenate([getattr(d.metrics[c.index], name) for d in divisions], axis=1)
                                     for name in ("force_n", "contact_area_cm2", "peak_kpa", "cop_x_mm", "cop_y_mm")))
                      for c in contacts]
    per_contact = []
    for contact in contacts:
        parts = [contact_region_measures(d.metrics[contact.index].force_n, d.metrics[contact.index].contact_area_cm2,
                                         d.metrics[contact.index].peak_kpa, rate_hz) for d in divisions]
        per_contact.append({name: np.concatenate([part[name] for part in parts]) for name in REGION_MEASURES})
    used = [c.index for c in contacts if c.kind == "standing"] + [s.index for s, keep in zip(steps, selected) if keep]
    means = foot_region_means([per_contact[i] for i in used], [FEET.index(contacts[i].foot) for i in used], n_regions)
    highest = np.full((2, n_regions), np.nan)
    for i in used:
        foot = FEET.index(contacts[i].foot)
        highest[foot] = np.fmax(highest[foot], per_contact[i]["peak_pressure"])
    series = np.zeros((n_frames, 2, n_regions))
    for contact in contacts:
        series[contact.first:contact.last + 1, FEET.index(contact.foot)] += region_metrics[contact.index].force_n
    force, along, across = (np.full((len(steps), STANCE_POINTS), np.nan) for _ in range(3))
    region_force = np.full((len(steps), n_regions, STANCE_POINTS), np.nan)
    for k, step in enumerate(steps):
        metrics = analysis.contact_metrics[step.index]
        force[k] = normalised(metrics.force_n[:, 0])
        region_force[k] = normalised(region_metrics[step.index].force_n)
        geometry = analysis.geometries[step.index]
        if positions and geometry is not None:
            a, b = cop_along_across(metrics.cop_x_mm[:, 0], metrics.cop_y_mm[:, 0], geometry.heel_xy,
                                    geometry.axis, step.foot)
            along[k], across[k] = normalised(a), normalised(b)
    feet = np.array([FEET.index(step.foot) if keep else -1 for step, keep in zip(steps, selected)], dtype=int)
    data = {
        **{f"step_region_{name}": np.array([per_contact[s.index][name] for s in steps]).reshape(len(steps), n_regions)
           for name in REGION_MEASURES},
        **{f"region_{name}": means[name] for name in REGION_MEASURES if name != "peak_pressure"},
        "region_peak_pressure": highest,
        "region_force_series": series,
        "step_force_curve": force,
        "step_cop_along_curve": along,
        "step_cop_across_curve": across,
        "step_region_force_curve": region_force,
    }
    for name, curves in (("force", force), ("cop_along", along), ("cop_across", across),
                         ("region_force", region_force)):
        data[f"curve_{name}_mean"], data[f"curve_{name}_sd"] = foot_mean_sd(curves, feet)
    return data


@dataclass
class Division:
    """One way of dividing each print into regions, and each contact's series per region."""

    name: str  # "thirds", "anatomical" or "user"
    names: tuple[str, ...]
    metrics: list[FrameMetrics]  # by contact index: (frames, regions)
    cells: list[tuple[np.ndarray, np.ndarray]]  # by contact index: (cells, region of each)


def _region_divisions(frames, contacts, geometries, toes, grid, windows, thirds_metrics, info, user_masks,
                      geometry_args) -> list[Division]:
    """The thirds (already measured), the nine anatomical regions (pressure/regions/: the automask
    of each print, or the shipped template of a pedar insole) and the user's regions, if any.
    A cell in no region of a division is left out of it."""
    sensors = pedar_sensor_of_cells(info)
    insole_map = insole_labels(shipped_template("pedar"), sensors) if sensors is not None else None
    anatomical, user = [], []
    for contact, geometry, toe_cells in zip(contacts, geometries, toes):
        cells = contact.raw.cells
        if insole_map is not None:
            anatomical.append(insole_map.ravel()[cells].astype(np.int64))
            user.append(np.full(len(cells), -1, np.int64))  # user masks are drawn on prints
            continue
        if geometry is None:
            anatomical.append(np.full(len(cells), -1, np.int64))
            user.append(np.full(len(cells), -1, np.int64))
            continue
        mask = automask_of_geometry(geometry, toe_cells, grid.pitch_x_mm, grid.pitch_y_mm, contact.foot)
        anatomical.append(cell_regions(mask.labels, cells, grid.pitch_x_mm, grid.pitch_y_mm))
        if user_masks is not None:
            user.append(user_masks.label_xy(mask.frame, grid.xy(cells)).astype(np.int64))
    thirds = Division("thirds", REGIONS, thirds_metrics[:len(contacts)],
                      [(c.raw.cells, np.zeros(len(c.raw.cells), np.int64)) for c in contacts])
    divisions = [thirds]
    wanted = [("anatomical", ANATOMICAL_REGIONS, anatomical)]
    if user_masks is not None:
        clash = set(user_masks.names) & (set(REGIONS) | set(ANATOMICAL_REGIONS))
        if clash:
            raise InputError(f"{user_masks.source}: region name {sorted(clash)[0]!r} is a built-in region; rename it")
        wanted.append(("user", tuple(user_masks.names), user))
    for name, names, labels in wanted:
        slots = [(c.raw.cells[r >= 0], r[r >= 0]) for c, r in zip(contacts, labels)]
        metrics = contact_metrics(frames, slots, windows, len(names), **geometry_args)
        divisions.append(Division(name, tuple(names), metrics, slots))
    return divisions


def _region_image(division: Division, shape) -> np.ndarray:
    image = np.full(shape, -1, np.int8)
    for cells, regions in division.cells:
        image.ravel()[cells] = regions
    return image


def mean_image(frames: np.ndarray, chosen: np.ndarray, scale: float, faults: np.ndarray,
               block: int = 4096) -> np.ndarray:
    """Each cell's mean pressure (kPa) over the chosen frames, summed a block of frames at a time
    (no copy of the session); NaN everywhere when none is chosen, and on masked cells."""
    total = np.zeros(frames.shape[1:])
    count = 0
    for start in range(0, len(frames), block):
        mine = chosen[start:start + block]
        if mine.any():
            total += frames[start:start + block][mine].sum(axis=0, dtype=np.float64)
            count += int(mine.sum())
    if not count:
        return np.full(frames.shape[1:], np.nan)
    return np.where(faults == 0, total / count * scale, np.nan)


def _standing_frames(contacts: list[FootContact], n_frames: int) -> np.ndarray:
    """Frames in which every standing foot stands: where sway and the standing load share are
    measured (both feet when both stood, else the one that did)."""
    standing = [c for c in contacts if c.kind == "standing"]
    frames = np.zeros(n_frames, bool)
    for contact in standing:
        frames[contact.first: contact.last + 1] = True
    for foot in {c.foot for c in standing}:
        on = np.zeros(n_frames, bool)
        for contact in standing:
            if contact.foot == foot:
                on[contact.first: contact.last + 1] = True
        frames &= on
    return frames


def _load_share(feet: FrameMetrics, table: dict, steps: list[FootContact], standing_frames: np.ndarray,
                both_feet_seen: bool) -> tuple[np.ndarray, float, str]:
    """Per foot share and the symmetry index, and what they come from: the mean force while
    standing, else the mean impulse of each foot's complete steps (so an extra contact on one
    side does not move them). NaN where a foot was not measured at all."""
    if standing_frames.any():
        mean = feet.force_n[standing_frames].mean(axis=0)
        source = "standing"
    else:
        impulse = table["impulse"]
        mean = np.array([np.nanmean(impulse[[k for k, c in enumerate(steps) if c.foot == foot]])
                         if any(c.foot == foot and np.isfinite(impulse[k]) for k, c in enumerate(steps)) else np.nan
                         for foot in FEET])
        source = "steps"
    total = np.nansum(mean)
    share = mean / total if total > 0 else np.full(2, np.nan)
    if source == "standing" and not both_feet_seen and total > 0:
        share = np.nan_to_num(share)  # one foot only, standing: it carried everything on the mat
    elif source == "steps" and not np.all(np.isfinite(share)):
        share = np.full(2, np.nan)  # a foot without a complete step: no share to speak of
    index = symmetry_index(*mean) if both_feet_seen and np.all(np.isfinite(mean)) else float("nan")
    return share, index, source


def vendor_numbers(recording: Recording) -> dict[str, np.ndarray]:
    """What the export itself reports (``Recording.extras``: force per foot or in all, COP in mm),
    kept in the results beside ours under the schema's ``reported_*`` names."""
    extras = recording.extras or {}
    out = {}
    force = extras.get("reported_force_n")
    if force is not None:
        force = np.asarray(force, float)
        out["reported_force" if force.ndim == 2 else "reported_mat_force"] = force
    for axis in ("x", "y"):
        if f"reported_cop_{axis}_mm" in extras:
            out[f"reported_cop_{axis}"] = np.asarray(extras[f"reported_cop_{axis}_mm"], float)
        per_insole = [extras.get(f"reported_cop_{axis}_{foot}") for foot in FEET]
        if all(values is not None for values in per_insole):  # in the vendor's insole units, not mm
            out[f"reported_insole_cop_{axis}"] = np.stack([np.asarray(v, float) for v in per_insole], axis=1)
    return out


def _results(recording, options, analysis: Analysis, divisions: list[Division], mat, peak_image, standing_mean,
             faults, region_slots):
    info = recording.info
    contacts = analysis.contacts
    per_contact = analysis.contact_metrics
    windows = [(c.first, c.last) for c in contacts]
    feet = combine(per_contact, windows, [[c.index for c in contacts if c.foot == foot] for foot in FEET],
                   len(recording.time_s))
    geometry = info.has_geometry
    forward = np.array(DIRECTIONS[analysis.direction])
    time_s = recording.time_s
    n_frames = len(time_s)
    activity = activity_of(contacts)

    arch_per_contact, arch, axis_method = _arch_indices(analysis)
    steps = [c for c in contacts if c.kind == "step"]
    selected = selected_steps(steps, time_s, StepSelection(options.skip_steps, options.min_stance_s))
    table = step_table(steps, per_contact, geometry, analysis.geometries if geometry else [None] * len(contacts), arch_per_contact,
                       forward, time_s, info.rate_hz, info.pitch_x_mm, info.pitch_y_mm)
    standing_frames = _standing_frames(contacts, n_frames)
    both_feet_seen = {c.foot for c in contacts} == set(FEET)
    share, symmetry, share_source = _load_share(feet, table, steps, standing_frames, both_feet_seen)
    both = feet.force_n.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        left_share = np.where(both > 0, feet.force_n[:, 0] / both, np.nan)

    if standing_frames.any() and geometry:
        def standing_only(series):
            return np.where(standing_frames, series, np.nan)
        paths = [(mat.cop_x_mm[:, 0], mat.cop_y_mm[:, 0])] + [
            (feet.cop_x_mm[:, i], feet.cop_y_mm[:, i]) for i in range(2)]
        sways = [sway(standing_only(x), standing_only(y), info.rate_hz, forward) for x, y in paths]
    else:
        sways = [sway(np.full(1, np.nan), np.full(1, np.nan), info.rate_hz, forward)] * len(PARTS)

    foot_map = np.full(peak_image.shape, -1, np.int8)
    region_map = np.full(peak_image.shape, -1, np.int8)
    keep = (lambda a: a) if geometry else (lambda a: np.full_like(a, np.nan))  # sensor sets: no positions
    for contact, (cells, regions) in zip(contacts, region_slots):
        foot_map.ravel()[cells] = FEET.index(contact.foot)
        region_map.ravel()[cells] = regions
    data = {
        "force": feet.force_n,
        "contact_area": feet.contact_area_cm2,
        "peak_pressure": feet.peak_kpa,
        "cop_x": keep(feet.cop_x_mm),
        "cop_y": keep(feet.cop_y_mm),
        "mat_force": mat.force_n[:, 0],
        "mat_cop_x": keep(mat.cop_x_mm[:, 0]),
        "mat_cop_y": keep(mat.cop_y_mm[:, 0]),
        "left_share": left_share,
        "arch_index": np.array([arch[foot] for foot in FEET]),
        "arch_type": np.array([arch_type(arch[foot]) for foot in FEET], dtype=object),
        "arch_axis_method": np.array([axis_method[foot] for foot in FEET], dtype=object),
        "load_share": share,
        "cop_path_length": np.array([path_length(feet.cop_x_mm[:, i], feet.cop_y_mm[:, i]) if geometry else np.nan
                                     for i in range(2)]),
        "symmetry_index": np.array(symmetry),
        **{f"sway_{name}": np.array([s[name] for s in sways]) for name in SWAY_MEASURES},
        "cadence": np.array(cadence(steps, time_s)),
        "step_foot": np.array([c.foot for c in steps], dtype=object),
        "step_start": np.array([time_s[c.first] for c in steps], dtype=float),
        "step_end": np.array([time_s[c.last] for c in steps], dtype=float),
        "step_complete": np.array([c.complete for c in steps], dtype=bool),
        "step_selected": selected,
        **_regions_and_curves(analysis, divisions, steps, selected, n_frames, info.rate_hz, geometry),
        "anatomical_region_map": _region_image(divisions[1], peak_image.shape),
        **{f"step_{name}": table[name] for name in STEP_MEASURES},
        "peak_pressure_image": peak_image,
        "mean_pressure_image": standing_mean,
        "foot_map": foot_map,
        "region_map": region_map,
        "cell_mask": faults,
    }
    data.update(vendor_numbers(recording))
    coords = {
        "time": time_s,
        "frame": recording.counter,
        "foot": list(FEET),
        "region": [name for division in divisions for name in division.names],
        "region_set": [division.name for division in divisions for _ in division.names],
        "part": list(PARTS),
        "y": np.arange(info.rows) * info.pitch_y_mm,
        "x": np.arange(info.cols) * info.pitch_x_mm,
        "stance": STANCE,
    }
    calibration = (options.calibration.describe() if options.calibration is not None
                   else f"linear: {info.scale_kpa:g} kPa per unit, offset {info.offset_kpa:g} kPa")
    standing_times = time_s[standing_frames]
    attrs = {
        "activity": activity,
        "direction": analysis.direction,
        "direction_source": analysis.direction_source,
        "contacts": len(contacts),
        "standing_contacts": sum(c.kind == "standing" for c in contacts),
        "standing_from_s": float(standing_times[0]) if len(standing_times) else float("nan"),
        "standing_to_s": float(standing_times[-1]) if len(standing_times) else float("nan"),
        "load_share_from": share_source,
        "extra_blobs": len(analysis.extra_blobs),
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
