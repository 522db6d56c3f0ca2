"""Vertical channel: barometric altitude and vertical rate by a 1-D Kalman filter per track.

Batched closed form on the (altitude, rate) pair; only plots that report alt_ft update it.
"""

from __future__ import annotations

import numpy as np

from airpicture.tracker.models import FloatArray

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
