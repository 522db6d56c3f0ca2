"""Track a whole scenario folder: plots delivered in arrival order, tracks.parquet written."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.stream import InProcessTracker

if TYPE_CHECKING:
    from airpicture.io.scenario import ScenarioMeta


def arrival_times(plots: PlotBatch) -> np.ndarray:
    """When each plot reaches the tracker: t_arrival, or t where unknown."""
    return np.where(np.isfinite(plots.t_arrival), plots.t_arrival, plots.t)


def feed(tracker: InProcessTracker, plots: PlotBatch, step_s: float,
         on_step: Callable[[int, int], None] | None = None) -> None:
    """Ingest plots in arrival order, advancing the tracker every step_s of arrival time."""
    arr = arrival_times(plots)
    order = np.argsort(arr, kind="stable")
    arr = arr[order]
    n = len(plots)
    if n == 0:
        return
    t_first = float(arr[0])
    steps = np.floor((arr - t_first) / step_s).astype(np.int64)
    bounds = np.flatnonzero(np.diff(steps)) + 1
    start = 0
    for end in [*bounds.tolist(), n]:
        tracker.ingest(plots.take(order[start:end]))
        tracker.advance_to(t_first + float(steps[end - 1] + 1) * step_s)
        if on_step is not None:
            on_step(end, n)
        start = end
    tracker.flush()


def concat_tables(tables: list[TrackTable]) -> pa.Table:
    """tracks.parquet rows of every report (release rules are applied by the caller)."""
    from airpicture.core.schema import TRACK_COLUMNS

    arrow = [t.to_arrow() for t in tables if len(t)]
    if not arrow:
        return pa.table({c.name: pa.array([], type=c.type) for c in TRACK_COLUMNS})
    return pa.concat_tables(arrow)


def write_sensors_json(path: Path, sensors: list[dict[str, Any]]) -> None:
    """{"sensors": [...]} as `InProcessTracker.learned_sensors` gives them (NaN as null)."""
    import json
    import math

    def clean(v: Any) -> Any:
        return None if isinstance(v, float) and not math.isfinite(v) else v

    rows = [{k: clean(v) for k, v in s.items()} for s in sensors]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sensors": rows}, indent=2) + "\n")


def track_plots(meta: ScenarioMeta, plots: PlotBatch, cfg: TrackerConfig,
                progress: bool = False) -> tuple[InProcessTracker, dict[str, Any]]:
    """Run one recording tracker over a scenario's plots (its sensors only); returns the
    tracker (its `reports`) and the run statistics."""
    tracker = InProcessTracker(meta.sensors, cfg, record=True)
    t0, c0 = time.perf_counter(), time.process_time()
    if progress:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("tracking", total=len(plots))
            feed(tracker, plots, cfg.slice_s, lambda done, _: bar.update(task, completed=done))
    else:
        feed(tracker, plots, cfg.slice_s)
    wall_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    times = np.asarray(tracker.slice_wall_s)
    cpu = np.asarray(tracker.slice_cpu_s)
    stats = tracker.stats()
    span = float(plots.t.max() - plots.t.min()) if len(plots) else 0.0
    stats.update({
        "wall_s": wall_s, "plots": len(plots), "plots_per_s": len(plots) / max(wall_s, 1e-9),
        "scenario_s": span, "real_time_ratio": span / max(wall_s, 1e-9),
        "slice_s": cfg.slice_s, "slice_times_s": times.tolist(),
        "slice_p50_s": float(np.percentile(times, 50)) if times.size else 0.0,
        "slice_p99_s": float(np.percentile(times, 99)) if times.size else 0.0,
        "cpu_s": cpu_s, "plots_per_cpu_s": len(plots) / max(cpu_s, 1e-9),
        "slice_cpu_s": cpu.tolist(),
        "slice_cpu_p50_s": float(np.percentile(cpu, 50)) if cpu.size else 0.0,
        "slice_cpu_p99_s": float(np.percentile(cpu, 99)) if cpu.size else 0.0,
    })
    return tracker, stats


def track_scenario(scenario_dir: Path, out_path: Path, config: TrackerConfig | None = None,
                   progress: bool = False, sensors_out: Path | None = None) -> dict[str, Any]:
    """Run the tracker over a scenario's plots and write tracks.parquet (the operator's
    picture, every sensor); returns run stats.

    `sensors_out`: also write the sensors as learned from their data,
    {"sensors": [{"id", "kind", "period_s", "pd", "sigma_range_m", ...}]} (JSON).
    A consumer's picture under a release policy: airpicture.commands.track.
    """
    from airpicture.io.scenario import read_meta, read_plots, write_tracks

    meta = read_meta(scenario_dir)
    plots = read_plots(scenario_dir, meta)
    cfg = config or TrackerConfig.for_scenario(meta)
    tracker, stats = track_plots(meta, plots, cfg, progress)
    table = concat_tables(tracker.reports)
    write_tracks(out_path, table)
    if sensors_out is not None:
        write_sensors_json(sensors_out, tracker.learned_sensors())
    stats.update({"track_rows": table.num_rows, "out": str(out_path)})
    return stats
