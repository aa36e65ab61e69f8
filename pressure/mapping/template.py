"""Templates: the common foot frame footprints are registered to.

A template is a DataArray (``y_mm``, ``x_mm``) on a square grid of ``pitch_mm`` pixels (2 mm by
default), heel at small ``y_mm`` and toes at large ``y_mm``; for a right foot the medial side lies
at small ``x_mm`` (the mat's coordinates, DESIGN.md section 2, for a person facing +y). Its
attributes say which foot (``side``), where it came from (``source``) and its units.

Two kinds:

- **MUN104** (Pataky et al. 2011, Gait & Posture 33:418; MIT): the mean of 104 subjects' emed
  peak-pressure images, 63 x 27 pixels per foot. Its README states no pixel size; we take 5 mm
  (the emed plates' 4 sensors per cm^2; its print is then 270 mm long and 100 mm wide at the
  forefoot, an adult foot) and no units (peak-pressure-like values, at most about 400).
- **From a study** (``study_template``): the footprints registered to a first template (MUN104,
  or one of the study's own footprints), averaged, and the average brought back to the study's
  mean size (the mean registration scale undone, after Pataky et al. 2011's unbiased template);
  repeated a few times.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pressure.mapping.footprints import FEET, Footprint
from pressure.mapping.registration import (Similarity, grid_of, on_grid, register_all, resample, similarity,
                                           template_axes)

PITCH_MM = 2.0
MUN104_PITCH_MM = 5.0  # not stated by the source; see the module's docstring
MUN104_FOLDER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mun104_template"
STUDY_ITERATIONS = 3
STUDY_MARGIN_MM = 20.0  # unloaded border around a study template's print


def read_mun104(side: str = "right", folder: Path | str | None = None) -> np.ndarray:
    """The MUN104 image of one foot as it is stored (63 x 27, heel at row 0's end)."""
    if side not in FEET:
        raise ValueError(f"side must be one of {FEET}, got {side!r}")
    path = Path(folder or MUN104_FOLDER) / f"MUN104{side[0].upper()}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"MUN104 template not found: {path}")
    return np.loadtxt(path, delimiter=",", dtype=float)


def mun104(side: str = "right", pitch_mm: float = PITCH_MM, folder: Path | str | None = None,
           source_pitch_mm: float = MUN104_PITCH_MM):
    """The MUN104 mean footprint of ``side`` on a grid of ``pitch_mm``."""
    image = read_mun104(side, folder)
    source = f"MUN104{side[0].upper()} (Pataky et al. 2011, MIT), {source_pitch_mm:g} mm pixels assumed"
    template = on_grid(image, source_pitch_mm, source_pitch_mm, pitch_mm, side=side, source=source, units="1")
    template.name = "template"
    return template


def from_footprint(footprint: Footprint, pitch_mm: float = PITCH_MM, margin_mm: float = STUDY_MARGIN_MM):
    """One footprint, rotated heel-to-toe along +y and centred on a grid of ``pitch_mm``: the first
    template of a study when no other one fits."""
    import xarray as xr

    from pressure.mapping.registration import principal_axes

    axes = principal_axes(footprint.peak_kpa, footprint.pitch_x_mm, footprint.pitch_y_mm, footprint.axis)
    half_length = 3.0 * axes.spread_mm + margin_mm  # a print is about 3.5 SDs long; room for the toes
    half_width = 0.45 * half_length
    x = np.arange(0.0, 2 * half_width + pitch_mm / 2, pitch_mm)
    y = np.arange(0.0, 2 * half_length + pitch_mm / 2, pitch_mm)
    empty = xr.DataArray(np.zeros((len(y), len(x))), dims=("y_mm", "x_mm"), coords={"y_mm": y, "x_mm": x},
                         attrs={"pitch_mm": float(pitch_mm)})
    centre = np.array([x.mean(), y.mean()])
    transform = similarity(np.array([axes.angle_deg - 90.0, 0.0, 0.0, 0.0]), centre, axes.centre)
    image = resample(footprint.peak_kpa, footprint.pitch_x_mm, footprint.pitch_y_mm, transform, empty)
    return empty.copy(data=image).assign_attrs(side=footprint.side, source=f"footprint {footprint.source}",
                                                units="kPa")


def unbiased(mean_image: np.ndarray, transforms: list[Similarity], template):
    """The mean registered image brought to the footprints' mean size: enlarged about its centroid
    by the geometric mean of the registration scales (footprint size over template size). Its
    orientation stays the template's (heel to toe along +y), not the footprints' mean angle on the
    mat, which is the walk's toe-out, not the foot's shape."""
    x, y, pitch = grid_of(template)
    log_scale = float(np.mean([np.log(t.scale) for t in transforms]))
    mean = template.copy(data=mean_image)
    centre = template_axes(mean).centre
    # Pixel p of the new template shows the mean image at centre + (p - centre) / mean scale.
    inverse = similarity(np.array([0.0, -log_scale, 0.0, 0.0]), centre, centre)
    return template.copy(data=resample(mean_image, pitch, pitch, _shifted(inverse, x[0], y[0]), template))


def _shifted(transform: Similarity, x0: float, y0: float) -> Similarity:
    """A transform to template mm expressed for an image whose cell (0, 0) lies at (x0, y0)."""
    offset = transform.offset - np.array([x0, y0])
    return Similarity(transform.rotation_deg, transform.scale, transform.shift_x_mm, transform.shift_y_mm,
                      transform.matrix, offset)


def padded(template, margin_mm: float):
    """The template on a grid ``margin_mm`` wider on every side (zeros there), coordinates from 0."""
    import xarray as xr

    _, _, pitch = grid_of(template)
    image = np.pad(np.asarray(template, float), max(0, round(margin_mm / pitch)))
    return xr.DataArray(image, dims=("y_mm", "x_mm"),
                        coords={"y_mm": np.arange(image.shape[0]) * pitch, "x_mm": np.arange(image.shape[1]) * pitch},
                        attrs=dict(template.attrs), name=template.name)


def study_template(footprints: list[Footprint], start=None, iterations: int = STUDY_ITERATIONS,
                   normalise: bool = True, margin_mm: float = STUDY_MARGIN_MM, progress=None):
    """A template made from a study's footprints (all of one side): register them to ``start``
    (default: MUN104 of their side when it is found, else the footprint nearest the median
    size), average the ones that did not fail (each scaled to unit mean over the grid when
    ``normalise``, so that no subject's pressure level dominates the shape), bring the average to
    the footprints' mean size, and repeat ``iterations`` times. The grid is the start's, widened
    by ``margin_mm`` on every side."""
    if not footprints:
        raise ValueError("a study template needs footprints")
    sides = {footprint.side for footprint in footprints}
    if len(sides) != 1:
        raise ValueError("mirror the footprints to one side first (footprints.as_side)")
    side = sides.pop()
    if start is None:
        try:
            start = mun104(side)
        except FileNotFoundError:
            areas = [int((f.peak_kpa > 0).sum()) for f in footprints]
            start = from_footprint(footprints[int(np.argsort(areas)[len(areas) // 2])])
    # Room around the print: the study's feet may be larger than the start's.
    template = padded(start, margin_mm).assign_attrs(side=side)
    for _ in range(iterations):
        registered = register_all(footprints, template, progress=progress)
        keep = ~np.asarray(registered["failed"], bool)
        if not keep.any():
            raise ValueError("no footprint registered to the starting template")
        images = np.asarray(registered["peak_pressure"])[keep]
        if normalise:
            images = images / np.maximum(images.mean(axis=(1, 2), keepdims=True), 1e-12)
        rotations, scales = np.asarray(registered["rotation"])[keep], np.asarray(registered["scale"])[keep]
        transforms = [similarity(np.array([rotation, np.log(scale), 0.0, 0.0]), np.zeros(2), np.zeros(2))
                      for rotation, scale in zip(rotations, scales)]
        template = unbiased(images.mean(axis=0), transforms, template)
    template.attrs.update(side=side, source=f"study template: {len(footprints)} footprints, {iterations} iterations "
                                            f"from {start.attrs.get('source', 'a start')}",
                          units="1" if normalise else "kPa")
    template.name = "template"
    return template
