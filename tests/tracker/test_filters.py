"""Motion models and the batched IMM filter against closed-form results and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from airpicture.tracker.imm import IMMPredictor, IMMUpdater, combine, mix, transition_matrix
from airpicture.tracker.models import ConstantVelocity, CoordinatedTurn


def _random_cov(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    A = rng.normal(size=(n, k, k))
    return A @ np.swapaxes(A, 1, 2) + np.eye(k)


def test_cv_predict_matches_closed_form() -> None:
    x = np.array([[100.0, -50.0, 10.0, 20.0, 0.3]])
    dt = np.array([2.0])
    xp, F, Q = ConstantVelocity(q=3.0).predict(x, dt)
    assert np.allclose(xp[0], [120.0, -10.0, 10.0, 20.0, 0.0])
    # White-noise acceleration: q [[T^3/3, T^2/2], [T^2/2, T]] on each axis.
    assert np.isclose(Q[0, 0, 0], 3.0 * 8 / 3) and np.isclose(Q[0, 0, 2], 3.0 * 4 / 2)
    assert np.isclose(Q[0, 2, 2], 3.0 * 2) and Q[0, 0, 1] == 0.0
    assert F[0, 0, 2] == 2.0 and F[0, 4, 4] == 0.0


def test_ct_turns_velocity_by_w_dt() -> None:
    w = np.radians(3.0)
    x = np.array([[0.0, 0.0, 200.0, 0.0, w]])
    xp, _, _ = CoordinatedTurn(q=1.0, q_turn=1e-3).predict(x, np.array([30.0]))
    # 90 degrees of a circle of radius v / w.
    r = 200.0 / w
    assert np.allclose(xp[0, :4], [r, r, 0.0, 200.0], atol=1e-6)


def test_ct_jacobian_matches_finite_differences() -> None:
    model = CoordinatedTurn(q=1.0, q_turn=1e-3)
    for w in (0.05, -0.02, 1e-9, 0.0):
        x = np.array([[1e3, -2e3, 150.0, -80.0, w]])
        dt = np.array([4.0])
        _, F, _ = model.predict(x, dt)
        num = np.empty((5, 5))
        for j in range(5):
            h = 1e-6 * max(1.0, abs(x[0, j]))
            xp_, _, _ = model.predict(x + h * np.eye(5)[j], dt)
            xm_, _, _ = model.predict(x - h * np.eye(5)[j], dt)
            num[:, j] = (xp_[0] - xm_[0]) / (2 * h)
        assert np.allclose(F[0], num, atol=1e-4, rtol=1e-5), (w, F[0] - num)


def test_ct_with_zero_turn_equals_cv_motion() -> None:
    x = np.array([[5.0, 6.0, 100.0, -30.0, 0.0]])
    dt = np.array([3.0])
    a, _, _ = CoordinatedTurn(q=1.0, q_turn=1e-3).predict(x, dt)
    b, _, _ = ConstantVelocity(q=1.0).predict(x, dt)
    assert np.allclose(a[0, :4], b[0, :4])


def test_single_model_imm_is_the_kalman_filter() -> None:
    """One model: predict = F P F' + Q, update = closed-form Kalman gain."""
    rng = np.random.default_rng(1)
    n = 50
    x = rng.normal(size=(n, 1, 5)) * [1e3, 1e3, 100, 100, 0]
    P = _random_cov(rng, n, 5)[:, None]
    mu = np.ones((n, 1))
    dt = rng.uniform(0.5, 5, n)
    model = ConstantVelocity(q=2.0)
    pred = IMMPredictor((model,), hold_s=30.0)
    xp, Pp, c = pred.predict(x, P, mu, dt, True)
    _, F, Q = model.predict(x[:, 0], dt)
    assert np.allclose(Pp[:, 0], F @ P[:, 0] @ np.swapaxes(F, 1, 2) + Q)
    assert np.allclose(c, 1.0)
    z = xp[:, 0, :2] + rng.normal(size=(n, 2)) * 50
    R = _random_cov(rng, n, 2) * 100
    xu, Pu, mu_u = IMMUpdater().update(xp, Pp, c, z, R)
    H = np.eye(5)[:2]
    for i in range(5):
        S = H @ Pp[i, 0] @ H.T + R[i]
        K = Pp[i, 0] @ H.T @ np.linalg.inv(S)
        assert np.allclose(xu[i, 0], xp[i, 0] + K @ (z[i] - H @ xp[i, 0]))
        assert np.allclose(Pu[i, 0], (np.eye(5) - K @ H) @ Pp[i, 0], atol=1e-6)
    assert np.allclose(mu_u, 1.0)


def test_imm_mixing_preserves_the_mixture_mean_and_probabilities() -> None:
    rng = np.random.default_rng(2)
    n, M = 20, 3
    xs = rng.normal(size=(n, M, 5))
    Ps = _random_cov(rng, n * M, 5).reshape(n, M, 5, 5)
    mu = rng.dirichlet(np.ones(M), n)
    Pi = transition_matrix(rng.uniform(0.1, 10, n), M, 20.0)
    assert np.allclose(Pi.sum(axis=2), 1.0)
    x0, P0, c = mix(xs, Ps, mu, Pi)
    assert np.allclose(c.sum(axis=1), 1.0)
    # The mixture of the mixed states under c equals the original mixture (mean and cov).
    xa, Pa = combine(xs, Ps, mu)
    xb, Pb = combine(x0, P0, c)
    assert np.allclose(xa, xb) and np.allclose(Pa, Pb)


def test_imm_probability_moves_to_the_model_that_explains_the_plot() -> None:
    xs = np.zeros((1, 2, 5))
    xs[0, 1, :2] = [1000.0, 0.0]
    Ps = np.tile(np.eye(5) * 100.0, (1, 2, 1, 1))
    c = np.array([[0.5, 0.5]])
    _, _, mu = IMMUpdater().update(xs, Ps, c, np.array([[990.0, 5.0]]), np.eye(2)[None] * 100)
    assert mu[0, 1] > 0.99


def _straight_monte_carlo(runs: int, steps: int, q: float, seed: int
                          ) -> tuple[np.ndarray, np.ndarray]:
    """NEES and NIS per step for a CV Kalman filter on CV truth with matching noise."""
    rng = np.random.default_rng(seed)
    dt = np.full(runs, 4.0)
    model = ConstantVelocity(q=q)
    pred = IMMPredictor((model,), hold_s=30.0)
    upd = IMMUpdater()
    truth = np.zeros((runs, 5))
    truth[:, 2] = 200.0
    R = np.tile(np.diag([150.0**2, 60.0**2]), (runs, 1, 1))
    R[:, 0, 1] = R[:, 1, 0] = 2000.0
    L = np.linalg.cholesky(R)
    x = np.zeros((runs, 1, 5))
    x[:, 0, :4] = truth[:, :4] + rng.normal(size=(runs, 4)) * [150, 60, 30, 30]
    P = np.tile(np.diag([150.0**2, 60.0**2, 30.0**2, 30.0**2, 1e-8]), (runs, 1, 1, 1))
    mu = np.ones((runs, 1))
    _, _, Q = model.predict(truth, dt)
    LQ = np.linalg.cholesky(Q[0, :4, :4])
    nees, nis = np.empty((steps, runs)), np.empty((steps, runs))
    for k in range(steps):
        truth[:, :4] = truth[:, :4] @ np.array(
            [[1, 0, 0, 0], [0, 1, 0, 0], [4, 0, 1, 0], [0, 4, 0, 1.0]])
        truth[:, :4] += rng.normal(size=(runs, 4)) @ LQ.T
        xp, Pp, c = pred.predict(x, P, mu, dt, True)
        z = truth[:, :2] + np.einsum("nij,nj->ni", L, rng.normal(size=(runs, 2)))
        nu = z - xp[:, 0, :2]
        S = Pp[:, 0, :2, :2] + R
        nis[k] = np.einsum("ni,nij,nj->n", nu, np.linalg.inv(S), nu)
        x, P, mu = upd.update(xp, Pp, c, z, R)
        e = truth[:, :4] - x[:, 0, :4]
        nees[k] = np.einsum("ni,nij,nj->n", e, np.linalg.inv(P[:, 0, :4, :4]), e)
    return nees, nis


@pytest.mark.parametrize("seed", [3, 4])
def test_nees_and_nis_within_chi_square_bounds(seed: int) -> None:
    runs, steps = 200, 40
    nees, nis = _straight_monte_carlo(runs, steps, q=1.0, seed=seed)
    # Average over runs at each step: runs * mean ~ chi2(runs * dof); 99.9 % two-sided bounds,
    # with the 40 steps tested separately (a few outside would still be chance, not here).
    for values, dof in ((nees, 4), (nis, 2)):
        lo = chi2.ppf(0.0005, runs * dof) / runs
        hi = chi2.ppf(0.9995, runs * dof) / runs
        avg = values.mean(axis=1)
        inside = (avg >= lo) & (avg <= hi)
        assert inside.mean() >= 0.95, (dof, avg)
        assert lo < values.mean() < hi * 1.02


def test_mismatched_filter_fails_the_nees_test() -> None:
    """The NEES test can fail: a filter that assumes far too little process noise does."""
    rng_truth_q = 50.0
    nees, _ = _straight_monte_carlo_mismatch(rng_truth_q)
    assert nees.mean() > chi2.ppf(0.9995, 200 * 4) / 200


def _straight_monte_carlo_mismatch(q_truth: float) -> tuple[np.ndarray, np.ndarray]:
    """Truth with noise q_truth, filter with q = 0.01."""
    rng = np.random.default_rng(9)
    runs, steps = 200, 40
    dt = np.full(runs, 4.0)
    pred = IMMPredictor((ConstantVelocity(q=0.01),), hold_s=30.0)
    _, _, Qt = ConstantVelocity(q=q_truth).predict(np.zeros((1, 5)), np.array([4.0]))
    LQ = np.linalg.cholesky(Qt[0, :4, :4])
    truth = np.zeros((runs, 4))
    truth[:, 2] = 200.0
    x = np.zeros((runs, 1, 5))
    x[:, 0, :4] = truth
    P = np.tile(np.diag([100.0, 100.0, 10.0, 10.0, 1e-8]), (runs, 1, 1, 1))
    mu = np.ones((runs, 1))
    R = np.tile(np.eye(2) * 50.0**2, (runs, 1, 1))
    F = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [4, 0, 1, 0], [0, 4, 0, 1.0]])
    nees = np.empty((steps, runs))
    for k in range(steps):
        truth = truth @ F + rng.normal(size=(runs, 4)) @ LQ.T
        xp, Pp, c = pred.predict(x, P, mu, dt, True)
        z = truth[:, :2] + rng.normal(size=(runs, 2)) * 50.0
        x, P, mu = IMMUpdater().update(xp, Pp, c, z, R)
        e = truth - x[:, 0, :4]
        nees[k] = np.einsum("ni,nij,nj->n", e, np.linalg.inv(P[:, 0, :4, :4]), e)
    return nees, nees


def test_default_imm_is_consistent_or_conservative_on_straight_flight() -> None:
    """The tracker's IMM (CV, CT, CV-high) on straight flight: never overconfident (NEES and
    NIS below the chi-square upper bounds), and not uselessly pessimistic (above half)."""
    from airpicture.tracker.config import TrackerConfig

    cfg = TrackerConfig()
    rng = np.random.default_rng(5)
    runs, steps = 300, 40
    pred = IMMPredictor((ConstantVelocity(cfg.q_cv), CoordinatedTurn(cfg.q_ct, cfg.q_turn),
                         ConstantVelocity(cfg.q_cv_high)), cfg.mode_hold_s)
    dt = np.full(runs, 4.0)
    _, _, Q = ConstantVelocity(cfg.q_cv).predict(np.zeros((1, 5)), np.array([4.0]))
    LQ = np.linalg.cholesky(Q[0, :4, :4])
    truth = np.zeros((runs, 4))
    truth[:, 2] = 200.0
    R = np.tile(np.diag([150.0**2, 60.0**2]), (runs, 1, 1))
    x = np.zeros((runs, 3, 5))
    x[:, :, :4] = truth[:, None] + rng.normal(size=(runs, 1, 4)) * [150, 60, 20, 20]
    P = np.tile(np.diag([150.0**2, 60.0**2, 20.0**2, 20.0**2, 1e-8]), (runs, 3, 1, 1))
    P[:, 1, 4, 4] = cfg.turn_sigma0_rad_s**2
    mu = np.tile([0.7, 0.2, 0.1], (runs, 1))
    F = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [4, 0, 1, 0], [0, 4, 0, 1.0]])
    nis, nees = [], []
    for _ in range(steps):
        truth = truth @ F + rng.normal(size=(runs, 4)) @ LQ.T
        xp, Pp, c = pred.predict(x, P, mu, dt, True)
        xc, Pc = combine(xp, Pp, c)
        z = truth[:, :2] + np.einsum("nij,nj->ni", np.linalg.cholesky(R),
                                     rng.normal(size=(runs, 2)))
        nu = z - xc[:, :2]
        nis.append(np.einsum("ni,nij,nj->n", nu, np.linalg.inv(Pc[:, :2, :2] + R), nu))
        x, P, mu = IMMUpdater().update(xp, Pp, c, z, R)
        xc, Pc = combine(x, P, mu)
        e = truth - xc[:, :4]
        nees.append(np.einsum("ni,nij,nj->n", e, np.linalg.inv(Pc[:, :4, :4]), e))
    for values, dof in ((np.array(nis)[5:], 2), (np.array(nees)[5:], 4)):
        avg = values.mean(axis=1)
        assert np.all(avg < chi2.ppf(0.9995, runs * dof) / runs), (dof, avg)
        assert values.mean() > dof / 2, (dof, values.mean())
