"""Fixtures of the service tests: a small deterministic scenario and a fake tracker runtime.

The fake runtime lives here only (tests): one track per aircraft address at its latest plot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.scenario import ScenarioMeta, write_scenario


class FakeRuntime:
    """Implements TrackerRuntime: a track per icao24, placed at its newest processed plot."""

    def __init__(self, sensors: list[Sensor]) -> None:
        self.sensor_ids = np.asarray([s.id for s in sensors], np.int32)
        self.pending: list[PlotBatch] = []
        self.done = PlotBatch.empty()
        self.t_s = -np.inf

    def ingest(self, plots: PlotBatch) -> None:
        self.pending.append(plots)

    def advance_to(self, t_s: float) -> None:
        batch = PlotBatch.concat([self.done, *self.pending])
        self.pending = []
        self.done = batch.sorted_by_time()
        self.t_s = t_s

    def picture(self, t_s: float | None = None) -> TrackTable:
        b = self.done.take(self.done.t <= self.t_s)
        if len(b) == 0:
            return TrackTable.empty(self.sensor_ids)
        ids, last = np.unique(b.icao24[::-1], return_index=True)
        rows = len(b) - 1 - last
        j = np.searchsorted(self.sensor_ids, b.sensor_id)
        seen = np.full((ids.size, self.sensor_ids.size), np.nan)
        k = np.searchsorted(ids, b.icao24)
        seen[k, j] = b.t
        n = ids.size
        return TrackTable(
            track_id=ids.astype(np.int64), t=b.t[rows], x=b.x[rows], y=b.y[rows],
            vx=np.full(n, 100.0), vy=np.zeros(n),
            status=np.full(n, TrackStatus.CONFIRMED, np.int8), alt_ft=b.alt_ft[rows],
            vrate_fpm=np.zeros(n), icao24=ids.astype(np.int64), callsign=b.callsign[rows],
            squawk=b.squawk[rows], sigma_pos_m=np.full(n, 30.0), last_update_t=b.t[rows],
            flags=np.zeros(n, np.uint16), sensor_ids=self.sensor_ids, sensor_last_t=seen)

    def snapshot(self) -> bytes:
        return b""

    def restore(self, state: bytes) -> None:
        raise NotImplementedError

    def observe_scan_period(self, sensor_id: int, period_s: float) -> None:
        self.periods = {**getattr(self, "periods", {}), int(sensor_id): float(period_s)}

    def learned_sensors(self) -> list[dict]:
        return [{"id": int(s), "kind": "ssr", "period_s": getattr(self, "periods", {}).get(
            int(s), 4.0), "pd": 0.9, "sigma_range_m": None, "sigma_azimuth_deg": None,
            "sigma_m": None, "n_plots": 0, "period_source": "prior"} for s in self.sensor_ids]


def small_meta() -> ScenarioMeta:
    sensors = [Sensor(id=1, kind="ssr", x=0.0, y=0.0, period_s=4.0, max_range_m=200_000.0,
                      name="radar"),
               Sensor(id=2, kind="adsb", period_s=1.0, name="adsb")]
    return ScenarioMeta(name="small", seed=1, origin_lat_deg=48.85, origin_lon_deg=2.35,
                        duration_s=60.0, sensors=sensors)


def small_plots(duration_s: float = 60.0) -> PlotBatch:
    """Three aircraft flying east at 100 m/s; ADS-B every second, the radar every 4 s
    (aircraft 3 is seen by the radar only)."""
    t = np.arange(0.0, duration_s, 1.0)
    rows = []
    for k, (y0, icao, cs, sq, alt) in enumerate([(0.0, 0x3C0001, "AFR1", 0o1000, 35000.0),
                                                 (20_000.0, 0x3C0002, "DLH2", 0o2000, 12000.0),
                                                 (-20_000.0, 0x3C0003, "", 0o7000, 5000.0)]):
        for ti in t:
            for sid, period in ((1, 4.0), (2, 1.0)):
                if ti % period or (sid == 2 and k == 2):
                    continue
                rows.append((ti, sid, -30_000.0 + 100.0 * ti, y0, icao, cs, sq, alt))
    cols = list(zip(*rows, strict=True))
    n = len(rows)
    return PlotBatch.create(t=cols[0], sensor_id=cols[1], x=cols[2], y=cols[3],
                            var_x=np.full(n, 900.0), var_y=np.full(n, 900.0),
                            cov_xy=np.zeros(n), icao24=cols[4],
                            callsign=np.asarray(cols[5], object), squawk=cols[6], alt_ft=cols[7])


@pytest.fixture
def small_scenario(tmp_path: Path) -> Path:
    meta = small_meta()
    plots = small_plots(meta.duration_s)
    truth = pa.table({"t": [0.0], "target_id": [1], "x": [0.0], "y": [0.0], "vx": [0.0],
                      "vy": [0.0]})
    return write_scenario(tmp_path / "small", meta, truth, plots, np.full(len(plots), -1))
