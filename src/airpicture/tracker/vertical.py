"""Vertical channel: barometric altitude and vertical rate by a 1-D Kalman filter per track.

Batched closed form on the (altitude, rate) pair; only plots that report alt_ft update it.
`AltitudeGate` rejects single-report outliers (a real ADS-B feed jumps 16,000 ft for one
report) and keeps the last accepted measured altitude, which the picture reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from airpicture.tracker.models import FloatArray
from airpicture.tracker.state import TrackState

IntArray = npt.NDArray[np.int64]

RATE_SIGMA0_FPS = 30.0
"""Initial vertical-rate standard deviation, ft/s (about 1,800 ft/min)."""


def predict_alt(alt: FloatArray, rate: FloatArray, P: FloatArray, dt: FloatArray, q: float
                ) -> tuple[FloatArray, FloatArray]:
    """Altitude (ft) and covariance [p_aa, p_av, p_vv] after dt seconds of constant rate."""
    a = np.abs(dt)
    paa = P[:, 0] + 2 * dt * P[:, 1] + dt * dt * P[:, 2] + q * a**3 / 3
    pav = P[:, 1] + dt * P[:, 2] + q * a**2 / 2
    pvv = P[:, 2] + q * a
    return alt + rate * dt, np.column_stack([paa, pav, pvv])


def update_alt(
    alt: FloatArray, rate: FloatArray, alt_t: FloatArray, P: FloatArray,
    z_ft: FloatArray, t_z: FloatArray, sigma_ft: float, q: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Fold measured altitudes z_ft (NaN: none) at t_z into each row; returns alt, rate, t, P."""
    have = np.isfinite(z_ft)
    fresh = have & ~np.isfinite(alt_t)
    upd = have & np.isfinite(alt_t)
    alt, rate, alt_t, P = alt.copy(), rate.copy(), alt_t.copy(), P.copy()
    alt[fresh], rate[fresh], alt_t[fresh] = z_ft[fresh], 0.0, t_z[fresh]
    P[fresh] = [sigma_ft**2, 0.0, RATE_SIGMA0_FPS**2]
    if upd.any():
        dt = t_z[upd] - alt_t[upd]
        a_p, P_p = predict_alt(alt[upd], rate[upd], P[upd], dt, q)
        s = P_p[:, 0] + sigma_ft**2
        k_a, k_v = P_p[:, 0] / s, P_p[:, 1] / s
        nu = z_ft[upd] - a_p
        alt[upd] = a_p + k_a * nu
        rate[upd] = rate[upd] + k_v * nu
        P[upd] = np.column_stack([
            (1 - k_a) * P_p[:, 0], (1 - k_a) * P_p[:, 1], P_p[:, 2] - k_v * P_p[:, 1]
        ])
        alt_t[upd] = t_z[upd]
    return alt, rate, alt_t, P


@dataclass(frozen=True)
class AltitudeGate:
    """Single-report altitude outliers are rejected: a report further from the prediction
    than max(gate_sigma * sqrt(S), gate_min_ft) is held as a candidate jump, accepted (the
    filter restarts at it) only when the next report within confirm_s agrees with it to
    gate_min_ft; a report that fits the track drops the candidate."""

    sigma_ft: float
    q: float
    gate_sigma: float = 6.0
    gate_min_ft: float = 500.0
    confirm_s: float = 30.0

    def fold(self, st: TrackState, rows: IntArray, z_ft: FloatArray, t_z: FloatArray) -> int:
        """Fold reports z_ft (NaN: none) at t_z into tracks `rows` (unique) of `st` in place:
        vertical filter, last measured altitude; returns how many were rejected as outliers."""
        have = np.isfinite(z_ft)
        if not have.any():
            return 0
        rows, z, t = rows[have], z_ft[have], t_z[have]
        alt, rate, alt_t, P = st.alt_ft[rows], st.vrate_fps[rows], st.alt_t[rows], \
            st.alt_cov[rows]
        pend_ft, pend_t = st.alt_pend_ft[rows], st.alt_pend_t[rows]
        known = np.isfinite(alt_t)
        a_p, P_p = predict_alt(np.nan_to_num(alt), rate, P, np.where(known, t - alt_t, 0.0),
                               self.q)
        s = P_p[:, 0] + self.sigma_ft**2
        far = known & (np.abs(z - a_p) > np.maximum(self.gate_sigma * np.sqrt(s),
                                                    self.gate_min_ft))
        pend_dt = t - pend_t
        agrees = far & (pend_dt >= 0) & (pend_dt <= self.confirm_s) & (
            np.abs(z - pend_ft) <= self.gate_min_ft)
        outlier = far & ~agrees
        use = ~outlier
        alt_t[agrees] = np.nan  # a confirmed jump restarts the filter at the new level
        alt[use], rate[use], alt_t[use], P[use] = update_alt(
            alt[use], rate[use], alt_t[use], P[use], z[use], t[use], self.sigma_ft, self.q)
        rate[agrees] = np.clip((z[agrees] - pend_ft[agrees]) / np.maximum(pend_dt[agrees], 1.0)
                               * (pend_dt[agrees] >= 1.0), -MAX_JUMP_RATE_FPS,
                               MAX_JUMP_RATE_FPS)
        st.alt_ft[rows], st.vrate_fps[rows], st.alt_t[rows], st.alt_cov[rows] = \
            alt, rate, alt_t, P
        st.alt_meas_ft[rows] = np.where(use, z, st.alt_meas_ft[rows])
        st.alt_pend_ft[rows] = np.where(outlier, z, np.nan)
        st.alt_pend_t[rows] = np.where(outlier, t, np.nan)
        return int(outlier.sum())


MAX_JUMP_RATE_FPS = 100.0
"""Vertical rate a confirmed altitude jump may start with, ft/s (6,000 ft/min)."""
