"""Registration: every footprint aligned to a template and resampled onto the template's grid.

The template is a DataArray (``y_mm``, ``x_mm``) on a square grid of ``pitch_mm`` pixels, heel at
small ``y_mm``, toes at large ``y_mm`` (``template.py`` makes them). A footprint (a right foot,
``footprints.py``) is aligned by a similarity transform that maps template millimetres to the
footprint's millimetres,

    p_footprint = scale * R(rotation) (p_template - c_template) + c_footprint + shift,

where the c are the centroids of the loaded area. How it is found:

1. **Start from the principal axes.** The loaded area's centroid, principal axis (oriented heel to
   toe by the footprint's heel-to-toe axis, the template's towards +y) and its spread along that
   axis give the first rotation, scale and translation.
2. **Optimise rotation, translation and isotropic scale** (four numbers) to maximise the Pearson
   correlation between the resampled footprint and the template over the whole grid; the
   correlation ignores the overall pressure level, which differs between subjects, speeds and
   templates. Nelder-Mead (scipy.optimize) from three starting rotations (the axes' angle and
   +-10 degrees), first on images blurred by a Gaussian of ``BLUR_MM`` (a wide basin), then on
   the images themselves. Resampling is ``scipy.ndimage.affine_transform`` (bilinear: no ringing,
   no negative pressures).
3. **Optionally a smooth non-rigid refinement** (``nonrigid=True``): a displacement field on a
   coarse grid of control points (``CONTROL_SPACING_MM`` apart), spread over the grid by cubic
   spline zoom (``scipy.ndimage.zoom``), optimised by L-BFGS-B on the same correlation with a
   bending penalty; resampling by ``scipy.ndimage.map_coordinates``.

Quality: the correlation with the template and the share of the footprint's load that lands on
the grid. A registration fails (``failure_reason``) when the correlation is below
``MIN_CORRELATION``, when less than ``MIN_INSIDE`` of the load lands on the grid, or when the
scale is outside ``SCALE_RANGE`` (a print that size is not the template's foot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pressure.mapping.footprints import Footprint

BLUR_MM = 6.0  # Gaussian sigma of the first, coarse optimisation
START_ROTATIONS_DEG = (0.0, -10.0, 10.0)
MOMENT_FRACTION = 0.05  # cells above this share of the image's peak make the loaded area for the principal axes
MIN_CORRELATION = 0.6
MIN_INSIDE = 0.95
SCALE_RANGE = (0.7, 1.4)
CONTROL_SPACING_MM = 40.0
BENDING_WEIGHT = 1e-4  # per mm^2 of squared difference between neighbouring control displacements
MAX_DISPLACEMENT_MM = 15.0


@dataclass(frozen=True)
class Similarity:
    """Rotation (degrees, counter-clockwise in x-y), isotropic scale (footprint size over template
    size) and the affine map it makes: p_footprint = matrix @ p_template + offset (mm, (x, y))."""

    rotation_deg: float
    scale: float
    shift_x_mm: float
    shift_y_mm: float
    matrix: np.ndarray
    offset: np.ndarray

    def apply(self, xy: np.ndarray) -> np.ndarray:
        """Template points (n, 2) in footprint millimetres."""
        return np.asarray(xy, float) @ self.matrix.T + self.offset


@dataclass(frozen=True)
class Registration:
    """One footprint on the template grid: its peak and mean images, the transform, the optional
    non-rigid displacement (2, ny, nx) in template mm (x then y, None when rigid), the correlation
    with the template and the share of the footprint's load that landed on the grid."""

    peak_kpa: np.ndarray
    mean_kpa: np.ndarray
    transform: Similarity
    displacement_mm: np.ndarray | None
    correlation: float
    rigid_correlation: float
    inside: float

    @property
    def failure(self) -> str:
        return failure_reason(self.correlation, self.inside, self.transform.scale)


def failure_reason(correlation: float, inside: float, scale: float) -> str:
    """Why a registration is not to be trusted, or "" when it is."""
    reasons = []
    if not correlation >= MIN_CORRELATION:
        reasons.append(f"correlation {correlation:.2f} < {MIN_CORRELATION}")
    if not inside >= MIN_INSIDE:
        reasons.append(f"{inside:.0%} of the load on the template grid")
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        reasons.append(f"scale {scale:.2f} outside {SCALE_RANGE[0]}-{SCALE_RANGE[1]}")
    return "; ".join(reasons)


# -- grids ----------------------------------------------------------------------------------------
def grid_of(template) -> tuple[np.ndarray, np.ndarray, float]:
    """The template's pixel centres (x_mm, y_mm) and its pitch."""
    x, y = np.asarray(template["x_mm"], float), np.asarray(template["y_mm"], float)
    pitch = float(template.attrs.get("pitch_mm", x[1] - x[0]))
    if not (np.allclose(np.diff(x), pitch) and np.allclose(np.diff(y), pitch)):
        raise ValueError("a template is a square grid with coordinates x_mm and y_mm, pitch_mm apart")
    return x, y, pitch


def on_grid(image: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, pitch_mm: float, **attrs):
    """An image of (rows, cols) cells (cell (0, 0) at (0, 0) mm) resampled bilinearly onto a square
    grid of ``pitch_mm`` covering the same extent, as a DataArray (y_mm, x_mm)."""
    import xarray as xr
    from scipy.ndimage import affine_transform

    image = np.asarray(image, float)
    ny = int(np.floor((image.shape[0] - 1) * pitch_y_mm / pitch_mm)) + 1
    nx = int(np.floor((image.shape[1] - 1) * pitch_x_mm / pitch_mm)) + 1
    resampled = affine_transform(image, np.diag([pitch_mm / pitch_y_mm, pitch_mm / pitch_x_mm]), 0.0,
                                 output_shape=(ny, nx), order=1, mode="constant", cval=0.0)
    return xr.DataArray(resampled, dims=("y_mm", "x_mm"),
                        coords={"y_mm": np.arange(ny) * pitch_mm, "x_mm": np.arange(nx) * pitch_mm},
                        attrs={"pitch_mm": float(pitch_mm), **attrs})


# -- principal axes --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Axes:
    centre: np.ndarray  # (x, y) mm
    angle_deg: float  # of the heel-to-toe principal axis, counter-clockwise from +x
    spread_mm: float  # SD of the loaded area along that axis


def principal_axes(image: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, forward) -> Axes:
    """Centroid, heel-to-toe principal axis (its sign from ``forward``) and spread along it of the
    cells above MOMENT_FRACTION of the image's peak."""
    image = np.nan_to_num(np.asarray(image, float))
    rows, cols = np.nonzero(image > MOMENT_FRACTION * image.max())
    if len(rows) < 3:
        raise ValueError("a footprint needs at least three loaded cells")
    xy = np.column_stack([cols * pitch_x_mm, rows * pitch_y_mm])
    centre = xy.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov((xy - centre).T))
    axis = vectors[:, -1] if vectors[:, -1] @ np.asarray(forward, float) >= 0 else -vectors[:, -1]
    return Axes(centre, float(np.degrees(np.arctan2(axis[1], axis[0]))), float(np.sqrt(values[-1])))


# -- the transform and resampling ---------------------------------------------------------------
def similarity(params: np.ndarray, centre_template: np.ndarray, centre_footprint: np.ndarray) -> Similarity:
    """params = (rotation_deg, log scale, shift_x_mm, shift_y_mm)."""
    rotation, log_scale, sx, sy = (float(p) for p in params)
    scale = float(np.exp(log_scale))
    c, s = np.cos(np.radians(rotation)), np.sin(np.radians(rotation))
    matrix = scale * np.array([[c, -s], [s, c]])
    offset = centre_footprint + np.array([sx, sy]) - matrix @ centre_template
    return Similarity(rotation, scale, sx, sy, matrix, offset)


def _index_map(transform: Similarity, pitch_x_mm: float, pitch_y_mm: float, x0: float, y0: float, pitch: float):
    """affine_transform's matrix and offset: template pixel (row, col) -> footprint cell (row, col)."""
    a = transform.matrix
    a_rc = np.array([[a[1, 1], a[1, 0]], [a[0, 1], a[0, 0]]])  # (y, x) order
    b_rc = np.array([transform.offset[1], transform.offset[0]])
    to_cells = np.diag([1.0 / pitch_y_mm, 1.0 / pitch_x_mm])
    return to_cells @ a_rc * pitch, to_cells @ (a_rc @ np.array([y0, x0]) + b_rc)


def resample(image: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, transform: Similarity, template,
             displacement_mm: np.ndarray | None = None) -> np.ndarray:
    """``image`` (footprint cells) on the template's grid through ``transform`` (and a non-rigid
    displacement (2, ny, nx) in template mm, x then y), bilinear, 0 outside the footprint."""
    return _resample(image, pitch_x_mm, pitch_y_mm, transform, grid_of(template), displacement_mm)


def _resample(image, pitch_x_mm, pitch_y_mm, transform: Similarity, grid, displacement_mm=None) -> np.ndarray:
    from scipy.ndimage import affine_transform, map_coordinates

    x, y, pitch = grid
    image = np.asarray(image, float)
    if displacement_mm is None:
        matrix, offset = _index_map(transform, pitch_x_mm, pitch_y_mm, x[0], y[0], pitch)
        return affine_transform(image, matrix, offset, output_shape=(len(y), len(x)), order=1, mode="constant",
                                cval=0.0)
    px = x[None, :] + displacement_mm[0]
    py = y[:, None] + displacement_mm[1]
    fx = transform.matrix[0, 0] * px + transform.matrix[0, 1] * py + transform.offset[0]
    fy = transform.matrix[1, 0] * px + transform.matrix[1, 1] * py + transform.offset[1]
    return map_coordinates(image, [fy / pitch_y_mm, fx / pitch_x_mm], order=1, mode="constant", cval=0.0)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two images over all their pixels (0 when either is flat)."""
    # Element-wise sums, not BLAS: on a busy machine OpenBLAS's threads make a 10,000-element
    # dot product a thousand times slower.
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    denominator = np.sqrt(np.einsum("i,i->", a, a) * np.einsum("i,i->", b, b))
    return float(np.einsum("i,i->", a, b) / denominator) if denominator > 0 else 0.0


def _blurred(image: np.ndarray, sigma_mm: float, pitch_y: float, pitch_x: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(np.asarray(image, float), (sigma_mm / pitch_y, sigma_mm / pitch_x), mode="constant")


# -- registration ---------------------------------------------------------------------------------
def template_axes(template) -> Axes:
    x, y, pitch = grid_of(template)
    axes = principal_axes(np.asarray(template), pitch, pitch, (0.0, 1.0))
    return Axes(axes.centre + np.array([x[0], y[0]]), axes.angle_deg, axes.spread_mm)


def rigid_fit(image: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, forward, template,
              start_rotations_deg=START_ROTATIONS_DEG) -> tuple[Similarity, float]:
    """The similarity transform that best correlates ``image`` with ``template``, and that
    correlation (on the unblurred images)."""
    from scipy.optimize import minimize

    grid = grid_of(template)
    pitch = grid[2]
    target = np.asarray(template, float)
    mine, theirs = principal_axes(image, pitch_x_mm, pitch_y_mm, forward), template_axes(template)
    base = np.array([mine.angle_deg - theirs.angle_deg, np.log(mine.spread_mm / theirs.spread_mm), 0.0, 0.0])
    steps = np.array([5.0, 0.05, 5.0, 5.0])  # degrees, log scale, mm, mm: the optimiser sees these as 1

    def cost_on(source, goal):
        def cost(z):
            transform = similarity(base + z * steps, theirs.centre, mine.centre)
            return -correlation(_resample(source, pitch_x_mm, pitch_y_mm, transform, grid), goal)
        return cost

    coarse = cost_on(_blurred(image, BLUR_MM, pitch_y_mm, pitch_x_mm), _blurred(target, BLUR_MM, pitch, pitch))
    fine = cost_on(image, target)
    best = None
    for start in start_rotations_deg:
        z0 = np.array([start / steps[0], 0.0, 0.0, 0.0])
        first = minimize(coarse, z0, method="Nelder-Mead", options={"xatol": 0.02, "fatol": 1e-5, "maxfev": 400})
        if best is None or first.fun < best.fun:
            best = first
    result = minimize(fine, best.x, method="Nelder-Mead",
                      options={"xatol": 0.01, "fatol": 1e-6, "maxfev": 400,
                               "initial_simplex": best.x + np.vstack([np.zeros(4), 0.3 * np.eye(4)])})
    return similarity(base + result.x * steps, theirs.centre, mine.centre), float(-result.fun)


def _control_grid(template) -> tuple[int, int]:
    x, y, _ = grid_of(template)
    return (max(2, round(np.ptp(y) / CONTROL_SPACING_MM) + 1), max(2, round(np.ptp(x) / CONTROL_SPACING_MM) + 1))


def displacement_field(controls: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Control-point displacements (2, cy, cx) spread smoothly (cubic spline) over ``shape``."""
    from scipy.ndimage import zoom

    factors = (shape[0] / controls.shape[1], shape[1] / controls.shape[2])
    field = np.stack([zoom(c, factors, order=3, mode="grid-constant", grid_mode=True) for c in controls])
    return field[:, : shape[0], : shape[1]]


def nonrigid_fit(image: np.ndarray, pitch_x_mm: float, pitch_y_mm: float, transform: Similarity, template,
                 ) -> tuple[np.ndarray, float]:
    """A smooth displacement (2, ny, nx) refining ``transform``, and the correlation it reaches."""
    from scipy.optimize import minimize

    target = np.asarray(template, float)
    cy, cx = _control_grid(template)
    shape = target.shape
    grid = grid_of(template)

    def cost(z):
        controls = z.reshape(2, cy, cx)
        field = displacement_field(controls, shape)
        r = correlation(_resample(image, pitch_x_mm, pitch_y_mm, transform, grid, field), target)
        bending = sum(np.sum(np.diff(controls, axis=axis) ** 2) for axis in (1, 2))
        return -r + BENDING_WEIGHT * bending

    z0 = np.zeros(2 * cy * cx)
    bounds = [(-MAX_DISPLACEMENT_MM, MAX_DISPLACEMENT_MM)] * len(z0)
    result = minimize(cost, z0, method="L-BFGS-B", bounds=bounds, options={"maxiter": 60, "eps": 0.05})
    field = displacement_field(result.x.reshape(2, cy, cx), shape)
    return field, correlation(resample(image, pitch_x_mm, pitch_y_mm, transform, template, field), target)


def register(footprint: Footprint, template, *, nonrigid: bool = False) -> Registration:
    """``footprint`` (the template's side: see footprints.as_side) aligned to ``template`` on its
    peak pressure image, both images resampled onto the template grid."""
    side = template.attrs.get("side")
    if side is not None and footprint.side != side:
        raise ValueError(f"a {footprint.side} footprint against a {side} template: mirror it first (as_side)")
    px, py = footprint.pitch_x_mm, footprint.pitch_y_mm
    transform, rigid_r = rigid_fit(footprint.peak_kpa, px, py, footprint.axis, template)
    field, r = None, rigid_r
    if nonrigid:
        field, r = nonrigid_fit(footprint.peak_kpa, px, py, transform, template)
    peak = resample(footprint.peak_kpa, px, py, transform, template, field)
    mean = resample(footprint.mean_kpa, px, py, transform, template, field)
    # Whether the print lies on the grid is the rigid placement's to say: a warp's local
    # stretching changes the resampled sum without moving load off the grid.
    return Registration(peak, mean, transform, field, r, rigid_r, load_inside(footprint, transform, template))


def load_inside(footprint: Footprint, transform: Similarity, template, displacement_mm=None) -> float:
    """Share of the footprint's summed peak pressure that lands on the template grid: resampled
    load times the area ratio, over the footprint's own load."""
    _, _, pitch = grid_of(template)
    total = float(np.nansum(footprint.peak_kpa)) * footprint.pitch_x_mm * footprint.pitch_y_mm
    if total <= 0:
        return 0.0
    peak = resample(footprint.peak_kpa, footprint.pitch_x_mm, footprint.pitch_y_mm, transform, template,
                    displacement_mm)
    landed = float(peak.sum()) * pitch * pitch * transform.scale ** 2
    return min(landed / total, 1.0)


def register_all(footprints: list[Footprint], template, *, nonrigid: bool = False, metadata: dict | None = None,
                 progress=None):
    """Every footprint registered to ``template``, as a Dataset with dims (step, y_mm, x_mm):
    ``peak_pressure`` and ``mean_pressure`` (kPa) on the template grid, and per step the transform
    (``rotation``, ``scale``, ``shift_x``, ``shift_y``), the ``correlation`` with the template
    (``rigid_correlation`` before any non-rigid refinement), the share of the load on the grid
    (``inside``), whether it ``failed`` and why (``failure``), the foot it was and whether it was
    ``mirrored``. ``metadata`` adds per-step coordinates (e.g. subject, speed), one value per
    footprint. ``progress`` wraps the loop (e.g. rich.progress.track)."""
    import xarray as xr

    items = progress(footprints) if progress is not None else footprints
    done = [register(footprint, template, nonrigid=nonrigid) for footprint in items]
    n = len(done)
    shape = np.asarray(template).shape
    peak = np.stack([r.peak_kpa for r in done]) if n else np.zeros((0,) + shape)
    mean = np.stack([r.mean_kpa for r in done]) if n else np.zeros((0,) + shape)
    grid = {"y_mm": np.asarray(template["y_mm"]), "x_mm": np.asarray(template["x_mm"])}

    def per_step(values, units="", long_name=""):
        return ("step", np.asarray(values), {"units": units, "long_name": long_name})

    data = {
        "peak_pressure": (("step", "y_mm", "x_mm"), peak, {"units": "kPa", "long_name": "peak pressure, registered"}),
        "mean_pressure": (("step", "y_mm", "x_mm"), mean,
                          {"units": "kPa", "long_name": "mean pressure over the contact, registered"}),
        "rotation": per_step([r.transform.rotation_deg for r in done], "degree",
                             "rotation of the footprint against the template, counter-clockwise"),
        "scale": per_step([r.transform.scale for r in done], "1", "footprint size over template size"),
        "shift_x": per_step([r.transform.shift_x_mm for r in done], "mm", "shift beyond the centroids' match, x"),
        "shift_y": per_step([r.transform.shift_y_mm for r in done], "mm", "shift beyond the centroids' match, y"),
        "correlation": per_step([r.correlation for r in done], "1", "Pearson correlation with the template"),
        "rigid_correlation": per_step([r.rigid_correlation for r in done], "1",
                                      "correlation with the template after the similarity transform alone"),
        "inside": per_step([r.inside for r in done], "1", "share of the footprint's load on the template grid"),
        "failure": per_step(np.array([r.failure for r in done], dtype=object), "", "why the registration failed"),
        "failed": per_step([bool(r.failure) for r in done], "", "registration not to be trusted"),
        "foot": per_step(np.array([f.foot for f in footprints], dtype=object), "", "the foot it was"),
        "mirrored": per_step([f.mirrored for f in footprints], "", "mirrored to the template's side"),
        "source": per_step(np.array([f.source for f in footprints], dtype=object), "", "recording"),
        "start": per_step([f.start_s for f in footprints], "s", "start of the contact"),
    }
    coords = dict(grid)
    for name, values in (metadata or {}).items():
        if len(values) != n:
            raise ValueError(f"metadata {name!r} has {len(values)} values for {n} footprints")
        coords[name] = ("step", np.asarray(values))
    attrs = {"template": str(template.attrs.get("source", "")), "side": str(template.attrs.get("side", "")),
             "pitch_mm": float(grid_of(template)[2]), "nonrigid": int(nonrigid),
             "min_correlation": MIN_CORRELATION, "min_inside": MIN_INSIDE,
             "scale_range": f"{SCALE_RANGE[0]}-{SCALE_RANGE[1]}"}
    dataset = xr.Dataset(data, coords=coords, attrs=attrs)
    dataset["y_mm"].attrs.update(units="mm", long_name="along the foot, heel to toes")
    dataset["x_mm"].attrs.update(units="mm", long_name="across the foot")
    return dataset
