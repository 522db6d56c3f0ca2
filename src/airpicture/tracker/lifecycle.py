"""Track life: M-of-N style confirmation per sensor kind, coasting and deletion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackStatus
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.models import FloatArray
from airpicture.tracker.state import TrackState


class Deleter(Protocol):
    """Decides which tracks live on, and their status, at time t_s."""

    def step(self, state: TrackState, t_s: float, periods: FloatArray
             ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int8]]:
        """(keep mask, status) for every track; periods[j] is the j-th sensor's period."""
        ...


def effective_period(state: TrackState, periods: FloatArray) -> FloatArray:
    """Mean time between updates expected from the sensors that were updating each track at
    its last update: 1 / sum(1 / period_j).

    Measured from the last update, not from now: when all sensors fall silent (the aircraft
    landed or left coverage), the track is judged by the update rate it had.
    """
    if periods.size == 0:
        return state.period_s.copy()
    age = state.last_update_t[:, None] - state.sensor_last_t  # (n, m), NaN never
    recent = age <= 3.0 * periods[None, :] + 1.0
    rate = np.where(recent, 1.0 / periods[None, :], 0.0).sum(axis=1)
    return np.where(rate > 0, 1.0 / np.maximum(rate, 1e-12), state.period_s)


def silence_limit_s(state: TrackState, periods: FloatArray, pds: FloatArray,
                    miss_prob: float) -> FloatArray:
    """How long a live aircraft stays without plots with probability miss_prob at most, from
    the sensors that were updating each track: each period without a plot from sensor j has
    probability 1 - pd_j, so silence of length a has probability exp(-a * sum_j e_j), with
    e_j = -ln(1 - pd_j) / period_j."""
    if periods.size == 0:
        return np.full(len(state), np.inf)
    age = state.last_update_t[:, None] - state.sensor_last_t
    recent = age <= 3.0 * periods[None, :] + 1.0
    evidence = np.where(recent, -np.log1p(-pds[None, :]) / periods[None, :], 0.0).sum(axis=1)
    return np.asarray(-np.log(miss_prob) / np.maximum(evidence, 1e-12))


def confirmed_now(hits_psr: npt.NDArray[np.int32], hits_id: npt.NDArray[np.int32],
                  cfg: TrackerConfig) -> npt.NDArray[np.bool_]:
    """Tracks with enough hits: primary-only tracks need more evidence than identity tracks."""
    return np.asarray((hits_psr + hits_id >= cfg.confirm_hits_psr) | (
        hits_id >= cfg.confirm_hits_id))


@dataclass(frozen=True)
class Coverage:
    """Where each sensor column can see: a disc of max_range_m around (x, y) (inf: unknown)."""

    x: FloatArray
    y: FloatArray
    max_range_m: FloatArray

    @classmethod
    def of(cls, sensors: list[Sensor]) -> Coverage:
        rng = np.array([s.max_range_m for s in sensors], float)
        return cls(np.array([s.x for s in sensors], float), np.array([s.y for s in sensors],
                                                                       float),
                   np.where(np.isfinite(rng) & (rng > 0), rng, np.inf))

    def outside(self, state: TrackState, t_s: float, periods: FloatArray
                ) -> npt.NDArray[np.bool_]:
        """Tracks predicted (straight line) at t_s outside every sensor's known coverage and
        not being updated by a sensor of unknown coverage."""
        n = len(state)
        known = np.isfinite(self.max_range_m)
        if n == 0 or not known.any():
            return np.zeros(n, bool)
        dt = t_s - state.t
        px = state.xc[:, 0] + state.xc[:, 2] * dt
        py = state.xc[:, 1] + state.xc[:, 3] * dt
        r = np.hypot(px[:, None] - self.x[known], py[:, None] - self.y[known])
        inside = (r <= self.max_range_m[known]).any(axis=1)
        if (~known).any():
            age = state.last_update_t[:, None] - state.sensor_last_t[:, ~known]
            inside |= (age <= 3.0 * periods[None, ~known] + 1.0).any(axis=1)
        return np.asarray(~inside)


@dataclass(frozen=True)
class AgeCovarianceDeleter:
    """Tentative: dropped after too many missed updates. Confirmed: coasting, then deleted by
    time since update or by position covariance."""

    cfg: TrackerConfig
    pds: FloatArray | None = None
    """Detection probability of each sensor column (None: deletion by periods only)."""
    coverage: Coverage | None = None
    """Sensor coverage: a track predicted outside all of it ends after one expected update."""

    def step(self, state: TrackState, t_s: float, periods: FloatArray
             ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int8]]:
        cfg = self.cfg
        period = effective_period(state, periods)
        age = t_s - state.last_update_t
        tentative = state.status == TrackStatus.TENTATIVE
        sigma = sigma_pos_m(state, t_s, cfg.q_cv)
        keep_tent = age <= (cfg.tentative_max_misses + 1.5) * period
        limit = np.maximum(cfg.delete_after_periods * period, cfg.delete_min_s)
        if self.pds is not None and cfg.delete_miss_prob > 0:
            quiet = silence_limit_s(state, periods, self.pds, cfg.delete_miss_prob)
            limit = np.minimum(limit, np.maximum(quiet, cfg.delete_min_s))
        if self.coverage is not None and cfg.out_of_coverage_periods > 0:
            short = cfg.out_of_coverage_periods * period
            late = np.flatnonzero(~tentative & (age > short) & (age <= limit))
            if late.size:  # only these can end sooner
                gone = self.coverage.outside(state.take(late), t_s, periods)
                limit[late[gone]] = short[late[gone]]
        keep_conf = (age <= limit) & (sigma <= cfg.max_sigma_pos_m)
        keep = np.where(tentative, keep_tent, keep_conf)
        status = np.where(
            tentative, TrackStatus.TENTATIVE,
            np.where(age > cfg.coast_after_periods * period, TrackStatus.COASTING,
                     TrackStatus.CONFIRMED),
        ).astype(np.int8)
        return keep, status


def sigma_pos_m(state: TrackState, t_s: float | None = None, q: float = 0.0) -> FloatArray:
    """Position standard deviation per axis (RMS of x and y) of the model mixture, at the
    state's time or extrapolated (straight line, acceleration noise q) to t_s."""
    P = state.Pc
    var = P[:, 0, 0] + P[:, 1, 1]
    if t_s is not None:
        dt = np.maximum(t_s - state.t, 0.0)
        var = var + 2 * dt * (P[:, 0, 2] + P[:, 1, 3]) + dt**2 * (P[:, 2, 2] + P[:, 3, 3]) + (
            2 * q * dt**3 / 3)
    return np.asarray(np.sqrt(0.5 * np.maximum(var, 0.0)))
