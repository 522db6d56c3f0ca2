"""Recording into an existing file appends a new session (never merged with the old ones);
replay and /api/history choose the session; recordings from before sessions read as session 0."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.service.app import create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.encode import SensorIndex
from airpicture.service.pipeline import Pipeline
from airpicture.service.recorder import LEGACY_SESSION, Recorder
from airpicture.service.replay import RecordingSource
from airpicture.service.serve import build_pipeline
from airpicture.service.sources import PatternSource, TrackerSource
from tests.service.conftest import FakeRuntime, small_meta, small_plots
from tests.service.test_recording import record_pattern


def pipeline_into(path: Path) -> Pipeline:
    cfg = ServiceConfig().with_overrides({"recording": {"path": str(path), "flush_s": 0.05}})
    meta = small_meta()
    return build_pipeline(cfg, TrackerSource(meta, small_plots(), FakeRuntime(meta.sensors)))


def run_session(path: Path, ticks: int = 5) -> int:
    """One `serve --record path` run of `ticks` ticks; its session id."""
    p = pipeline_into(path)
    p.recorder.start()
    for k in range(1, ticks + 1):
        p.tick(p.t0_s + k)
    p.recorder.close()
    return p.recorder.session_id


def wait_recorded_until(p: Pipeline, t_s: float) -> None:
    """Until this session's rows up to t_s are committed (at most 10 s)."""
    deadline = time.monotonic() + 10
    while (p.recorder.time_range(p.recorder.session_id)[1] or 0.0) < t_s and \
            time.monotonic() < deadline:
        time.sleep(0.05)


def test_recording_again_appends_a_session_of_its_own(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "r.duckdb"
    assert run_session(db) == 1
    assert "appending" not in capsys.readouterr().err
    assert run_session(db) == 2
    assert "appending session 2" in capsys.readouterr().err  # said, never silent
    con = duckdb.connect(str(db), read_only=True)
    spans = con.execute("SELECT session, min(t), max(t) FROM track_states WHERE track_id = ? "
                        "GROUP BY 1 ORDER BY 1", [0x3C0001]).fetchall()
    assert spans == [(1, 1.0, 5.0), (2, 7.0, 11.0)]
    plots = con.execute("SELECT DISTINCT session FROM plots ORDER BY 1").fetchall()
    assert plots == [(1,), (2,)]
    rows = con.execute("SELECT id, started_unix_s, input FROM sessions ORDER BY id").fetchall()
    assert [r[0] for r in rows] == [1, 2] and rows[0][1] <= rows[1][1] <= time.time()
    assert all(r[2].startswith("preset ") for r in rows)
    con.close()
    latest = RecordingSource(db, loop=False)
    assert (latest.session, latest.sessions) == (2, [1, 2])
    assert latest.t_first_s > 5.0 and latest.t_last_s == 11.0
    first = RecordingSource(db, loop=False, session=1)
    assert first.t_last_s == 5.0
    assert len(first.step(5.0)[0]) >= 2 and first.step(6.0)[0].t.max(initial=0) <= 5.0
    with pytest.raises(UserError, match=r"no session 7 .*sessions: 1, 2"):
        RecordingSource(db, session=7)


def test_history_serves_the_current_session_unless_asked(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    run_session(db)
    p = pipeline_into(db)
    with TestClient(create_app(p, start=False)) as c:
        p.recorder.start()
        for k in range(1, 4):
            p.tick(p.t0_s + k)
        wait_recorded_until(p, 9.0)
        now = c.get("/api/history", params={"t0": 0, "t1": 100}).json()
        assert min(now["cols"]["t"]) > 5.0 and max(now["cols"]["t"]) == 9.0  # session 2
        old = c.get("/api/history", params={"t0": 0, "t1": 100, "session": 1}).json()
        assert max(old["cols"]["t"]) == 5.0 and min(old["cols"]["t"]) <= 1.0
        span = c.get("/api/history/range").json()
        assert span["t0"] > 5.0 and (span["t1"], span["session"]) == (9.0, 2)
        assert [s["id"] for s in span["sessions"]] == [1, 2]
        assert c.get("/api/history/range", params={"session": 1}).json()["t1"] == 5.0
        assert c.get("/api/recording").json()["session"] == 2
        track = c.get(f"/api/tracks/{0x3C0001}").json()
        assert min(track["history"]["t"]) >= 7.0  # this session's states only
        p.recorder.close()


def strip_sessions(path: Path) -> None:
    """Make `path` look like a recording from before sessions existed."""
    con = duckdb.connect(str(path))
    for name in ("track_states", "plots"):
        con.execute(f"ALTER TABLE {name} DROP COLUMN session")
    con.execute("DROP TABLE sessions")
    con.close()


def test_a_recording_from_before_sessions_reads_as_session_0(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    record_pattern(db, 10).close()
    strip_sessions(db)
    old = RecordingSource(db, loop=False)
    assert (old.session, old.sessions, old.t_last_s) == (LEGACY_SESSION, [0], 10.0)
    assert len(old.step(5.0)[0]) == 20
    del old
    src = PatternSource(20)
    rec = Recorder(db, flush_s=0.05)  # recording into it: old rows become session 0
    assert rec.session_id == 1
    rec.write_meta(src.meta, "pattern")
    rec.start()
    index = SensorIndex.create([s.id for s in src.meta.sensors],
                               [s.kind for s in src.meta.sensors])
    rec.put(PlotBatch.empty(), src.step(20.0)[0], src.meta.frame, index)
    rec.close()
    sessions = {s["id"]: s for s in Recorder(db).sessions()}
    assert sessions[0]["input"] == "recorded before sessions"
    assert (sessions[0]["t0"], sessions[0]["t1"], sessions[0]["track_states"]) == \
        (1.0, 10.0, 200)
    assert (sessions[1]["t0"], sessions[1]["input"]) == (20.0, "pattern")
    assert RecordingSource(db, loop=False).t_first_s == 20.0
    assert RecordingSource(db, loop=False, session=0).t_last_s == 10.0
