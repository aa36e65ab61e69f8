"""How right the contacts are: found against true, direction and side, timing, arch index.

Run ``pressure bench --accuracy`` (or ``python -m benchmarks.accuracy``) for the table in the
README. Simulated cases compare every contact with the simulator's ground truth; real recordings
compare with what their providers state (the READMEs in ``../shared/data``): contact counts,
sides, directions and which contacts the recording cuts. The tests assert the same targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# The hard cases real recordings show, each drawn by the simulator with its ground truth.
SIMULATED = {
    "standing": "sim://standing?speed=0&duration=3",
    "standing, toes merged": "sim://standing?speed=0&duration=3&toes=merged",
    "standing, toes 30 mm beyond": "sim://standing?speed=0&duration=2&toe_gap=30",
    "standing, high arch, heel island": "sim://standing?speed=0&duration=2&arch=high&heel=island",
    "standing, feet touching": "sim://standing?speed=0&duration=2&stance=90",
    "standing, feet touching, heel islands": "sim://standing?speed=0&duration=2&stance=90&arch=high&heel=island",
    "standing, knee beside": "sim://standing?speed=0&duration=2&blob=1",
    "standing, a child's feet touching": "sim://standing?speed=0&duration=2&foot=160&stance=70",
    "standing, a child's feet touching, heel islands": "sim://standing?speed=0&duration=2&foot=160&stance=70&arch=high&heel=island",
    "walking": "sim://walking?speed=0",
    "walking, toes merged": "sim://walking?speed=0&toes=merged",
    "walking, toes 25 mm beyond": "sim://walking?speed=0&toe_gap=25",
    "walking, high arch, heel island": "sim://walking?speed=0&arch=high&heel=island",
    "walking, cut by the start": "sim://walking?speed=0&start=0.5",
    "walking, cut by the end": "sim://walking?speed=0&duration=1.6",
    "walking -x, flat arch, toes merged": "sim://walking?speed=0&direction=-x&arch=flat&toes=merged",
    "step +y left": "sim://step?speed=0&direction=+y&side=left",
    "step -y right": "sim://step?speed=0&direction=-y&side=right",
    "step +x right, heel island": "sim://step?speed=0&direction=+x&side=right&arch=high&heel=island",
    "step -x left, toes merged": "sim://step?speed=0&direction=-x&side=left&toes=merged",
    "step cut by the mat's edge": "sim://step?speed=0&shift=90",
    "stand, then walk": "sim://standwalk?speed=0",
    "same spots stepped on again": "sim://inplace?speed=0",
    "insoles, baseline noise and spikes": "sim://insoles?speed=0",
}


@dataclass
class Case:
    """One recording's contacts against the truth."""

    name: str
    true: int
    found: int
    right: int  # found with the right foot, kind, direction and completeness
    start_error_frames: list[float] = field(default_factory=list)
    end_error_frames: list[float] = field(default_factory=list)
    arch_error: list[float] = field(default_factory=list)
    notes: str = ""

    @property
    def worst_timing(self) -> float:
        errors = self.start_error_frames + self.end_error_frames
        return max(errors) if errors else float("nan")

    @property
    def worst_arch(self) -> float:
        return max(self.arch_error) if self.arch_error else float("nan")


def described(contact) -> tuple:
    return contact.foot, contact.kind, contact.complete


def simulated_case(name: str, url: str) -> Case:
    """Every found contact paired with the true one it overlaps most; timing compared where the
    recording does not cut the contact."""
    from drivers.simulator import simulate
    from pressure.analysis import analyse

    recording, truth = simulate(url)
    results, analysis = analyse(recording)
    rate = recording.info.rate_hz
    case = Case(name, len(truth.contacts), len(analysis.contacts), 0)
    for true in truth.contacts:
        first, last = true.start_s * rate, true.end_s * rate
        # Both standing feet overlap a true standing contact: among the contacts it overlaps,
        # one of the same foot is its match, else the one it overlaps most.
        overlaps = [min(last, c.last) - max(first, c.first) for c in analysis.contacts]
        keys = [(o > 0 and c.foot == true.foot, o) for o, c in zip(overlaps, analysis.contacts)]
        if not overlaps or max(overlaps) <= 0:
            continue
        found = analysis.contacts[max(range(len(keys)), key=keys.__getitem__)]
        facing = results.attrs["direction"] if found.kind == "standing" else snapped(found.heading.axis)
        if described(found) == (true.foot, true.kind, true.complete) and facing == true.direction:
            case.right += 1
        if true.complete and true.kind == "step":
            case.start_error_frames.append(abs(found.first - first))
            case.end_error_frames.append(abs(found.last - last))
    for foot in ("left", "right"):
        measured = float(results["arch_index"].sel(foot=foot))
        if np.isfinite(measured):
            case.arch_error.append(abs(measured - truth.arch_index[foot]))
    return case


def snapped(axis: np.ndarray) -> str:
    from pressure.contacts.session import snap

    return snap(axis)


# -- real recordings ----------------------------------------------------------------------------
def speedpp2ds_trials(path: Path):
    """The footsteps of one SpeedPP2DS subject file as recordings: (63 rows along the walk,
    33 columns, 500 Hz), trailing all-zero frames trimmed; pitch 5 mm (not stated by the source)."""
    import h5py

    from drivers import Counters, MatInfo, Recording

    with h5py.File(path, "r") as f:
        names = sorted(name for name in f if name.startswith("img"))
        for name in names:
            frames = np.ascontiguousarray(np.moveaxis(f[name][()], 2, 0))
            loaded = np.flatnonzero(frames.reshape(len(frames), -1).any(axis=1))
            frames = frames[: loaded[-1] + 2] if len(loaded) else frames
            n = len(frames)
            info = MatInfo(rows=frames.shape[1], cols=frames.shape[2], pitch_x_mm=5.0, pitch_y_mm=5.0,
                           rate_hz=500.0, device="SpeedPP2DS plate", dtype=frames.dtype)
            yield name, Recording(frames, np.arange(n), np.arange(n) / 500.0, info, Counters(), f"{path.name}:{name}")


def static_image(path: Path):
    """A footprint image (MUN104 template) as a one-frame recording at 5 mm."""
    from drivers import Counters, MatInfo, Recording

    image = np.loadtxt(path, delimiter=",").astype(np.float32)
    info = MatInfo(rows=image.shape[0], cols=image.shape[1], pitch_x_mm=5.0, pitch_y_mm=5.0, rate_hz=1.0,
                   device="MUN104 template", dtype=np.float32)
    return Recording(image[None], np.zeros(1, np.int64), np.zeros(1), info, Counters(), path.name)


# What the providers' READMEs and a look at the force curves say: per recording, the contacts
# in time order as (foot, kind, complete), and the walking direction.
REAL = {
    "emed footstep (pressuRe)": ("pressuRe_extdata/emed_test.lst", [("left", "step", True)], "-y"),
    "pedar insoles (pressuRe)": ("novel_pedar/pedar_example.asc",
                                 [("left", "standing", False), ("right", "standing", False)]
                                 + [("left", "step", True), ("right", "step", True)] * 8
                                 + [("left", "step", True), ("right", "step", False)], None),
    "F-Scan left insole": ("tekscan_fscan/FrasP01L.asf", [("left", "step", False)] + [("left", "step", True)] * 5, None),
    "F-Scan right insole": ("tekscan_fscan/FrasP01R.asf", [("right", "step", True)] * 5 + [("right", "step", False)], None),
    # "Some walking steps" between standing: both feet carry 400 N for the first 1.6 s.
    "Moticon insoles (OpenGo)": ("moticon_opengo/230927_102114.txt",
                                 [("left", "standing", False), ("right", "standing", False)]
                                 + [("left", "step", True), ("right", "step", True)] * 7
                                 + [("left", "standing", False), ("right", "standing", False)], None),
    "XSENSOR insoles (pressuRe)": ("xsensor_insole/xsensor_data.csv",
                                   [("left", "step", False), ("right", "step", False), ("left", "step", True),
                                    ("right", "step", False)], None),
}


def real_case(name: str, relative: str, expected: list[tuple], direction: str | None) -> Case:
    import drivers
    from pressure.analysis import analyse

    results, analysis = analyse(drivers.load(str(SHARED_DATA / relative)))
    found = [described(c) for c in analysis.contacts]
    right = sum(a == b for a, b in zip(found, expected))
    if direction is not None and results.attrs["direction"] != direction:
        right = 0
    return Case(name, len(expected), len(found), right)


@dataclass
class Footstep:
    """One SpeedPP2DS trial: its arch index, the feet's share of the loaded impulse (every cell
    above the threshold) and how many extra blobs were reported."""

    arch_index: float
    feet_share: float
    extra_blobs: int
    cpei: float  # centre of pressure excursion index, %
    axis_method: str  # heel-toes where the toes were found, else principal


def speedpp2ds_case(path: Path, threshold_kpa: float = 5.0) -> tuple[Case, list[Footstep]]:
    """Every footstep one complete right step towards +y."""
    from pressure.analysis import analyse

    case = Case(f"SpeedPP2DS {path.stem}", 0, 0, 0)
    steps = []
    for _, recording in speedpp2ds_trials(path):
        results, analysis = analyse(recording)
        case.true += 1
        case.found += len(analysis.contacts)
        if ([described(c) for c in analysis.contacts] == [("right", "step", True)]
                and results.attrs["direction"] == "+y"):
            case.right += 1
        kpa = recording.cells.astype(float)
        loaded = np.where(kpa > threshold_kpa, kpa, 0.0).sum() * recording.info.cell_area_mm2 * 1e-3
        cpei = float(results["step_cpei"].values[0]) if results.sizes.get("step") else float("nan")
        steps.append(Footstep(float(results["arch_index"].sel(foot="right")),
                              float(results["force"].sum()) / loaded, int(results.attrs["extra_blobs"]), cpei,
                              str(results["arch_axis_method"].sel(foot="right").values)))
    arches = [step.arch_index for step in steps]
    cpei = [step.cpei for step in steps]
    case.notes = (f"arch index {np.nanmean(arches):.3f} +- {np.nanstd(arches):.3f} (mean +- SD of {len(steps)} steps); "
                  f"CPEI median {np.nanmedian(cpei):.1f} %; "
                  f"feet hold >= {min(step.feet_share for step in steps):.1%} of the loaded impulse")
    return case, steps


def mun104_case(side: str) -> Case:
    from pressure.analysis import analyse

    foot = {"L": "left", "R": "right"}[side]
    results, analysis = analyse(static_image(SHARED_DATA / f"mun104_template/MUN104{side}.csv"))
    found = [described(c) for c in analysis.contacts]
    index = float(results["arch_index"].sel(foot=foot))
    return Case(f"MUN104 {foot} template (one image)", 1, len(found),
                int(found == [(foot, "standing", False)] and results.attrs["direction"] == "+y"),
                notes=f"arch index {index:.3f}")


def all_cases(real: bool = True) -> list[Case]:
    cases = [simulated_case(name, url) for name, url in SIMULATED.items()]
    if real and SHARED_DATA.is_dir():
        cases += [real_case(name, *spec) for name, spec in REAL.items() if (SHARED_DATA / spec[0]).is_file()]
        cases += [speedpp2ds_case(path)[0] for path in sorted((SHARED_DATA / "speedpp2ds").glob("subj*.h5"))]
        cases += [mun104_case(side) for side in "LR" if (SHARED_DATA / f"mun104_template/MUN104{side}.csv").is_file()]
    return cases


def table(cases: list[Case]) -> str:
    def value(x: float, digits: int) -> str:
        return "-" if not np.isfinite(x) else f"{x:.{digits}f}"

    lines = ["| recording | contacts true | found | right foot, kind, direction, cut | worst step start/end error (frames) "
             "| arch index error | notes |", "|---|---:|---:|---:|---:|---:|---|"]
    for c in cases:
        lines.append(f"| {c.name} | {c.true} | {c.found} | {c.right} | {value(c.worst_timing, 0)} "
                     f"| {value(c.worst_arch, 3)} | {c.notes} |")
    true = sum(c.true for c in cases)
    right = sum(c.right for c in cases)
    lines.append(f"| **all** | {true} | {sum(c.found for c in cases)} | {right} ({right / true:.1%}) "
                 f"| {value(max((c.worst_timing for c in cases if np.isfinite(c.worst_timing)), default=np.nan), 0)} "
                 f"| {value(max((c.worst_arch for c in cases if np.isfinite(c.worst_arch)), default=np.nan), 3)} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(all_cases()))
