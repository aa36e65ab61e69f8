"""One session split along time across a Dask cluster: ``pressure process FILE --scheduler``.

Each pass of the analysis (``pressure.reading``) is cut into segments of consecutive frames, a
task each; every worker reads its segment from the session file itself, so the file must be
where the workers can read it (the same machine, or a folder they share), and only what the
passes keep travels back: each segment's cell summary and loading runs (stitched at the seams,
``pressure.contacts.segments``), the series of the short contacts, the per-contact reductions
and the segment's per-frame results, collected one segment at a time. The results are those of
the local run: the contacts, steps and every per-frame value exactly, the sums over a contact's
frames up to the order they are added in (a relative 1e-12).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from drivers.session_frames import frame_blocks
from pressure.contacts.segments import SegmentTracker, stitch_runs
from pressure.contacts.series import CellSlots, contact_metrics, joined
from pressure.kernels.frame_metrics import FrameMetrics
from pressure.measures.session import SessionMeasures
from pressure.reading import FrameChecks, Prepare, Scan, scan_frames

SEGMENT_BYTES = 256 << 20  # frames per task, about this much once decoded


def connect(scheduler: str):
    """A Dask client of the scheduler at ``scheduler``; what goes wrong is one line for the user."""
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError("--scheduler needs Dask: pip install -e '.[cluster]' in the repository "
                           "(or pip install 'pressure-mat[cluster]' where it is installed as a package)") from None
    try:
        return Client(scheduler, timeout="3s")
    except (OSError, TimeoutError) as error:
        raise RuntimeError(f"cannot reach the Dask scheduler at {scheduler} ({error})") from None


@contextmanager
def cluster_reader(scheduler: str, source: str, fallbacks: dict | None, frames) -> Iterator["ClusterReader"]:
    """A ClusterReader of ``source`` (whose frames, left in their file, are ``frames``) on the
    Dask scheduler at ``scheduler``."""
    with connect(scheduler) as client:
        frame_bytes = int(np.prod(frames.shape[1:])) * np.dtype(frames.dtype).itemsize
        yield ClusterReader(client, source, fallbacks, len(frames), frame_bytes)


class ClusterReader:
    """Reads the analysis's passes on the workers of ``client``, a segment of frames a task."""

    def __init__(self, client, source: str, fallbacks: dict | None, n_frames: int, frame_bytes: int):
        self.client, self.source, self.fallbacks = client, source, dict(fallbacks or {})
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        count = max(2 * workers, -(-n_frames * frame_bytes // SEGMENT_BYTES))
        edges = np.unique(np.linspace(0, n_frames, max(1, min(count, n_frames)) + 1).round().astype(int))
        self.spans = list(zip(edges[:-1].tolist(), edges[1:].tolist()))

    def _in_order(self, function: Callable, *arguments) -> Iterator:
        """``function(source, fallbacks, span, *arguments)`` of every span, the results one at a
        time in the spans' order (the workers keep the rest until asked); the contacts' cells,
        windows and measures are sent to the workers once, each as one object (``scatter`` of a
        list would send its items one by one)."""
        shared = [self.client.scatter([argument], broadcast=True)[0]
                  if isinstance(argument, (list, SessionMeasures)) else argument for argument in arguments]
        futures = [self.client.submit(function, self.source, self.fallbacks, span, *shared, pure=False)
                   for span in self.spans]
        for future in futures:
            yield future.result()
            future.release()

    def scan(self, convert: Callable[[np.ndarray], np.ndarray], threshold: float, rate_hz: float,
             track: bool) -> Scan:
        checks, summary, segments = FrameChecks(), None, []
        for part_checks, part_summary, segment in self._in_order(_scan_segment, convert, threshold, rate_hz, track):
            checks.merge(part_checks)
            if summary is None:
                summary = part_summary
            else:
                summary.merge(part_summary)
            segments.append(segment)
        runs = stitch_runs(segments, int(np.prod(summary.peak.shape))) if track else None
        return Scan(checks, summary, runs)

    def contact_series(self, prepare: Prepare, cell_slots: list[CellSlots], windows: list[tuple[int, int]],
                       only: list[int], geometry: dict) -> list[FrameMetrics | None]:
        pieces: list[list[FrameMetrics]] = [[] for _ in cell_slots]
        if only:
            for part in self._in_order(_series_segment, prepare, cell_slots, windows, only, geometry):
                for index, metrics in enumerate(part):
                    if metrics is not None:
                        pieces[index].append(metrics)
        return [joined(parts) if parts else None for parts in pieces]

    def measure(self, measures: SessionMeasures, prepare: Prepare,
                write: Callable[[int, dict[str, np.ndarray]], None]) -> None:
        for part, written in self._in_order(_measure_segment, measures, prepare):
            measures.merge(part)
            for first, values in written:
                write(first, values)


# -- on the workers -------------------------------------------------------------------------------
def _frames(source: str, fallbacks: dict):
    import drivers

    return drivers.load(source, fallbacks=fallbacks, stream_above_bytes=0).cells


def _scan_segment(source, fallbacks, span, convert, threshold, rate_hz, track):
    frames = _frames(source, fallbacks)
    start, stop = span
    tracker = SegmentTracker(tuple(frames.shape[1:]), threshold, rate_hz, start, stop) if track else None
    if tracker is not None:
        for _, block in frame_blocks(frames, tracker.warm_up_from, start):  # the warm-up: the runs only
            tracker.feed(convert(block))
    checks, summary = scan_frames(frames, convert, tracker, start, stop)
    return checks, summary, tracker.segment() if tracker is not None else None


def _series_segment(source, fallbacks, span, prepare, cell_slots, windows, only, geometry):
    chosen = [i for i in only if windows[i][0] < span[1] and windows[i][1] >= span[0]]
    if not chosen:
        return [None] * len(cell_slots)
    return contact_metrics(_frames(source, fallbacks), cell_slots, windows, 1, prepare, chosen, span=span, **geometry)


def _measure_segment(source, fallbacks, span, measures: SessionMeasures, prepare):
    mine = measures.fresh()  # a scattered object is shared by the tasks of a worker: never changed
    written = []
    mine.read(_frames(source, fallbacks), prepare, lambda first, values: written.append((first, values)), span=span)
    return mine, written
