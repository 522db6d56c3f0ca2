"""Simulator figures for `airpicture bench`: wall time to simulate and write scenarios."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from airpicture.io.scenario import ScenarioMeta, read_plots
from airpicture.sim.build import simulate_meta
from airpicture.sim.presets import preset_meta


def _four_sensor_meta(n: int, duration_s: float) -> ScenarioMeta:
    """multi-sensor-N less its second primary radar: PSR, Mode S, ADS-B, MLAT."""
    meta = preset_meta(f"multi-sensor-{n}", seed=7, duration_s=duration_s)
    meta.sensors = [s for s in meta.sensors if s.id != 2]
    meta.name = f"four-sensor-{n}"
    return meta


def run_bench(quick: bool = False) -> list[dict[str, Any]]:
    """Rows (name, value, unit, peer, peer_value, ratio, notes): seconds to simulate and write."""
    cases = [(100, 60.0)] if quick else [(1000, 300.0), (4000, 300.0)]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, duration in cases:
            meta = _four_sensor_meta(n, duration)
            out = Path(tmp) / meta.name
            started = time.perf_counter()
            simulate_meta(meta, out)
            wall_s = time.perf_counter() - started
            plots = len(read_plots(out))
            rows.append({
                "name": f"sim {n} targets {duration:.0f} s, 4 sensors", "value": round(wall_s, 3),
                "unit": "s", "peer": None, "peer_value": None, "ratio": None,
                "notes": f"{plots} plots written (truth, sensors, Parquet)"})
    return rows
