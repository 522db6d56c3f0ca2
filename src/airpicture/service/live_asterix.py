"""Live ASTERIX (CAT048, CAT021, CAT034) on UDP URLs into the tracker, on the wall or the data
clock (`[input] clock`).

Every URL has its own socket, all in one background thread (its own asyncio loop); a URL that
cannot be bound is reported `failed` and the others keep running.

- clock "wall": the picture is at the wall clock (Unix seconds).  Plots more than
  WALL_CLOCK_TOLERANCE_S from it (a recording replayed at 10x, a radar with a wrong clock) are
  counted and reported by `problems()` (health `degraded`, with the offset); those ahead are
  dropped, since the tracker would hold them until the wall clock reached them.
- clock "data": each datagram's times of day are resolved near the newest data time (not the
  receive time), the stream time is the newest data time (plots and CAT034), never going
  backwards, and the pipeline ticks on that clock's grid (`data_time_s`), so a recording
  replayed at 10x is tracked exactly as at 1x.

CAT034 north markers give each radar's measured scan period, handed to the tracker every step
(`observe_scan_period`) and shown beside the configured one in /api/sensors.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackTable
from airpicture.io.scenario import ScenarioMeta, read_meta
from airpicture.tracker.runtime import TrackerRuntime

WALL_CLOCK_TOLERANCE_S = 10.0
"""With clock "wall": plots further than this from the wall clock are off the clock."""
CLOCK_REPORT_WINDOW_S = 60.0
"""An off-clock plot keeps the source's health degraded for this long (wall seconds)."""
CLOCKS = ("wall", "data")
STARTUP_MAX_S = 30.0
"""With an ASTERIX JSON configuration (no scan periods in it), the tracker starts once every
radar's CAT034 gave its scan period, or after this many seconds of data without."""
LATE_WINDOW_S = 0.0
"""The tracker's own late window for live ASTERIX: none (its fixed 4 s default, made for
ADS-B / MLAT network feeds, made the picture lag 4 s).  The source holds the tracker's
processing back by the lateness it measures instead (`hold_back_s`): with data in time
order the live picture is the tracker's, with no lag."""
MAX_HOLD_BACK_S = 4.0
"""The most the tracker's processing is held behind the stream time (the tracker's default
late window): reports later than that are dropped by the tracker and counted."""


def asterix_sensors(cfg: Any) -> list[Sensor]:
    """Tracker sensors for an ASTERIX configuration: each radar's PSR / SSR ids, each ADS-B.

    A radar's scan period is not in the configuration: it comes from the radar's CAT034
    north markers (`AsterixSource._start_tracker`).  Nor is its detection probability: the
    tracker's guess for an unknown sensor, not the Sensor default of 1 (which has the tracker
    delete a track after very few missed scans)."""
    from airpicture.tracker.config import TrackerConfig

    unknown_pd = TrackerConfig().pd_of(-1)
    out: dict[int, Sensor] = {}
    for r in cfg.radars.values():
        x, y, _ = cfg.frame.to_enu(r.lat_deg, r.lon_deg)
        for sid, kind in ((r.psr_sensor_id, "psr"), (r.ssr_sensor_id, "ssr")):
            if sid > 0:
                out[sid] = Sensor(id=sid, kind=kind, x=float(x), y=float(y), pd=unknown_pd,
                                  sigma_range_m=r.sigma_range_m,
                                  sigma_azimuth_deg=r.sigma_azimuth_deg,
                                  name=r.name or f"radar {r.sac}/{r.sic}")
    for a in cfg.adsb.values():
        out[a.sensor_id] = Sensor(id=a.sensor_id, kind="adsb", period_s=1.0, pd=unknown_pd,
                                  sigma_m=a.sigma_m,
                                  name=f"ADS-B {a.sac}/{a.sic}")
    return [out[k] for k in sorted(out)]


def asterix_config(path: Path) -> tuple[Any, list[Sensor]]:
    """An ASTERIX receiving configuration: a JSON file (docs/asterix.md), or a scenario folder
    whose sensors are the sources (SAC 0, SIC = sensor id), as `airpicture asterix emit` sends.

    Plot times are Unix seconds (t0_utc_s = 0)."""
    from airpicture.io.asterix.config import AsterixConfig

    if path.is_dir():
        meta = read_meta(path)
        return AsterixConfig.from_scenario(meta, t0_utc_s=0.0), meta.sensors
    cfg = AsterixConfig.from_json(path)
    cfg.t0_utc_s = 0.0
    return cfg, asterix_sensors(cfg)


@dataclass
class UdpFeedStatus:
    """One UDP URL's listener: state (starting, listening, failed), what it received."""

    name: str
    state: str = "starting"
    datagrams: int = 0
    bytes: int = 0
    decode_errors: int = 0
    last_error: str = ""
    last_datagram_wall_s: float = math.nan

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["frames"] = self.datagrams  # the name /metrics' airpicture_feed_frames reads
        out["last_datagram_wall_s"] = (None if math.isnan(self.last_datagram_wall_s)
                                       else self.last_datagram_wall_s)
        return out


def _jsonable(value: Any) -> Any:
    """A learned-sensor record (dict, dataclass or object with to_json) as plain JSON."""
    if hasattr(value, "to_json"):
        value = value.to_json()
    elif is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def learned_by_sensor(learned: Any) -> dict[int, dict[str, Any]]:
    """The tracker's `learned_sensors()` (a dict by sensor id, or a list of records with
    `sensor_id` / `id`) as {sensor id: JSON record}."""
    if isinstance(learned, dict):
        items = list(learned.items())
    else:
        items = []
        for rec in learned or []:
            obj = _jsonable(rec)
            sid = obj.get("sensor_id", obj.get("id")) if isinstance(obj, dict) else None
            if sid is not None:
                items.append((sid, obj))
    out: dict[int, dict[str, Any]] = {}
    for sid, rec in items:
        obj = _jsonable(rec)
        out[int(sid)] = obj if isinstance(obj, dict) else {"value": obj}
    return out


class AsterixSource:
    """Live ASTERIX (CAT048, CAT021, CAT034) on UDP URLs, decoded and tracked each tick."""

    def __init__(self, urls: list[str], config_path: Path,
                 factory: Callable[[ScenarioMeta], TrackerRuntime] | None = None,
                 clock: str = "wall", rcvbuf_bytes: int | None = None) -> None:
        from airpicture.io.asterix.decoder import AsterixDecoder
        from airpicture.io.asterix.transport import DEFAULT_RCVBUF_BYTES
        from airpicture.service.sources import default_runtime

        if not urls:
            raise UserError(None, "input.kind 'asterix' needs input.sources (udp://HOST:PORT)")
        if clock not in CLOCKS:
            raise UserError(None, f"input.clock must be 'wall' or 'data', not {clock!r}")
        cfg, sensors = asterix_config(Path(config_path))
        self.urls = list(urls)
        self.clock = clock
        self.rcvbuf_bytes = rcvbuf_bytes or DEFAULT_RCVBUF_BYTES
        """Kernel receive buffer asked for each UDP socket (granted size in /api/feeds)."""
        self.config = cfg
        self.decoder = AsterixDecoder(cfg)
        from airpicture.service.sources import TRACKER_SETTINGS_KEY

        tracker = {"late_window_s": LATE_WINDOW_S}
        self.meta = ScenarioMeta(name="live ASTERIX", seed=0,
                                 origin_lat_deg=cfg.frame.lat0_deg,
                                 origin_lon_deg=cfg.frame.lon0_deg, duration_s=0.0,
                                 sensors=sensors, extra={TRACKER_SETTINGS_KEY: tracker})
        self._factory = factory or default_runtime
        self.radar_sensor_ids = sorted({i for r in cfg.radars.values()
                                        for i in (r.psr_sensor_id, r.ssr_sensor_id)} - {0})
        self.runtime: TrackerRuntime | None = None
        """The tracker: built at once for a scenario folder (its sensors have their periods),
        else once the radars' CAT034 gave their scan periods (`_start_tracker`)."""
        if Path(config_path).is_dir():
            self.runtime = self._factory(self.meta)
        self._held: list[PlotBatch] = []
        self._first_data_s = math.nan
        self.picture_t_s = float("nan")
        self.ready = threading.Event()
        """Set once every URL is bound or has failed."""
        self.statuses = {u: UdpFeedStatus(u) for u in self.urls}
        self.counts: Counter[str] = Counter()
        """Clock figures: plots off the wall clock, dropped ahead of it, data clock jumps."""
        self.scan_periods_s: dict[int, float] = {}
        """Sensor id -> scan period measured from its radar's CAT034 (north markers)."""
        self.wall_offset_s = math.nan
        """With clock "wall": the median offset (data - wall) of the last off-clock plots."""
        self._off_clock_wall_s = -math.inf
        self._data_now_s = math.nan
        self.hold_back_s = 0.0
        """The largest lateness seen (s, at most MAX_HOLD_BACK_S): how far behind the stream
        clock (the newest data time, or the wall clock) a report arrived.  The tracker
        processes up to the stream time less this, so late reports still find their slice;
        the picture is at the stream time."""
        self._pending: list[PlotBatch] = []
        self._lock = threading.Lock()
        self._decode_lock = threading.Lock()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # --- listening (background thread) ---------------------------------------------------
    def start(self) -> None:
        """Listen in a background thread (its own event loop); `ready` once bound or failed."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()),
                                        name="asterix", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Close every socket and end the listening thread (waits at most timeout_s)."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nothing to stop
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout_s)

    async def _listen(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        readies = [asyncio.Event() for _ in self.urls]
        tasks = [asyncio.create_task(self._listen_one(u, r))
                 for u, r in zip(self.urls, readies, strict=True)]
        await asyncio.gather(*(r.wait() for r in readies))
        self.ready.set()
        await asyncio.gather(*tasks)

    async def _listen_one(self, url: str, ready: asyncio.Event) -> None:
        """One URL's socket; a failure is this URL's state, never the other URLs'."""
        from airpicture.io.asterix.transport import UdpStats, listen_udp

        status = self.statuses[url]
        stats = self.decoder.udp_stats.setdefault(url, UdpStats(url))
        bound = asyncio.Event()
        watcher = asyncio.create_task(bound.wait())
        assert self._stop is not None
        try:
            listening = asyncio.create_task(listen_udp(
                url, lambda t, d: self.on_datagram(status, t, d), self._stop, bound,
                stats=stats, rcvbuf_bytes=self.rcvbuf_bytes))
            await asyncio.wait({watcher, listening}, return_when=asyncio.FIRST_COMPLETED)
            if bound.is_set():
                status.state = "listening"
                ready.set()
            await listening
        except Exception as exc:  # bad URL, bind failure: this URL fails, the others run on
            status.state, status.last_error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            watcher.cancel()
            ready.set()

    def on_datagram(self, status: UdpFeedStatus, t_recv_s: float, data: bytes) -> None:
        """Decode one datagram (never raises): its plots wait for the next step; with clock
        "data" its times are resolved near the newest data time and move the data clock."""
        status.datagrams += 1
        status.bytes += len(data)
        status.last_datagram_wall_s = t_recv_s
        data_clock = self.clock == "data" and math.isfinite(self._data_now_s)
        ref_s = self._data_now_s if data_clock else t_recv_s
        try:
            with self._decode_lock:
                result = self.decoder.decode([(ref_s, data)])
        except Exception as exc:  # a decoder bug must not stop the listener; counted
            status.decode_errors += 1
            status.last_error = f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            if len(result.plots):
                self._pending.append(result.plots)
            self._advance_data_clock(result, ref_s)

    def _advance_data_clock(self, result: Any, ref_s: float) -> None:
        """Move the data clock to the datagram's median time (plots and CAT034 messages;
        the median, so one bad record cannot throw the clock far ahead); never backwards.
        The stream follows it with clock "data" only."""
        from airpicture.io.asterix.decoder import resolve_tod

        times = [result.plots.t[np.isfinite(result.plots.t)]]
        tods = [m.tod_s for m in result.service if np.isfinite(m.tod_s)]
        if tods:
            times.append(resolve_tod(np.asarray(tods, float), ref_s))
        t = np.concatenate(times)
        if t.size == 0:
            return
        newest = float(np.median(t))
        clock_s = self._data_now_s if self.clock == "data" else ref_s
        near = t[np.abs(t - clock_s) <= WALL_CLOCK_TOLERANCE_S]  # off-clock data: counted
        late_s = clock_s - float(near.min()) if near.size else math.nan
        if late_s > self.hold_back_s:
            self.hold_back_s = min(late_s, MAX_HOLD_BACK_S)
        if math.isnan(self._first_data_s):
            self._first_data_s = newest
        if math.isnan(self._data_now_s) or newest > self._data_now_s:
            if newest - self._data_now_s > WALL_CLOCK_TOLERANCE_S * 6:
                self.counts["data_clock_jumps"] += 1
            self._data_now_s = newest

    # --- the service's side (pipeline thread) --------------------------------------------
    def data_time_s(self) -> float:
        """The stream clock (Unix s; NaN before any data): with clock "data" the newest data
        time, with clock "wall" the wall clock."""
        return self._data_now_s if self.clock == "data" else time.time()

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        """Track what arrived; the picture at the wall clock (clock "wall") or at t_s on the
        data clock (clock "data": t_s from the pipeline's data-clock grid, held within the
        data seen so far and never earlier than the last picture)."""
        with self._lock:
            plots, self._pending = PlotBatch.concat(self._pending), []
        self._observe_scan_periods()
        if self.clock == "wall":
            t = time.time()
            plots = self._check_wall_clock(plots, t)
        else:
            now = self.data_time_s()
            t = t_s if math.isfinite(t_s) and t_s <= now else now
            if math.isfinite(self.picture_t_s):
                t = max(t, self.picture_t_s)
        runtime = self.runtime
        if runtime is None:  # waiting for the radars' scan periods: plots held
            self._held.append(plots)
            runtime = self._start_tracker()
            if runtime is None:
                if math.isfinite(t):
                    self.picture_t_s = t
                return TrackTable.empty([s.id for s in self.meta.sensors]), plots
            held, self._held = PlotBatch.concat(self._held), []
            runtime.ingest(held)
        elif len(plots):
            runtime.ingest(plots)
        if not math.isfinite(t):  # clock "data" before any data
            return TrackTable.empty([s.id for s in self.meta.sensors]), plots
        self.picture_t_s = t
        runtime.advance_to(t - self.hold_back_s)
        return runtime.picture(t), plots

    def _start_tracker(self) -> TrackerRuntime | None:
        """Build the tracker once every radar has a CAT034 scan period (or STARTUP_MAX_S of
        data passed without), its sensors with the measured periods: the tracker's first
        scans then use the real ones, not the 4 s default."""
        span_s = self._data_now_s - self._first_data_s
        known = all(sid in self.scan_periods_s for sid in self.radar_sensor_ids)
        if not (known or span_s >= STARTUP_MAX_S):
            return None
        sensors = [replace(s, period_s=self.scan_periods_s.get(s.id, s.period_s))
                   for s in self.meta.sensors]
        self.runtime = self._factory(replace(self.meta, sensors=sensors))
        self.counts["tracker_started_after_data_s"] = int(span_s) if span_s == span_s else 0
        self._observe_scan_periods()
        return self.runtime

    def _check_wall_clock(self, plots: PlotBatch, wall_s: float) -> PlotBatch:
        """Count plots far from the wall clock; drop those ahead of it (see the module)."""
        if not len(plots):
            return plots
        offset = plots.t - wall_s
        far = np.abs(offset) > WALL_CLOCK_TOLERANCE_S
        if not far.any():
            return plots
        self.counts["plots_off_wall_clock"] += int(far.sum())
        self.wall_offset_s = float(np.median(offset[far]))
        self._off_clock_wall_s = wall_s
        ahead = offset > WALL_CLOCK_TOLERANCE_S
        self.counts["plots_dropped:ahead_of_wall_clock"] += int(ahead.sum())
        return plots.take(~ahead) if ahead.any() else plots

    def _observe_scan_periods(self) -> None:
        """Hand each radar's CAT034 scan period to the tracker (`observe_scan_period`, when
        the runtime has it) under the radar's sensor ids."""
        with self._decode_lock:
            by_sensor = self.decoder.scan_periods()
        observe = getattr(self.runtime, "observe_scan_period", None)
        for sid, period_s in by_sensor.items():
            if np.isfinite(period_s) and period_s > 0:
                self.scan_periods_s[sid] = float(period_s)
                if observe is not None:
                    observe(sid, float(period_s))

    def learned_sensors(self) -> dict[int, dict[str, Any]]:
        """Per sensor id: what the tracker learned (`learned_sensors()`, when it has it) and
        the CAT034 scan period (`cat034_period_s`)."""
        learned_fn = getattr(self.runtime, "learned_sensors", None)
        out = learned_by_sensor(learned_fn()) if learned_fn is not None else {}
        for sid, period_s in self.scan_periods_s.items():
            rec = out.setdefault(sid, {})
            rec["cat034_period_s"] = period_s
            rec.setdefault("period_s", period_s)
            rec.setdefault("period_source", "cat034")
        return out

    def feeds(self) -> dict[str, Any]:
        """Each UDP URL's state, datagrams and bytes, and the decoder's and the clock's
        counters (rejected blocks by kind, plots off the wall clock, ...)."""
        decoder = dict(self.decoder.counts)
        decoder.update(self.counts)
        stats = getattr(self.runtime, "stats", None)
        if stats is not None:  # plots the tracker dropped as later than its late window
            decoder["tracker_plots_late"] = int(stats().get("plots_late", 0))
        feeds = []
        for url, st in self.statuses.items():
            rec = st.to_json()
            udp = self.decoder.udp_stats.get(url)
            if udp is not None:  # kernel drops, receive buffer granted
                rec.update({k: v for k, v in udp.to_json().items() if k not in rec})
            feeds.append(rec)
        return {"feeds": feeds, "decoder": decoder, "clock": self.clock,
                "clock_hold_back_s": self.hold_back_s}

    def problems(self) -> list[str]:
        """Health problems: data off the wall clock (clock "wall") within the last minute;
        the decoder's (radars silent for 3 scans on the stream clock, CAT034 problems,
        kernel drops)."""
        now_s = self.picture_t_s if math.isfinite(self.picture_t_s) else None
        with self._decode_lock:
            out = list(self.decoder.problems(now_s))
        if (self.clock == "wall"
                and time.time() - self._off_clock_wall_s <= CLOCK_REPORT_WINDOW_S):
            off = self.wall_offset_s
            out.append(
                f"ASTERIX data {abs(off):.0f} s {'ahead of' if off > 0 else 'behind'} the "
                f"wall clock ({self.counts['plots_off_wall_clock']} plots off the clock so "
                f"far; [input] clock = \"data\" tracks recorded or replayed data)")
        return out
