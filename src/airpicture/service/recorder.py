"""Recording in DuckDB: one owning thread appends batched Arrow tables and commits them.

Rows count as acknowledged only once their transaction has committed (DuckDB's WAL is on disk),
so a crash loses nothing acknowledged.  Queries (history, replay) use their own cursors.
Each run recording into a file is a session of its own (`session` column, `sessions` table):
recording into an existing file appends a new session and never mixes it with the old ones.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from airpicture.core.errors import UserError
from airpicture.core.geo import LocalFrame
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.scenario import ScenarioMeta
from airpicture.service.encode import SensorIndex, service_masks

TRACKS_DDL = """CREATE TABLE IF NOT EXISTS track_states (
    t DOUBLE, track_id BIGINT, x DOUBLE, y DOUBLE, vx DOUBLE, vy DOUBLE, lat DOUBLE,
    lon DOUBLE, alt_ft DOUBLE, vrate_fpm DOUBLE, status TINYINT, icao24 BIGINT, callsign VARCHAR,
    squawk SMALLINT, sigma_pos_m DOUBLE, sensor_mask UBIGINT, session INTEGER)"""
# The column `class_id VARCHAR` (release class of a state, NULL without a policy) is added
# when a recorder opens the file (`_new_session_id`), as for files older than it.
PLOTS_DDL = """CREATE TABLE IF NOT EXISTS plots (
    t DOUBLE, sensor_id INTEGER, x DOUBLE, y DOUBLE, var_x DOUBLE, var_y DOUBLE, cov_xy DOUBLE,
    icao24 BIGINT, alt_ft DOUBLE, nacp TINYINT, nic TINYINT, sil TINYINT, flags USMALLINT,
    squawk SMALLINT, callsign VARCHAR, t_arrival DOUBLE, session INTEGER)"""
META_DDL = "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
SESSIONS_DDL = """CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, started_unix_s DOUBLE, input VARCHAR, scenario VARCHAR)"""
LEGACY_SESSION = 0
"""The session of rows recorded before sessions existed (files without a `session` column)."""
TABLES = ("track_states", "plots")
CHECKPOINT_S = 10.0
"""Default seconds between checkpoints of a file recording: the age of what another process
can read (`airpicture replay` copies the file while a service holds it)."""


def track_rows(tracks: TrackTable, frame: LocalFrame, index: SensorIndex) -> pa.Table:
    """Track states as rows of `track_states` (sensor_mask bit i: the i-th sensor by id)."""
    lat, lon = frame.ground_to_geodetic(tracks.x, tracks.y)
    smask, _ = service_masks(tracks, index)
    return pa.table({
        "t": tracks.t, "track_id": tracks.track_id, "x": tracks.x, "y": tracks.y,
        "vx": tracks.vx, "vy": tracks.vy, "lat": lat, "lon": lon, "alt_ft": tracks.alt_ft,
        "vrate_fpm": tracks.vrate_fpm, "status": tracks.status, "icao24": tracks.icao24,
        "callsign": pa.array([str(c) for c in tracks.callsign], pa.string()),
        "squawk": tracks.squawk, "sigma_pos_m": tracks.sigma_pos_m,
        "sensor_mask": smask.astype(np.uint64),
    })


def plot_rows(plots: PlotBatch) -> pa.Table:
    """Plots as rows of `plots` (no truth_id: recordings are of live data)."""
    return plots.to_arrow().drop_columns(["truth_id"])


QUEUE_ITEMS = 1000
"""Tables (one per tick and kind) waiting for the writer; beyond this, put() drops and counts."""
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
CLOSE_TIMEOUT_S = 3.0
"""At most this long for close() to commit what is queued: shutdown never hangs on a disk."""


class Recorder:
    """Owns one DuckDB database (a file, or memory when path is None) and its writer thread.

    Recording is a consumer, never a brake: `put` never blocks (a full queue drops the tables
    and counts their rows), a failed write is reported (`state`, `last_error`, `problems()`,
    one line on stderr) and retried with back-off, and `close` is bounded in time.
    """

    def __init__(self, path: Path | None, retention_s: float = 3600.0,
                 flush_s: float = 0.5, checkpoint_s: float = CHECKPOINT_S,
                 queue_items: int = QUEUE_ITEMS) -> None:
        self.path = path
        self.retention_s = retention_s
        self.flush_s = flush_s
        self.checkpoint_s = checkpoint_s
        try:
            self._con = duckdb.connect(str(path) if path else ":memory:")
        except duckdb.Error as exc:
            raise UserError(path, f"cannot open the recording ({exc})") from None
        try:
            for ddl in (TRACKS_DDL, PLOTS_DDL, META_DDL, SESSIONS_DDL):
                self._con.execute(ddl)
            # This run's session: every row it writes carries it (/api/history's default).
            self.session_id = self._new_session_id()
        except duckdb.Error as exc:
            raise UserError(path, f"cannot use the recording ({exc})") from None
        self._queue: queue.Queue[tuple[str, pa.Table] | None] = queue.Queue(maxsize=queue_items)
        self._committed = dict.fromkeys(TABLES, 0)
        self._dropped = dict.fromkeys(TABLES, 0)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._max_t = -np.inf
        self._last_retention = 0.0
        self._thread: threading.Thread | None = None
        self.batches_committed = 0
        self.state = "idle"
        """idle (not started), ok, retrying (the last write failed), stopped."""
        self.errors = 0
        self.last_error: str | None = None
        self.last_error_unix_s: float | None = None
        self.failing_since_unix_s: float | None = None
        self.retry_in_s = 0.0
        self._last_drop_monotonic = -np.inf

    def _new_session_id(self) -> int:
        """One more than the file's last session; a file recorded before sessions existed
        gets its `session` column (old rows: LEGACY_SESSION) and a sessions row for them."""
        con = self._con
        for name in TABLES:
            cols = {c for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [name]).fetchall()}
            if "session" not in cols:
                con.execute(f"ALTER TABLE {name} ADD COLUMN session INTEGER "
                            f"DEFAULT {LEGACY_SESSION}")
            if name == "track_states" and "class_id" not in cols:  # new, or before classes
                con.execute("ALTER TABLE track_states ADD COLUMN class_id VARCHAR")
        old = con.execute("SELECT (SELECT count(*) FROM track_states WHERE session = ?) + "
                          "(SELECT count(*) FROM plots WHERE session = ?)",
                          [LEGACY_SESSION, LEGACY_SESSION]).fetchall()[0][0]
        if old:
            con.execute("INSERT OR IGNORE INTO sessions SELECT ?, NULL, 'recorded before "
                        "sessions', (SELECT value FROM meta WHERE key = 'scenario')",
                        [LEGACY_SESSION])
        last = con.execute("SELECT greatest((SELECT max(id) FROM sessions), "
                           "(SELECT max(session) FROM track_states), "
                           "(SELECT max(session) FROM plots))").fetchall()[0][0]
        return 1 if last is None else int(last) + 1

    def sessions(self) -> list[dict[str, Any]]:
        """Every session in the file: id, start (Unix s), input, stream time range, rows."""
        return self.query(
            "WITH s AS (SELECT session AS id, min(t) AS t0, max(t) AS t1, count(*) AS rows "
            "FROM track_states GROUP BY session) "
            "SELECT coalesce(m.id, s.id) AS id, m.started_unix_s, m.input, s.t0, s.t1, "
            "coalesce(s.rows, 0) AS track_states FROM sessions m FULL JOIN s ON m.id = s.id "
            "ORDER BY 1").to_pylist()

    def start(self) -> None:
        self.state = "ok"
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Commit what is queued (one attempt), stop the writer, checkpoint and close the file;
        at most timeout_s: a writer stuck on its disk is left behind (a daemon thread)."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                self._say(f"did not finish writing within {timeout_s:g} s; closing without "
                          "its last rows")
                self.state = "stopped"
                return
            self._thread = None
        self.state = "stopped"
        with contextlib.suppress(duckdb.Error):
            self._con.close()

    def write_meta(self, meta: ScenarioMeta, input_text: str = "") -> None:
        """Store the scenario description (sensors, frame origin) so replay can rebuild views,
        and this session's row (start wall time, the input it records, e.g. 'scenario DIR')."""
        value = json.dumps(meta.to_json())
        try:
            self._con.execute("INSERT OR REPLACE INTO meta VALUES ('scenario', ?)", [value])
            self._con.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)",
                              [self.session_id, time.time(), input_text, value])
        except duckdb.Error as exc:
            raise UserError(self.path, f"cannot write the recording ({exc})") from None

    def put(self, plots: PlotBatch, tracks: TrackTable, frame: LocalFrame,
            index: SensorIndex, class_id: str | None = None) -> None:
        """Queue one tick's plots and track states (already released by Egress); never blocks:
        when the writer is behind (full queue), the rows are dropped and counted.  `class_id`:
        the release class whose picture the states are (None: no release policy)."""
        if self._queue.full():  # not even worth converting
            self._count_dropped("plots", len(plots))
            self._count_dropped("track_states", len(tracks))
            return
        if len(plots):
            self._offer("plots", plot_rows(plots))
        if len(tracks):
            rows = track_rows(tracks, frame, index)
            if class_id is not None:
                rows = rows.append_column("class_id", pa.array([class_id] * len(tracks),
                                                               pa.string()))
            self._offer("track_states", rows)

    def set_operator_class(self, class_id: str) -> None:
        """Name the class of this session's operator picture (what a replay shows)."""
        with self._lock:
            self._con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                              [f"operator_class:{self.session_id}", class_id])

    def _offer(self, name: str, table: pa.Table) -> None:
        try:
            self._queue.put_nowait((name, table))
        except queue.Full:
            self._count_dropped(name, table.num_rows)

    def _count_dropped(self, name: str, rows: int) -> None:
        if rows <= 0:
            return
        with self._lock:
            self._dropped[name] += rows
        self._last_drop_monotonic = time.monotonic()

    def committed(self) -> dict[str, int]:
        """Rows durably committed per table since this recorder started."""
        with self._lock:
            return dict(self._committed)

    def dropped(self) -> dict[str, int]:
        """Rows never recorded per table: the queue was full, or a write failed for good."""
        with self._lock:
            return dict(self._dropped)

    def queued(self) -> int:
        """Tables waiting for the writer."""
        return self._queue.qsize()

    def status(self) -> dict[str, Any]:
        """State, counters and the last error, as /api/recording shows them."""
        return {"path": str(self.path) if self.path else None, "state": self.state,
                "session": self.session_id,
                "rows_committed": self.committed(), "rows_dropped": self.dropped(),
                "batches_committed": self.batches_committed, "queued": self.queued(),
                "errors": self.errors, "last_error": self.last_error,
                "last_error_unix_s": self.last_error_unix_s,
                "failing_since_unix_s": self.failing_since_unix_s,
                "retry_in_s": self.retry_in_s if self.state == "retrying" else None}

    def problems(self, recent_s: float = 60.0) -> list[str]:
        """What is wrong with the recording now (for /api/health), one line each."""
        where = str(self.path) if self.path else "in memory"
        out = []
        if self.state == "retrying":
            out.append(f"recording ({where}): writes failing ({self.last_error}); retried "
                       f"every {self.retry_in_s:g} s, rows dropped: {self.dropped()}")
        elif self.state == "ok" and self._thread is not None and not self._thread.is_alive():
            out.append(f"recording ({where}): the writer thread has stopped")
        if self.state == "ok" and time.monotonic() - self._last_drop_monotonic < recent_s:
            out.append(f"recording ({where}): writer behind, rows dropped in the last "
                       f"{recent_s:g} s (total {self.dropped()})")
        return out

    def _say(self, text: str) -> None:
        """One line on stderr (a full disk may refuse even that)."""
        with contextlib.suppress(OSError, ValueError):
            print(f"airpicture: recording {self.path or '(memory)'}: {text}", file=sys.stderr,
                  flush=True)

    def _drain(self) -> tuple[list[tuple[str, pa.Table]], bool]:
        """Items queued within one flush interval; True when asked to stop."""
        items: list[tuple[str, pa.Table]] = []
        deadline = time.monotonic() + self.flush_s
        while True:
            timeout = deadline - time.monotonic()
            if self._stopping.is_set():
                timeout = 0.0
            try:
                item = self._queue.get(timeout=timeout) if timeout > 0 else \
                    self._queue.get_nowait()
            except queue.Empty:
                return items, self._stopping.is_set()
            if item is None:
                return items, True
            items.append(item)

    def _commit(self, items: list[tuple[str, pa.Table]]) -> None:
        """Append every queued table in one transaction; acknowledge after COMMIT."""
        counts = dict.fromkeys(TABLES, 0)
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            for name in TABLES:
                tables = [t for n, t in items if n == name]
                if not tables:
                    continue
                batch = pa.concat_tables(tables, promote_options="permissive")
                con.register("_batch", batch)
                con.execute(f"INSERT INTO {name} BY NAME SELECT *, "
                            f"{int(self.session_id)}::INTEGER AS session FROM _batch")
                con.unregister("_batch")
                counts[name] = batch.num_rows
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        for _, table in items:
            tmax = pa.compute.max(table.column("t")).as_py()
            if tmax is not None:
                self._max_t = max(self._max_t, float(tmax))
        with self._lock:
            for name, rows in counts.items():
                self._committed[name] += rows
        self.batches_committed += 1

    def _retain(self) -> None:
        """Delete rows older than the retention window (every few seconds, not every batch)."""
        now = time.monotonic()
        if now - self._last_retention < 5.0 or not np.isfinite(self._max_t):
            return
        self._last_retention = now
        cutoff = self._max_t - self.retention_s
        for name in TABLES:
            self._con.execute(f"DELETE FROM {name} WHERE t < ?", [cutoff])

    def _failed(self, exc: Exception) -> None:
        """Record a failed write: state, counters, back-off, one line on stderr."""
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.last_error_unix_s = time.time()
        if self.state != "retrying":
            self.failing_since_unix_s = self.last_error_unix_s
            self.retry_in_s = BACKOFF_MIN_S
        else:
            self.retry_in_s = min(2.0 * self.retry_in_s, BACKOFF_MAX_S)
        self.state = "retrying"
        self._say(f"write failed ({self.last_error}); retrying in {self.retry_in_s:g} s")

    def _recovered(self) -> None:
        if self.state == "retrying":
            self._say(f"writing again after {self.errors} failed attempt(s)")
        self.state = "ok"
        self.failing_since_unix_s = None

    def _run(self) -> None:
        """Commit what arrives every flush interval; on a failed write keep the rows (at most
        one queue's worth, the oldest go first) and retry after a growing back-off."""
        stop = False
        pending: list[tuple[str, pa.Table]] = []
        checkpointed = time.monotonic()
        limit = self._queue.maxsize
        while not stop:
            items, stop = self._drain()
            pending.extend(items)
            if len(pending) > limit:
                for name, table in pending[:-limit]:
                    self._count_dropped(name, table.num_rows)
                pending = pending[-limit:]
            try:
                if pending:
                    self._commit(pending)
                    pending = []
                self._retain()
                if time.monotonic() - checkpointed >= self.checkpoint_s or \
                        self.state == "retrying":
                    # Fold the WAL into the file, so that a copy of it (what `replay` reads
                    # while this process holds the lock) is at most checkpoint_s old.
                    self._con.execute("CHECKPOINT")
                    checkpointed = time.monotonic()
                self._recovered()
            except Exception as exc:  # a recorder never dies: report, back off, retry
                self._failed(exc)
                if not stop:
                    self._stopping.wait(self.retry_in_s)
        for name, table in pending:  # stopping after a failed last attempt
            self._count_dropped(name, table.num_rows)
        with contextlib.suppress(Exception):
            self._con.execute("CHECKPOINT")

    # Queries: each on its own cursor, safe beside the writer thread.

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a read query on a fresh cursor of the owned database."""
        cur = self._con.cursor()
        try:
            return cur.sql(sql, params=params or []).to_arrow_table()
        finally:
            cur.close()

    def time_range(self, session: int | None = None) -> tuple[float | None, float | None]:
        """First and last recorded track-state time: of one session, or (None) of the file."""
        where, params = ("", []) if session is None else (" WHERE session = ?", [session])
        row = self.query("SELECT min(t) AS t0, max(t) AS t1 FROM track_states" + where,
                         params).to_pylist()[0]
        return row["t0"], row["t1"]

    def history(self, t0_s: float, t1_s: float,
                bbox: tuple[float, float, float, float] | None = None,
                session: int | None = None) -> pa.Table:
        """Track states of a session (default this one) with t in [t0_s, t1_s] (and inside
        lon/lat bbox), ordered by t."""
        sql = "SELECT * FROM track_states WHERE session = ? AND t BETWEEN ? AND ?"
        params: list[Any] = [self.session_id if session is None else session, t0_s, t1_s]
        if bbox is not None:
            sql += " AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?"
            params += [bbox[0], bbox[2], bbox[1], bbox[3]]
        return self.query(sql + " ORDER BY t, track_id", params)

    def track_history(self, track_id: int, limit: int = 200,
                      class_id: str | None = None) -> pa.Table:
        """The last `limit` states of one track in this session, oldest first (of one release
        class's picture when `class_id` is given: track numbers are per class)."""
        where, params = ("", []) if class_id is None else (" AND class_id = ?", [class_id])
        return self.query(
            "SELECT * FROM (SELECT * FROM track_states WHERE session = ? AND track_id = ?"
            f"{where} ORDER BY t DESC LIMIT ?) ORDER BY t",
            [self.session_id, track_id, *params, limit])


def open_recording_meta(con: duckdb.DuckDBPyConnection, where: Path) -> ScenarioMeta:
    """The scenario description stored in a recording."""
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = 'scenario'").fetchall()
    except duckdb.Error:
        raise UserError(where, "not an airpicture recording (no meta table)") from None
    if not rows:
        raise UserError(where, "recording has no scenario description")
    return ScenarioMeta.from_json(json.loads(rows[0][0]), str(where))
