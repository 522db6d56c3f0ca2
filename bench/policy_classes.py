"""Tracker cost of release classes: one tracker per class (ClassTrackers) on a simulated
multi-sensor scenario, input plots per CPU-second and p99 CPU time of a 1 s step, for 1, 3
and 5 classes.  Usage: python bench/policy_classes.py [PRESET] [DURATION_S]"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from airpicture.io.scenario import read_meta, read_plots
from airpicture.policy.classes import ClassTrackers
from airpicture.sim.presets import simulate_preset
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.run import arrival_times
from airpicture.tracker.stream import InProcessTracker


def main(preset: str = "multi-sensor-200", duration_s: float = 120.0) -> None:
    folder = Path(tempfile.mkdtemp()) / preset
    simulate_preset(preset, folder, duration_s=duration_s)
    meta = read_meta(folder)
    plots = read_plots(folder, meta)
    ids = [s.id for s in meta.sensors]

    def make(sensors: tuple[int, ...]) -> InProcessTracker:
        sub = dataclasses.replace(meta, sensors=[s for s in meta.sensors if s.id in sensors])
        return InProcessTracker(sub.sensors, TrackerConfig.for_scenario(sub))

    without = [tuple(i for i in ids if i != k) for k in ids]
    class_sets = {1: [tuple(ids)], 3: [tuple(ids), *without[:2]], 5: [tuple(ids), *without[:4]]}
    arrival = arrival_times(plots)
    order = np.argsort(arrival, kind="stable")
    plots, arrival = plots.take(order), arrival[order]
    make(tuple(ids)).advance_to(0.0)  # compile before timing
    for n, sets in class_sets.items():
        fan = ClassTrackers({f"c{k}": s for k, s in enumerate(sets)}, ids, make)
        steps: list[float] = []
        c0 = time.process_time()
        t, i = float(arrival[0]), 0
        while i < len(plots):
            j = int(np.searchsorted(arrival, t + 1.0))
            s0 = time.process_time()
            fan.ingest(plots.take(np.arange(i, j)))
            fan.advance_to(t + 1.0)
            steps.append(time.process_time() - s0)
            i, t = j, t + 1.0
        cpu_s = time.process_time() - c0
        print(f"{n} classes: {len(plots) / cpu_s:,.0f} input plots per CPU-s, p99 1 s step "
              f"{np.percentile(steps, 99) * 1e3:.0f} ms CPU ({len(plots):,} plots, {preset}, "
              f"{duration_s:.0f} s)")


if __name__ == "__main__":
    main(*(sys.argv[1:2] or ["multi-sensor-200"]), *(float(a) for a in sys.argv[2:3]))
