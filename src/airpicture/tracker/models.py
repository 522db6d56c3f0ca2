"""Motion models, batched over tracks. State k=5: [x, y, vx, vy, w] (m, m/s, rad/s).

Each model maps states (n, 5) and time steps dt (n,) to the predicted states, the transition
Jacobians (n, 5, 5) and the process noise (n, 5, 5).  Negative dt (a plot slightly older than
the state, within one time slice) is a retrodiction: noise uses |dt|.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
STATE_DIM = 5
H_POS = np.array([[1.0, 0, 0, 0, 0], [0, 1.0, 0, 0, 0]])
"""Measurement matrix: plots measure x, y."""


class MotionModel(Protocol):
    """A transition model usable by the IMM predictor."""

    def predict(self, x: FloatArray, dt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Predicted states, Jacobians F and process noise Q for each row."""
        ...

    def propagate(self, P: FloatArray, F: FloatArray, Q: FloatArray, dt: FloatArray
                  ) -> FloatArray:
        """F P F^T + Q for each row."""
        ...


def _dense_propagate(P: FloatArray, F: FloatArray, Q: FloatArray) -> FloatArray:
    out: FloatArray = F @ P @ np.swapaxes(F, 1, 2) + Q
    return out


def _white_accel_noise(dt: FloatArray, q: float) -> FloatArray:
    """Q of the continuous white-noise acceleration model on (x, y, vx, vy) per axis."""
    a = np.abs(dt)
    Q = np.zeros((dt.shape[0], STATE_DIM, STATE_DIM))
    q3, q2, q1 = q * a**3 / 3.0, q * a**2 / 2.0, q * a
    for p, v in ((0, 2), (1, 3)):
        Q[:, p, p] = q3
        Q[:, p, v] = q2
        Q[:, v, p] = q2
        Q[:, v, v] = q1
    return Q


@dataclass(frozen=True)
class ConstantVelocity:
    """Straight flight; the turn rate is reset to zero (it is the 'not turning' mode)."""

    q: float
    q_turn_floor: float = 1e-8

    def predict(self, x: FloatArray, dt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        n = x.shape[0]
        F = np.zeros((n, STATE_DIM, STATE_DIM))
        F[:, 0, 0] = F[:, 1, 1] = F[:, 2, 2] = F[:, 3, 3] = 1.0
        F[:, 0, 2] = dt
        F[:, 1, 3] = dt
        xp = np.empty_like(x)
        xp[:, 0] = x[:, 0] + x[:, 2] * dt
        xp[:, 1] = x[:, 1] + x[:, 3] * dt
        xp[:, 2:4] = x[:, 2:4]
        xp[:, 4] = 0.0
        Q = _white_accel_noise(dt, self.q)
        Q[:, 4, 4] = self.q_turn_floor * np.abs(dt)
        return xp, F, Q

    def propagate(self, P: FloatArray, F: FloatArray, Q: FloatArray, dt: FloatArray
                  ) -> FloatArray:
        """F P F^T + Q from F's structure (position += dt * velocity, turn rate reset):
        row and column operations instead of two batched 5x5 products."""
        d = dt[:, None]
        A = P.copy()
        A[:, 0:2, :] += d[:, :, None] * P[:, 2:4, :]
        B = A.copy()
        B[:, :, 0:2] += d[:, None, :] * A[:, :, 2:4]
        B[:, 4, :] = 0.0
        B[:, :, 4] = 0.0
        B += Q
        return B


@dataclass(frozen=True)
class CoordinatedTurn:
    """Constant speed and turn rate w (EKF linearisation), turn rate a random walk."""

    q: float
    q_turn: float

    def predict(self, x: FloatArray, dt: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        n = x.shape[0]
        vx, vy, w = x[:, 2], x[:, 3], x[:, 4]
        wt = w * dt
        small = np.abs(wt) < 1e-4
        w_safe = np.where(small, 1.0, w)
        s, c = np.sin(wt), np.cos(wt)
        # a = sin(wT)/w, b = (1 - cos(wT))/w, and their derivatives in w (Taylor when wT ~ 0).
        a = np.where(small, dt - w**2 * dt**3 / 6.0, s / w_safe)
        b = np.where(small, w * dt**2 / 2.0, (1.0 - c) / w_safe)
        da = np.where(small, -w * dt**3 / 3.0, (dt * c - a) / w_safe)
        db = np.where(small, dt**2 / 2.0, (dt * s - b) / w_safe)
        xp = np.empty_like(x)
        xp[:, 0] = x[:, 0] + a * vx - b * vy
        xp[:, 1] = x[:, 1] + b * vx + a * vy
        xp[:, 2] = c * vx - s * vy
        xp[:, 3] = s * vx + c * vy
        xp[:, 4] = w
        F = np.zeros((n, STATE_DIM, STATE_DIM))
        F[:, 0, 0] = F[:, 1, 1] = F[:, 4, 4] = 1.0
        F[:, 0, 2], F[:, 0, 3], F[:, 0, 4] = a, -b, da * vx - db * vy
        F[:, 1, 2], F[:, 1, 3], F[:, 1, 4] = b, a, db * vx + da * vy
        F[:, 2, 2], F[:, 2, 3], F[:, 2, 4] = c, -s, -dt * (s * vx + c * vy)
        F[:, 3, 2], F[:, 3, 3], F[:, 3, 4] = s, c, dt * (c * vx - s * vy)
        Q = _white_accel_noise(dt, self.q)
        Q[:, 4, 4] = self.q_turn * np.abs(dt)
        return xp, F, Q

    def propagate(self, P: FloatArray, F: FloatArray, Q: FloatArray, dt: FloatArray
                  ) -> FloatArray:
        return _dense_propagate(P, F, Q)


def turn_extrapolate(x: FloatArray, dt: FloatArray) -> FloatArray:
    """[x, y, vx, vy] after dt along a coordinated turn at each state's turn rate x[:, 4]
    (a straight line for 4-element states): the cheap mean prediction of a mixture state."""
    if x.shape[1] < 5:
        return np.column_stack([x[:, :2] + x[:, 2:4] * dt[:, None], x[:, 2:4]])
    w = x[:, 4]
    wt = w * dt
    small = np.abs(wt) < 1e-4
    w_safe = np.where(small, 1.0, w)
    s, c = np.sin(wt), np.cos(wt)
    a = np.where(small, dt, s / w_safe)
    b = np.where(small, w * dt**2 / 2.0, (1.0 - c) / w_safe)
    vx, vy = x[:, 2], x[:, 3]
    return np.column_stack([x[:, 0] + a * vx - b * vy, x[:, 1] + b * vx + a * vy,
                            c * vx - s * vy, s * vx + c * vy])
