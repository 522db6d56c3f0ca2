"""Recording: acknowledged rows survive SIGKILL; retention; replay of a recording."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import numpy as np
import pytest

from airpicture.core.plots import PlotBatch
from airpicture.service.encode import SensorIndex
from airpicture.service.recorder import Recorder
from airpicture.service.replay import RecordingSource
from airpicture.service.sources import PatternSource

ROOT = Path(__file__).resolve().parents[2]


def start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    """Start a service subprocess and return it with its base URL (printed on start)."""
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"http://[\d.]+:\d+/", line)
        if m:
            return proc, m.group(0)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"service did not start: {proc.stdout.read()}")


@pytest.mark.slow
def test_acknowledged_rows_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "rec.duckdb"
    proc, url = start([sys.executable, "-m", "tests.service.serve_fake", str(db), "20"])
    try:
        acked: dict[str, int] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            acked = httpx.get(url + "api/recording").json()["rows_committed"]
            if acked["track_states"] >= 40 and acked["plots"] > 0:
                break
            time.sleep(0.05)
        assert acked["track_states"] >= 40
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    con = duckdb.connect(str(db))
    tracks = con.execute("SELECT count(*), count(DISTINCT t) FROM track_states").fetchone()
    plots = con.execute("SELECT count(*) FROM plots").fetchone()
    assert tracks is not None and plots is not None
    assert tracks[0] >= acked["track_states"] and plots[0] >= acked["plots"]
    ids = con.execute("SELECT DISTINCT track_id FROM track_states ORDER BY 1").fetchall()
    assert [i for (i,) in ids] == [0x3C0001, 0x3C0002, 0x3C0003]


def record_pattern(path: Path, ticks: int, retention_s: float = 3600.0) -> Recorder:
    src = PatternSource(20)
    rec = Recorder(path, retention_s=retention_s, flush_s=0.05)
    rec.write_meta(src.meta)
    index = SensorIndex.create([s.id for s in src.meta.sensors],
                               [s.kind for s in src.meta.sensors])
    rec.start()
    for k in range(1, ticks + 1):
        tracks, _ = src.step(float(k))
        rec.put(PlotBatch.empty(), tracks, src.meta.frame, index)
    return rec


def test_replay_gives_back_the_recorded_tracks(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    record_pattern(path, 10).close()
    src = RecordingSource(path, tick_s=1.0, loop=False)
    assert (src.t_first_s, src.t_last_s) == (1.0, 10.0)
    tracks, _ = src.step(5.0)
    truth, _ = PatternSource(20).step(5.0)
    np.testing.assert_array_equal(tracks.track_id, truth.track_id)
    np.testing.assert_allclose(tracks.x, truth.x)
    np.testing.assert_array_equal(tracks.sensor_mask(), truth.sensor_mask())
    assert list(tracks.callsign) == list(truth.callsign)


def test_retention_deletes_old_rows(tmp_path: Path) -> None:
    rec = record_pattern(tmp_path / "r.duckdb", 30, retention_s=5.0)
    deadline = time.monotonic() + 10
    while rec.committed()["track_states"] < 600 and time.monotonic() < deadline:
        time.sleep(0.05)
    rec._last_retention = 0.0  # run retention now rather than in 5 s
    rec.put(PlotBatch.empty(), PatternSource(20).step(31.0)[0], PatternSource(20).meta.frame,
            SensorIndex.create([1, 2, 3], ["psr", "ssr", "adsb"]))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        t0, _ = rec.time_range()
        if t0 is not None and t0 >= 26.0:
            break
        time.sleep(0.05)
    assert rec.time_range() == (26.0, 31.0)
    rec.close()


@pytest.mark.slow
def test_replay_command_serves_a_recording_then_ends(tmp_path: Path) -> None:
    path = tmp_path / "p.duckdb"
    record_pattern(path, 20).close()
    proc, url = start([sys.executable, "-m", "airpicture", "replay", str(path), "--speed", "4",
                       "--port", "0"])
    try:
        deadline = time.monotonic() + 30
        got: dict = {}
        while time.monotonic() < deadline:
            got = httpx.get(url + "api/tracks").json()
            if got["count"]:
                break
            time.sleep(0.1)
        assert got["count"] == 20 and got["tracks"][0]["callsign"] == "TST0000"
        assert 1.0 <= got["t"] <= 20.0
        health: dict = {}
        while time.monotonic() < deadline:  # 20 s of recording at 4x: ends within 5 s
            health = httpx.get(url + "api/health").json()
            if health["replay"]["state"] == "ended":
                break
            time.sleep(0.1)
        assert health["replay"]["state"] == "ended" and health["t"] > 20.0
        assert httpx.get(url + "api/tracks").json()["count"] == 0  # aged out
        assert proc.poll() is None  # the service stays up (history, map) until stopped
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "end of recording" in out


def test_recording_again_into_a_file_carries_on_after_it(tmp_path: Path) -> None:
    from airpicture.service.config import ServiceConfig
    from airpicture.service.serve import build_pipeline
    from airpicture.service.sources import TrackerSource
    from tests.service.conftest import FakeRuntime, small_meta, small_plots

    cfg = ServiceConfig().with_overrides({"recording": {"path": str(tmp_path / "r.duckdb"),
                                                        "flush_s": 0.05}})
    for _ in range(2):
        meta = small_meta()
        p = build_pipeline(cfg, TrackerSource(meta, small_plots(), FakeRuntime(meta.sensors)))
        p.recorder.start()
        for k in range(1, 6):
            p.tick(p.t0_s + k)
        p.recorder.close()
    con = duckdb.connect(str(tmp_path / "r.duckdb"))
    times = [t for (t,) in con.execute(
        "SELECT DISTINCT t FROM track_states WHERE track_id = 3932161 ORDER BY t").fetchall()]
    assert times == [1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 8.0, 9.0, 10.0, 11.0]


@pytest.mark.slow
def test_replay_of_a_recording_a_running_service_writes(tmp_path: Path) -> None:
    # DuckDB lets one process hold the file: replay copies it as of the writer's last
    # checkpoint (every 0.5 s here) and replays the copy; the service keeps recording.
    db = tmp_path / "live.duckdb"
    proc, url = start([sys.executable, "-m", "tests.service.serve_fake", str(db), "20"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if httpx.get(url + "api/recording").json()["rows_committed"]["track_states"] >= 40:
                break
            time.sleep(0.05)
        time.sleep(1.5)  # a checkpoint after those rows
        with pytest.raises(duckdb.IOException, match=r"(?i)lock"):
            duckdb.connect(str(db), read_only=True)
        source = RecordingSource(db, tick_s=1.0, loop=False)
        assert source.snapshot is not None and source.snapshot != db
        ids = source.con.execute("SELECT DISTINCT track_id FROM track_states ORDER BY 1")
        assert [i for (i,) in ids.fetchall()] == [0x3C0001, 0x3C0002, 0x3C0003]
        tracks, _ = source.step(source.t_last_s)
        assert len(tracks) >= 1 and (tracks.t <= source.t_last_s).all()
        assert source.t_last_s - source.t_first_s >= 10.0
        assert proc.poll() is None  # the service was not disturbed
        folder = source.snapshot.parent
        del source, tracks
        import gc

        gc.collect()
        assert not folder.exists()  # the copy goes with the source
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
