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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from drivers import Recording
from drivers.recording import kpa_of
from pressure import __version__
from pressure.arch import (
    REGIONS,
    FootGeometry,
    arch_index,
    arch_type,
    foot_geometry,
    region_masks,
    split_toes,
)
from pressure.balance import SWAY_LOWPASS_HZ, SWAY_MEASURES, sway
from pressure.calibration import (
    NOT_A_SENSOR,
    SATURATED,
    STUCK,
    CalibrationTable,
    cell_mask,
    fill_from_neighbours,
)
from pressure.contacts.fragments import TOE_ZONE, find_feet
from pressure.contacts.geometry import Grid, cut_by_edge
from pressure.contacts.insoles import insole_contacts
from pressure.contacts.orientation import Heading, heading
from pressure.contacts.session import (
    DIRECTIONS,
    FEET,
    MAX_STEP_S,
    MIN_JUDGED_S,
    FootContact,
    activity_of,
    cut_by_recording,
    kind_of,
    name_feet,
    settle_cut_kinds,
    settle_double_support,
)
from pressure.contacts.standing import TRANSITION_S, quiet_standing, standing_frames
from pressure.contacts.tracking import MIN_RUN_FRAMES, RawContact, bridge_frames, contacts_of_session
from pressure.gait import STEP_MEASURES, cadence, path_length, step_table
from pressure.kernels.frame_metrics import FrameMetrics
from pressure.measures.curves import (
    STANCE,
    STANCE_POINTS,
    cop_along_across,
    foot_mean_sd,
    normalised,
)
from pressure.measures.regions import REGION_MEASURES, foot_region_means
from pressure.measures.selection import StepSelection, selected_steps
from pressure.measures.series_store import SeriesStore
from pressure.measures.session import Measured, SessionMeasures
from pressure.plausibility import assumed_settings, plausibility_warnings
from pressure.reading import LocalReader, Preparation
from pressure.regions import REGIONS as ANATOMICAL_REGIONS
from pressure.regions import (
    UserMasks,
    automask_of_geometry,
    cell_regions,
    insole_labels,
    pedar_sensor_of_cells,
    shipped_template,
)
from pressure.schema import build_results

PARTS = ("mat", "left", "right")
PRINT_SHARE = 0.02  # a print's cells were loaded for at least this share of its contact
INSOLE_HEADING = Heading(np.array([0.0, 1.0]), "insole", 0.0)  # insole grids run heel to toe along rows


class InputError(ValueError):
    """The recording cannot be analysed; the message is meant for the user."""


@dataclass
class Options:
    threshold_kpa: float = 5.0
    facing: str | None = None  # --facing; None: not given, the default (DEFAULT_FACING) decides where the prints do not
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
        if self.facing is not None and self.facing not in DIRECTIONS:
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
    contact_metrics: list[FrameMetrics | None]  # per step, over its own frames: (frames, 1); None for standing
    geometries: list[FootGeometry | None]
    direction: str
    direction_source: str
    grid: Grid
    series: SeriesStore | None = None  # the per-frame results; a scratch file to close once written

    def labels(self) -> np.ndarray:
        """Per cell: the last contact on it, then extra blobs numbered after the contacts; -1 elsewhere."""
        labels = np.full(self.grid.shape[0] * self.grid.shape[1], -1, np.int32)
        for index, raw in enumerate([c.raw for c in self.contacts] + self.extra_blobs):
            labels[raw.cells] = index
        return labels.reshape(self.grid.shape)


def kernel_conversion(recording: Recording, calibration: CalibrationTable | None
                      ) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    """How frames become the kernels' frames, and their kPa scale: integers stay integers when
    no offset is set."""
    info = recording.info
    if calibration is not None:
        return calibration.apply, 1.0
    if info.offset_kpa == 0.0:
        return np.asarray, info.scale_kpa
    return lambda cells: kpa_of(cells, info), 1.0


def saturation_kpa(recording: Recording, dtype: np.dtype, scale: float) -> float | None:
    if "saturation_kpa" in recording.info.extra:
        return float(recording.info.extra["saturation_kpa"])
    if dtype.kind in "iu":
        return float(np.iinfo(dtype).max) * scale
    return None


def symmetry_index(mean_left: float, mean_right: float) -> float:
    """Robinson et al. (1987): 100 (R - L) / (0.5 (R + L))."""
    total = mean_left + mean_right
    return float(100.0 * (mean_right - mean_left) / (0.5 * total)) if total > 0 else float("nan")


def analyse(recording: Recording, options: Options | None = None, scratch_folder: Path | None = None,
            reader=None):
    """Results dataset (DESIGN.md section 6) of one recording, and the intermediate Analysis.

    The frames are read a block at a time, in three passes at most (recording.cells may be a
    session left in its file, ``drivers.session_frames``): the cell summary and the contacts;
    the series of contacts short enough to be steps (their kind); then every measure. Memory
    holds a few blocks, the contacts and the per-frame results, which go to a scratch file in
    ``scratch_folder`` (if given) when they are large. ``reader`` reads the passes
    (``pressure.reading.LocalReader`` of the recording's frames by default; on a Dask cluster,
    ``pressure.cluster.ClusterReader``)."""
    options = options or Options()
    if reader is not None:
        return _analysed(recording, options, scratch_folder, reader)
    reader = LocalReader(recording.cells, scratch_folder)
    try:
        return _analysed(recording, options, scratch_folder, reader)
    finally:
        reader.close()  # its scratch file, if any, whatever happened


def _analysed(recording: Recording, options: Options, scratch_folder: Path | None, reader):
    info = recording.info
    name = recording.source_url or "recording"
    frames = recording.cells
    convert, scale = kernel_conversion(recording, options.calibration)
    threshold = options.threshold_kpa
    n_frames = len(frames)
    grid = Grid(tuple(frames.shape[1:]), info.pitch_x_mm, info.pitch_y_mm)

    # Pass 1: each cell's summary (stuck, saturated) and, on a mat, every cell's loading runs.
    scan = reader.scan(convert, threshold / scale, info.rate_hz, track=info.foot_map is None)
    problem = scan.checks.problem(scale)
    if problem:
        raise InputError(f"{name}: {problem}")
    peak, floor = scan.summary.result()
    peak_kpa, floor_kpa = peak.astype(np.float64) * scale, floor.astype(np.float64) * scale
    faults = cell_mask(peak_kpa, floor_kpa, threshold, saturation_kpa(recording, peak.dtype, scale))
    peak_image = np.where(faults == 0, peak_kpa, np.nan)
    geometry_args = dict(threshold_kpa=threshold, scale_kpa=scale, pitch_x_mm=info.pitch_x_mm,
                         pitch_y_mm=info.pitch_y_mm, cell_area_mm2=info.cell_area_mm2)

    if info.foot_map is not None:
        contacts, extra = _insole_contacts(reader, convert, n_frames, faults, info.foot_map, info.rate_hz,
                                           geometry_args)
    else:
        raw = contacts_of_session(scan.runs, n_frames, grid.shape, bridge_frames(info.rate_hz), scale,
                                  dead=faults != 0)
        pieces, extra = find_feet(raw, grid, info.rate_hz)
        contacts = [FootContact(i, p.whole, p.parts, heading(p.whole, grid, info.rate_hz)) for i, p in enumerate(pieces)]
    if not contacts:
        assumed = assumed_settings(info)
        raise InputError(f"{name}: no foot found (nothing above {threshold:g} kPa the size of a foot)"
                         + (f"; {assumed}" if assumed else ""))
    prepare = Preparation(convert, _repair_under_feet(faults, contacts, grid))
    windows = [(c.first, c.last) for c in contacts]
    spatial = grid if info.foot_map is None else None

    # Pass 2: the kind of each contact (a step rolls heel to toe within a few seconds).
    _settle_kinds(reader, prepare, contacts, windows, n_frames, spatial, options, info.rate_hz, geometry_args)
    direction, direction_source = name_feet(contacts, spatial, options.facing)

    # Geometry and regions of each print, then pass 3 over every division of them.
    geometries, toes = [], []
    for contact in contacts:
        geometry, toe_cells = _print_geometry(contact, grid) if info.has_geometry and spatial else (None, None)
        geometries.append(geometry)
        toes.append(toe_cells)
    region_slots = [(c.raw.cells, _region_of_cells(c, g, t, grid)) for c, g, t in zip(contacts, geometries, toes)]
    divisions = _region_divisions(contacts, geometries, toes, grid, region_slots, info, options.user_masks)
    all_windows = windows + [(b.first, b.last) for b in extra]
    nothing = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    cells_of_divisions = [(len(d.names), d.cells + ([(b.cells, np.zeros(len(b.cells), np.int64)) for b in extra]
                                                    if k == 0 else [nothing] * len(extra)))
                          for k, d in enumerate(divisions)]
    standing = standing_frames(contacts, n_frames)
    quiet = quiet_standing(standing, info.rate_hz, [(c.first, c.last) for c in contacts if c.kind == "step"])
    store = SeriesStore(n_frames, sum(len(d.names) for d in divisions), scratch_folder)
    try:
        measures = SessionMeasures(cells_of_divisions, all_windows, [FEET.index(c.foot) for c in contacts],
                                   [c.kind == "step" for c in contacts], quiet, geometry_args, info.rate_hz,
                                   info.has_geometry, undivided=[geometry is None for geometry in geometries])
        reader.measure(measures, prepare, store.write)
        measured = measures.measured()
        if info.foot_map is None:
            for contact, ends in zip(contacts, measured.ends):
                contact.cut_start, contact.cut_end = cut_by_recording(ends.first_force, ends.last_force, ends.highest,
                                                                      contact.first, contact.last, n_frames)
        analysis = Analysis(contacts, extra, measured.whole, geometries, direction, direction_source, grid, store)
        standing_mean = (np.where(faults == 0, measured.standing_sum / measured.standing_frames * scale, np.nan)
                         if measured.standing_frames else np.full(grid.shape, np.nan))
        results = _results(recording, options, analysis, divisions, measured, store, peak_image, standing_mean,
                           faults, region_slots, standing, quiet)
    except BaseException:
        store.close()
        raise
    results.attrs["warnings"] = "\n".join(plausibility_warnings(recording, results, contacts))
    return results, analysis


def _settle_kinds(reader, prepare, contacts, windows, n_frames, spatial, options, rate_hz, geometry_args) -> None:
    """Each contact's kind (and, on a mat, whether the recording cuts it): contacts longer than
    any stance are standing without a look at their frames; the others are measured (pass 2).
    A brief contact cut by one end takes the kind of its nearest uncut neighbour, which needs
    every contact's cuts: then the long ones are measured too (rare: only then). On insoles, a
    contact during which the other foot stays loaded over a second is standing
    (``settle_double_support``)."""
    if spatial is not None:
        for contact in contacts:
            contact.cut_edge = cut_by_edge(contact.raw, spatial)
    if options.activity_kind is not None:  # the recording's cuts are measured with the rest (pass 3)
        for contact in contacts:
            contact.kind = options.activity_kind
        return
    short = [c.index for c in contacts if (c.last - c.first + 1) / rate_hz <= MAX_STEP_S]
    series = _measure_cuts(reader, prepare, contacts, windows, n_frames, short, spatial, geometry_args)
    for contact in contacts:
        metrics = series[contact.index]
        cop = (metrics.cop_x_mm[:, 0], metrics.cop_y_mm[:, 0]) if metrics is not None else (None, None)
        contact.kind = kind_of(contact, *cop, rate_hz, spatial)
    if spatial is not None and any(c.cut_start != c.cut_end and (c.last - c.first + 1) / rate_hz <= MIN_JUDGED_S
                                   for c in contacts):
        _measure_cuts(reader, prepare, contacts, windows, n_frames, sorted(set(range(len(contacts))) - set(short)),
                      spatial, geometry_args)
    settle_cut_kinds(contacts, rate_hz)
    if spatial is None:
        settle_double_support(contacts, rate_hz)


def _measure_cuts(reader, prepare, contacts, windows, n_frames, chosen, spatial, geometry_args):
    """The (frames, 1) series of the ``chosen`` contacts (None for the others), and on a mat
    whether the recording cuts each of them."""
    if spatial is None:  # insoles: their force curve already said where the recording cuts them
        return [None] * len(contacts)
    series = reader.contact_series(prepare, [(c.raw.cells, np.zeros(len(c.raw.cells), np.int64)) for c in contacts],
                                   windows, chosen, geometry_args)
    for index in chosen:
        contact, force = contacts[index], series[index].force_n[:, 0]
        contact.cut_start, contact.cut_end = cut_by_recording(force[0], force[-1], force.max(initial=0.0),
                                                              contact.first, contact.last, n_frames)
    return series


def _insole_contacts(reader, convert, n_frames: int, faults, foot_map, rate_hz, geometry_args
                     ) -> tuple[list[FootContact], list]:
    """Insoles: each grid's force curve gives its contacts; all its cells belong to its foot. The
    curves are a pass of the ``reader`` (each grid one contact over the whole recording), read
    from the kept cells where the first pass kept them."""
    labels = np.where((faults == 0) & (foot_map >= 0), foot_map, -1).astype(np.int32)
    grids = [np.flatnonzero(labels.ravel() == side) for side in range(len(FEET))]
    sides = [side for side, cells in enumerate(grids) if len(cells)]
    series = reader.contact_series(Preparation(convert), [(grids[side], np.zeros(len(grids[side]), np.int64))
                                                          for side in sides],
                                   [(0, n_frames - 1)] * len(sides), list(range(len(sides))), geometry_args)
    contacts = []
    for side, metrics in zip(sides, series):
        cells = grids[side]
        foot = FEET[side]
        for found in insole_contacts(metrics.force_n[:, 0], rate_hz):
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
    print_mask, toes_mask = split_toes(mask & ~toe_islands, peak, grid.pitch_x_mm, grid.pitch_y_mm, axis,
                                       aslant=not (toe_islands & mask).any())
    toes_mask |= toe_islands & mask
    geometry = foot_geometry(print_mask, toes_mask, grid.pitch_x_mm, grid.pitch_y_mm, contact.heading.axis,
                             contact.foot)
    return geometry, toes_mask


def _region_of_cells(contact: FootContact, geometry: FootGeometry | None, toes_mask, grid: Grid) -> np.ndarray:
    """Each cell's region index (REGIONS): the print's thirds and the toes; a faint cell outside
    the print goes by its place along the foot. Without geometry every cell is in the first (the
    division still gives the contact's own series; its regions are reported unknown)."""
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


def _repair_under_feet(faults: np.ndarray, contacts: list[FootContact], grid: Grid
                       ) -> Callable[[np.ndarray], np.ndarray] | None:
    """Stuck or saturated cells inside a print (most of their neighbours in it) join the contact,
    loaded as long as it is, and read their neighbours' mean; elsewhere they are simply left out.
    Returns what repairs a block of frames, or None where nothing needs it."""
    faulty = (faults == STUCK) | (faults == SATURATED)
    if not faulty.any():
        return None
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
    if not inside.any():
        return None
    return lambda frames: fill_from_neighbours(frames, inside, faults == 0)


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


def _regions_and_curves(analysis: Analysis, divisions: list[Division], measured: Measured,
                        steps: list[FootContact], selected: np.ndarray, positions: bool) -> dict:
    """Per step and per foot: the region measures (pressure/measures/regions.py) of every
    division's regions side by side (a region's relative load is its share within its division),
    and the time-normalised step curves with their mean and SD per foot over the selected steps
    (standing contacts count for the region means, not the curves)."""
    contacts = analysis.contacts
    n_regions = sum(len(division.names) for division in divisions)
    per_contact = measured.region_measures
    used = [c.index for c in contacts if c.kind == "standing"] + [s.index for s, keep in zip(steps, selected) if keep]
    means = foot_region_means([per_contact[i] for i in used], [FEET.index(contacts[i].foot) for i in used], n_regions)
    highest = np.full((2, n_regions), np.nan)
    for i in used:
        foot = FEET.index(contacts[i].foot)
        highest[foot] = np.fmax(highest[foot], per_contact[i]["peak_pressure"])
    force, along, across = (np.full((len(steps), STANCE_POINTS), np.nan) for _ in range(3))
    region_force = np.full((len(steps), n_regions, STANCE_POINTS), np.nan)
    for k, step in enumerate(steps):
        metrics = analysis.contact_metrics[step.index]
        force[k] = normalised(metrics.force_n[:, 0])
        region_force[k] = normalised(measured.region_force[step.index])
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
    """One way of dividing each print into regions: each contact's cells in it."""

    name: str  # "thirds", "anatomical" or "user"
    names: tuple[str, ...]
    cells: list[tuple[np.ndarray, np.ndarray]]  # by contact index: (cells, region of each)


def _region_divisions(contacts, geometries, toes, grid, thirds, info, user_masks) -> list[Division]:
    """The thirds (``thirds``: every cell of each contact), the nine anatomical regions
    (pressure/regions/: the automask of each print, or the shipped template of a pedar insole)
    and the user's regions, if any. A cell in no region of a division is left out of it."""
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
    divisions = [Division("thirds", REGIONS, list(thirds))]
    wanted = [("anatomical", ANATOMICAL_REGIONS, anatomical)]
    if user_masks is not None:
        clash = set(user_masks.names) & (set(REGIONS) | set(ANATOMICAL_REGIONS))
        if clash:
            raise InputError(f"{user_masks.source}: region name {sorted(clash)[0]!r} is a built-in region; rename it")
        wanted.append(("user", tuple(user_masks.names), user))
    for name, names, labels in wanted:
        divisions.append(Division(name, tuple(names), [(c.raw.cells[r >= 0], r[r >= 0])
                                                       for c, r in zip(contacts, labels)]))
    return divisions


def _region_image(division: Division, shape) -> np.ndarray:
    image = np.full(shape, -1, np.int8)
    for cells, regions in division.cells:
        image.ravel()[cells] = regions
    return image


def _load_share(store: SeriesStore, table: dict, steps: list[FootContact], quiet: np.ndarray,
                both_feet_seen: bool) -> tuple[np.ndarray, float, str]:
    """Per foot share and the symmetry index, and what they come from: the mean force in quiet
    standing, else the mean impulse of each foot's complete steps (so an extra contact on one
    side does not move them). NaN where a foot was not measured at all."""
    if quiet.any():
        mean = np.array([store.column("force", foot)[quiet].mean() for foot in range(2)])
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


def _results(recording, options, analysis: Analysis, divisions: list[Division], measured: Measured,
             store: SeriesStore, peak_image, standing_mean, faults, region_slots, standing, quiet):
    info = recording.info
    contacts = analysis.contacts
    per_contact = analysis.contact_metrics
    geometry = info.has_geometry
    forward = np.array(DIRECTIONS[analysis.direction])
    time_s = recording.time_s
    activity = activity_of(contacts)

    arch_per_contact, arch, axis_method = _arch_indices(analysis)
    steps = [c for c in contacts if c.kind == "step"]
    selected = selected_steps(steps, time_s, StepSelection(options.skip_steps, options.min_stance_s))
    table = step_table(steps, per_contact, geometry, analysis.geometries if geometry else [None] * len(contacts), arch_per_contact,
                       forward, time_s, info.rate_hz, info.pitch_x_mm, info.pitch_y_mm)
    both_feet_seen = {c.foot for c in contacts} == set(FEET)
    share, symmetry, share_source = _load_share(store, table, steps, quiet, both_feet_seen)

    # The paths one at a time, read from the store: a day's series take hundreds of MB each.
    def path(part: int) -> tuple[np.ndarray, np.ndarray]:
        if part == 0:
            return store.read("mat_cop_x"), store.read("mat_cop_y")
        return store.column("cop_x", part - 1), store.column("cop_y", part - 1)

    standing_paths = bool(quiet.any() and geometry)
    sways, path_lengths = [], []
    for part in range(len(PARTS)):
        x, y = path(part) if geometry else (None, None)
        if part > 0:
            path_lengths.append(path_length(x, y) if geometry else np.nan)
        if standing_paths:
            x[~quiet] = np.nan
            y[~quiet] = np.nan
            sways.append(sway(x, y, info.rate_hz, forward, in_place=True))
        else:
            sways.append(sway(np.full(1, np.nan), np.full(1, np.nan), info.rate_hz, forward))
        del x, y

    foot_map = np.full(peak_image.shape, -1, np.int8)
    region_map = np.full(peak_image.shape, -1, np.int8)
    for contact, (cells, regions) in zip(contacts, region_slots):
        foot_map.ravel()[cells] = FEET.index(contact.foot)
        region_map.ravel()[cells] = regions
    data = {
        **store.variables(),
        "arch_index": np.array([arch[foot] for foot in FEET]),
        "arch_type": np.array([arch_type(arch[foot]) for foot in FEET], dtype=object),
        "arch_axis_method": np.array([axis_method[foot] for foot in FEET], dtype=object),
        "load_share": share,
        "cop_path_length": np.array(path_lengths),
        "symmetry_index": np.array(symmetry),
        **{f"sway_{name}": np.array([s[name] for s in sways]) for name in SWAY_MEASURES},
        "cadence": np.array(cadence(steps, time_s)),
        "step_foot": np.array([c.foot for c in steps], dtype=object),
        "step_start": np.array([time_s[c.first] for c in steps], dtype=float),
        "step_end": np.array([time_s[c.last] for c in steps], dtype=float),
        "step_complete": np.array([c.complete for c in steps], dtype=bool),
        "step_selected": selected,
        "standing": standing,
        "quiet_standing": quiet,
        **_regions_and_curves(analysis, divisions, measured, steps, selected, geometry),
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
    stood = bool(standing.any())  # the first and last standing frame, without a copy of their times
    standing_from = float(time_s[np.argmax(standing)]) if stood else float("nan")
    standing_to = float(time_s[len(time_s) - 1 - np.argmax(standing[::-1])]) if stood else float("nan")
    attrs = {
        "activity": activity,
        "direction": analysis.direction,
        "direction_source": analysis.direction_source,
        "contacts": len(contacts),
        "standing_contacts": sum(c.kind == "standing" for c in contacts),
        "standing_from_s": standing_from,
        "standing_to_s": standing_to,
        "load_share_from": share_source,
        "quiet_transition_s": TRANSITION_S,
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
