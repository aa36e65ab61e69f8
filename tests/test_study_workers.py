"""Local study workers: started once and reused, lean in what they import (issue 15)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from pressure.study import LocalWorkers, Task, process_task, run_tasks
from tests.conftest import FIXTURES, ROOT

OPTIONS = {"threshold_kpa": 5.0, "facing": "+y", "activity": None, "calibration": None}


def test_workers_start_once_and_serve_every_session_of_every_study(tmp_path):
    """Each worker pays for its imports and kernels once: the same processes run one study after
    another, and their outcomes are the ones this process gives, in the order of the tasks."""
    for name in ("standing.h5", "walking.h5"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    sources = [tmp_path / "standing.h5", tmp_path / "missing.h5", tmp_path / "walking.h5"]
    with LocalWorkers(2) as pool:
        started = pool.warm_up()
        assert len(started) == 2
        for study in ("a", "b"):
            tasks = [Task(str(source), str(tmp_path / study / (source.name + ".results.h5")), OPTIONS, {})
                     for source in sources]
            outcomes = run_tasks(tasks, 2, None, pool=pool)
            assert [outcome.source for outcome in outcomes] == [str(source) for source in sources]
            assert [outcome.status for outcome in outcomes] == ["done", "failed", "done"]
            assert outcomes[0].row == process_task(tasks[0]).row  # skipped here: read back, same row
        assert pool.warm_up() == started  # no worker was replaced or added on the way


def test_a_worker_imports_no_dask_cluster_client():
    """What a session needs in a worker: no Dask cluster client (only --scheduler wants it)."""
    code = """
import sys
from pressure.study import _warm_worker
_warm_worker()
print(sorted(name for name in ("distributed",) if name in sys.modules))
"""
    shown = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().splitlines()[-1] == "[]", shown.stdout
