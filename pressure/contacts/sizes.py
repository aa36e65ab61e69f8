"""How big a foot's print is, and how far apart its pieces may lie: what ``fragments`` joins into
one foot, and what the pictures crop as one (they import this without the analysis' kernels)."""

MAX_GAP_MM = 100.0  # a high arch can leave 75 mm between heel and forefoot (SpeedPP2DS)
MAX_FOOT_LENGTH_MM = 330.0
MAX_FOOT_WIDTH_MM = 140.0
MIN_FOOT_LENGTH_MM = 100.0
MIN_FOOT_WIDTH_MM = 40.0  # a row of toes, however long, is narrower than any foot
