"""Plain NumPy implementations, as a user would write them, to compare the kernels against."""

from __future__ import annotations

import numpy as np


def frame_metrics_numpy(frames: np.ndarray, labels: np.ndarray, n_labels: int, threshold: float, chunk: int = 2048):
    """Per frame and label: sum, moments, count and peak of cells above ``threshold``."""
    rows, cols = np.indices(frames.shape[1:])
    out = np.zeros((frames.shape[0], n_labels + 1, 5))
    masks = [labels == k for k in range(n_labels)] + [labels >= 0]
    for start in range(0, frames.shape[0], chunk):
        block = frames[start: start + chunk].astype(np.float64)
        loaded = block > threshold
        weight = np.where(loaded, block, 0.0)
        for slot, mask in enumerate(masks):
            w = weight[:, mask]
            out[start: start + chunk, slot, 0] = w.sum(axis=1)
            out[start: start + chunk, slot, 1] = w @ cols[mask]
            out[start: start + chunk, slot, 2] = w @ rows[mask]
            out[start: start + chunk, slot, 3] = loaded[:, mask].sum(axis=1)
            out[start: start + chunk, slot, 4] = w.max(axis=1, initial=0.0)
    return out


def cell_summary_numpy(frames: np.ndarray, threshold: float, min_run: int):
    peak = frames.max(axis=0)
    floor = frames.min(axis=0)
    above = frames > threshold
    run = np.zeros(frames.shape[1:], np.int32)
    sustained = np.zeros(frames.shape[1:], bool)
    for frame_above in above:
        run = np.where(frame_above, run + 1, 0)
        sustained |= run >= min_run
    return peak, floor, sustained
