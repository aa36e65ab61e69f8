"""Connected components of a boolean image (8-connectivity), as footprints are found."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _label(mask):
    rows, cols = mask.shape
    labels = np.full((rows, cols), -1, np.int32)
    stack = np.empty((rows * cols, 2), np.int32)
    n = 0
    for r0 in range(rows):
        for c0 in range(cols):
            if not mask[r0, c0] or labels[r0, c0] >= 0:
                continue
            labels[r0, c0] = n
            top = 0
            stack[0, 0] = r0
            stack[0, 1] = c0
            top = 1
            while top > 0:
                top -= 1
                r = stack[top, 0]
                c = stack[top, 1]
                for dr in (-1, 0, 1):
                    for dc in (-1, 0, 1):
                        rr = r + dr
                        cc = c + dc
                        if 0 <= rr < rows and 0 <= cc < cols and mask[rr, cc] and labels[rr, cc] < 0:
                            labels[rr, cc] = n
                            stack[top, 0] = rr
                            stack[top, 1] = cc
                            top += 1
            n += 1
    return labels, n


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels 0..n-1 in raster order of each component's first cell, -1 off the mask."""
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    return _label(np.ascontiguousarray(mask, dtype=np.bool_))
