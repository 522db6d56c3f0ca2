"""GOSPA and OSPA at every scoring time at once, on a sparse cost.

Only truth-track pairs closer than the cut-off c can lower the cost (a pair at d >= c costs
as much as leaving both unassigned), so pairs come from a KD-tree within c, with the time
index as a third coordinate far apart so that pairs never cross times.  The bipartite graph
splits into connected components, each solved on its own: one-truth or one-track components
by their nearest pair, components of up to 5 x 5 by trying every permutation (both
vectorised over all components), the few larger ones with scipy's linear_sum_assignment.

OSPA uses the same assignment, the one that minimises sum min(d, c)^p.  Stone Soup's
OSPAMetric assigns on sum min(d, c) instead and then sums the p-th powers, so the two can
differ (slightly, and only where two pairings are nearly tied).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from airpicture.metrics.align import FloatArray, IntArray, PointSets

GOSPA_C_M = 10_000.0
GOSPA_P = 2.0
GOSPA_ALPHA = 2.0
SMALL_COMPONENT = 5
"""Components up to this many truths or tracks are solved by trying every permutation."""


@dataclass
class Assignment:
    """Assigned (truth row, track row) pairs closer than c, and the distance of each."""

    truth_row: IntArray
    est_row: IntArray
    dist_m: FloatArray


@dataclass
class PerTime:
    """GOSPA and OSPA per scoring time; the parts are in m^p (they add up to GOSPA^p)."""

    gospa_m: FloatArray
    localisation_m2: FloatArray
    missed_m2: FloatArray
    false_m2: FloatArray
    ospa_m: FloatArray
    n_truth: IntArray
    n_tracks: IntArray
    n_assigned: IntArray


def _close_pairs(
    truth: PointSets, est: PointSets, c_m: float
) -> tuple[IntArray, IntArray, FloatArray]:
    """Every same-time (truth row, track row) pair closer than c_m."""
    if len(truth) == 0 or len(est) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    gap = 4.0 * c_m
    tree_truth = cKDTree(np.column_stack([truth.x, truth.y, truth.k * gap]))
    tree_est = cKDTree(np.column_stack([est.x, est.y, est.k * gap]))
    pairs = tree_truth.sparse_distance_matrix(tree_est, c_m, output_type="ndarray")
    i = pairs["i"].astype(np.int64)
    j = pairs["j"].astype(np.int64)
    # Exact planar distance (the third coordinate is equal within a time).
    d = np.hypot(truth.x[i] - est.x[j], truth.y[i] - est.y[j])
    close = (d < c_m) & (truth.k[i] == est.k[j])
    return i[close], j[close], d[close]


def _first_per_label(labels: IntArray, cost: FloatArray) -> IntArray:
    """Index of the lowest-cost entry of each label (labels given per entry)."""
    order = np.lexsort((cost, labels))
    first = np.ones(order.size, bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    return order[first]


def _local_index(label: IntArray) -> IntArray:
    """Rank of each node among the nodes of its component (in node order)."""
    order = np.argsort(label, kind="stable")
    sorted_label = label[order]
    starts = np.flatnonzero(np.r_[True, sorted_label[1:] != sorted_label[:-1]])
    first = np.repeat(starts, np.diff(np.r_[starts, order.size]))
    local = np.empty(label.size, np.int64)
    local[order] = np.arange(order.size) - first
    return local


def _solve_small(lt: IntArray, le: IntArray, comp: IntArray, cost: FloatArray,
                 c_p: float, size: int) -> npt.NDArray[np.bool_]:
    """Which edges the optimum keeps, for components of at most `size` truths and tracks.

    Every permutation of a size x size cost (missing pairs and padding cost c^p) is tried at
    once for all such components: vectorised, exact.
    """
    uniq, slot = np.unique(comp, return_inverse=True)
    full = np.full((uniq.size, size, size), c_p)
    full[slot, lt, le] = cost
    perms = np.array(list(itertools.permutations(range(size))), np.int64)
    totals = full[:, np.arange(size), perms].sum(axis=-1)
    best = perms[np.argmin(totals, axis=1)]
    return (best[slot, lt] == le) & (cost < c_p)


def _solve_component(lt: IntArray, le: IntArray, cost: FloatArray,
                     c_p: float) -> npt.NDArray[np.bool_]:
    """Which edges of one component the optimal assignment keeps (scipy's LSA)."""
    full = np.full((lt.max() + 1, le.max() + 1), c_p)
    full[lt, le] = cost
    r, c = linear_sum_assignment(full)
    chosen = np.zeros(full.shape, bool)
    chosen[r, c] = True
    return chosen[lt, le] & (cost < c_p)


def assign(truth: PointSets, est: PointSets, c_m: float = GOSPA_C_M,
           p: float = GOSPA_P) -> Assignment:
    """The GOSPA-optimal assignment at every time: minimises sum min(d, c)^p per time."""
    ti, ej, d = _close_pairs(truth, est, c_m)
    if ti.size == 0:
        return Assignment(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    n_t = len(truth)
    graph = coo_matrix((np.ones(ti.size), (ti, n_t + ej)), shape=(n_t + len(est),) * 2)
    _, label = connected_components(graph, directed=False)
    label = label.astype(np.int64)
    edge_label = label[ti]
    n_truth_in = np.bincount(label[:n_t], minlength=label.max() + 1)
    n_est_in = np.bincount(label[n_t:], minlength=label.max() + 1)
    cost = np.power(d, p)
    c_p = float(c_m) ** p
    keep = np.zeros(ti.size, bool)
    # A component with one truth or one track: its cheapest edge is the optimum.
    star = np.minimum(n_truth_in, n_est_in)[edge_label] == 1
    keep[np.flatnonzero(star)[_first_per_label(edge_label[star], cost[star])]] = True
    # Small components: every permutation at once; the rest one by one.
    lt, le = _local_index(label[:n_t])[ti], _local_index(label[n_t:])[ej]
    size = np.maximum(n_truth_in, n_est_in)[edge_label]
    for n in range(2, SMALL_COMPONENT + 1):
        small = ~star & (size == n)
        keep[small] = _solve_small(lt[small], le[small], edge_label[small], cost[small], c_p, n)
    rest = np.flatnonzero(~star & (size > SMALL_COMPONENT))
    if rest.size:
        order = rest[np.argsort(edge_label[rest], kind="stable")]
        bounds = np.flatnonzero(np.diff(edge_label[order])) + 1
        for edges in np.split(order, bounds):
            keep[edges] = _solve_component(lt[edges], le[edges], cost[edges], c_p)
    truth_row, est_row = ti[keep], ej[keep]
    order = np.argsort(truth_row, kind="stable")
    truth_row, est_row = truth_row[order], est_row[order]
    return Assignment(truth_row, est_row, d[keep][order])


def per_time(
    truth: PointSets, est: PointSets, match: Assignment, n_times: int,
    c_m: float = GOSPA_C_M, p: float = GOSPA_P, alpha: float = GOSPA_ALPHA,
) -> PerTime:
    """GOSPA (split into localisation, missed, false) and OSPA at each scoring time.

    GOSPA^p = sum d^p over assigned pairs + c^p/alpha * (missed + false); OSPA uses the same
    assignment: (sum d^p + c^p * (max(n, m) - assigned)) / max(n, m), 0 when both are empty.
    """
    n_truth = truth.count_per_time(n_times)
    n_tracks = est.count_per_time(n_times)
    k = truth.k[match.truth_row]
    n_assigned = np.bincount(k, minlength=n_times).astype(np.int64)
    loc = np.bincount(k, weights=np.power(match.dist_m, p), minlength=n_times).astype(float)
    dummy = c_m**p / alpha
    missed = dummy * (n_truth - n_assigned)
    false = dummy * (n_tracks - n_assigned)
    gospa = np.power(loc + missed + false, 1.0 / p)
    biggest = np.maximum(n_truth, n_tracks)
    ospa_p = (loc + c_m**p * (biggest - n_assigned)) / np.maximum(biggest, 1)
    ospa = np.where(biggest > 0, np.power(ospa_p, 1.0 / p), 0.0)
    return PerTime(gospa, loc, missed.astype(float), false.astype(float), ospa,
                   n_truth, n_tracks, n_assigned)


def time_mean(values: npt.NDArray[np.floating]) -> float:
    """Mean over scoring times (NaN when there are none)."""
    return float(np.mean(values)) if values.size else float("nan")
