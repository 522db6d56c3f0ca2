"""`airpicture bench` end to end: scenarios, trackers, scores, other parts, results files."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.bench.report import targets
from airpicture.bench.scenarios import FULL, QUICK, ScenarioFactory, ensure_scenario, simulate
from airpicture.bench.sections import PARTS, run_part
from airpicture.bench.tracker_child import DEFAULT_TRACKER
from airpicture.bench.tracking import Scorer, bench_scenario, score

SECTIONS = ("tracker", *PARTS)

Progress = Callable[[str], None]


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform()}


def run_tracker_section(out_dir: Path, quick: bool, scenario_dir: Path | None = None,
                        tracker_spec: str = DEFAULT_TRACKER, stamp: str = "auto",
                        factory: ScenarioFactory = simulate, scorer: Scorer = score,
                        progress: Progress = print) -> dict[str, Any]:
    """Every scenario of the run: both trackers, scores, ratios; then the targets."""
    results = []
    for sc in QUICK if quick else FULL:
        progress(f"scenario {sc.preset}: preparing")
        folder = ensure_scenario(sc, out_dir / "scenarios", scenario_dir, factory)
        progress(f"scenario {sc.preset}: running airpicture and Stone Soup")
        results.append(bench_scenario(sc, folder, out_dir / "runs" / sc.preset, tracker_spec,
                                      scorer, stamp))
    return {"status": "ok", "scenarios": results, "targets": targets(results)}


def run_bench(out_dir: Path, only: tuple[str, ...] = SECTIONS, quick: bool = False,
              scenario_dir: Path | None = None, tracker_spec: str = DEFAULT_TRACKER,
              stamp: str = "auto", factory: ScenarioFactory = simulate, scorer: Scorer = score,
              progress: Progress = print) -> dict[str, Any]:
    """The whole benchmark as one JSON-able dict (results files are written by the caller)."""
    start = dt.datetime.now(dt.UTC)
    load_start = os.getloadavg()[0]
    sections: dict[str, Any] = {}
    for name in only:
        progress(f"section {name}")
        if name == "tracker":
            sections[name] = run_tracker_section(out_dir, quick, scenario_dir, tracker_spec,
                                                 stamp, factory, scorer, progress)
        else:
            sections[name] = run_part(name, quick)
    return {"version": 1, "created_utc": start.isoformat(timespec="seconds"), "quick": quick,
            "machine": machine(), "stonesoup_stamp": stamp,
            "load_1min": {"start": load_start, "end": os.getloadavg()[0]},
            "wall_s": (dt.datetime.now(dt.UTC) - start).total_seconds(), "sections": sections}
