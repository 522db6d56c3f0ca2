"""Score a tracker's tracks.parquet against a scenario's truth (SCENARIO.md "Scores").

GOSPA (c = 10 km, p = 2, alpha = 2) with its localisation, missed and false parts, OSPA,
position and velocity RMS over the GOSPA-assigned pairs, identity changes per target, time
from a target's first plot to its first confirmed track, and SIAP completeness, ambiguity
and spuriousness.  Only confirmed track rows are scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from airpicture.core.errors import UserError
from airpicture.core.schema import TRACK_COLUMNS, TRUTH_COLUMNS
from airpicture.metrics.align import (
    MAX_TRACK_AGE_S,
    ConfirmedRows,
    FloatArray,
    IntArray,
    PointSets,
    align_tracks,
    scoring_times,
    truth_at,
)
from airpicture.metrics.gospa import (
    GOSPA_ALPHA,
    GOSPA_C_M,
    GOSPA_P,
    Assignment,
    PerTime,
    assign,
    per_time,
    time_mean,
)
from airpicture.metrics.identity import FOLLOW_DISTANCE_M, assignment_switches, id_changes
from airpicture.metrics.siap import SIAP_THRESHOLD_M, siap


@dataclass
class ScoreDetails:
    """Per-time and per-pair arrays behind the summary (for the report; not in the JSON)."""

    times_s: FloatArray
    per_time: PerTime
    pos_err_m: FloatArray
    vel_err_mps: FloatArray
    time_to_confirm_s: FloatArray
    truth: PointSets
    tracks: PointSets


@dataclass
class ScoreSummary:
    """The scores of one tracker run on one scenario; `to_json()` is what summary.json holds.

    Every figure uses the scoring times (t_min_s, step_s) except the times to confirm, which
    use every truth time so that they do not depend on the scoring window.
    """

    gospa_m: float
    gospa_localisation_m: float
    gospa_missed_m: float
    gospa_false_m: float
    ospa_m: float
    rms_pos_m: float
    rms_vel_mps: float
    id_changes: int
    gospa_assignment_switches: int
    mean_time_to_confirm_s: float
    max_time_to_confirm_s: float
    siap_completeness: float
    siap_ambiguity: float
    siap_spuriousness: float
    siap_position_accuracy_m: float
    siap_velocity_accuracy_mps: float
    n_truth: int
    n_tracks: int
    n_times: int
    n_targets_never_tracked: int
    mean_missed_per_time: float
    mean_false_per_time: float
    t_min_s: float
    step_s: float | None
    c_m: float = GOSPA_C_M
    p: float = GOSPA_P
    alpha: float = GOSPA_ALPHA
    details: ScoreDetails | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Scalars only, NaN as null, so json.dumps gives valid JSON."""
        out: dict[str, Any] = {}
        for name, value in vars(self).items():
            if name == "details":
                continue
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            out[name] = value
        return out


def _check_table(table: pa.Table, columns: tuple[Any, ...], where: str) -> None:
    """Required columns present and non-null, or a UserError naming them."""
    for c in columns:
        if not c.required:
            continue
        if c.name not in table.column_names:
            raise UserError(where, f"missing column {c.name!r}")
        if table.column(c.name).null_count:
            raise UserError(where, f"column {c.name!r} has null values")


def _load_tracks(tracks: Path | pa.Table) -> pa.Table:
    from airpicture.io.scenario import read_tracks

    if isinstance(tracks, pa.Table):
        _check_table(tracks, TRACK_COLUMNS, "tracks table")
        for c in TRACK_COLUMNS:
            if c.required:
                try:
                    tracks.column(c.name).cast(c.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise UserError("tracks table", f"column {c.name!r} is not {c.type}") from None
        return tracks
    return read_tracks(tracks)


def first_plot_times(truth_id: IntArray, plot_t_s: FloatArray) -> dict[int, float]:
    """Time of each target's first plot (clutter, truth_id < 0, left out)."""
    real = truth_id >= 0
    ids, t = truth_id[real], plot_t_s[real]
    order = np.lexsort((t, ids))
    uniq, first = np.unique(ids[order], return_index=True)
    return dict(zip(uniq.tolist(), t[order][first].tolist(), strict=True))


def _lookup_times(times_by_id: dict[int, float], ids: IntArray) -> FloatArray:
    """times_by_id[i] for each id (NaN where absent), vectorised."""
    keys = np.fromiter(times_by_id.keys(), np.int64, len(times_by_id))
    values = np.fromiter(times_by_id.values(), np.float64, len(times_by_id))
    order = np.argsort(keys)
    keys, values = keys[order], values[order]
    if keys.size == 0:
        return np.full(ids.size, np.nan)
    pos = np.minimum(np.searchsorted(keys, ids), keys.size - 1)
    return np.where(keys[pos] == ids, values[pos], np.nan)


def times_to_confirm(
    truth: PointSets, est: PointSets, match: Assignment, times_s: FloatArray,
    first_plot: dict[int, float], first_confirmed: dict[int, float],
) -> tuple[FloatArray, int]:
    """Per target: first confirmed track following it minus its first plot time.

    The first track following a target is the first GOSPA-assigned one within 2 km of it;
    the confirmation instant is that track's first confirmed row, clipped into (previous
    scoring time, first assigned time].  Targets already tracked at the first truth time,
    before their first plot is known, are left out.  Also returns how many targets with
    plots never got a track.
    """
    close = match.dist_m <= FOLLOW_DISTANCE_M
    target = truth.ident[match.truth_row[close]]
    k = truth.k[match.truth_row[close]]
    track = est.ident[match.est_row[close]]
    order = np.lexsort((k, target))
    target, k, track = target[order], k[order], track[order]
    first = np.ones(target.size, bool)
    first[1:] = target[1:] != target[:-1]
    target, k, track = target[first], k[first], track[first]
    plot_t = _lookup_times(first_plot, target)
    conf_t = _lookup_times(first_confirmed, track)
    prev_t = np.where(k > 0, times_s[np.maximum(k - 1, 0)], -np.inf)
    conf_t = np.clip(conf_t, prev_t, times_s[k])
    known = np.isfinite(plot_t) & ((k > 0) | (plot_t >= times_s[0] if times_s.size else False))
    delay = np.maximum(conf_t - plot_t, 0.0)[known]
    scored = set(np.unique(truth.ident).tolist())
    plotted = {tid for tid, t in first_plot.items() if tid in scored and t <= times_s[-1]}
    never = len(plotted - set(target.tolist())) if times_s.size else 0
    return delay.astype(np.float64), never


def _confirm_delays(
    truth_table: pa.Table, truth_t: FloatArray, times: FloatArray, rows: ConfirmedRows,
    first_plot: dict[int, float], scored: tuple[PointSets, PointSets, Assignment],
) -> tuple[FloatArray, int]:
    """Times to confirm over every truth time, whatever t_min and step select for scoring."""
    all_times = scoring_times(truth_t)
    if all_times.size != times.size:
        truth = truth_at(truth_table, all_times)
        est = align_tracks(rows, all_times, MAX_TRACK_AGE_S)
        scored = (truth, est, assign(truth, est, GOSPA_C_M, GOSPA_P))
    return times_to_confirm(*scored, all_times, first_plot, rows.first_t_per_track())


def score_tables(
    truth_table: pa.Table, tracks_table: pa.Table, first_plot: dict[int, float], *,
    t_min_s: float = 0.0, step_s: float | None = None,
) -> ScoreSummary:
    """Score tracks (tracks.parquet columns) against truth (truth.parquet columns)."""
    _check_table(truth_table, TRUTH_COLUMNS, "truth table")
    _check_table(tracks_table, TRACK_COLUMNS, "tracks table")
    truth_t = np.asarray(truth_table.column("t").to_numpy(zero_copy_only=False), np.float64)
    for name in ("t", "x", "y", "vx", "vy"):
        values = np.asarray(truth_table.column(name).to_numpy(zero_copy_only=False), float)
        if not np.all(np.isfinite(values)):
            raise UserError("truth table", f"column {name!r} has non-finite values")
    times = scoring_times(truth_t, t_min_s, step_s)
    n_times = int(times.size)
    truth = truth_at(truth_table, times)
    rows = ConfirmedRows.from_table(tracks_table)
    est = align_tracks(rows, times, MAX_TRACK_AGE_S)
    match = assign(truth, est, GOSPA_C_M, GOSPA_P)
    pt = per_time(truth, est, match, n_times, GOSPA_C_M, GOSPA_P, GOSPA_ALPHA)
    pos_err = match.dist_m
    vel_err = np.hypot(truth.vx[match.truth_row] - est.vx[match.est_row],
                       truth.vy[match.truth_row] - est.vy[match.est_row])
    delays, never = _confirm_delays(truth_table, truth_t, times, rows, first_plot,
                                    (truth, est, match))
    sp = siap(truth, est, n_times, SIAP_THRESHOLD_M)

    def rms(v: FloatArray) -> float:
        return float(np.sqrt(np.mean(np.square(v)))) if v.size else float("nan")

    details = ScoreDetails(times, pt, pos_err, vel_err, delays, truth, est)
    return ScoreSummary(
        gospa_m=time_mean(pt.gospa_m),
        gospa_localisation_m=time_mean(np.sqrt(pt.localisation_m2)),
        gospa_missed_m=time_mean(np.sqrt(pt.missed_m2)),
        gospa_false_m=time_mean(np.sqrt(pt.false_m2)),
        ospa_m=time_mean(pt.ospa_m),
        rms_pos_m=rms(pos_err),
        rms_vel_mps=rms(vel_err),
        id_changes=id_changes(truth, est, match, n_times),
        gospa_assignment_switches=assignment_switches(truth, est, match),
        mean_time_to_confirm_s=float(np.mean(delays)) if delays.size else float("nan"),
        max_time_to_confirm_s=float(np.max(delays)) if delays.size else float("nan"),
        siap_completeness=sp.completeness,
        siap_ambiguity=sp.ambiguity,
        siap_spuriousness=sp.spuriousness,
        siap_position_accuracy_m=sp.position_accuracy_m,
        siap_velocity_accuracy_mps=sp.velocity_accuracy_mps,
        n_truth=int(np.unique(truth.ident).size),
        n_tracks=int(np.unique(est.ident).size),
        n_times=n_times,
        n_targets_never_tracked=never,
        mean_missed_per_time=time_mean((pt.n_truth - pt.n_assigned).astype(float)),
        mean_false_per_time=time_mean((pt.n_tracks - pt.n_assigned).astype(float)),
        t_min_s=float(t_min_s),
        step_s=None if step_s is None else float(step_s),
        details=details,
    )


def score_scenario(
    scenario_dir: Path, tracks: Path | pa.Table, *, t_min_s: float = 0.0,
    step_s: float | None = None,
) -> ScoreSummary:
    """Score a tracker's tracks against the truth and plots of the scenario in `scenario_dir`."""
    from airpicture.io.scenario import read_meta, read_plots_with_truth, read_truth

    meta = read_meta(scenario_dir)
    truth_table = read_truth(scenario_dir)
    plots, truth_id = read_plots_with_truth(scenario_dir, meta)
    tracks_table = _load_tracks(tracks)
    if step_s is not None and not step_s > 0:
        raise UserError(None, f"--step must be positive, got {step_s}")
    truth_t = np.asarray(truth_table.column("t").to_numpy(zero_copy_only=False), np.float64)
    if not np.any(truth_t >= t_min_s):
        raise UserError(Path(scenario_dir) / "truth.parquet",
                        f"no truth sample at or after t = {t_min_s:g} s to score")
    first_plot = first_plot_times(np.asarray(truth_id, np.int64), plots.t)
    return score_tables(truth_table, tracks_table, first_plot, t_min_s=t_min_s, step_s=step_s)
