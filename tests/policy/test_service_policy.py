"""`[policy] file` in `airpicture serve`: classes, hot reload, per-consumer gates of sensors,
feeds, health and metrics, the CAT062 consumer check."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from airpicture.core.errors import UserError
from airpicture.policy.egress import LOCAL, Consumer
from airpicture.service.app import create_app
from airpicture.service.config import validate_config
from airpicture.service.pipeline import Pipeline
from airpicture.service.release import ClassRuntime
from airpicture.service.serve import build_pipeline, class_factory, scenario_source


def make_service(policy: Path, scenario: Path, **output: Any) -> Pipeline:
    cfg = validate_config({"input": {"kind": "scenario", "scenario": str(scenario),
                                     "loop": False},
                           "policy": {"file": str(policy)}, "output": output}, "test")
    classes = class_factory(cfg)
    assert classes is not None
    return build_pipeline(cfg, scenario_source(cfg, classes), classes=classes)


@pytest.fixture
def policy_copy(example_dir: Path, tmp_path: Path) -> Path:
    for name in ("policy.toml", "privacy.txt"):
        shutil.copy(example_dir / name, tmp_path / name)
    return tmp_path / "policy.toml"


def rewrite(path: Path, text: str) -> None:
    """Write and move the mtime on, so a reload sees the change however coarse the clock."""
    st = path.stat()
    path.write_text(text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def runtime_of(p: Pipeline) -> ClassRuntime:
    runtime = p.source.runtime  # type: ignore[attr-defined]
    assert isinstance(runtime, ClassRuntime)
    return runtime


def test_without_policy_nothing_changes(example_scenario: Path) -> None:
    cfg = validate_config({"input": {"kind": "scenario", "scenario": str(example_scenario)}},
                          "test")
    assert class_factory(cfg) is None
    p = build_pipeline(cfg, scenario_source(cfg))
    assert p.class_pictures is None and p.egress.label(LOCAL) is None


def test_one_tracker_per_class_and_the_operator_sees_every_sensor(
        example_policy: Path, example_scenario: Path) -> None:
    p = make_service(example_policy, example_scenario)
    rt = runtime_of(p)
    assert rt.operator_class == "sensors-1-2-3-4"
    assert set(rt.trackers.runtimes) == {"sensors-1-2-3-4", "sensors-1-3-4", "sensors-1-2",
                                         "sensors-1"}
    assert rt.class_of("charlie-public") == rt.class_of("alpha-ops") == "sensors-1-3-4"
    assert rt.class_of("nobody") is None
    p.consumers.add(Consumer("bravo-liaison"))
    for k in range(1, 16):
        frames = p.tick(float(k))
    liaison = frames[Consumer("bravo-liaison")].tracks
    assert len(liaison) and len(frames[LOCAL].tracks) > len(liaison)
    # bravo-liaison's tracker knew only ALPHA's radar: no other sensor ever updated its tracks
    others = np.isin(liaison.sensor_ids, [2, 3, 4])
    assert not np.isfinite(liaison.sensor_last_t[:, others]).any()


def test_a_cat062_consumer_the_policy_does_not_name_is_a_startup_error(
        example_policy: Path, example_scenario: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="'nobody', which the policy does not name"):
        make_service(example_policy, example_scenario,
                     cat062=[{"url": f"file://{tmp_path / 'x.ast'}", "consumer": "nobody"}])


def test_reload_takes_effect_within_one_tick_and_a_new_class_starts_fresh(
        policy_copy: Path, example_scenario: Path) -> None:
    p = make_service(policy_copy, example_scenario)
    rt = runtime_of(p)
    p.consumers.add(Consumer("charlie-ops"))
    for k in range(1, 6):
        p.tick(float(k))
    assert rt.class_of("charlie-ops") == "sensors-1-3-4"
    old_operator = rt.trackers.runtimes["sensors-1-2-3-4"]
    text = policy_copy.read_text()
    rewrite(policy_copy, text.replace(
        '[consumers.charlie-ops]\norganisation = "CHARLIE"\n'
        'clearance = { classification = "RESTRICTED" }',
        '[consumers.charlie-ops]\norganisation = "CHARLIE"\n'
        'clearance = { classification = "UNCLASSIFIED" }'))
    frames = p.tick(6.0)
    assert rt.class_of("charlie-ops") == "sensors-3-4" and rt.rebuilds == 1
    assert p.egress.label(Consumer("charlie-ops"))["class"] == "sensors-3-4"  # type: ignore
    assert rt.trackers.runtimes["sensors-1-2-3-4"] is old_operator  # unchanged class kept
    got = frames[Consumer("charlie-ops")].tracks
    radar = np.isin(got.sensor_ids, [1, 2])
    assert not np.isfinite(got.sensor_last_t[:, radar]).any()
    assert p.health()["problems"] == []


def test_a_broken_policy_is_refused_named_in_health_and_the_old_one_holds(
        policy_copy: Path, example_scenario: Path) -> None:
    p = make_service(policy_copy, example_scenario)
    rt = runtime_of(p)
    p.tick(1.0)
    before = dict(rt.trackers.classes)
    rewrite(policy_copy, policy_copy.read_text() + "\n[consumers.broken\n")
    p.tick(2.0)
    problems = p.health()["problems"]
    assert len(problems) == 1 and "release policy not reloaded" in problems[0]
    assert "policy.toml" in problems[0]
    assert rt.trackers.classes == before and rt.class_of("charlie-ops") == "sensors-1-3-4"
    with TestClient(create_app(p, start=False)) as client:
        assert client.get("/api/health").json()["status"] == "degraded"


FEEDS = {"feeds": [{"name": "bravo-radar-feed", "state": "down", "sensors": [2]},
                   {"name": "charlie-adsb-feed", "state": "up", "sensors": [3, 4]},
                   {"name": "feed-of-unknown-sensors", "state": "up"}],
         "decoder": {"messages": 12}}


def test_feeds_health_and_metrics_say_nothing_of_uncleared_sensors(
        example_policy: Path, example_scenario: Path) -> None:
    p = make_service(example_policy, example_scenario)
    p.feed_status = lambda: FEEDS  # type: ignore[method-assign]
    for k in range(1, 6):
        p.tick(float(k))
    app = create_app(p, start=False)
    with TestClient(app) as client:
        app.state.consumer_for = lambda conn: Consumer("charlie-ops")
        feeds = client.get("/api/feeds").json()
        assert [f["name"] for f in feeds["feeds"]] == ["charlie-adsb-feed"]
        assert feeds["decoder"] == {}
        health = client.get("/api/health").json()
        assert health["status"] == "ok" and health["feeds_down"] == []
        assert "bravo" not in str(health).lower()
        metrics = client.get("/metrics").text
        assert 'sensor="2"' not in metrics and 'sensor="3"' in metrics
        assert "bravo-radar-feed" not in metrics and "feed-of-unknown" not in metrics
        assert "airpicture_tracks" not in metrics and "airpicture_ticks_total" in metrics
        assert client.get("/api/recording").json() == {"state": "idle"}
        assert client.get("/api/outputs").json()["outputs"] == []
        p.error = RuntimeError("BRAVO primary radar sent garbage")
        health = client.get("/api/health").json()
        assert health["status"] == "error" and health["error"] == "the pipeline stopped"
        p.error = None
        app.state.consumer_for = lambda conn: LOCAL  # the operator sees everything
        health = client.get("/api/health").json()
        assert health["status"] == "degraded" and health["feeds_down"] == ["bravo-radar-feed"]
        assert len(client.get("/api/feeds").json()["feeds"]) == 3
        metrics = client.get("/metrics").text
        assert 'sensor="2"' in metrics and "bravo-radar-feed" in metrics
        assert "airpicture_tracks " in metrics
        assert "rows_committed" in client.get("/api/recording").json()


def wait_recorded(p: Pipeline) -> None:
    """Until the recorder has committed everything queued (bounded)."""
    deadline = time.monotonic() + 10
    while (p.recorder.queued() or p.recorder.state == "idle") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(p.recorder.flush_s * 2)


def history_of(client: TestClient, app: Any, who: str, t0: float, t1: float
               ) -> dict[str, list[Any]]:
    app.state.consumer_for = lambda conn: LOCAL if who == "local" else Consumer(who)
    cols: dict[str, list[Any]] = client.get("/api/history",
                                            params={"t0": t0, "t1": t1}).json()["cols"]
    return cols


def test_history_is_recorded_per_class_and_served_from_the_current_class_only(
        policy_copy: Path, example_scenario: Path) -> None:
    p = make_service(policy_copy, example_scenario)
    rt = runtime_of(p)
    p.recorder.start()
    try:
        app = create_app(p, start=False)
        with TestClient(app) as client:
            for k in range(1, 13):
                p.tick(float(k))
            wait_recorded(p)
            classes = set(p.recorder.query("SELECT DISTINCT class_id FROM track_states",
                                           []).column("class_id").to_pylist())
            assert classes == set(rt.trackers.runtimes)
            local = history_of(client, app, "local", 0, 12)
            liaison = history_of(client, app, "bravo-liaison", 0, 12)
            assert liaison["t"] and len(local["t"]) > len(liaison["t"])
            ref = p.recorder.query("SELECT track_id FROM track_states WHERE class_id = "
                                   "'sensors-1'", []).column("track_id").to_pylist()
            assert set(liaison["track_id"]) <= set(ref)
            before = history_of(client, app, "charlie-ops", 0, 12)
            assert before["t"]
            # revoke ALPHA's radar from charlie-ops: its old class's history goes with it
            rewrite(policy_copy, policy_copy.read_text().replace(
                '[consumers.charlie-ops]\norganisation = "CHARLIE"\n'
                'clearance = { classification = "RESTRICTED" }',
                '[consumers.charlie-ops]\norganisation = "CHARLIE"\n'
                'clearance = { classification = "UNCLASSIFIED" }'))
            for k in range(13, 20):
                p.tick(float(k))
            wait_recorded(p)
            after = history_of(client, app, "charlie-ops", 0, 20)
            assert after["t"] and min(after["t"]) > 12.0
    finally:
        p.recorder.close()


def test_cat062_outputs_are_degraded_only_by_feeds_their_consumer_may_know(
        example_policy: Path, example_scenario: Path, tmp_path: Path) -> None:
    p = make_service(example_policy, example_scenario, cat062=[
        {"url": f"file://{tmp_path / (c + '.ast')}", "consumer": c}
        for c in ("charlie-ops", "local")])
    p.feed_status = lambda: FEEDS  # type: ignore[method-assign]
    assert p.outputs is not None
    got: dict[str, list[Any]] = {}
    for out in p.outputs.outputs:
        out.offer = lambda cycle, name=out.consumer.name: got.setdefault(  # type: ignore
            name, []).append(cycle)
    p.tick(1.0)
    assert [c.sdps_degraded for c in got["charlie-ops"]] == [False]  # BRAVO's feed is not its
    assert [c.sdps_degraded for c in got["local"]] == [True]
    assert {s["id"] for s in got["charlie-ops"][0].sensors} == {1, 3, 4}
    app = create_app(p, start=False)
    with TestClient(app) as client:
        app.state.consumer_for = lambda conn: Consumer("charlie-ops")
        assert [o["consumer"] for o in client.get("/api/outputs").json()["outputs"]] == [
            "charlie-ops"]
        app.state.consumer_for = lambda conn: LOCAL
        assert len(client.get("/api/outputs").json()["outputs"]) == 2
