"""Item 3 of issue 15: Mode S identity confirms a track fast; a track predicted outside every
sensor's coverage ends within one expected update."""

from __future__ import annotations

import numpy as np

from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackStatus
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.run import feed
from airpicture.tracker.stream import InProcessTracker

SSR = Sensor(id=1, kind="ssr", period_s=4.0, pd=0.9)
ADSB = Sensor(id=2, kind="adsb", period_s=1.0, pd=0.9)


def _plots(t: list[float], x: list[float], sensor: list[int], icao: list[int]) -> PlotBatch:
    return PlotBatch.create(t=t, sensor_id=sensor, x=x, y=[0.0] * len(t), var_x=900.0,
                            var_y=900.0, cov_xy=0.0, icao24=icao)


def _status_after(trk: InProcessTracker, plots: PlotBatch) -> np.ndarray:
    trk.ingest(plots)
    trk.flush()
    return trk.picture().status


def test_two_scans_of_one_mode_s_address_confirm_a_track() -> None:
    plots = _plots([0.0, 4.0], [0.0, 800.0], [1, 1], [0xABC, 0xABC])
    assert _status_after(InProcessTracker([SSR]), plots).tolist() == [TrackStatus.CONFIRMED]
    off = InProcessTracker([SSR], TrackerConfig(confirm_on_identity_pair=False))
    assert _status_after(off, plots).tolist() == [TrackStatus.TENTATIVE]
    # Anonymous plots (primary, Mode A/C) still need the usual hits.
    anon = _plots([0.0, 4.0], [0.0, 800.0], [1, 1], [0, 0])
    assert _status_after(InProcessTracker([SSR]), anon).tolist() == [TrackStatus.TENTATIVE]


def test_two_sensors_agreeing_on_an_address_confirm_a_track() -> None:
    plots = _plots([0.0, 0.6], [0.0, 120.0], [1, 2], [0xABC, 0xABC])
    assert _status_after(InProcessTracker([SSR, ADSB]), plots).tolist() == [
        TrackStatus.CONFIRMED]


def test_an_anonymous_track_confirms_on_its_second_address_plot() -> None:
    """PSR-like pair (no address), then two plots with an address: confirmed on the 2nd."""
    plots = _plots([0.0, 4.0, 8.0], [0.0, 800.0, 1600.0], [1, 1, 1], [0, 0, 0xABC])
    cfg = TrackerConfig(confirm_hits_psr=5, confirm_hits_id=5)
    trk = InProcessTracker([SSR], cfg)
    assert _status_after(trk, plots).tolist() == [TrackStatus.TENTATIVE]
    assert _status_after(trk, _plots([12.0], [2400.0], [1], [0xABC])).tolist() == [
        TrackStatus.CONFIRMED]


def test_a_duplicate_of_a_confirmed_address_is_not_confirmed_fast() -> None:
    """A second track with the address of a confirmed track, far from it: tentative."""
    first = _plots([0.0, 4.0], [0.0, 800.0], [1, 1], [0xABC, 0xABC])
    dup = _plots([8.0, 12.0], [90e3, 90.8e3], [1, 1], [0xABC, 0xABC])
    good = _plots([8.0, 12.0], [1600.0, 2400.0], [1, 1], [0xABC, 0xABC])
    trk = InProcessTracker([SSR])
    trk.ingest(PlotBatch.concat([first, dup, good]))
    trk.flush()
    pic = trk.picture()
    far = pic.x > 50e3
    assert pic.status[~far].tolist() == [TrackStatus.CONFIRMED]
    assert pic.status[far].tolist() == [TrackStatus.TENTATIVE]


def _outbound(max_range_m: float, cfg: TrackerConfig) -> tuple[float, float]:
    """One aircraft flying away from a 4 s radar at 200 m/s; its plots stop at the radar's
    range (a second, slow aircraft keeps the radar reporting). Returns (time of its last
    plot, time of its track's last confirmed row)."""
    radar = Sensor(id=1, kind="ssr", period_s=4.0, pd=0.95, max_range_m=max_range_m)
    t = np.arange(0.0, 300.0, 4.0)
    x = 10e3 + 200.0 * t
    seen = x <= min(max_range_m, 50e3)  # silent from 50 km on either way
    n = int(seen.sum())
    away = _plots(t[seen].tolist(), x[seen].tolist(), [1] * n, [0xABC] * n)
    near = _plots((t + 1.0).tolist(), (-10e3 - 50.0 * t).tolist(), [1] * t.size,
                  [0xDEF] * t.size)
    trk = InProcessTracker([radar], cfg, record=True)
    feed(trk, PlotBatch.concat([away, near]), 1.0)
    alive = [float(r.t[0]) for r in trk.reports
             if len(r) and ((r.icao24 == 0xABC) & (r.status != 0)).any()]
    return float(t[seen][-1]), max(alive)


def test_a_track_leaving_every_sensors_coverage_ends_within_one_update() -> None:
    last, ended = _outbound(50e3, TrackerConfig())
    assert ended - last <= 4.0 + 1.0           # one expected update (+ the 1 s slice)
    last_off, ended_off = _outbound(50e3, TrackerConfig(out_of_coverage_periods=0))
    assert ended_off - last_off >= 15.0        # it used to coast for tens of seconds


def test_a_silent_track_inside_coverage_still_coasts() -> None:
    last, ended = _outbound(1e9, TrackerConfig())  # plots stop, but inside coverage
    assert ended - last >= 10.0


def test_a_radar_without_a_configured_range_learns_its_coverage() -> None:
    """No max_range_m: the coverage is learned 5 % past the farthest plot on a confirmed
    track (50 km here), so the silent track ends ~2.5 km past it plus one update."""
    cfg = TrackerConfig(learn_coverage_plots=20, delete_miss_prob=1e-9)
    last, ended = _outbound(float("inf"), cfg)
    assert ended - last <= 2.5e3 / 200.0 + 4.0 + 1.0
    last_off, ended_off = _outbound(float("inf"), TrackerConfig(learn_coverage_plots=0,
                                                                delete_miss_prob=1e-9))
    assert ended_off - last_off >= 20.0
