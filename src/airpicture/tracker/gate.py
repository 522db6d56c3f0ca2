"""Gating: spatial pre-gate (uniform grid, fastgate.py) on predicted positions, then a
chi-square gate.

Cost is about tracks + plots: candidate pairs come from a grid radius search; only those
get a Mahalanobis distance, with the plot's own covariance R and the track's covariance
extrapolated to the plot's own time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2

from airpicture.tracker.fastgate import chi2_pairs, pairs_within
from airpicture.tracker.models import FloatArray

IntArray = npt.NDArray[np.int64]


@dataclass
class GatedPairs:
    """Track-plot pairs inside the gate: indices, squared Mahalanobis distance, log det S."""

    track: IntArray
    plot: IntArray
    d2: FloatArray
    log_det: FloatArray

    def __len__(self) -> int:
        return int(self.track.shape[0])


class Gate(Protocol):
    """Finds the track-plot pairs that may be associated."""

    def pairs(self, x4: FloatArray, P4: FloatArray, t_track: FloatArray, z: FloatArray,
              R: FloatArray, t_plot: FloatArray,
              strict: npt.NDArray[np.bool_] | None = None,
              track_icao: IntArray | None = None, plot_icao: IntArray | None = None,
              ) -> GatedPairs:
        """x4 (n, 4 or 5) [x, y, vx, vy(, w)] and P4 (n, 4, 4) at each track's time t_track (n,);
        plots z (p, 2), R (p, 2, 2) at t_plot (p,).  `strict` tracks (tentative ones) get
        the tight gate: no manoeuvre allowance, lower gate probability.  A plot whose icao24
        equals the track's passes a wider identity gate."""
        ...


@lru_cache(maxsize=16)
def _chi2_2dof(prob: float) -> float:
    """Chi-square quantile for 2 degrees of freedom (cached: scipy's ppf is slow)."""
    return float(chi2.ppf(prob, 2))


def _extrapolated_pos_cov(P4: FloatArray, dt: FloatArray, q: FloatArray | float) -> FloatArray:
    """Position covariance (p, 2, 2) after a constant-velocity step dt (per pair)."""
    Ppp, Ppv, Pvv = P4[:, :2, :2], P4[:, :2, 2:], P4[:, 2:, 2:]
    d = dt[:, None, None]
    out = Ppp + d * (Ppv + np.swapaxes(Ppv, 1, 2)) + d * d * Pvv
    extra = q * np.abs(dt) ** 3 / 3.0
    out[:, 0, 0] += extra
    out[:, 1, 1] += extra
    return out


@dataclass(frozen=True)
class KDTreeChiSquareGate:
    """Grid radius search (the name is historical), then the chi-square gate with per-plot R."""

    gate_prob: float
    max_radius_m: float
    q_gate: float
    gate_prob_strict: float = 0.999
    q_gate_strict: float = 10.0
    identity_sigma: float = 0.0
    """Gate (in standard deviations) for a plot carrying the track's own icao24; 0: none."""
    """Acceleration noise density used when extrapolating a track within a slice, m^2/s^3."""

    @property
    def threshold(self) -> float:
        return _chi2_2dof(self.gate_prob)

    def pairs(self, x4: FloatArray, P4: FloatArray, t_track: FloatArray, z: FloatArray,
              R: FloatArray, t_plot: FloatArray,
              strict: npt.NDArray[np.bool_] | None = None,
              track_icao: IntArray | None = None, plot_icao: IntArray | None = None,
              ) -> GatedPairs:
        n, p = x4.shape[0], z.shape[0]
        empty = GatedPairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0))
        if n == 0 or p == 0:
            return empty
        strict = np.zeros(n, bool) if strict is None else strict
        q_trk = np.where(strict, self.q_gate_strict, self.q_gate)
        thr_trk = np.where(strict, _chi2_2dof(self.gate_prob_strict), self.threshold)
        k = np.sqrt(thr_trk)
        use_id = track_icao is not None and plot_icao is not None and self.identity_sigma > 0
        if use_id:
            assert track_icao is not None
            k = np.where(track_icao != 0, np.maximum(k, self.identity_sigma), k)
        # Pre-gate at a common reference time: straight-line positions, generous radii.
        t_ref = float(np.median(t_plot))
        spread = float(np.max(np.abs(t_plot - t_ref)))
        lead = t_ref - t_track
        pos_ref = x4[:, :2] + x4[:, 2:4] * lead[:, None]
        max_dt = np.abs(lead) + spread
        speed = np.hypot(x4[:, 2], x4[:, 3])
        track_var = P4[:, 0, 0] + P4[:, 1, 1] + max_dt**2 * (P4[:, 2, 2] + P4[:, 3, 3]) + (
            q_trk * max_dt**3)
        plot_var = float(np.max(R[:, 0, 0] + R[:, 1, 1]))
        radius = k * np.sqrt(2.0 * (track_var + plot_var)) + speed * spread + 1.0
        radius = np.minimum(radius, self.max_radius_m)
        r_base = float(min(np.quantile(radius, 0.9) if n > 10 else radius.max(),
                           self.max_radius_m))
        ti, pj = pairs_within(pos_ref, np.maximum(radius, r_base), z)
        if ti.size == 0:
            return empty
        # Chi-square gate: each pair extrapolated from the track's time to the plot's own time.
        x5 = x4 if x4.shape[1] >= 5 else np.column_stack([x4[:, :4], np.zeros(n)])
        d2, det = chi2_pairs(ti, pj, np.ascontiguousarray(x5, dtype=np.float64), P4,
                             np.asarray(t_track, np.float64), np.asarray(z, np.float64), R,
                             np.asarray(t_plot, np.float64), q_trk.astype(np.float64))
        ok = d2 <= thr_trk[ti]
        if use_id:
            assert track_icao is not None and plot_icao is not None
            same = (track_icao[ti] == plot_icao[pj]) & (plot_icao[pj] != 0)
            ok |= same & (d2 <= self.identity_sigma**2)
        ok &= det > 0
        return GatedPairs(ti[ok], pj[ok], d2[ok], np.log(det[ok]))
