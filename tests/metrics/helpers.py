"""Small truth / tracks tables and scenario folders for the scorer tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.io.scenario import ScenarioMeta, write_scenario, write_tracks


def truth_table(rows: Sequence[tuple[float, int, float, float, float, float]]) -> pa.Table:
    """Truth from (t, target_id, x, y, vx, vy) rows, sorted by time."""
    arr = sorted(rows, key=lambda r: (r[0], r[1]))
    cols = list(zip(*arr, strict=True)) if arr else [[]] * 6
    return pa.table({
        "t": pa.array(cols[0], pa.float64()), "target_id": pa.array(cols[1], pa.int64()),
        "x": pa.array(cols[2], pa.float64()), "y": pa.array(cols[3], pa.float64()),
        "vx": pa.array(cols[4], pa.float64()), "vy": pa.array(cols[5], pa.float64()),
    })


def static_truth(positions: dict[int, tuple[float, float]], times: Sequence[float]) -> pa.Table:
    """Targets that stand still at `positions` over `times`."""
    return truth_table([(t, i, x, y, 0.0, 0.0) for t in times for i, (x, y) in positions.items()])


def tracks_table(
    rows: Sequence[tuple[float, int, float, float, float, float, bool]],
) -> pa.Table:
    """Tracks from (t, track_id, x, y, vx, vy, confirmed) rows."""
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 7
    return pa.table({
        "t": pa.array(cols[0], pa.float64()), "track_id": pa.array(cols[1], pa.int64()),
        "x": pa.array(cols[2], pa.float64()), "y": pa.array(cols[3], pa.float64()),
        "vx": pa.array(cols[4], pa.float64()), "vy": pa.array(cols[5], pa.float64()),
        "confirmed": pa.array(cols[6], pa.bool_()),
    })


def write_folder(
    folder: Path, truth: pa.Table, plot_t: Sequence[float], plot_truth: Sequence[int],
    tracks: pa.Table | None = None,
) -> Path:
    """A scenario folder (one ADS-B sensor; plots at the truth position-free origin)."""
    n = len(plot_t)
    meta = ScenarioMeta(name="unit", seed=0, origin_lat_deg=48.0, origin_lon_deg=2.0,
                        duration_s=float(max([*plot_t, 0.0])), sensors=[Sensor(1, "adsb")])
    plots = PlotBatch.create(t=np.asarray(plot_t, float), sensor_id=np.ones(n, np.int32),
                             x=np.zeros(n), y=np.zeros(n), var_x=np.ones(n), var_y=np.ones(n),
                             cov_xy=np.zeros(n))
    write_scenario(folder, meta, truth, plots, np.asarray(plot_truth, np.int64))
    if tracks is not None:
        write_tracks(folder / "tracks.parquet", tracks)
    return folder
