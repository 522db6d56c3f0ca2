"""The Stone Soup peer runner: scan grouping, a complete run, the budget stop."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.io.scenario import read_tracks, read_truth

from .conftest import PEER_SCRIPT


@given(st.lists(st.floats(0.0, 500.0), max_size=200), st.floats(0.5, 20.0))
def test_scan_buckets_partition_plots_by_time(peer: ModuleType, times: list[float],
                                              scan_s: float) -> None:
    t = np.sort(np.asarray(times, dtype=np.float64))
    buckets = peer.scan_buckets(t, scan_s, 100.0)
    joined = np.concatenate(buckets) if buckets else np.empty(0, np.int64)
    assert sorted(joined.tolist()) == list(range(t.size))
    assert len(buckets) >= int(np.ceil(100.0 / scan_s))
    for k, idx in enumerate(buckets):
        assert np.all(t[idx] >= k * scan_s) and np.all(t[idx] < (k + 1) * scan_s)


def _run(scenario: Path, out: Path, budget_s: float, stamp: str = "plot") -> dict:
    tracks, stats = out / f"tracks-{stamp}.parquet", out / f"stats-{stamp}.json"
    subprocess.run([sys.executable, str(PEER_SCRIPT), str(scenario), "--tracks", str(tracks),
                    "--stats", str(stats), "--budget-s", str(budget_s), "--stamp", stamp],
                   check=True, capture_output=True)
    result: dict = json.loads(stats.read_text())
    result["tracks_table"] = read_tracks(tracks)
    return result


@pytest.mark.peer
def test_complete_run_tracks_every_target(crossing_10: Path, tmp_path: Path) -> None:
    st_ = _run(crossing_10, tmp_path, budget_s=120.0)
    assert st_["scans_done"] == st_["scans_total"] == 15
    assert not st_["estimate"]["extrapolated"]
    assert st_["plots_done"] == st_["plots_total"] == pq.ParquetFile(
        crossing_10 / "plots.parquet").metadata.num_rows
    tracks = st_["tracks_table"]
    final = tracks.filter(tracks.column("t").to_numpy() > 50.0)
    n_targets = len(np.unique(read_truth(crossing_10).column("target_id").to_numpy()))
    # Stone Soup holds the ten straight or turning aircraft (no clutter track survives long)
    assert abs(len(np.unique(final.column("track_id").to_numpy())) - n_targets) <= 2
    assert np.all(np.diff(tracks.column("t").to_numpy()) >= 0)


@pytest.mark.peer
@pytest.mark.slow
def test_budget_stops_the_loop_and_extrapolates(crossing_150: Path, tmp_path: Path) -> None:
    start = time.perf_counter()
    st_ = _run(crossing_150, tmp_path, budget_s=3.0)
    took = time.perf_counter() - start
    est = st_["estimate"]
    assert st_["scans_done"] < st_["scans_total"]
    assert est["extrapolated"]
    assert sum(st_["scan_times_s"]) <= 3.0 + 0.1
    assert est["full_run_s"] > sum(st_["scan_times_s"])
    assert st_["t_covered_s"] == pytest.approx(st_["scans_done"] * 4.0)
    assert took < 3.0 + st_["build_s"] + 20.0
    t = st_["tracks_table"].column("t").to_numpy()
    assert t.size == 0 or t.max() <= st_["t_covered_s"]
