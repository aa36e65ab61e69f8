"""The names ``pressure.picture`` has always offered, kept for code that imports them from here.

The pictures are made in :mod:`pressure.pictures`, a module a step (its docstring gives the order);
import from there in new code."""

from pressure.pictures.feet import FOOT_REACH_MM, FootView, draw_feet, draw_foot_panel, foot_box, foot_view
from pressure.pictures.figure import picture_figure, save_picture, wants_steps
from pressure.pictures.heel_down import StepPrint, heel_down, orient_steps, step_prints
from pressure.pictures.insoles import draw_sensor_feet, draw_sensors, sensor_outlines, sensor_values, tile_outlines
from pressure.pictures.marks import PATH_COLOUR, draw_path, scale_bar, side_label
from pressure.pictures.orientation import orient_grid, orient_points, view_direction
from pressure.pictures.recording import kpa_reader, load_recording, processing_settings
from pressure.pictures.region_table import (REGION_MEASURES, REGION_NAMES, draw_region_table, has_regions,
                                            no_regions_reason, region_columns, region_rows, region_table_inches)
from pressure.pictures.scales import (CLINICAL_COLOURS, CLINICAL_EDGES_KPA, CLINICAL_NAME, CLINICAL_OVER, COLOURS,
                                      SIDE, STYLES, add_colourbar, clinical_colormap, pressure_scale)
from pressure.pictures.session import COP_MIN_FORCE_SHARE
from pressure.pictures.step_grid import draw_step_grid, grid_shape
from pressure.pictures.steps import MAX_STEP_PANELS, StepPeak, contact_peak, step_peaks
from pressure.pictures.sway import draw_sway, finish_sway_titles
from pressure.pictures.text import (DATE_KEYS, SUBJECT_KEYS, activity_text, caption, key_numbers, session_date,
                                    session_subject, source_name, title_lines)
from pressure.schema import FEET

__all__ = [
    "CLINICAL_COLOURS", "CLINICAL_EDGES_KPA", "CLINICAL_NAME", "CLINICAL_OVER", "COLOURS", "COP_MIN_FORCE_SHARE",
    "DATE_KEYS", "FEET", "FOOT_REACH_MM", "MAX_STEP_PANELS", "PATH_COLOUR", "REGION_MEASURES", "REGION_NAMES", "SIDE",
    "STYLES", "SUBJECT_KEYS", "FootView", "StepPeak", "StepPrint", "activity_text", "add_colourbar", "caption",
    "clinical_colormap", "contact_peak", "draw_feet", "draw_foot_panel", "draw_path", "draw_region_table",
    "draw_sensor_feet", "draw_sensors", "draw_step_grid", "draw_sway", "finish_sway_titles", "foot_box", "foot_view",
    "grid_shape", "has_regions", "heel_down", "key_numbers", "kpa_reader", "load_recording", "no_regions_reason",
    "orient_grid", "orient_points", "orient_steps", "picture_figure", "pressure_scale", "processing_settings",
    "region_columns", "region_rows", "region_table_inches", "save_picture", "scale_bar", "sensor_outlines",
    "sensor_values", "session_date", "session_subject", "side_label", "source_name", "step_peaks", "step_prints",
    "tile_outlines", "title_lines", "view_direction", "wants_steps",
]
