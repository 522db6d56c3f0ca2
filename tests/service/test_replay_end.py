"""`replay` of a finished recording ends (health, log, WebSocket `end`, tracks age out);
`--loop` starts it again on purpose."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from airpicture.service.app import create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.replay import RecordingSource
from airpicture.service.serve import replay_pipeline
from tests.service.test_recording import record_pattern


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "p.duckdb"
    record_pattern(path, 10).close()  # 20 tracks at t = 1..10 s
    return path


def test_replay_ends_tracks_age_out_and_clients_are_told(
        recording: Path, caplog: pytest.LogCaptureFixture) -> None:
    p = replay_pipeline(ServiceConfig(), recording, loop=False)
    with TestClient(create_app(p, start=False)) as c:
        for k in range(1, 11):
            p.tick(float(k))
        assert c.get("/api/tracks").json()["count"] == 20
        health = c.get("/api/health").json()
        assert health["replay"]["state"] == "playing" and health["replay"]["session"] == 1
        with c.websocket_connect("/ws/tracks") as ws:
            first = json.loads(ws.receive_text())
            assert first["type"] == "snapshot" and first["n"] == 20
            with caplog.at_level(logging.WARNING, "airpicture.service"):
                p.tick(11.0)
            gone = json.loads(ws.receive_text())
            assert gone["type"] == "delta" and len(gone["removed"]) == 20 and gone["n"] == 0
            end = json.loads(ws.receive_text())
            assert end == {**end, "type": "end", "reason": "end of recording", "t": 11.0}
            p.tick(12.0)  # still ticking: the picture stays empty, `end` is not repeated
            after = json.loads(ws.receive_text())
            assert after["type"] == "delta" and after["seq"] == end["seq"] + 1
        with c.websocket_connect("/ws/tracks") as late:  # a client joining after the end
            assert json.loads(late.receive_text())["n"] == 0
            assert json.loads(late.receive_text())["type"] == "end"
        assert c.get("/api/tracks").json()["count"] == 0
        health = c.get("/api/health").json()
        assert health["replay"]["state"] == "ended" and health["status"] == "ok"
        feeds = c.get("/api/feeds").json()["feeds"]
        assert [f["state"] for f in feeds] == ["done"]
    assert [r.getMessage() for r in caplog.records if "end of recording" in r.getMessage()]


def test_loop_starts_the_recording_again(recording: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    src = RecordingSource(recording, tick_s=1.0, loop=True)
    first, _ = src.step(1.0)
    for k in range(2, 11):
        src.step(float(k))
    with caplog.at_level(logging.WARNING, "airpicture.service"):
        again, _ = src.step(12.0)  # span 10 s + one tick: 12 s is the first tick of pass 2
    assert not src.ended and src.passes == 2 and src.replay_status()["state"] == "playing"
    assert list(again.track_id) == list(first.track_id)
    assert (again.t == first.t + 11.0).all()  # stream time keeps increasing
    assert any("replaying it again" in r.getMessage() for r in caplog.records)


def test_without_loop_the_last_picture_is_not_repeated(recording: Path) -> None:
    src = RecordingSource(recording, tick_s=1.0, loop=False)
    assert len(src.step(10.0)[0]) == 20 and not src.ended
    tracks, plots = src.step(11.0)
    assert len(tracks) == 0 and len(plots) == 0 and src.ended
    assert len(src.step(500.0)[0]) == 0
