"""``pressure demo``: the bundled recordings, processed, summarised and pictured."""

from __future__ import annotations

from pathlib import Path

# Each fixture was recorded from the simulator through the real capture path with
# `pressure capture URL -o fixtures/NAME.h5` (see fixtures/README.md).
FIXTURES = {
    "standing": "sim://standing?seed=1&imbalance=0.2&arch=flat&angle=8&duration=5&speed=0",
    "walking": "sim://walking?seed=2&arch=high&speed=0",
}


def fixtures_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "fixtures"


def fixture(name: str, scratch: Path) -> Path:
    """The recorded fixture, or (in an installation without the repository) a fresh recording."""
    recorded = fixtures_dir() / f"{name}.h5"
    if recorded.is_file():
        return recorded
    from pressure.pipeline import capture

    fresh = scratch / f"{name}.h5"
    capture(FIXTURES[name], fresh)
    return fresh


def run_demo(output_dir: Path, console, progress=None) -> None:
    """``progress`` is a context manager giving a function told what is being done."""
    from contextlib import nullcontext

    from pressure.analysis import Options
    from pressure.pipeline import process
    from pressure.summary import results_caption, results_table

    output_dir.mkdir(parents=True, exist_ok=True)
    for name in FIXTURES:
        session = fixture(name, output_dir)
        results = output_dir / f"{name}.results.h5"
        picture = output_dir / f"{name}.png"
        with progress() if progress is not None else nullcontext(lambda text: None) as stage:
            dataset = process(str(session), results, Options(), picture=picture, stage=stage)
        console.print(results_table(dataset, f"{name}: {session.name}"))
        console.print(results_caption(dataset))
        console.print(f"wrote {results} and {picture}\n")
