"""Live Mode S input: a recorded feed through airpicture.sources into the tracker and the API."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from airpicture.core.plots import PlotBatch
from airpicture.service.app import create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.serve import build_pipeline, scenario_source


@pytest.mark.slow
def test_a_recorded_mode_s_feed_is_tracked_and_served(shared_data: Path,
                                                      tmp_path: Path) -> None:
    pytest.importorskip("airpicture.tracker.stream")
    feed = tmp_path / "part.jsonl"
    with gzip.open(shared_data / "traffic/raw/full_flight_short.jsonl.gz", "rt") as fh:
        feed.write_text("".join(next(fh) for _ in range(6000)))
    cfg = ServiceConfig().with_overrides({"input": {
        "kind": "modes", "sources": [str(feed)], "receivers": ["lfpg:49.0097:2.5479"],
        "feed_speed": 0.0}})
    source = scenario_source(cfg)
    pipeline = build_pipeline(cfg, source)
    source.start()  # type: ignore[attr-defined]
    assert source.feeds_done.wait(60)  # type: ignore[attr-defined]
    pipeline.recorder.start()
    try:
        with TestClient(create_app(pipeline, start=False)) as c:
            pipeline.tick(1.0)
            pipeline.tick(2.0)
            tracks = c.get("/api/tracks").json()
            assert "393322" in {t["icao24"] for t in tracks["tracks"]}
            # The picture time is the feed's own clock (Unix time of the recording).
            assert tracks["t"] > 1e9
            sensors = {s["name"]: s for s in c.get("/api/sensors").json()["sensors"]}
            assert sensors["lfpg"]["plots_total"] > 100 and sensors["lfpg"]["alive"]
    finally:
        pipeline.recorder.close()


def test_asterix_over_udp_is_tracked(small_scenario: Path) -> None:
    import socket
    import time

    from airpicture.io.asterix.emit import emit_scenario
    from airpicture.service.live import AsterixSource
    from tests.service.conftest import FakeRuntime

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        url = f"udp://127.0.0.1:{s.getsockname()[1]}"
    source = AsterixSource([url], small_scenario, lambda meta: FakeRuntime(meta.sensors))
    source.start()
    assert source.ready.wait(10)
    sent = emit_scenario(small_scenario, url, speed=0, t0_utc_s=time.time() - 61.0)
    assert sent["datagrams"] > 0
    got = []  # decoding runs in the source's thread: wait (bounded) for every plot
    deadline = time.monotonic() + 15.0
    while True:
        time.sleep(0.2)
        tracks, step_plots = source.step(0.0)
        got.append(step_plots)
        plots = PlotBatch.concat(got)
        if (plots.sensor_id == 1).sum() >= 45 or time.monotonic() > deadline:
            break
    # The radar and ADS-B plots came back (radar every 4 s, ADS-B every s for two aircraft).
    assert np.isin(plots.sensor_id, [1, 2]).all() and (plots.sensor_id == 1).sum() == 45
    assert sorted(tracks.icao24.tolist()) == [0x3C0001, 0x3C0002, 0x3C0003]
    assert abs(source.picture_t_s - time.time()) < 5
    assert np.all(tracks.t > source.picture_t_s - 10)


def test_asterix_json_config_gives_the_tracker_its_sensors(tmp_path: Path) -> None:
    import json

    from airpicture.service.live import asterix_config

    path = tmp_path / "asterix.json"
    path.write_text(json.dumps({
        "origin": {"lat": 48.0, "lon": 2.0},
        "radars": [{"sac": 1, "sic": 7, "lat": 48.1, "lon": 2.0, "psr_sensor_id": 3,
                    "ssr_sensor_id": 4, "name": "R"}],
        "adsb": [{"sac": 1, "sic": 9, "sensor_id": 5}]}))
    cfg, sensors = asterix_config(path)
    assert cfg.t0_utc_s == 0.0
    assert [(s.id, s.kind) for s in sensors] == [(3, "psr"), (4, "ssr"), (5, "adsb")]
    assert sensors[0].x == pytest.approx(0.0, abs=1.0)
    assert sensors[0].y == pytest.approx(11_100.0, rel=0.01)  # 0.1° north


def test_feed_status_reaches_the_api_health_and_metrics(shared_data: Path,
                                                        tmp_path: Path) -> None:
    # One receiver feeds real Beast frames (after some garbage), the other is dead: the API
    # says which, the service stays up, the dead one is retried, bad frames are counted.
    import socket
    import threading
    import time

    pytest.importorskip("airpicture.tracker.stream")
    data = (shared_data / "traffic/raw/sample_dump1090.bin").read_bytes()
    listener = socket.create_server(("127.0.0.1", 0))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    live_url = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    dead_url = f"tcp://127.0.0.1:{dead_port}"

    def serve() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"\x1a\x39\x00\x01" + data)
        time.sleep(20)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    cfg = ServiceConfig().with_overrides({"input": {
        "kind": "modes", "sources": [live_url, dead_url], "feed_format": "beast",
        "receivers": ["a:52.3:4.76", "b:52.0:5.0"]}})
    source = scenario_source(cfg)
    pipeline = build_pipeline(cfg, source)
    source.start()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        feeds = {f["name"]: f for f in pipeline.feed_status()["feeds"]}
        if feeds[live_url]["frames"] >= 239 and feeds[dead_url]["reconnects"] >= 1:
            break
        time.sleep(0.1)
    pipeline.recorder.start()
    try:
        with TestClient(create_app(pipeline, start=False)) as c:
            pipeline.tick(1.0)
            body = c.get("/api/feeds").json()
            feeds = {f["name"]: f for f in body["feeds"]}
            assert feeds[live_url]["state"] == "up" and feeds[live_url]["frames"] == 239
            assert feeds[dead_url]["state"] in ("down", "connecting")
            assert feeds[dead_url]["reconnects"] >= 1 and feeds[dead_url]["last_error"]
            assert body["decoder"]["messages"] > 0
            assert sum(n for k, n in body["decoder"].items() if k.startswith("bad_")) >= 1
            health = c.get("/api/health").json()
            assert health["status"] == "degraded" and health["feeds_down"] == [dead_url]
            # tar1090's aircraft.json: every aircraft the feed made trustworthy, Mode S-only
            # ones (no track yet) without a position.
            listed = {int(a["hex"], 16): a for a in c.get("/data/aircraft.json").json()[
                "aircraft"] if not a["hex"].startswith("~")}
            verified = source.ingest.decoder.aircraft.verified  # type: ignore[attr-defined]
            assert listed and set(listed) == set(verified)
            assert any("lat" not in a and a["messages"] > 0 for a in listed.values())
            metrics = c.get("/metrics").text
            assert f'airpicture_feed_up{{feed="{live_url}"}} 1.0' in metrics
            assert f'airpicture_feed_up{{feed="{dead_url}"}} 0.0' in metrics
    finally:
        pipeline.recorder.close()
        listener.close()
