"""Replaying a recording: its track states and plots, stepped by the service's clock.

One session of the recording is replayed (default: the latest).  Without looping the replay
ends after the session's last state: tracks age out (the picture empties), `ended` turns true
(the pipeline tells WebSocket clients with an `end` message, /api/health and /api/feeds say so)
and one line is logged; with looping it starts again, logged each time.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.scenario import ScenarioMeta
from airpicture.service.recorder import CHECKPOINT_S, LEGACY_SESSION, open_recording_meta

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

    def __init__(self, path: Path, tick_s: float = 1.0, loop: bool = True,
                 session: int | None = None) -> None:
        if not Path(path).is_file():
            raise UserError(path, "recording not found")
        self.path = Path(path)
        self.snapshot: Path | None = None
        """The copy replayed when a running service holds the recording (None otherwise)."""
        self.con = self._connect(Path(path))
        self.meta: ScenarioMeta = open_recording_meta(self.con, Path(path))
        self.sessions = self._sessions()
        if not self.sessions:
            raise UserError(path, "recording holds no track states")
        if session is None:
            session = self.sessions[-1]
        elif session not in self.sessions:
            raise UserError(path, f"no session {session} in this recording (sessions: "
                            f"{', '.join(map(str, self.sessions))})")
        self.session = session
        self.meta = self._session_meta(session) or self.meta
        self.sensor_ids = np.asarray(sorted(s.id for s in self.meta.sensors), np.int32)
        # The rows of the chosen session (all rows of a recording made before sessions).
        self._params: list[Any]
        self._and, self._params, self._plot_cols = \
            ("AND session = ?", [session], "* EXCLUDE (session)") if self._has_sessions() \
            else ("", [], "*")
        self._plots_and, self._plots_params = self._and, list(self._params)
        operator = self._operator_class(session)
        if operator is not None:  # a recording with release classes: the operator's picture
            self._and += " AND class_id = ?"
            self._params = [*self._params, operator]
        t0, t1 = self.con.execute(f"SELECT min(t), max(t) FROM track_states WHERE true "
                                  f"{self._and}", self._params).fetchall()[0]
        self.t_first_s, self.t_last_s = float(t0), float(t1)
        self.tick_s = tick_s
        self.loop = loop
        self.passes = 1
        """Times the replay has started the session (looping counts each new pass)."""
        self.ended = False
        """True once a replay without loop is past the session's last state."""
        self._prev_s: float | None = None

    def _operator_class(self, session: int) -> str | None:
        """The release class of the session's operator picture (None: no release policy)."""
        try:
            rows = self.con.execute("SELECT value FROM meta WHERE key = ?",
                                    [f"operator_class:{session}"]).fetchall()
        except duckdb.Error:
            return None
        return str(rows[0][0]) if rows else None

    def _has_sessions(self) -> bool:
        cols = self.con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                "table_name = 'track_states'").fetchall()
        return ("session",) in cols

    def _sessions(self) -> list[int]:
        """The sessions holding track states (a recording from before sessions: just 0)."""
        if not self._has_sessions():
            n = self.con.execute("SELECT count(*) FROM track_states").fetchall()[0][0]
            return [LEGACY_SESSION] if n else []
        rows = self.con.execute("SELECT DISTINCT session FROM track_states ORDER BY 1")
        return [int(s) for (s,) in rows.fetchall() if s is not None]

    def _session_meta(self, session: int) -> ScenarioMeta | None:
        """The scenario description stored with the session (None: the file's only one)."""
        if not self._has_sessions():
            return None
        try:
            rows = self.con.execute("SELECT scenario FROM sessions WHERE id = ?",
                                    [session]).fetchall()
        except duckdb.Error:
            return None
        if not rows or not rows[0][0]:
            return None
        return ScenarioMeta.from_json(json.loads(rows[0][0]), str(self.path))

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
        """Recording time for stream time t_s (stream time starts at the recording's start);
        past the end without looping, t_s itself: nothing is recorded there."""
        span = self.t_last_s - self.t_first_s + self.tick_s
        if self.loop and span > 0:
            passes = int((t_s - self.t_first_s) // span) + 1
            if passes > self.passes:
                self.passes = passes
                log.warning("%s: end of recording (session %d); --loop: replaying it again "
                            "(pass %d)", self.path, self.session, passes)
            return self.t_first_s + (t_s - self.t_first_s) % span
        if t_s > self.t_last_s and not self.ended:
            self.ended = True
            log.warning("%s: end of recording (session %d, last state at t=%.1f s); its "
                        "tracks age out (--loop replays it again)", self.path, self.session,
                        self.t_last_s)
        return t_s

    def replay_status(self) -> dict[str, Any]:
        """What /api/health shows of the replay: playing or ended, session, span, passes."""
        return {"state": "ended" if self.ended else "playing", "recording": str(self.path),
                "session": self.session, "sessions": self.sessions, "loop": self.loop,
                "passes": self.passes, "t_first": self.t_first_s, "t_last": self.t_last_s}

    def feeds(self) -> dict[str, Any]:
        """The recording as the one feed of /api/feeds: 'up' while playing, 'done' once ended."""
        return {"feeds": [{"name": f"recording {self.path.name} session {self.session}",
                           "state": "done" if self.ended else "up",
                           "detail": "end of recording" if self.ended else "replaying"}],
                "decoder": {}}

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        now = self._local(t_s)
        prev = self._prev_s if self._prev_s is not None and self._prev_s < now else \
            now - self.tick_s
        self._prev_s = now
        rows = self.con.sql(
            f"SELECT * FROM track_states WHERE t > ? AND t <= ? {self._and} "
            "QUALIFY row_number() OVER (PARTITION BY track_id ORDER BY t DESC) = 1 "
            "ORDER BY track_id", params=[now - self.tick_s, now, *self._params]
        ).to_arrow_table()
        plots = self.con.sql(f"SELECT {self._plot_cols} FROM plots WHERE t > ? AND t <= ? "
                             f"{self._plots_and} ORDER BY t",
                             params=[prev, now, *self._plots_params]
                             ).to_arrow_table()
        tracks, batch = tracks_from_rows(rows, self.sensor_ids), PlotBatch.from_arrow(plots)
        offset_s = t_s - now if self.loop else 0.0  # looping keeps stream time increasing
        if offset_s:
            tracks.t = tracks.t + offset_s
            tracks.last_update_t = tracks.t
            tracks.sensor_last_t = tracks.sensor_last_t + offset_s
            batch.t = batch.t + offset_s
            batch.t_arrival = batch.t_arrival + offset_s
        return tracks, batch
