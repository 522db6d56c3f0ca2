"""The measuring child: its own peak memory, one-core environment, the wall-clock limit."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from airpicture.bench.child import ONE_CORE_ENV, run_child


def test_peak_memory_is_the_childs_own(tmp_path: Path) -> None:
    code = "import numpy as np; a = np.ones(300 * 2**20 // 8); print(a.sum())"
    big = run_child([sys.executable, "-c", code], 60.0, tmp_path / "big.log")
    small = run_child([sys.executable, "-c", "print(1)"], 60.0, tmp_path / "small.log")
    assert big.ok and small.ok
    assert big.peak_rss_mb > 300.0
    assert small.peak_rss_mb < big.peak_rss_mb - 250.0


def test_parent_memory_does_not_count_for_the_child(tmp_path: Path) -> None:
    ballast = np.ones(400 * 2**20 // 8)  # this process now holds 400 MB more
    small = run_child([sys.executable, "-c", "print(1)"], 60.0, tmp_path / "small.log")
    assert small.ok and small.peak_rss_mb < 100.0 and ballast.sum() > 0


def test_threads_pinned_to_one(tmp_path: Path) -> None:
    code = "import os; print(os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'])"
    res = run_child([sys.executable, "-c", code], 60.0, tmp_path / "env.log")
    assert res.ok and res.stderr_tail.split() == ["1", "1"]
    assert set(ONE_CORE_ENV.values()) == {"1"}


def test_overrunning_child_is_stopped(tmp_path: Path) -> None:
    res = run_child([sys.executable, "-c", "import time; time.sleep(60)"], 1.0)
    assert res.killed and not res.ok
    assert res.wall_s < 10.0


def test_failing_child_reports_its_error(tmp_path: Path) -> None:
    res = run_child([sys.executable, "-c", "raise SystemExit('boom here')"], 30.0,
                    tmp_path / "fail.log")
    assert not res.ok and res.returncode == 1 and "boom here" in res.stderr_tail
