"""Interacting multiple model (IMM) filter, batched: states (n, M, 5), covariances (n, M, 5, 5).

The predictor mixes the models' estimates and predicts each model to every row's own time;
the updater applies one plot per row (its own 2x2 covariance R) with a Kalman update per
model and updates the model probabilities from the models' likelihoods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from airpicture.tracker.models import H_POS, FloatArray, MotionModel


class Predictor(Protocol):
    """Moves filter states to new times."""

    def predict(
        self, xs: FloatArray, Ps: FloatArray, mu: FloatArray, dt: FloatArray, mix_first: bool
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Predicted (xs, Ps, c): c the predicted model probabilities."""
        ...

    def predict_combined(self, xs: FloatArray, Ps: FloatArray, mu: FloatArray, dt: FloatArray
                         ) -> tuple[FloatArray, FloatArray]:
        """Moment-matched prediction (no mixing), for gating and display."""
        ...


class Updater(Protocol):
    """Folds one plot per row into the predicted states."""

    def update(
        self, xs: FloatArray, Ps: FloatArray, c: FloatArray, z: FloatArray, R: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Updated (xs, Ps, mu)."""
        ...


def transition_matrix(dt: FloatArray, n_models: int, hold_s: float) -> FloatArray:
    """Mode switching probabilities (n, M, M) for time steps dt: stay with prob exp(-|dt|/hold)."""
    stay = np.exp(-np.abs(dt) / hold_s) if n_models > 1 else np.ones_like(dt)
    Pi = np.empty((dt.shape[0], n_models, n_models))
    Pi[:] = ((1.0 - stay) / max(n_models - 1, 1))[:, None, None]
    idx = np.arange(n_models)
    Pi[:, idx, idx] = stay[:, None]
    return Pi


def mix(xs: FloatArray, Ps: FloatArray, mu: FloatArray, Pi: FloatArray
        ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """IMM interaction: mixed initial states and covariances per model, predicted mode probs."""
    n, M, k = xs.shape
    c = np.maximum(np.einsum("nij,ni->nj", Pi, mu), 1e-300)
    w = Pi * mu[:, :, None] / c[:, None, :]  # w[n, i, j] = P(model i | model j next)
    wT = np.swapaxes(w, 1, 2)  # (n, j, i)
    x0 = wT @ xs  # (n, j, k)
    d = xs[:, :, None, :] - x0[:, None, :, :]  # (n, i, j, k)
    # spread[n, j] = sum_i w[n, i, j] d d^T, as batched matmuls (faster than a 3-operand einsum)
    dw = np.transpose(d * w[..., None], (0, 2, 3, 1))  # (n, j, k, i)
    spread = dw @ np.transpose(d, (0, 2, 1, 3))  # (n, j, k, k)
    P0 = (wT @ Ps.reshape(n, M, k * k)).reshape(n, M, k, k) + spread
    return x0, P0, c


def combine(xs: FloatArray, Ps: FloatArray, mu: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Moment-matched single Gaussian of the model mixture: (n, 5), (n, 5, 5)."""
    n, M, k = xs.shape
    x = (mu[:, None, :] @ xs)[:, 0]
    d = xs - x[:, None, :]
    P = (mu[:, None, :] @ Ps.reshape(n, M, k * k)).reshape(n, k, k)
    P += np.swapaxes(d * mu[:, :, None], 1, 2) @ d
    return x, P


@dataclass(frozen=True)
class IMMPredictor:
    """Mixing (optional) and model-wise prediction with each model's Jacobian and noise."""

    models: tuple[MotionModel, ...]
    hold_s: float

    def predict(
        self, xs: FloatArray, Ps: FloatArray, mu: FloatArray, dt: FloatArray, mix_first: bool
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        if mix_first:
            x0, P0, c = mix(xs, Ps, mu, transition_matrix(dt, len(self.models), self.hold_s))
        else:
            x0, P0, c = xs, Ps, mu
        xp = np.empty_like(x0)
        Pp = np.empty_like(P0)
        for m, model in enumerate(self.models):
            xm, F, Q = model.predict(x0[:, m], dt)
            xp[:, m] = xm
            Pp[:, m] = model.propagate(P0[:, m], F, Q, dt)
        return xp, Pp, c

    def predict_combined(self, xs: FloatArray, Ps: FloatArray, mu: FloatArray, dt: FloatArray
                         ) -> tuple[FloatArray, FloatArray]:
        """Each model predicted without mixing, then moment-matched: for display and gating."""
        xp, Pp, _ = self.predict(xs, Ps, mu, dt, mix_first=False)
        return combine(xp, Pp, mu)


def inv2(S: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Inverse and determinant of a stack of 2x2 matrices (closed form)."""
    a, b, c, d = S[..., 0, 0], S[..., 0, 1], S[..., 1, 0], S[..., 1, 1]
    det = a * d - b * c
    inv = np.empty_like(S)
    inv[..., 0, 0] = d / det
    inv[..., 0, 1] = -b / det
    inv[..., 1, 0] = -c / det
    inv[..., 1, 1] = a / det
    return inv, det


@dataclass(frozen=True)
class IMMUpdater:
    """Linear Kalman update of every model with a position plot; IMM probability update."""

    def update(
        self, xs: FloatArray, Ps: FloatArray, c: FloatArray, z: FloatArray, R: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        nu = z[:, None, :] - xs[:, :, :2]  # (n, M, 2)
        PHt = Ps[:, :, :, :2]  # P H^T: (n, M, 5, 2)
        S = Ps[:, :, :2, :2] + R[:, None, :, :]
        S_inv, det = inv2(S)
        K = PHt @ S_inv  # (n, M, 5, 2)
        xu = xs + np.einsum("nmkj,nmj->nmk", K, nu)
        # P - K S K^T = P - K (P H^T)^T, symmetrised
        Pu = Ps - K @ np.swapaxes(PHt, -1, -2)
        Pu = 0.5 * (Pu + np.swapaxes(Pu, -1, -2))
        d2 = np.einsum("nmi,nmij,nmj->nm", nu, S_inv, nu)
        log_lik = -0.5 * d2 - 0.5 * np.log(np.maximum(det, 1e-300)) - np.log(2 * np.pi)
        log_w = log_lik + np.log(np.maximum(c, 1e-300))
        log_w -= log_w.max(axis=1, keepdims=True)
        w = np.exp(log_w)
        mu = w / w.sum(axis=1, keepdims=True)
        mu = np.maximum(mu, 1e-6)
        mu /= mu.sum(axis=1, keepdims=True)
        return xu, Pu, mu


__all__ = ["H_POS", "IMMPredictor", "IMMUpdater", "combine", "inv2", "mix", "transition_matrix"]
