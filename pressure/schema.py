"""The results schema, defined once: every results dataset is built and checked here."""

from __future__ import annotations

import numbers
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

FEET = ("left", "right")
# Raised whenever a recording processed with the same options gives different results (a fix of
# the analysis or a reader): a study folder redoes the sessions its results came from before.
# 2: insoles seen from above, CPEI between the foot's borders, standing frames (2026-11-26).
# 3: standing measured in quiet standing, the weight shifts next to walking left out (2026-11-26).
# 4: the mean pressure image counts a cell while it is loaded, as every other measure (2026-11-27).
RESULTS_REVISION = 4
TIME_BLOCK_FRAMES = 1 << 20  # per-frame results read at once where a day's would not fit


@dataclass(frozen=True)
class Variable:
    dims: tuple[str, ...]
    units: str
    long_name: str
    required: bool = True


REGION_MEASURE_TEXT = {  # pressure/measures/regions.py
    "peak_pressure": ("kPa", "highest pressure in the region"),
    "mean_pressure": ("kPa", "force over contact area, averaged over the frames the region is loaded"),
    "contact_area": ("cm^2", "largest loaded area of the region"),
    "force": ("N", "highest force under the region"),
    "fti": ("N s", "force-time integral of the region"),
    "pti": ("kPa s", "pressure-time integral of the region's peak pressure"),
    "time_of_peak": ("%", "time of the region's peak pressure, in % of the contact"),
    "relative_load": ("%", "the region's share of the contact's force-time integral"),
}

COORDINATES = {
    "time": Variable(("time",), "s", "time from the first frame"),
    "frame": Variable(("time",), "1", "device frame counter"),
    "foot": Variable(("foot",), "", "foot"),
    "region": Variable(("region",), "", "part of the foot"),
    "region_set": Variable(("region",), "", "the division the region belongs to: thirds (and toes), anatomical (nine-region automask) or user (--regions); add up regions within one division only"),
    "part": Variable(("part",), "", "whose centre of pressure: the whole mat or one foot"),
    "y": Variable(("y",), "mm", "cell centre along rows"),
    "x": Variable(("x",), "mm", "cell centre along columns"),
    "stance": Variable(("stance",), "%", "share of the contact's duration (time-normalised curves)"),
}

RESULTS = {
    "force": Variable(("time", "foot"), "N", "vertical force under each foot"),
    "contact_area": Variable(("time", "foot"), "cm^2", "area of the loaded cells under each foot"),
    "peak_pressure": Variable(("time", "foot"), "kPa", "highest cell pressure under each foot"),
    "cop_x": Variable(("time", "foot"), "mm", "centre of pressure x; NaN while the foot is unloaded"),
    "cop_y": Variable(("time", "foot"), "mm", "centre of pressure y; NaN while the foot is unloaded"),
    "mat_force": Variable(("time",), "N", "vertical force on the whole mat: the feet's contacts and any other "
                          "loaded region found (not load outside them, such as an insole's in swing)"),
    "mat_cop_x": Variable(("time",), "mm", "centre of pressure of the whole mat, x"),
    "mat_cop_y": Variable(("time",), "mm", "centre of pressure of the whole mat, y"),
    "arch_index": Variable(("foot",), "1", "Cavanagh & Rodgers arch index (toes excluded; median over steps)"),
    "arch_type": Variable(("foot",), "", "high (<= 0.21), normal or flat (>= 0.26)"),
    "load_share": Variable(("foot",), "1", "share of the load: mean force in quiet standing, else mean impulse of complete steps"),
    "cop_path_length": Variable(("foot",), "mm", "length of the centre-of-pressure path"),
    "symmetry_index": Variable((), "%", "Robinson symmetry index of the load share's measure, > 0: more load on the right"),
    "left_share": Variable(("time",), "1", "left foot's share of the force on both feet; NaN when unloaded"),
    "standing": Variable(("time",), "", "true in the frames in which the person stood (every standing foot)",
                         required=False),
    "quiet_standing": Variable(("time",), "", "true in the standing frames away from walking (the second before "
                               "walking off and after coming to a stand left out): sway, the standing load share "
                               "and the mean pressure image are of these", required=False),
    "arch_axis_method": Variable(("foot",), "", "how the foot axis was found: heel-toes or principal"),
    "region_peak_pressure": Variable(("foot", "region"), "kPa", "highest pressure in each region over the selected steps and standing contacts"),
    "region_pti": Variable(("foot", "region"), "kPa s", "pressure-time integral of the region's peak pressure, mean over the selected steps and standing contacts"),
    "sway_path_length": Variable(("part",), "mm", "length of the COP path in quiet standing"),
    "sway_mean_velocity": Variable(("part",), "mm/s", "mean COP speed in quiet standing"),
    "sway_rms_distance": Variable(("part",), "mm", "RMS distance of the COP from its mean"),
    "sway_range_ap": Variable(("part",), "mm", "anterior-posterior range of the COP"),
    "sway_range_ml": Variable(("part",), "mm", "medio-lateral range of the COP"),
    "sway_ellipse_area": Variable(("part",), "mm^2", "95 % confidence ellipse area of the COP (Prieto 1996)"),
    "cadence": Variable((), "1/min", "steps per minute"),
    "step_foot": Variable(("step",), "", "foot of each contact"),
    "step_start": Variable(("step",), "s", "start of each foot contact"),
    "step_end": Variable(("step",), "s", "end of each foot contact"),
    "step_complete": Variable(("step",), "", "false for a contact cut by the recording's start or end or the mat's edge"),
    "step_peak_force": Variable(("step",), "N", "highest force of the contact"),
    "step_impulse": Variable(("step",), "N s", "force-time integral of the contact"),
    "step_stance_time": Variable(("step",), "s", "duration of the contact"),
    "step_cop_path_length": Variable(("step",), "mm", "length of the contact's COP path"),
    "step_length": Variable(("step",), "mm", "heel-to-heel distance along the walk from the other foot's previous contact"),
    "step_width": Variable(("step",), "mm", "heel-to-heel distance across the walk from the other foot's previous contact"),
    "step_progression_angle": Variable(("step",), "degree", "foot axis against the line of progression, toe-out positive"),
    "step_cpei": Variable(("step",), "%", "centre of pressure excursion index (Song 1996)"),
    "step_arch_index": Variable(("step",), "1", "arch index of the contact's print"),
    "reported_force": Variable(("time", "foot"), "N", "force the export itself reports for each foot (the vendor's, kept beside ours)", required=False),
    "reported_mat_force": Variable(("time",), "N", "force the export itself reports for the whole recording (the vendor's)", required=False),
    "reported_cop_x": Variable(("time",), "mm", "centre of pressure the export itself reports, x (the vendor's)", required=False),
    "reported_cop_y": Variable(("time",), "mm", "centre of pressure the export itself reports, y (the vendor's)", required=False),
    "reported_insole_cop_x": Variable(("time", "foot"), "1", "centre of pressure the export reports per insole, across it, in the vendor's insole units (Moticon: -0.5..0.5)", required=False),
    "reported_insole_cop_y": Variable(("time", "foot"), "1", "centre of pressure the export reports per insole, along it, in the vendor's insole units (Moticon: -0.5..0.5)", required=False),
    "step_selected": Variable(("step",), "", "true for the steps each foot's statistics use (complete, and as --skip-steps and --min-stance choose)"),
    **{f"step_region_{name}": Variable(("step", "region"), units, long_name)
       for name, (units, long_name) in REGION_MEASURE_TEXT.items()},
    **{f"region_{name}": Variable(("foot", "region"), units, long_name + "; mean over the selected steps and standing contacts")
       for name, (units, long_name) in REGION_MEASURE_TEXT.items() if name not in ("peak_pressure", "pti")},
    # (region_peak_pressure, the highest over those contacts, and region_pti are listed above)
    "region_force_series": Variable(("time", "foot", "region"), "N", "force under each region of each foot"),
    "step_force_curve": Variable(("step", "stance"), "N", "force over the contact, time-normalised"),
    "step_cop_along_curve": Variable(("step", "stance"), "mm", "COP along the foot axis from the heel centre, time-normalised"),
    "step_cop_across_curve": Variable(("step", "stance"), "mm", "COP across the foot axis, medial positive, time-normalised"),
    "step_region_force_curve": Variable(("step", "region", "stance"), "N", "force under each region, time-normalised"),
    **{f"curve_{name}_{stat}": Variable(dims, units, f"{long_name}: {word} over the selected steps of each foot")
       for name, dims, units, long_name in (
           ("force", ("foot", "stance"), "N", "force"),
           ("cop_along", ("foot", "stance"), "mm", "COP along the foot axis"),
           ("cop_across", ("foot", "stance"), "mm", "COP across the foot axis, medial positive"),
           ("region_force", ("foot", "region", "stance"), "N", "force under each region"))
       for stat, word in (("mean", "mean"), ("sd", "standard deviation"))},
    "peak_pressure_image": Variable(("y", "x"), "kPa", "highest pressure of each cell over the session"),
    "foot_map": Variable(("y", "x"), "", "foot of each cell: 0 left, 1 right, -1 none"),
    "mean_pressure_image": Variable(("y", "x"), "kPa", "mean pressure of each cell in quiet standing, 0 while at or below the threshold (NaN without)"),
    "anatomical_region_map": Variable(("y", "x"), "", "anatomical region of each cell (index into the regions whose region_set is anatomical), -1 none"),
    "region_map": Variable(("y", "x"), "", "region of each cell: 0 hindfoot, 1 midfoot, 2 forefoot, 3 toes, -1 none"),
    "cell_mask": Variable(("y", "x"), "", "0 usable, 1 stuck, 2 saturated, 3 not a sensor"),
}


class SchemaError(ValueError):
    pass


def build_results(data: dict[str, Any], coords: dict[str, Any], attrs: dict[str, Any]):
    """An xarray Dataset of ``data`` checked against RESULTS, with units and long names."""
    import xarray as xr

    missing = [name for name, spec in RESULTS.items() if spec.required and name not in data]
    unknown = [name for name in data if name not in RESULTS]
    if missing or unknown:
        raise SchemaError(f"results missing {missing}, unknown {unknown}")
    variables = {}
    for name, values in data.items():
        spec = RESULTS[name]
        values = values if _is_lazy(values) else np.asarray(values)
        if values.ndim != len(spec.dims):
            raise SchemaError(f"{name} has {values.ndim} dims, schema says {spec.dims}")
        variables[name] = xr.Variable(spec.dims, values, _attrs(name, spec))
    coordinates = {}
    for name, values in coords.items():
        spec = COORDINATES[name]
        coordinates[name] = xr.Variable(spec.dims, np.asarray(values), _attrs(name, spec))
    dataset = xr.Dataset(variables, coords=coordinates, attrs=attrs)
    if list(dataset["foot"].values) != list(FEET):
        raise SchemaError(f"foot must be {FEET}")
    return dataset


def _is_lazy(values) -> bool:
    """Per-frame results of a long session, in a scratch file until written, a block of frames
    at a time (``pressure.measures.series_store.StoredSeries``)."""
    return not isinstance(values, np.ndarray) and callable(getattr(values, "blocks", None))


def _attrs(name: str, spec: Variable) -> dict[str, Any]:
    attrs: dict[str, Any] = {"long_name": spec.long_name}
    if spec.units:
        attrs["units"] = spec.units
    if name == "foot_map":
        attrs.update(flag_values=np.array([-1, 0, 1], np.int8), flag_meanings="none left right")
    if name == "region_map":
        attrs.update(flag_values=np.array([-1, 0, 1, 2, 3], np.int8),
                     flag_meanings="none hindfoot midfoot forefoot toes")
    if name == "cell_mask":
        attrs.update(flag_values=np.array([0, 1, 2, 3], np.int8), flag_meanings="usable stuck saturated not_a_sensor")
    return attrs


def runs_of(chosen: np.ndarray) -> list[tuple[int, int]]:
    """The (start, stop) of each run of True in ``chosen``."""
    edges = np.flatnonzero(np.diff(np.r_[False, chosen, False].astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def standing_frames_of(results) -> np.ndarray:
    """Per frame, whether the person stood: the results' ``standing`` frames; in results written
    before them, ``standing_from_s`` to ``standing_to_s`` (which also held the walk between a
    stand at the start and one at the end; NaN bounds, a session without standing: none)."""
    if "standing" in results:
        return results["standing"].values.astype(bool)
    time = results["time"].values
    return (time >= results.attrs["standing_from_s"]) & (time <= results.attrs["standing_to_s"])


def quiet_standing_of(results) -> np.ndarray:
    """Per frame, whether standing was measured there: the results' ``quiet_standing`` frames; in
    results written before them, every standing frame."""
    if "quiet_standing" in results:
        return results["quiet_standing"].values.astype(bool)
    return standing_frames_of(results)


def standing_mean(results, name: str) -> np.ndarray | None:
    """The mean of per-frame variable ``name`` over quiet standing (``quiet_standing_of``), along
    its other dimensions (NaN left out), or None without such frames. Read a block of frames at a
    time: a day's series are not read whole, however many stretches of standing it has."""
    standing = quiet_standing_of(results)
    if not standing.any():
        return None
    variable = results[name]
    total, counted = 0.0, 0
    for first in range(0, len(standing), TIME_BLOCK_FRAMES):
        here = standing[first:first + TIME_BLOCK_FRAMES]
        if not here.any():  # a block of walking is not read
            continue
        chosen = variable.isel(time=slice(first, first + TIME_BLOCK_FRAMES)).values[here]
        total = total + np.nansum(chosen, axis=0)
        counted = counted + np.sum(~np.isnan(chosen), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counted > 0, total / np.maximum(counted, 1), np.nan)


def span_seconds(times, rate_hz: float) -> float:
    """The time frames at ``times`` (s, in order) cover, the last frame's period included (205
    frames at 31.25 Hz: 6.56 s; the last frame's time alone said 6.53); 0 without frames."""
    return float(times[-1]) + 1.0 / float(rate_hz) if len(times) else 0.0


def covered_seconds(dataset) -> float:
    """The time the results' frames cover, as ``info`` says of the session they came from."""
    return span_seconds(dataset["time"], dataset.attrs["rate_hz"])


def foot_seen(results, foot: str) -> bool:
    """Whether the session ever loaded ``foot`` (a foot never seen reads "-", not 0)."""
    return bool(np.nanmax(results["force"].sel(foot=foot).values, initial=0.0) > 0)


def write_results(dataset, path: Path) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete.

    The file is the one ``dataset.to_netcdf(path, engine="h5netcdf")`` wrote (with gzip level 4
    on numeric data variables of more than 1024 values), written through h5netcdf directly: the
    same CF encoding (NaN ``_FillValue`` on floats, bools as int8 with ``dtype = "bool"``,
    strings as variable-length strings, the ``coordinates`` attribute), the same dimensions,
    variables in the same order and the same storage, without xarray's generic writer (which,
    where Dask is installed, asks Dask for its scheduler and so imports ``distributed``, 0.1 s
    or more). ``tests/test_results_writer.py`` compares the two files object by object."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    variables, attrs = _encode_results(dataset)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:  # a read-only or full folder: say so of the file asked for
        raise OSError(error.errno, f"{path}: cannot write ({error.strerror})") from None
    os.close(handle)
    try:
        _write_netcdf(temporary, variables, attrs)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; results are ordinary files
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(error.errno, f"{path}: cannot write ({error.strerror or error})") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class _Encoded:
    """One variable as it goes into the file (xarray's CF encoding, done here)."""
    dims: tuple[str, ...]
    data: np.ndarray
    dtype: Any  # a numpy dtype, or str for variable-length strings
    attrs: dict[str, Any]
    fillvalue: Any
    compress: bool


# Encodings that would make xarray write other values than a variable holds; results are built
# fresh by build_results and carry none, so a dataset that does is refused rather than written
# differently from xarray.
_VALUE_ENCODINGS = ("dtype", "_FillValue", "missing_value", "scale_factor", "add_offset", "units",
                    "calendar", "_Unsigned", "_Encoding", "coordinates", "char_dim_name")
_ATTR_TYPES = (str, numbers.Number, np.ndarray, np.number, list, tuple, bytes)


def _encode_results(dataset) -> tuple[dict[str, _Encoded], dict[str, Any]]:
    """The variables and global attributes as xarray's netCDF4 encoding makes them
    (``conventions.encode_dataset_coordinates``, ``cf_encoder``, ``ensure_dtype_not_object``)."""
    _check_attrs("the dataset", dataset.attrs)
    coordinate_names = [name for name in dataset.coords if name not in dataset.dims]
    variables: dict[str, _Encoded] = {}
    written_coordinates: set[str] = set()
    for name, variable in dataset.variables.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise SchemaError(f"results variable name {name!r}: must be a non-empty string without '/'")
        _check_attrs(name, variable.attrs)
        encoded = [key for key in _VALUE_ENCODINGS if key in variable.encoding]
        if encoded:
            raise SchemaError(f"results variable {name}: encoding {encoded} is not written; "
                              "build results with build_results")
        attrs = dict(variable.attrs)
        if "_FillValue" in attrs or "missing_value" in attrs:
            raise SchemaError(f"results variable {name}: a _FillValue or missing_value attribute is not written")
        # The coordinates attribute: every non-dimension coordinate whose dimensions the variable has.
        if name not in coordinate_names and "coordinates" not in attrs:
            names = sorted(coordinate for coordinate in coordinate_names
                           if name not in variable.dims
                           and set(dataset.variables[coordinate].dims) <= set(variable.dims))
            if names:
                attrs["coordinates"] = " ".join(names)
        if "coordinates" in attrs:
            written_coordinates.update(str(attrs["coordinates"]).split())
        data = variable.data if _is_lazy(variable.data) else np.asarray(variable.values)
        fillvalue = None
        kind = data.dtype.kind
        if kind == "f":
            fillvalue = data.dtype.type(np.nan)  # xarray's default _FillValue
            dtype = data.dtype
        elif kind in "iu":
            dtype = data.dtype
        elif kind == "b":
            attrs["dtype"] = "bool"
            data = data.astype("i1")
            dtype = data.dtype
        elif kind == "U":
            dtype = str
        elif kind == "O":
            data, dtype = _object_values(name, data)
        else:
            raise SchemaError(f"results variable {name}: {data.dtype} values are not written")
        compress = (name in dataset.data_vars and variable.ndim >= 1
                    and variable.dtype.kind in "fiu" and variable.size > 1024)
        variables[name] = _Encoded(tuple(map(str, variable.dims)), data, dtype, attrs, fillvalue, compress)
    attrs = dict(dataset.attrs)
    unattached = set(coordinate_names) - written_coordinates
    if unattached and "coordinates" not in attrs:  # xarray's global coordinates attribute
        attrs["coordinates"] = " ".join(sorted(unattached))
    return variables, attrs


def _object_values(name: str, data: np.ndarray) -> tuple[np.ndarray, Any]:
    """An object array as xarray stores it: strings as variable-length strings (missing ones
    empty), numbers as their type (float, NaN where missing), an empty array as float64."""
    if data.size == 0:
        return data.astype(np.float64), np.dtype(np.float64)
    flat = data.ravel()
    missing = np.fromiter((_is_missing(value) for value in flat), bool, flat.size)
    present = flat[~missing]
    if present.size == 0:
        return np.full(data.shape, np.nan), np.dtype(np.float64)
    types = {type(value) for value in present}
    if len(types) > 1:
        raise SchemaError(f"results variable {name}: values of mixed types "
                          f"{sorted(kind.__name__ for kind in types)} are not written")
    first = present[0]
    if isinstance(first, str):
        values = np.empty(data.shape, object)
        values.ravel()[...] = ["" if gone else value for gone, value in zip(missing, flat)]
        return values, str
    if isinstance(first, bytes):
        raise SchemaError(f"results variable {name}: bytes values are not written")
    dtype = np.array(first).dtype
    if dtype.kind not in "fiu":  # xarray refuses the rest too
        raise SchemaError(f"results variable {name}: {type(first).__name__} values are not written")
    if missing.any():
        dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)
        values = np.empty(data.shape, dtype)
        values.ravel()[...] = [np.nan if gone else value for gone, value in zip(missing, flat)]
    else:
        values = np.empty(data.shape, dtype)
        values[...] = data
    return values, dtype


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and value != value)


def _check_attrs(owner: str, attrs: dict) -> None:
    """xarray's checks of attributes for netCDF (``_validate_attrs``)."""
    for key, value in attrs.items():
        if not isinstance(key, str) or not key:
            raise SchemaError(f"{owner}: attribute name {key!r} must be a non-empty string")
        if not isinstance(value, _ATTR_TYPES):
            raise SchemaError(f"{owner}: attribute {key} = {value!r} must be a number, a string, "
                              "an array or a list of numbers or strings")
        if np.asarray(value).dtype.kind == "b":  # h5netcdf would refuse it half-way through the file
            raise SchemaError(f"{owner}: attribute {key} = {value!r}: netCDF has no boolean attributes")
        if isinstance(value, bytes) and (b"\x00" in value or not _is_utf8(value)):
            raise SchemaError(f"{owner}: attribute {key} must be UTF-8 text without null characters")


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


NOT_A_VARIABLE = b"This is a netCDF dimension but not a netCDF variable."


def _write_netcdf(target: str, variables: dict[str, _Encoded], attrs: dict[str, Any]) -> None:
    """The netCDF-4 file h5netcdf writes for xarray, written with h5py alone, in h5netcdf's order:
    global attributes, dimension scales (coordinate variables are their own), each variable
    created, given its netCDF bookkeeping and attributes, and filled; then the dimension scales
    attached and the ``_NCProperties`` stamp. Through h5netcdf the same file took 240-420 ms of a
    short session's 330-440 ms (its attributes are looked up again on every access); this takes
    about 50 ms. ``tests/test_results_writer.py`` compares the two files object by object."""
    import h5netcdf
    import h5py
    from h5py import h5ds

    sizes: dict[str, int] = {}
    for variable in variables.values():
        sizes.update(zip(variable.dims, variable.data.shape))
    dimension_id = {dim: index for index, dim in enumerate(sizes)}
    coordinates = {name for name, variable in variables.items() if variable.dims == (name,)}
    with h5py.File(target, "w", track_order=True) as file:
        for key, value in attrs.items():
            _netcdf_attribute(file, key, value)
        scales = {}
        for dim, size in sizes.items():
            if dim in coordinates:
                continue
            unlimited = {"maxshape": (None,)} if size == 0 else {}
            scale = file.create_dataset(dim, shape=(size,), dtype=">f4", track_order=True, **unlimited)
            _attribute(scale, "_Netcdf4Dimid", np.array(dimension_id[dim], dtype=np.int32))
            scale.make_scale(NOT_A_VARIABLE + bytes(f"{size:10}", "ascii"))
            scales[dim] = scale
        created = []
        for name, variable in variables.items():
            dtype = h5py.string_dtype() if variable.dtype is str else variable.dtype
            options: dict[str, Any] = {}
            deflated = variable.compress and variable.data.ndim > 0  # no chunks or filters on scalars
            if deflated:
                options.update(compression="gzip", compression_opts=4)
            if 0 in variable.data.shape:  # an empty dimension is unlimited, chunked as h5netcdf does
                options["maxshape"] = tuple(None if sizes[dim] == 0 else sizes[dim] for dim in variable.dims)
                options["chunks"] = _default_chunks(variable.data.shape, np.dtype(dtype))
            stored = file.create_dataset(name, shape=variable.data.shape, dtype=dtype, fillvalue=variable.fillvalue,
                                         track_order=True, **options)
            if name in coordinates:
                _attribute(stored, "_Netcdf4Dimid", np.array(dimension_id[name], dtype=np.int32))
                stored.make_scale(name)
                scales[name] = stored
            if variable.dims:
                _attribute(stored, "_Netcdf4Coordinates", np.array([dimension_id[dim] for dim in variable.dims], np.int32))
                # netCDF gives a variable its first dimension's id, unless that one is unlimited
                if name not in coordinates and sizes[variable.dims[0]] != 0:
                    _attribute(stored, "_Netcdf4Dimid", np.array(dimension_id[variable.dims[0]], dtype=np.int32))
            if variable.fillvalue is not None:
                _attribute(stored, "_FillValue", np.atleast_1d(np.array(variable.fillvalue, dtype=dtype)))
            for key, value in variable.attrs.items():
                _netcdf_attribute(stored, key, value)
            _fill(stored, variable.data, np.dtype(dtype), filtered=deflated)
            created.append((name, variable, stored))
        for name, variable, stored in created:
            if name not in coordinates:
                for axis, dim in enumerate(variable.dims):  # as ``stored.dims[axis].attach_scale`` does
                    h5ds.attach_scale(stored.id, scales[dim].id, axis)
        stamp = f"version=2,h5netcdf={h5netcdf.__version__},hdf5={h5py.version.hdf5_version},h5py={h5py.__version__}"
        file.attrs["_NCProperties"] = np.array(stamp, dtype=h5py.string_dtype(encoding="ascii", length=len(stamp)))


def _fill(stored, data, dtype: np.dtype, filtered: bool) -> None:
    """A variable's values into its dataset (of ``dtype``; ``filtered``: deflated); deflated
    chunks filtered on every core (ChunkWriter: an hour's per-frame results in 0.45 s instead of
    HDF5's 1.6-2.2 s), lazy values a block of frames at a time (they may be larger than memory)."""
    from drivers.chunk_writer import ChunkWriter

    if 0 in data.shape:
        return
    writer = ChunkWriter.for_dataset(stored) if filtered else None  # None: HDF5 writes it
    if writer is None and not _is_lazy(data):
        if isinstance(data, np.ndarray) and data.dtype == dtype and data.dtype.kind in "biuf":
            from h5py import h5s

            # HDF5's write itself: h5py's ``stored[...] = data`` works out a selection first,
            # 0.2 ms a variable of a short session's some 50 written so
            stored.id.write(h5s.ALL, h5s.ALL, np.ascontiguousarray(data))
        else:
            stored[...] = data  # text, and anything not a numeric array of the stored type
        return
    for first, values in data.blocks() if _is_lazy(data) else [(0, np.asarray(data))]:
        if writer is None:
            stored[first:first + len(values)] = values
        else:
            writer.store(first, values)


def _netcdf_attribute(item, key: str, value) -> None:
    """As h5netcdf stores an attribute: numbers (not text) as one-element arrays."""
    dtype = value.dtype if hasattr(value, "dtype") else np.asarray(value).dtype
    if np.isscalar(value) and dtype.kind not in "SU":
        value = np.atleast_1d(value)
    _attribute(item, key, value)


def _attribute(item, key: str, value) -> None:
    """The attribute h5py's ``item.attrs[key] = value`` creates (type, shape and value), created
    directly: a results file has some 400 attributes, and h5py's way (which first looks for one
    of that name to replace) took 87 us each, a quarter of a short session's writing; this takes
    30 us. Numbers and text; anything else h5py's way."""
    from h5py import h5a, string_dtype

    if isinstance(value, str):
        data = np.array(value, dtype=string_dtype())  # variable-length UTF-8, as h5py stores a str
    elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        data = value if value.flags.c_contiguous else value.copy(order="C")  # 0-d stays 0-d
    else:
        item.attrs[key] = value
        return
    name = key.encode()
    if h5a.exists(item.id, name):  # replaced, as h5py replaces it (make_scale's NAME, say)
        h5a.delete(item.id, name)
    stored, in_memory, space = _attribute_types(data.dtype.str, repr(data.dtype.metadata), data.shape, data.dtype)
    created = h5a.create(item.id, name, stored, space)
    try:
        created.write(data, mtype=in_memory)
    except BaseException:
        created.close()
        h5a.delete(item.id, name)  # no attribute left half made
        raise


@lru_cache(maxsize=64)
def _attribute_types(_dtype: str, _metadata: str, shape: tuple[int, ...], dtype: np.dtype):
    """HDF5's types (as stored, as in memory) and dataspace for attributes of one kind, made once
    (making them was half of each attribute's cost); keyed by the dtype's text and metadata, as
    NumPy finds a variable-length string dtype equal to any object dtype."""
    from h5py import h5s, h5t

    return h5t.py_create(dtype, logical=True), h5t.py_create(dtype), h5s.create_simple(shape)


@lru_cache(maxsize=256)
def _default_chunks(shape: tuple[int, ...], dtype: np.dtype) -> tuple[int, ...]:
    """h5netcdf's chunks for a variable with an unlimited (empty) dimension (the same few shapes
    in every file: worked out once)."""
    from h5netcdf.core import _get_default_chunksizes  # its heuristic, so that the file is the same

    return tuple(_get_default_chunksizes(shape, dtype))
