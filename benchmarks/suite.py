"""The benchmark suite: ``run(quick)`` measures every stage and returns Measurements."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from benchmarks.bandwidth import read_bandwidth_gb_s
from benchmarks.reference import cell_summary_numpy, frame_metrics_numpy, label_components_numpy
from benchmarks.timing import Measurement, interleaved, rate, seconds, spread_of

SHAPES = {  # (rows, cols): a simulator URL that puts two feet on such a mat
    (64, 64): "sim://standing?rows=64&cols=64&pitch=5",
    (44, 176): "sim://standing?rows=44&cols=176&pitch=8.5&facing=+y",
    (256, 256): "sim://standing?rows=256&cols=256&pitch=5",
}
ROOT = Path(__file__).resolve().parent.parent


def machine() -> dict:
    import numba

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "platform": platform.platform()}


def cpu_name() -> str:
    """The processor's name with its family, model and widest vector instructions: a cloud
    machine's name stays "AMD EPYC" when it moves to another generation of processor, and this
    one did (family 25 model 17, AVX-512, on 2026-11-26; model 1, AVX2, on 2026-11-27), which
    changed some kernels' speed threefold."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor says it for all
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        return platform.processor() or platform.machine()
    name = fields.get("model name") or fields.get("cpu") or platform.processor() or platform.machine()
    details = []
    if "cpu family" in fields and "model" in fields:
        details.append(f"family {fields['cpu family']}, model {fields['model']}")
    if "flags" in fields:  # x86: the widest vector instructions (ARM says "Features", with other names)
        flags = set(fields["flags"].split())
        details.append("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2")
    return f"{name} ({', '.join(details)})" if details else name


def session_frames(url: str, n_frames: int, dtype) -> tuple[np.ndarray, np.ndarray, int, float]:
    """``n_frames`` simulated frames (a short session tiled), the feet's labels and the kPa scale."""
    recording, labels, n_labels = _session(url)
    cells = recording.cells if dtype == np.uint16 else recording.kpa().astype(dtype, copy=False)
    tiled = np.ascontiguousarray(np.resize(cells, (n_frames,) + cells.shape[1:]))
    scale = recording.info.scale_kpa if dtype == np.uint16 else 1.0
    return tiled, labels, n_labels, scale


_SESSIONS: dict = {}


def _session(url: str):
    """A 2 s simulated session and the labels of the feet the analysis finds in it (once per URL)."""
    if url not in _SESSIONS:
        import drivers
        from pressure.analysis import analyse

        recording = drivers.load(f"{url}&speed=0&duration=2")
        labels = analyse(recording)[1].labels()
        _SESSIONS[url] = (recording, labels, int(labels.max()) + 1)
    return _SESSIONS[url]


@contextmanager
def kernel_threads(n: int | None):
    """Run frame_metrics on ``n`` threads (its load rule off), or as a user calls it (``None``)."""
    import numba

    from pressure.kernels import frame_metrics as module

    if n is None:
        yield
        return
    previous, adapt = numba.get_num_threads(), module.ADAPT_TO_LOAD
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    module.ADAPT_TO_LOAD = False
    try:
        yield
    finally:
        numba.set_num_threads(previous)
        module.ADAPT_TO_LOAD = adapt


def bytes_read(frames: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """Per frame: the bytes of the labelled cells (what every implementation must read), and the bytes of
    the cache lines the kernel's boxes touch (what memory delivers; the boxes hold some unlabelled cells,
    and a line is read whole)."""
    from pressure.kernels.frame_metrics import LINE_BYTES, plan_boxes

    itemsize = frames.dtype.itemsize
    row_bytes = frames.shape[2] * itemsize
    lines = set()
    for first_row, end_row, first_col, width, *_ in plan_boxes(labels, 0, 1).boxes:
        for row in range(first_row, end_row):
            start = frames.ctypes.data + row * row_bytes + first_col * itemsize
            lines.update(range(start // LINE_BYTES, (start + width * itemsize - 1) // LINE_BYTES + 1))
    return int((labels >= 0).sum()) * itemsize, len(lines) * LINE_BYTES


def ratio_note(kernel: np.ndarray, peer: np.ndarray) -> str:
    """The kernel's lead over the peer in each round (both rates from the same round)."""
    ratios = kernel / peer
    return f"{np.median(ratios):.1f}x ({ratios.min():.1f}-{ratios.max():.1f}x by round)"


def bench_frame_metrics(quick: bool, bandwidth_gb_s: float, repeats: int) -> list[Measurement]:
    """The kernel on one and on two threads, the NumPy peer and the old NumPy peer, interleaved round by
    round on the same frames (the old peer on their first ``old_frames``)."""
    from benchmarks.reference import frame_metrics_masked_numpy
    from pressure.kernels import SMALL_WORK
    from pressure.kernels.frame_metrics import frame_metrics

    results = []
    budget = (48 if quick else 256) << 20
    old_budget = (8 if quick else 64) << 20
    for (rows, cols), url in SHAPES.items():
        for dtype in (np.uint16, np.float32):
            itemsize = np.dtype(dtype).itemsize
            # Enough cells that threads_for lets the kernel use two threads.
            n = max(1000, budget // (rows * cols * itemsize), SMALL_WORK // (rows * cols) + 1)
            frames, labels, n_labels, scale = session_frames(url, n, dtype)
            old_frames = frames[: max(100, old_budget // (rows * cols * itemsize))]
            geometry = dict(threshold_kpa=5.0, scale_kpa=scale, pitch_x_mm=5.0, pitch_y_mm=5.0)
            case = f"{rows}x{cols} {np.dtype(dtype).name}"

            def kernel(threads):
                with kernel_threads(threads):
                    frame_metrics(frames, labels, n_labels, **geometry)

            functions = {"2 threads": lambda: kernel(2), "1 thread": lambda: kernel(1),
                         "numpy": lambda: frame_metrics_numpy(frames, labels, n_labels, **geometry)}
            if dtype == np.uint16:
                functions["old numpy"] = lambda: frame_metrics_masked_numpy(old_frames, labels, n_labels, 5.0 / scale)
            load = os.getloadavg()[0]
            times = interleaved(functions, repeats, settle={"numpy": 0.15, "old numpy": 0.15})
            rates = {name: (len(old_frames) if name == "old numpy" else n) / t for name, t in times.items()}
            peer = float(np.median(rates["numpy"]))
            cell_bytes, line_bytes = bytes_read(frames, labels)
            for threads in ("2 threads", "1 thread"):
                value = float(np.median(rates[threads]))
                mb = value * cell_bytes / 1e6
                results.append(Measurement(
                    "frame metrics (2 feet + mat)", f"{case}, {threads}", value, "frames/s", spread_of(rates[threads]),
                    peer, mb,
                    notes=f"{ratio_note(rates[threads], rates['numpy'])}; "
                          f"{value * line_bytes / 1e9 / bandwidth_gb_s:.0%} of bandwidth in whole cache lines "
                          f"({line_bytes / 1e3:.1f} kB a frame); load {load:.1f}",
                    extra={"bandwidth_fraction": mb / 1e3 / bandwidth_gb_s, "cell_bytes": cell_bytes,
                           "line_bytes": line_bytes, "load": load,
                           "ratios": (rates[threads] / rates["numpy"]).tolist()}))
            results.append(Measurement(
                "frame metrics: NumPy peer", case, peer, "frames/s", spread_of(rates["numpy"]),
                mb_per_s=peer * cell_bytes / 1e6,
                notes="foot cells gathered once a block, force and both moments in one matrix product",
                extra={"bandwidth_fraction": peer * cell_bytes / 1e9 / bandwidth_gb_s}))
            if "old numpy" in rates:
                old = float(np.median(rates["old numpy"]))
                ratios = rates["numpy"] / rates["old numpy"]
                results.append(Measurement(
                    "frame metrics: old NumPy peer", case, old, "frames/s", spread_of(rates["old numpy"]), peer,
                    notes=f"the suite's peer until issue 15: whole frames to float64, masked copies; "
                          f"the NumPy peer is {np.median(ratios):.0f}x faster ({ratios.min():.0f}-{ratios.max():.0f}x)",
                    extra={"ratios": ratios.tolist()}))
    return results


def bench_threads(quick: bool, repeats: int) -> list[Measurement]:
    """The kernel on one thread, on two, and as a user calls it (the load rule picks), first with the
    machine as it is, then while another process keeps one core busy (a Python busy loop started for
    the purpose)."""
    from pressure.kernels.frame_metrics import frame_metrics

    (rows, cols), url = next(iter(SHAPES.items()))
    n = (8 if quick else 32) * 1024
    frames, labels, n_labels, scale = session_frames(url, n, np.uint16)
    geometry = dict(threshold_kpa=5.0, scale_kpa=scale, pitch_x_mm=5.0, pitch_y_mm=5.0)

    def kernel(threads):
        with kernel_threads(threads):
            frame_metrics(frames, labels, n_labels, **geometry)

    functions = {"2 threads": lambda: kernel(2), "1 thread": lambda: kernel(1), "as called": lambda: kernel(None)}
    results = []
    for stage in ("frame metrics: threads", "frame metrics: threads, another process busy"):
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if "busy" in stage else None
        try:
            if busy is not None:
                time.sleep(0.5)
            load = os.getloadavg()[0]
            times = interleaved(functions, repeats)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
        rates = {name: n / t for name, t in times.items()}
        for name, rate_ in rates.items():
            note = "" if name == "1 thread" else f"{ratio_note(rate_, rates['1 thread'])} of one thread; "
            if name == "as called":
                note += "one thread unless a core is idle; "
            results.append(Measurement(stage, f"{rows}x{cols} uint16, {name}", float(np.median(rate_)), "frames/s",
                                       spread_of(rate_), notes=f"{note}load {load:.1f}"))
    return results


def bench_cell_summary(quick: bool, bandwidth_gb_s: float, repeats: int) -> list[Measurement]:
    from pressure.kernels.peak_image import cell_summary

    results = []
    budget = (48 if quick else 256) << 20
    for (rows, cols), url in SHAPES.items():
        for dtype in (np.uint16, np.float32):
            n = max(1000, budget // (rows * cols * np.dtype(dtype).itemsize))
            frames = session_frames(url, n, dtype)[0]
            case = f"{rows}x{cols} {np.dtype(dtype).name}"
            peer_frames = frames[: min(n, 20000)]
            times = interleaved({"kernel": lambda: cell_summary(frames),
                                 "numpy": lambda: cell_summary_numpy(peer_frames)}, repeats)
            value, spread = rate(n, times["kernel"])
            peer, _ = rate(len(peer_frames), times["numpy"])
            mb = value * rows * cols * np.dtype(dtype).itemsize / 1e6
            results.append(Measurement("cell summary (peak, floor)", case, value, "frames/s", spread,
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

    minutes = 2 if quick else 60
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

    minutes = 2 if quick else 60
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
    """Capture through a real pseudo-terminal from a virtual mat in a process of its own, beside
    the same mat read by a loop that only reads: the pty's own pace, which no capture exceeds
    (``benchmarks/capture_speed.py``), in rounds of alternating order."""
    from benchmarks.capture_speed import COLS, ROWS, measure

    n, rounds = (3000, 1) if quick else (30000, 3)
    report = measure(n, rounds, folder)
    captures, paces, shares = report["captures"], report["paces"], report["shares"]
    rates = np.array([c.frames_per_s for c in captures])
    achieved, pace = float(np.median(rates)), float(np.median(paces))
    frame_mb = ROWS * COLS * 2 / 1e6  # uint16 cells
    kept, lost = sum(c.kept for c in captures), sum(c.sent - c.kept for c in captures)
    dropped, corrupt = sum(c.dropped for c in captures), sum(c.corrupt for c in captures)
    share = (f"{np.median(shares):.0%} of the pty's pace ({min(shares):.0%}-{max(shares):.0%} by round)"
             if shares else "the pty's pace not measured")
    return [
        Measurement("capture through a pty", f"{ROWS}x{COLS} uint16 binary framing, mat in its own process",
                    achieved, "frames/s", spread_of(rates), mb_per_s=achieved * frame_mb,
                    notes=f"{share}; {kept} of {kept + lost} frames kept in {rounds} round(s), {lost} lost "
                          f"(dropped {dropped}, corrupt {corrupt})"),
        Measurement("capture: the pty alone", "the same mat, a loop that only reads", pace, "frames/s",
                    spread_of(np.array(paces)), mb_per_s=pace * frame_mb,
                    notes="no capture can be faster than this on this machine"),
    ]


def bench_study(quick: bool, folder: Path) -> list[Measurement]:
    """A study folder on 1 worker and on a worker per core: on workers already warm (each has
    imported and loaded the kernels), and as ``pressure process DIR`` in a new process (each
    worker's start paid in the run); the two worker counts take turns, and the speed-up is taken
    per round. And one short session in a warm worker, split by stage (benchmarks/study_speed.py)."""
    from benchmarks import study_speed

    count = 3 if quick else 24
    rounds = 1 if quick else 3
    many = max(2, os.cpu_count() or 1)
    sessions = study_speed.make_study(folder / "study", count)
    size_mb = sum(path.stat().st_size for path in sessions) / 1e6
    tasks_of = {n: study_speed.tasks_for(sessions, folder / "study", folder / f"study-warm-{n}") for n in (1, many)}
    results = []
    for kind, part in (("warm workers", study_speed.measure_warm(tasks_of, rounds, (1, many))),
                       ("pressure process DIR, new process",
                        study_speed.measure_cold(folder / "study", folder, 1 if quick else 2, (1, many)))):
        for workers in (1, many):
            times = np.array(part[f"{workers}_workers_s"]["all"])
            rates = len(sessions) / times
            speedup = part["speedup"]
            notes = "" if workers == 1 else (f"{speedup['median']:.2f}x one worker (rounds "
                                             f"{speedup['min']:.2f}-{speedup['max']:.2f})")
            results.append(Measurement("study processing", f"{len(sessions)} sessions, {workers} worker(s), {kind}",
                                       float(np.median(rates)), "sessions/s", spread_of(rates),
                                       mb_per_s=size_mb / float(np.median(times)), notes=notes))
    single = study_speed.measure_per_session(study_speed.tasks_for(sessions[:3], folder / "study",
                                                                   folder / "study-single"), rounds)
    split = ", ".join(f"{name} {value:.0f}" for name, value in single["ms"].items() if name != "total")
    low, high = single["total_ms_min_max"]
    results.append(Measurement("study processing", "one short session in a warm worker",
                               single["sessions_per_s_per_core"], "sessions/s",
                               (high - low) / single["ms"]["total"], notes=f"ms: {split}"))
    return results


def bench_cli(repeats: int, folder: Path) -> list[Measurement]:
    pressure = [sys.executable, "-m", "pressure"]

    def run(arguments):
        subprocess.run(pressure + arguments, check=True, capture_output=True, cwd=ROOT)

    results = []
    times = seconds(lambda: run(["--help"]), repeats, warmup=1)
    results.append(Measurement("CLI start-up", "pressure --help", float(np.median(times)), "s",
                               float(np.ptp(times) / np.median(times))))
    out = folder / "first-call.h5"
    for name in ("standing", "walking"):
        fixture = ROOT / "fixtures" / f"{name}.h5"
        times = seconds(lambda fixture=fixture: run(["process", str(fixture), "-o", str(out), "--overwrite"]),
                        max(1, repeats // 2), warmup=1)
        results.append(Measurement("first call, warm Numba cache", f"process fixtures/{name}.h5",
                                   float(np.median(times)), "s", float(np.ptp(times) / np.median(times)),
                                   notes="whole command in a new process"))
    return results


def run(quick: bool, progress: Callable[[str], None] = lambda stage: None) -> tuple[list[Measurement], dict]:
    repeats = 3 if quick else 7
    info = machine()
    info["load_start"] = os.getloadavg()[0]
    info["stage_seconds"] = {}
    progress("memory bandwidth")
    bandwidth, spread = read_bandwidth_gb_s(256 if quick else 1024, repeats)
    info["read_bandwidth_gb_s"] = bandwidth
    results = [Measurement("memory read bandwidth", "uint64 sum, 1 or 2 threads", bandwidth * 1e3, "MB/s", spread,
                           notes="fastest round: a capacity")]
    with tempfile.TemporaryDirectory(prefix="pressure-bench-") as scratch:
        folder = Path(scratch)
        for name, stage in (
            ("frame metrics", lambda: bench_frame_metrics(quick, bandwidth, repeats)),
            ("frame metrics: threads", lambda: bench_threads(quick, repeats)),
            ("cell summary", lambda: bench_cell_summary(quick, bandwidth, repeats)),
            ("feet, arch index, steps", lambda: bench_feet(repeats)),
            ("HDF5", lambda: bench_hdf5(quick, repeats, folder)),
            ("analysis", lambda: bench_analysis(quick)),
            ("end to end", lambda: bench_end_to_end(quick, folder)),
            ("capture", lambda: bench_capture(quick, folder)),
            ("study", lambda: bench_study(quick, folder)),
            ("command line", lambda: bench_cli(repeats, folder)),
        ):
            progress(name)
            started = time.perf_counter()
            results.extend(stage())
            info["stage_seconds"][name] = round(time.perf_counter() - started, 1)
    info["load_end"] = os.getloadavg()[0]
    return results, info
