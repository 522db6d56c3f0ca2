"""The service's pipeline: a clock thread steps the source, releases and publishes each picture.

Each tick: source.step(t) -> sensor statistics (stats.py) -> Egress -> recorder, and one encoded
snapshot and delta per consumer handed to the publisher (the WebSocket hub).  Encoding happens
here, once per consumer, never per client.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.aircraft_json import epoch_offset_s
from airpicture.policy.egress import LOCAL, Consumer, Egress
from airpicture.service.encode import (
    SensorIndex,
    delta_rows,
    encode_message,
    moving_view,
    same_identity,
    take_view,
    to_view,
)
from airpicture.service.pace import Pace
from airpicture.service.recorder import Recorder
from airpicture.service.sources import PictureSource
from airpicture.service.stats import Metrics, SensorStats

if TYPE_CHECKING:
    from airpicture.service.outputs import Outputs


@dataclass
class Frame:
    """One released picture for one consumer, with its encoded WebSocket messages."""

    seq: int
    t_s: float
    tracks: TrackTable
    view: dict[str, list[Any]]
    snapshot: str
    delta: str
    notice: str | None = None
    """A control message sent once to each client after the picture (`end`: the replay
    reached the end of its recording), or None."""


def with_label(message: str, label: dict[str, Any]) -> str:
    """An encoded JSON object message with a leading `label` key."""
    return '{"label":' + json.dumps(label, separators=(",", ":")) + "," + message[1:]


FEED_UP_STATES = frozenset({"up", "listening", "done"})
"""Feed states (airpicture.sources.transports.FeedStatus) in which nothing is wrong."""

MAX_CATCH_UP_TICKS = 600
"""On the data clock: ticks run at once when the data are ahead, up to this many."""
DATA_CLOCK_POLL_S = 0.05
"""On the data clock: wall seconds between two looks at the source's data time."""

Publisher = Callable[[dict[Consumer, Frame]], None]
STOP_TIMEOUT_S = 5.0
"""At most this long for the tick in progress when the service stops."""
HealthCheck = Callable[[], list[str]]
"""A health check: the problems it sees now, one human-readable line each (empty: fine)."""


class Pipeline:
    """Owns the source, the clock and the latest frames; runs in its own thread."""

    def __init__(self, source: PictureSource, egress: Egress, recorder: Recorder,
                 *, tick_s: float = 1.0, speed: float = 1.0, confirmed_only: bool = True,
                 dead_after_periods: float = 3.0, dead_after_min_s: float = 10.0,
                 t0_s: float = 0.0, trail_points: int = 20) -> None:
        self.source = source
        self.meta = source.meta
        self.frame = source.meta.frame
        self.egress = egress
        self.recorder = recorder
        self.tick_s = tick_s
        self.speed = speed
        self.confirmed_only = confirmed_only
        self.t0_s = t0_s
        self.trail_points = trail_points
        sensors = sorted(self.meta.sensors, key=lambda s: s.id)
        self.sensors = sensors
        self.index = SensorIndex.create([s.id for s in sensors], [s.kind for s in sensors])
        periods = np.asarray([s.period_s for s in sensors], float)
        self.stats = SensorStats(
            ids=self.index.ids, dead_after_s=np.maximum(dead_after_periods * periods,
                                                        dead_after_min_s),
            total=np.zeros(len(sensors), np.int64), last_seen_s=np.full(len(sensors), np.nan))
        self.metrics = Metrics()
        self.consumers: set[Consumer] = {LOCAL}
        self.latest: dict[Consumer, Frame] = {}
        self.publishers: list[Publisher] = []
        self.seq = 0
        self.t_s = t0_s
        self.epoch_offset_s = epoch_offset_s(
            t0_s, self.meta.extra.get("start_utc"), hasattr(source, "picture_t_s"))
        """Stream time + this = Unix seconds (aircraft.json's `now`): 0 for live feeds, a
        scenario's start_utc, else the wall clock at t0 (io.aircraft_json.epoch_offset_s)."""
        self._messages_seen: dict[Consumer, int] = {}
        self.error: BaseException | None = None
        self.pace = Pace(tick_s, speed)
        self.health_checks: list[HealthCheck] = []
        """Extra checks for /api/health: each returns human-readable problems (empty: fine)."""
        self._recorded_ids = np.empty(0, np.int64)
        self._recorded_t = np.empty(0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.outputs: Outputs | None = None
        """CAT062 outputs (service/outputs.py), set by serve.build_pipeline when configured."""
        self._notice: str | None = None
        self.picture_listeners: list[Callable[[float, TrackTable], None]] = []
        """Called each tick with (t_s, the unreleased picture) before recording and WebSocket
        encoding, so latency-bound outputs (CAT062) need not wait for them; each releases what
        it sends with `release(tracks, consumer)` and must return at once."""
        self.class_pictures: Callable[[Consumer, TrackTable, float], TrackTable] | None = None
        self.class_records: Callable[[float], dict[str | None, TrackTable]] | None = None
        """With a release policy: every class's picture at a time, recorded per class."""
        self.history_class: Callable[[Consumer], str | None] | None = None
        """With a release policy: the class whose recorded history a consumer may read."""
        self._recorded: dict[str | None, tuple[npt.NDArray[np.int64],
                                               npt.NDArray[np.float64]]] = {}
        """With a release policy (service/release.py): a consumer's class picture at a time,
        given the operator's; None: every consumer's frame is built from the operator's."""

    def picture_of(self, consumer: Consumer, tracks: TrackTable, t_s: float) -> TrackTable:
        """The unreleased picture `consumer`'s frame is built from: its release class's (with
        a release policy, `class_pictures`), else `tracks`, the operator's."""
        if self.class_pictures is None:
            return tracks
        return self.class_pictures(consumer, tracks, t_s)

    def sensor_status_for(self, consumer: Consumer) -> list[dict[str, Any]]:
        """`sensor_status` of the sensors `consumer` may know of (Egress.sensors)."""
        from airpicture.service.release import gate_sensor_status

        return gate_sensor_status(self.egress, self.sensor_status(), consumer)

    def release(self, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        """What `consumer` may see: Egress first, then the service's own display rule."""
        released = self.egress.tracks(tracks, consumer)
        if self.confirmed_only and len(released):
            released = released.take(released.confirmed)
        return released

    def _frame(self, tracks: TrackTable, consumer: Consumer, seq: int, t_s: float) -> Frame:
        released = self.release(tracks, consumer)
        label = self.egress.label(consumer)
        view = to_view(released, self.frame, self.index)
        snapshot = encode_message("snapshot", seq, t_s, view)
        prev = self.latest.get(consumer)
        if prev is None:
            delta = snapshot
        else:
            changed, removed = delta_rows(prev.tracks.track_id, prev.tracks.t,
                                          released.track_id, released.t)
            known = same_identity(prev.tracks, released, changed)
            delta = encode_message("delta", seq, t_s, take_view(view, changed[~known]),
                                   removed.tolist(), moving_view(view, changed[known]))
        if label is not None:  # every payload carries the label of what it contains
            snapshot, delta = with_label(snapshot, label), with_label(delta, label)
        return Frame(seq, t_s, released, view, snapshot, delta)

    def _record(self, plots: PlotBatch, tracks: TrackTable) -> None:
        """Queue the plots and the track states that changed since the last tick (released);
        with release classes, each class's picture under its class id."""
        pictures: dict[str | None, TrackTable] = {None: tracks}
        if self.class_records is not None:
            pictures = {**self.class_records(self.t_s)} or pictures
        recorded_plots = self.egress.plots(plots, LOCAL)
        for class_id, picture in pictures.items():
            released = self.release(picture, LOCAL)
            ids, times = self._recorded.get(class_id, (self._recorded_ids, self._recorded_t))
            changed, _ = delta_rows(ids, times, released.track_id, released.t)
            self._recorded[class_id] = (released.track_id, released.t)
            self.recorder.put(recorded_plots, released.take(changed), self.frame, self.index,
                              class_id)
            recorded_plots = PlotBatch.empty()  # the plots once

    def tick(self, t_s: float) -> dict[Consumer, Frame]:
        """Step the source to t_s, record, and publish one frame per consumer."""
        started = time.perf_counter()
        tracks, plots = self.source.step(t_s)
        own_t = float(getattr(self.source, "picture_t_s", np.nan))  # live feeds' own clock
        t_s = own_t if np.isfinite(own_t) else t_s
        self.t_s = t_s
        self.stats.add(plots, t_s)
        for sid, n in zip(*np.unique(plots.sensor_id, return_counts=True), strict=True):
            self.metrics.plots.labels(sensor=str(int(sid))).inc(int(n))
        for listen in self.picture_listeners:
            listen(t_s, tracks)
        self._record(plots, tracks)
        self.seq += 1
        frames = {c: self._frame(self.picture_of(c, tracks, t_s), c, self.seq, t_s)
                  for c in list(self.consumers)}
        if getattr(self.source, "ended", False):  # a replay past its recording's end
            if self._notice is None:
                self._notice = json.dumps({"type": "end", "seq": self.seq, "t": round(t_s, 3),
                                           "wall": round(time.time(), 4),
                                           "reason": "end of recording"})
            for frame in frames.values():
                frame.notice = self._notice
        else:
            self._notice = None
        self.latest = frames
        m = self.metrics
        m.tracks.set(len(frames[LOCAL].tracks) if LOCAL in frames else 0)
        m.ticks.inc()
        m.stream_t.set(t_s)
        self.update_status_metrics()
        status = self.feed_status()
        for feed in status["feeds"]:
            m.feed_up.labels(feed=feed["name"]).set(feed["state"] in FEED_UP_STATES)
            m.feed_frames.labels(feed=feed["name"]).set(feed.get("frames", 0))
        for kind, n in status["decoder"].items():
            m.decoder_events.labels(kind=kind).set(n)
        m.step_s.observe(time.perf_counter() - started)
        for publish in self.publishers:
            publish(frames)
        return frames

    def start(self) -> None:
        start_source = getattr(self.source, "start", None)
        if start_source is not None:
            start_source()
        self.pace.start()
        self._thread = threading.Thread(target=self._run, name="pipeline", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stop ticking; waits at most timeout_s for the tick in progress (never hangs)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        stop_source = getattr(self.source, "stop", None)  # live inputs close their sockets
        if stop_source is not None:
            stop_source()

    def _run(self) -> None:
        """Tick every tick_s of stream time: tick_s / speed of wall time (or, for a source on
        the data clock, each tick_s of the data's own time as it arrives)."""
        data_time = getattr(self.source, "data_time_s", None)
        if data_time is not None and getattr(self.source, "clock", "wall") == "data":
            self._run_on_data_clock(data_time)
            return
        wall0 = time.monotonic()
        k = 0
        try:
            while not self._stop.is_set():
                k += 1
                began = time.monotonic()
                self.tick(self.t0_s + k * self.tick_s)
                ended = time.monotonic()
                wake = wall0 + k * self.tick_s / self.speed
                delay = wake - ended
                skipped = 0
                if delay < 0:  # fell behind: skip ticks rather than queue them
                    skipped = int(-delay * self.speed / self.tick_s)
                    k += skipped
                    delay = 0.0
                self.pace.ticked(self.t_s, ended - began, skipped, ended)
                self._stop.wait(delay)
        except BaseException as exc:  # surfaced by /api/health
            self.error = exc
            raise

    def _run_on_data_clock(self, data_time_s: Callable[[], float]) -> None:
        """Tick at every multiple of tick_s that the source's data clock has passed: a feed
        replayed at 10x gets the same ticks, so the same pictures, as at 1x.  More than
        MAX_CATCH_UP_TICKS behind (the data jumped ahead), the ticks in between are skipped."""
        next_t = float("nan")
        first_data_time_s = getattr(self.source, "first_data_time_s", None)
        try:
            while not self._stop.is_set():
                now = data_time_s()
                if np.isfinite(now):
                    newest = float(np.floor(now / self.tick_s) * self.tick_s)
                    behind = (newest - next_t) / self.tick_s
                    skipped = 0
                    if not np.isfinite(next_t):  # begin at the first data, not where it is now
                        first = float(first_data_time_s()) if first_data_time_s else np.nan
                        start = np.floor(first / self.tick_s) * self.tick_s
                        next_t = start if newest - start <= MAX_CATCH_UP_TICKS * self.tick_s \
                            else newest
                    elif behind > MAX_CATCH_UP_TICKS:
                        skipped = int(behind)
                        next_t = newest
                    while next_t <= now and not self._stop.is_set():
                        began = time.monotonic()
                        self.tick(float(next_t))
                        ended = time.monotonic()
                        self.pace.ticked(self.t_s, ended - began, skipped, ended)
                        skipped = 0
                        next_t += self.tick_s
                self._stop.wait(DATA_CLOCK_POLL_S)
        except BaseException as exc:  # surfaced by /api/health
            self.error = exc
            raise

    def learned_sensors(self) -> dict[int, dict[str, Any]]:
        """Per sensor id, what the source's tracker learned (period, detection probability,
        sigmas, where the period came from); empty when it learns nothing."""
        from airpicture.service.live_asterix import learned_by_sensor

        for owner in (self.source, getattr(self.source, "runtime", None)):
            learned = getattr(owner, "learned_sensors", None)
            if learned is not None:
                return learned_by_sensor(learned())
        return {}

    def aircraft_json(self, consumer: Consumer) -> dict[str, Any]:
        """readsb's aircraft.json for `consumer`: its released tracks and, with Mode S feeds,
        the aircraft heard without a track (airpicture.io.aircraft_json, through Egress)."""
        from airpicture.io import aircraft_json
        from airpicture.sources.state import AircraftStates

        frame = self.latest.get(consumer)
        tracks = frame.tracks if frame is not None else TrackTable.empty(self.index.ids)
        kinds = {s.id: s.kind for s in self.sensors}
        mode_s = getattr(self.source, "mode_s_states", None)
        # readsb's `messages`, a running total: Mode S messages decoded, else plots received;
        # a consumer other than LOCAL sees the most its own aircraft ever summed to instead.
        decoded = self.feed_status()["decoder"].get("messages")
        total = int(decoded) if decoded is not None else int(self.stats.total.sum())

        def build(states: AircraftStates) -> dict[str, Any]:
            return aircraft_json.from_tracks(
                tracks, states, self.frame, self.t_s, self.egress, consumer,
                sensor_kinds=kinds, epoch_offset_s=self.epoch_offset_s,
                messages_total=total if consumer == LOCAL else None)

        if mode_s is None:
            doc = build(AircraftStates())
        else:
            states, lock = mode_s()
            with lock:
                doc = build(states)
        if consumer != LOCAL:
            doc["messages"] = max(doc["messages"], self._messages_seen.get(consumer, 0))
            self._messages_seen[consumer] = doc["messages"]
        label = self.egress.label(consumer)
        if label is not None:
            doc["label"] = label
        return doc

    def feed_status(self) -> dict[str, Any]:
        """The source's feeds and decoder counters (empty for a simulated scenario)."""
        feeds = getattr(self.source, "feeds", None)
        return feeds() if feeds is not None else {"feeds": [], "decoder": {}}

    def update_status_metrics(self, scrape: bool = False) -> None:
        """Recording and pace figures into Prometheus: each tick, and on each /metrics
        scrape (`scrape`: also the problem count), so they stay current when no tick comes."""
        m, rec = self.metrics, self.recorder
        ratio, rate = self.pace.stream_wall_ratio(), self.pace.ticks_per_s()
        m.stream_wall_ratio.set(ratio if ratio is not None else float("nan"))
        m.ticks_per_s.set(rate if rate is not None else float("nan"))
        m.since_tick.set(self.pace.since_tick_s() or 0.0)
        m.ticks_skipped.set(self.pace.ticks_skipped)
        backlog = self.backlog()
        m.backlog.set(-1 if backlog is None else backlog)
        if scrape:
            m.problems.set(len(self.health()["problems"]))
        for table, n in rec.committed().items():
            m.recorded.labels(table=table).set(n)
        for table, n in rec.dropped().items():
            m.recording_dropped.labels(table=table).set(n)
        m.recording_up.set(rec.state in ("ok", "idle"))
        m.recording_errors.set(rec.errors)
        m.recording_queued.set(rec.queued())

    def backlog(self) -> int | None:
        """The source's input backlog (`backlog() -> int`, optional), None when it has none."""
        backlog = getattr(self.source, "backlog", None)
        if backlog is None:
            return None
        try:
            return int(backlog())
        except Exception:
            return None

    def running(self) -> str:
        """'not started' (ticked by hand), 'running', 'stopping', or 'dead' (the thread ended
        without being asked: `error` says why)."""
        if self._thread is None:
            return "not started"
        if self._stop.is_set():
            return "stopping"
        return "running" if self._thread.is_alive() else "dead"

    def health(self) -> dict[str, Any]:
        """What /api/health adds up: status (ok, degraded, error), every problem, the pace.
        error: the pipeline thread died; degraded: any problem (feeds, recording, falling
        behind, frozen, the source's problems(), each of health_checks)."""
        state = self.running()
        down = self.feeds_down()
        problems = [f"feed {name} is not delivering" for name in down]
        if state == "dead":
            problems.insert(0, f"pipeline stopped: {self.error!r}")
        own_clock = bool(np.isfinite(float(getattr(self.source, "picture_t_s", np.nan))))
        if state == "running":
            problems += self.pace.problems(own_clock)
        problems += self.problems()
        status = "error" if self.error is not None or state == "dead" else \
            "degraded" if problems else "ok"
        replay = getattr(self.source, "replay_status", None)
        return {"status": status, "pipeline": state, "problems": problems, "feeds_down": down,
                "pace": {**self.pace.status(), "backlog": self.backlog()},
                "replay": replay() if replay is not None else None,
                "epoch_offset_s": self.epoch_offset_s}

    def problems(self) -> list[str]:
        """The parts' problems: the recording's, the source's own (`problems()` when it has
        it) and each of `health_checks`; a check that raises is itself a problem."""
        checks: list[HealthCheck] = [self.recorder.problems, *self.health_checks]
        source_problems = getattr(self.source, "problems", None)
        if source_problems is not None:
            checks.insert(1, source_problems)
        out: list[str] = []
        for check in checks:
            try:
                out.extend(check())
            except Exception as exc:
                out.append(f"health check {getattr(check, '__qualname__', check)!s} "
                           f"failed: {exc!r}")
        return out

    def feeds_down(self) -> list[str]:
        """Names of the feeds that are not delivering (down and retried, or failed)."""
        return [f["name"] for f in self.feed_status()["feeds"]
                if f["state"] not in FEED_UP_STATES]

    def sensor_status(self) -> list[dict[str, Any]]:
        """Per sensor: identity, position, plots/s, last seen and alive."""
        rates = self.stats.rates()
        learned = self.learned_sensors()
        lat, lon = self.frame.ground_to_geodetic([s.x for s in self.sensors],
                                                 [s.y for s in self.sensors])
        out = []
        for i, s in enumerate(self.sensors):
            last = float(self.stats.last_seen_s[i])
            seen = bool(np.isfinite(last))
            positioned = s.kind in ("psr", "ssr")
            out.append({
                "id": s.id, "kind": s.kind, "name": s.name or f"{s.kind}-{s.id}",
                "lat": float(lat[i]) if positioned else None,
                "lon": float(lon[i]) if positioned else None,
                "max_range_m": s.max_range_m if np.isfinite(s.max_range_m) else None,
                "period_s": s.period_s, "plots_total": int(self.stats.total[i]),
                "plots_per_s": round(float(rates[i]), 2),
                "last_seen_t": last if seen else None,
                "alive": seen and self.t_s - last <= float(self.stats.dead_after_s[i]),
                "bit": i,
                "learned": learned.get(s.id),
            })
        return out
