"""A few thousand random and damaged inputs through every file reader, serial framing parser and
the session-file reader (``benchmarks/fuzz.py``; the README gives the figures of a 10^5-case run):
no crash, no hang, and every error names the file and says what is wrong."""

from __future__ import annotations

import os
import time

import pytest

from benchmarks import fuzz
from drivers import DriverError

SEED = int(os.environ.get("FUZZ_SEED", "20240611"))
READERS = ["npy", "csv", "tekscan", "xsensor", "pedar", "emed"]
FRAMINGS = ["binary", "trailer", "rle", "poll", "lines"]
CASES = {"readers": 1800, "framing": 1000, "session": 300}
TARGETS = [*READERS, *FRAMINGS, "session"]


@pytest.fixture(scope="module")
def report() -> fuzz.Report:
    reports = [fuzz.run(CASES["readers"], SEED, READERS, real_share=0.01),
               fuzz.run(CASES["framing"], SEED, FRAMINGS),
               fuzz.run(CASES["session"], SEED, ["session"])]
    tallies = {name: tally for one in reports for name, tally in one.tallies.items()}
    return fuzz.Report(tallies, SEED, sum(one.seconds for one in reports))


@pytest.mark.parametrize("target", TARGETS)
def test_no_crash_no_hang_and_every_error_names_the_file(report, target):
    tally = report.tallies[target]
    assert tally.cases >= 150
    failures = [f"case {index} [{note}]: {kind}: {detail}" for kind, detail, index, note in tally.findings.values()]
    share = 0.01 if target in READERS else 0.1
    assert tally.failures == 0, (f"{target} (seed {SEED}): {tally.counts}; replay case N and keep its input with "
                                 f"python -m benchmarks.fuzz --targets {target} --seed {SEED} --real-share {share} "
                                 f"--first-case N --cases 1 --keep DIR\n" + "\n".join(failures))


def test_the_cases_reach_both_outcomes(report):
    """Damage is often caught and sometimes harmless: a fuzzer whose inputs all fail, or all pass,
    tests nothing."""
    for target in READERS:
        counts = report.tallies[target].counts
        assert counts["ok"] >= 10 and counts["error"] >= 50, (target, counts)


# -- the harness itself ---------------------------------------------------------------------------
def test_errors_are_classified(tmp_path):
    path = tmp_path / "frames.npy"
    assert fuzz.classify_error(ZeroDivisionError("float division by zero"), path)[0] == "crash"
    assert fuzz.classify_error(DriverError("frame rate must be positive, got 0.0 Hz"), path)[0] == "unnamed"
    assert fuzz.classify_error(DriverError(f"{path}: line 3\nhas two lines"), path)[0] == "unnamed"
    assert fuzz.classify_error(DriverError(f"{path}: line 3 is not a number"), path)[0] == "error"
    wrapped = DriverError(f"{path}: not a readable NumPy file (TypeError: oops)")
    assert fuzz.classify_error(wrapped, path)[0] == "raw"


def test_a_case_over_the_limit_is_interrupted_and_counted_as_a_hang():
    runner = fuzz.ThreadRunner(limit_s=0.5)

    def spin():
        while True:
            pass

    try:
        started = time.monotonic()
        assert runner.run(1, spin)[0] == "hang"
        assert time.monotonic() - started < 2
        assert runner.run(2, lambda: ("ok", "")) == ("ok", "")  # the worker is free again
    finally:
        runner.close()


def test_the_same_seed_gives_the_same_cases():
    context = fuzz.Context(folder=None, real_share=0.0)
    for target in ("tekscan", "emed", "npy"):
        first = fuzz.make_file_case(target, fuzz.case_rng(5, target, 17), context)
        again = fuzz.make_file_case(target, fuzz.case_rng(5, target, 17), context)
        assert (first.data, first.note) == (again.data, again.note)
    first, again = (fuzz.make_parser_case("rle", fuzz.case_rng(5, "rle", 3)) for _ in range(2))
    assert first == again
