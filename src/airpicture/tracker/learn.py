"""Sensors learned from their own data: update period, detection probability and accuracy.

Configuration (scenario.json, a service's sensor table) only gives priors; real sensors differ
(a radar turns at 4.8 s, not 4; a Mode S radar detects 97 %, not 90 %).  The tracker feeds
every track update here (vectorised, one call per group of plots) and reads back per sensor:

- **period**: revisit times of a sensor's plots on the same confirmed track are multiples of
  its scan period (a missed scan gives 2 P): P = sum(gaps) / sum(round(gap / P0)) over the
  gaps close to a multiple of a robust first guess P0 (a low quantile for rotating radars,
  the median for ADS-B / MLAT). A measured period (CAT034 north markers, through
  `observe_period`) overrides it.
- **pd**: hits / expected updates on those same gaps (each gap of k periods is 1 hit of k).
- **accuracy**: residuals of a sensor's plots against the track predicted from the others
  (its last update came from another sensor; ADS-B with NACp >= 8 preferred), less the
  track's own predicted variance: sigma range / azimuth for radars, sigma_m for ADS-B / MLAT.

A learned value replaces the prior once it rests on `min_samples` samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.sensors import ROTATING_KINDS, Sensor

F64 = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_GAP_PERIODS = 8
"""Revisit gaps longer than this many periods (left coverage and came back) are not used."""
ROTATING_TOLERANCE = 0.15
"""A rotating radar's gap is used when gap / k is within this fraction of the first guess."""
REF_GOOD_ADSB, REF_OTHER, REF_ANY = 0, 1, 2
"""Residual reference classes, best first: track last updated by good ADS-B (NACp >= 8),
by another sensor, by anyone (the sensor itself included)."""
N_STATS = 5
"""Accumulated per class: count, sum(r_range^2 - P_range), sum(r_az^2 - P_az),
sum(|r|^2 - tr P) / 2, and count of ADS-B / MLAT samples (same as count)."""


@dataclass
class SensorLearner:
    """Per-sensor samples (bounded ring buffers of revisit gaps, running residual sums)."""

    sensors: list[Sensor]
    min_samples: int = 30
    capacity: int = 4096
    refresh: int = 16
    """New gaps of a sensor between two estimates of its period and pd."""
    gaps: F64 = field(init=False)
    """(m, capacity) recent revisit gaps on confirmed tracks (NaN: empty)."""
    gap_next: IntArray = field(init=False)
    gap_count: IntArray = field(init=False)
    resid: F64 = field(init=False)
    """(m, 3 classes, 4): count, sum(e_r^2 - P_rr) m^2, sum(e_az^2 - P_az) rad^2,
    sum((|e|^2 - tr P) / 2) m^2."""
    n_plots: IntArray = field(init=False)
    measured_period_s: F64 = field(init=False)
    """Period measured outside the plots (NaN: none), e.g. from CAT034 north markers."""

    def __post_init__(self) -> None:
        m = len(self.sensors)
        self.gaps = np.full((m, self.capacity), np.nan)
        self.gap_next = np.zeros(m, np.int64)
        self.gap_count = np.zeros(m, np.int64)
        self.resid = np.zeros((m, 3, 4))
        self.n_plots = np.zeros(m, np.int64)
        self.measured_period_s = np.full(m, np.nan)
        self.est = np.full((m, 2), np.nan)
        self.est_count = np.full(m, -1, np.int64)
        self.range_seen_m = np.zeros(m)
        self.n_on_tracks = np.zeros(m, np.int64)
        self.rotating = np.array([s.kind in ROTATING_KINDS for s in self.sensors], bool)
        self.pos = np.array([[s.x, s.y] for s in self.sensors], float).reshape(m, 2)

    # --- samples ---------------------------------------------------------------------------
    def count_plots(self, col: IntArray) -> None:
        """Plots processed per sensor column."""
        self.n_plots += np.bincount(col, minlength=len(self.sensors))

    def add_ranges(self, col: IntArray, z: F64) -> None:
        """Plots z (p, 2) of sensor columns `col` that updated confirmed tracks: the farthest
        range each sensor has seen an aircraft at (its coverage where none is configured)."""
        if col.size == 0:
            return
        r = np.hypot(*(z - self.pos[col]).T)
        if (col == col[0]).all():
            self.range_seen_m[col[0]] = max(self.range_seen_m[col[0]], float(r.max()))
        else:
            np.maximum.at(self.range_seen_m, col, r)
        self.n_on_tracks += np.bincount(col, minlength=len(self.sensors))

    def coverage_m(self, col: int, min_plots: int) -> float:
        """A radar's coverage learned from its plots (5 % past the farthest), inf until it
        has `min_plots` plots on confirmed tracks or for a sensor that does not rotate."""
        if not self.rotating[col] or self.n_on_tracks[col] < min_plots:
            return np.inf
        return float(1.05 * self.range_seen_m[col])

    def add_gaps(self, col: IntArray, gap_s: F64) -> None:
        """Revisit gaps (finite, > 0) of sensor columns `col` on confirmed tracks."""
        ok = np.isfinite(gap_s) & (gap_s > 0)
        col, gap_s = col[ok], gap_s[ok]
        if col.size == 0:
            return
        if (col == col[0]).all():  # the usual case: one sensor's group
            c = int(col[0])
            k = min(col.size, self.capacity)
            self.gaps[c, (self.gap_next[c] + np.arange(k)) % self.capacity] = gap_s[-k:]
            self.gap_next[c] = (self.gap_next[c] + k) % self.capacity
            self.gap_count[c] += col.size
            return
        order = np.argsort(col, kind="stable")
        col, gap_s = col[order], gap_s[order]
        first = np.r_[True, col[1:] != col[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(col.size), 0))
        slot = (self.gap_next[col] + np.arange(col.size) - start) % self.capacity
        self.gaps[col, slot] = gap_s
        added = np.bincount(col, minlength=len(self.sensors))
        self.gap_next = (self.gap_next + added) % self.capacity
        self.gap_count += added

    def add_residuals(self, col: IntArray, z: F64, pred: F64, P_pred: F64, ref: IntArray
                      ) -> None:
        """Residuals of plots z (p, 2) of sensor columns `col` against the tracks predicted
        to the plots' times (pred (p, 2), P_pred (p, 2, 2)), with their reference class."""
        if col.size == 0:
            return
        d = pred - self.pos[col]
        r_pred = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1.0)
        u0, u1 = d[:, 0] / r_pred, d[:, 1] / r_pred       # radial unit vector
        dz = z - self.pos[col]
        e_r = np.hypot(dz[:, 0], dz[:, 1]) - r_pred
        e_az = np.arctan2(d[:, 0] * dz[:, 1] - d[:, 1] * dz[:, 0],
                          d[:, 0] * dz[:, 0] + d[:, 1] * dz[:, 1])
        p00, p01, p11 = P_pred[:, 0, 0], P_pred[:, 0, 1], P_pred[:, 1, 1]
        uu = 2.0 * u0 * u1 * p01
        P_rr = u0 * u0 * p00 + uu + u1 * u1 * p11
        P_az = (u1 * u1 * p00 - uu + u0 * u0 * p11) / r_pred**2
        e = z - pred
        values = np.column_stack([
            np.ones(col.size), e_r**2 - P_rr, e_az**2 - P_az,
            0.5 * (e[:, 0] ** 2 + e[:, 1] ** 2 - p00 - p11),
        ])
        # Every sample also counts for the weaker classes: REF_GOOD_ADSB -> OTHER -> ANY.
        m = len(self.sensors)
        one_sensor = bool((col == col[0]).all())
        for cls in (REF_GOOD_ADSB, REF_OTHER, REF_ANY):
            sel = ref <= cls
            if not sel.any():
                continue
            if one_sensor:  # the usual case: a group holds one sensor's plots
                self.resid[col[0], cls] += values[sel].sum(axis=0)
            else:
                for k in range(values.shape[1]):
                    self.resid[:, cls, k] += np.bincount(col[sel], values[sel, k], m)

    def observe_period(self, col: int, period_s: float) -> None:
        """A period measured outside the plots (NaN or <= 0: forget it)."""
        ok = np.isfinite(period_s) and period_s > 0
        self.measured_period_s[col] = float(period_s) if ok else np.nan
        self.est_count[col] = -1  # recompute now

    # --- estimates -------------------------------------------------------------------------
    def estimate(self, col: int) -> tuple[float, float]:
        """(period s, pd) of one sensor (NaN where not learned yet), recomputed only when
        `refresh` new gaps, or a tenth of those held, came in since the last time (the cache
        travels in snapshots)."""
        due = max(self.refresh, min(int(self.gap_count[col]), self.capacity) // 10)
        if self.gap_count[col] - self.est_count[col] >= due or self.est_count[col] < 0:
            period, pd, _, _ = self.period_pd(col)
            self.est[col] = period, pd
            self.est_count[col] = self.gap_count[col]
        return float(self.est[col, 0]), float(self.est[col, 1])

    def period_pd(self, col: int) -> tuple[float, float, int, str]:
        """(period s, pd, gaps used, source) of one sensor; NaN where not learned yet."""
        g = self.gaps[col]
        g = g[np.isfinite(g)]
        measured = self.measured_period_s[col]
        if np.isfinite(measured):
            p0, source = float(measured), "measured"
        elif g.size >= self.min_samples:
            q = int(0.3 * (g.size - 1)) if self.rotating[col] else g.size // 2
            p0 = float(np.partition(g, q)[q])  # a low quantile (radar), the median
            source = "learned"
        else:
            return np.nan, np.nan, int(g.size), "prior"
        k = np.rint(g / p0)
        use = (k >= 1) & (k <= MAX_GAP_PERIODS)
        if self.rotating[col]:
            use &= np.abs(g / np.maximum(k, 1) - p0) <= ROTATING_TOLERANCE * p0
        n = int(use.sum())
        if n < self.min_samples:
            return (p0 if source == "measured" else np.nan), np.nan, n, source
        period = p0 if source == "measured" else float(g[use].sum() / k[use].sum())
        return period, float(n / k[use].sum()), n, source

    def sigmas(self, col: int) -> tuple[float, float, float]:
        """(sigma range m, sigma azimuth deg, sigma m) from the best reference class with
        enough samples; NaN where not learned."""
        for cls in (REF_GOOD_ADSB, REF_OTHER, REF_ANY):
            n, s_r, s_az, s_m = self.resid[col, cls]
            if n >= self.min_samples:
                return (float(np.sqrt(max(s_r / n, 0.0))),
                        float(np.degrees(np.sqrt(max(s_az / n, 0.0)))),
                        float(np.sqrt(max(s_m / n, 0.0))))
        return np.nan, np.nan, np.nan

    def summary(self, prior_period_s: F64, prior_pd: F64) -> list[dict[str, Any]]:
        """One dict per sensor: learned values where known, else the priors."""
        out = []
        for j, s in enumerate(self.sensors):
            period, pd, _, source = self.period_pd(j)
            if not np.isfinite(period):
                period, source = float(prior_period_s[j]), "prior"
            if not np.isfinite(pd):
                pd = float(prior_pd[j])
            s_r, s_az, s_m = self.sigmas(j)
            radar = s.kind in ROTATING_KINDS
            out.append({
                "id": int(s.id), "kind": s.kind, "period_s": period, "pd": pd,
                "sigma_range_m": (s_r if np.isfinite(s_r) else s.sigma_range_m) if radar
                else None,
                "sigma_azimuth_deg": (s_az if np.isfinite(s_az) else s.sigma_azimuth_deg)
                if radar else None,
                "sigma_m": None if radar else (s_m if np.isfinite(s_m) else s.sigma_m),
                "n_plots": int(self.n_plots[j]), "period_source": source,
            })
        return out

    def get_state(self) -> dict[str, Any]:
        return {k: getattr(self, k).copy() for k in (
            "gaps", "gap_next", "gap_count", "resid", "n_plots", "measured_period_s",
            "range_seen_m", "n_on_tracks", "est", "est_count")}

    def set_state(self, obj: dict[str, Any]) -> None:
        for k, v in obj.items():
            setattr(self, k, np.array(v, copy=True))
