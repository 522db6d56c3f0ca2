"""Scorer benchmark: how long scoring takes, and GOSPA against Stone Soup's GOSPAMetric.

Rows follow the bench contract (name, value, unit, peer, peer_value, ratio, notes); as in
docs/bench.md the ratio is ours over the peer's (below 1: we are faster).  Stone Soup is
optional (bench extra).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa


def synthetic_case(n_targets: int, n_times: int, seed: int = 1,
                   scan_s: float = 4.0) -> tuple[pa.Table, pa.Table]:
    """Straight-flying targets in a 400 km square sampled every second, and one noisy
    confirmed track per target reported once a scan (200 m noise) from the third scan on."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(-2e5, 2e5, (n_targets, 2))
    heading = rng.uniform(0, 2 * np.pi, n_targets)
    speed = rng.uniform(100, 250, n_targets)
    vel = np.column_stack([speed * np.cos(heading), speed * np.sin(heading)])
    t = np.repeat(np.arange(float(n_times)), n_targets)
    ids = np.tile(np.arange(n_targets), n_times)
    pos = start[ids] + vel[ids] * t[:, None]
    truth = pa.table({"t": t, "target_id": ids, "x": pos[:, 0], "y": pos[:, 1],
                      "vx": vel[ids, 0], "vy": vel[ids, 1]})
    scans = np.arange(2 * scan_s, n_times, scan_s)
    tt = np.repeat(scans, n_targets)
    tid = np.tile(np.arange(n_targets), scans.size)
    tpos = start[tid] + vel[tid] * tt[:, None] + rng.normal(0, 200, (tt.size, 2))
    tvel = vel[tid] + rng.normal(0, 10, (tt.size, 2))
    tracks = pa.table({"t": tt, "track_id": tid + 1000, "x": tpos[:, 0], "y": tpos[:, 1],
                       "vx": tvel[:, 0], "vy": tvel[:, 1],
                       "confirmed": np.ones(tt.size, bool)})
    return truth, tracks


def _stonesoup_gospa_s(truth: pa.Table, tracks: pa.Table, times: np.ndarray) -> float | None:
    """Wall time of Stone Soup's GOSPAMetric on the same aligned points (None: not installed)."""
    try:
        import datetime as dt

        from stonesoup.measures import Euclidean
        from stonesoup.metricgenerator.ospametric import GOSPAMetric
        from stonesoup.types.state import State
    except ImportError:
        return None
    from airpicture.metrics.align import ConfirmedRows, align_tracks, truth_at

    epoch = dt.datetime(2026, 1, 1)
    gt = truth_at(truth, times)
    est = align_tracks(ConfirmedRows.from_table(tracks), times)

    def states(p: Any) -> list[State]:
        return [State([x, 0.0, y, 0.0], timestamp=epoch + dt.timedelta(seconds=float(times[k])))
                for k, x, y in zip(p.k, p.x, p.y, strict=True)]

    metric = GOSPAMetric(c=10_000, p=2, measure=Euclidean(mapping=(0, 2)))
    truth_states, est_states = states(gt), states(est)
    start = time.perf_counter()
    metric.compute_over_time(est_states, est.ident.tolist(), truth_states, gt.ident.tolist())
    return time.perf_counter() - start


def run_bench(quick: bool = False) -> list[dict[str, Any]]:
    """Scoring wall time at 1,000 targets x 301 s, and GOSPA time against Stone Soup."""
    from airpicture.metrics.gospa import assign, per_time
    from airpicture.metrics.score import score_tables

    rows: list[dict[str, Any]] = []
    n_big = 300 if quick else 1000
    truth, tracks = synthetic_case(n_big, 301)
    start = time.perf_counter()
    summary = score_tables(truth, tracks, {})
    wall = time.perf_counter() - start
    rows.append({"name": f"score {n_big} targets x 301 times (all figures)", "value": wall,
                 "unit": "s", "peer": None, "peer_value": None, "ratio": None,
                 "notes": f"GOSPA {summary.gospa_m:.0f} m, SIAP C {summary.siap_completeness:.3f}"})
    n_peer, n_times = (30, 20) if quick else (100, 75)
    truth, tracks = synthetic_case(n_peer, n_times * 4, seed=2)
    times = np.arange(0.0, n_times * 4, 4.0)
    from airpicture.metrics.align import ConfirmedRows, align_tracks, truth_at

    start = time.perf_counter()
    gt = truth_at(truth, times)
    est = align_tracks(ConfirmedRows.from_table(tracks), times)
    per_time(gt, est, assign(gt, est), times.size)
    ours = time.perf_counter() - start
    peer = _stonesoup_gospa_s(truth, tracks, times)
    rows.append({"name": f"GOSPA {n_peer} targets x {n_times} times", "value": ours,
                 "unit": "s", "peer": "stonesoup 1.9.1 GOSPAMetric", "peer_value": peer,
                 "ratio": None if peer is None else ours / peer,
                 "notes": "same aligned points; ratio = our time / Stone Soup's"})
    return rows
