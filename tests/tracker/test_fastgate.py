"""The compiled grid pre-gate against a brute-force distance check."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.tracker.fastgate import pairs_within


def _brute(pos: np.ndarray, radius: np.ndarray, z: np.ndarray) -> set[tuple[int, int]]:
    d2 = ((pos[:, None, :] - z[None, :, :]) ** 2).sum(axis=2)
    ti, pj = np.nonzero(d2 <= radius[:, None] ** 2)
    return set(zip(ti.tolist(), pj.tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(0, 60), p=st.integers(0, 60),
       span=st.sampled_from([1.0, 5e3, 3e5, 5e7]))
def test_pairs_within_equals_brute_force(seed: int, n: int, p: int, span: float) -> None:
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-span, span, (n, 2))
    z = rng.uniform(-span, span, (p, 2))
    if n and p:
        z[: min(n, p) // 2] = pos[: min(n, p) // 2] + rng.normal(size=(min(n, p) // 2, 2)) * 10
    radius = rng.uniform(0.0, span / 3, n)
    ti, pj = pairs_within(pos, radius, z)
    got = set(zip(ti.tolist(), pj.tolist(), strict=True))
    assert len(got) == ti.size
    assert got == _brute(pos, radius, z)
    assert np.all(np.diff(ti) >= 0)


def test_plots_on_one_point_and_far_tracks() -> None:
    z = np.zeros((5, 2))
    pos = np.array([[0.0, 0.0], [1e9, 1e9], [-3.0, 4.0]])
    ti, pj = pairs_within(pos, np.array([0.0, 10.0, 5.0]), z)
    assert ti.tolist() == [0] * 5 + [2] * 5 and sorted(pj[:5].tolist()) == list(range(5))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 30), p=st.integers(1, 30))
def test_chi2_pairs_equals_numpy_steps(seed: int, n: int, p: int) -> None:
    from airpicture.tracker.fastgate import chi2_pairs
    from airpicture.tracker.gate import _extrapolated_pos_cov
    from airpicture.tracker.imm import inv2
    from airpicture.tracker.models import turn_extrapolate

    rng = np.random.default_rng(seed)
    x5 = rng.normal(size=(n, 5)) * [1e4, 1e4, 200.0, 200.0, 0.03]
    x5[::3, 4] = 0.0
    A = rng.normal(size=(n, 5, 5))
    P = A @ np.swapaxes(A, 1, 2) * [1e4, 1e4, 100.0, 100.0, 1e-4] + np.eye(5)
    P4 = P[:, :4, :4]
    z = rng.normal(size=(p, 2)) * 1e4
    B = rng.normal(size=(p, 2, 2))
    R = B @ np.swapaxes(B, 1, 2) * 1e4 + np.eye(2)
    t_track, t_plot = rng.uniform(0, 10, n), rng.uniform(0, 10, p)
    q = rng.uniform(0, 300, n)
    ti, pj = np.repeat(np.arange(n), p), np.tile(np.arange(p), n)
    d2, det = chi2_pairs(ti, pj, x5, P4, t_track, z, R, t_plot, q)
    dt = t_plot[pj] - t_track[ti]
    S = _extrapolated_pos_cov(P4[ti], dt, q[ti]) + R[pj]
    S_inv, det_ref = inv2(S)
    nu = z[pj] - turn_extrapolate(x5[ti], dt)[:, :2]
    d2_ref = np.einsum("pi,pij,pj->p", nu, S_inv, nu)
    assert np.allclose(det, det_ref, rtol=1e-9) and np.allclose(d2, d2_ref, rtol=1e-7)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 50), m=st.integers(0, 80))
def test_component_labels_match_scipy(seed: int, n: int, m: int) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from airpicture.tracker.fastgate import component_labels

    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    got = component_labels(n, a, b)
    _, want = connected_components(coo_matrix((np.ones(m), (a, b)), shape=(n, n)),
                                   directed=False)
    assert got.max() + 1 == want.max() + 1
    # Same partition: a one-to-one map between the two labellings.
    pairs = set(zip(got.tolist(), want.tolist(), strict=True))
    assert len(pairs) == want.max() + 1
    assert got[0] == 0 and np.all(np.diff(np.maximum.accumulate(got)) <= 1)
