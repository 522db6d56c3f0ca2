"""The whole IMM cycle for assigned track-plot pairs as one compiled loop (numba).

Same mathematics as imm.py (mix, model-wise prediction to each plot's own time, Kalman update,
model probabilities, moment matching), fused per row: the profile of multi-sensor-4000 showed
a third of the slice time in numpy's overhead on stacks of tiny (5x5, 2x2) matrices.
imm.py stays the reference; tests check that both agree.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from airpicture.tracker.models import ConstantVelocity, CoordinatedTurn, FloatArray, MotionModel

KIND_CV, KIND_CT = 0, 1
_LOG_2PI = math.log(2.0 * math.pi)


def model_spec(models: tuple[MotionModel, ...]) -> tuple[np.ndarray, FloatArray, FloatArray] | None:
    """(kind, q, q4) arrays describing the models, or None if one is not CV / CT."""
    kind, q, q4 = [], [], []
    for m in models:
        if isinstance(m, ConstantVelocity):
            kind.append(KIND_CV)
            q4.append(m.q_turn_floor)
        elif isinstance(m, CoordinatedTurn):
            kind.append(KIND_CT)
            q4.append(m.q_turn)
        else:
            return None
        q.append(m.q)
    return np.array(kind, np.int64), np.array(q, float), np.array(q4, float)


@numba.njit(cache=True)
def _cv_predict(x: FloatArray, P: FloatArray, dt: float, q: float, q4: float,
                xo: FloatArray, Po: FloatArray, A: FloatArray, F: FloatArray) -> None:
    """Constant velocity, turn rate reset: xo, Po = F x, F P F^T + Q."""
    xo[0] = x[0] + x[2] * dt
    xo[1] = x[1] + x[3] * dt
    xo[2] = x[2]
    xo[3] = x[3]
    xo[4] = 0.0
    A[:] = P
    for j in range(5):
        A[0, j] += dt * P[2, j]
        A[1, j] += dt * P[3, j]
    for i in range(5):
        Po[i, 0] = A[i, 0] + dt * A[i, 2]
        Po[i, 1] = A[i, 1] + dt * A[i, 3]
        Po[i, 2] = A[i, 2]
        Po[i, 3] = A[i, 3]
        Po[i, 4] = 0.0
    for j in range(5):
        Po[4, j] = 0.0
    _add_noise(Po, dt, q, q4)


@numba.njit(cache=True)
def _add_noise(Po: FloatArray, dt: float, q: float, q4: float) -> None:
    """Continuous white-noise acceleration on (x, y, vx, vy), q4 |dt| on the turn rate."""
    a = abs(dt)
    q3, q2, q1 = q * a**3 / 3.0, q * a**2 / 2.0, q * a
    for p in range(2):
        v = p + 2
        Po[p, p] += q3
        Po[p, v] += q2
        Po[v, p] += q2
        Po[v, v] += q1
    Po[4, 4] += q4 * a


@numba.njit(cache=True)
def _ct_predict(x: FloatArray, P: FloatArray, dt: float, q: float, q4: float,
                xo: FloatArray, Po: FloatArray, FP: FloatArray, F: FloatArray) -> None:
    """Coordinated turn (EKF): xo = f(x), Po = F P F^T + Q."""
    vx, vy, w = x[2], x[3], x[4]
    wt = w * dt
    s, c = math.sin(wt), math.cos(wt)
    if abs(wt) < 1e-4:
        a = dt - w * w * dt**3 / 6.0
        b = w * dt * dt / 2.0
        da = -w * dt**3 / 3.0
        db = dt * dt / 2.0
    else:
        a = s / w
        b = (1.0 - c) / w
        da = (dt * c - a) / w
        db = (dt * s - b) / w
    xo[0] = x[0] + a * vx - b * vy
    xo[1] = x[1] + b * vx + a * vy
    xo[2] = c * vx - s * vy
    xo[3] = s * vx + c * vy
    xo[4] = w
    F[:] = 0.0
    F[0, 0] = F[1, 1] = F[4, 4] = 1.0
    F[0, 2], F[0, 3], F[0, 4] = a, -b, da * vx - db * vy
    F[1, 2], F[1, 3], F[1, 4] = b, a, db * vx + da * vy
    F[2, 2], F[2, 3], F[2, 4] = c, -s, -dt * (s * vx + c * vy)
    F[3, 2], F[3, 3], F[3, 4] = s, c, dt * (c * vx - s * vy)
    for i in range(5):
        for j in range(5):
            acc = 0.0
            for k in range(5):
                acc += F[i, k] * P[k, j]
            FP[i, j] = acc
    for i in range(5):
        for j in range(5):
            acc = 0.0
            for k in range(5):
                acc += FP[i, k] * F[j, k]
            Po[i, j] = acc
    _add_noise(Po, dt, q, q4)


@numba.njit(cache=True)
def imm_cycle(xs: FloatArray, Ps: FloatArray, mu: FloatArray, dt: FloatArray, z: FloatArray,
              R: FloatArray, kind: np.ndarray, q: FloatArray, q4: FloatArray, hold_s: float
              ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Mix, predict by dt, update with z (n, 2), R (n, 2, 2): (xs, Ps, mu, xc, Pc) updated."""
    n, M, k = xs.shape
    xs_o, Ps_o, mu_o = np.empty_like(xs), np.empty_like(Ps), np.empty_like(mu)
    xc, Pc = np.empty((n, k)), np.empty((n, k, k))
    Pi = np.empty((M, M))
    c = np.empty(M)
    w = np.empty((M, M))
    x0 = np.empty(k)
    P0 = np.empty((k, k))
    xp = np.empty(k)
    Pp = np.empty((k, k))
    logw = np.empty(M)
    scratch = np.empty((k, k))
    F = np.empty((k, k))
    for r in range(n):
        d_t = dt[r]
        stay = math.exp(-abs(d_t) / hold_s) if M > 1 else 1.0
        off = (1.0 - stay) / max(M - 1, 1)
        for i in range(M):
            for j in range(M):
                Pi[i, j] = stay if i == j else off
        for j in range(M):
            acc = 0.0
            for i in range(M):
                acc += Pi[i, j] * mu[r, i]
            c[j] = max(acc, 1e-300)
        for i in range(M):
            for j in range(M):
                w[i, j] = Pi[i, j] * mu[r, i] / c[j]
        z0, z1 = z[r, 0], z[r, 1]
        R00, R01, R10, R11 = R[r, 0, 0], R[r, 0, 1], R[r, 1, 0], R[r, 1, 1]
        for j in range(M):
            for a in range(k):
                acc = 0.0
                for i in range(M):
                    acc += w[i, j] * xs[r, i, a]
                x0[a] = acc
            for a in range(k):
                for b in range(k):
                    acc = 0.0
                    for i in range(M):
                        acc += w[i, j] * (Ps[r, i, a, b] + (xs[r, i, a] - x0[a])
                                          * (xs[r, i, b] - x0[b]))
                    P0[a, b] = acc
            if kind[j] == KIND_CT:
                _ct_predict(x0, P0, d_t, q[j], q4[j], xp, Pp, scratch, F)
            else:
                _cv_predict(x0, P0, d_t, q[j], q4[j], xp, Pp, scratch, F)
            # Kalman update with the position plot.
            S00, S01, S10, S11 = Pp[0, 0] + R00, Pp[0, 1] + R01, Pp[1, 0] + R10, Pp[1, 1] + R11
            det = S00 * S11 - S01 * S10
            i00, i01, i10, i11 = S11 / det, -S01 / det, -S10 / det, S00 / det
            nu0, nu1 = z0 - xp[0], z1 - xp[1]
            for a in range(k):
                K0 = Pp[a, 0] * i00 + Pp[a, 1] * i10
                K1 = Pp[a, 0] * i01 + Pp[a, 1] * i11
                xs_o[r, j, a] = xp[a] + K0 * nu0 + K1 * nu1
                for b in range(k):
                    Ps_o[r, j, a, b] = Pp[a, b] - (K0 * Pp[b, 0] + K1 * Pp[b, 1])
            for a in range(k):
                for b in range(a + 1, k):
                    s_ab = 0.5 * (Ps_o[r, j, a, b] + Ps_o[r, j, b, a])
                    Ps_o[r, j, a, b] = s_ab
                    Ps_o[r, j, b, a] = s_ab
            d2 = nu0 * (i00 * nu0 + i01 * nu1) + nu1 * (i10 * nu0 + i11 * nu1)
            log_lik = -0.5 * d2 - 0.5 * math.log(max(det, 1e-300)) - _LOG_2PI
            logw[j] = log_lik + math.log(max(c[j], 1e-300))
        _model_probs(logw, mu_o[r])
        _combine(xs_o[r], Ps_o[r], mu_o[r], xc[r], Pc[r])
    return xs_o, Ps_o, mu_o, xc, Pc


@numba.njit(cache=True)
def _model_probs(logw: FloatArray, out: FloatArray) -> None:
    """Normalised model probabilities from log weights, floored at 1e-6."""
    M = logw.shape[0]
    top = logw.max()
    tot = 0.0
    for j in range(M):
        out[j] = math.exp(logw[j] - top)
        tot += out[j]
    tot2 = 0.0
    for j in range(M):
        out[j] = max(out[j] / tot, 1e-6)
        tot2 += out[j]
    for j in range(M):
        out[j] /= tot2


@numba.njit(cache=True)
def _combine(xs: FloatArray, Ps: FloatArray, mu: FloatArray, x: FloatArray, P: FloatArray
             ) -> None:
    """Moment-matched Gaussian of one track's model mixture into x, P."""
    M, k = xs.shape
    for a in range(k):
        acc = 0.0
        for m in range(M):
            acc += mu[m] * xs[m, a]
        x[a] = acc
    for a in range(k):
        for b in range(k):
            acc = 0.0
            for m in range(M):
                acc += mu[m] * (Ps[m, a, b] + (xs[m, a] - x[a]) * (xs[m, b] - x[b]))
            P[a, b] = acc
