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


def label_components_numpy(mask: np.ndarray) -> np.ndarray:
    """8-connected components by label propagation: every cell takes the largest label among
    its neighbours until nothing changes (labels differ from the kernel's numbering)."""
    labels = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), 0)
    while True:
        padded = np.pad(labels, 1)
        rows, cols = mask.shape
        neighbours = np.max([padded[1 + dr: 1 + dr + rows, 1 + dc: 1 + dc + cols]
                             for dr in (-1, 0, 1) for dc in (-1, 0, 1)], axis=0)
        updated = np.where(mask, neighbours, 0)
        if np.array_equal(updated, labels):
            return labels
        labels = updated
