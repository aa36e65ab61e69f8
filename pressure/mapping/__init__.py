"""Pedobarographic mapping: every complete footprint on one template grid, then statistics per pixel.

The modules read in the order the data flows:

1. ``footprints``: per complete step, its peak (and mean) pressure image cropped to the foot,
   left feet mirrored to right ones.
2. ``registration``: each footprint aligned to a template (rotation, translation, isotropic scale,
   optionally a smooth non-rigid refinement) and resampled onto the template's grid (mm, heel at
   small ``y_mm``, toes at large ``y_mm``, medial at small ``x_mm``), with a quality measure and a
   rule that flags failures.
3. ``template``: the MUN104 mean footprint, or a template built from a study (iterated mean of its
   registered footprints, brought back to the study's mean size and orientation).
4. ``statistics``: per-pixel mean, SD, Welch t between two groups and Pearson correlation with a
   covariate as xarray DataArrays on the template grid; regions of the template; maps drawn over
   the template's outline.
5. ``study``: all of it for a study's session files, as ``pressure map`` runs it (``map_study``
   writes registered.h5, maps.h5 and maps.png; ``read_table`` reads group and covariate CSVs).

This is the pedobarographic statistical parametric mapping (pSPM) of Pataky et al. (2008) without
its random-field-theory thresholds; a permutation test of the maximum statistic gives a
family-wise threshold instead (``statistics.permutation_threshold``).
"""
