"""Scenario cache, given scenario folders and the truncated copy a stopped peer is scored on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from airpicture.bench.scenarios import BenchScenario, ensure_scenario, truncate_scenario
from airpicture.io.scenario import read_meta, read_plots, read_truth


def test_truncated_copy_holds_only_the_window(crossing_10: Path, tmp_path: Path) -> None:
    part = truncate_scenario(crossing_10, tmp_path / "part", 24.0)
    assert read_meta(part).duration_s == 24.0
    t_truth = read_truth(part).column("t").to_numpy()
    t_plots = read_plots(part).t
    assert t_truth.max() <= 24.0 and t_plots.max() <= 24.0
    full_plots = read_plots(crossing_10).t
    assert t_plots.size == int((full_plots <= 24.0).sum())
    assert pq.read_schema(part / "plots.parquet").names == pq.read_schema(
        crossing_10 / "plots.parquet").names


def test_given_scenario_folder_is_used_as_is(crossing_10: Path, tmp_path: Path) -> None:
    sc = BenchScenario(crossing_10.name, None, 1.0)

    def fail(*args: object) -> Path:
        raise AssertionError("simulated although a folder was given")

    assert ensure_scenario(sc, tmp_path / "cache", crossing_10.parent, fail) == crossing_10


def test_cache_is_rebuilt_when_its_key_changes(crossing_10: Path, tmp_path: Path) -> None:
    calls: list[str] = []

    def factory(preset: str, out: Path, seed: int, duration_s: float | None) -> Path:
        calls.append(preset)
        truncate_scenario(crossing_10, out, 1e9)
        return out

    sc = BenchScenario("crossing-10", 60.0, 1.0)
    first = ensure_scenario(sc, tmp_path, None, factory)
    ensure_scenario(sc, tmp_path, None, factory)
    assert calls == ["crossing-10"]
    key_path = first.parent / "bench-key.json"
    key = json.loads(key_path.read_text())
    key["key"]["sim"] = "an older simulator"
    key_path.write_text(json.dumps(key))
    again = ensure_scenario(sc, tmp_path, None, factory)
    assert calls == ["crossing-10", "crossing-10"] and again == first
    assert np.array_equal(read_plots(again).t, read_plots(crossing_10).t)


def test_live_tracks_at_end_counts_latest_confirmed_rows(tmp_path: Path) -> None:
    import pyarrow as pa

    from airpicture.bench.tracking import live_tracks_at_end
    from airpicture.io.scenario import write_tracks

    table = pa.table({
        "t": [100.0, 295.0, 290.0, 296.0, 200.0, 299.0],
        "track_id": [1, 1, 2, 2, 3, 4],
        "x": [0.0] * 6, "y": [0.0] * 6, "vx": [0.0] * 6, "vy": [0.0] * 6,
        # 1: live; 2: ended (latest row unconfirmed); 3: too old; 4: tentative
        "confirmed": [True, True, True, False, True, False],
    })
    path = write_tracks(tmp_path / "tracks.parquet", table)
    assert live_tracks_at_end(path, 300.0) == 1
