"""The whole tracker on small generated scenes: turns, crossings, clutter, identity, fusion."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from airpicture.core.plots import PlotBatch, PlotFlag
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackStatus
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.run import concat_tables, feed
from airpicture.tracker.stream import InProcessTracker
from tests.tracker.gen import adsb, adsb_plots, psr, radar_plots, trajectories


def _run(sensors: list[Sensor], plots: PlotBatch, cfg: TrackerConfig | None = None
         ) -> tuple[InProcessTracker, pd.DataFrame]:
    trk = InProcessTracker(sensors, cfg, record=True)
    feed(trk, plots, 1.0)
    return trk, concat_tables(trk.reports).to_pandas()


def _owner_per_truth(tracks: pd.DataFrame, t_grid: np.ndarray, states: np.ndarray,
                     t_from: float, max_dist_m: float = 1500.0) -> list[set[int]]:
    """For each truth, the confirmed track ids assigned to it (optimal assignment) at each
    report time after t_from; -1 where none is within max_dist_m.  Times when two truths are
    closer than max_dist_m are skipped: there the pairing is ambiguous by construction."""
    owners: list[set[int]] = [set() for _ in range(states.shape[0])]
    conf = tracks[tracks.confirmed & (tracks.t >= t_from)]
    for t, rows in conf.groupby("t"):
        k = int(np.argmin(np.abs(t_grid - t)))
        if abs(t_grid[k] - t) > 0.2:
            continue
        pos = states[:, k, :2]
        gaps = np.hypot(*(pos[:, None] - pos[None]).transpose(2, 0, 1))
        np.fill_diagonal(gaps, np.inf)
        if gaps.min() < max_dist_m:
            continue
        d = np.hypot(pos[:, None, 0] - rows.x.to_numpy()[None],
                     pos[:, None, 1] - rows.y.to_numpy()[None])
        r, c = linear_sum_assignment(np.minimum(d, 1e7))
        ids = rows.track_id.to_numpy()
        for i in range(states.shape[0]):
            hit = np.flatnonzero(r == i)
            ok = hit.size and d[i, c[hit[0]]] < max_dist_m
            owners[i].add(int(ids[c[hit[0]]]) if ok else -1)
    return owners


def _turning_target() -> tuple[np.ndarray, np.ndarray]:
    """One aircraft 80 km north of the radar, 200 m/s, a 3 deg/s turn of 90 deg at t = 60 s."""
    t = np.arange(0.0, 200.0 + 1e-9, 0.25)
    w = np.where((t >= 60) & (t < 90), np.radians(3.0), 0.0)
    heading = np.cumsum(w * 0.25) - w * 0.25
    v = np.stack([200 * np.cos(heading), 200 * np.sin(heading)], -1)
    xy = np.array([-15e3, 80e3]) + np.concatenate([[[0, 0]], np.cumsum(v[:-1] * 0.25, 0)])
    return t, np.concatenate([xy, v], -1)[None]


def test_imm_holds_a_3_deg_s_turn_that_a_low_noise_cv_filter_loses() -> None:
    t, states = _turning_target()
    rng = np.random.default_rng(5)
    plots, _ = radar_plots(t, states, rng, pd=1.0, sigma_r_m=50, sigma_az_deg=0.1)
    _, imm = _run([psr()], plots)
    owners = _owner_per_truth(imm, t, states, t_from=20.0)
    assert owners[0] == {int(imm.track_id[imm.confirmed].iloc[0])}
    cv_cfg = TrackerConfig(imm=False, q_cv=0.5, q_gate=1.0)
    _, cv = _run([psr()], plots, cv_cfg)
    assert len(_owner_per_truth(cv, t, states, t_from=20.0)[0]) > 1


def test_crossing_targets_keep_their_identities() -> None:
    """Two primary-only aircraft crossing at a shallow angle, close in time and space."""
    t = np.arange(0.0, 160.0 + 1e-9, 0.25)
    v = 180.0
    ang = np.radians(10.0)
    v_a = np.array([v * np.cos(ang), v * np.sin(ang)])
    v_b = np.array([v * np.cos(ang), -v * np.sin(ang)])
    cross = np.array([0.0, 60e3])
    a = cross + (t[:, None] - 80.0) * v_a
    b = cross + (t[:, None] - 80.0) * v_b
    states = np.stack([np.column_stack([a, np.tile(v_a, (t.size, 1))]),
                       np.column_stack([b, np.tile(v_b, (t.size, 1))])])
    rng = np.random.default_rng(11)
    plots, _ = radar_plots(t, states, rng, pd=0.95, sigma_r_m=40, sigma_az_deg=0.08)
    _, tracks = _run([psr()], plots)
    owners = _owner_per_truth(tracks, t, states, t_from=20.0, max_dist_m=1000.0)
    assert all(len(o) == 1 and -1 not in o for o in owners), owners
    assert owners[0] != owners[1]


def test_clutter_alone_confirms_no_track() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 300.0 + 1e-9, 0.25)
    empty = np.zeros((0, t.size, 4))
    plots, _ = radar_plots(t, empty, rng, clutter=40.0, area_m=150e3)
    assert len(plots) > 2000
    trk, tracks = _run([psr(clutter=40.0)], plots)
    assert trk.stats()["tracks_confirmed"] == 0
    assert not tracks.confirmed.any() if len(tracks) else True


def test_targets_in_clutter_are_all_confirmed_with_one_track_each() -> None:
    rng = np.random.default_rng(4)
    t, states = trajectories(20, 120.0, rng, turn_frac=0.3, area_m=100e3)
    plots, _ = radar_plots(t, states, rng, clutter=20.0, area_m=150e3)
    trk, tracks = _run([psr(clutter=20.0)], plots)
    owners = _owner_per_truth(tracks, t, states, t_from=30.0)
    assert sum(len(o) == 1 and -1 not in o for o in owners) >= 19
    assert trk.stats()["tracks_confirmed"] <= 21


def test_one_track_per_aircraft_from_radar_and_adsb_with_vertical_and_identity() -> None:
    rng = np.random.default_rng(8)
    t, states = trajectories(15, 120.0, rng, area_m=80e3)
    icao = np.arange(0x400000, 0x400000 + 15, dtype=np.int64)
    alt = rng.uniform(10000, 38000, 15)
    radar, _ = radar_plots(t, states, rng)
    ads, _ = adsb_plots(t, states, rng, icao, alt_ft=alt)
    plots = PlotBatch.concat([radar, ads]).sorted_by_time()
    trk, tracks = _run([psr(), adsb()], plots)
    owners = _owner_per_truth(tracks, t, states, t_from=15.0)
    assert all(len(o) == 1 and -1 not in o for o in owners), owners
    final = trk.picture(float(t[-1]))
    conf = final.take(final.status != TrackStatus.TENTATIVE)
    assert sorted(conf.icao24.tolist()) == icao.tolist()
    order = np.argsort(conf.icao24)
    assert np.allclose(conf.alt_ft[order], alt, atol=60)
    assert np.all(np.abs(conf.vrate_fpm) < 300)
    # Both sensors contributed to every confirmed track.
    assert np.all(conf.sensor_mask() == 0b11)


def test_identity_mismatch_is_flagged_counted_and_not_merged() -> None:
    rng = np.random.default_rng(9)
    t, states = trajectories(1, 60.0, rng, area_m=10e3)
    icao = np.array([0xABCDEF], np.int64)
    plots, _ = adsb_plots(t, states, rng, icao)
    trk = InProcessTracker([adsb()], TrackerConfig())
    trk.ingest(plots)
    t_end = float(plots.t.max())
    trk.advance_to(t_end)
    before = trk.picture()
    assert len(before) == 1 and before.icao24[0] == 0xABCDEF
    # A plot with the same identity 50 km away, in a slice not processed yet: kept apart and
    # flagged, never merged into the aircraft's track.
    far = PlotBatch.create(t=[t_end - 1.0], sensor_id=2, x=[before.x[0] + 50e3],
                           y=[before.y[0]], var_x=900.0, var_y=900.0, cov_xy=0.0, icao24=icao)
    trk.ingest(far)
    trk.flush()
    after = trk.picture()
    assert trk.stats()["identity_mismatch"] == 1
    assert trk.stats()["plots_late"] == 0
    orig = after.take(after.track_id == before.track_id[0])
    assert abs(orig.x[0] - before.x[0]) < 5e3
    assert orig.flags[0] & PlotFlag.IDENTITY_MISMATCH
