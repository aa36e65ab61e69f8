"""Per-insole templates: which region each sensor of a sensor-array insole belongs to.

An insole has no print to draw regions on, but its sensors sit at fixed places, so a template
file maps sensor numbers to regions once for every step (TOML, ``templates/*.toml``)::

    device = "pedar"
    sensors = 99                       # numbered 1..99 as in the vendor's export
    description = "..."
    [regions]                          # region name = [sensor numbers]; listed order is the regions' order
    medial_heel = [1, 2, 6, 7, 8]
    ...

Every sensor from 1 to ``sensors`` belongs to exactly one region. The same numbers serve the
left and the right insole (pedar's two insoles mirror each other, sensor for sensor).

The shipped pedar template (``templates/pedar.toml``) is made by ``pedar_template_from_layout``
from the sensor outlines in ``drivers/layouts/`` with the automask's own rules
(``pressure.regions.automask``): the insole's outline is the print and its length the foot
length; its toes are the part from ``INSOLE_TOE_LINE`` (80 %) of that length on; each sensor goes
to the region holding most of its area. Moticon insoles have no shipped template: their sensor
positions are not available to us (see ``drivers/files/moticon.py``); a template written from the
vendor's sensor map loads the same way.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pressure.regions.automask import OUTSIDE, REGIONS, automask_details
from pressure.regions.user_masks import MaskFileError, _one_line, _short

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
TEMPLATE_KEYS = ("device", "sensors", "description", "regions")
# Toes of an insole: the part from 80 % of its length. On prints the toe line (the back of the toes
# along the foot axis) lies at 84 % of the foot length (median of 50 SpeedPP2DS footsteps, 82-85 %
# between quartiles; 84-85 % on the MUN104 mean prints), and an insole is longer than its foot
# by the shoe's toe allowance (about 5 %): 0.84 * 0.95 = 0.80.
INSOLE_TOE_LINE = 0.80
DERIVATION_CELL_MM = 1.0  # raster of the outlines used to give each sensor its region


class TemplateError(MaskFileError):
    """A template file that cannot be used; one line naming the file."""


@dataclass(frozen=True)
class InsoleTemplate:
    """Sensor k (1-based) belongs to region ``names[sensor_region[k - 1]]``."""

    device: str
    names: tuple[str, ...]
    sensor_region: np.ndarray  # (sensors,) int8
    description: str = ""
    source: str = ""

    @property
    def sensors(self) -> int:
        return len(self.sensor_region)

    def regions_of_sensors(self, sensor_index: np.ndarray) -> np.ndarray:
        """Region index (int64) of 0-based sensor indices; -1 for indices that are not sensors."""
        index = np.asarray(sensor_index, np.int64)
        valid = (index >= 0) & (index < self.sensors)
        return np.where(valid, self.sensor_region[np.clip(index, 0, self.sensors - 1)], OUTSIDE).astype(np.int64)

    def to_toml(self) -> str:
        lines = [f'device = "{self.device}"', f"sensors = {self.sensors}"]
        if self.description:
            lines.append(f"description = {_toml_string(self.description)}")
        lines += ["", "[regions]"]
        for index, name in enumerate(self.names):
            numbers = (np.flatnonzero(self.sensor_region == index) + 1).tolist()
            lines.append(f"{name} = {numbers}")
        return "\n".join(lines) + "\n"


def load_template(path) -> InsoleTemplate:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{path}: cannot be read: {_one_line(error)}") from None
    return template_from_toml(text, str(path))


def shipped_template(device: str = "pedar") -> InsoleTemplate:
    """A template shipped in ``templates/`` (``pedar``)."""
    path = TEMPLATE_DIR / f"{device}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in TEMPLATE_DIR.glob("*.toml"))
        raise TemplateError(f"{path}: no shipped template for {device!r} (shipped: {', '.join(known)})")
    return load_template(path)


def template_from_toml(text: str, source: str = "<toml>") -> InsoleTemplate:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(f"{source}: not valid TOML: {_one_line(error)}") from None
    unknown = sorted(set(data) - set(TEMPLATE_KEYS))
    if unknown:
        raise TemplateError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(TEMPLATE_KEYS)})")
    device = data.get("device", "")
    if not isinstance(device, str) or not device:
        raise TemplateError(f"{source}: device must be a non-empty string, got {_short(device)}")
    sensors = data.get("sensors")
    if isinstance(sensors, bool) or not isinstance(sensors, int) or sensors < 1:
        raise TemplateError(f"{source}: sensors must be a whole number >= 1, got {_short(sensors)}")
    regions = data.get("regions")
    if not isinstance(regions, dict) or not regions:
        raise TemplateError(f"{source}: no [regions] table (region name = [sensor numbers])")
    if len(regions) > 127:
        raise TemplateError(f"{source}: {len(regions)} regions; at most 127")
    sensor_region = np.full(sensors, OUTSIDE, np.int8)
    for index, (name, numbers) in enumerate(regions.items()):
        if not isinstance(numbers, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            raise TemplateError(f"{source}: region {name!r} must be a list of sensor numbers, got {_short(numbers)}")
        for number in numbers:
            if not 1 <= number <= sensors:
                raise TemplateError(f"{source}: region {name!r}: sensor {number} is not in 1..{sensors}")
            if sensor_region[number - 1] != OUTSIDE:
                other = list(regions)[sensor_region[number - 1]]
                raise TemplateError(f"{source}: sensor {number} is in both {other!r} and {name!r}")
            sensor_region[number - 1] = index
    missing = np.flatnonzero(sensor_region == OUTSIDE) + 1
    if len(missing):
        listed = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise TemplateError(f"{source}: {len(missing)} sensors in no region: {listed}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise TemplateError(f"{source}: description must be a string")
    return InsoleTemplate(device, tuple(regions), sensor_region, description, source)


def pedar_template_from_layout(insole: str = "left", cell_mm: float = DERIVATION_CELL_MM) -> InsoleTemplate:
    """The pedar template by the automask's rules on the shipped sensor outlines of one insole
    (``left`` or ``right``; they give the same template). The outline shape is one for every
    insole size, so the template is too."""
    from drivers.files.pedar import SENSORS, raster_layout
    from pressure.arch import foot_geometry

    layout = raster_layout("x", float(cell_mm))  # any size: one shape, scaled
    owner = layout["owner"].astype(np.int64)
    first = 0 if insole == "left" else SENSORS
    sensor = np.where((owner >= first) & (owner < first + SENSORS), owner - first, -1)
    outline = sensor >= 0
    rows = np.nonzero(outline)[0]
    along = rows * cell_mm  # insoles run heel to toe towards higher rows
    toe_line = along.min() + INSOLE_TOE_LINE * (np.ptp(along) + cell_mm) - 0.5 * cell_mm
    toes = np.zeros_like(outline)
    toes[outline] = along >= toe_line
    geometry = foot_geometry(outline & ~toes, toes, cell_mm, cell_mm, np.array([0.0, 1.0]), insole)
    mask = automask_details(outline & ~toes, None, cell_mm, cell_mm, insole, geometry.heel_xy, geometry.axis, toes)
    counts = np.zeros((SENSORS, len(REGIONS)), np.int64)
    np.add.at(counts, (sensor[outline], mask.labels[outline]), 1)
    description = (f"Nine automask regions of the Novel pedar insole's {SENSORS} sensors, made by "
                   "pressure.regions.insoles.pedar_template_from_layout from drivers/layouts/pedar_sensor_outlines.csv "
                   f"(pressuRe, MIT): the insole's outline as the print, its toes from {INSOLE_TOE_LINE:.0%} of its "
                   f"length, each sensor in the region holding most of its area ({cell_mm:g} mm raster). "
                   "Sensor numbers as in the pedar ASCII export, the same for the left and the right insole.")
    return InsoleTemplate("pedar", REGIONS, counts.argmax(axis=1).astype(np.int8), description)


def pedar_sensor_of_cells(info) -> np.ndarray | None:
    """For a pedar recording (``drivers.MatInfo``): the 0-based sensor index (0..98) of every grid
    cell, -1 for cells of no sensor; None for other devices. Works for both pedar layouts: the
    sensor set (2 rows x 99 columns, column k-1 is sensor k) and the rasterised outlines."""
    from drivers.files.pedar import SENSORS, raster_layout

    if info.device != "Novel pedar":
        return None
    if not info.has_geometry:
        if info.cols != SENSORS:
            return None
        return np.tile(np.arange(SENSORS), (info.rows, 1))
    size, cell_mm = info.extra.get("insole_size"), info.extra.get("cell_mm")
    if size is None or cell_mm is None:
        return None
    owner = raster_layout(size, float(cell_mm))["owner"].astype(np.int64)
    return np.where(owner >= 0, owner % SENSORS, -1)


def insole_labels(template: InsoleTemplate, sensor_of_cells: np.ndarray) -> np.ndarray:
    """Label image (int8) of an insole grid: each cell's region by its sensor, -1 off the sensors."""
    labels = template.regions_of_sensors(np.asarray(sensor_of_cells))
    return labels.astype(np.int8)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
