"""Plain NumPy implementations, as a user would write them, to compare the kernels against."""

from __future__ import annotations

import numpy as np

# Multiply-adds in each block's matrix product in frame_metrics_numpy (frames x cells x 3 labels): blocks
# of 68 frames for two feet (964 cells). Blocks of 34 to 1,088 frames were measured at 64x64 and 256x256:
# from 272 frames up OpenBLAS split the product over threads and the peer ran 3-7x slower on this loaded
# 2-core machine; at 34 frames the per-block Python overhead showed (40 % slower at 64x64).
CHUNK_PRODUCT = 6 << 16


def frame_metrics_numpy(frames: np.ndarray, labels: np.ndarray, n_labels: int, *, threshold_kpa: float,
                        scale_kpa: float = 1.0, pitch_x_mm: float, pitch_y_mm: float,
                        cell_area_mm2: float | None = None):
    """``pressure.kernels.frame_metrics`` in vectorised NumPy, as a good engineer would write it.

    The labelled cells are listed once, grouped by label; each block of frames is gathered into a
    (frames, cells) array (the only pass over the frames), cells at or below the threshold are
    zeroed, and force and both COP moments of every label come from one matrix product with a
    (cells, 3 x labels) weight matrix (1, column, row where the cell belongs to the label). Contact
    area counts loaded cells and peak takes the maximum over each label's cells (``reduceat`` over
    the grouped cells). Same arguments, same ``FrameMetrics``: integer sums are exact in float64, so
    the outputs equal the kernel's up to the rounding of the final unit conversion.
    """
    from pressure.kernels.frame_metrics import FrameMetrics

    n_frames = frames.shape[0]
    slots = n_labels + 1
    flat_labels = labels.ravel()
    cells = np.flatnonzero(flat_labels >= 0)
    cells = cells[np.argsort(flat_labels[cells], kind="stable")]  # each label's cells together
    owner = flat_labels[cells]
    rows, cols = np.divmod(cells, labels.shape[1])
    present, starts = np.unique(owner, return_index=True)
    weights = np.zeros((cells.size, 3, n_labels))
    weights[np.arange(cells.size), 0, owner] = 1.0
    weights[np.arange(cells.size), 1, owner] = cols
    weights[np.arange(cells.size), 2, owner] = rows
    weights = weights.reshape(cells.size, 3 * n_labels)
    # The kernel's threshold: an integer cell counts above floor(t), a float cell above t in its own dtype.
    threshold = threshold_kpa / scale_kpa
    threshold = np.floor(threshold) if np.issubdtype(frames.dtype, np.integer) else frames.dtype.type(threshold)

    sums = np.zeros((n_frames, 3, slots))
    count = np.zeros((n_frames, slots), np.int64)
    peak = np.zeros((n_frames, slots))
    flat = frames.reshape(n_frames, -1)
    chunk = max(1, CHUNK_PRODUCT // max(1, weights.size))
    for start in range(0, n_frames, chunk):
        stop = min(n_frames, start + chunk)
        block = np.take(flat[start:stop], cells, axis=1)
        loaded = block > threshold  # NaN compares False
        weight = np.where(loaded, block, 0.0)  # float64
        sums[start:stop, :, :n_labels] = (weight @ weights).reshape(-1, 3, n_labels)
        if present.size:
            count[start:stop, present] = np.add.reduceat(loaded, starts, axis=1, dtype=np.int64)
            peak[start:stop, present] = np.maximum.reduceat(weight, starts, axis=1)
    sums[:, :, n_labels] = sums[:, :, :n_labels].sum(axis=2)
    count[:, n_labels] = count[:, :n_labels].sum(axis=1)
    peak[:, n_labels] = peak[:, :n_labels].max(axis=1, initial=0.0)

    total, moment_col, moment_row = sums[:, 0], sums[:, 1], sums[:, 2]
    area = cell_area_mm2 if cell_area_mm2 is not None else pitch_x_mm * pitch_y_mm
    with np.errstate(invalid="ignore", divide="ignore"):
        cop_x = np.where(total > 0, moment_col / total * pitch_x_mm, np.nan)
        cop_y = np.where(total > 0, moment_row / total * pitch_y_mm, np.nan)
    return FrameMetrics(total * scale_kpa * 1000.0 * area * 1e-6, count * area * 1e-2, peak * scale_kpa, cop_x, cop_y)


def frame_metrics_masked_numpy(frames: np.ndarray, labels: np.ndarray, n_labels: int, threshold: float,
                               chunk: int = 2048):
    """The suite's first NumPy peer, kept to show how far it was from good NumPy: every cell of
    every frame converted to float64, then copied through a boolean mask for each of the sums.
    Returns (frames, slots, 5): sum, moments along cols and rows, count, peak."""
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


def cell_summary_numpy(frames: np.ndarray):
    return frames.max(axis=0), frames.min(axis=0)


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
