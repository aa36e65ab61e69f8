"""Novel pedar ASCII exports (``.asc``): 99 sensors per insole, both feet.

The header gives the frame period and units; a ``time[secs]`` line names the columns: time,
then the left insole's sensors and the right's.

Sensor geometry (``drivers/layouts/``, from the pressuRe R package, MIT; provenance in
``drivers/layouts/README.md``): an outline (four corners) of each of the 99 sensors of a left and
a right insole, in pressuRe's normalised units and one shape for every size, and each sensor's
area (mm²) per insole size. The insole size is the first ``-``-separated word of the
``sensor type:`` header line (``y-1865l-1870r-pxf306-11mar2021`` is size ``y``; a longer word
that is not a size, by its first letter, as pressuRe does), or ``?insole=`` (which wins).
Sizes ``a u v w x y z`` have geometry; ``uw xw vw`` have published areas but their sensors do not
fit the shared outlines (area ratios 0.46 to 1.8), so they, an unknown size, a file without
99 sensors per insole, or ``?sensor_area_cm2=`` give the old layout: two rows (left, right) of
sensors without geometry, one area for every sensor, so force and load share only.

With geometry the sensors are not a grid, so each insole is rasterised: the outlines are scaled
to mm by one factor for x and y (the square root of the insole's published area over its outline
area; the published outlines carry no scale, so the same scale along and across the insole is
an assumption), both insoles are drawn on one grid of ``?cell_mm=`` (default 2.5 mm) square
cells as pressuRe places them (left insole at smaller x, toes towards higher rows, the left
insole's medial side towards +x), and a cell belongs to the sensor whose outline holds its
centre (cells of no sensor are NaN, ``foot_map`` -1). Every cell of sensor k holds
``p_k * A_k / (n_k * cell_mm²)`` (``A_k`` its published area, ``n_k`` its cells), so the force
(sum of cell pressure times cell area) is exactly sum ``p_k * A_k``, and COP and regions follow the
outlines. The factor ``A_k / (n_k * cell_mm²)`` is not 1 (0.75 to 1.47 at 2.5 mm over sizes a to z: the outlines are
drawings, up to 15 % off the published areas, plus whole cells), so a cell's pressure, hence peak
pressure, is the sensor's reading times that factor; ``extra`` keeps the factors' range. That is
why the outlines are used only when asked for (``?layout=outlines`` or ``?insole=``): by default a
pedar file reads as a sensor set with exact peak pressures and forces but no positions.

The first header line's ``date/time`` (``file name:  3DI_S001_V2_FE_2.sol<TAB>date/time  25.04.23
10.49``: day.month.year hour.minute, as novel writes it) becomes ``attrs["recorded_at"]``
(``2023-04-25T10:49``, naive: the file names no time zone), or ``attrs["recorded_at_text"]`` if
it does not read as a date. The header names no subject (``file name`` is the measurement file's
name), so none is set.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from drivers.base import Counters, DriverError, MatInfo
from drivers.files.metadata import (check_pressures, header_attrs, is_number, marked_cut_short, positive_number,
                                    text_lines, unterminated)
from drivers.recording import Recording
from drivers.url import choice, positive

FORMAT_NAME = "pedar ASCII"
NOMINAL_SENSOR_AREA_CM2 = 1.9  # typical pedar-x insole sensor; the true value varies with insole size
LAYOUT_DIR = Path(__file__).resolve().parent.parent / "layouts"
SIZES_WITH_OUTLINES = ("a", "u", "v", "w", "x", "y", "z")  # uw, xw, vw: areas only (see above)
DEFAULT_CELL_MM = 2.5
SENSORS = 99
OPTIONS = {"sensor_area_cm2": (positive(float), None), "insole": (choice(*SIZES_WITH_OUTLINES), None),
           "layout": (choice("none", "outlines"), "none"),
           "cell_mm": (positive(float), DEFAULT_CELL_MM)}
UNITS_TO_KPA = {"kpa": 1.0, "n/cm2": 10.0, "n/cm²": 10.0}
MAX_TIME_S = 1e9  # about 30 years: a larger time is damage (and would swallow the steps between frames)
DATE_TIME = re.compile(r"date/time:?[ \t]*([^\t\n]*)", re.I)  # "...<TAB>date/time  25.04.23 10.49"


def read(path, options, url) -> Recording:
    with open(path, encoding="latin-1") as f:
        lines = text_lines(f.read())
    header_end = next((i for i, line in enumerate(lines) if line.strip().startswith("time[secs]")), None)
    if header_end is None:
        raise DriverError(f"{path}: no 'time[secs]' column line; not a pedar ASCII export")
    header = "\n".join(lines[:header_end])
    units_match = re.search(r"pressure values in\s+(\S+)", header)
    units = units_match.group(1).lower() if units_match else "kpa"
    if units not in UNITS_TO_KPA:
        raise DriverError(f"{path}: pressure units {units!r} are not known")
    rate_match = re.search(r"scanning rate \[Hz\]:[ \t]*(\S*)", header)
    columns = lines[header_end].split()
    n_sensors = len(columns) - 1
    if n_sensors < 2 or n_sensors % 2:
        raise DriverError(f"{path}: line {header_end + 1}: {n_sensors} sensor columns cannot be split into two "
                          "insoles")
    rows = []
    numbers = []  # line numbers, for messages
    # The file ends inside its last line when no newline follows it and it is short of values,
    # or, where novel ends every line with a tab (the exports end with no newline), not with one:
    # a cut inside the last value keeps the count of values and reads as another number.
    tab_ended = lines[header_end + 1].endswith("\t") if header_end + 1 < len(lines) else False
    cut_short = None  # the line of the frame the file ends inside, if it does (a copy cut off, a full disk)
    for number, line in enumerate(lines[header_end + 1:], start=header_end + 2):
        fields = line.split()
        if not fields:
            continue
        if unterminated(lines, number) and rows and (len(fields) < n_sensors + 1 or tab_ended and not line.endswith("\t")):
            cut_short = f"the frame at line {number}"
            break
        if len(fields) != n_sensors + 1:
            raise DriverError(f"{path}: line {number} has {len(fields)} values, expected {n_sensors + 1} "
                              f"(time and {n_sensors} sensors)")
        rows.append(fields)
        numbers.append(number)
    if not rows:
        raise DriverError(f"{path}: no frames after the 'time[secs]' line")
    try:
        data = np.array(rows, dtype=np.float64)
    except ValueError:
        for number, fields in zip(numbers, rows):
            bad = next((field for field in fields if not is_number(field)), None)
            if bad is not None:
                raise DriverError(f"{path}: line {number}: {bad[:20]!r} is not a number") from None
        raise
    time_s = data[:, 0]
    in_range = np.abs(time_s) <= MAX_TIME_S  # False for NaN too
    if not in_range.all():
        bad = int(np.argmin(in_range))
        raise DriverError(f"{path}: line {numbers[bad]}: the time {time_s[bad]:g} s is not a number from "
                          f"{-MAX_TIME_S:g} to {MAX_TIME_S:g}")
    steps = np.diff(time_s - time_s[0])  # the times as they will be kept
    if not (steps > 0).all():
        bad = int(np.argmin(steps > 0)) + 1
        raise DriverError(f"{path}: line {numbers[bad]}: time {time_s[bad]:g} s does not come after "
                          f"{time_s[bad - 1]:g} s; frame times must increase")
    if rate_match:
        number = re.match(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", rate_match.group(1))  # "100", "100Hz"
        if not number:
            raise DriverError(f"{path}: header 'scanning rate [Hz]' {rate_match.group(1)[:20]!r} is not a number")
        rate = positive_number(path, "header 'scanning rate [Hz]'", float(number.group()))
    elif len(time_s) > 1:
        rate = positive_number(path, "the frame rate from the times", 1.0 / float(np.median(steps)))
    else:
        raise DriverError(f"{path}: the frame rate is not given (no 'scanning rate [Hz]' and one frame only)")
    per_insole = n_sensors // 2
    with np.errstate(over="ignore"):  # an overflow is refused just below
        cells = (data[:, 1:] * UNITS_TO_KPA[units]).reshape(len(data), 2, per_insole)
    check_pressures(path, cells, lambda index: f"line {numbers[index[0]]}")
    cells = cells.astype(np.float32)
    size = _insole_size(header, options["insole"])
    wants_outlines = options["layout"] == "outlines" or options["insole"] is not None
    date_time = DATE_TIME.search(header)  # the PC's local time, left naive: the file gives no zone
    dated = header_attrs(date_time.group(1) if date_time else "")
    if wants_outlines and options["sensor_area_cm2"] is None and size in SIZES_WITH_OUTLINES and per_insole == SENSORS:
        recording = _with_geometry(cells, time_s, rate, size, options["cell_mm"], url, path)
        recording.attrs.update(dated)
        return marked_cut_short(recording, cut_short)
    foot_map = np.repeat(np.array([[0], [1]], np.int8), per_insole, axis=1)
    given = options["sensor_area_cm2"]
    sensor_area_cm2 = positive_number(path, "the sensor area (cm²)",
                                      NOMINAL_SENSOR_AREA_CM2 if given is None else given)
    area_mm2 = sensor_area_cm2 * 100
    side = float(np.sqrt(area_mm2))
    info = MatInfo(rows=2, cols=per_insole, pitch_x_mm=side, pitch_y_mm=side, rate_hz=rate,
                   device="Novel pedar", dtype=np.float32, cell_area_mm2=area_mm2, foot_map=foot_map,
                   has_geometry=False, extra={"sensor_area_cm2": sensor_area_cm2})
    counter = np.arange(len(data), dtype=np.int64)
    return marked_cut_short(Recording(cells, counter, time_s - time_s[0], info, Counters(), url,
                                      attrs={"sensor_area_cm2": sensor_area_cm2, **dated}), cut_short)


def _insole_size(header: str, option: str | None) -> str | None:
    """The insole size: ``?insole=``, else the ``sensor type`` header's first word (None if unknown)."""
    if option:
        return option
    match = re.search(r"^\s*sensor type:?\s*(\S+)", header, re.M | re.I)
    if not match:
        return None
    word = match.group(1).split("-")[0].strip().lower()
    known = load_layout()[1]
    if word in known:
        return word
    return word[:1] if word[:1] in known else None


@lru_cache(maxsize=1)
def load_layout() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The shipped pedar layout: outlines ``{"left"|"right": (99, 4, 2)}`` in pressuRe's normalised
    units (sensor k at index k - 1) and areas ``{size: (99,)}`` in mm²."""
    try:
        outline_rows = np.genfromtxt(LAYOUT_DIR / "pedar_sensor_outlines.csv", delimiter=",", names=True,
                                     dtype=None, encoding="ascii")
        area_rows = np.genfromtxt(LAYOUT_DIR / "pedar_sensor_areas_mm2.csv", delimiter=",", names=True,
                                  encoding="ascii")
    except OSError as error:
        raise DriverError(f"the pedar layout files in {LAYOUT_DIR} cannot be read: {error}") from None
    outlines = {}
    for insole in ("left", "right"):
        rows = outline_rows[outline_rows["insole"] == insole]
        rows = rows[np.argsort(rows["sensor"])]
        if len(rows) != SENSORS or not np.array_equal(rows["sensor"], np.arange(1, SENSORS + 1)):
            raise DriverError(f"{LAYOUT_DIR}: the {insole} insole's outlines are not sensors 1..{SENSORS}")
        corners = np.stack([np.stack([rows[f"x{i}"], rows[f"y{i}"]], axis=1) for i in range(1, 5)], axis=1)
        outlines[insole] = corners.astype(np.float64)
    order = np.argsort(area_rows["sensor"])
    areas = {name: np.asarray(area_rows[name][order], np.float64) for name in area_rows.dtype.names
             if name != "sensor"}
    return outlines, areas


def _polygon_area(corners: np.ndarray) -> np.ndarray:
    x, y = corners[..., 0], corners[..., 1]
    return 0.5 * np.abs(np.sum(x * np.roll(y, -1, -1) - np.roll(x, -1, -1) * y, axis=-1))


def _inside(x: np.ndarray, y: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Even-odd test of points against one polygon."""
    result = np.zeros(x.shape, bool)
    x0, y0 = corners[:, 0], corners[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    for ax, ay, bx, by in zip(x0, y0, x1, y1):
        if ay == by:
            continue
        crosses = (ay > y) != (by > y)
        at = ax + (y - ay) * (bx - ax) / (by - ay)
        result ^= crosses & (x < at)
    return result


@lru_cache(maxsize=16)
def raster_layout(size: str, cell_mm: float) -> dict:
    """Both insoles of ``size`` on a grid of ``cell_mm`` cells.

    ``owner`` (rows, cols): -1 or the sensor index (0..98 left sensors 1..99, 99..197 right);
    ``factor`` (198,): published area over the sensor's raster area; ``scale_mm`` mm per
    normalised unit; ``corners_mm`` (198, 4, 2) the outlines in the grid's mm (cell centres at
    ``(col + 0.5) * cell_mm``, ``(row + 0.5) * cell_mm``)."""
    outlines, areas = load_layout()
    area = np.concatenate([areas[size], areas[size]])  # pressuRe: the same areas for both insoles
    corners = np.concatenate([outlines["left"], outlines["right"]])
    scale = float(np.sqrt(area.sum() / _polygon_area(corners).sum()))
    points = corners * scale
    low = points.reshape(-1, 2).min(axis=0) - cell_mm
    high = points.reshape(-1, 2).max(axis=0) + cell_mm
    cols, rows = (np.ceil((high - low) / cell_mm)).astype(int)
    middle = (points[:SENSORS, :, 0].max() + points[SENSORS:, :, 0].min()) / 2  # between the insoles
    low[0] = middle - cols * cell_mm / 2  # the grid symmetric about it: the insoles' rasters mirror too
    if rows * cols > 4_000_000:
        raise DriverError(f"a cell of {cell_mm:g} mm gives a {rows} x {cols} grid; give a larger ?cell_mm=")
    points = points - low
    xc, yc = np.meshgrid((np.arange(cols) + 0.5) * cell_mm, (np.arange(rows) + 0.5) * cell_mm)
    owner = np.full((rows, cols), -1, np.int16)
    for index, polygon in enumerate(points):
        owner[(owner < 0) & _inside(xc, yc, polygon)] = index
    counts = np.bincount(owner[owner >= 0].ravel(), minlength=len(points))
    for index in np.flatnonzero(counts == 0):  # a sensor smaller than a cell: the cell at its centre
        col, row = (points[index].mean(axis=0) // cell_mm).astype(int)
        if owner[row, col] >= 0 and counts[owner[row, col]] == 1:
            raise DriverError(f"cells of {cell_mm:g} mm are too coarse for the pedar layout; give a smaller ?cell_mm=")
        if owner[row, col] >= 0:
            counts[owner[row, col]] -= 1
        owner[row, col] = index
        counts[index] = 1
    factor = area / (counts * cell_mm * cell_mm)
    return {"owner": owner, "factor": factor, "scale_mm": scale, "corners_mm": points, "area_mm2": area}


def _with_geometry(sensors, time_s, rate, size, cell_mm, url, path) -> Recording:
    """``sensors`` (time, 2, 99) kPa onto the insoles' raster (see the module docstring)."""
    layout = raster_layout(size, float(cell_mm))
    owner = layout["owner"]
    mine = owner >= 0
    flat = sensors.reshape(len(sensors), -1)
    cells = np.full((len(sensors),) + owner.shape, np.nan, np.float32)
    cells[:, mine] = flat[:, owner[mine]] * layout["factor"][owner[mine]].astype(np.float32)
    foot_map = np.where(mine, np.where(owner < SENSORS, 0, 1), -1).astype(np.int8)
    factor = layout["factor"]
    extra = {"insole_size": size, "cell_mm": float(cell_mm), "layout_scale_mm": layout["scale_mm"],
             "cell_factor_min": float(factor.min()), "cell_factor_max": float(factor.max()),
             "layout": "pressuRe pedar outlines (drivers/layouts)"}
    info = MatInfo(rows=owner.shape[0], cols=owner.shape[1], pitch_x_mm=float(cell_mm), pitch_y_mm=float(cell_mm),
                   rate_hz=rate, device="Novel pedar", dtype=np.float32, foot_map=foot_map, has_geometry=True,
                   extra=extra)
    counter = np.arange(len(sensors), dtype=np.int64)
    return Recording(cells, counter, time_s - time_s[0], info, Counters(), url,
                     attrs={"pedar_insole_size": size, "pedar_cell_mm": float(cell_mm)})
