"""ClassTrackers: each class's tracker gets only its cleared sensors' plots; its picture is
the one a tracker of those sensors alone computes from the same input and clock."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from airpicture.io.scenario import read_meta, read_plots
from airpicture.policy.classes import ClassTrackers
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.stream import InProcessTracker


def test_class_picture_equals_tracker_of_its_sensors_alone(example_scenario: Path) -> None:
    meta = read_meta(example_scenario)
    plots = read_plots(example_scenario, meta)
    plots = plots.take(plots.t < 60.0)
    cfg = TrackerConfig.for_scenario(meta)

    def make(sensors: tuple[int, ...]) -> InProcessTracker:
        return InProcessTracker([s for s in meta.sensors if s.id in sensors], cfg)

    classes = {"sensors-1": (1,), "sensors-1-2": (1, 2), "sensors-1-3-4": (1, 3, 4)}
    fan = ClassTrackers(classes, [s.id for s in meta.sensors], make)
    alone = make((1, 2))
    for t0 in np.arange(0.0, 60.0, 4.0):
        chunk = plots.take((plots.t >= t0) & (plots.t < t0 + 4.0))
        fan.ingest(chunk)
        alone.ingest(chunk.take(np.isin(chunk.sensor_id, [1, 2])))
        fan.advance_to(t0 + 4.0)
        alone.advance_to(t0 + 4.0)
    got = fan.picture("sensors-1-2")
    ref = alone.picture()
    assert len(got) == len(ref) > 0
    assert got.sensor_ids.tolist() == [1, 2, 3, 4]
    np.testing.assert_array_equal(got.track_id, ref.track_id)
    np.testing.assert_array_equal(got.x, ref.x)
    np.testing.assert_array_equal(got.sensor_last_t[:, :2], ref.sensor_last_t)
    assert np.all(np.isnan(got.sensor_last_t[:, 2:]))
    # radar 2 never reaches the other classes' trackers
    for cid in ("sensors-1", "sensors-1-3-4"):
        assert np.all(np.isnan(fan.picture(cid).sensor_last_t[:, 1]))
    assert fan.runtimes["sensors-1"].counts["plots_in"] == int(np.sum(plots.sensor_id == 1))
