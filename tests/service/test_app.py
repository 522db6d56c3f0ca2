"""REST and WebSocket APIs on a pipeline ticked by hand (fake tracker, small scenario)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from airpicture.core.tracks import TrackTable
from airpicture.policy.egress import Consumer, Egress, ReleaseAll
from airpicture.service.app import create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.pipeline import Pipeline
from airpicture.service.serve import build_pipeline
from airpicture.service.sources import TrackerSource
from tests.service.conftest import FakeRuntime, small_meta, small_plots


class DropDLH(ReleaseAll):
    """A release policy that withholds one callsign: proves every output passes Egress."""

    def tracks(self, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        return tracks.take([c != "DLH2" for c in tracks.callsign])

    def plots(self, plots, consumer):  # type: ignore[no-untyped-def]
        return plots

    def track_rows(self, rows: pa.Table, consumer: Consumer) -> pa.Table:
        return rows


class HideDLHHistory(DropDLH):
    """Releases DLH2 live but not its history: history must be filtered when it is read."""

    def tracks(self, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        return tracks

    def track_rows(self, rows: pa.Table, consumer: Consumer) -> pa.Table:
        keep = [c != "DLH2" for c in rows.column("callsign").to_pylist()]
        return rows.filter(pa.array(keep))


def make_pipeline(egress: Egress | None = None) -> Pipeline:
    meta = small_meta()
    src = TrackerSource(meta, small_plots(), FakeRuntime(meta.sensors))
    return build_pipeline(ServiceConfig(), src, egress=egress)


@pytest.fixture
def client() -> Iterator[tuple[TestClient, Pipeline]]:
    p = make_pipeline()
    p.recorder.start()
    with TestClient(create_app(p, start=False)) as c:
        yield c, p
    p.recorder.close()


def wait_committed(p: Pipeline, n: int) -> None:
    deadline = time.monotonic() + 10
    while p.recorder.committed()["track_states"] < n and time.monotonic() < deadline:
        time.sleep(0.05)


def test_tracks_and_filters(client: tuple[TestClient, Pipeline]) -> None:
    c, p = client
    for k in range(1, 9):
        p.tick(float(k))
    all_ = c.get("/api/tracks").json()
    assert all_["count"] == 3 and all_["t"] == 8.0
    by_id = {r["icao24"]: r for r in all_["tracks"]}
    # Aircraft 1 at x = -30000 + 100 t, y = 0: west of the origin on its latitude.
    assert by_id["3c0001"]["x"] == pytest.approx(-30_000 + 800)
    assert by_id["3c0001"]["lon"] < 2.35
    assert by_id["3c0003"]["kinds"] == 2 and by_id["3c0001"]["kinds"] == 6
    q = {"callsign": "dlh", "icao24": "3c0001", "squawk": "7000", "sensor": 2,
         "alt_min_ft": 10000, "alt_max_ft": 20000}
    expect = {"callsign": {"3c0002"}, "icao24": {"3c0001"}, "squawk": {"3c0003"},
              "sensor": {"3c0001", "3c0002"}, "alt_min_ft": {"3c0001", "3c0002"},
              "alt_max_ft": {"3c0002", "3c0003"}}
    for key, value in q.items():
        got = {r["icao24"] for r in c.get("/api/tracks", params={key: value}).json()["tracks"]}
        assert got == expect[key], key
    box = {r["icao24"] for r in c.get("/api/tracks", params={
        "bbox": "1.0,48.8,3.0,48.9"}).json()["tracks"]}
    assert box == {"3c0001"}
    assert c.get("/api/tracks", params={"bbox": "1,2,3"}).status_code == 422


def test_track_detail_history_sensors_health_metrics(client: tuple[TestClient, Pipeline]) -> None:
    c, p = client
    for k in range(1, 6):
        p.tick(float(k))
    wait_committed(p, 12)
    d = c.get(f"/api/tracks/{0x3C0001}").json()
    assert [s["name"] for s in d["sensors"]] == ["radar", "adsb"]
    assert d["history"]["t"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert c.get("/api/tracks/999").status_code == 404
    sensors = {s["name"]: s for s in c.get("/api/sensors").json()["sensors"]}
    assert sensors["adsb"]["plots_total"] == 2 * 6 and sensors["adsb"]["alive"]
    assert sensors["radar"]["last_seen_t"] == 4.0 and sensors["radar"]["lat"] == 48.85
    h = c.get("/api/history", params={"t0": 2, "t1": 3}).json()
    # Only changed states are recorded: aircraft 3 (radar every 4 s) has t = 0 and t = 4.
    assert h["count"] == 4 and set(h["cols"]["t"]) == {2.0, 3.0}
    assert c.get("/api/history", params={"t0": 2, "t1": 3, "bbox": "0,0,1,1"}).json()[
        "count"] == 0
    assert c.get("/api/health").json()["status"] == "ok"
    assert c.get("/api/recording").json()["rows_committed"]["track_states"] == 12
    text = c.get("/metrics").text
    assert "airpicture_tracks 3.0" in text and "process_cpu_seconds_total" in text


def test_aircraft_json_for_tar1090(client: tuple[TestClient, Pipeline]) -> None:
    # readsb's layout at tar1090's paths: the same aircraft, where the API puts them.
    c, p = client
    for k in range(1, 4):
        p.tick(float(k))
    tracks = {t["icao24"]: t for t in c.get("/api/tracks").json()["tracks"]}
    doc = c.get("/data/aircraft.json").json()
    # Unix seconds (tar1090 drops aircraft when `now` steps back): the scenario's stream time
    # mapped onto the wall clock at its start; `seen` stays relative.
    assert doc["now"] == round(p.epoch_offset_s + 3.0, 1) and doc["now"] > 1.7e9
    assert abs(p.epoch_offset_s - time.time()) < 600
    # The map's UTC clock reads the same offset from /api/health.
    assert c.get("/api/health").json()["epoch_offset_s"] == p.epoch_offset_s
    assert doc["messages"] == int(p.stats.total.sum()) > 0  # plots received, a running total
    by_hex = {a["hex"]: a for a in doc["aircraft"]}
    assert set(by_hex) == set(tracks) == {"3c0001", "3c0002", "3c0003"}
    for hex_, ac in by_hex.items():
        assert abs(ac["lat"] - tracks[hex_]["lat"]) < 1e-5
        assert abs(ac["lon"] - tracks[hex_]["lon"]) < 1e-5
        assert ac["alt_baro"] == tracks[hex_]["alt_ft"]
    assert by_hex["3c0001"]["flight"] == "AFR1    " and by_hex["3c0001"]["squawk"] == "1000"
    # readsb's type from the contributing sensors: 3c0003 has no ADS-B, only the SSR.
    # readsb's "Mode S target tracked by secondary radar" (mode_s: no position transmitted).
    assert by_hex["3c0001"]["type"] == "adsb_icao" and by_hex["3c0003"]["type"] == "tisb_icao"
    assert by_hex["3c0003"]["tisb"] == ["lat", "lon", "gs", "track"] + (
        ["baro_rate"] if "baro_rate" in by_hex["3c0003"] else [])
    assert by_hex["3c0001"]["tisb"] == by_hex["3c0001"]["mlat"] == []
    before = doc["messages"]
    for k in range(4, 8):
        p.tick(float(k))
        after = c.get("/data/aircraft.json").json()
        assert after["messages"] >= before and after["now"] >= doc["now"]
        before = after["messages"]
    receiver = c.get("/data/receiver.json").json()
    assert (receiver["lat"], receiver["lon"], receiver["refresh"]) == (48.85, 2.35, 1000)


def test_websocket_snapshot_then_deltas(client: tuple[TestClient, Pipeline]) -> None:
    c, p = client
    p.tick(1.0)
    with c.websocket_connect("/ws/tracks") as ws:
        first = json.loads(ws.receive_text())
        assert first["type"] == "snapshot" and first["n"] == 3
        p.tick(2.0)
        second = json.loads(ws.receive_text())
        # Aircraft 3 is seen by the radar only (every 4 s): unchanged, so not resent.
        # The others are known with the same identity: only their moving columns are sent.
        assert second["type"] == "delta" and second["seq"] == 2
        assert second["cols"]["id"] == [] and sorted(second["upd"]["id"]) == [0x3C0001, 0x3C0002]
        assert "callsign" not in second["upd"]
        i, j = first["cols"]["id"].index(0x3C0001), second["upd"]["id"].index(0x3C0001)
        assert second["upd"]["lon"][j] > first["cols"]["lon"][i]


def test_every_output_goes_through_egress() -> None:
    p = make_pipeline(Egress(DropDLH()))
    p.recorder.start()
    try:
        with TestClient(create_app(p, start=False)) as c:
            with c.websocket_connect("/ws/tracks") as ws:
                for k in range(1, 4):
                    p.tick(float(k))
                msg = json.loads(ws.receive_text())
            assert "DLH2" not in msg["cols"]["callsign"]
            assert all(r["callsign"] != "DLH2" for r in c.get("/api/tracks").json()["tracks"])
            assert c.get(f"/api/tracks/{0x3C0002}").status_code == 404
            wait_committed(p, 4)
            assert "DLH2" not in c.get("/api/history", params={"t0": 0, "t1": 9}).json()[
                "cols"]["callsign"]
    finally:
        p.recorder.close()


def test_history_is_released_per_request() -> None:
    p = make_pipeline(Egress(HideDLHHistory()))
    p.recorder.start()
    try:
        with TestClient(create_app(p, start=False)) as c:
            for k in range(1, 4):
                p.tick(float(k))
            wait_committed(p, 6)
            live = [r["callsign"] for r in c.get("/api/tracks").json()["tracks"]]
            assert "DLH2" in live
            hist = c.get("/api/history", params={"t0": 0, "t1": 9}).json()["cols"]["callsign"]
            assert hist and "DLH2" not in hist
            one = c.get(f"/api/tracks/{0x3C0002}").json()
            assert one["track"]["callsign"] == "DLH2" and one["history"]["t"] == []
    finally:
        p.recorder.close()
