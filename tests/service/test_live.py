"""Live Mode S input: a recorded feed through airpicture.sources into the tracker and the API."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

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
