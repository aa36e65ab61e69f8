"""The benchmark suite: ``run(quick)`` measures every stage and returns Measurements."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks.bandwidth import read_bandwidth_gb_s
from benchmarks.reference import cell_summary_numpy, frame_metrics_numpy, label_components_numpy
from benchmarks.timing import Measurement, rate, seconds

SHAPES = {  # (rows, cols): a simulator URL that puts two feet on such a mat
    (64, 64): "sim://standing?rows=64&cols=64&pitch=5",
    (44, 176): "sim://standing?rows=44&cols=176&pitch=8.5&facing=+y",
    (256, 256): "sim://standing?rows=256&cols=256&pitch=5",
}
ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict:
    import numba

    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "platform": platform.platform()}


def session_frames(url: str, n_frames: int, dtype) -> tuple[np.ndarray, np.ndarray, int, float]:
    """``n_frames`` simulated frames (a short session tiled), the feet's labels and the kPa scale."""
    import drivers
    from pressure.analysis import analyse

    recording = drivers.load(f"{url}&speed=0&duration=2")
    _, analysis = analyse(recording)
    labels = analysis.labels()
    n_labels = int(labels.max()) + 1
    cells = recording.cells if dtype == np.uint16 else recording.kpa()
    tiled = np.ascontiguousarray(np.resize(cells, (n_frames,) + cells.shape[1:]))
    scale = recording.info.scale_kpa if dtype == np.uint16 else 1.0
    return tiled, labels, n_labels, scale


def bench_kernels(quick: bool, bandwidth_gb_s: float, repeats: int) -> list[Measurement]:
    from pressure.kernels.frame_metrics import frame_metrics
    from pressure.kernels.peak_image import cell_summary

    results = []
    budget = (48 if quick else 256) << 20
    for (rows, cols), url in SHAPES.items():
        for dtype in (np.uint16, np.float32):
            n = max(1000, budget // (rows * cols * np.dtype(dtype).itemsize))
            frames, labels, n_labels, scale = session_frames(url, n, dtype)
            threshold = 5.0 / scale
            case = f"{rows}x{cols} {np.dtype(dtype).name}"

            def kernel():
                frame_metrics(frames, labels, n_labels, threshold_kpa=5.0, scale_kpa=scale,
                              pitch_x_mm=5.0, pitch_y_mm=5.0)

            peer_frames = frames[: min(n, 20000)]
            value, spread = rate(n, seconds(kernel, repeats))
            peer, _ = rate(len(peer_frames), seconds(
                lambda: frame_metrics_numpy(peer_frames, labels, n_labels, threshold), max(1, repeats // 2)))
            mb = value * rows * cols * np.dtype(dtype).itemsize / 1e6
            results.append(Measurement("frame metrics (2 feet + mat)", case, value, "frames/s", spread, peer, mb,
                                       extra={"bandwidth_fraction": mb / 1e3 / bandwidth_gb_s}))
            value, spread = rate(n, seconds(lambda: cell_summary(frames, threshold, 3), repeats))
            peer, _ = rate(len(peer_frames), seconds(
                lambda: cell_summary_numpy(peer_frames, threshold, 3), max(1, repeats // 2)))
            mb = value * rows * cols * np.dtype(dtype).itemsize / 1e6
            results.append(Measurement("cell summary (peak, floor, sustained)", case, value, "frames/s", spread,
                                       peer, mb, extra={"bandwidth_fraction": mb / 1e3 / bandwidth_gb_s}))
    return results


def bench_feet(repeats: int) -> list[Measurement]:
    import drivers
    from pressure.arch import arch_index, foot_geometry
    from pressure.contacts.fragments import find_feet
    from pressure.contacts.geometry import Grid
    from pressure.contacts.insoles import insole_contacts
    from pressure.contacts.tracking import track_contacts
    from pressure.kernels.components import label_components

    recording = drivers.load("sim://walking?speed=0")
    loaded = recording.kpa().max(axis=0) > 5.0
    results = []
    value, spread = rate(1, seconds(lambda: label_components(loaded), repeats * 20))
    peer, _ = rate(1, seconds(lambda: label_components_numpy(loaded), repeats))
    results.append(Measurement("foot labelling: components", "320x64 walk", value, "images/s", spread, peer))
    cells = recording.cells
    value, spread = rate(len(cells), seconds(lambda: track_contacts(cells, 50, 100.0, 0.1), repeats))
    results.append(Measurement("contact tracking: runs + links", "320x64 walk", value, "frames/s", spread))
    raw = track_contacts(cells, 50, 100.0, 0.1)
    grid = Grid(cells.shape[1:], 5.0, 5.0)
    value, spread = rate(1, seconds(lambda: find_feet(raw, grid, 100.0), repeats * 5))
    results.append(Measurement("contacts to feet: pieces + toes", "320x64 walk", value, "walks/s", spread))
    feet, _ = find_feet(raw, grid, 100.0)
    print_mask = feet[0].parts[0].mask(grid.shape)
    toes = feet[0].whole.mask(grid.shape) & ~print_mask

    def arch():
        arch_index(foot_geometry(print_mask, toes, 5.0, 5.0, np.array([0.0, 1.0])))

    value, spread = rate(1, seconds(arch, repeats * 20))
    results.append(Measurement("arch index", "one print", value, "prints/s", spread))
    rng = np.random.default_rng(0)
    force = np.clip(np.sin(np.arange(360_000) / 30.0) * 600 + rng.normal(0, 5, 360_000), 0, None)
    value, spread = rate(len(force), seconds(lambda: insole_contacts(force, 100.0), repeats))
    results.append(Measurement("insole step detection", "1 h at 100 Hz", value, "frames/s", spread))
    return results


def bench_hdf5(quick: bool, repeats: int, folder: Path) -> list[Measurement]:
    import drivers
    from drivers import Frame
    from drivers.session_file import COMPRESSION, SessionWriter, read_session

    recording = drivers.load("sim://standing?speed=0&duration=2")
    n = 6000 if quick else 30000
    cells = np.resize(recording.cells, (n,) + recording.cells.shape[1:])
    frames = [Frame(cells[i], i, i / 100.0, 0.0) for i in range(n)]
    results = []
    for compression in COMPRESSION:
        path = folder / f"bench-{compression}.h5"

        def write():
            with SessionWriter(path, recording.info, {"source_url": "bench"}, compression=compression) as writer:
                for frame in frames:
                    writer.append(frame)

        value, spread = rate(n, seconds(write, max(1, repeats // 2), warmup=0))
        size = path.stat().st_size
        mb = value * cells[0].nbytes / 1e6
        results.append(Measurement("HDF5 write", f"64x64 uint16 {compression or 'none'}", value, "frames/s", spread,
                                   mb_per_s=mb, notes=f"file {size / cells.nbytes:.0%} of raw"))
        value, spread = rate(n, seconds(lambda: read_session(path, str(path)), repeats))
        results.append(Measurement("HDF5 read", f"64x64 uint16 {compression or 'none'}", value, "frames/s", spread,
                                   mb_per_s=value * cells[0].nbytes / 1e6))
    return results


def bench_end_to_end(quick: bool, folder: Path) -> list[Measurement]:
    import drivers
    from drivers import Frame
    from drivers.session_file import SessionWriter
    from pressure.analysis import Options
    from pressure.pipeline import process

    minutes = 5 if quick else 60
    n = minutes * 60 * 100
    recording = drivers.load("sim://standing?speed=0&duration=10")
    session = folder / "hour.h5"
    block = recording.cells
    with SessionWriter(session, recording.info, {"source_url": "bench"}) as writer:
        for i in range(n):
            writer.append(Frame(block[i % len(block)], i, i / 100.0, 0.0))
    out = folder / "hour.results.h5"
    times = seconds(lambda: process(str(session), out, Options()), 1, warmup=0)
    value = n / float(times[0])
    return [Measurement("end-to-end process", f"{minutes} min 64x64 uint16 at 100 Hz", float(times[0]), "s", 0.0,
                        notes=f"{value:,.0f} frames/s: read, analyse, write")]


def bench_analysis(quick: bool) -> list[Measurement]:
    """The whole analysis of a long session already in memory, standing and walking."""
    import drivers
    from drivers import Recording
    from pressure.analysis import analyse

    minutes = 5 if quick else 60
    results = []
    for kind, url in (("standing", "sim://standing?speed=0&duration=10"),
                      ("walking, repeated passes", "sim://walking?speed=0&rows=64&cols=320&direction=+x")):
        short = drivers.load(url)
        n = minutes * 60 * 100
        cells = np.ascontiguousarray(np.resize(short.cells, (n,) + short.cells.shape[1:]))
        long = Recording(cells, np.arange(n), np.arange(n) / 100.0, short.info, short.counters, "bench")
        times = seconds(lambda: analyse(long), 1, warmup=0)
        results.append(Measurement("analysis in memory", f"{minutes} min {kind}, {short.info.rows}x{short.info.cols}",
                                   float(times[0]), "s", 0.0, notes=f"{n / float(times[0]):,.0f} frames/s"))
    return results


def bench_capture(quick: bool, folder: Path) -> list[Measurement]:
    """Capture through a real pseudo-terminal: a virtual mat sends binary frames as fast as the
    pty takes them (it blocks rather than drops), so the rate reached is the highest the whole
    path sustains; any frame lost would show in the counters."""
    import threading
    import time

    from drivers.virtual_mat import VirtualMat
    from pressure.pipeline import capture

    n = 3000 if quick else 30000
    mat = VirtualMat("binary", rate_hz=100_000, max_frames=n, seed=1)
    done = threading.Event()
    arrivals: list[float] = []

    def stop_after_stream():
        mat.wait()
        time.sleep(1.0)
        done.set()

    watcher = threading.Thread(target=stop_after_stream, daemon=True)
    result = capture(f"serial://{mat.device}?rows=64&cols=64&framing=binary&cell=uint16&rate=2000",
                     folder / "pty.h5", max_frames=n, stop_event=done,
                     on_start=lambda info: (mat.start(), watcher.start()),
                     on_frame=lambda frame, counters: arrivals.append(frame.host_time_s))
    watcher.join()
    mat.stop()
    lost = n - result.frames
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    return [Measurement("capture through a pty", "64x64 uint16 binary framing", achieved, "frames/s", 0.0,
                        mb_per_s=achieved * 64 * 64 * 2 / 1e6,
                        notes=f"{result.frames} of {n} frames kept, {lost} lost "
                              f"(dropped {result.counters.dropped}, corrupt {result.counters.corrupt})")]


def bench_study(quick: bool, folder: Path) -> list[Measurement]:
    """A study folder processed by one process and by a worker per core."""
    from pressure.pipeline import capture
    from pressure.study import Task, find_sessions, output_for, run_tasks

    sessions = folder / "study"
    sessions.mkdir()
    count = 4 if quick else 24
    for index in range(count):
        kind = "walking" if index % 3 == 2 else "standing"
        url = f"sim://{kind}?seed={index}&speed=0" + ("&duration=10" if kind == "standing" else "")
        capture(url, sessions / f"sub-{index:02d}_{kind}.h5")
    paths = find_sessions(sessions)
    size_mb = sum(path.stat().st_size for path in paths) / 1e6
    options = {"threshold_kpa": 5.0, "facing": "+y", "activity": None, "calibration": None}
    results = []
    rates = {}
    for workers in (1, os.cpu_count() or 1):
        out = folder / f"study-{workers}"
        tasks = [Task(str(p), str(output_for(p, sessions, out)), options, {}, force=True) for p in paths]
        times = seconds(lambda: run_tasks(tasks, workers, None), 1, warmup=0)
        rates[workers] = len(tasks) / float(times[0])
        results.append(Measurement("study processing", f"{len(tasks)} sessions, {workers} worker(s)",
                                   rates[workers], "sessions/s", 0.0, mb_per_s=size_mb / float(times[0])))
    if len(rates) == 2:
        many = max(rates)
        results[-1].notes = f"{rates[many] / rates[1]:.2f}x one process"
    return results


def bench_cli(repeats: int, folder: Path) -> list[Measurement]:
    pressure = [sys.executable, "-m", "pressure"]

    def run(arguments):
        subprocess.run(pressure + arguments, check=True, capture_output=True, cwd=ROOT)

    results = []
    times = seconds(lambda: run(["--help"]), repeats, warmup=1)
    results.append(Measurement("CLI start-up", "pressure --help", float(np.median(times)), "s",
                               float(np.ptp(times) / np.median(times))))
    fixture = ROOT / "fixtures" / "standing.h5"
    out = folder / "first-call.h5"
    times = seconds(lambda: run(["process", str(fixture), "-o", str(out)]), max(1, repeats // 2), warmup=1)
    results.append(Measurement("first call, warm Numba cache", "process fixtures/standing.h5", float(np.median(times)),
                               "s", float(np.ptp(times) / np.median(times)), notes="whole command in a new process"))
    return results


def run(quick: bool, progress: Callable[[str], None] = lambda stage: None) -> tuple[list[Measurement], dict]:
    repeats = 3 if quick else 7
    info = machine()
    progress("memory bandwidth")
    bandwidth, spread = read_bandwidth_gb_s(256 if quick else 1024, repeats)
    info["read_bandwidth_gb_s"] = bandwidth
    results = [Measurement("memory read bandwidth", "parallel uint64 sum", bandwidth * 1e3, "MB/s", spread)]
    with tempfile.TemporaryDirectory(prefix="pressure-bench-") as scratch:
        folder = Path(scratch)
        for name, stage in (
            ("kernels", lambda: bench_kernels(quick, bandwidth, repeats)),
            ("feet, arch index, steps", lambda: bench_feet(repeats)),
            ("HDF5", lambda: bench_hdf5(quick, repeats, folder)),
            ("analysis", lambda: bench_analysis(quick)),
            ("end to end", lambda: bench_end_to_end(quick, folder)),
            ("capture", lambda: bench_capture(quick, folder)),
            ("study", lambda: bench_study(quick, folder)),
            ("command line", lambda: bench_cli(repeats, folder)),
        ):
            progress(name)
            results.extend(stage())
    return results, info
