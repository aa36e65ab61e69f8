"""Statistics per pixel on the template grid, the template's regions, and maps drawn over it.

Every image stack is a DataArray (``step``, ``y_mm``, ``x_mm``) as ``registration.register_all``
makes it; every map is a DataArray (``y_mm``, ``x_mm``) on the same grid.

- ``mean_map``, ``sd_map``: per-pixel mean and standard deviation (n - 1) over a group.
- ``welch_t_map``: Welch's unequal-variance t per pixel between two groups, with the
  Welch-Satterthwaite degrees of freedom and two-sided p (uncorrected).
- ``correlation_map``: Pearson's r per pixel with a covariate (e.g. walking speed), its t and
  two-sided p (uncorrected); with ``groups`` (e.g. subjects) each group's images and covariate
  are centred on their own means first, so r is the pooled within-group correlation (the partial
  correlation given the group), with n - groups - 1 degrees of freedom.
- ``group_correlation``: r per group, their mean through Fisher's z and a one-sample t across
  groups of z (a random-effects test: subjects, not steps, are the replicates); a pixel that a
  group never loaded is left out of that group's share.
- ``permutation_threshold``: the family-wise threshold of the largest |r| (or |t|) over the map
  under random relabelling (covariate permuted within groups; group labels permuted for
  Welch's t); a permutation test of the maximum statistic.

Not implemented: Pataky's pSPM thresholds from random field theory (smoothness estimated from
the residuals, the expected Euler characteristic); the permutation threshold above controls the
same family-wise error without assumptions on smoothness.

Pixels where a statistic cannot be formed (no variance in a group or in the covariate) are NaN.
"""

from __future__ import annotations

import numpy as np

DIM = "step"
OUTLINE_FRACTION = 0.05  # the template's outline: pixels above this share of its peak (holes filled)
OUTLINE_CLOSING_MM = 8.0

# Regions along the foot, as fractions of its length from the heel end (f), and across it as the
# fraction of the row's width from the medial edge (u). See template_regions.
REARFOOT_END = 0.30
MIDFOOT_END = 0.55
PROXIMAL_FOREFOOT_END = 0.68
CREASE_SEARCH = (0.75, 0.92)  # where the toe crease is looked for
CREASE_DEFAULT = 0.80
FOUR_REGIONS = ("rearfoot", "midfoot", "medial proximal forefoot", "distal forefoot")
TEN_REGIONS = ("medial heel", "lateral heel", "midfoot", "MTH1", "MTH2", "MTH3", "MTH4", "MTH5", "hallux",
               "lesser toes")
MTH_EDGES = (0.0, 0.30, 0.475, 0.65, 0.825, 1.0 + 1e-9)  # MTH1 takes the medial 30 %, MTH2-5 the rest
HALLUX_WIDTH = 0.40


def _stack(images, dim: str = DIM) -> np.ndarray:
    return np.asarray(images.transpose(dim, ...), float)


def _like(template_grid, values: np.ndarray, name: str, units: str, long_name: str, **attrs):
    import xarray as xr

    coords = {"y_mm": template_grid["y_mm"], "x_mm": template_grid["x_mm"]}
    return xr.DataArray(values, dims=("y_mm", "x_mm"), coords=coords, name=name,
                        attrs={"units": units, "long_name": long_name, **attrs})


def _grid(images, dim):
    return images.isel({dim: 0}, drop=True)


def mean_map(images, dim: str = DIM):
    """Per-pixel mean over ``dim``."""
    return _like(_grid(images, dim), _stack(images, dim).mean(axis=0), "mean", images.attrs.get("units", ""),
                 "per-pixel mean", n=int(images.sizes[dim]))


def sd_map(images, dim: str = DIM, ddof: int = 1):
    """Per-pixel standard deviation over ``dim`` (``ddof`` 1: the sample SD)."""
    return _like(_grid(images, dim), _stack(images, dim).std(axis=0, ddof=ddof), "sd", images.attrs.get("units", ""),
                 "per-pixel standard deviation", n=int(images.sizes[dim]), ddof=ddof)


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    na, nb = len(a), len(b)
    va, vb = a.var(axis=0, ddof=1) / na, b.var(axis=0, ddof=1) / nb
    se2 = va + vb
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(se2 > 0, (a.mean(axis=0) - b.mean(axis=0)) / np.sqrt(se2), np.nan)
        dof = np.where(se2 > 0, se2 ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1)), np.nan)
    return t, dof


def welch_t_map(a, b, dim: str = DIM):
    """Welch's t per pixel (mean of ``a`` minus mean of ``b``), as a Dataset of maps: ``t``,
    ``dof`` (Welch-Satterthwaite) and ``p`` (two-sided, uncorrected)."""
    import xarray as xr
    from scipy.stats import t as student

    x, y = _stack(a, dim), _stack(b, dim)
    if len(x) < 2 or len(y) < 2:
        raise ValueError("Welch's t needs at least two images in each group")
    t, dof = _welch(x, y)
    grid = _grid(a, dim)
    with np.errstate(invalid="ignore"):
        p = 2 * student.sf(np.abs(t), dof)
    return xr.Dataset({
        "t": _like(grid, t, "t", "1", "Welch's t, first group minus second", n=(len(x), len(y))),
        "dof": _like(grid, dof, "dof", "1", "Welch-Satterthwaite degrees of freedom"),
        "p": _like(grid, p, "p", "1", "two-sided p, uncorrected"),
    })


def _centred(values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    if groups is None:
        return values - values.mean(axis=0)
    out = np.empty_like(values)
    for group in np.unique(groups):
        member = groups == group
        out[member] = values[member] - values[member].mean(axis=0)
    return out


def _pearson(x: np.ndarray, covariate: np.ndarray) -> np.ndarray:
    """r per column of centred ``x`` (n, pixels) with centred ``covariate`` (n,) or (n, k)."""
    sxx = np.einsum("ij,ij->j", x, x)
    if covariate.ndim == 1:
        sxy = np.einsum("ij,i->j", x, covariate)
        syy = float(covariate @ covariate)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(sxx > 0, sxy / np.sqrt(sxx * syy), np.nan)
    sxy = x.T @ covariate  # (pixels, k): one large product, worth the BLAS threads
    syy = np.einsum("ij,ij->j", covariate, covariate)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sxx[:, None] > 0, sxy / np.sqrt(sxx[:, None] * syy[None]), np.nan)


def pearson_columns(values: np.ndarray, covariate, groups=None) -> np.ndarray:
    """Pearson's r of each column of ``values`` (n, k) with ``covariate`` (n,), within ``groups``
    when given (each group centred on its own means): the same r as ``correlation_map``, for a
    table such as per-step region values."""
    labels = None if groups is None else np.asarray(groups)
    return _pearson(_centred(np.asarray(values, float), labels), _centred(np.asarray(covariate, float), labels))


def correlation_map(images, covariate, dim: str = DIM, groups=None):
    """Pearson's r per pixel between the images and ``covariate`` (one value per image), as a
    Dataset of maps ``r``, ``t`` = r sqrt(dof / (1 - r^2)) and ``p`` (two-sided, uncorrected).
    With ``groups`` (one label per image) r is the pooled within-group correlation and
    dof = n - groups - 1, else dof = n - 2."""
    import xarray as xr
    from scipy.stats import t as student

    stack = _stack(images, dim)
    n = len(stack)
    covariate = np.asarray(covariate, float)
    if covariate.shape != (n,):
        raise ValueError(f"one covariate value per image: {n} images, {covariate.shape} values")
    labels = None if groups is None else np.asarray(groups)
    n_groups = 1 if labels is None else len(np.unique(labels))
    dof = n - n_groups - 1
    if dof < 1:
        raise ValueError("too few images for a correlation")
    x = _centred(stack.reshape(n, -1), labels)
    y = _centred(covariate, labels)
    if not np.any(y):
        raise ValueError("the covariate does not vary (within groups)")
    r = _pearson(x, y).reshape(stack.shape[1:])
    with np.errstate(invalid="ignore", divide="ignore"):
        t = r * np.sqrt(dof / np.maximum(1 - r ** 2, 1e-300))
        p = 2 * student.sf(np.abs(t), dof)
    grid = _grid(images, dim)
    within = "pooled within-group " if labels is not None else ""
    return xr.Dataset({
        "r": _like(grid, r, "r", "1", f"{within}Pearson correlation with the covariate", n=n, groups=n_groups),
        "t": _like(grid, t, "t", "1", "t of the correlation", dof=dof),
        "p": _like(grid, p, "p", "1", "two-sided p, uncorrected", dof=dof),
    })


def group_correlation(images, covariate, groups, dim: str = DIM):
    """Per group (e.g. subject), r per pixel; across groups, the mean r (back from the mean of
    Fisher's z) and a one-sample t of z against 0 with groups - 1 degrees of freedom. A Dataset:
    ``r_group`` (group, y_mm, x_mm), ``r_mean``, ``t``, ``p`` (two-sided, uncorrected)."""
    import xarray as xr
    from scipy.stats import t as student

    labels = np.asarray(groups)
    covariate = np.asarray(covariate, float)
    names = np.unique(labels)
    maps = [np.asarray(correlation_map(images.isel({dim: np.flatnonzero(labels == g)}),
                                       covariate[labels == g], dim)["r"]) for g in names]
    r = np.stack(maps)
    # A pixel a group never loaded has no r there: the others still count, from two groups on.
    count = np.isfinite(r).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.arctanh(np.clip(r, -0.999999, 0.999999))
        mean_z = np.where(count >= 1, np.nansum(z, axis=0) / np.maximum(count, 1), np.nan)
        sd_z = np.sqrt(np.nansum((z - mean_z) ** 2, axis=0) / (count - 1))
        t = np.where(count >= 2, mean_z / (sd_z / np.sqrt(count)), np.nan)
        p = np.where(count >= 2, 2 * student.sf(np.abs(t), np.maximum(count - 1, 1)), np.nan)
    grid = _grid(images, dim)
    return xr.Dataset({
        "r_group": xr.DataArray(r, dims=("group", "y_mm", "x_mm"),
                                coords={"group": names, "y_mm": grid["y_mm"], "x_mm": grid["x_mm"]},
                                attrs={"units": "1", "long_name": "Pearson correlation within each group"}),
        "r_mean": _like(grid, np.tanh(mean_z), "r_mean", "1", "mean correlation across groups (through Fisher's z)"),
        "t": _like(grid, t, "t", "1", "one-sample t of Fisher's z across groups (dof: groups with an r there - 1)",
                   dof=len(names) - 1),
        "p": _like(grid, p, "p", "1", "two-sided p, uncorrected"),
        "groups": _like(grid, count, "groups", "1", "groups with an r at the pixel"),
    })


def permutation_threshold(images, covariate=None, *, groups=None, second=None, dim: str = DIM, mask=None,
                          n_permutations: int = 1000, alpha: float = 0.05, seed: int = 0) -> dict:
    """The family-wise (1 - ``alpha``) threshold of the map's largest absolute statistic under
    relabelling, over the pixels of ``mask`` (y_mm, x_mm; default all).

    With ``covariate``: the correlation map (within ``groups`` when given; the covariate is
    permuted within each group). With ``second`` (another image stack): Welch's t between
    ``images`` and ``second`` (group labels permuted). Returns the threshold, the observed
    largest |statistic| and its family-wise p (the share of permutations at least as large, the
    observed labelling counted among them)."""
    rng = np.random.default_rng(seed)
    stack = _stack(images, dim)
    keep = np.ones(stack.shape[1:], bool) if mask is None else np.asarray(mask, bool)
    if (covariate is None) == (second is None):
        raise ValueError("give either a covariate or a second group")
    if covariate is not None:
        n = len(stack)
        labels = np.zeros(n, int) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
        x = _centred(stack.reshape(n, -1)[:, keep.ravel()], labels)
        y = _centred(np.asarray(covariate, float), labels)
        members = [np.flatnonzero(labels == g) for g in np.unique(labels)]
        observed = float(np.nanmax(np.abs(_pearson(x, y))))
        maxima = []
        for start in range(0, n_permutations, 100):
            block = min(100, n_permutations - start)
            shuffled = np.empty((n, block))
            for k in range(block):
                column = y.copy()
                for index in members:
                    column[index] = y[rng.permutation(index)]
                shuffled[:, k] = column
            maxima.append(np.nanmax(np.abs(_pearson(x, shuffled)), axis=0))
        statistic = "r"
    else:
        other = _stack(second, dim)
        pooled = np.concatenate([stack, other]).reshape(len(stack) + len(other), -1)[:, keep.ravel()]
        na = len(stack)
        observed = float(np.nanmax(np.abs(_welch(pooled[:na], pooled[na:])[0])))
        maxima = []
        for _ in range(n_permutations):
            order = rng.permutation(len(pooled))
            maxima.append([np.nanmax(np.abs(_welch(pooled[order[:na]], pooled[order[na:]])[0]))])
        statistic = "t"
    maxima = np.concatenate([np.ravel(m) for m in maxima])
    return {"statistic": statistic, "threshold": float(np.quantile(maxima, 1 - alpha)), "observed_max": observed,
            "p_fwe": float((1 + np.sum(maxima >= observed)) / (1 + len(maxima))), "n_permutations": n_permutations,
            "alpha": alpha}


# -- the template's regions -----------------------------------------------------------------------
def outline(template) -> np.ndarray:
    """The template's foot: pixels above OUTLINE_FRACTION of its peak, closed by a disc of
    OUTLINE_CLOSING_MM (so that toes a little apart from the forefoot join it), holes filled (the
    crease between the forefoot and the toes is foot), the largest piece."""
    from scipy.ndimage import binary_closing, binary_fill_holes, label

    image = np.asarray(template, float)
    pitch = float(np.asarray(template["x_mm"])[1] - np.asarray(template["x_mm"])[0])
    radius = max(1, round(OUTLINE_CLOSING_MM / pitch))
    yy, xx = np.mgrid[-radius: radius + 1, -radius: radius + 1]
    disc = xx ** 2 + yy ** 2 <= radius ** 2
    mask = image > OUTLINE_FRACTION * image.max()
    padded = np.pad(mask, radius)
    closed = binary_closing(padded, disc)[radius:-radius, radius:-radius] | mask
    closed = binary_fill_holes(closed)
    labels, n = label(closed)
    if n > 1:
        closed = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    return closed


def _fractions(template):
    """Per pixel: f, its place along the foot (0 heel end, 1 toe end), and u, across its row from
    the medial edge (0) to the lateral edge (1); NaN outside the outline."""
    foot = outline(template)
    y = np.asarray(template["y_mm"], float)
    x = np.asarray(template["x_mm"], float)
    rows = np.flatnonzero(foot.any(axis=1))
    heel, toe = y[rows[0]], y[rows[-1]]
    f = np.where(foot, ((y - heel) / (toe - heel))[:, None], np.nan)
    u = np.full(foot.shape, np.nan)
    medial_low = template.attrs.get("side", "right") == "right"  # a right foot facing +y: medial at small x
    for row in rows:
        cols = np.flatnonzero(foot[row])
        lo, hi = x[cols[0]], x[cols[-1]]
        across = (x[cols] - lo) / max(hi - lo, 1e-9)
        u[row, cols] = across if medial_low else 1 - across
    return foot, f, u


def toe_crease(template) -> float:
    """Where the toes begin, as a fraction of the foot's length: the lowest load of the template's
    profile along the foot (summed across it) within CREASE_SEARCH, else CREASE_DEFAULT."""
    foot, f, _ = _fractions(template)
    image = np.where(foot, np.asarray(template, float), 0.0)
    rows = np.flatnonzero(foot.any(axis=1))
    along = np.nanmax(f[rows], axis=1)
    profile = image[rows].sum(axis=1)
    search = (along >= CREASE_SEARCH[0]) & (along <= CREASE_SEARCH[1])
    if not search.any():
        return CREASE_DEFAULT
    return float(along[search][np.argmin(profile[search])])


def template_regions(template, scheme: str = "four"):
    """Regions of the template as a DataArray of labels (y_mm, x_mm; -1 outside them) whose
    ``regions`` attribute names them in label order.

    ``four``: rearfoot (f < 0.30 of the foot's length from the heel end), midfoot (0.30-0.55),
    medial proximal forefoot (0.55-0.68 and the medial half of the row's width: the bases and
    shafts of the medial metatarsals) and distal forefoot (from 0.68 to the tips of the toes: the
    metatarsal heads and the toes).
    ``ten`` (the ten-region masks of regional analyses): medial and lateral heel (f < 0.30, halves
    of the row's width), midfoot (0.30-0.55), MTH1 to MTH5 (0.55 to the toe crease; MTH1 the medial
    30 % of the row's width, MTH2-5 the rest in four equal strips), hallux (beyond the crease, the
    medial 40 %) and the lesser toes. The crease is the lowest summed load across the foot
    between 0.75 and 0.92 of its length (``toe_crease``)."""
    foot, f, u = _fractions(template)
    labels = np.full(foot.shape, -1, np.int8)
    if scheme == "four":
        names = FOUR_REGIONS
        labels[foot & (f < REARFOOT_END)] = 0
        labels[foot & (f >= REARFOOT_END) & (f < MIDFOOT_END)] = 1
        labels[foot & (f >= MIDFOOT_END) & (f < PROXIMAL_FOREFOOT_END) & (u < 0.5)] = 2
        labels[foot & (f >= PROXIMAL_FOREFOOT_END)] = 3
    elif scheme == "ten":
        names = TEN_REGIONS
        crease = toe_crease(template)
        heel = foot & (f < REARFOOT_END)
        labels[heel & (u < 0.5)] = 0
        labels[heel & (u >= 0.5)] = 1
        labels[foot & (f >= REARFOOT_END) & (f < MIDFOOT_END)] = 2
        forefoot = foot & (f >= MIDFOOT_END) & (f < crease)
        for k in range(5):
            labels[forefoot & (u >= MTH_EDGES[k]) & (u < MTH_EDGES[k + 1])] = 3 + k
        toes = foot & (f >= crease)
        labels[toes & (u < HALLUX_WIDTH)] = 8
        labels[toes & (u >= HALLUX_WIDTH)] = 9
    else:
        raise ValueError(f"scheme must be 'four' or 'ten', got {scheme!r}")
    return _like(template, labels, "region", "", f"{scheme} regions of the template", regions=", ".join(names))


def region_names(regions) -> list[str]:
    return [name.strip() for name in str(regions.attrs["regions"]).split(",")]


def region_summary(images, regions, how: str = "mean", dim: str = DIM):
    """Per image and region: the mean (``how="mean"``) or the highest (``"max"``: a regional peak
    pressure) of the image over the region's pixels, as a DataArray (step, region)."""
    import xarray as xr

    stack = _stack(images, dim)
    labels = np.asarray(regions)
    names = region_names(regions)
    reducer = {"mean": np.mean, "max": np.max}[how]
    values = np.stack([reducer(stack[:, labels == k], axis=1) for k in range(len(names))], axis=1)
    return xr.DataArray(values, dims=(dim, "region"), coords={dim: images[dim], "region": names},
                        attrs={"units": images.attrs.get("units", ""), "long_name": f"region {how}"})


def region_mean_of_map(statistic, regions) -> dict[str, float]:
    """A map's mean over each region's pixels (NaN pixels left out)."""
    values, labels = np.asarray(statistic, float), np.asarray(regions)
    return {name: float(np.nanmean(values[labels == k])) if np.any(labels == k) else float("nan")
            for k, name in enumerate(region_names(regions))}


# -- pictures ---------------------------------------------------------------------------------------
def draw_map(statistic, template, axes=None, *, vmax: float | None = None, cmap: str = "RdBu_r",
             threshold: float | None = None, regions=None, title: str = "", label: str | None = None,
             colourbar: bool = True):
    """A map drawn over the template's outline, heel down and toes up, in mm: values outside the
    outline left blank, the outline in black, pixels beyond ``threshold`` (|value|) outlined in
    green, region borders in grey. Symmetric colour limits for signed maps. Returns the axes."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(figsize=(3.2, 6))
    x = np.asarray(template["x_mm"], float)
    y = np.asarray(template["y_mm"], float)
    foot = outline(template)
    values = np.where(foot, np.asarray(statistic, float), np.nan)
    signed = np.nanmin(values) < 0 if np.isfinite(values).any() else False
    top = vmax if vmax is not None else float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    pitch = x[1] - x[0]
    extent = (x[0] - pitch / 2, x[-1] + pitch / 2, y[0] - pitch / 2, y[-1] + pitch / 2)
    image = axes.imshow(values, origin="lower", extent=extent, cmap=cmap if signed else "magma_r",
                        vmin=-top if signed else 0.0, vmax=top, interpolation="nearest")
    axes.contour(x, y, foot.astype(float), [0.5], colors="k", linewidths=1.0)
    if regions is not None:
        labels = np.asarray(regions, float)
        for k in range(len(region_names(regions))):
            axes.contour(x, y, (labels == k).astype(float), [0.5], colors="0.45", linewidths=0.6, linestyles="--")
    if threshold is not None:
        beyond = np.nan_to_num(np.abs(values)) >= threshold
        if beyond.any():
            axes.contour(x, y, beyond.astype(float), [0.5], colors="#00a000", linewidths=1.2)
    axes.set_aspect("equal")
    axes.set_xlabel("x (mm)")
    axes.set_ylabel("y (mm), heel to toes")
    if title:
        axes.set_title(title, fontsize=9)
    if colourbar:
        bar = axes.figure.colorbar(image, ax=axes, shrink=0.7)
        bar.set_label(label if label is not None else statistic.attrs.get("long_name", str(statistic.name)), fontsize=8)
    return axes


def save_maps(maps: dict, template, path, *, regions=None, thresholds: dict | None = None, title: str = "",
              vmax: dict | None = None) -> None:
    """Several maps side by side over the template, written to ``path`` (PNG or any format
    matplotlib writes); ``maps`` is {panel title: map}."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(maps), figsize=(3.4 * len(maps), 6.4), squeeze=False)
    for ax, (name, statistic) in zip(axes[0], maps.items()):
        draw_map(statistic, template, ax, regions=regions, title=name,
                 threshold=(thresholds or {}).get(name), vmax=(vmax or {}).get(name))
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
