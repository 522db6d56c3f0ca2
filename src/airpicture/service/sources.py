"""Where the service's pictures come from, one step per tick of stream time.

`TrackerSource` replays a scenario's plots by arrival time into a TrackerRuntime;
`RecordingSource` replays a recording's track states; `PatternSource` is a synthetic test
pattern of n tracks on circles (benchmarks and browser tests, never a tracker).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.scenario import ScenarioMeta, read_meta, read_plots
from airpicture.tracker.runtime import TrackerRuntime

RuntimeFactory = Callable[[ScenarioMeta], TrackerRuntime]


class PictureSource(Protocol):
    """Gives the picture and the plots that arrived up to stream time t_s."""

    meta: ScenarioMeta

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]: ...


TRACKER_SETTINGS_KEY = "tracker"
"""A source's `meta.extra[TRACKER_SETTINGS_KEY]`: tracker settings its input needs (e.g. a
shorter late window for in-order ASTERIX on the data clock), applied by `default_runtime`."""


def default_runtime(meta: ScenarioMeta) -> TrackerRuntime:
    """The in-process tracker with defaults for the scenario's sensor mix, and the settings
    the source asks for (`meta.extra["tracker"]`)."""
    from airpicture.tracker.config import TrackerConfig
    from airpicture.tracker.stream import InProcessTracker

    config = TrackerConfig.for_scenario(meta)
    settings = meta.extra.get(TRACKER_SETTINGS_KEY)
    if isinstance(settings, dict) and settings:
        config = config.with_overrides(settings, f"{meta.name} tracker settings")
    runtime: TrackerRuntime = InProcessTracker(meta.sensors, config)
    return runtime


def _shift(plots: PlotBatch, offset_s: float) -> PlotBatch:
    """The same plots, offset_s later (a scenario replayed in a loop keeps time increasing)."""
    if offset_s == 0.0:
        return plots
    return replace(plots, t=plots.t + offset_s, t_arrival=plots.t_arrival + offset_s)


class TrackerSource:
    """A scenario's plots fed to a tracker as the clock passes their arrival time."""

    def __init__(self, meta: ScenarioMeta, plots: PlotBatch, runtime: TrackerRuntime,
                 loop: bool = True) -> None:
        arrival = np.where(np.isfinite(plots.t_arrival), plots.t_arrival, plots.t)
        order = np.argsort(arrival, kind="stable")
        self.meta = meta
        self.plots = plots.take(order)
        self.arrival_s = arrival[order]
        self.runtime = runtime
        self.loop = loop
        self.period_s = max(float(meta.duration_s), float(self.arrival_s[-1]) if len(plots)
                            else 0.0, 1.0)
        self._offset_s = 0.0
        self._cursor = 0

    @classmethod
    def from_folder(cls, folder: Path, factory: RuntimeFactory = default_runtime,
                    loop: bool = True) -> TrackerSource:
        meta = read_meta(folder)
        return cls(meta, read_plots(folder, meta), factory(meta), loop)

    def start_at(self, t_s: float) -> None:
        """Replay from the start with scenario time 0 at stream time t_s."""
        self._offset_s = t_s
        self._cursor = 0

    def _take_until(self, t_s: float) -> PlotBatch:
        """Plots arrived by t_s, wrapping to the start (one period later) when looping."""
        batches: list[PlotBatch] = []
        while True:
            local = t_s - self._offset_s
            end = int(np.searchsorted(self.arrival_s, local, side="right"))
            if end > self._cursor:
                chunk = self.plots.take(np.arange(self._cursor, end))
                batches.append(_shift(chunk, self._offset_s))
                self._cursor = end
            if not self.loop or local < self.period_s:
                break
            self._offset_s += self.period_s
            self._cursor = 0
        return PlotBatch.concat(batches)

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        plots = self._take_until(t_s)
        if len(plots):
            self.runtime.ingest(plots)
        self.runtime.advance_to(t_s)
        return self.runtime.picture(t_s), plots


def pattern_meta(n_sensors: int = 3) -> ScenarioMeta:
    """A small scenario description around Paris for the test pattern."""
    kinds = ["psr", "ssr", "adsb", "mlat"]
    sensors = [Sensor(id=i + 1, kind=kinds[i % 4], x=20_000.0 * i, y=-10_000.0 * i,
                      max_range_m=150_000.0, name=f"{kinds[i % 4]}-{i + 1}")
               for i in range(n_sensors)]
    return ScenarioMeta(name="pattern", seed=0, origin_lat_deg=48.85, origin_lon_deg=2.35,
                        duration_s=3600.0, sensors=sensors)


class PatternSource:
    """n synthetic tracks on concentric circles; track i is seen by sensor i mod m."""

    def __init__(self, n_tracks: int, meta: ScenarioMeta | None = None,
                 radius_m: float = 100_000.0, speed_mps: float = 200.0) -> None:
        self.meta = meta or pattern_meta()
        self.n = n_tracks
        i = np.arange(n_tracks)
        self.radius_m = radius_m * (0.2 + 0.8 * (i + 1) / max(n_tracks, 1))
        self.phase = i * 2.399963  # golden angle: tracks spread around the circle
        self.omega = speed_mps / self.radius_m
        self.sensor_ids = np.asarray([s.id for s in self.meta.sensors], np.int32)

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        n = self.n
        a = self.phase + self.omega * t_s
        i = np.arange(n)
        last = np.full((n, self.sensor_ids.size), np.nan)
        if self.sensor_ids.size:
            last[i, i % self.sensor_ids.size] = t_s
        tracks = TrackTable(
            track_id=i.astype(np.int64) + 1, t=np.full(n, t_s),
            x=self.radius_m * np.cos(a), y=self.radius_m * np.sin(a),
            vx=-self.radius_m * self.omega * np.sin(a), vy=self.radius_m * self.omega * np.cos(a),
            status=np.full(n, TrackStatus.CONFIRMED, np.int8),
            alt_ft=(1000.0 * (i % 40) + 2000.0).astype(np.float64), vrate_fpm=np.zeros(n),
            icao24=0x3C0000 + i.astype(np.int64), callsign=np.asarray(
                [f"TST{k:04d}" for k in range(n)], object),
            squawk=(i % 0o7777).astype(np.int16), sigma_pos_m=np.full(n, 50.0),
            last_update_t=np.full(n, t_s), flags=np.zeros(n, np.uint16),
            sensor_ids=self.sensor_ids, sensor_last_t=last,
        )
        return tracks, PlotBatch.empty()
