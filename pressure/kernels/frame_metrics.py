"""Per-frame force, contact area, peak pressure and centre of pressure, per label and whole mat."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from pressure.kernels import FASTMATH, counted_above, threads_for

LANES = 8  # 32-bit sums in one 256-bit vector: box widths are a multiple of this where the mat allows
ROW_COST = 2  # fixed cost of a box row in vectors of LANES cells (callgrind: ~28 instructions a row, ~15 a vector)
FRAMES_PER_TASK = 256
PREFETCH_AHEAD = 2  # frames: the box rows of frame t + 2 are requested while frame t is summed
LINE_BYTES = 64  # a cache line
# A second thread only while another core is idle (see _threads); benchmarks turn this off to measure
# fixed thread counts.
ADAPT_TO_LOAD = True

# Columns of BoxPlan.boxes.
FIRST_ROW, END_ROW, FIRST_COL, WIDTH, THRESHOLD_ROW, FIRST_MEMBER, END_MEMBER = range(7)


@dataclass(frozen=True)
class BoxPlan:
    """The labelled cells gathered into boxes: rectangles of the mat in which each column belongs to one label.

    The kernel sums each box down its columns, which vectorises across the row; a label's sums are those
    of its columns. ``thresholds`` holds, for every box row, the load threshold on the box's labelled
    cells and a value no cell exceeds elsewhere, so one comparison both masks and thresholds a cell.
    """

    boxes: np.ndarray  # (n_boxes, 7) int64, columns FIRST_ROW ... END_MEMBER
    members: np.ndarray  # (n_members, 3) int64: label, first and end column within its box
    thresholds: np.ndarray  # (total box rows, widest box), the dtype of threshold and never


def _label_extents(labels: np.ndarray) -> dict[int, tuple[int, int, int, int]]:
    """First and end row and column of each label present."""
    rows, cols = np.nonzero(labels >= 0)
    which = labels[rows, cols]
    extents = {}
    for label in np.unique(which):
        r, c = rows[which == label], cols[which == label]
        extents[int(label)] = (int(r.min()), int(r.max()) + 1, int(c.min()), int(c.max()) + 1)
    return extents


def _box_cost(extents: list[tuple[int, int, int, int]]) -> int:
    height = max(e[1] for e in extents) - min(e[0] for e in extents)
    width = max(e[3] for e in extents) - min(e[2] for e in extents)
    return height * (ROW_COST + -(-width // LANES))


def plan_boxes(labels: np.ndarray, threshold, never) -> BoxPlan:
    """Groups labels whose columns do not overlap into shared boxes when that is cheaper than separate ones.

    ``threshold`` applies on labelled cells, ``never`` (no cell exceeds it) everywhere else. The
    same contacts are measured block after block of a long session: their last plans are kept
    (planning took 4 ms a block, 0.75 s of an hour's 64 x 64 frames); a plan is shared, and
    nothing changes its arrays.
    """
    labels = np.ascontiguousarray(labels)
    return _plan_boxes(labels.tobytes(), labels.shape, labels.dtype.str, threshold, never)


@lru_cache(maxsize=32)
def _plan_boxes(label_bytes: bytes, shape: tuple[int, int], dtype: str, threshold, never) -> BoxPlan:
    labels = np.frombuffer(label_bytes, dtype).reshape(shape)
    mat_cols = labels.shape[1]
    extents = _label_extents(labels)
    groups: list[list[int]] = []
    for label in sorted(extents, key=lambda k: extents[k][2]):
        first, end = extents[label][2:]
        best, best_saving = None, 0
        for group in groups:
            if any(first < extents[m][3] and extents[m][2] < end for m in group):
                continue
            saving = (_box_cost([extents[m] for m in group]) + _box_cost([extents[label]])
                      - _box_cost([extents[m] for m in group + [label]]))
            if saving > best_saving:
                best, best_saving = group, saving
        if best is None:
            groups.append([label])
        else:
            best.append(label)

    boxes, members, blocks = [], [], []
    threshold_row = 0
    for group in groups:
        spans = [extents[m] for m in group]
        first_row, end_row = min(s[0] for s in spans), max(s[1] for s in spans)
        first_col, end_col = min(s[2] for s in spans), max(s[3] for s in spans)
        width = min(mat_cols, -(-(end_col - first_col) // LANES) * LANES)
        first_col = min(first_col, mat_cols - width)
        inside = np.isin(labels[first_row:end_row, first_col:first_col + width], group)
        blocks.append(np.where(inside, threshold, never))
        boxes.append((first_row, end_row, first_col, width, threshold_row, len(members), len(members) + len(group)))
        members.extend((m, extents[m][2] - first_col, extents[m][3] - first_col) for m in group)
        threshold_row += end_row - first_row
    widest = max((b.shape[1] for b in blocks), default=0)
    thresholds = np.full((threshold_row, widest), never, dtype=np.result_type(never))
    for (first_row, end_row, _, width, row, _, _), block in zip(boxes, blocks):
        thresholds[row:row + end_row - first_row, :width] = block
    return BoxPlan(np.array(boxes, np.int64).reshape(-1, 7), np.array(members, np.int64).reshape(-1, 3), thresholds)


if numba.config.DISABLE_JIT:
    def _prefetch(array, frame, row, col):
        """A hint only: nothing to do when the kernels run as Python."""
else:
    @intrinsic
    def _prefetch(typingctx, array, frame, row, col):
        """Asks for the cache line holding ``array[frame, row, col]`` in the second-level cache, without
        waiting for it (``llvm.prefetch``: a hint that never faults, so an index past the end is harmless)."""
        def codegen(context, builder, signature, args):
            array_type = signature.args[0]
            view = context.make_array(array_type)(context, builder, args[0])
            indices = [context.cast(builder, value, kind, types.intp)
                       for value, kind in zip(args[1:], signature.args[1:])]
            pointer = cgutils.get_item_pointer2(
                context, builder, data=view.data, shape=cgutils.unpack_tuple(builder, view.shape),
                strides=cgutils.unpack_tuple(builder, view.strides), layout=array_type.layout, inds=indices,
                wraparound=False)
            byte_pointer, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
            function = builder.module.declare_intrinsic(
                "llvm.prefetch", [byte_pointer], ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]))
            # read, locality 2 (keep in the outer caches), data cache
            builder.call(function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(2), i32(1)])
            return context.get_dummy_value()

        return types.none(array, frame, row, col), codegen


# nogil: a streamed session's next block decodes on the other threads while this runs (one
# thread calls it at a time: Numba's thread pool is not for calls from two threads at once)
@njit(cache=True, parallel=True, nogil=True, fastmath=FASTMATH)
def _frame_sums(frames, boxes, members, thresholds, n_labels, frame_sum, column_sum, column_cumulative):
    """Sums of loaded cells per frame and label; slot ``n_labels`` is all labels together.

    Each frame's box rows are first copied into a small contiguous buffer (``stage``), then each box
    is summed down its columns into per-column running totals, one row of a box at a time: a row is a
    handful of vector instructions. The copy matters when the box rows lie far apart in memory (a
    256x256 frame is 128 KiB, of which each of the feet's 49 rows uses 96 bytes): summing straight from
    the frame ran 2.5x slower there than on the same cells cropped into 64x64 frames, as the summing
    loop, whose running totals live in memory, gets only a few rows ahead of its cache misses. A loop of
    plain loads and stores runs many rows ahead; with it the kernel went from 0.28-0.30 to 0.48-0.68
    million frames/s at 256x256 on one thread. Before each frame the rows of the frame
    ``PREFETCH_AHEAD`` ahead are requested (``_prefetch``): 15 % faster at 64x64, 2x at 44x176, no
    change at 256x256 (one run each, one thread).

    ``column_sum`` and ``column_cumulative`` set the dtypes of the running totals (32-bit for 8- and
    16-bit frames where no box is tall enough to overflow them), ``thresholds`` is in ``column_sum``'s
    dtype so comparisons need no widening, and ``frame_sum`` sets the dtype of a label's sums. The row
    moment comes from the sum of the running totals, sum over rows of (end_row - row) * value, so no
    cell is multiplied.

    Two details keep the row loop vectorised: the loop body indexes arrays and never slices them (a
    view stops Numba marking the arrays noalias, and LLVM then checks them for overlap before every
    row), and row and column indices are unsigned (Numba's negative-index wraparound on a signed
    index turns the row's loads into single-cell loads).
    """
    n_frames = frames.shape[0]
    slots = n_labels + 1
    total, moment_col, moment_row, count, peak = _zero_sums(n_frames, slots, frame_sum, frames)
    n_tasks = (n_frames + FRAMES_PER_TASK - 1) // FRAMES_PER_TASK
    widest = thresholds.shape[1]
    line_cells = max(1, LINE_BYTES // frames.itemsize)
    # Per-task running totals; every frame leaves them zero again, as its labels read them.
    col_sum = np.zeros((n_tasks, widest), column_sum.dtype)
    col_cumulative = np.zeros((n_tasks, widest), column_cumulative.dtype)
    col_count = np.zeros((n_tasks, widest), np.int32)
    col_peak = np.zeros((n_tasks, widest), column_sum.dtype)
    # Per-task copy of one frame's box rows, laid out as the rows of ``thresholds``.
    stage = np.empty((n_tasks, thresholds.shape[0], widest), frames.dtype)
    cell_zero = np.zeros(1, frames.dtype)[0]
    lane_zero = column_sum[0] * 0
    sum_zero = frame_sum[0] * 0
    for task in prange(n_tasks):
        for t in range(task * FRAMES_PER_TASK, min(n_frames, (task + 1) * FRAMES_PER_TASK)):
            if t + PREFETCH_AHEAD < n_frames:
                for b in range(boxes.shape[0]):
                    first_col, last_col = boxes[b, FIRST_COL], boxes[b, FIRST_COL] + boxes[b, WIDTH] - 1
                    for r in range(boxes[b, FIRST_ROW], boxes[b, END_ROW]):
                        for c in range(first_col, last_col, line_cells):
                            _prefetch(frames, t + PREFETCH_AHEAD, r, c)
                        _prefetch(frames, t + PREFETCH_AHEAD, r, last_col)
            for b in range(boxes.shape[0]):
                first_row, end_row = np.uint64(boxes[b, FIRST_ROW]), np.uint64(boxes[b, END_ROW])
                first_col, width = np.uint64(boxes[b, FIRST_COL]), np.uint64(boxes[b, WIDTH])
                threshold_row = np.uint64(boxes[b, THRESHOLD_ROW])
                for r in range(first_row, end_row):
                    row = threshold_row + (r - first_row)
                    for c in range(width):
                        stage[task, row, c] = frames[t, r, first_col + c]
            for b in range(boxes.shape[0]):
                first_row, end_row = np.uint64(boxes[b, FIRST_ROW]), np.uint64(boxes[b, END_ROW])
                width = np.uint64(boxes[b, WIDTH])
                threshold_row = np.uint64(boxes[b, THRESHOLD_ROW])
                for r in range(first_row, end_row):
                    row = threshold_row + (r - first_row)
                    for c in range(width):
                        value = stage[task, row, c]
                        loaded = value > thresholds[row, c]
                        weight = value if loaded else cell_zero
                        running = col_sum[task, c] + weight
                        col_sum[task, c] = running
                        col_cumulative[task, c] += running
                        col_count[task, c] += loaded
                        col_peak[task, c] = max(col_peak[task, c], weight)
                for m in range(boxes[b, FIRST_MEMBER], boxes[b, END_MEMBER]):
                    label = members[m, 0]
                    label_sum, label_moment, label_cumulative, label_count = sum_zero, sum_zero, sum_zero, 0
                    label_peak = lane_zero
                    for c in range(np.uint64(members[m, 1]), np.uint64(members[m, 2])):
                        label_sum += col_sum[task, c]
                        label_moment += col_sum[task, c] * (boxes[b, FIRST_COL] + np.int64(c))
                        label_cumulative += col_cumulative[task, c]
                        label_count += col_count[task, c]
                        label_peak = max(label_peak, col_peak[task, c])
                        col_sum[task, c] = 0
                        col_cumulative[task, c] = 0
                        col_count[task, c] = 0
                        col_peak[task, c] = 0
                    total[t, label] = label_sum
                    moment_col[t, label] = label_moment
                    moment_row[t, label] = label_sum * boxes[b, END_ROW] - label_cumulative
                    count[t, label] = label_count
                    peak[t, label] = label_peak
            _all_slots(total, moment_col, moment_row, count, peak, t, n_labels)
    return total, moment_col, moment_row, count, peak


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _all_slots(total, moment_col, moment_row, count, peak, t, n):
    """Slot ``n`` of frame ``t``: slots 0..n-1 together (sums added, the highest peak)."""
    for k in range(n):
        total[t, n] += total[t, k]
        moment_col[t, n] += moment_col[t, k]
        moment_row[t, n] += moment_row[t, k]
        count[t, n] += count[t, k]
        peak[t, n] = max(peak[t, n], peak[t, k])


@njit(cache=True, nogil=True)
def _zero_sums(n_frames, slots, sum_like, peak_like):
    """The five (frames, slots) arrays of a pass's sums, zero: total and both moments in
    ``sum_like``'s dtype, the count in int64, the peak in ``peak_like``'s dtype."""
    shape = (n_frames, slots)
    return (np.zeros(shape, sum_like.dtype), np.zeros(shape, sum_like.dtype), np.zeros(shape, sum_like.dtype),
            np.zeros(shape, np.int64), np.zeros(shape, peak_like.dtype))


@njit(cache=True, nogil=True)
def _grouped_sums(total, moment_col, moment_row, count, peak, group, n_groups):
    """The sums of labels added up into groups (``group``: each label's group, -1 for none); slot
    ``n_groups`` is all groups together. Integer sums stay exact, so a group's sums are the ones a
    pass over its cells alone gives."""
    n_frames = total.shape[0]
    slots = n_groups + 1
    out_total, out_moment_col, out_moment_row, out_count, out_peak = _zero_sums(n_frames, slots, total, peak)
    for t in range(n_frames):
        for k in range(group.shape[0]):
            g = group[k]
            if g < 0:
                continue
            out_total[t, g] += total[t, k]
            out_moment_col[t, g] += moment_col[t, k]
            out_moment_row[t, g] += moment_row[t, k]
            out_count[t, g] += count[t, k]
            out_peak[t, g] = max(out_peak[t, g], peak[t, k])
        _all_slots(out_total, out_moment_col, out_moment_row, out_count, out_peak, t, n_groups)
    return out_total, out_moment_col, out_moment_row, out_count, out_peak


@njit(cache=True, fastmath=FASTMATH)
def _in_units(total, moment_col, moment_row, count, peak, scale_kpa, cell_area_mm2, pitch_x_mm, pitch_y_mm):
    """Force (N), contact area (cm2), peak (kPa) and COP (mm, NaN without load) from the sums."""
    force = np.empty(total.shape)
    area = np.empty(total.shape)
    peak_kpa = np.empty(total.shape)
    cop_x = np.full(total.shape, np.nan)
    cop_y = np.full(total.shape, np.nan)
    for i in range(total.shape[0]):
        for k in range(total.shape[1]):
            force[i, k] = total[i, k] * scale_kpa * 1000.0 * cell_area_mm2 * 1e-6
            area[i, k] = count[i, k] * cell_area_mm2 * 1e-2
            peak_kpa[i, k] = peak[i, k] * scale_kpa
            if total[i, k] > 0:
                cop_x[i, k] = moment_col[i, k] / total[i, k] * pitch_x_mm
                cop_y[i, k] = moment_row[i, k] / total[i, k] * pitch_y_mm
    return force, area, peak_kpa, cop_x, cop_y


def _runnable_elsewhere() -> int | None:
    """Threads ready to run on this machine at this instant besides the caller (the running count in
    Linux's /proc/loadavg); None where that cannot be read."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def _threads(work: int):
    """``threads_for``, and then no more threads than there are idle cores (at least one).

    On this 2-core machine a call on two threads waits for its slower half: with the machine quiet the
    kernel ran 1.4-1.7x as fast on two threads as on one, with a busy loop on the other core 0.6-1.2x,
    and with other jobs on the machine 0.3-0.6x (README, Performance). A sample of the runnable
    threads costs microseconds, and only calls large enough for threads_for to allow several threads
    (tens of ms) take one.
    """
    with threads_for(work):
        wanted = numba.get_num_threads()
        busy = _runnable_elsewhere() if ADAPT_TO_LOAD and wanted > 1 else None
        if busy is None:
            yield
            return
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        numba.set_num_threads(max(1, min(wanted, cores - busy)))
        try:
            yield
        finally:
            numba.set_num_threads(wanted)


@dataclass(frozen=True)
class FrameMetrics:
    """Per frame (rows) and slot (columns: one per label, then the whole mat)."""

    force_n: np.ndarray
    contact_area_cm2: np.ndarray
    peak_kpa: np.ndarray
    cop_x_mm: np.ndarray
    cop_y_mm: np.ndarray


@dataclass(frozen=True)
class FrameSums:
    """Per frame (rows) and slot (columns: one per label, then all labels together): the sums of
    loaded cells the metrics come from, in the frames' units, and the units they are in."""

    total: np.ndarray
    moment_col: np.ndarray  # total times column index
    moment_row: np.ndarray  # total times row index
    count: np.ndarray  # loaded cells
    peak: np.ndarray  # highest loaded cell (0 without)
    scale_kpa: float
    cell_area_mm2: float
    pitch_x_mm: float
    pitch_y_mm: float

    def grouped(self, group: np.ndarray, n_groups: int) -> "FrameSums":
        """The labels' sums added up into ``n_groups`` groups (``group``: each label's group in
        0..n_groups-1, or -1 for none), as if the frames had been summed by groups of cells."""
        group = np.ascontiguousarray(group, np.int64)
        if len(group) != self.total.shape[1] - 1:
            raise ValueError(f"group has {len(group)} labels, the sums {self.total.shape[1] - 1}")
        if group.size and group.max() >= n_groups:
            raise ValueError(f"groups go up to {group.max()}, more than n_groups={n_groups} allows")
        sums = _grouped_sums(self.total, self.moment_col, self.moment_row, self.count, self.peak, group,
                             int(n_groups))
        return FrameSums(*sums, self.scale_kpa, self.cell_area_mm2, self.pitch_x_mm, self.pitch_y_mm)

    def metrics(self) -> FrameMetrics:
        return FrameMetrics(*_in_units(self.total, self.moment_col, self.moment_row, self.count, self.peak,
                                       float(self.scale_kpa), float(self.cell_area_mm2), float(self.pitch_x_mm),
                                       float(self.pitch_y_mm)))


def frame_metrics(frames: np.ndarray, labels: np.ndarray, n_labels: int, **geometry) -> FrameMetrics:
    """Metrics of ``frames`` (time, row, col) in device values, kPa = value * ``scale_kpa``.

    ``labels`` (row, col) gives each cell's slot in 0..n_labels-1, or -1 for a cell never
    counted; the last slot sums every labelled cell. A cell counts when its pressure exceeds
    ``threshold_kpa``; NaN cells never count. COP is NaN where a slot carries no load.
    ``geometry``: ``threshold_kpa``, ``scale_kpa`` (1 by default), ``pitch_x_mm``, ``pitch_y_mm``
    and ``cell_area_mm2`` (their product by default), as ``frame_sums`` takes them.
    """
    return frame_sums(frames, labels, n_labels, **geometry).metrics()


def frame_sums(
    frames: np.ndarray,
    labels: np.ndarray,
    n_labels: int,
    *,
    threshold_kpa: float,
    scale_kpa: float = 1.0,
    pitch_x_mm: float,
    pitch_y_mm: float,
    cell_area_mm2: float | None = None,
) -> FrameSums:
    """The sums ``frame_metrics`` computes its metrics from: labels summed once can be grouped
    in several ways (``FrameSums.grouped``) without reading the frames again."""
    if frames.ndim != 3:
        raise ValueError(f"frames must be (time, row, col), got {frames.shape}")
    if labels.shape != frames.shape[1:]:
        raise ValueError(f"labels {labels.shape} do not match frames {frames.shape[1:]}")
    if not scale_kpa > 0:
        raise ValueError("scale_kpa must be positive")
    if not threshold_kpa >= 0:
        raise ValueError("threshold_kpa must be >= 0")
    if labels.size and labels.max() >= n_labels:
        raise ValueError(f"labels go up to {labels.max()}, more than n_labels={n_labels} allows")
    threshold = threshold_kpa / scale_kpa
    if np.issubdtype(frames.dtype, np.integer):
        if frames.dtype.kind == "u" and frames.dtype.itemsize >= 4:
            frames = frames.astype(np.int64)  # Numba sums uint64 with int64 in float64
        limits = np.iinfo(frames.dtype)
        threshold = counted_above(frames.dtype, threshold)
        plan = plan_boxes(labels, threshold, frames.dtype.type(limits.max))
        frame_sum = np.zeros(1, np.int64)
        tallest = int((plan.boxes[:, END_ROW] - plan.boxes[:, FIRST_ROW]).max(initial=0))
        narrow = frames.dtype.itemsize <= 2
        fits_int32 = narrow and tallest * (tallest + 1) // 2 * limits.max <= np.iinfo(np.int32).max
        column_sum = np.zeros(1, np.int32 if narrow else np.int64)
        column_cumulative = np.zeros(1, np.int32 if fits_int32 else np.int64)
    else:
        threshold = counted_above(frames.dtype, threshold)
        plan = plan_boxes(labels, threshold, frames.dtype.type(np.inf))
        frame_sum = column_sum = column_cumulative = np.zeros(1, np.float64)
    with _threads(frames.size):
        total, moment_col, moment_row, count, peak = _frame_sums(
            np.ascontiguousarray(frames), plan.boxes, plan.members, plan.thresholds.astype(column_sum.dtype),
            int(n_labels), frame_sum, column_sum, column_cumulative)
    area = cell_area_mm2 if cell_area_mm2 is not None else pitch_x_mm * pitch_y_mm
    return FrameSums(total, moment_col, moment_row, count, peak, float(scale_kpa), float(area), float(pitch_x_mm),
                     float(pitch_y_mm))
