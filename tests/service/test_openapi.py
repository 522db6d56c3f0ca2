"""Every REST route documents what it returns (OpenAPI response schemas), and /api/history
speaks /api/tracks' units and identity formats."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from airpicture.service.app import create_app
from airpicture.service.pipeline import Pipeline
from tests.service.test_app import client, make_pipeline, wait_committed

__all__ = ["client"]


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_get_route_has_a_200_schema() -> None:
    spec = create_app(make_pipeline(), start=False).openapi()
    checked = []
    for path, item in spec["paths"].items():
        if not path.startswith(("/api", "/data")) or "get" not in item:
            continue
        content = item["get"]["responses"]["200"]["content"]
        schema = _resolve(spec, content["application/json"]["schema"])
        assert schema.get("properties"), f"{path}: empty 200 response schema"
        checked.append(path)
    assert {"/api/tracks", "/api/history", "/api/health", "/data/aircraft.json"} <= set(checked)
    assert len(checked) >= 11


def test_answers_validate_against_their_models(client: tuple[TestClient, Pipeline]) -> None:
    c, p = client
    for k in range(1, 4):
        p.tick(float(k))
    for path in ("/api/health", "/api/tracks", f"/api/tracks/{0x3C0001}", "/api/sensors",
                 "/api/history/range", "/api/outputs", "/api/feeds", "/api/recording",
                 "/data/aircraft.json", "/data/receiver.json"):
        r = c.get(path)
        assert r.status_code == 200, (path, r.text)
    assert c.get("/api/tracks").json()["tracks"][0].keys() >= {"id", "icao24", "squawk", "x"}


def test_history_uses_the_units_and_formats_of_tracks(client: tuple[TestClient, Pipeline]
                                                      ) -> None:
    c, p = client
    for k in range(1, 4):
        p.tick(float(k))
    wait_committed(p, 9)
    live = {r["id"]: r for r in c.get("/api/tracks").json()["tracks"]}
    cols = c.get("/api/history", params={"t0": 0, "t1": 10}).json()["cols"]
    assert set(cols) >= {"icao24", "squawk", "gs_kt", "hdg_deg", "smask"}
    assert not {"vx", "vy", "sensor_mask"} & set(cols)
    rows = [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]
    last = {r["track_id"]: r for r in rows}  # ordered by t: each track's latest state
    assert set(last) == set(live)
    for r in last.values():
        assert r["t"] == live[r["track_id"]]["t"]
        now = live[r["track_id"]]
        for key in ("icao24", "squawk", "callsign", "gs_kt", "alt_ft", "smask", "status"):
            assert r[key] == now[key], key
        assert abs(r["hdg_deg"] - now["hdg_deg"]) <= 0.1
    assert {r["squawk"] for r in rows} == {"1000", "2000", "7000"}  # octal, as entered
    assert {r["icao24"] for r in rows} == {"3c0001", "3c0002", "3c0003"}
