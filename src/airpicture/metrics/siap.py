"""SIAP completeness, ambiguity and spuriousness with Stone Soup's definitions.

Association follows Stone Soup's `TrackToTruth` (position-only Euclidean distance, threshold
2 km, 3 consecutive close times to start an association, 2 consecutive misses to end it),
replayed time by time but vectorised over all tracks; the SIAP ratios are those of Stone
Soup's `SIAPMetrics`: C = sum JT / sum J, A = sum NA / sum JT, S = sum (N - NA) / sum N,
and the position and velocity accuracies PA, VA = sum of distances over associations / sum NA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from airpicture.metrics.align import IntArray, PointSets

SIAP_THRESHOLD_M = 2_000.0
CONSEC_PAIRS_CONFIRM = 3
CONSEC_MISSES_END = 2


@dataclass
class Siap:
    completeness: float
    ambiguity: float
    spuriousness: float
    position_accuracy_m: float
    velocity_accuracy_mps: float
    n_associations: int


@dataclass
class Associations:
    """Time-range associations: track row index space -> truth target, over time indices."""

    track_id: IntArray
    target_id: IntArray
    k_start: IntArray
    k_end: IntArray


def nearest_truth(truth: PointSets, est: PointSets, threshold_m: float) -> IntArray:
    """For each track row, the truth row nearest at its time if closer than threshold, else -1."""
    out = np.full(len(est), -1, np.int64)
    if len(truth) == 0 or len(est) == 0:
        return out
    gap = 4.0 * threshold_m
    tree = cKDTree(np.column_stack([truth.x, truth.y, truth.k * gap]))
    dist, idx = tree.query(np.column_stack([est.x, est.y, est.k * gap]),
                           distance_upper_bound=threshold_m)
    ok = (dist < threshold_m) & (idx < len(truth))
    ok[ok] &= truth.k[idx[ok]] == est.k[ok]
    out[ok] = idx[ok]
    return out


def track_to_truth(truth: PointSets, est: PointSets, n_times: int,
                   threshold_m: float = SIAP_THRESHOLD_M) -> Associations:
    """Stone Soup's TrackToTruth state machine, one step per time over all tracks present."""
    near = nearest_truth(truth, est, threshold_m)
    near_target = np.where(near >= 0, truth.ident[np.maximum(near, 0)], -1)
    tracks, est_track = np.unique(est.ident, return_inverse=True)
    n = tracks.size
    cur, pot = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    npot, nfail = np.zeros(n, np.int64), np.zeros(n, np.int64)
    pot_start, start, end = (np.full(n, -1, np.int64) for _ in range(3))
    ended: list[tuple[IntArray, ...]] = []
    bounds = np.searchsorted(est.k, np.arange(n_times + 1))
    for k in range(n_times):
        j = est_track[bounds[k]:bounds[k + 1]]
        m = near_target[bounds[k]:bounds[k + 1]]
        free = cur[j] < 0
        # No current association: count consecutive closest-truth matches.
        jf, mf = j[free], m[free]
        none = mf < 0
        same = ~none & (pot[jf] == mf)
        new = ~none & ~same
        npot[jf[none]], pot[jf[none]], pot_start[jf[none]] = 0, -1, -1
        npot[jf[same]] += 1
        pot[jf[new]], npot[jf[new]], pot_start[jf[new]] = mf[new], 1, k
        conf = jf[npot[jf] >= CONSEC_PAIRS_CONFIRM]
        cur[conf], start[conf], end[conf] = pot[conf], pot_start[conf], k
        pot_start[conf], pot[conf], npot[conf] = -1, -1, 0
        # A current association: extend it, or count misses and a possible successor.
        jc, mc = j[~free], m[~free]
        hit = mc == cur[jc]
        nfail[jc[hit]] = 0
        end[jc[hit]] = k
        jm, mm = jc[~hit], mc[~hit]
        nfail[jm] += 1
        again = (mm >= 0) & (mm == pot[jm])
        npot[jm[again]] += 1
        pot[jm[~again]], pot_start[jm[~again]], npot[jm[~again]] = mm[~again], k, 1
        stop = jm[nfail[jm] >= CONSEC_MISSES_END]
        if stop.size:
            ended.append((stop, cur[stop].copy(), start[stop].copy(), end[stop].copy()))
            switch = npot[stop] >= CONSEC_PAIRS_CONFIRM
            sw, st = stop[switch], stop[~switch]
            cur[sw], start[sw], end[sw] = pot[sw], pot_start[sw], k
            cur[st], start[st], end[st] = -1, -1, -1
    open_ = np.flatnonzero(cur >= 0)
    ended.append((open_, cur[open_], start[open_], end[open_]))
    j_all = np.concatenate([e[0] for e in ended])
    return Associations(
        track_id=tracks[j_all].astype(np.int64),
        target_id=np.concatenate([e[1] for e in ended]).astype(np.int64),
        k_start=np.concatenate([e[2] for e in ended]).astype(np.int64),
        k_end=np.concatenate([e[3] for e in ended]).astype(np.int64),
    )


def _distinct_per_time(ident: IntArray, k: IntArray, n_times: int) -> IntArray:
    """How many distinct identities each time index holds."""
    if k.size == 0:
        return np.zeros(n_times, np.int64)
    _, compact = np.unique(ident, return_inverse=True)
    width = np.int64(compact.max() + 1)
    key = np.unique(k * width + compact)
    return np.bincount(key // width, minlength=n_times).astype(np.int64)


def _expand(assoc: Associations) -> tuple[IntArray, IntArray, IntArray]:
    """(track id, target id, time index) for every time each association covers."""
    lengths = assoc.k_end - assoc.k_start + 1
    k = np.repeat(assoc.k_start, lengths) + (
        np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    return np.repeat(assoc.track_id, lengths), np.repeat(assoc.target_id, lengths), k


def _rows_of(points: PointSets, ident: IntArray, k: IntArray, n_times: int) -> IntArray:
    """Row of `points` holding (ident, k) for each query, -1 where there is none."""
    ids = np.unique(points.ident)
    if ids.size == 0 or ident.size == 0:
        return np.full(ident.size, -1, np.int64)
    key = np.searchsorted(ids, points.ident) * np.int64(n_times) + points.k
    order = np.argsort(key, kind="stable")
    pos_id = np.minimum(np.searchsorted(ids, ident), ids.size - 1)
    query = pos_id * np.int64(n_times) + k
    pos = np.minimum(np.searchsorted(key[order], query), key.size - 1)
    found = (ids[pos_id] == ident) & (key[order][pos] == query)
    return np.where(found, order[pos], -1).astype(np.int64)


def _accuracy_sums(expanded: tuple[IntArray, IntArray, IntArray], truth: PointSets,
                   est: PointSets, n_times: int) -> tuple[float, float]:
    """Sums over associations and times of position and velocity distances (SIAP PA, VA)."""
    track_id, target_id, k = expanded
    e = _rows_of(est, track_id, k, n_times)
    g = _rows_of(truth, target_id, k, n_times)
    ok = (e >= 0) & (g >= 0)
    e, g = e[ok], g[ok]
    pos = np.hypot(est.x[e] - truth.x[g], est.y[e] - truth.y[g]).sum()
    vel = np.hypot(est.vx[e] - truth.vx[g], est.vy[e] - truth.vy[g]).sum()
    return float(pos), float(vel)


def siap(truth: PointSets, est: PointSets, n_times: int,
         threshold_m: float = SIAP_THRESHOLD_M) -> Siap:
    """SIAP completeness, ambiguity and spuriousness over all scoring times."""
    assoc = track_to_truth(truth, est, n_times, threshold_m)
    j_sum = len(truth)
    n_sum = len(est)
    expanded = _expand(assoc)
    jt_sum = int(_distinct_per_time(expanded[1], expanded[2], n_times).sum())
    na_sum = int(_distinct_per_time(expanded[0], expanded[2], n_times).sum())
    pos_sum, vel_sum = _accuracy_sums(expanded, truth, est, n_times)
    return Siap(
        completeness=jt_sum / j_sum if j_sum else 0.0,
        ambiguity=na_sum / jt_sum if jt_sum else 1.0,
        spuriousness=(n_sum - na_sum) / n_sum if n_sum else 0.0,
        position_accuracy_m=pos_sum / na_sum if na_sum else float("nan"),
        velocity_accuracy_mps=vel_sum / na_sum if na_sum else float("nan"),
        n_associations=int(assoc.track_id.size),
    )
