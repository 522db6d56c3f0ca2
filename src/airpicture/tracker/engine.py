"""One time slice of plots through the tracker: gate, assign, IMM update, initiate, delete.

All steps are batched over tracks and plots (numpy structure-of-arrays); the components are
swappable behind the Protocols of gate.py, associate.py, imm.py, initiate.py and lifecycle.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.plots import PlotBatch, PlotFlag
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackStatus
from airpicture.tracker.associate import Associator, ClusteredGNN
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.fastgate import chi2_pairs, component_labels, pairs_within
from airpicture.tracker.fastimm import imm_cycle, model_spec
from airpicture.tracker.gate import Gate, KDTreeChiSquareGate
from airpicture.tracker.imm import IMMPredictor, IMMUpdater, Predictor, Updater, combine
from airpicture.tracker.initiate import TwoPointInitiator, plot_cov
from airpicture.tracker.learn import REF_ANY, REF_GOOD_ADSB, REF_OTHER, SensorLearner
from airpicture.tracker.lifecycle import AgeCovarianceDeleter, Coverage, Deleter, confirmed_now
from airpicture.tracker.models import (
    STATE_DIM,
    ConstantVelocity,
    CoordinatedTurn,
    FloatArray,
    MotionModel,
)
from airpicture.tracker.state import TrackState
from airpicture.tracker.vertical import AltitudeGate

IntArray = npt.NDArray[np.int64]
GOOD_NACP = 8
"""ADS-B with NACp at least this (95 % position error < 92.6 m) is a reference for others."""
MAX_LEARN_ROWS = 256
"""Updates per sensor and slice that feed the sensor learner at most (an even sample)."""
LEARN_EVERY = 4
"""A sensor whose gap buffer is full feeds the learner in every 4th slice only."""
MAX_RESIDUAL_DT_S = 10.0
"""Residuals against a track predicted further than this are not used for learning."""


def group_rank(plots: PlotBatch) -> IntArray:
    """0 for a plot's first occurrence per (sensor, icao24) in the slice, 1 for the next...

    Plots without identity are rank 0: an aircraft gives one plot per scan of a radar.
    """
    n = len(plots)
    order = np.lexsort((plots.t, plots.icao24, plots.sensor_id))
    s, a = plots.sensor_id[order], plots.icao24[order]
    new = np.ones(n, bool)
    new[1:] = (s[1:] != s[:-1]) | (a[1:] != a[:-1])
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    rank_sorted = np.arange(n) - start
    rank = np.empty(n, np.int64)
    rank[order] = np.where(a == 0, 0, rank_sorted)
    return rank


def is_member(values: npt.NDArray[Any], sorted_set: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """values in sorted_set, by binary search (np.isin sorts both sides every call)."""
    if sorted_set.size == 0:
        return np.zeros(values.shape, bool)
    idx = np.minimum(np.searchsorted(sorted_set, values), sorted_set.size - 1)
    return np.asarray(sorted_set[idx] == values)


def warm_up(spec: tuple[npt.NDArray[Any], FloatArray, FloatArray] | None, hold_s: float,
            n_models: int) -> None:
    """Call every compiled kernel once on one row with the argument types of the hot path, so
    compilation (seconds, once per machine) or cache loading happens here, not in a slice."""
    one, r = np.zeros(1), np.ones((1, 2, 2))
    idx = np.zeros(1, np.int64)
    P = np.tile(np.eye(STATE_DIM), (1, 1, 1))
    if spec is not None:
        imm_cycle(np.zeros((1, n_models, STATE_DIM)), np.tile(P[:, None], (1, n_models, 1, 1)),
                  np.full((1, n_models), 1.0 / n_models), one, np.zeros((1, 2)), r, *spec,
                  hold_s)
    pairs_within(np.zeros((1, 2)), np.ones(1), np.zeros((1, 2)))
    chi2_pairs(idx, idx, np.zeros((1, STATE_DIM)), P[:, :4, :4], one, np.zeros((1, 2)), r, one,
               one)
    component_labels(2, idx, idx + 1)


class SliceEngine:
    """Holds the tracks and runs the tracking steps on one slice of plots at a time."""

    def __init__(self, cfg: TrackerConfig, sensors: list[Sensor]) -> None:
        self.cfg = cfg
        sensor_ids = [s.id for s in sensors]
        kinds = [s.kind for s in sensors]
        self.sensor_ids = np.asarray(sensor_ids, np.int64)
        self._col_order = np.argsort(self.sensor_ids)
        # A sensor without a sane period (0, negative, NaN) is taken as updating every 4 s.
        periods = np.array([cfg.period_of(s) for s in sensor_ids], float)
        self.prior_periods = np.where(np.isfinite(periods) & (periods > 0.01), periods, 4.0)
        self.periods = self.prior_periods.copy()
        """Period per sensor column: the prior until learned (learn.py), then the learned."""
        self.is_psr = np.array([k == "psr" for k in kinds], bool)
        self.is_adsb = np.array([k == "adsb" for k in kinds], bool)
        self.learner = SensorLearner(list(sensors), cfg.learn_min_samples)
        self._learn_quota = np.full(len(sensors), MAX_LEARN_ROWS, np.int64)
        self.coverage = Coverage.of(sensors)
        self.prior_range_m = self.coverage.max_range_m.copy()
        models: list[MotionModel] = [ConstantVelocity(cfg.q_cv)]
        if cfg.imm:
            models.append(CoordinatedTurn(cfg.q_ct, cfg.q_turn))
        if cfg.imm and cfg.q_cv_high > 0:
            models.append(ConstantVelocity(cfg.q_cv_high))
        self.is_turn_model = np.array([isinstance(m, CoordinatedTurn) for m in models])
        self.predictor: Predictor = IMMPredictor(tuple(models), cfg.mode_hold_s)
        self._fused = model_spec(tuple(models))
        """Models for the compiled IMM cycle (fastimm.py); None: the numpy components."""
        warm_up(self._fused, cfg.mode_hold_s, len(models))
        self.updater: Updater = IMMUpdater()
        self.gate: Gate = KDTreeChiSquareGate(cfg.gate_prob, cfg.max_gate_radius_m,
                                              cfg.q_gate, cfg.gate_prob_tentative,
                                              cfg.q_gate_tentative, cfg.identity_gate_sigma)
        self.associator: Associator = ClusteredGNN()
        self.initiator = TwoPointInitiator(cfg.v_max_mps, cfg.v_min_mps, cfg.pair_min_dt_s,
                                           cfg.pair_max_dt_s)
        self.prior_pds = np.array([cfg.pd_of(s) for s in sensor_ids], float)
        self.pds = self.prior_pds.copy()
        """Detection probability per sensor column (prior, then learned); the deleter reads
        this array, which `apply_learned` updates in place."""
        self.deleter: Deleter = AgeCovarianceDeleter(cfg, self.pds, self.coverage)
        self.n_models = len(models)
        self.alt_gate = AltitudeGate(cfg.sigma_alt_ft, cfg.q_alt, cfg.alt_gate_sigma,
                                     cfg.alt_gate_min_ft, cfg.alt_confirm_s)
        self.state = TrackState.empty(self.n_models, len(sensor_ids))
        self.ended = TrackState.empty(self.n_models, len(sensor_ids))
        """Confirmed tracks deleted by the last slice (for their final, unconfirmed row)."""
        self.next_id = 1
        self.counts: dict[str, int] = {
            "plots_used": 0, "plots_initiated": 0, "plots_in_gate_unused": 0,
            "identity_mismatch": 0, "tracks_initiated": 0, "tracks_confirmed": 0,
            "tracks_deleted": 0, "alt_rejected": 0,
        }

    # --- state for snapshots ---------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {"state": self.state, "next_id": self.next_id, "counts": dict(self.counts),
                "pending": self.initiator.pending, "expired": self.initiator.expired,
                "learner": self.learner.get_state()}

    def set_state(self, obj: dict[str, Any]) -> None:
        self.state = obj["state"]
        self.next_id = obj["next_id"]
        self.counts = dict(obj["counts"])
        self.initiator.pending = obj["pending"]
        self.initiator.expired = obj["expired"]
        if "learner" in obj:
            self.learner.set_state(obj["learner"])
        self.apply_learned()

    def apply_learned(self) -> None:
        """Use each sensor's learned (or measured) period and pd where known, else the prior;
        in place, so the deleter sees them."""
        if not self.cfg.learn_sensors:
            return
        for j in range(self.sensor_ids.size):
            if not np.isfinite(self.prior_range_m[j]) and self.cfg.learn_coverage_plots > 0:
                self.coverage.max_range_m[j] = self.learner.coverage_m(
                    j, self.cfg.learn_coverage_plots)
            period, pd = self.learner.estimate(j)
            self.periods[j] = period if np.isfinite(period) else self.prior_periods[j]
            cap = max(self.cfg.learned_pd_max, self.prior_pds[j])
            self.pds[j] = min(max(pd, 0.5), cap) if np.isfinite(pd) else self.prior_pds[j]

    def sensor_col(self, sensor_id: npt.NDArray[Any]) -> IntArray:
        """Column of each sensor id in the sensor_last_t matrix."""
        pos = np.searchsorted(self.sensor_ids[self._col_order], sensor_id)
        return np.asarray(self._col_order[pos], np.int64)

    # --- the slice -------------------------------------------------------------------------
    def process(self, plots: PlotBatch, t_end: float) -> None:
        """Run one slice of (valid, time-sorted) plots, then track life at t_end."""
        rank = group_rank(plots)
        key = plots.sensor_id.astype(np.int64) * 1024 + np.minimum(rank, 1023)
        order = np.lexsort((plots.t, key))
        key_sorted = key[order]
        starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
        ends = np.r_[starts[1:], key_sorted.size]
        first_t = plots.t[order][starts]
        # Every slice until a sensor filled its gap buffer, then every LEARN_EVERY-th slice.
        full = self.learner.gap_count >= self.learner.capacity
        skip = round(t_end / self.cfg.slice_s) % LEARN_EVERY != 0
        self._learn_quota[:] = np.where(full & skip, 0, MAX_LEARN_ROWS)
        for g in np.lexsort((key_sorted[starts], first_t)):
            self._process_group(plots.take(order[starts[g]:ends[g]]))
        self.learner.count_plots(self.sensor_col(plots.sensor_id))
        self.apply_learned()
        self.initiator.expire(t_end)
        self._life(t_end)

    def status_at(self, t_s: float) -> npt.NDArray[np.int8]:
        """Track status (tentative / confirmed / coasting) at t_s."""
        _, status = self.deleter.step(self.state, t_s, self.periods)
        return status

    def _life(self, t_s: float) -> None:
        keep, status = self.deleter.step(self.state, t_s, self.periods)
        self.state.status = status
        self.counts["tracks_deleted"] += int((~keep).sum())
        self.ended = self.state.take(~keep & (status != TrackStatus.TENTATIVE))
        if not keep.all():
            self.state = self.state.take(keep)

    def _process_group(self, plots: PlotBatch) -> None:
        """Associate one sensor's plots (at most one per aircraft) and update the tracks."""
        st, cfg = self.state, self.cfg
        z = np.column_stack([plots.x, plots.y])
        R = plot_cov(plots)
        gated_any = np.zeros(len(plots), bool)
        if len(st):
            pairs = self.gate.pairs(st.xc, st.Pc[:, :4, :4], st.t, z, R, plots.t,
                                    strict=st.status == TrackStatus.TENTATIVE,
                                    track_icao=st.icao24, plot_icao=plots.icao24)
            p_icao, t_icao = plots.icao24[pairs.plot], st.icao24[pairs.track]
            # Identity: a plot never joins a track of another identity, nor an anonymous
            # track while a track of its own identity exists.
            known = np.sort(st.icao24[st.icao24 != 0])
            has_own = is_member(p_icao, known) & (p_icao != 0)
            allowed = (p_icao == 0) | (t_icao == p_icao) | ((t_icao == 0) & ~has_own)
            cost = pairs.d2 + pairs.log_det - cfg.identity_bonus * (
                (p_icao == t_icao) & (p_icao != 0))
            ti, pj, cost = pairs.track[allowed], pairs.plot[allowed], cost[allowed]
            gated_any[pj] = True
            pick = self.associator.assign(len(st), len(plots), ti, pj, cost)
            ti, pj = ti[pick], pj[pick]
            self._update(ti, plots.take(pj), z[pj], R[pj])
            used = np.zeros(len(plots), bool)
            used[pj] = True
            self.counts["plots_used"] += int(pj.size)
            self.counts["plots_in_gate_unused"] += int((gated_any & ~used).sum())
        free = plots.take(~gated_any)
        self._flag_identity_mismatch(free)
        self._initiate(free)

    def _flag_identity_mismatch(self, free: PlotBatch) -> None:
        """Plots whose identity belongs to a live track they do not fit: flag plot and track."""
        st = self.state
        if len(free) == 0 or len(st) == 0:
            return
        bad = (free.icao24 != 0) & is_member(free.icao24, np.sort(st.icao24))
        if bad.any():
            free.flags[bad] |= np.uint16(PlotFlag.IDENTITY_MISMATCH)
            hit = is_member(st.icao24, np.sort(free.icao24[bad]))
            st.flags[hit] |= np.uint16(PlotFlag.IDENTITY_MISMATCH)
            self.counts["identity_mismatch"] += int(bad.sum())

    def _update(self, ti: IntArray, plots: PlotBatch, z: FloatArray, R: FloatArray) -> None:
        """IMM cycle (mix, predict to each plot's own time, update) for the assigned pairs."""
        if ti.size == 0:
            return
        st, cfg = self.state, self.cfg
        dt = plots.t - st.t[ti]
        col = self.sensor_col(plots.sensor_id)
        self._learn(ti, col, plots, z, dt)
        spec = self._fused
        if spec is not None and type(self.predictor) is IMMPredictor and type(
                self.updater) is IMMUpdater:
            xu, Pu, mu, xc, Pc = imm_cycle(st.xs[ti], st.Ps[ti], st.mu[ti], dt, z, R, *spec,
                                           cfg.mode_hold_s)
        else:
            xp, Pp, c = self.predictor.predict(st.xs[ti], st.Ps[ti], st.mu[ti], dt, True)
            xu, Pu, mu = self.updater.update(xp, Pp, c, z, R)
            xc, Pc = combine(xu, Pu, mu)
        st.xs[ti], st.Ps[ti], st.mu[ti] = xu, Pu, mu
        st.xc[ti], st.Pc[ti] = xc, Pc
        st.t[ti] = plots.t
        st.last_update_t[ti] = np.maximum(st.last_update_t[ti], plots.t)
        st.sensor_last_t[ti, col] = plots.t
        good = self.is_adsb[col] & (plots.nacp >= GOOD_NACP)
        st.good_adsb_t[ti[good]] = plots.t[good]
        psr = self.is_psr[col]
        st.hits_psr[ti] += psr
        st.hits_id[ti] += ~psr
        st.period_s[ti] = np.minimum(st.period_s[ti], self.periods[col])
        # A second plot carrying the track's Mode S address (another scan or sensor) agrees.
        agree = (plots.icao24 != 0) & (plots.icao24 == st.icao24[ti])
        self._carry_identity(ti, plots)
        self.counts["alt_rejected"] += self.alt_gate.fold(st, ti, plots.alt_ft, plots.t)
        tentative = st.status[ti] == TrackStatus.TENTATIVE
        newly = (confirmed_now(st.hits_psr[ti], st.hits_id[ti], cfg)
                 | self._identity_confirms(agree & tentative, plots.icao24)) & tentative
        st.status[ti[newly]] = TrackStatus.CONFIRMED
        self.counts["tracks_confirmed"] += int(newly.sum())

    def _learn(self, ti: IntArray, col: IntArray, plots: PlotBatch, z: FloatArray,
               dt: FloatArray) -> None:
        """Feed the sensor learner, before the update: revisit gaps of each sensor on
        confirmed tracks, and residuals against the track predicted (straight line) to the
        plot's time, labelled by who updated the track last."""
        st = self.state
        if ti.size == 0 or (self._learn_quota[col] <= 0).all():
            return
        conf = np.flatnonzero(st.status[ti] != TrackStatus.TENTATIVE)
        if conf.size == 0:
            return
        quota = int(self._learn_quota[col].max())  # groups hold one sensor's plots
        if conf.size > quota:  # an even, deterministic sample bounds the cost
            conf = conf[np.linspace(0, conf.size - 1, quota).astype(np.int64)]
        np.subtract.at(self._learn_quota, col[conf], 1)
        ti, col, dt, z = ti[conf], col[conf], dt[conf], z[conf]
        own_last = st.sensor_last_t[ti, col]
        self.learner.add_gaps(col, plots.t[conf] - own_last)
        self.learner.add_ranges(col, z)
        near = (dt >= 0) & (dt <= MAX_RESIDUAL_DT_S)
        ti, col, dt, z, own_last = ti[near], col[near], dt[near], z[near], own_last[near]
        xc, Pc = st.xc[ti], st.Pc[ti]
        pred = xc[:, :2] + xc[:, 2:4] * dt[:, None]
        d = dt[:, None, None]
        P = (Pc[:, :2, :2] + d * (Pc[:, :2, 2:4] + Pc[:, 2:4, :2]) + d**2 * Pc[:, 2:4, 2:4]
             + np.eye(2) * self.cfg.q_cv * d**3 / 3.0)
        by_self = own_last >= st.t[ti]
        good = (st.good_adsb_t[ti] >= st.t[ti]) & ~by_self
        ref = np.where(good, REF_GOOD_ADSB, np.where(by_self, REF_ANY, REF_OTHER))
        self.learner.add_residuals(col, z, pred, P, ref.astype(np.int64))

    def _identity_confirms(self, agree: npt.NDArray[np.bool_], icao24: IntArray
                           ) -> npt.NDArray[np.bool_]:
        """Two plots with the same Mode S address (two scans or two sensors) confirm a track,
        unless a confirmed track already holds that address (then it is a duplicate that the
        usual hit count must confirm)."""
        if not self.cfg.confirm_on_identity_pair or not agree.any():
            return np.zeros(agree.shape, bool)
        st = self.state
        held = np.sort(st.icao24[(st.status != TrackStatus.TENTATIVE) & (st.icao24 != 0)])
        return np.asarray(agree & ~is_member(icao24, held))

    def _carry_identity(self, ti: IntArray, plots: PlotBatch) -> None:
        """Copy icao24, callsign and squawk from plots that carry them."""
        st = self.state
        has = plots.icao24 != 0
        st.icao24[ti[has]] = plots.icao24[has]
        has_cs = plots.callsign.astype(bool)
        st.callsign[ti[has_cs]] = plots.callsign[has_cs]
        has_sq = plots.squawk >= 0
        st.squawk[ti[has_sq]] = plots.squawk[has_sq]

    def _initiate(self, free: PlotBatch) -> None:
        """Two-point initiation from plots no track took."""
        later, earlier = self.initiator.initiate(free)
        if len(later):
            self.state = self.state.append(self._new_tracks(later, earlier))

    def _new_tracks(self, p2: PlotBatch, p1: PlotBatch) -> TrackState:
        """Tentative tracks at the later plot, velocity from the pair."""
        cfg, n, M = self.cfg, len(p2), self.n_models
        dt = p2.t - p1.t
        R1, R2 = plot_cov(p1), plot_cov(p2)
        x = np.zeros((n, STATE_DIM))
        x[:, 0], x[:, 1] = p2.x, p2.y
        x[:, 2], x[:, 3] = (p2.x - p1.x) / dt, (p2.y - p1.y) / dt
        P = np.zeros((n, STATE_DIM, STATE_DIM))
        d = dt[:, None, None]
        P[:, :2, :2] = R2
        P[:, :2, 2:4] = P[:, 2:4, :2] = R2 / d
        P[:, 2:4, 2:4] = (R1 + R2) / d**2 + np.eye(2) * cfg.q_ct * np.abs(d) / 3.0
        P[:, 4, 4] = cfg.turn_sigma0_rad_s**2
        xs = np.repeat(x[:, None], M, axis=1)
        Ps = np.repeat(P[:, None], M, axis=1)
        xs[:, ~self.is_turn_model, 4] = 0.0
        Ps[:, ~self.is_turn_model, 4, 4] = 1e-8
        mu0 = np.where(self.is_turn_model, cfg.mu0_ct, 0.0)
        mu0[2:] = cfg.mu0_cv_high
        mu0[0] = 1.0 - mu0[1:].sum()
        mu = np.tile(mu0, (n, 1))
        col2, col1 = self.sensor_col(p2.sensor_id), self.sensor_col(p1.sensor_id)
        slt = np.full((n, len(self.sensor_ids)), np.nan)
        slt[np.arange(n), col1] = p1.t
        slt[np.arange(n), col2] = p2.t
        psr = self.is_psr[col1].astype(np.int32) + self.is_psr[col2]
        alt = np.where(np.isfinite(p2.alt_ft), p2.alt_ft, p1.alt_ft)
        has_both = np.isfinite(p2.alt_ft) & np.isfinite(p1.alt_ft)
        rate = np.where(has_both, (p2.alt_ft - p1.alt_ft) / dt, 0.0)
        alt_cov = np.tile([cfg.sigma_alt_ft**2, 0.0, 30.0**2], (n, 1))
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        self.counts["tracks_initiated"] += n
        self.counts["plots_initiated"] += 2 * n
        callsign = np.where(p2.callsign.astype(bool), p2.callsign, p1.callsign)
        xc, Pc = combine(xs, Ps, mu)
        new = TrackState(
            track_id=ids, t=p2.t.copy(), xs=xs, Ps=Ps, mu=mu, xc=xc, Pc=Pc,
            status=np.zeros(n, np.int8), hits_psr=psr, hits_id=(2 - psr).astype(np.int32),
            period_s=np.minimum(self.periods[col1], self.periods[col2]),
            last_update_t=p2.t.copy(), icao24=np.where(p2.icao24 != 0, p2.icao24, p1.icao24),
            callsign=np.asarray(callsign, object), squawk=np.maximum(p2.squawk, p1.squawk),
            flags=(p2.flags | p1.flags) & np.uint16(PlotFlag.IDENTITY_MISMATCH),
            alt_ft=alt, vrate_fps=rate, alt_t=np.where(np.isfinite(alt), p2.t, np.nan),
            alt_cov=alt_cov, sensor_last_t=slt, good_adsb_t=np.full(n, np.nan),
            alt_meas_ft=alt.copy(), t_start=p2.t.copy(),
        )
        conf = confirmed_now(new.hits_psr, new.hits_id, cfg) | self._identity_confirms(
            (p1.icao24 != 0) & (p1.icao24 == p2.icao24), p2.icao24)
        new.status[conf] = TrackStatus.CONFIRMED
        self.counts["tracks_confirmed"] += int(conf.sum())
        return new
