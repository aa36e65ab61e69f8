"""``pressure bench``: run the suite in benchmarks/ and show it as a table (and JSON)."""

from __future__ import annotations

import json
from pathlib import Path


def _number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.0f} {unit}"


def accuracy_report(console) -> None:
    """The contacts' accuracy table (benchmarks/accuracy.py), as markdown for the README."""
    try:
        from benchmarks.accuracy import SHARED_DATA, all_cases, table
    except ImportError as error:
        raise RuntimeError(f"the benchmark suite is not installed with this copy ({error})") from None
    with console.status("checking contacts against simulated and real recordings"):
        cases = all_cases()
    if not SHARED_DATA.is_dir():
        console.print(f"real recordings not found at {SHARED_DATA}: simulated cases only")
    console.print(table(cases), highlight=False, soft_wrap=True)


def run_and_report(quick: bool, json_path: Path | None, console) -> None:
    from rich.table import Table

    try:
        from benchmarks.suite import run
    except ImportError as error:
        raise RuntimeError(f"the benchmark suite is not installed with this copy ({error})") from None
    with console.status("benchmarking") as status:
        results, machine = run(quick, progress=lambda stage: status.update(f"benchmarking: {stage}"))
    table = Table(title=f"{machine['cpu']}, {machine['cores']} cores; numpy {machine['numpy']}, "
                        f"numba {machine['numba']}; load average {machine['load_start']:.1f} at the start, "
                        f"{machine['load_end']:.1f} at the end", title_justify="left")
    for column in ("stage", "case", "median", "spread", "NumPy peer", "speed-up", "MB/s", "of bandwidth", "notes"):
        table.add_column(column, justify="left" if column in ("stage", "case", "notes") else "right")
    for m in results:
        fraction = m.extra.get("bandwidth_fraction")
        table.add_row(
            m.stage, m.case, _number(m.value, m.unit), f"{m.spread:.0%}",
            _number(m.numpy_value, m.unit) if m.numpy_value else "",
            f"{m.speedup:.1f}x" if m.speedup else "",
            f"{m.mb_per_s:,.0f}" if m.mb_per_s else "",
            f"{fraction:.0%}" if fraction else "", m.notes,
        )
    if not console.is_terminal:
        console.width = max(console.width, 200)  # a file or a pipe: no need to wrap the table
    console.print(table)
    if json_path is not None:
        json_path.write_text(json.dumps({"machine": machine, "quick": quick,
                                         "results": [m.as_dict() for m in results]}, indent=2))
        console.print(f"wrote {json_path}")
