"""`airpicture ingest`: run feeds from several receivers into the decoder and the tracker.

Feeds put frame batches (or SBS records) on a shared list; every `step_s` the pending frames
are decoded in one batch (`ModeSDecoder`), the plots that pass the speed check go to the tracker
(`airpicture.tracker.stream.InProcessTracker`, loaded lazily; without it plots are only
counted), and aircraft.json is rewritten at 1 Hz from the tracker's picture (or, without a
tracker, from the per-aircraft Mode S state).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.io import aircraft_json
from airpicture.policy.egress import Egress
from airpicture.sources.decode import DecodeResult, ModeSDecoder, Receiver
from airpicture.sources.framing import FrameBatch
from airpicture.sources.transports import (
    HEALTHY_STATES,
    STALE_AFTER_S,
    FeedStatus,
    Items,
    SourceSpec,
    run_feed,
)

log = logging.getLogger("airpicture.sources")
CLOCKS = ("wall", "data")
MAX_CLOCK_OFFSET_S = 30.0
"""Messages further than this from the wall clock are counted (`FeedStatus.far_from_clock`)
and, with the wall clock, reported as a problem."""


def parse_receiver(text: str, index: int) -> Receiver:
    """NAME:LAT:LON to a Receiver with sensor ids 2*index+1 (ADS-B) and 2*index+2 (MLAT)."""
    parts = text.rsplit(":", 2)
    try:
        name, lat, lon = parts[0], float(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        raise UserError(text, "a receiver is NAME:LAT:LON, e.g. lfpg:49.0:2.55") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise UserError(text, "latitude must be in [-90, 90] and longitude in [-180, 180]")
    return Receiver(name, lat, lon, sensor_id=2 * index + 1, mlat_sensor_id=2 * index + 2)


def receiver_sensors(receivers: list[Receiver]) -> list[Sensor]:
    """The tracker's sensors: an ADS-B and an MLAT sensor per receiver."""
    out = []
    for r in receivers:
        out.append(Sensor(id=r.sensor_id, kind="adsb", period_s=1.0, name=r.name))
        out.append(Sensor(id=r.mlat_sensor_id, kind="mlat", period_s=1.0, name=f"{r.name}-mlat"))
    return out


def make_tracker(receivers: list[Receiver]) -> Any | None:
    """The in-process tracker, or None where airpicture.tracker.stream is not available."""
    try:
        from airpicture.tracker.stream import InProcessTracker
    except ImportError:
        return None
    return InProcessTracker(receiver_sensors(receivers))


@dataclass
class Ingest:
    """Feeds -> decoder -> tracker -> aircraft.json, all in one asyncio loop."""

    specs: list[SourceSpec]
    receivers: list[Receiver]
    aircraft_json_path: Path | None = None
    plots_path: Path | None = None
    use_tracker: bool = True
    step_s: float = 0.2
    egress: Egress = field(default_factory=Egress)
    statuses: dict[str, FeedStatus] = field(default_factory=dict)
    plots: int = 0
    plots_to_tracker: int = 0
    enrichment: int = 0
    prune_after_s: float = 3600.0
    status_log_s: float = 60.0
    stale_after_s: float = STALE_AFTER_S
    """A network feed connected but silent this long is reported `stale`."""
    clock: str | None = None
    """Stream time: "data" follows the messages' own times (a recording replayed at 10x is
    tracked as at 1x; network SBS keeps its own stamps); "wall" is the wall clock, and
    messages far from it are counted and reported (`clock_offset`, `clock_problems`); None
    (default): the wall clock with network feeds, the messages' times when only files."""
    _pending: list[tuple[str, Items]] = field(default_factory=list)
    """(feed name, what it delivered) since the last step."""
    _latest_t: float = -math.inf
    """The latest plot time (the tracker is advanced to it)."""
    _latest_msg_t: float = -math.inf
    """The latest decoded message time (the data clock)."""
    _clock_offset_s: float = math.nan
    _pruned_t: float = -math.inf

    def __post_init__(self) -> None:
        if self.clock is not None and self.clock not in CLOCKS:
            raise UserError(None, f"clock must be one of {CLOCKS}, got {self.clock!r}")
        if self.clock == "data":
            self.specs = [dataclasses.replace(s, own_time=True)
                          if s.kind != "file" and s.fmt == "sbs" else s for s in self.specs]
        self.decoder = ModeSDecoder(self.receivers)
        self.tracker = make_tracker(self.receivers) if self.use_tracker else None
        for spec in self.specs:
            self.statuses[spec.where] = FeedStatus(
                spec.where, stale_after_s=None if spec.kind == "file" else self.stale_after_s)
        self.live = any(s.kind != "file" for s in self.specs)
        """Receivers on the network: the clock is the wall clock."""
        self.paced = self.live or any(s.speed > 0 for s in self.specs)
        """Something arrives over time: the loop sleeps between steps."""
        self.plot_batches: list[PlotBatch] = []
        self.enrichment_batches: list[ModeSEnrichment] = []
        self.keep_outputs = self.plots_path is not None
        """Keep every batch's plots (and enrichment) for `write_plots`."""

    def sink(self, spec: SourceSpec, items: Items) -> None:
        """Keep what a feed delivered (a FrameBatch or a list of SBS records) for `step`;
        note how far its times are from the wall clock."""
        self._pending.append((spec.where, items))
        status = self.statuses.get(spec.where)
        if status is None or not len(items):
            return
        t = (items.t_s if isinstance(items, FrameBatch)
             else np.fromiter((r["timestamp"] for r in items), float, len(items)))
        t = t[np.isfinite(t)]
        if t.size:
            now = time.time()
            status.clock_offset_s = self._clock_offset_s = float(t.max()) - now
            status.far_from_clock += int((np.abs(t - now) > MAX_CLOCK_OFFSET_S).sum())

    def _decode(self, pending: list[Items]) -> list[DecodeResult]:
        frames = FrameBatch.concat([p for p in pending if isinstance(p, FrameBatch)])
        records = [r for p in pending if not isinstance(p, FrameBatch) for r in p]
        results = []
        if len(frames):
            results.append(self.decoder.decode(frames))
        if records:
            records.sort(key=lambda r: r["timestamp"])
            results.append(self.decoder.process(records))
        return results

    def _decode_isolated(self, pending: list[tuple[str, Items]]) -> list[DecodeResult]:
        """Decode all frames in one batch and all SBS records in another; should one raise
        (input nothing foresaw), decode each of its deliveries alone and drop only those that
        fail, counted (`decode_error`) and shown as their feed's `last_error`: one feed's bad
        input never stops the others.  (Deliveries of a failed batch are decoded again, so
        some of their messages may be counted twice: a rare path, kept simple.)"""
        results: list[DecodeResult] = []
        frames = [(n, p) for n, p in pending if isinstance(p, FrameBatch)]
        records = [(n, p) for n, p in pending if not isinstance(p, FrameBatch)]
        for parts in (frames, records):
            if not parts:
                continue
            try:
                results += self._decode([items for _, items in parts])
                continue
            except Exception:  # isolated below
                log.exception("decoding a batch failed; decoding each feed's part alone")
            for name, items in parts:
                try:
                    results += self._decode([items])
                except Exception as exc:  # dropped, counted
                    self.decoder.counters["decode_error"] += len(items)
                    status = self.statuses.get(name)
                    if status is not None:
                        status.bad["decode_error"] += len(items)
                        status.last_error = (f"decoding failed: {type(exc).__name__}: "
                                             f"{exc}")[:500]
        return results

    def step(self) -> None:
        """Decode what the feeds delivered since the last step and feed the tracker."""
        pending, self._pending = self._pending, []
        for res in self._decode_isolated(pending):
            self.plots += len(res.plots)
            self.enrichment += len(res.enrichment)
            if len(res.plots):
                self._latest_t = max(self._latest_t, float(res.plots.t.max()))
            if res.records:
                self._latest_msg_t = max(self._latest_msg_t,
                                         max(map(itemgetter("timestamp"), res.records)))
            if self.keep_outputs:
                self.plot_batches.append(res.plots)
                self.enrichment_batches.append(res.enrichment)
            use = res.tracker_plots
            if self.tracker is not None and len(use):
                self.tracker.ingest(use)
                self.plots_to_tracker += len(use)
            if self.tracker is not None and len(res.enrichment):
                self.tracker.enrich(res.enrichment)
        if self.tracker is not None and math.isfinite(self._latest_t):
            self.tracker.advance_to(self._latest_t)
        now = self.now_s()
        if now - self._pruned_t >= 60.0:
            self.decoder.aircraft.prune(now, self.prune_after_s)
            self._pruned_t = now

    def now_s(self) -> float:
        """The stream time (see `clock`): the wall clock, or the latest message time (NaN
        before the first with the data clock; without a clock set, the wall clock then)."""
        if self.clock == "wall" or (self.clock is None and self.live):
            return time.time()
        if self.clock == "data":
            return self._latest_msg_t if math.isfinite(self._latest_msg_t) else math.nan
        return self._latest_t if math.isfinite(self._latest_t) else time.time()

    def clock_offset(self) -> tuple[float, int]:
        """(offset, count): the newest delivery's message time minus the wall clock (s, NaN
        before any), and how many messages arrived more than MAX_CLOCK_OFFSET_S from it."""
        return self._clock_offset_s, sum(st.far_from_clock for st in self.statuses.values())

    def clock_problems(self) -> list[str]:
        """With the wall clock: each feed whose latest messages are far from it (data that
        would otherwise be held silently, e.g. a recording replayed into a live service)."""
        if self.clock != "wall":
            return []
        return [f"feed {st.name}: message times {st.clock_offset_s:+.0f} s from the wall "
                f"clock ({st.far_from_clock} messages more than {MAX_CLOCK_OFFSET_S:g} s off)"
                for st in self.statuses.values()
                if abs(st.clock_offset_s) > MAX_CLOCK_OFFSET_S]

    def aircraft(self) -> dict[str, Any]:
        """aircraft.json content now, through the egress gate (tracks and Mode S replies)."""
        now = self.now_s()
        if not math.isfinite(now):  # the data clock before the first message
            now = time.time()
        total = self.decoder.counters["messages"]  # readsb's running total, never decreasing
        if self.tracker is not None and self.decoder.frame is not None:
            return aircraft_json.from_tracks(
                self.tracker.picture(now), self.decoder.aircraft, self.decoder.frame, now,
                self.egress, sensor_kinds={s.id: s.kind for s in receiver_sensors(self.receivers)},
                messages_total=total)
        return aircraft_json.from_states(self.decoder.aircraft, now, self.egress,
                                         messages_total=total)

    def write_plots(self, path: Path) -> int:
        """Every plot of the run (flagged ones included) as a plots.parquet table, through
        the egress gate; the number of rows written."""
        import pyarrow.parquet as pq

        plots = self.egress.plots(PlotBatch.concat(self.plot_batches).sorted_by_time())
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(plots.to_arrow(), path)
        return len(plots)

    def log_status(self) -> None:
        """One log line per feed: state, frames, reconnects; a warning for feeds not up."""
        for st in self.statuses.values():
            state = st.current_state()
            level = logging.INFO if state in HEALTHY_STATES else logging.WARNING
            log.log(level, "feed %s: %s, %d frames, %d reconnects%s", st.name, state,
                    st.frames, st.reconnects, f", last error: {st.last_error}"
                    if st.last_error else "")

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "feeds": [s.to_json() for s in self.statuses.values()],
            "decoder": dict(self.decoder.counters),
            "aircraft": len(self.decoder.aircraft.verified),
            "aircraft_with_position": sum(
                1 for st in self.decoder.aircraft.by_icao.values() if math.isfinite(st.pos_t)),
            "plots": self.plots, "plots_to_tracker": self.plots_to_tracker,
            "enrichment": self.enrichment, "tracker": self.tracker is not None,
        }
        if self.tracker is not None and hasattr(self.tracker, "stats"):
            out["tracker_stats"] = self.tracker.stats()
        return out

    async def run(self, duration_s: float | None = None) -> dict[str, Any]:
        """Run until every file feed is done (and no TCP feed is open) or `duration_s`."""
        tasks = [asyncio.create_task(run_feed(spec, self.sink, self.statuses[spec.where]))
                 for spec in self.specs]
        writer = None
        if self.aircraft_json_path is not None:
            writer = asyncio.create_task(aircraft_json.write_every(
                self.aircraft_json_path, self.aircraft))
        start = last_log = time.monotonic()
        try:
            while True:
                await asyncio.sleep(self.step_s if self.paced else 0)
                self.step()
                if time.monotonic() - last_log >= self.status_log_s:
                    self.log_status()
                    last_log = time.monotonic()
                if duration_s is not None and time.monotonic() - start >= duration_s:
                    break
                if all(t.done() for t in tasks) and not self._pending:
                    break
        finally:
            for task in [*tasks, *([writer] if writer else [])]:
                task.cancel()
            for task in [*tasks, *([writer] if writer else [])]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.step()
        if self.aircraft_json_path is not None:
            aircraft_json.write_atomic(self.aircraft_json_path, self.aircraft())
        stats = self.stats()
        if self.plots_path is not None:
            stats["plots_written"] = self.write_plots(self.plots_path)
        return stats
