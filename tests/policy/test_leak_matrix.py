"""Issue 11's leak matrix: the three-partners scenario through a real service (in-process
pipeline with one tracker per release class, real CAT062 file outputs per consumer, the web
app through TestClient).  For every consumer x interface: what it receives equals the picture
tracked from its cleared sensors' plots alone, then masked; no forbidden identity field; no
uncleared sensor's name or id."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from airpicture.commands.picture import cleared_scenario
from airpicture.io.asterix import cat062
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.scenario import read_meta, read_plots
from airpicture.policy.egress import LOCAL, Consumer
from airpicture.policy.masks import release_for
from airpicture.service.app import create_app
from airpicture.service.config import validate_config
from airpicture.service.encode import to_view
from airpicture.service.pipeline import Pipeline
from airpicture.service.serve import build_pipeline, class_factory, scenario_source
from airpicture.service.sources import TrackerSource, default_runtime

pytestmark = pytest.mark.slow
TICKS = 40
CONSUMERS = ["alpha-ops", "bravo-ops", "bravo-liaison", "charlie-ops", "charlie-public",
             "local"]


def service(policy: Path, scenario: Path, out_dir: Path) -> Pipeline:
    cfg = validate_config({
        "input": {"kind": "scenario", "scenario": str(scenario), "loop": False},
        "policy": {"file": str(policy)},
        "output": {"cat062": [{"url": f"file://{out_dir / (c + '.ast')}", "consumer": c,
                               "cat063": False, "cat065": False} for c in CONSUMERS]}},
        "test")
    classes = class_factory(cfg)
    assert classes is not None
    pipeline = build_pipeline(cfg, scenario_source(cfg, classes), classes=classes)
    pipeline.consumers |= {Consumer(c) for c in CONSUMERS}
    return pipeline


@pytest.fixture(scope="module")
def run(example_policy: Path, example_scenario: Path, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[dict[str, Any]]:
    """Tick the service and, beside it, one reference tracker per consumer fed only the
    plots of its cleared sensors; keep what each consumer got and would have got."""
    out_dir = tmp_path_factory.mktemp("cat062")
    p = service(example_policy, example_scenario, out_dir)
    meta = read_meta(example_scenario)
    plots = read_plots(example_scenario, meta)
    loaded = p.egress.policy.loaded  # type: ignore[attr-defined]
    refs = {}
    for c in CONSUMERS:
        release = release_for(loaded, [s.id for s in meta.sensors], c)
        assert release is not None
        sub_meta, sub_plots = cleared_scenario(meta, plots, release.sensors)
        refs[c] = TrackerSource(sub_meta, sub_plots, default_runtime(sub_meta), loop=False)
    assert p.outputs is not None
    p.outputs.start()
    p.recorder.start()
    states: dict[str, set[tuple[float, int]]] = {c: set() for c in CONSUMERS}
    sent: dict[str, list[set[int]]] = {c: [] for c in CONSUMERS}
    mismatches = []
    for k in range(1, TICKS + 1):
        frames = p.tick(float(k))
        for out in p.outputs.outputs:
            out.wait_sent()
        for c in CONSUMERS:
            ref = p.release(refs[c].step(float(k))[0], Consumer(c))
            got = frames[Consumer(c)].tracks
            sent[c].append({int(i) & 0xFFFF for i in ref.track_id})
            states[c] |= {(float(t), int(i)) for t, i in zip(ref.t, ref.track_id, strict=True)}
            if to_view(got, p.frame, p.index) != to_view(ref, p.frame, p.index):
                mismatches.append((k, c))
    p.outputs.close()
    deadline = time.monotonic() + 10
    while p.recorder.queued() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(p.recorder.flush_s * 2)
    yield {"pipeline": p, "mismatches": mismatches, "allowed_numbers": sent, "states": states,
            "out_dir": out_dir, "meta": meta, "loaded": loaded}
    p.recorder.close()


def cleared(run: dict[str, Any], c: str) -> set[int]:
    release = release_for(run["loaded"], [s.id for s in run["meta"].sensors], c)
    return set(release.sensors)


def forbidden_names(run: dict[str, Any], c: str) -> list[str]:
    return [s.name for s in run["meta"].sensors if s.id not in cleared(run, c)]


def test_every_consumers_picture_equals_its_cleared_plots_alone(run: dict[str, Any]) -> None:
    assert run["mismatches"] == []
    p = run["pipeline"]
    sizes = {c: len(p.latest[Consumer(c)].tracks) for c in CONSUMERS}
    # the classes differ: BRAVO's radar adds tracks only the operator and bravo-ops get
    assert sizes["local"] > sizes["bravo-liaison"] > 0
    assert sizes["charlie-public"] < sizes["charlie-ops"]


def test_cat062_per_consumer_sends_only_its_picture(run: dict[str, Any]) -> None:
    for c in CONSUMERS:
        data = (run["out_dir"] / f"{c}.ast").read_bytes()
        counts: Counter[str] = Counter()
        tracks = cat062.decode(split_blocks(data, counts), counts)
        assert tracks, c
        allowed = set().union(*run["allowed_numbers"][c])
        assert {t.track_number for t in tracks} <= allowed, c
        if c == "charlie-public":  # no identity fields at all
            assert all(t.icao24 <= 0 and not t.callsign.strip() for t in tracks)


def client_as(run: dict[str, Any], c: str) -> TestClient:
    app = create_app(run["pipeline"], start=False)
    app.state.consumer_for = lambda conn: LOCAL if c == "local" else Consumer(c)
    return TestClient(app)


@pytest.mark.parametrize("c", CONSUMERS)
def test_web_interfaces_leak_nothing(run: dict[str, Any], c: str) -> None:
    p = run["pipeline"]
    frame = p.latest[Consumer(c)]
    ids = set(frame.view["id"])
    label = p.egress.label(Consumer(c))
    assert label is not None and label["class"]
    with client_as(run, c) as client:
        docs = {path: client.get(path) for path in
                ("/api/tracks", "/api/sensors", "/api/feeds", "/data/aircraft.json",
                 "/api/health")}
        with client.websocket_connect("/ws/tracks") as ws:
            snapshot = json.loads(ws.receive_text())
        one = client.get(f"/api/tracks/{next(iter(ids))}") if ids else None
        history = client.get("/api/history", params={"t0": 0, "t1": TICKS})
    tracks = docs["/api/tracks"].json()
    assert {t["id"] for t in tracks["tracks"]} == ids and tracks["label"] == label
    assert set(snapshot["cols"]["id"]) == ids and snapshot["label"] == label
    aircraft = docs["/data/aircraft.json"].json()
    assert aircraft["label"] == label
    expected_hex = {f"{int(a):06x}" for a in frame.tracks.icao24 if a > 0}
    assert {a["hex"] for a in aircraft["aircraft"] if not a["hex"].startswith("~")} \
        <= expected_hex
    sensors = docs["/api/sensors"].json()
    assert {s["id"] for s in sensors["sensors"]} == cleared(run, c)
    assert sensors["label"] == label
    cols = history.json()["cols"]
    assert cols["t"], c  # the consumer's own class's states, each one it was sent live
    assert set(zip(cols["t"], cols["track_id"], strict=True)) <= run["states"][c], c
    bits = sum(1 << i for i, s in enumerate(sorted(x.id for x in run["meta"].sensors))
               if s in cleared(run, c))  # sensor_mask bit i: the i-th sensor by id
    assert all(m & ~bits == 0 for m in cols["smask"])
    if c == "charlie-public":
        assert not any(cols["icao24"]) and not any(cols["callsign"])
    texts = [r.text for r in docs.values()] + [json.dumps(snapshot), history.text]
    if one is not None:
        assert {s["id"] for s in one.json()["sensors"]} <= cleared(run, c)
        texts.append(one.text)
    for name in forbidden_names(run, c):
        assert not any(name in text for text in texts), (c, name)
    if c == "charlie-public":
        assert all(not t["callsign"] and not t["icao24"] for t in tracks["tracks"])
