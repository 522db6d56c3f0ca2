"""The compiled IMM cycle (fastimm.py) against the numpy reference components (imm.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.tracker.fastimm import imm_cycle, model_spec
from airpicture.tracker.imm import IMMPredictor, IMMUpdater, combine
from airpicture.tracker.models import ConstantVelocity, CoordinatedTurn

MODELS = (ConstantVelocity(0.2), CoordinatedTurn(8.0, 1e-3), ConstantVelocity(30.0))


def _case(seed: int, n: int, M: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    xs = rng.normal(size=(n, M, 5)) * [5000.0, 5000.0, 200.0, 200.0, 0.03]
    xs[:, 0, 4] = 0.0
    A = rng.normal(size=(n, M, 5, 5))
    Ps = A @ np.swapaxes(A, -1, -2) * [1.0e4, 1.0e4, 100.0, 100.0, 1e-4] + np.eye(5) * 1e-3
    Ps = 0.5 * (Ps + np.swapaxes(Ps, -1, -2))
    mu = rng.dirichlet(np.ones(M), size=n)
    dt = rng.uniform(-1.0, 12.0, n)
    dt[:3] = [0.0, 1e-7, -0.5][: min(3, n)]
    z = xs[:, 0, :2] + rng.normal(size=(n, 2)) * 300.0
    B = rng.normal(size=(n, 2, 2))
    R = B @ np.swapaxes(B, -1, -2) * 1e4 + np.eye(2) * 100.0
    return xs, Ps, mu, dt, z, R


def _reference(models: tuple, xs: np.ndarray, Ps: np.ndarray, mu: np.ndarray, dt: np.ndarray,
               z: np.ndarray, R: np.ndarray, hold_s: float) -> tuple[np.ndarray, ...]:
    xp, Pp, c = IMMPredictor(models, hold_s).predict(xs, Ps, mu, dt, True)
    xu, Pu, m = IMMUpdater().update(xp, Pp, c, z, R)
    xc, Pc = combine(xu, Pu, m)
    return xu, Pu, m, xc, Pc


@pytest.mark.parametrize("n_models", [1, 2, 3])
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(3, 40))
def test_fused_cycle_equals_numpy_components(n_models: int, seed: int, n: int) -> None:
    models = MODELS[:n_models]
    xs, Ps, mu, dt, z, R = _case(seed, n, n_models)
    spec = model_spec(models)
    assert spec is not None
    got = imm_cycle(xs, Ps, mu, dt, z, R, *spec, 90.0)
    want = _reference(models, xs, Ps, mu, dt, z, R, 90.0)
    for g, w in zip(got, want, strict=True):
        scale = np.max(np.abs(w), axis=tuple(range(1, w.ndim)), keepdims=True) + 1e-12
        assert np.all(np.abs(g - w) <= 1e-7 * scale)


def test_model_spec_refuses_unknown_models() -> None:
    class Odd:
        q = 1.0

    assert model_spec((ConstantVelocity(1.0), Odd())) is None  # type: ignore[arg-type]
    kind, q, q4 = model_spec(MODELS)  # type: ignore[misc]
    assert kind.tolist() == [0, 1, 0] and q.tolist() == [0.2, 8.0, 30.0]
    assert q4[1] == 1e-3
