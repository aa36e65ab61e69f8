"""The results schema, defined once: every results dataset is built and checked here."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FEET = ("left", "right")


@dataclass(frozen=True)
class Variable:
    dims: tuple[str, ...]
    units: str
    long_name: str
    required: bool = True


COORDINATES = {
    "time": Variable(("time",), "s", "time from the first frame"),
    "frame": Variable(("time",), "1", "device frame counter"),
    "foot": Variable(("foot",), "", "foot"),
    "y": Variable(("y",), "mm", "cell centre along rows"),
    "x": Variable(("x",), "mm", "cell centre along columns"),
}

RESULTS = {
    "force": Variable(("time", "foot"), "N", "vertical force under each foot"),
    "contact_area": Variable(("time", "foot"), "cm^2", "area of the loaded cells under each foot"),
    "peak_pressure": Variable(("time", "foot"), "kPa", "highest cell pressure under each foot"),
    "cop_x": Variable(("time", "foot"), "mm", "centre of pressure x; NaN while the foot is unloaded"),
    "cop_y": Variable(("time", "foot"), "mm", "centre of pressure y; NaN while the foot is unloaded"),
    "mat_force": Variable(("time",), "N", "vertical force on the whole mat (feet and any other loaded region)"),
    "mat_cop_x": Variable(("time",), "mm", "centre of pressure of the whole mat, x"),
    "mat_cop_y": Variable(("time",), "mm", "centre of pressure of the whole mat, y"),
    "arch_index": Variable(("foot",), "1", "Cavanagh & Rodgers arch index (toes excluded; median over steps)"),
    "arch_type": Variable(("foot",), "", "high (<= 0.21), normal or flat (>= 0.26)"),
    "load_share": Variable(("foot",), "1", "share of the total force over the session"),
    "cop_path_length": Variable(("foot",), "mm", "length of the centre-of-pressure path"),
    "symmetry_index": Variable((), "%", "Robinson symmetry index of mean force, > 0: more load on the right"),
    "step_foot": Variable(("step",), "", "foot of each contact"),
    "step_start": Variable(("step",), "s", "start of each foot contact"),
    "step_end": Variable(("step",), "s", "end of each foot contact"),
    "peak_pressure_image": Variable(("y", "x"), "kPa", "highest pressure of each cell over the session"),
    "foot_map": Variable(("y", "x"), "", "foot of each cell: 0 left, 1 right, -1 none"),
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
        values = np.asarray(values)
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


def _attrs(name: str, spec: Variable) -> dict[str, Any]:
    attrs: dict[str, Any] = {"long_name": spec.long_name}
    if spec.units:
        attrs["units"] = spec.units
    if name == "foot_map":
        attrs.update(flag_values=np.array([-1, 0, 1], np.int8), flag_meanings="none left right")
    return attrs


def write_results(dataset, path: Path) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = {
        name: {"compression": "gzip", "compression_opts": 4}
        for name, variable in dataset.data_vars.items()
        if variable.ndim >= 1 and variable.dtype.kind in "fiu" and variable.size > 1024
    }
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        dataset.to_netcdf(temporary, engine="h5netcdf", encoding=encoding, invalid_netcdf=False)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; results are ordinary files
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
