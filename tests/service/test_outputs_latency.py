"""The CAT062 latency benchmark's measuring code (service/bench_latency.py), at small size."""

from __future__ import annotations

import numpy as np
import pytest

from airpicture.core.geo import LocalFrame
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.asterix import cat065
from airpicture.io.asterix.cat062 import Cat062Encoder
from airpicture.service.bench_latency import (
    LiveAdsbSource,
    Tick,
    latencies,
    measure,
    receipts,
    tod_key,
)
from tests.service.conftest import FakeRuntime


def tracks_of(icao24: list[int], t_s: float) -> TrackTable:
    n = len(icao24)
    z = np.zeros(n)
    return TrackTable(
        track_id=np.arange(n, dtype=np.int64), t=z + t_s, x=z, y=z, vx=z, vy=z,
        status=np.full(n, TrackStatus.CONFIRMED, np.int8), alt_ft=z, vrate_fpm=z,
        icao24=np.asarray(icao24, np.int64), callsign=np.full(n, "", object),
        squawk=np.full(n, -1, np.int16), sigma_pos_m=z, last_update_t=z + t_s,
        flags=np.zeros(n, np.uint16), sensor_ids=np.zeros(0, np.int32),
        sensor_last_t=np.zeros((n, 0)))


def test_receipts_and_latencies_from_known_datagrams() -> None:
    enc = Cat062Encoder(LocalFrame(48.85, 2.35))
    t1, t2 = 1_700_000_000.25, 1_700_000_001.25
    datagrams = [
        (t1 + 0.010, enc.block(tracks_of([0xA, 0xB], t1))),
        (t1 + 0.020, enc.block(tracks_of([0xC], t1))),
        (t1 + 0.021, cat065.end_of_batch(0, 1, 1, t1)),
        (t2 + 0.050, enc.block(tracks_of([0xA], t2))),
        (t2 + 0.051, cat065.end_of_batch(0, 1, 1, t2)),
    ]
    got = receipts(datagrams)
    assert got.cycles == {tod_key(t1): {0xA: t1 + 0.010, 0xB: t1 + 0.010, 0xC: t1 + 0.020},
                          tod_key(t2): {0xA: t2 + 0.050}}
    ticks = [Tick(t1, np.asarray([0xA, 0xC, 0xD]), np.asarray([t1 - 0.5, t1 - 0.1, t1])),
             Tick(t2, np.asarray([0xA, 0xB]), np.asarray([t2 - 0.9, t2 - 0.2])),
             Tick(t2 + 1.0, np.asarray([0xA]), np.asarray([t2]))]
    total, processing, counts = latencies(ticks, got)
    np.testing.assert_allclose(total, [0.51, 0.12, 0.95], atol=1e-6)
    np.testing.assert_allclose(processing, [0.010, 0.020, 0.050], atol=1e-6)
    assert counts == {"plots_measured": 3, "plots_not_in_cycle": 2, "plots_cycle_missing": 1}


def test_live_source_sends_one_plot_per_aircraft_per_second() -> None:
    src = LiveAdsbSource(50, lambda meta: FakeRuntime(meta.sensors))
    plots = src._plots(src.t0_s + 10.0, src.t0_s + 13.0)
    assert len(plots) == 150 and np.all(np.bincount(plots.icao24 - 0x3C0000) == 3)
    assert plots.t.min() > src.t0_s + 10.0 and plots.t.max() <= src.t0_s + 13.0


@pytest.mark.slow  # ~5 s: two seconds of real-time ticks and a receiver process
def test_measure_through_the_real_pipeline_at_small_size() -> None:
    m = measure(30, seconds=1.5, warmup_s=0.5, factory=lambda meta: FakeRuntime(meta.sensors))
    total, processing = m["total_s"], m["processing_s"]
    assert m["counts"]["plots_measured"] >= 15 and m["errors"] == 0
    assert np.all(processing > 0) and np.all(total >= processing - 1e-9)
    assert np.all(total < 2.0)  # at most a tick of waiting plus the processing
