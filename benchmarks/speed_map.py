"""Peak plantar pressure against walking speed, pixel by pixel: Pataky et al. (2008) on SpeedPP2DS.

``python -m benchmarks.speed_map`` runs every SpeedPP2DS footstep (5 subjects x 60 trials in
``../shared/data/speedpp2ds``) from capture to map: ``pressure.analysis.analyse`` finds the
step, ``pressure.mapping`` takes its footprint, registers it to a template (MUN104 by default,
``--template study`` builds one from the steps) and correlates the registered peak pressure with
the measured walking speed per pixel. It prints

- registration quality (correlation with the template per step, failures and why, time);
- the mean r over four regions of the template (rearfoot, midfoot, medial proximal forefoot,
  distal forefoot; ``pressure.mapping.statistics.template_regions`` says how they are drawn)
  for the pooled within-subject map (every step, each subject's pressures and speeds centred on
  the subject's means) and for the mean of the five subjects' maps (through Fisher's z);
- the same correlation computed on ten-region values of each step (the region's mean pressure,
  and its highest pressure: the regional peak of a ten-region subsampling analysis);
- whether each of the paper's statements holds here,

and draws the maps to ``out/speed_map/speed_map.png``. Family-wise thresholds come from a
permutation test of the largest |r| (speeds permuted within subjects); Pataky's random field
theory thresholds are not implemented.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
OUTPUT = ROOT / "out" / "speed_map"
PAPER = "Pataky et al. (2008), J Biomech 41:1987"
# Which ten regions stand for each of the four the paper names (for the regional analysis).
TEN_FOR_FOUR = {"rearfoot": ("medial heel", "lateral heel"), "midfoot": ("midfoot",),
                "medial proximal forefoot": ("MTH1",), "distal forefoot": ("hallux", "lesser toes")}


def read_table(path: Path) -> dict[str, list[float]]:
    """speeds.csv / conditions.csv: a column per subject (subj000...), a row per trial."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {name: [float(row[name]) for row in rows] for name in rows[0] if name != "Trial"}


def collect(folder: Path, subjects: list[int], progress: bool = True):
    """Every trial's footprints (as right feet) with subject, trial, speed and condition."""
    from benchmarks.accuracy import speedpp2ds_trials
    from pressure.analysis import analyse
    from pressure.mapping.footprints import footprints

    speeds, conditions = read_table(folder / "speeds.csv"), read_table(folder / "conditions.csv")
    found, meta, odd = [], {"subject": [], "trial": [], "speed": [], "condition": []}, []
    for subject in subjects:
        name = f"subj{subject:03d}"
        for trial_name, recording in speedpp2ds_trials(folder / f"{name}.h5"):
            trial = int(trial_name[3:])
            _, analysis = analyse(recording)
            steps = footprints(recording, analysis, side="right")
            if len(steps) != 1:
                odd.append(f"{name} {trial_name}: {len(steps)} complete steps")
                continue
            found += steps
            meta["subject"].append(subject)
            meta["trial"].append(trial)
            meta["speed"].append(speeds[name][trial])
            meta["condition"].append(int(conditions[name][trial]))
        if progress:
            print(f"  {name}: {sum(s == subject for s in meta['subject'])} footprints", flush=True)
    return found, {key: np.asarray(values) for key, values in meta.items()}, odd


def within_r(values: np.ndarray, speed: np.ndarray, subject: np.ndarray) -> np.ndarray:
    """Pooled within-subject Pearson r of each column of ``values`` with speed."""
    from pressure.mapping.statistics import pearson_columns

    return pearson_columns(values, speed, subject)


def p_of_r(r: np.ndarray, dof: int) -> np.ndarray:
    from scipy.stats import t as student

    t = r * np.sqrt(dof / np.maximum(1 - r ** 2, 1e-300))
    return 2 * student.sf(np.abs(t), dof)


def region_table(registered, template, speed, subject, r_pooled, r_subjects, threshold: float):
    """Rows for the four regions: pixel maps' mean r, share of pixels with r < 0 and beyond the
    family-wise threshold, then r on ten-region means and peaks (pooled within subject)."""
    from pressure.mapping import statistics as mstats

    four = mstats.template_regions(template, "four")
    ten = mstats.template_regions(template, "ten")
    pooled = mstats.region_mean_of_map(r_pooled, four)
    subjects = mstats.region_mean_of_map(r_subjects, four)
    labels, values = np.asarray(four), np.asarray(r_pooled)
    dof = len(speed) - len(np.unique(subject)) - 1
    ten_rows = {}
    for how in ("mean", "max"):
        summary = mstats.region_summary(registered["peak_pressure"], ten, how)
        r = within_r(summary.values, speed, subject)
        per_subject = np.array([within_r(summary.values[subject == s], speed[subject == s], subject[subject == s])
                                for s in np.unique(subject)])
        subjects_r = np.tanh(np.arctanh(per_subject).mean(axis=0))
        ten_rows[how] = {name: (float(r[k]), float(p_of_r(r[k], dof)), float(subjects_r[k]))
                         for k, name in enumerate(summary["region"].values)}
    rows = []
    for k, name in enumerate(mstats.FOUR_REGIONS):
        inside = values[labels == k]
        inside = inside[np.isfinite(inside)]
        mean_ten = np.mean([ten_rows["mean"][n][0] for n in TEN_FOR_FOUR[name]])
        peak_ten = np.mean([ten_rows["max"][n][0] for n in TEN_FOR_FOUR[name]])
        rows.append({"region": name, "pixels": len(inside), "r_pooled": pooled[name], "r_subjects": subjects[name],
                     "negative_share": float(np.mean(inside < 0)),
                     "fwe_positive_share": float(np.mean(inside >= threshold)),
                     "fwe_negative_share": float(np.mean(inside <= -threshold)),
                     "ten_regions": "+".join(TEN_FOR_FOUR[name]), "r_ten_mean": float(mean_ten),
                     "r_ten_peak": float(peak_ten)})
    return rows, ten_rows, four, ten


def verdicts(rows, ten_rows) -> list[tuple[str, bool, str]]:
    """Each statement of the paper, whether our numbers agree, and the numbers."""
    by = {row["region"]: row for row in rows}
    out = []
    for region, sign in (("rearfoot", 1), ("distal forefoot", 1), ("midfoot", -1), ("medial proximal forefoot", -1)):
        row = by[region]
        holds = np.sign(row["r_pooled"]) == sign and np.sign(row["r_subjects"]) == sign
        side = "fwe_positive_share" if sign > 0 else "fwe_negative_share"
        numbers = (f"mean r {row['r_pooled']:+.2f} pooled, {row['r_subjects']:+.2f} over subjects; "
                   f"{row[side]:.0%} of its pixels beyond the FWE threshold")
        out.append((f"pixel r {'positive' if sign > 0 else 'negative'} over the {region}", bool(holds), numbers))
    bonferroni = 0.05 / len(ten_rows["max"])
    for region, name in (("midfoot", "midfoot"), ("medial proximal forefoot", "MTH1")):
        peak, p_peak = ten_rows["max"][name][:2]
        numbers = (f"r {peak:+.2f} (p {p_peak:.1e}) on regional peaks, {ten_rows['mean'][name][0]:+.2f} on regional "
                   f"means, pixel mean r {by[region]['r_pooled']:+.2f}")
        out.append((f"ten-region peaks give a significant positive r over the {region} ({name}; Bonferroni over ten)",
                    bool(peak > 0 and p_peak < bonferroni), numbers))
    midfoot_mean, midfoot_p = ten_rows["mean"]["midfoot"][:2]
    hidden = midfoot_mean >= 0 or midfoot_p > bonferroni  # not significantly negative
    out.append(("ten-region means hide the midfoot's negative r", bool(hidden),
                f"midfoot region mean r {midfoot_mean:+.2f} (p {midfoot_p:.1e})"))
    return out


def ten_region_map(ten, values: dict[str, float], template):
    """A map painting each of the ten regions with its r."""
    image = np.full(ten.shape, np.nan)
    labels = np.asarray(ten)
    for k, name in enumerate(values):
        image[labels == k] = values[name]
    return template.copy(data=image).assign_attrs(long_name="r of the regional peak with speed", units="1")


def nonrigid_check(footprints, template, every: int, subject: np.ndarray, speed: np.ndarray) -> dict:
    """Rigid against rigid + non-rigid registration on every ``every``-th footprint: correlation
    with the template, time, and the mean within-subject SD of the registered peak over the
    template's outline (lower: steps overlap better)."""
    from pressure.mapping import statistics as mstats
    from pressure.mapping.registration import register

    chosen = list(range(0, len(footprints), every))
    rigid, refined, seconds = [], [], []
    for index in chosen:
        start = time.perf_counter()
        found = register(footprints[index], template, nonrigid=True)
        seconds.append(time.perf_counter() - start)
        rigid.append(register(footprints[index], template))
        refined.append(found)
    foot = mstats.outline(template)
    groups = subject[chosen]

    def mean_sd(images):
        images = np.stack(images)
        sds = [images[groups == g].std(axis=0, ddof=1)[foot].mean() for g in np.unique(groups)
               if np.sum(groups == g) > 1]
        return float(np.mean(sds))

    r_rigid = np.array([r.correlation for r in rigid])
    r_refined = np.array([r.correlation for r in refined])
    return {"steps": len(chosen), "rigid_median_r": float(np.median(r_rigid)),
            "nonrigid_median_r": float(np.median(r_refined)), "median_gain": float(np.median(r_refined - r_rigid)),
            "seconds_per_step": float(np.median(seconds)),
            "within_subject_sd_rigid_kpa": mean_sd([r.peak_kpa for r in rigid]),
            "within_subject_sd_nonrigid_kpa": mean_sd([r.peak_kpa for r in refined])}


def run(args) -> dict:
    from pressure.mapping import statistics as mstats
    from pressure.mapping.registration import register_all
    from pressure.mapping.template import mun104, study_template

    folder = Path(args.data)
    subjects = sorted(int(p.stem[4:]) for p in folder.glob("subj*.h5"))
    print(f"SpeedPP2DS in {folder}: subjects {subjects}", flush=True)
    start = time.perf_counter()
    footprints, meta, odd = collect(folder, subjects)
    t_footprints = time.perf_counter() - start
    print(f"{len(footprints)} footprints in {t_footprints:.1f} s" + (f"; left out: {odd}" if odd else ""), flush=True)

    start = time.perf_counter()
    template = mun104("right", pitch_mm=args.pitch_mm)
    if args.template == "study":
        template = study_template(footprints, start=template, iterations=args.iterations)
    t_template = time.perf_counter() - start
    start = time.perf_counter()
    registered = register_all(footprints, template, metadata=meta)
    t_register = time.perf_counter() - start
    r = registered["correlation"].values
    failed = registered["failed"].values.astype(bool)
    quality = {"steps": len(r), "median_r": float(np.median(r)), "p5_r": float(np.percentile(r, 5)),
               "min_r": float(r.min()), "failed": int(failed.sum()),
               "failures": [f"subj{int(s):03d} trial {int(t)}: {why}" for s, t, why, bad in
                            zip(meta["subject"], meta["trial"], registered["failure"].values, failed) if bad],
               "per_subject_median_r": {int(s): float(np.median(r[meta["subject"] == s])) for s in subjects},
               "scale_range": [float(registered["scale"].min()), float(registered["scale"].max())],
               "rotation_range_deg": [float(registered["rotation"].min()), float(registered["rotation"].max())],
               "seconds_per_step": t_register / max(len(r), 1), "template_seconds": t_template}
    print(f"\nRegistration to {template.attrs['source']}: {len(r)} steps in {t_register:.0f} s "
          f"({quality['seconds_per_step']:.2f} s each)")
    print(f"  correlation with the template: median {quality['median_r']:.3f}, 5th percentile {quality['p5_r']:.3f}, "
          f"lowest {quality['min_r']:.3f}; per subject "
          + ", ".join(f"{s}: {v:.3f}" for s, v in quality["per_subject_median_r"].items()))
    print(f"  scale {quality['scale_range'][0]:.2f}-{quality['scale_range'][1]:.2f}, rotation "
          f"{quality['rotation_range_deg'][0]:+.1f} to {quality['rotation_range_deg'][1]:+.1f} degrees; "
          f"failed: {quality['failed']}" + (f" ({'; '.join(quality['failures'])})" if quality["failures"] else ""))

    kept = registered.isel(step=np.flatnonzero(~failed))
    speed, subject = kept["speed"].values.astype(float), kept["subject"].values
    images = kept["peak_pressure"]
    pooled = mstats.correlation_map(images, speed, groups=subject)
    by_subject = mstats.group_correlation(images, speed, subject)
    foot = mstats.outline(template)
    start = time.perf_counter()
    fwe = mstats.permutation_threshold(images, speed, groups=subject, mask=foot, n_permutations=args.permutations,
                                       seed=args.seed)
    t_perm = time.perf_counter() - start
    rows, ten_rows, four, ten = region_table(kept, template, speed, subject, pooled["r"], by_subject["r_mean"],
                                             fwe["threshold"])
    dof = int(pooled["t"].attrs["dof"])

    print(f"\nPeak pressure against walking speed, {len(speed)} steps of {len(np.unique(subject))} subjects "
          f"(pooled within subject: dof {dof}; FWE 5 % threshold |r| >= {fwe['threshold']:.3f} from "
          f"{fwe['n_permutations']} permutations within subjects, {t_perm:.0f} s; "
          f"largest |r| {fwe['observed_max']:.2f})")
    print("\n| region | pixels | mean r, pooled | mean r, mean of subjects | pixels r < 0 | pixels r >= +thr | "
          "pixels r <= -thr | ten regions | r of region means | r of region peaks |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    for row in rows:
        print(f"| {row['region']} | {row['pixels']} | {row['r_pooled']:+.3f} | {row['r_subjects']:+.3f} | "
              f"{row['negative_share']:.0%} | {row['fwe_positive_share']:.0%} | {row['fwe_negative_share']:.0%} | "
              f"{row['ten_regions']} | {row['r_ten_mean']:+.3f} | {row['r_ten_peak']:+.3f} |")
    print("\nTen regions (pooled within-subject r with speed; p uncorrected, Bonferroni over 10: p < 0.005):")
    print("| region | r of region mean (p) | mean of subjects | r of region peak (p) | mean of subjects |")
    print("|---|---:|---:|---:|---:|")
    for name in ten_rows["mean"]:
        m, k = ten_rows["mean"][name], ten_rows["max"][name]
        print(f"| {name} | {m[0]:+.3f} ({m[1]:.1e}) | {m[2]:+.3f} | {k[0]:+.3f} ({k[1]:.1e}) | {k[2]:+.3f} |")

    checks = verdicts(rows, ten_rows)
    print(f"\nAgainst {PAPER}:")
    for statement, holds, numbers in checks:
        print(f"  [{'yes' if holds else 'NO '}] {statement}: {numbers}")

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    png = output / "speed_map.png"
    mean_peak = mstats.mean_map(images).assign_attrs(long_name="mean peak pressure (kPa)")
    panels = {"mean peak pressure (kPa)": mean_peak,
              f"r with speed, pooled within subject\n(green: FWE 5 %, |r| >= {fwe['threshold']:.2f})": pooled["r"],
              "r with speed, mean of subjects": by_subject["r_mean"],
              "r with speed of the\nten regions' peaks": ten_region_map(
                  ten, {name: values[0] for name, values in ten_rows["max"].items()}, template)}
    limits = {name: 1.0 for name in list(panels)[1:]}
    mstats.save_maps(panels, template, png, regions=four, vmax=limits,
                     thresholds={list(panels)[1]: fwe["threshold"]},
                     title=f"SpeedPP2DS: {len(speed)} steps, {len(np.unique(subject))} subjects, registered to "
                           f"{template.attrs['source'].split(' (')[0]}; dashed: the four regions")
    # Fast against slow trials: the two-sample map (Welch's t) beside each group's mean and SD.
    condition = kept["condition"].values
    fast, slow = images.isel(step=np.flatnonzero(condition == 3)), images.isel(step=np.flatnonzero(condition == 1))
    welch = mstats.welch_t_map(fast, slow)
    welch_fwe = mstats.permutation_threshold(fast, second=slow, mask=foot, n_permutations=args.permutations // 5,
                                             seed=args.seed)
    groups_png = output / "speed_conditions.png"
    welch_title = f"Welch t, fast - slow\n(green: FWE 5 %, |t| >= {welch_fwe['threshold']:.1f})"
    means = {f"slow: mean (n {slow.sizes['step']})": mstats.mean_map(slow),
             f"fast: mean (n {fast.sizes['step']})": mstats.mean_map(fast)}
    top = max(float(m.where(foot).max()) for m in means.values())
    mstats.save_maps({**means, "fast: SD": mstats.sd_map(fast), welch_title: welch["t"]},
                     template, groups_png, regions=four, thresholds={welch_title: welch_fwe["threshold"]},
                     vmax=dict.fromkeys(means, top),
                     title="SpeedPP2DS peak pressure, slow (condition 1) against fast (condition 3) trials, "
                           "all subjects pooled")
    print(f"\nMaps: {png}, {groups_png} (Welch t fast - slow: FWE 5 % |t| >= {welch_fwe['threshold']:.2f} from "
          f"{welch_fwe['n_permutations']} permutations)")
    if args.save_registered:
        kept.to_netcdf(args.save_registered, engine="h5netcdf")
        print(f"Registered footprints: {args.save_registered}")

    summary = {"quality": quality, "fwe": fwe, "regions": rows, "ten_regions": ten_rows,
               "checks": [{"statement": s, "holds": h, "numbers": n} for s, h, n in checks], "png": str(png),
               "conditions_png": str(groups_png), "welch_fwe": welch_fwe,
               "footprint_seconds": t_footprints}
    if args.nonrigid_every:
        check = nonrigid_check(footprints, template, args.nonrigid_every, meta["subject"], meta["speed"])
        summary["nonrigid"] = check
        print(f"\nNon-rigid refinement on {check['steps']} steps: median correlation {check['rigid_median_r']:.3f} -> "
              f"{check['nonrigid_median_r']:.3f} (median gain {check['median_gain']:+.3f}), "
              f"{check['seconds_per_step']:.1f} s per step; mean within-subject SD over the foot "
              f"{check['within_subject_sd_rigid_kpa']:.1f} -> {check['within_subject_sd_nonrigid_kpa']:.1f} kPa")
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1, default=float))
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(SHARED_DATA / "speedpp2ds"), help="the SpeedPP2DS folder")
    parser.add_argument("--template", choices=("mun104", "study"), default="mun104",
                        help="MUN104's right foot, or a template built from the steps (starting from MUN104)")
    parser.add_argument("--iterations", type=int, default=3, help="iterations of the study template")
    parser.add_argument("--pitch-mm", type=float, default=2.0, help="template pixel size")
    parser.add_argument("--permutations", type=int, default=1000, help="permutations for the FWE threshold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(OUTPUT), help="folder for the picture")
    parser.add_argument("--save-registered", default="", help="write the registered footprints (HDF5) here")
    parser.add_argument("--nonrigid-every", type=int, default=0,
                        help="also compare rigid and non-rigid registration on every N-th step (slow: seconds a step)")
    parser.add_argument("--json", default="", help="write the numbers as JSON here")
    args = parser.parse_args(argv)
    if not Path(args.data).is_dir():
        raise SystemExit(f"SpeedPP2DS not found at {args.data}")
    run(args)


if __name__ == "__main__":
    main()
