"""Track identity changes: how often the track that follows a target changes id.

A target keeps the track that follows it while that track is alive and within 2 km (the
SIAP association threshold); only then does it take its GOSPA-assigned track, if that one
is within 2 km too, and a different id counts as one change.  Without that hysteresis a
duplicate track beside the right one would count a change every time the two swap the
nearest place.  `assignment_switches` gives the raw count of changes of the GOSPA-assigned
track as well.
"""

from __future__ import annotations

import numpy as np

from airpicture.metrics.align import IntArray, PointSets
from airpicture.metrics.gospa import Assignment

FOLLOW_DISTANCE_M = 2_000.0


def assignment_switches(truth: PointSets, est: PointSets, match: Assignment) -> int:
    """How often the GOSPA-assigned track of a target differs from its previous one."""
    target = truth.ident[match.truth_row]
    k = truth.k[match.truth_row]
    track = est.ident[match.est_row]
    order = np.lexsort((k, target))
    target, track = target[order], track[order]
    return int(np.count_nonzero((target[1:] == target[:-1]) & (track[1:] != track[:-1])))


def _lookup(keys_sorted: IntArray, order: IntArray, query: IntArray) -> IntArray:
    """Row of each query key in the unsorted key array (-1 where absent)."""
    if keys_sorted.size == 0:
        return np.full(query.size, -1, np.int64)
    pos = np.minimum(np.searchsorted(keys_sorted, query), keys_sorted.size - 1)
    return np.where(keys_sorted[pos] == query, order[pos], -1).astype(np.int64)


def id_changes(truth: PointSets, est: PointSets, match: Assignment, n_times: int,
               follow_m: float = FOLLOW_DISTANCE_M) -> int:
    """Identity changes summed over targets, with the keep-while-close rule of the module doc.

    One step per scoring time, vectorised over the targets present.
    """
    if len(truth) == 0 or len(est) == 0:
        return 0
    targets, t_index = np.unique(truth.ident, return_inverse=True)
    _, e_index = np.unique(est.ident, return_inverse=True)
    close = match.dist_m <= follow_m
    assigned = np.full(len(truth), -1, np.int64)
    assigned[match.truth_row[close]] = e_index[match.est_row[close]]
    est_key = e_index * np.int64(n_times) + est.k
    order = np.argsort(est_key, kind="stable")
    keys_sorted = est_key[order]
    current = np.full(targets.size, -1, np.int64)
    changes = 0
    bounds = np.searchsorted(truth.k, np.arange(n_times + 1))
    for k in range(n_times):
        rows = np.arange(bounds[k], bounds[k + 1])
        who = t_index[rows]
        cur = current[who]
        at = _lookup(keys_sorted, order, np.where(cur >= 0, cur, 0) * np.int64(n_times) + k)
        at = np.where(cur >= 0, at, -1)
        safe = np.maximum(at, 0)
        near = np.hypot(est.x[safe] - truth.x[rows], est.y[safe] - truth.y[rows]) <= follow_m
        follows = (at >= 0) & near
        new = assigned[rows]
        take = ~follows & (new >= 0)
        changes += int(np.count_nonzero(take & (cur >= 0) & (new != cur)))
        current[who[take]] = new[take]
    return changes
