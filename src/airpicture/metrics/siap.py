"""SIAP completeness, ambiguity and spuriousness with Stone Soup's definitions.

Association follows Stone Soup's `TrackToTruth` (position-only Euclidean distance, threshold
2 km, 3 consecutive close times to start an association, 2 consecutive misses to end it),
replayed time by time but vectorised over all tracks; the SIAP ratios are those of Stone
Soup's `SIAPMetrics`: C = sum JT / sum J, A = sum NA / sum JT, S = sum (N - NA) / sum N.
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


def _distinct_per_time(ident: IntArray, k_start: IntArray, k_end: IntArray,
                       n_times: int) -> IntArray:
    """How many distinct identities have a range covering each time index."""
    lengths = k_end - k_start + 1
    k = np.repeat(k_start, lengths) + (
        np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths))
    ids = np.repeat(ident, lengths)
    if k.size == 0:
        return np.zeros(n_times, np.int64)
    _, compact = np.unique(ids, return_inverse=True)
    key = np.unique(k * np.int64(compact.max() + 1) + compact)
    return np.bincount(key // np.int64(compact.max() + 1), minlength=n_times).astype(np.int64)


def siap(truth: PointSets, est: PointSets, n_times: int,
         threshold_m: float = SIAP_THRESHOLD_M) -> Siap:
    """SIAP completeness, ambiguity and spuriousness over all scoring times."""
    assoc = track_to_truth(truth, est, n_times, threshold_m)
    j_sum = len(truth)
    n_sum = len(est)
    jt_sum = int(_distinct_per_time(assoc.target_id, assoc.k_start, assoc.k_end, n_times).sum())
    na_sum = int(_distinct_per_time(assoc.track_id, assoc.k_start, assoc.k_end, n_times).sum())
    return Siap(
        completeness=jt_sum / j_sum if j_sum else 0.0,
        ambiguity=na_sum / jt_sum if jt_sum else 1.0,
        spuriousness=(n_sum - na_sum) / n_sum if n_sum else 0.0,
        n_associations=int(assoc.track_id.size),
    )
