"""Replaying a recording: its track states and plots, stepped by the service's clock."""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.scenario import ScenarioMeta
from airpicture.service.recorder import CHECKPOINT_S, open_recording_meta

log = logging.getLogger("airpicture.service")
SNAPSHOT_ATTEMPTS = 3


def tracks_from_rows(rows: pa.Table, sensor_ids: np.ndarray) -> TrackTable:
    """Rebuild a TrackTable from `track_states` rows (sensor_mask bit i: sensor_ids[i], sorted)."""
    if rows.num_rows == 0:
        return TrackTable.empty(sensor_ids)

    def col(name: str) -> np.ndarray:
        return rows.column(name).to_numpy(zero_copy_only=False)

    t = col("t")
    mask = col("sensor_mask").astype(np.uint64)
    bits = np.arange(sensor_ids.size, dtype=np.uint64)
    seen = (mask[:, None] >> bits[None, :]) & np.uint64(1) == 1
    return TrackTable(
        track_id=col("track_id").astype(np.int64), t=t, x=col("x"), y=col("y"), vx=col("vx"),
        vy=col("vy"), status=col("status").astype(np.int8), alt_ft=col("alt_ft").astype(float),
        vrate_fpm=col("vrate_fpm").astype(float), icao24=col("icao24").astype(np.int64),
        callsign=np.asarray(rows.column("callsign").to_pylist(), object),
        squawk=col("squawk").astype(np.int16), sigma_pos_m=col("sigma_pos_m").astype(float),
        last_update_t=t, flags=np.zeros(rows.num_rows, np.uint16),
        sensor_ids=np.asarray(sensor_ids, np.int32),
        sensor_last_t=np.where(seen, t[:, None], np.nan),
    )


class RecordingSource:
    """Steps through a recording: at stream time t, each track's latest state in the last tick."""

    def __init__(self, path: Path, tick_s: float = 1.0, loop: bool = True) -> None:
        if not Path(path).is_file():
            raise UserError(path, "recording not found")
        self.snapshot: Path | None = None
        """The copy replayed when a running service holds the recording (None otherwise)."""
        self.con = self._connect(Path(path))
        self.meta: ScenarioMeta = open_recording_meta(self.con, Path(path))
        self.sensor_ids = np.asarray(sorted(s.id for s in self.meta.sensors), np.int32)
        t0, t1 = self.con.execute("SELECT min(t), max(t) FROM track_states").fetchall()[0]
        if t0 is None or t1 is None:
            raise UserError(path, "recording holds no track states")
        self.t_first_s, self.t_last_s = float(t0), float(t1)
        self.tick_s = tick_s
        self.loop = loop
        self._prev_s: float | None = None

    def _connect(self, path: Path) -> duckdb.DuckDBPyConnection:
        """The recording read-only; while a running service writes it (DuckDB lets one
        process hold a file), a copy of it as of the writer's last checkpoint, which the
        recorder takes every `recording.checkpoint_s`."""
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise UserError(path, f"cannot open the recording ({exc})") from None
            locked = exc
        except duckdb.Error as exc:
            raise UserError(path, f"cannot open the recording ({exc})") from None
        for _ in range(SNAPSHOT_ATTEMPTS):  # a checkpoint may land mid-copy: check, retry
            folder = Path(tempfile.mkdtemp(prefix="airpicture-replay-"))
            copy = folder / path.name
            shutil.copyfile(path, copy)
            try:
                con = duckdb.connect(str(copy), read_only=True)
                con.execute("SELECT count(*) FROM track_states").fetchall()
            except duckdb.Error:
                shutil.rmtree(folder, ignore_errors=True)
                continue
            self.snapshot = copy
            weakref.finalize(self, shutil.rmtree, folder, True)  # at exit at the latest
            log.warning("%s is being written by a running service: replaying a snapshot as "
                        "of its last checkpoint (recording.checkpoint_s, %.0f s by default)",
                        path, CHECKPOINT_S)
            return con
        raise UserError(path, f"cannot open the recording ({locked}); a consistent snapshot "
                        "could not be taken either: stop the service writing it, or use its "
                        "own history (/api/history)") from None

    def _local(self, t_s: float) -> float:
        """Recording time for stream time t_s (stream time starts at the recording's start)."""
        span = self.t_last_s - self.t_first_s + self.tick_s
        if self.loop and span > 0:
            return self.t_first_s + (t_s - self.t_first_s) % span
        return min(t_s, self.t_last_s)

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        now = self._local(t_s)
        prev = self._prev_s if self._prev_s is not None and self._prev_s < now else \
            now - self.tick_s
        self._prev_s = now
        rows = self.con.sql(
            "SELECT * FROM track_states WHERE t > ? AND t <= ? "
            "QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY t DESC) = 1 "
            "ORDER BY track_id", params=[now - self.tick_s, now]).to_arrow_table()
        plots = self.con.sql("SELECT * FROM plots WHERE t > ? AND t <= ? ORDER BY t",
                             params=[prev, now]).to_arrow_table()
        tracks, batch = tracks_from_rows(rows, self.sensor_ids), PlotBatch.from_arrow(plots)
        offset_s = t_s - now if self.loop else 0.0  # looping keeps stream time increasing
        if offset_s:
            tracks.t = tracks.t + offset_s
            tracks.last_update_t = tracks.t
            tracks.sensor_last_t = tracks.sensor_last_t + offset_s
            batch.t = batch.t + offset_s
            batch.t_arrival = batch.t_arrival + offset_s
        return tracks, batch
