"""Item 2 of issue 15: sensors learned from their data (period, pd, accuracy), and used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackStatus
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.learn import SensorLearner
from airpicture.tracker.run import feed, write_sensors_json
from airpicture.tracker.stream import InProcessTracker
from tests.tracker.gen import adsb_plots, radar_plots, trajectories

PERIOD_S, PD, SIGMA_R_M, SIGMA_AZ_DEG = 4.8, 0.85, 60.0, 0.12


def _wrong_priors() -> list[Sensor]:
    """A radar configured 4 s / 0.9 / 40 m / 0.08 deg that really is 4.8 s / 0.85 / 60 m /
    0.12 deg, and a good ADS-B receiver (NACp 9, 10 m)."""
    return [Sensor(id=1, kind="ssr", period_s=4.0, pd=0.9, sigma_range_m=40.0,
                   sigma_azimuth_deg=0.08),
            Sensor(id=2, kind="adsb", period_s=1.0, pd=0.9, sigma_m=10.0, nacp=9)]


@pytest.fixture(scope="module")
def learned() -> InProcessTracker:
    rng = np.random.default_rng(5)
    t, states = trajectories(30, 400.0, rng, area_m=50e3)
    icao = np.arange(0x400000, 0x400000 + 30, dtype=np.int64)
    radar, _ = radar_plots(t, states, rng, period_s=PERIOD_S, pd=PD, sigma_r_m=SIGMA_R_M,
                           sigma_az_deg=SIGMA_AZ_DEG, icao=icao)
    ads, _ = adsb_plots(t, states, rng, icao, sigma_m=10.0)
    ads.nacp[:] = 9
    trk = InProcessTracker(_wrong_priors(), TrackerConfig(sensor_pd={1: 0.9, 2: 0.9}))
    feed(trk, PlotBatch.concat([radar, ads]), 1.0)
    return trk


def test_learned_period_pd_and_sigma_of_a_radar_with_wrong_priors(learned: InProcessTracker
                                                                  ) -> None:
    by_id = {s["id"]: s for s in learned.learned_sensors()}
    radar = by_id[1]
    assert radar["period_source"] == "learned"
    assert radar["period_s"] == pytest.approx(PERIOD_S, rel=0.05)
    assert radar["pd"] == pytest.approx(PD, rel=0.05)
    assert radar["sigma_range_m"] == pytest.approx(SIGMA_R_M, rel=0.15)
    assert radar["sigma_azimuth_deg"] == pytest.approx(SIGMA_AZ_DEG, rel=0.15)
    assert radar["sigma_m"] is None and radar["n_plots"] > 1000
    ads = by_id[2]
    assert ads["period_s"] == pytest.approx(1.0, rel=0.05)
    assert ads["pd"] == pytest.approx(1.0, rel=0.05)
    assert ads["sigma_m"] == pytest.approx(10.0, rel=0.15)
    assert set(radar) == {"id", "kind", "period_s", "pd", "sigma_range_m",
                          "sigma_azimuth_deg", "sigma_m", "n_plots", "period_source"}


def test_learned_period_and_pd_replace_the_priors_in_track_life(learned: InProcessTracker
                                                                ) -> None:
    eng = learned.engine
    assert eng.periods[0] == pytest.approx(PERIOD_S, rel=0.05)   # was the 4 s prior
    assert eng.pds[0] == pytest.approx(PD, rel=0.05)             # was the 0.9 prior
    assert eng.prior_periods[0] == 4.0


def test_a_wrong_short_prior_stops_making_radar_tracks_coast_once_learned() -> None:
    """Prior 2 s for a 4.8 s radar: tracks coast between scans (1.5 x 2 s) until the period
    is learned, then read confirmed at every slice."""
    rng = np.random.default_rng(8)
    t, states = trajectories(8, 300.0, rng, area_m=40e3)
    radar, _ = radar_plots(t, states, rng, period_s=PERIOD_S, pd=1.0,
                           icao=np.arange(1, 9, dtype=np.int64))
    sensors = [Sensor(id=1, kind="ssr", period_s=2.0, pd=0.9)]
    trk = InProcessTracker(sensors, TrackerConfig(late_window_s=0.0), record=True)
    feed(trk, radar, 1.0)
    off = InProcessTracker(sensors, TrackerConfig(late_window_s=0.0, learn_sensors=False),
                           record=True)
    feed(off, radar, 1.0)
    assert _coasting_share(trk, 10, 40) > 0.05          # before enough samples
    assert _coasting_share(trk, 150, 280) < 0.02        # learned: 4.8 s
    assert _coasting_share(off, 150, 280) > 0.2         # the prior alone


def _coasting_share(trk: InProcessTracker, t0: float, t1: float) -> float:
    """Share of confirmed-or-coasting rows reported in [t0, t1) that are coasting."""
    status = np.concatenate([r.status for r in trk.reports if len(r) and t0 <= r.t[0] < t1])
    return float((status == TrackStatus.COASTING).sum() / (status != 0).sum())


def test_a_measured_scan_period_overrides_learned_and_prior(learned: InProcessTracker
                                                            ) -> None:
    trk = InProcessTracker(_wrong_priors())
    trk.restore(learned.snapshot())   # the learner's samples travel with snapshots
    assert trk.learned_sensors()[0]["period_source"] == "learned"
    trk.observe_scan_period(1, 4.75)
    s = trk.learned_sensors()[0]
    assert s["period_source"] == "measured" and s["period_s"] == 4.75
    assert s["pd"] == pytest.approx(PD, rel=0.05)
    assert trk.engine.periods[0] == 4.75
    trk.observe_scan_period(1, float("nan"))   # forget it
    assert trk.learned_sensors()[0]["period_source"] == "learned"
    with pytest.raises(ValueError, match="unknown sensor"):
        trk.observe_scan_period(99, 4.0)


def test_priors_until_enough_samples() -> None:
    trk = InProcessTracker(_wrong_priors())
    s = trk.learned_sensors()
    assert [x["period_source"] for x in s] == ["prior", "prior"]
    assert s[0]["period_s"] == 4.0 and s[0]["pd"] == 0.9 and s[0]["sigma_range_m"] == 40.0
    assert s[1]["sigma_m"] == 10.0 and s[1]["sigma_range_m"] is None


def test_ring_buffer_keeps_the_latest_gaps_per_sensor() -> None:
    lr = SensorLearner(_wrong_priors(), capacity=8)
    lr.add_gaps(np.array([0, 1, 0, 0]), np.array([1.0, 2.0, 3.0, np.nan]))
    lr.add_gaps(np.zeros(9, np.int64), np.arange(10.0, 19.0))
    assert sorted(lr.gaps[0].tolist()) == list(np.arange(11.0, 19.0))
    assert lr.gap_count.tolist() == [11, 1] and lr.gaps[1, 0] == 2.0


def test_sensors_json_layout(tmp_path: Path, learned: InProcessTracker) -> None:
    out = tmp_path / "sensors.json"
    write_sensors_json(out, learned.learned_sensors())
    obj = json.loads(out.read_text())
    assert [s["id"] for s in obj["sensors"]] == [1, 2]
    assert obj["sensors"][0]["period_s"] == pytest.approx(PERIOD_S, rel=0.05)
