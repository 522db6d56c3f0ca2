"""Global nearest neighbour as a sparse assignment over gated pairs, one cluster at a time.

Gated pairs form a bipartite graph; its connected components (compiled union-find) are
independent problems.  Components with one track or one plot are solved by a vectorised
argmin; only the rest go to scipy.optimize.linear_sum_assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from airpicture.tracker.fastgate import component_labels

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class Associator(Protocol):
    """Chooses at most one plot per track and one track per plot among candidate pairs."""

    def assign(self, n_rows: int, n_cols: int, row: IntArray, col: IntArray,
               cost: FloatArray) -> npt.NDArray[np.int64]:
        """Indices into the pair arrays of the chosen pairs."""
        ...


def _first_per_group(group: IntArray, cost: FloatArray) -> IntArray:
    """Index of the cheapest entry of each group (ties: first)."""
    order = np.lexsort((cost, group))
    g = group[order]
    first = np.ones(g.shape[0], bool)
    first[1:] = g[1:] != g[:-1]
    return order[first]


@dataclass(frozen=True)
class ClusteredGNN:
    """Optimal 2-D assignment per independent cluster (minimum total cost)."""

    def assign(self, n_rows: int, n_cols: int, row: IntArray, col: IntArray,
               cost: FloatArray) -> npt.NDArray[np.int64]:
        n_pairs = row.shape[0]
        if n_pairs == 0:
            return np.empty(0, np.int64)
        label = component_labels(n_rows + n_cols, row, n_rows + col)
        lab = label[row].astype(np.int64)
        n_lab = int(label.max()) + 1
        # Distinct tracks and plots per cluster (nodes without pairs are clusters of their own).
        rows_in = np.bincount(label[:n_rows], minlength=n_lab)
        cols_in = np.bincount(label[n_rows:], minlength=n_lab)
        simple = (rows_in <= 1) | (cols_in <= 1)
        chosen: list[IntArray] = []
        # One track or one plot in the cluster: the cheapest pair wins.
        is_simple = simple[lab]
        simple_idx = np.flatnonzero(is_simple)
        if simple_idx.size:
            chosen.append(simple_idx[_first_per_group(lab[simple_idx], cost[simple_idx])])
        hard_idx = np.flatnonzero(~is_simple)
        if hard_idx.size:
            chosen.append(_solve_clusters(lab[hard_idx], row[hard_idx], col[hard_idx],
                                          cost[hard_idx], hard_idx))
        return np.sort(np.concatenate(chosen))


def _solve_clusters(lab: IntArray, row: IntArray, col: IntArray, cost: FloatArray,
                    pair_idx: IntArray) -> IntArray:
    """linear_sum_assignment on each multi-track, multi-plot cluster (dense within a cluster)."""
    order = np.argsort(lab, kind="stable")
    lab, row, col, cost, pair_idx = lab[order], row[order], col[order], cost[order], \
        pair_idx[order]
    bounds = np.flatnonzero(np.diff(lab)) + 1
    out: list[IntArray] = []
    big = float(np.abs(cost).max()) * 10.0 + 1e6
    for sl in np.split(np.arange(lab.shape[0]), bounds):
        r_u, r_i = np.unique(row[sl], return_inverse=True)
        c_u, c_i = np.unique(col[sl], return_inverse=True)
        dense = np.full((r_u.size, c_u.size), big)
        dense[r_i, c_i] = cost[sl]
        rr, cc = linear_sum_assignment(dense)
        ok = dense[rr, cc] < big
        lookup = np.full((r_u.size, c_u.size), -1, np.int64)
        lookup[r_i, c_i] = pair_idx[sl]
        out.append(lookup[rr[ok], cc[ok]])
    return np.concatenate(out) if out else np.empty(0, np.int64)
