"""Item 1 of issue 15: a track's status is judged where the tracker has processed plots, so
the late-plot window never makes a healthy streaming track look coasting."""

from __future__ import annotations

import numpy as np

from airpicture.core.tracks import TrackStatus
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.stream import InProcessTracker
from tests.tracker.gen import adsb, adsb_plots, psr, radar_plots, trajectories


def test_healthy_streaming_track_read_at_now_is_confirmed() -> None:
    """Plots stream in as they are made; after advance_to(now), picture(now) is 4 s (the late
    window) past the last processed slice: the tracks must still read confirmed."""
    rng = np.random.default_rng(3)
    t, states = trajectories(3, 80.0, rng, area_m=30e3)
    icao = np.array([11, 12, 13], np.int64)
    radar, _ = radar_plots(t, states, rng, pd=1.0, area_m=60e3, icao=icao)
    trk = InProcessTracker([psr()], TrackerConfig(late_window_s=4.0))
    judged_at_now = []
    for now in np.arange(1.0, 70.0, 1.0):
        trk.ingest(radar.take(np.flatnonzero((radar.t >= now - 1.0) & (radar.t < now))))
        trk.advance_to(float(now))
        pic = trk.picture(float(now))
        if now >= 40.0:
            assert len(pic) == 3
            assert np.all(pic.status == TrackStatus.CONFIRMED), (now, pic.status)
            assert np.all(pic.t == now)  # positions still predicted to now
            judged_at_now.append(trk.engine.status_at(float(now)))
    # The old rule (status judged at now, 4 s past the processed plots) said coasting.
    assert (np.concatenate(judged_at_now) == TrackStatus.COASTING).any()
    assert trk.status_time(100.0) == trk.processed_until


def test_silent_track_coasts_once_processed_time_passes_its_period() -> None:
    rng = np.random.default_rng(4)
    t, states = trajectories(1, 40.0, rng, area_m=20e3)
    ads, _ = adsb_plots(t, states, rng, np.array([5], np.int64))
    trk = InProcessTracker([adsb()], TrackerConfig(late_window_s=4.0))
    trk.ingest(ads)
    last = float(ads.t.max())
    trk.advance_to(last + 4.5)   # processed just past the last plot
    assert trk.picture(last + 4.5).status[0] == TrackStatus.CONFIRMED
    trk.advance_to(last + 8.0)   # processed 3+ s past it: three ADS-B periods of silence
    assert trk.picture(last + 8.0).status[0] == TrackStatus.COASTING
