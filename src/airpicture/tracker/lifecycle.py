"""Track life: M-of-N style confirmation per sensor kind, coasting and deletion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

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


def effective_period(state: TrackState, t_s: float, periods: FloatArray) -> FloatArray:
    """Shortest period among the sensors that updated each track recently (else its own)."""
    age = t_s - state.sensor_last_t  # (n, m), NaN never
    recent = age <= 3.0 * periods[None, :] + 1.0
    p = np.where(recent, periods[None, :], np.inf).min(axis=1) if periods.size else \
        np.full(len(state), np.inf)
    return np.where(np.isfinite(p), p, state.period_s)


def confirmed_now(state: TrackState, cfg: TrackerConfig) -> npt.NDArray[np.bool_]:
    """Tracks with enough hits: primary-only tracks need more evidence than identity tracks."""
    return (state.hits_psr + state.hits_id >= cfg.confirm_hits_psr) | (
        state.hits_id >= cfg.confirm_hits_id)


@dataclass(frozen=True)
class AgeCovarianceDeleter:
    """Tentative: dropped after too many missed updates. Confirmed: coasting, then deleted by
    time since update or by position covariance."""

    cfg: TrackerConfig

    def step(self, state: TrackState, t_s: float, periods: FloatArray
             ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int8]]:
        cfg = self.cfg
        period = effective_period(state, t_s, periods)
        age = t_s - state.last_update_t
        tentative = state.status == TrackStatus.TENTATIVE
        sigma = sigma_pos_m(state)
        keep_tent = age <= (cfg.tentative_max_misses + 1.5) * period
        keep_conf = (age <= np.maximum(cfg.delete_after_periods * period, cfg.delete_min_s)) & (
            sigma <= cfg.max_sigma_pos_m)
        keep = np.where(tentative, keep_tent, keep_conf)
        status = np.where(
            tentative, TrackStatus.TENTATIVE,
            np.where(age > cfg.coast_after_periods * period, TrackStatus.COASTING,
                     TrackStatus.CONFIRMED),
        ).astype(np.int8)
        return keep, status


def sigma_pos_m(state: TrackState) -> FloatArray:
    """Position standard deviation per axis (RMS of x and y) of the model mixture at state time."""
    P = np.einsum("nm,nmkl->nkl", state.mu, state.Ps[:, :, :2, :2])
    d = state.xs[:, :, :2] - np.einsum("nm,nmk->nk", state.mu, state.xs[:, :, :2])[:, None]
    spread = np.einsum("nm,nmk->nk", state.mu, d**2)
    return np.asarray(np.sqrt(0.5 * (P[:, 0, 0] + P[:, 1, 1] + spread.sum(axis=1))))
