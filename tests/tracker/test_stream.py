"""The streaming runtime: batching, late plots, rejected plots, snapshot and restore."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.plots import PlotBatch, PlotFlag
from airpicture.core.tracks import TrackTable
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.run import concat_tables, feed
from airpicture.tracker.stream import InProcessTracker, plot_validity
from tests.tracker.gen import adsb, adsb_plots, psr, radar_plots, trajectories


@pytest.fixture(scope="module")
def scene() -> tuple[PlotBatch, np.ndarray, np.ndarray]:
    """Ten aircraft, a radar and ADS-B (with latency and jitter), some turning."""
    rng = np.random.default_rng(21)
    t, states = trajectories(10, 90.0, rng, turn_frac=0.3, area_m=60e3)
    icao = np.arange(0x300000, 0x300000 + 10, dtype=np.int64)
    radar, _ = radar_plots(t, states, rng, clutter=3.0, area_m=80e3)
    ads, _ = adsb_plots(t, states, rng, icao, alt_ft=rng.uniform(5e3, 3e4, 10))
    return PlotBatch.concat([radar, ads]).sorted_by_time(), t, states


def _rows(tables: list[TrackTable]) -> np.ndarray:
    tab = concat_tables(tables).to_pandas().sort_values(["t", "track_id"])
    return tab[["t", "track_id", "x", "y", "vx", "vy", "status", "alt_ft"]].to_numpy(float)


def _sensors() -> list:
    return [psr(clutter=3.0), adsb()]


def test_one_batch_or_many_gives_the_same_tracks(scene: tuple) -> None:
    plots = scene[0]
    one = InProcessTracker(_sensors(), record=True)
    one.ingest(plots)
    one.flush()
    many = InProcessTracker(_sensors(), record=True)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(len(plots), 40, replace=False))
    for part in np.split(np.arange(len(plots)), cuts):
        many.ingest(plots.take(part))
        if part.size:
            many.advance_to(float(plots.t[part].max()))
    many.flush()
    a, b = _rows(one.reports), _rows(many.reports)
    assert a.shape == b.shape and a.shape[0] > 500
    assert np.array_equal(a, b, equal_nan=True)
    assert many.stats()["plots_late"] == 0


def test_late_adsb_plots_within_the_window_give_the_same_tracks(scene: tuple) -> None:
    plots = scene[0]
    on_time = InProcessTracker(_sensors(), record=True)
    feed(on_time, plots, 1.0)
    late = plots.take(np.arange(len(plots)))
    rng = np.random.default_rng(1)
    is_adsb = late.sensor_id == 2
    late.t_arrival = np.where(is_adsb, late.t + rng.uniform(0.5, 2.5, len(late)), np.nan)
    delayed = InProcessTracker(_sensors(), record=True)
    feed(delayed, late, 1.0)
    assert delayed.stats()["plots_late"] == 0
    a, b = _rows(on_time.reports), _rows(delayed.reports)
    assert a.shape == b.shape
    assert np.allclose(a, b, equal_nan=True, atol=1e-6)


def test_plots_later_than_the_window_are_counted_not_used(scene: tuple) -> None:
    plots = scene[0]
    cfg = TrackerConfig(late_window_s=2.0)
    late = plots.take(np.arange(len(plots)))
    late_mask = (late.sensor_id == 2) & (np.arange(len(late)) % 5 == 0)
    late.t_arrival = np.where(late_mask, late.t + 6.0, np.nan)
    trk = InProcessTracker(_sensors(), cfg)
    feed(trk, late, 1.0)
    s = trk.stats()
    # Every delayed plot except those in the final seconds (flushed at the end) is late.
    assert s["plots_late"] >= late_mask.sum() - 20
    assert s["plots_late"] <= late_mask.sum()
    assert s["plots_in"] == len(plots)


def test_snapshot_restore_then_continue_equals_an_uninterrupted_run(scene: tuple) -> None:
    plots = scene[0]
    whole = InProcessTracker(_sensors(), record=True)
    feed(whole, plots, 1.0)
    first = InProcessTracker(_sensors(), record=True)
    half = plots.t < 45.0
    first.ingest(plots.take(half))
    first.advance_to(45.0)
    blob = first.snapshot()
    resumed = InProcessTracker(_sensors(), record=True)
    resumed.restore(blob)
    resumed.ingest(plots.take(~half))
    resumed.advance_to(45.0 + 1.0)
    resumed.flush()
    a = _rows(whole.reports)
    b = _rows(first.reports + resumed.reports)
    assert np.array_equal(a, b, equal_nan=True)
    with pytest.raises(ValueError):
        resumed.restore(b"\x80\x04N.")  # pickled None: not a snapshot


def _good_plots(n: int) -> PlotBatch:
    return PlotBatch.create(t=np.linspace(0, 1, n), sensor_id=1, x=np.zeros(n), y=np.zeros(n),
                            var_x=100.0, var_y=200.0, cov_xy=10.0)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["x", "y", "t", "var_x", "var_y", "cov_xy"]),
       st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -5.0, 1e13]))
def test_a_plot_with_nan_or_absurd_covariance_is_rejected_and_counted(col: str,
                                                                      bad: float) -> None:
    plots = _good_plots(5)
    values = getattr(plots, col).copy()
    values[2] = bad
    if col == "cov_xy" and bad == 0.0:
        values[2] = 1e3  # |cov| > sqrt(var_x var_y): not positive definite
    setattr(plots, col, values)
    if not np.isfinite(bad):
        expect_bad = True
    elif col in ("t", "x", "y"):
        expect_bad = False  # any finite time or position is a time or position
    elif col == "cov_xy":
        expect_bad = bad != -5.0  # -5 m^2 fits var 100 and 200; 1e3 and 1e13 are not PD
    else:
        expect_bad = bad <= 0 or bad > 20000.0**2
    assert (not plot_validity(plots.take([2]), 20000.0)[0]) == expect_bad
    if not expect_bad:
        return
    trk = InProcessTracker([psr()])
    trk.ingest(plots)
    s = trk.stats()
    assert s["plots_rejected"] == 1 and s["plots_in"] == 5 and s["plots_buffered"] == 4
    assert trk.rejected.flags[0] & PlotFlag.REJECTED


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(0, 100),
                          st.floats(1.0, 1e7), st.floats(1.0, 1e7)), min_size=1, max_size=30))
def test_any_valid_plots_are_processed_without_error(rows: list[tuple]) -> None:
    x, y, t, vx, vy = (np.array(c) for c in zip(*rows, strict=True))
    plots = PlotBatch.create(t=np.sort(t), sensor_id=1, x=x, y=y, var_x=vx, var_y=vy,
                             cov_xy=0.0)
    trk = InProcessTracker([psr()])
    trk.ingest(plots)
    trk.flush()
    pic = trk.picture(150.0)
    assert np.all(np.isfinite(pic.x)) and np.all(np.isfinite(pic.sigma_pos_m))
    s = trk.stats()
    assert s["plots_rejected"] == 0
    assert s["plots_used"] + s["plots_initiated"] // 2 * 2 <= len(plots) + s["plots_used"]


def test_unknown_sensor_plots_are_rejected() -> None:
    plots = _good_plots(3)
    plots.sensor_id[:] = 99
    trk = InProcessTracker([psr()])
    trk.ingest(plots)
    assert trk.stats()["plots_rejected"] == 3


def test_picture_predicts_to_the_asked_time(scene: tuple) -> None:
    plots = scene[0]
    trk = InProcessTracker(_sensors())
    feed(trk, plots, 1.0)
    now = trk.picture()
    later = trk.picture(float(now.t.max()) + 10.0)
    assert np.all(later.t == float(now.t.max()) + 10.0)
    moved = np.hypot(later.x - now.x, later.y - now.y)
    speed = np.hypot(now.vx, now.vy)
    dt = later.t - now.t
    assert np.all(np.abs(moved - speed * dt) < 0.2 * speed * dt + 50)


def test_adsb_only_scene_confirms_fast_and_carries_identity() -> None:
    rng = np.random.default_rng(2)
    t, states = trajectories(5, 30.0, rng, area_m=20e3)
    icao = np.arange(1, 6, dtype=np.int64)
    ads, _ = adsb_plots(t, states, rng, icao)
    trk = InProcessTracker([adsb()], record=True)
    feed(trk, ads, 1.0)
    tab = concat_tables(trk.reports).to_pandas()
    first_conf = tab[tab.confirmed].groupby("icao24").t.min()
    assert sorted(first_conf.index.tolist()) == icao.tolist()
    assert first_conf.max() <= 6.0
