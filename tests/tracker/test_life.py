"""Track life (coasting, deletion), the vertical filter and initiation limits."""

from __future__ import annotations

import numpy as np

from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackStatus
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.initiate import TwoPointInitiator
from airpicture.tracker.run import concat_tables, feed
from airpicture.tracker.stream import InProcessTracker
from airpicture.tracker.vertical import update_alt
from tests.tracker.gen import adsb, adsb_plots, psr, radar_plots, trajectories


def test_vertical_filter_follows_a_constant_climb() -> None:
    rng = np.random.default_rng(0)
    n, steps = 100, 30
    rate_fps = rng.uniform(-40, 40, n)
    alt0 = rng.uniform(5000, 30000, n)
    alt = np.full(n, np.nan)
    rate = np.zeros(n)
    alt_t = np.full(n, np.nan)
    P = np.zeros((n, 3))
    for k in range(steps):
        t = np.full(n, 4.0 * k)
        z = alt0 + rate_fps * t + rng.normal(0, 25, n)
        alt, rate, alt_t, P = update_alt(alt, rate, alt_t, P, z, t, 50.0, 1.0)
    assert np.sqrt(np.mean((rate - rate_fps) ** 2)) < 3.0
    assert np.sqrt(np.mean((alt - (alt0 + rate_fps * 4.0 * (steps - 1))) ** 2)) < 30.0
    # A row without a measured altitude is left alone.
    z = np.full(n, np.nan)
    a2, r2, t2, _ = update_alt(alt, rate, alt_t, P, z, t + 4, 50.0, 1.0)
    assert np.array_equal(a2, alt) and np.array_equal(t2, alt_t) and np.array_equal(r2, rate)


def test_track_coasts_then_is_deleted_when_its_aircraft_falls_silent() -> None:
    rng = np.random.default_rng(1)
    t, states = trajectories(1, 60.0, rng, area_m=20e3)
    plots, _ = adsb_plots(t, states, rng, np.array([7], np.int64))
    last = float(plots.t.max())
    trk = InProcessTracker([adsb()], TrackerConfig(late_window_s=0.0))
    trk.ingest(plots)
    trk.advance_to(last + 1.0)
    assert trk.picture(last + 0.5).status[0] == TrackStatus.CONFIRMED
    # Status is judged where plots are processed: read ahead, it stays confirmed ...
    assert trk.picture(last + 3.0).status[0] == TrackStatus.CONFIRMED
    # ... and coasts once the tracker has processed that far without a plot.
    trk.advance_to(last + 3.0)
    assert trk.picture(last + 3.0).status[0] == TrackStatus.COASTING
    # Deletion happens when a slice is processed: feed a far-away plot of another sensor.
    other = PlotBatch.create(t=[last + 8.0], sensor_id=2, x=[1e6], y=[1e6], var_x=100.0,
                             var_y=100.0, cov_xy=0.0, icao24=[99])
    trk.ingest(other)
    trk.advance_to(last + 10.0)
    assert 7 not in trk.picture().icao24.tolist()
    assert trk.stats()["tracks_deleted"] == 1


def test_deleted_confirmed_track_gets_one_final_unconfirmed_row() -> None:
    """A recording ends a deleted track at once: one last row, confirmed = false, at the
    deletion slice's end; tentative tracks dropped unconfirmed get no such row."""
    rng = np.random.default_rng(1)
    t, states = trajectories(1, 60.0, rng, area_m=20e3)
    plots, _ = adsb_plots(t, states, rng, np.array([7], np.int64))
    last = float(plots.t.max())
    lone = PlotBatch.create(t=[last - 30.0], sensor_id=2, x=[-5e5], y=[-5e5], var_x=100.0,
                            var_y=100.0, cov_xy=0.0, icao24=[0])
    other = PlotBatch.create(t=[last + 40.0], sensor_id=2, x=[1e6], y=[1e6], var_x=100.0,
                             var_y=100.0, cov_xy=0.0, icao24=[99])
    trk = InProcessTracker([adsb()], TrackerConfig(late_window_s=0.0), record=True)
    feed(trk, PlotBatch.concat([plots, lone, other]), 1.0)
    rows = concat_tables(trk.reports).to_pandas()
    mine = rows[rows.icao24 == 7].sort_values("t")
    assert mine.confirmed.iloc[:-1].any()
    end = mine.iloc[-1]
    assert not end.confirmed and end.status == TrackStatus.TENTATIVE
    assert (mine.track_id == end.track_id).all()
    assert last < end.t <= last + 41.0  # the first slice processed after its deletion age
    assert int((~mine.confirmed & (mine.t > last)).sum()) == 1
    assert trk.stats()["tracks_deleted"] == 1


def test_primary_track_outlives_three_missed_scans() -> None:
    """Three scans in a row without a plot (12 s on a 4 s radar) must not end the track."""
    rng = np.random.default_rng(2)
    t, states = trajectories(5, 200.0, rng, area_m=60e3)
    plots, truth_id = radar_plots(t, states, rng, pd=1.0)
    gap = (truth_id == 0) & (plots.t > 100.0) & (plots.t < 112.0)
    assert gap.sum() == 3
    trk = InProcessTracker([psr()])
    trk.ingest(plots.take(~gap))
    trk.flush()
    assert trk.stats()["tracks_confirmed"] == 5
    assert trk.stats()["tracks_deleted"] == 0


def test_two_point_initiation_respects_speed_and_identity() -> None:
    ini = TwoPointInitiator(v_max_mps=300.0, v_min_mps=0.0, min_dt_s=0.5, max_dt_s=10.0)
    first = PlotBatch.create(t=[0.0, 0.0, 0.0], sensor_id=1, x=[0.0, 50e3, 100e3],
                             y=[0.0, 0.0, 0.0], var_x=100.0, var_y=100.0, cov_xy=0.0,
                             icao24=[0, 0, 5])
    later, earlier = ini.initiate(first)
    assert len(later) == 0 and len(ini.pending) == 3
    second = PlotBatch.create(t=[4.0, 4.0, 4.0], sensor_id=1,
                              x=[800.0, 50e3 + 2000.0, 100e3 + 800.0], y=[0.0, 0.0, 0.0],
                              var_x=100.0, var_y=100.0, cov_xy=0.0, icao24=[0, 0, 6])
    later, earlier = ini.initiate(second)
    # 200 m/s pairs; 500 m/s is too fast; a different identity never pairs.
    assert later.x.tolist() == [800.0] and earlier.x.tolist() == [0.0]
    ini.expire(20.0)
    assert len(ini.pending) == 0 and ini.expired == 4


def test_callsign_and_squawk_come_from_the_plots() -> None:
    rng = np.random.default_rng(3)
    t, states = trajectories(2, 20.0, rng, area_m=20e3)
    plots, idx = adsb_plots(t, states, rng, np.array([11, 22], np.int64))
    plots.callsign = np.where(idx == 0, "AFR123", "").astype(object)
    plots.squawk = np.where(idx == 1, 0o7700, -1).astype(np.int16)
    trk = InProcessTracker([adsb()])
    trk.ingest(plots)
    trk.flush()
    pic = trk.picture()
    by_icao = {int(i): k for k, i in enumerate(pic.icao24)}
    assert pic.callsign[by_icao[11]] == "AFR123" and pic.squawk[by_icao[11]] == -1
    assert pic.callsign[by_icao[22]] == "" and pic.squawk[by_icao[22]] == 0o7700


def test_silence_limit_follows_the_updating_sensors() -> None:
    """Silence a live aircraft keeps with probability 1e-6: 6 scans of a 4 s radar with
    pd 0.9; far less when a 1 s ADS-B feed was updating the track too; a sensor silent for
    long before the last update does not count."""
    import dataclasses

    from airpicture.tracker.lifecycle import silence_limit_s
    from airpicture.tracker.state import TrackState

    periods, pds = np.array([4.0, 1.0]), np.array([0.9, 0.9])
    st = dataclasses.replace(
        TrackState.empty(3, 2), track_id=np.arange(3), last_update_t=np.array([100.0] * 3),
        sensor_last_t=np.array([[100.0, np.nan], [99.0, 100.0], [100.0, 50.0]]))
    lim = silence_limit_s(st, periods, pds, 1e-6)
    e_psr, e_adsb = -np.log(0.1) / 4.0, -np.log(0.1) / 1.0
    assert np.allclose(lim, -np.log(1e-6) / np.array([e_psr, e_psr + e_adsb, e_psr]))
    assert np.isclose(lim[0], 24.0)


def test_pd_rule_deletes_a_fused_track_sooner_but_not_before_delete_min_s() -> None:
    from airpicture.tracker.lifecycle import AgeCovarianceDeleter
    from airpicture.tracker.state import TrackState

    rng = np.random.default_rng(1)
    t, states = trajectories(1, 60.0, rng, area_m=20e3)
    plots, _ = adsb_plots(t, states, rng, np.array([7], np.int64))
    trk = InProcessTracker([adsb()], TrackerConfig(late_window_s=0.0))
    trk.ingest(plots)
    trk.flush()
    state: TrackState = trk.engine.state
    last = float(state.last_update_t[0])
    periods = np.array([1.0])
    # Period rule: 5.5 periods.  pd 0.99 at 1 Hz: ln(1e-6) / ln(0.01) = 3 s, floored.
    for prob, pd, min_s, alive_s in ((0.0, 0.99, 3.0, 5.4), (1e-6, 0.99, 2.0, 2.9),
                                     (1e-6, 0.99, 4.0, 3.9), (1e-6, 0.5, 2.0, 5.4)):
        cfg = dataclasses_replace(TrackerConfig(), delete_miss_prob=prob, delete_min_s=min_s)
        deleter = AgeCovarianceDeleter(cfg, np.array([pd]))
        assert deleter.step(state, last + alive_s, periods)[0][0]
        assert not deleter.step(state, last + alive_s + 0.2, periods)[0][0]


def dataclasses_replace(cfg: TrackerConfig, **kw: float) -> TrackerConfig:
    """A changed copy of a config."""
    import dataclasses

    return dataclasses.replace(cfg, **kw)
