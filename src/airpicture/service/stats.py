"""The service's counters: per-sensor plot statistics and the Prometheus metrics of one
service (its own registry, so several services can run in one process, as in the tests)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.process_collector import ProcessCollector

from airpicture.core.plots import PlotBatch


@dataclass
class SensorStats:
    """Per-sensor plot counts and last-seen stream time, in the service's sensor order."""

    ids: npt.NDArray[np.int32]
    dead_after_s: npt.NDArray[np.float64]
    total: npt.NDArray[np.int64]
    last_seen_s: npt.NDArray[np.float64]
    window: deque[tuple[float, npt.NDArray[np.int64]]] = field(default_factory=deque)

    def add(self, plots: PlotBatch, t_s: float, window_s: float = 10.0) -> None:
        """Count one tick's plots per sensor (vectorised over plots)."""
        pos = np.searchsorted(self.ids, plots.sensor_id)
        ok = (pos < self.ids.size) & (self.ids[np.minimum(pos, self.ids.size - 1)]
                                      == plots.sensor_id)
        counts = np.bincount(pos[ok], minlength=self.ids.size).astype(np.int64)
        self.total += counts
        if ok.any():
            last = np.full(self.ids.size, -np.inf)
            np.maximum.at(last, pos[ok], plots.t[ok])
            self.last_seen_s = np.fmax(self.last_seen_s, np.where(np.isfinite(last), last,
                                                                  np.nan))
        self.window.append((t_s, counts))
        while self.window and self.window[0][0] < t_s - window_s:
            self.window.popleft()

    def rates(self) -> npt.NDArray[np.float64]:
        """Plots per second of stream time over the recent window."""
        if len(self.window) < 2:
            return np.zeros(self.ids.size)
        span = self.window[-1][0] - self.window[0][0]
        counts = sum((c for _, c in list(self.window)[1:]), np.zeros(self.ids.size, np.int64))
        return counts / span if span > 0 else np.zeros(self.ids.size)


class Metrics:
    """Prometheus metrics of one service (own registry: several services per process in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        self.plots = Counter("airpicture_plots", "Plots received", ["sensor"], registry=r)
        self.tracks = Gauge("airpicture_tracks", "Tracks in the current picture", registry=r)
        self.ticks = Counter("airpicture_ticks", "Pictures published", registry=r)
        self.step_s = Histogram("airpicture_tick_seconds", "Time to step, release and encode",
                                registry=r)
        self.clients = Gauge("airpicture_ws_clients", "WebSocket clients connected", registry=r)
        self.sent = Counter("airpicture_ws_messages_sent", "WebSocket messages sent", registry=r)
        self.skipped = Counter("airpicture_ws_frames_skipped",
                               "Frames a slow client skipped (it got a snapshot instead)",
                               registry=r)
        self.recorded = Gauge("airpicture_recording_rows_committed",
                              "Rows durably committed to the recording", ["table"], registry=r)
        self.stream_t = Gauge("airpicture_stream_time_seconds", "Stream time of the picture",
                              registry=r)
        self.feed_up = Gauge("airpicture_feed_up", "1 while a feed is up (or listening, or "
                             "done reading a file), 0 while it is down and retried", ["feed"],
                             registry=r)
        self.feed_frames = Gauge("airpicture_feed_frames", "Frames a feed delivered",
                                 ["feed"], registry=r)
        self.recording_up = Gauge("airpicture_recording_up", "1 while the recording writes "
                                  "(or is idle), 0 while its writes fail and are retried",
                                  registry=r)
        self.recording_errors = Gauge("airpicture_recording_write_errors",
                                      "Failed recording writes since start", registry=r)
        self.recording_dropped = Gauge("airpicture_recording_rows_dropped", "Rows never "
                                       "recorded (queue full, or a write that failed for good)",
                                       ["table"], registry=r)
        self.recording_queued = Gauge("airpicture_recording_queue_tables",
                                      "Tables waiting for the recording's writer", registry=r)
        self.stream_wall_ratio = Gauge("airpicture_stream_wall_ratio", "Stream seconds "
                                       "processed per wall second over the last 30 s",
                                       registry=r)
        self.ticks_per_s = Gauge("airpicture_ticks_per_second", "Pictures per wall second "
                                 "over the last 30 s", registry=r)
        self.since_tick = Gauge("airpicture_seconds_since_tick", "Wall seconds since the "
                                "last picture (frozen when large)", registry=r)
        self.ticks_skipped = Gauge("airpicture_ticks_skipped", "Ticks skipped because the "
                                   "pipeline was late", registry=r)
        self.backlog = Gauge("airpicture_input_backlog", "Input waiting to be processed, as "
                             "the source counts it (-1: the source does not say)", registry=r)
        self.problems = Gauge("airpicture_health_problems", "Problems /api/health reports "
                              "(0: ok)", registry=r)
        self.decoder_events = Gauge("airpicture_decoder_events", "Decoder counters (messages, "
                                    "positions, bad frames by kind, ...)", ["kind"],
                                    registry=r)
