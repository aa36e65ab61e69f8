"""Anatomical regions of a foot: the nine-region automask of a print, user masks drawn in the
print's own frame, and per-insole templates for sensor-array insoles.

- ``automask``: ``automask(print_mask, peak_kpa, pitch_x_mm, pitch_y_mm, foot, heel_xy, axis,
  toes_mask)`` gives a label image of ``REGIONS`` (-1 off the print); ``automask_details`` also
  gives the foot frame and the lines drawn.
- ``user_masks``: ``load_masks(path)`` reads polygons in the foot frame (TOML or GeoJSON-like
  JSON, mm or percent of foot length); ``UserMasks.apply(frame, shape, pitch_x_mm, pitch_y_mm)``
  labels a print.
- ``insoles``: ``shipped_template("pedar")`` / ``load_template(path)`` map sensor numbers to regions.
"""

from pressure.regions.automask import (OUTSIDE, REGIONS, Automask, FootFrame, automask, automask_details,
                                       automask_of_geometry, cell_regions, foot_frame)
from pressure.regions.insoles import (InsoleTemplate, TemplateError, insole_labels, load_template,
                                      pedar_sensor_of_cells, shipped_template)
from pressure.regions.user_masks import MaskFileError, UserMasks, load_masks

__all__ = ["OUTSIDE", "REGIONS", "Automask", "FootFrame", "automask", "automask_details", "automask_of_geometry",
           "cell_regions", "foot_frame", "InsoleTemplate", "TemplateError", "insole_labels", "load_template",
           "pedar_sensor_of_cells", "shipped_template", "MaskFileError", "UserMasks", "load_masks"]
