"""The service on a simulated preset with the real tracker (cached preset, REST picture)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from airpicture.io.scenario import read_truth
from airpicture.service.app import create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.serve import build_pipeline, preset_folder, scenario_source


@pytest.mark.slow
def test_preset_is_cached_and_tracked(tmp_path: Path) -> None:
    pytest.importorskip("airpicture.tracker.stream")
    pytest.importorskip("airpicture.sim.presets")
    cfg = ServiceConfig().with_overrides({"input": {
        "preset": "crossing-5", "cache_dir": str(tmp_path), "duration_s": 90.0}})
    folder = preset_folder(cfg)
    stamp = (folder / "plots.parquet").stat().st_mtime_ns
    assert preset_folder(cfg) == folder  # simulated once, then reused
    assert (folder / "plots.parquet").stat().st_mtime_ns == stamp
    pipeline = build_pipeline(cfg, scenario_source(cfg))
    pipeline.recorder.start()
    try:
        with TestClient(create_app(pipeline, start=False)) as c:
            for k in range(1, 61):
                pipeline.tick(float(k))
            tracks = c.get("/api/tracks").json()["tracks"]
    finally:
        pipeline.recorder.close()
    truth = read_truth(folder).to_pandas()
    now = truth[truth.t == truth.t[truth.t <= 60.0].max()]
    # Every aircraft has a track within 1 km of where it truly is.
    xy = np.asarray([[t["x"], t["y"]] for t in tracks])
    assert len(tracks) >= len(now)
    for _, row in now.iterrows():
        assert np.min(np.hypot(xy[:, 0] - row.x, xy[:, 1] - row.y)) < 1000.0
