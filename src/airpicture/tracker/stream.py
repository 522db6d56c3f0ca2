"""InProcessTracker: the streaming tracker (ingest plots as they come, read the picture anytime).

Plots wait in a buffer; time is cut in slices on a fixed grid (k * slice_s).  A slice is
processed once the stream is `late_window_s` past its end, so late ADS-B/MLAT plots within the
window are used in measurement-time order; a plot older than an already processed slice is
counted as late and dropped.  Within a slice, plots are handled per (sensor, rank) group in time
order, each update predicting the track to the plot's own time.
"""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.plots import PlotBatch, PlotFlag
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.engine import SliceEngine
from airpicture.tracker.enrich import enrich_state
from airpicture.tracker.initiate import plot_cov
from airpicture.tracker.lifecycle import sigma_pos_m
from airpicture.tracker.models import turn_extrapolate
from airpicture.tracker.state import TrackState

SNAPSHOT_VERSION = 1


def plot_validity(plots: PlotBatch, max_sigma_m: float) -> npt.NDArray[np.bool_]:
    """True for plots with finite values and a positive-definite, not absurd covariance."""
    finite = np.isfinite(plots.t) & np.isfinite(plots.x) & np.isfinite(plots.y)
    finite &= np.isfinite(plots.var_x) & np.isfinite(plots.var_y) & np.isfinite(plots.cov_xy)
    with np.errstate(invalid="ignore"):
        det = plots.var_x * plots.var_y - plots.cov_xy**2
        pd = (plots.var_x > 0) & (plots.var_y > 0) & (det > 1e-12 * plots.var_x * plots.var_y)
        sane = (plots.var_x <= max_sigma_m**2) & (plots.var_y <= max_sigma_m**2)
    return np.asarray(finite & pd & sane)


class InProcessTracker:
    """The whole tracker in this process; implements airpicture.tracker.runtime.TrackerRuntime."""

    def __init__(self, sensors: list[Sensor], config: TrackerConfig | None = None,
                 record: bool = False) -> None:
        base = config or TrackerConfig()
        periods = {s.id: float(s.period_s) for s in sensors}
        periods.update(base.sensor_periods_s)
        cfg = dataclasses.replace(base, sensor_periods_s=periods)  # the caller's stays as is
        cfg.validate()
        self.config = cfg
        self.sensors = list(sensors)
        self.record = record
        self.reports: list[TrackTable] = []
        self.engine = SliceEngine(cfg, list(sensors))
        self.buffer = PlotBatch.empty()
        self.processed_until = -np.inf
        self.rejected = PlotBatch.empty()
        self.counts: dict[str, int] = {"plots_in": 0, "plots_rejected": 0, "plots_late": 0,
                                       "enrichment_in": 0, "enrichment_matched": 0,
                                       "enrichment_alt_used": 0}
        self.enrich_buffer = ModeSEnrichment.empty()
        self.slice_wall_s: list[float] = []
        self.slice_cpu_s: list[float] = []
        """Wall and CPU time of each processed slice (CPU time is what a shared machine
        cannot inflate by running other work)."""

    # --- TrackerRuntime -------------------------------------------------------------------
    def ingest(self, plots: PlotBatch) -> None:
        """Accept plots in any order; invalid ones and ones older than processed time counted."""
        n = len(plots)
        if n == 0:
            return
        self.counts["plots_in"] += n
        ok = plot_validity(plots, self.config.max_plot_sigma_m)
        known = np.isin(plots.sensor_id, self.engine.sensor_ids)
        bad = ~(ok & known)
        if bad.any():
            rej = plots.take(bad)
            rej.flags = rej.flags | np.uint16(PlotFlag.REJECTED)
            self.rejected = PlotBatch.concat([self.rejected, rej])
            if len(self.rejected) > 10000:
                self.rejected = self.rejected.take(np.arange(len(self.rejected) - 10000,
                                                             len(self.rejected)))
            self.counts["plots_rejected"] += int(bad.sum())
        late = ~bad & (plots.t < self.processed_until)
        self.counts["plots_late"] += int(late.sum())
        good = ~bad & ~late
        if good.any():
            self.buffer = PlotBatch.concat([self.buffer, plots.take(good)])

    def advance_to(self, t_s: float) -> None:
        """Process every buffered slice that ends at or before t_s - late_window_s."""
        import time

        cfg = self.config
        horizon = t_s - cfg.late_window_s
        if not horizon > self.processed_until:
            return
        k_done = np.floor(horizon / cfg.slice_s)
        k = np.floor(self.buffer.t / cfg.slice_s)
        ready = k < k_done
        if ready.any():
            todo = self.buffer.take(ready)
            self.buffer = self.buffer.take(~ready)
            k_todo = k[ready]
            order = np.lexsort((todo.y, todo.x, todo.sensor_id, todo.t))
            todo, k_todo = todo.take(order), k_todo[order]
            bounds = np.flatnonzero(np.diff(k_todo)) + 1
            for sl in np.split(np.arange(len(todo)), bounds):
                t0, c0 = time.perf_counter(), time.process_time()
                t_end = float((k_todo[sl[0]] + 1) * cfg.slice_s)
                self.engine.process(todo.take(sl), t_end)
                self.processed_until = max(self.processed_until, t_end)
                self._apply_enrichment(t_end)
                if self.record:
                    self.reports.append(self.picture(t_end))
                    if len(self.engine.ended):
                        self.reports.append(self.ended_rows(t_end))
                self.slice_wall_s.append(time.perf_counter() - t0)
                self.slice_cpu_s.append(time.process_time() - c0)
        self.processed_until = max(self.processed_until, float(k_done * cfg.slice_s))
        self._apply_enrichment(self.processed_until)

    def enrich(self, enrichment: ModeSEnrichment) -> None:
        """Accept Mode S replies without position (any order): each updates the track with
        its address (altitude through the vertical filter when newer than the track's,
        squawk, callsign) once the tracker has processed plots up to the reply's time."""
        if len(enrichment) == 0:
            return
        self.counts["enrichment_in"] += len(enrichment)
        keep = np.isfinite(enrichment.t) & (enrichment.icao24 != 0)
        self.enrich_buffer = ModeSEnrichment.concat([self.enrich_buffer,
                                                     enrichment.take(keep)])
        self._apply_enrichment(self.processed_until)

    def _apply_enrichment(self, upto_t: float) -> None:
        """Fold the buffered replies older than upto_t into the tracks."""
        buf = self.enrich_buffer
        due = buf.t < upto_t
        if not due.any():
            return
        self.enrich_buffer = buf.take(~due)
        matched, alt_used = enrich_state(self.engine.state, buf.take(due),
                                         self.config.sigma_alt_ft, self.config.q_alt,
                                         self.engine.alt_gate)
        self.counts["enrichment_matched"] += matched
        self.counts["enrichment_alt_used"] += alt_used

    def flush(self) -> None:
        """Process every buffered plot now (end of a recording)."""
        if len(self.buffer):
            self.advance_to(float(self.buffer.t.max()) + self.config.late_window_s
                            + 2 * self.config.slice_s)

    def picture(self, t_s: float | None = None) -> TrackTable:
        """The live tracks, predicted to t_s when given (else at their own update times).

        Status is judged at `status_time(t_s)`: the tracker cannot know of plots inside the
        late-plot window yet, so a healthy track read at `picture(now)` stays confirmed."""
        st = self.engine.state
        t_ref = float(st.t.max()) if t_s is None and len(st) else float(t_s or 0.0)
        return self._table(st, t_s, self.engine.status_at(self.status_time(t_ref)))

    def status_time(self, t_s: float) -> float:
        """The time a track's status is judged at when read at t_s: t_s itself when plots are
        processed that far, else `processed_until` (the end of the last processed slice), so
        the late-plot window never makes a track look coasting."""
        if np.isfinite(self.processed_until):
            return min(float(t_s), float(self.processed_until))
        return float(t_s)

    def ended_rows(self, t_s: float) -> TrackTable:
        """One final row per confirmed track the last slice deleted, predicted to t_s, with
        status TENTATIVE (confirmed = false): the track ends at once for a recording's
        readers (the scorer counts a track only while its latest row is confirmed)."""
        st = self.engine.ended
        return self._table(st, t_s, np.full(len(st), TrackStatus.TENTATIVE, np.int8))

    def _table(self, st: TrackState, t_s: float | None, status: npt.NDArray[np.int8]
               ) -> TrackTable:
        """Tracks of `st` as a TrackTable, predicted to t_s when given."""
        eng = self.engine
        n = len(st)
        if t_s is None:
            x = st.xc[:, :4]
            t = st.t.copy()
        else:
            # Mean along each track's turn rate; sigma by straight-line extrapolation.
            x = turn_extrapolate(st.xc, t_s - st.t)
            t = np.full(n, float(t_s))
        sigma = sigma_pos_m(st, t_s, self.config.q_cv)
        return TrackTable(
            track_id=st.track_id.copy(), t=t, x=x[:, 0].copy(), y=x[:, 1].copy(),
            vx=x[:, 2].copy(), vy=x[:, 3].copy(), status=status, alt_ft=st.alt_meas_ft.copy(),
            vrate_fpm=st.vrate_fps * 60.0, icao24=st.icao24.copy(),
            callsign=st.callsign.copy(), squawk=st.squawk.copy(), sigma_pos_m=sigma,
            last_update_t=st.last_update_t.copy(), flags=st.flags.copy(),
            sensor_ids=np.asarray(eng.sensor_ids, np.int32),
            sensor_last_t=st.sensor_last_t.copy(), alt_t=st.alt_t.copy(),
            t_start=st.t_start.copy(),
        )

    def snapshot(self) -> bytes:
        """Versioned pickle of the numpy state, buffer, counters and config."""
        return pickle.dumps({
            "version": SNAPSHOT_VERSION, "config": self.config, "sensors": self.sensors,
            "engine": self.engine.get_state(), "buffer": self.buffer,
            "processed_until": self.processed_until, "counts": dict(self.counts),
            "enrich_buffer": self.enrich_buffer,
        }, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, state: bytes) -> None:
        """Replace the whole state with a snapshot's (also from another process)."""
        obj: dict[str, Any] = pickle.loads(state)
        if not isinstance(obj, dict) or obj.get("version") != SNAPSHOT_VERSION:
            raise ValueError("not an airpicture tracker snapshot of a supported version")
        self.config = obj["config"]
        self.sensors = obj["sensors"]
        self.engine = SliceEngine(self.config, list(self.sensors))
        self.engine.set_state(obj["engine"])
        self.buffer = obj["buffer"]
        self.processed_until = obj["processed_until"]
        self.counts = dict(obj["counts"])
        self.enrich_buffer = obj.get("enrich_buffer", ModeSEnrichment.empty())

    # --- sensors learned from their data (learn.py) --------------------------------------
    def observe_scan_period(self, sensor_id: int, period_s: float) -> None:
        """A sensor's period measured outside its plots (e.g. CAT034 north markers): it
        overrides the learned and configured period at once (NaN or <= 0: forget it).
        Unknown sensor ids are a ValueError."""
        hit = np.flatnonzero(self.engine.sensor_ids == int(sensor_id))
        if hit.size == 0:
            raise ValueError(f"unknown sensor id {sensor_id}")
        self.engine.learner.observe_period(int(hit[0]), float(period_s))
        self.engine.apply_learned()

    def learned_sensors(self) -> list[dict[str, Any]]:
        """Per sensor: {"id", "kind", "period_s", "pd", "sigma_range_m", "sigma_azimuth_deg",
        "sigma_m", "n_plots", "period_source"} (learned where enough samples, else the
        configured prior; sigmas not of the sensor's kind are None; period_source is
        "prior", "learned" or "measured")."""
        eng = self.engine
        return eng.learner.summary(eng.prior_periods, eng.prior_pds)

    # --- extras ---------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Plot and track counters (in, used, rejected, late, ...)."""
        out: dict[str, Any] = dict(self.counts)
        out.update(self.engine.counts)
        out["plots_pending_expired"] = self.engine.initiator.expired
        out["plots_buffered"] = len(self.buffer)
        out["tracks_live"] = len(self.engine.state)
        out["tracks_confirmed_live"] = int(
            (self.engine.state.status != TrackStatus.TENTATIVE).sum())
        out["slices"] = len(self.slice_wall_s)
        return out


__all__ = ["InProcessTracker", "plot_cov", "plot_validity", "sigma_pos_m"]
