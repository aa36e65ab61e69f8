"""The README's performance table from a ``pressure bench --json`` file:
``python -m benchmarks.to_markdown bench.json``."""

from __future__ import annotations

import json
import sys


def number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}" if value >= 10 else f"{value:.2f} {unit}"


def table(report: dict) -> str:
    machine = report["machine"]
    lines = [
        f"{machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, numpy {machine['numpy']}, "
        f"numba {machine['numba']}; memory read bandwidth {machine['read_bandwidth_gb_s']:.1f} GB/s"
        + (f"; load average {machine['load_start']:.1f} at the start, {machine['load_end']:.1f} at the end"
           if "load_start" in machine else "") + ".",
        "",
        "| stage | case | median | spread | NumPy peer | speed-up | MB/s | of bandwidth | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in report["results"]:
        fraction = m["extra"].get("bandwidth_fraction")
        lines.append("| " + " | ".join([
            m["stage"], m["case"], number(m["value"], m["unit"]), f"{m['spread']:.0%}",
            number(m["numpy_value"], m["unit"]) if m["numpy_value"] else "",
            f"{m['speedup']:.1f}x" if m["speedup"] else "",
            f"{m['mb_per_s']:,.0f}" if m["mb_per_s"] else "",
            f"{fraction:.0%}" if fraction else "", m["notes"],
        ]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(table(json.load(f)))
