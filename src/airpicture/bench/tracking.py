"""The tracker section: airpicture's tracker and Stone Soup on the same plots, timed and scored.

Each tracker runs in its own one-core child process (fair peak memory, a wall-clock limit);
both are scored by airpicture.metrics.score.score_scenario over the same truth and window.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from airpicture.bench.child import run_child
from airpicture.bench.extrapolate import estimate_full_run, percentiles_ms
from airpicture.bench.scenarios import BenchScenario, truncate_scenario
from airpicture.bench.tracker_child import DEFAULT_TRACKER

SCORE_T_MIN_S = 20.0
SCORE_STEP_S = 2.0
TRACK_MAX_AGE_S = 12.0
REPO_ROOT = Path(__file__).resolve().parents[3]
STONESOUP_PEER = REPO_ROOT / "bench" / "peers" / "stonesoup_peer.py"
SLICE_TIME_KEYS = ("slice_wall_s", "slice_times_s", "scan_times_s", "per_slice_s", "slice_s",
                   "step_times_s")
SCORE_KEYS = ("gospa_m", "gospa_localisation_m", "gospa_missed_m", "gospa_false_m", "ospa_m",
              "rms_pos_m", "rms_vel_mps", "id_changes", "mean_time_to_confirm_s", "n_truth",
              "n_tracks")

Scorer = Callable[[Path, Path], dict[str, Any]]


def score(scenario: Path, tracks: Path) -> dict[str, Any]:
    """GOSPA, RMS, id changes ... by the project's scorer (sampled every 2 s from t = 20 s)."""
    from airpicture.metrics.score import score_scenario

    summary = score_scenario(scenario, tracks, t_min_s=SCORE_T_MIN_S, step_s=SCORE_STEP_S)
    full: dict[str, Any] = summary.to_json()
    return {k: full[k] for k in SCORE_KEYS if k in full}


TURN_RATE_DEG_S = 1.0
"""A target turning faster than this at some truth sample counts as a turning target."""


def turning_targets(truth: pa.Table) -> npt.NDArray[np.int64]:
    """Ids of targets whose heading changes faster than TURN_RATE_DEG_S at some sample."""
    ids = truth.column("target_id").to_numpy()
    t = truth.column("t").to_numpy()
    order = np.lexsort((t, ids))
    ids, t = ids[order], t[order]
    heading = np.unwrap(np.arctan2(truth.column("vx").to_numpy()[order],
                                   truth.column("vy").to_numpy()[order]))
    same = ids[1:] == ids[:-1]
    dt = np.where(same, np.diff(t), np.inf)
    rate_deg_s = np.degrees(np.abs(np.diff(heading))) / np.maximum(dt, 1e-9)
    turning = same & (rate_deg_s > TURN_RATE_DEG_S)
    return np.unique(ids[1:][turning]).astype(np.int64)


def score_turning(scenario: Path, tracks: Path) -> dict[str, Any]:
    """Identity changes on the turning targets only (issue 4: none allowed there)."""
    from airpicture.io.scenario import read_tracks, read_truth
    from airpicture.metrics.score import score_tables

    truth = read_truth(scenario)
    turning = turning_targets(truth)
    if turning.size == 0:
        return {"turning_targets": 0, "id_changes_turning": None}
    subset = truth.filter(pc.is_in(truth.column("target_id"), pa.array(turning)))
    summary = score_tables(subset, read_tracks(tracks), {}, t_min_s=SCORE_T_MIN_S,
                           step_s=SCORE_STEP_S)
    return {"turning_targets": int(turning.size), "id_changes_turning": summary.id_changes}


def _safe_score(scorer: Scorer, scenario: Path, tracks: Path, turning: bool = False
                ) -> dict[str, Any]:
    """Scores (with identity changes on turning targets when asked), or a note saying why
    there are none (never an exception)."""
    try:
        out = scorer(scenario, tracks)
        if turning and "note" not in out:
            out.update(score_turning(scenario, tracks))
        return out
    except ImportError as exc:
        return {"note": f"scorer not available ({exc})"}
    except Exception as exc:  # the scorer is another part's code: report, go on
        return {"note": f"scoring failed: {type(exc).__name__}: {exc}"}


def scenario_facts(scenario: Path) -> dict[str, Any]:
    """Plot count, duration and number of truth targets of a scenario folder."""
    meta = json.loads((scenario / "scenario.json").read_text())
    truth = pq.read_table(scenario / "truth.parquet", columns=["t", "target_id"])
    t, ids = truth.column("t").to_numpy(), truth.column("target_id").to_numpy()
    return {"plots": pq.ParquetFile(scenario / "plots.parquet").metadata.num_rows,
            "duration_s": float(meta["duration_s"]),
            "targets": len(np.unique(ids)),
            "targets_alive_end": len(np.unique(ids[t >= t.max() - 1.0])) if t.size else 0,
            "sensors": [s.get("kind") for s in meta.get("sensors", [])]}


def live_tracks_at_end(tracks: Path, t_end_s: float) -> int:
    """Tracks whose latest row is confirmed and no older than TRACK_MAX_AGE_S at t_end_s
    (a tracker ends a deleted track with an unconfirmed row)."""
    table = pq.read_table(tracks, columns=["t", "track_id", "confirmed"])
    t, ids = table.column("t").to_numpy(), table.column("track_id").to_numpy()
    confirmed = table.column("confirmed").to_numpy(zero_copy_only=False)
    if t.size == 0:
        return 0
    order = np.lexsort((t, ids))
    last = np.ones(order.size, dtype=bool)
    last[:-1] = ids[order][1:] != ids[order][:-1]
    latest = order[last]
    return int((confirmed[latest] & (t[latest] >= t_end_s - TRACK_MAX_AGE_S)).sum())


def _slice_times(stats: dict[str, Any]) -> list[float]:
    """The tracker's per-scan or per-slice processing times, whatever key it used."""
    for key in SLICE_TIME_KEYS:
        value = stats.get(key)
        if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
            return [float(v) for v in value]
    return []


SCAN_S = 4.0
"""Stone Soup's scan bucket; airpicture's slice times are summed over it for the ratios."""


def per_scan_ms(slice_times_s: list[float], slice_s: float | None) -> dict[str, float | None]:
    """p50/p99 of the time to process SCAN_S seconds of plots (consecutive slices summed)."""
    if not slice_times_s or not slice_s or slice_s <= 0:
        return {"p50_scan_ms": None, "p99_scan_ms": None}
    k = max(1, round(SCAN_S / slice_s))
    times = np.asarray(slice_times_s, dtype=np.float64)
    sums = np.add.reduceat(times, np.arange(0, times.size, k))
    p = percentiles_ms(sums)
    return {"p50_scan_ms": p["p50_ms"], "p99_scan_ms": p["p99_ms"]}


def run_airpicture(scenario: Path, work: Path, facts: dict[str, Any], tracker_spec: str,
                   limit_s: float) -> dict[str, Any]:
    """airpicture's tracker in a child: throughput, per-slice times, peak memory."""
    tracks, stats_path = work / "airpicture-tracks.parquet", work / "airpicture-stats.json"
    child = run_child([sys.executable, "-m", "airpicture.bench.tracker_child", str(scenario),
                       str(tracks), str(stats_path), tracker_spec], limit_s,
                      log_path=work / "airpicture.log")
    out: dict[str, Any] = {"tracker": tracker_spec, "process_wall_s": child.wall_s}
    if not child.ok or not stats_path.exists() or not tracks.exists():
        reason = "no such tracker" if "ModuleNotFoundError" in child.stderr_tail else "failed"
        last = child.stderr_tail.strip().splitlines()[-1:] or [""]
        out.update(status="not available" if reason == "no such tracker" else "failed",
                   note=("killed at the time limit" if child.killed else last[0])[:200])
        return out
    run = json.loads(stats_path.read_text())
    stats = run["stats"] if isinstance(run.get("stats"), dict) else {}
    loop_s = stats.get("wall_s")
    wall_s = float(loop_s) if isinstance(loop_s, int | float) and loop_s > 0 else float(
        run["call_wall_s"])
    slices = _slice_times(stats)
    slice_s = stats.get("slice_s")
    out.update(status="ok", tracks=str(tracks), peak_rss_mb=child.peak_rss_mb, wall_s=wall_s,
               call_wall_s=run["call_wall_s"],
               full_run_s=wall_s, extrapolated=False, lower_bound=False,
               plots_per_s=facts["plots"] / wall_s, realtime_ratio=facts["duration_s"] / wall_s,
               slices=len(slices), **percentiles_ms(slices),
               slice_s=slice_s if isinstance(slice_s, int | float) else None,
               **per_scan_ms(slices, slice_s if isinstance(slice_s, int | float) else None),
               live_tracks_end=live_tracks_at_end(tracks, facts["duration_s"]),
               run_stats={k: v for k, v in stats.items() if not isinstance(v, list | dict)})
    return out


def run_stonesoup(scenario: Path, work: Path, facts: dict[str, Any], budget_s: float,
                  stamp: str) -> dict[str, Any]:
    """Stone Soup's stock tracker in a child, stopped after budget_s and extrapolated."""
    tracks, stats_path = work / "stonesoup-tracks.parquet", work / "stonesoup-stats.json"
    child = run_child([sys.executable, str(STONESOUP_PEER), str(scenario), "--tracks",
                       str(tracks), "--stats", str(stats_path), "--budget-s", str(budget_s),
                       "--stamp", stamp], budget_s + 180.0, log_path=work / "stonesoup.log")
    out: dict[str, Any] = {"tracker": "stonesoup", "process_wall_s": child.wall_s,
                           "budget_s": budget_s}
    if not child.ok or not stats_path.exists():
        last = child.stderr_tail.strip().splitlines()[-1:] or [""]
        out.update(status="failed", note=("killed" if child.killed else last[0])[:200])
        return out
    st = json.loads(stats_path.read_text())
    est = estimate_full_run(st["scan_times_s"], st["scans_total"], st["aborted_scan_s"])
    out.update(status="ok", tracks=str(tracks), peak_rss_mb=child.peak_rss_mb,
               version=st["version"], config=st["config"],
               wall_s=est.loop_wall_s, full_run_s=est.full_run_s, extrapolated=est.extrapolated,
               lower_bound=est.lower_bound, estimate_basis=est.basis, build_s=st["build_s"],
               scans_done=st["scans_done"], scans_total=st["scans_total"],
               plots_done=st["plots_done"], t_covered_s=st["t_covered_s"],
               plots_per_s=facts["plots"] / est.full_run_s if est.full_run_s > 0 else None,
               realtime_ratio=facts["duration_s"] / est.full_run_s if est.full_run_s > 0
               else None, slices=st["scans_done"], **percentiles_ms(st["scan_times_s"]))
    out.update(p50_scan_ms=out["p50_ms"], p99_scan_ms=out["p99_ms"])
    return out


def ratio(ours: Any, peer: Any) -> float | None:
    """ours / peer when both are positive numbers, else None."""
    if isinstance(ours, int | float) and isinstance(peer, int | float) and peer > 0 and ours >= 0:
        return float(ours) / float(peer)
    return None


RATIO_FIELDS = ("plots_per_s", "realtime_ratio", "p50_ms", "p99_ms", "peak_rss_mb")
SCORE_RATIO_FIELDS = ("gospa_m", "rms_pos_m", "id_changes")


def ratios(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, float | None]:
    """airpicture / Stone Soup for each figure, accuracy from the same scoring window."""
    if ours.get("status") != "ok" or peer.get("status") != "ok":
        return dict.fromkeys(RATIO_FIELDS + SCORE_RATIO_FIELDS)
    out = {f: ratio(ours.get(f), peer.get(f)) for f in RATIO_FIELDS}
    for f in ("p50_ms", "p99_ms"):  # per 4 s of plots on both sides
        scan_f = f.replace("_ms", "_scan_ms")
        if ours.get(scan_f) is not None:
            out[f] = ratio(ours.get(scan_f), peer.get(scan_f, peer.get(f)))
    ours_score = ours.get("score_window") or ours.get("score") or {}
    peer_score = peer.get("score") or {}
    out.update({f: ratio(ours_score.get(f), peer_score.get(f)) for f in SCORE_RATIO_FIELDS})
    return out


def bench_scenario(sc: BenchScenario, scenario: Path, work: Path, tracker_spec: str = (
        DEFAULT_TRACKER), scorer: Scorer = score, stamp: str = "auto",
        tracker_limit_s: float = 600.0) -> dict[str, Any]:
    """Both trackers on one scenario, scored; a dict of figures for the table and JSON.

    stamp "auto" takes the scenario's Stone Soup Detection time ("plot" or "scan").
    """
    work.mkdir(parents=True, exist_ok=True)
    facts = scenario_facts(scenario)
    ours = run_airpicture(scenario, work, facts, tracker_spec, tracker_limit_s)
    turning = sc.preset.startswith("crossing-")
    if ours["status"] == "ok":
        ours["score"] = _safe_score(scorer, scenario, Path(ours["tracks"]), turning)
    peer: dict[str, Any] = {"tracker": "stonesoup", "status": "skipped",
                            "note": sc.why_no_stonesoup}
    if sc.stonesoup_budget_s is not None:
        peer = run_stonesoup(scenario, work, facts, sc.stonesoup_budget_s,
                             sc.stonesoup_stamp if stamp == "auto" else stamp)
    if peer["status"] == "ok":
        window_s = float(peer["t_covered_s"])
        if peer["config"].get("stamp") == "scan":
            peer["score"] = {}
            peer["score_note"] = ("not scored: a speed run, its Detections carry scan times, "
                                  "not the plots' own")
        elif window_s <= SCORE_T_MIN_S:
            peer["score"] = {}
            peer["score_note"] = (f"not scored: it covered only 0-{window_s:g} s, scoring "
                                  f"starts at {SCORE_T_MIN_S:g} s")
        elif window_s < facts["duration_s"]:
            part = truncate_scenario(scenario, work / "scored-window", window_s)
            peer["score"] = _safe_score(scorer, part, Path(peer["tracks"]), turning)
            peer["score_note"] = f"scored on 0-{window_s:g} s only (stopped by its budget)"
            if ours["status"] == "ok":
                ours["score_window"] = _safe_score(scorer, part, Path(ours["tracks"]), turning)
        else:
            peer["score"] = _safe_score(scorer, scenario, Path(peer["tracks"]), turning)
    return {"scenario": sc.preset, "folder": str(scenario), **facts, "airpicture": ours,
            "stonesoup": peer, "ratio": ratios(ours, peer)}
