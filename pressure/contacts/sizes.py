"""How big a foot's print is, and how far apart its pieces may lie: what ``fragments`` joins into
one foot, and what the pictures crop as one (they import this without the analysis' kernels)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pressure.contacts.geometry import Extent

MAX_GAP_MM = 100.0  # a high arch can leave 75 mm between heel and forefoot (SpeedPP2DS)
MAX_FOOT_LENGTH_MM = 330.0
MAX_FOOT_WIDTH_MM = 140.0
MIN_FOOT_LENGTH_MM = 100.0
MIN_FOOT_WIDTH_MM = 40.0  # a row of toes, however long, is narrower than any foot
MIN_ELONGATION = 1.6  # length over width of a foot's print; a knee or two feet side by side are rounder
MIN_PRINT_CM2 = 15.0
HAND_OR_KNEE_CM2 = 5.0
MAX_OFF_AXIS_BIG_MM = 30.0  # a heel, forefoot or row of toes lies along its foot's axis; a knee beside it not


def foot_shaped(shape: Extent) -> bool:
    """Whether a print this long, wide and elongated is a whole foot's (the mat's edge not cutting it)."""
    return (MIN_FOOT_LENGTH_MM <= shape.length_mm <= MAX_FOOT_LENGTH_MM * 1.1
            and MIN_FOOT_WIDTH_MM <= shape.width_mm <= MAX_FOOT_WIDTH_MM and shape.elongation >= MIN_ELONGATION)
