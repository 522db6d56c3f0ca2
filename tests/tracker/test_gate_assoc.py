"""Gating and the clustered assignment against brute force."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from airpicture.tracker.associate import ClusteredGNN
from airpicture.tracker.gate import KDTreeChiSquareGate


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.floats(0.05, 0.9), st.integers(0, 10**6))
def test_clustered_gnn_equals_dense_assignment(n_rows: int, n_cols: int, density: float,
                                               seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((n_rows, n_cols)) < density
    row, col = np.nonzero(mask)
    cost = rng.uniform(-5, 20, row.size)
    pick = ClusteredGNN().assign(n_rows, n_cols, row.astype(np.int64), col.astype(np.int64),
                                 cost)
    # One plot per track and one track per plot.
    assert np.unique(row[pick]).size == pick.size == np.unique(col[pick]).size
    # Same number of pairs and same total cost as a dense solve with big-M for absent pairs.
    big = 1e6
    dense = np.full((n_rows, n_cols), big)
    dense[row, col] = cost
    r, c = linear_sum_assignment(dense)
    ok = dense[r, c] < big
    assert pick.size == ok.sum()
    assert np.isclose(cost[pick].sum(), dense[r[ok], c[ok]].sum())


def test_gnn_prefers_the_globally_best_pairing() -> None:
    # Track 0 is closest to plot 0, but giving plot 0 to track 1 is better overall.
    row = np.array([0, 0, 1], np.int64)
    col = np.array([0, 1, 0], np.int64)
    cost = np.array([1.0, 2.0, 1.5])
    pick = ClusteredGNN().assign(2, 2, row, col, cost)
    assert sorted(zip(row[pick].tolist(), col[pick].tolist(), strict=True)) == [(0, 1), (1, 0)]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 10**6))
def test_kdtree_gate_finds_exactly_the_brute_force_pairs(n: int, p: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.uniform(-5e3, 5e3, (n, 2)), rng.uniform(-200, 200, (n, 2))])
    A = rng.normal(size=(n, 4, 4)) * [30, 30, 3, 3]
    P = A @ np.swapaxes(A, 1, 2) + np.diag([100.0, 100.0, 4.0, 4.0])
    t_track = rng.uniform(0, 3, n)
    z = rng.uniform(-5e3, 5e3, (p, 2))
    B = rng.normal(size=(p, 2, 2)) * 80
    R = B @ np.swapaxes(B, 1, 2) + np.eye(2) * 25
    t_plot = rng.uniform(3, 4, p)
    gate = KDTreeChiSquareGate(gate_prob=0.999, max_radius_m=1e6, q_gate=10.0)
    pairs = gate.pairs(x, P, t_track, z, R, t_plot)
    found = set(zip(pairs.track.tolist(), pairs.plot.tolist(), strict=True))
    expected = set()
    for i in range(n):
        for j in range(p):
            dt = t_plot[j] - t_track[i]
            F = np.array([[1, 0, dt, 0], [0, 1, 0, dt]])
            S = F @ P[i] @ F.T + R[j] + np.eye(2) * 10.0 * dt**3 / 3
            nu = z[j] - F @ x[i]
            if nu @ np.linalg.solve(S, nu) <= chi2.ppf(0.999, 2):
                expected.add((i, j))
    assert found == expected
