"""Live feeds as picture sources, each listening in its own thread (own asyncio loop):
Mode S / ADS-B through airpicture.sources' Ingest, and ASTERIX over UDP through
airpicture.io.asterix; decoded and tracked at each tick of the service's clock.

The picture time is the feeds' clock (`Ingest.now_s`: the wall clock for network feeds, the
latest message time for replayed files), so sensor status and history stay in one time base.
"""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.scenario import ScenarioMeta


class ModeSSource:
    """Feeds (tcp://HOST:PORT, tcp-listen://:PORT or files) heard by receivers NAME:LAT:LON.

    Source i is heard by receiver min(i, number of receivers - 1).  `clock` (Ingest.clock):
    "data" follows the messages' own times, "wall" the wall clock (messages far from it are
    reported by `problems`), None the wall clock with network feeds and the messages' times
    with files only.  A network feed silent for `stale_after_s` is `stale`.
    """

    def __init__(self, sources: list[str], receivers: list[str], fmt: str | None = None,
                 speed: float = 0.0, stale_after_s: float = 30.0,
                 clock: str | None = None) -> None:
        from airpicture.sources.ingest import Ingest, parse_receiver, receiver_sensors
        from airpicture.sources.transports import parse_source

        if not sources or not receivers:
            raise UserError(None, "input.kind 'modes' needs input.sources and input.receivers")
        recs = [parse_receiver(r, i) for i, r in enumerate(receivers)]
        specs = [parse_source(s, fmt, receiver=min(i, len(recs) - 1), speed=speed)
                 for i, s in enumerate(sources)]
        self.ingest: Any = Ingest(specs, recs, use_tracker=True, stale_after_s=stale_after_s,
                                  clock=clock)
        if self.ingest.tracker is None:
            raise UserError(None, "the tracker (airpicture.tracker.stream) is not available")
        self.ingest.keep_outputs = True  # hand each step's plots to the service, then drop them
        self.meta = ScenarioMeta(name="live Mode S", seed=0, origin_lat_deg=recs[0].lat_deg,
                                 origin_lon_deg=recs[0].lon_deg, duration_s=0.0,
                                 sensors=receiver_sensors(recs))
        self.picture_t_s = float("nan")
        self._thread: threading.Thread | None = None
        self.feeds_done = threading.Event()
        self.state_lock = threading.Lock()
        """Held while a step changes the per-aircraft Mode S state and while it is read."""

    def start(self) -> None:
        """Run the feeds in a background thread (its own event loop)."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._feeds()),
                                        name="modes-feeds", daemon=True)
        self._thread.start()

    async def _feeds(self) -> None:
        from airpicture.sources.transports import run_feed

        ing = self.ingest
        # run_feed never raises (each feed is isolated and restarted); return_exceptions keeps
        # one feed's surprise from ending the others all the same.
        await asyncio.gather(*(run_feed(spec, ing.sink, ing.statuses[spec.where])
                               for spec in ing.specs), return_exceptions=True)
        self.feeds_done.set()

    def mode_s_states(self) -> tuple[Any, threading.Lock]:
        """The per-aircraft Mode S state (airpicture.sources.state.AircraftStates) and the
        lock to hold while reading it: aircraft.json lists Mode S-only aircraft from it."""
        return self.ingest.decoder.aircraft, self.state_lock

    def feeds(self) -> dict[str, Any]:
        """Each feed's state (up, down and retrying, ...) and the decoder's counters, bad
        frames by kind included: for /api/feeds, /api/health and /metrics."""
        ing = self.ingest
        counters = dict(ing.decoder.counters)
        for st in list(ing.statuses.values()):
            for kind, n in st.bad.items():
                counters[f"bad_{kind}"] = counters.get(f"bad_{kind}", 0) + n
        return {"feeds": [st.to_json() for st in list(ing.statuses.values())],
                "decoder": counters}

    def problems(self) -> list[str]:
        """Health problems beyond the feed states of `feeds` (which /api/health reads
        already): with the wall clock, feeds whose message times are far from it; the feeds'
        thread gone while some feed should still be running."""
        out = list(self.ingest.clock_problems())
        running = [st.name for st in self.ingest.statuses.values()
                   if st.state not in ("done", "failed")]
        if self._thread is not None and not self._thread.is_alive() and running:
            out.append(f"the Mode S feeds' thread has ended; not running: {', '.join(running)}")
        return out

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        """Decode and track what arrived; the picture at the feeds' clock (with the data
        clock and no message yet: at `t_s`, empty)."""
        ing = self.ingest
        with self.state_lock:
            ing.step()
        plots = PlotBatch.concat(ing.plot_batches)
        ing.plot_batches.clear()
        ing.enrichment_batches.clear()
        now = float(ing.now_s())
        self.picture_t_s = now
        return ing.tracker.picture(now if math.isfinite(now) else t_s), plots


# ASTERIX over UDP lives in its own module; imported here for the names the service uses.
from airpicture.service.live_asterix import (  # noqa: E402
    AsterixSource,
    asterix_config,
    asterix_sensors,
)

__all__ = ["AsterixSource", "ModeSSource", "asterix_config", "asterix_sensors"]
