"""User masks: regions drawn as polygons in the print's own frame, applied to every print.

A mask file names regions and gives each one polygon (or several) in the foot frame of
``pressure.regions.automask.FootFrame``: ``x`` along the foot from the back edge of the heel
(on the foot axis) towards the toes, ``y`` across it, positive towards the **medial** side, so
one file fits left and right feet and any heading. ``units = "mm"`` (the default) gives
millimetres; ``units = "percent"`` gives both coordinates in percent of the foot length (back of
the heel to the tip of the toes), so one file fits feet of any size.

TOML::

    units = "mm"                   # or "percent"
    [[region]]
    name = "MTH1"
    polygon = [[150, 0], [200, 0], [200, 45], [150, 45]]

GeoJSON-like JSON (``.json`` or ``.geojson``; ``units`` as a member of the collection)::

    {"type": "FeatureCollection", "units": "mm",
     "features": [{"type": "Feature", "properties": {"name": "MTH1"},
                   "geometry": {"type": "Polygon", "coordinates": [[[150, 0], [200, 0], [200, 45], [150, 45]]]}}]}

GeoJSON polygons may have holes (rings after the first) and ``MultiPolygon`` geometries; a ring
may repeat its first point at its end or not. A cell belongs to a region when its centre lies
inside one of the region's polygons and outside its holes (``matplotlib.path``); regions may
touch or overlap, and a cell inside two regions belongs to the one listed first. Cells in no
region are -1. Centres are tested a hair (1e-6 mm) off their true place, so a centre exactly on
an edge two regions share falls in exactly one of them.

Every problem with a file is a ``MaskFileError`` whose message is one line naming the file.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pressure.regions.automask import OUTSIDE, FootFrame, cell_xy

UNITS = ("mm", "percent")
NUDGE_MM = np.array([1e-6, 0.618e-6])  # off-grid, so a centre never lies exactly on a drawn edge
TOML_TOP_KEYS = ("units", "description", "region")
TOML_REGION_KEYS = ("name", "polygon")
MAX_REGIONS = 127  # labels are int8


class MaskFileError(ValueError):
    """A mask file that cannot be used; the message is one line and names the file."""


@dataclass(frozen=True)
class Polygon:
    """One polygon: its outer ring and any holes, each an (n, 2) array of foot-frame points."""

    outer: np.ndarray
    holes: tuple[np.ndarray, ...] = ()

    def contains(self, points: np.ndarray) -> np.ndarray:
        from matplotlib.path import Path as MplPath

        inside = MplPath(self.outer).contains_points(points)
        for hole in self.holes:
            inside &= ~MplPath(hole).contains_points(points)
        return inside


@dataclass(frozen=True)
class Region:
    name: str
    polygons: tuple[Polygon, ...]


@dataclass(frozen=True)
class UserMasks:
    """Regions from a mask file, in its units (``mm`` or ``percent`` of foot length)."""

    regions: tuple[Region, ...]
    units: str = "mm"
    source: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(region.name for region in self.regions)

    def label_points(self, um: np.ndarray, length_mm: float) -> np.ndarray:
        """Region index (int8, -1 in none) of points (u, m) in mm in the foot frame."""
        um = np.asarray(um, float).reshape(-1, 2)
        scale = length_mm / 100.0 if self.units == "percent" else 1.0
        points = um / scale + NUDGE_MM
        labels = np.full(len(points), OUTSIDE, np.int8)
        for index in reversed(range(len(self.regions))):  # the first listed wins
            inside = np.zeros(len(points), bool)
            for polygon in self.regions[index].polygons:
                inside |= polygon.contains(points)
            labels[inside] = index
        return labels

    def label_xy(self, frame: FootFrame, xy: np.ndarray) -> np.ndarray:
        """Region index (int8, -1 in none) of mat points (x, y) mm of a print whose frame is
        ``frame``: e.g. the centres of a contact's cells, ``Grid.xy(cells)``."""
        return self.label_points(frame.to_foot(xy), frame.length_mm)

    def apply(self, frame: FootFrame, shape: tuple[int, int], pitch_x_mm: float, pitch_y_mm: float,
              within: np.ndarray | None = None) -> np.ndarray:
        """Label image (int8, ``shape``) of a print whose frame is ``frame``: each cell whose
        centre lies in a region holds the region's index in ``names``, others -1. ``within``
        (boolean, ``shape``) limits the labels to those cells (the print's), else every cell of
        the grid is tested."""
        cells = np.ones(shape, bool) if within is None else np.asarray(within, bool)
        if cells.shape != tuple(shape):
            raise ValueError(f"within has shape {cells.shape}, expected {tuple(shape)}")
        labels = np.full(shape, OUTSIDE, np.int8)
        labels[cells] = self.label_xy(frame, cell_xy(cells, pitch_x_mm, pitch_y_mm))
        return labels


def load_masks(path) -> UserMasks:
    """The regions of a mask file: TOML (``.toml``) or GeoJSON-like JSON (``.json``, ``.geojson``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json", ".geojson"):
        raise MaskFileError(f"{path}: a mask file is .toml, .json or .geojson, not {suffix or 'without a suffix'!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise MaskFileError(f"{path}: cannot be read: {_one_line(error)}") from None
    if suffix == ".toml":
        return masks_from_toml(text, str(path))
    return masks_from_geojson(text, str(path))


def masks_from_toml(text: str, source: str = "<toml>") -> UserMasks:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MaskFileError(f"{source}: not valid TOML: {_one_line(error)}") from None
    _known_keys(data, TOML_TOP_KEYS, source, "the file")
    units = _units(data.get("units", "mm"), source)
    entries = data.get("region")
    if not isinstance(entries, list) or not entries:
        raise MaskFileError(f"{source}: no regions: give [[region]] tables with name and polygon")
    regions = []
    for number, entry in enumerate(entries, start=1):
        where = f"region {number}"
        if not isinstance(entry, dict):
            raise MaskFileError(f"{source}: {where} is not a table")
        _known_keys(entry, TOML_REGION_KEYS, source, where)
        name = _name(entry.get("name"), source, where)
        where = f"region {number} ({name!r})"
        if "polygon" not in entry:
            raise MaskFileError(f"{source}: {where} has no polygon")
        regions.append(Region(name, (Polygon(_ring(entry["polygon"], source, f"{where} polygon")),)))
    return _checked(regions, units, source)


def masks_from_geojson(text: str, source: str = "<json>") -> UserMasks:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise MaskFileError(f"{source}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise MaskFileError(f"{source}: expected a GeoJSON FeatureCollection (\"type\": \"FeatureCollection\")")
    units = _units(data.get("units", (data.get("properties") or {}).get("units", "mm")), source)
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise MaskFileError(f"{source}: no features: give Polygon features with properties.name")
    regions = []
    for number, feature in enumerate(features, start=1):
        where = f"feature {number}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise MaskFileError(f"{source}: {where} is not a Feature")
        properties = feature.get("properties")
        name = _name(properties.get("name") if isinstance(properties, dict) else None, source, f"{where} properties")
        where = f"feature {number} ({name!r})"
        geometry = feature.get("geometry")
        if not isinstance(geometry, dict):
            raise MaskFileError(f"{source}: {where} has no geometry")
        kind, coordinates = geometry.get("type"), geometry.get("coordinates")
        if kind == "Polygon":
            polygons = (_polygon(coordinates, source, where),)
        elif kind == "MultiPolygon":
            if not isinstance(coordinates, list) or not coordinates:
                raise MaskFileError(f"{source}: {where}: a MultiPolygon needs a list of polygons")
            polygons = tuple(_polygon(part, source, f"{where} polygon {i}") for i, part in enumerate(coordinates, 1))
        else:
            raise MaskFileError(f"{source}: {where}: geometry type {kind!r} is not Polygon or MultiPolygon")
        regions.append(Region(name, polygons))
    return _checked(regions, units, source)


def _polygon(rings, source: str, where: str) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise MaskFileError(f"{source}: {where}: a Polygon's coordinates are a list of rings (outer ring first)")
    outer = _ring(rings[0], source, f"{where} outer ring")
    holes = tuple(_ring(ring, source, f"{where} hole {i}") for i, ring in enumerate(rings[1:], start=1))
    return Polygon(outer, holes)


def _ring(points, source: str, where: str) -> np.ndarray:
    """A ring as an (n, 2) float array: at least three distinct points, finite numbers, an area."""
    if not isinstance(points, list):
        raise MaskFileError(f"{source}: {where} must be a list of [x, y] points")
    for index, point in enumerate(points, start=1):
        if (not isinstance(point, list) or len(point) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point)):
            raise MaskFileError(f"{source}: {where}: point {index} is {_short(point)}, not [x, y] with two numbers")
        if not all(math.isfinite(v) for v in point):
            raise MaskFileError(f"{source}: {where}: point {index} is {_short(point)}, not finite")
    ring = np.array(points, float).reshape(-1, 2)
    if len(ring) > 1 and np.array_equal(ring[0], ring[-1]):
        ring = ring[:-1]  # GeoJSON closes its rings
    if len(np.unique(ring, axis=0)) < 3:
        raise MaskFileError(f"{source}: {where} needs at least 3 distinct points, got {len(np.unique(ring, axis=0))}")
    x, y = ring[:, 0], ring[:, 1]
    if abs(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)) < 1e-12:
        raise MaskFileError(f"{source}: {where} encloses no area (its points lie on one line)")
    return ring


def _checked(regions: list[Region], units: str, source: str) -> UserMasks:
    seen = set()
    for region in regions:
        if region.name in seen:
            raise MaskFileError(f"{source}: region name {region.name!r} is given twice")
        seen.add(region.name)
    if len(regions) > MAX_REGIONS:
        raise MaskFileError(f"{source}: {len(regions)} regions; at most {MAX_REGIONS}")
    return UserMasks(tuple(regions), units, source)


def _units(value, source: str) -> str:
    if value not in UNITS:
        raise MaskFileError(f"{source}: units must be \"mm\" or \"percent\", got {_short(value)}")
    return value


def _name(value, source: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MaskFileError(f"{source}: {where} needs a name (a non-empty string)")
    return value.strip()


def _known_keys(table: dict, known: tuple[str, ...], source: str, where: str) -> None:
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise MaskFileError(f"{source}: {where}: unknown key {unknown[0]!r} (known: {', '.join(known)})")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())
