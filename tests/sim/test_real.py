"""Real trajectories: projection against geodesic distances, 1 s interpolation, gap splitting,
velocities from groundspeed/track, the shipped sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymap3d.vincenty import vdist

import airpicture
from airpicture.core.errors import UserError
from airpicture.core.geo import KT_TO_MPS, LocalFrame
from airpicture.sim.real import load_sample, read_traffic_json, real_truth, sample_path

CDG = (49.0097, 2.5479)
ORLY = (48.7233, 2.3794)


def test_airport_distance_matches_vincenty() -> None:
    frame = LocalFrame(48.9, 2.45)
    x, y, _ = frame.to_enu([CDG[0], ORLY[0]], [CDG[1], ORLY[1]])
    enu_m = float(np.hypot(x[1] - x[0], y[1] - y[0]))
    geodesic_m = float(np.asarray(vdist(*CDG, *ORLY)[0]))
    assert geodesic_m == pytest.approx(34_165, abs=5)
    assert enu_m == pytest.approx(geodesic_m, abs=2.0)


def test_real_flight_path_length_matches_geodesic(shared_data: Path) -> None:
    df = read_traffic_json(shared_data / "traffic" / "trajectories" / "belevingsvlucht.json.gz")
    df = df.iloc[:2000]
    frame = LocalFrame(float(df["latitude"].mean()), float(df["longitude"].mean()))
    x, y, _ = frame.to_enu(df["latitude"].to_numpy(), df["longitude"].to_numpy())
    enu = np.hypot(np.diff(x), np.diff(y)).sum()
    lat, lon = df["latitude"].to_numpy(), df["longitude"].to_numpy()
    step = np.asarray(vdist(lat[:-1], lon[:-1], lat[1:], lon[1:])[0], float)
    geodesic = np.nansum(step)
    assert enu > 10e3
    assert enu == pytest.approx(geodesic, rel=1e-3)


def flight(t_s: np.ndarray, lat: np.ndarray, lon: np.ndarray, icao: str = "3c6444",
           gs_kt: float = 400.0, track_deg: float = 0.0) -> pd.DataFrame:
    n = t_s.size
    return pd.DataFrame({
        "timestamp_ms": (1_600_000_000_000 + t_s * 1000).astype(np.int64),
        "icao24": [icao] * n, "callsign": ["TEST1"] * n, "latitude": lat, "longitude": lon,
        "altitude_ft": np.linspace(10000, 11000, n), "groundspeed_kt": np.full(n, gs_kt),
        "track_deg": np.full(n, track_deg), "squawk": np.full(n, 0o1234, np.int16)})


def test_interpolation_to_one_second_and_gap_split() -> None:
    t = np.array([0.0, 3.0, 5.0, 10.0, 200.0, 204.0])
    lat = 48.9 + 0.001 * np.arange(6)
    df = flight(t, lat, np.full(6, 2.4))
    frame = LocalFrame(48.9, 2.4)
    truth, t0 = real_truth(df, frame)
    assert t0 == 1_600_000_000_000
    assert truth.n_targets == 2  # split at the 190 s gap
    assert truth.alive.sum(axis=1).tolist() == [11, 5]
    x, y, _ = frame.to_enu(lat, np.full(6, 2.4))
    np.testing.assert_allclose(truth.x_m[0, [0, 3, 5, 10]], x[:4], atol=1e-6)
    np.testing.assert_allclose(truth.y_m[0, [0, 3, 5, 10]], y[:4], atol=1e-6)
    np.testing.assert_allclose(truth.y_m[1, [200, 204]], y[4:], atol=1e-6)
    np.testing.assert_allclose(truth.y_m[0, 4], y[1] + (y[2] - y[1]) / 2, atol=1e-6)
    assert truth.callsign.tolist() == ["TEST1", "TEST1"]
    assert truth.icao24.tolist() == [0x3C6444] * 2
    assert truth.squawk.tolist() == [0o1234] * 2
    joined, _ = real_truth(df, frame, max_gap_s=500.0)
    assert joined.n_targets == 1


def test_velocity_from_groundspeed_and_track() -> None:
    t = np.arange(0.0, 30.0)
    df = flight(t, np.full(30, 49.3), np.full(30, 3.4), gs_kt=400.0, track_deg=90.0)
    truth, _ = real_truth(df, LocalFrame(48.9, 2.4))
    speed = 400.0 * KT_TO_MPS
    np.testing.assert_allclose(np.hypot(truth.vx_mps[0], truth.vy_mps[0]), speed, rtol=1e-9)
    # East at 3.4°E is not the frame's x axis: meridians converge by about
    # (lon - lon0) sin(lat) = +0.76°.  Oracle: the ENU direction of a small step along the parallel.
    frame = LocalFrame(48.9, 2.4)
    x, y, _ = frame.to_enu([49.3, 49.3], [3.4, 3.4001])
    expected = np.rad2deg(np.arctan2(y[1] - y[0], x[1] - x[0]))
    angle = np.rad2deg(np.arctan2(truth.vy_mps[0, 0], truth.vx_mps[0, 0]))
    assert expected == pytest.approx(0.76, abs=0.02)
    assert angle == pytest.approx(expected, abs=0.01)


def test_shipped_sample_is_inside_the_package() -> None:
    path = sample_path()
    assert Path(airpicture.__file__).parent in path.parents
    assert path.stat().st_size < 2_000_000
    df = load_sample()
    span_s = (df["timestamp_ms"].max() - df["timestamp_ms"].min()) / 1000
    assert 20 * 60 <= span_s <= 30 * 60
    assert df["icao24"].nunique() > 50
    truth, _ = real_truth(df, LocalFrame(48.95, 2.45))
    assert truth.n_targets >= df["icao24"].nunique()
    assert np.all(np.isfinite(truth.x_m[truth.alive]))
    assert (Path(airpicture.__file__).parent / "data" / "README.md").is_file()


def test_bad_traffic_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"timestamp": 1, "icao24": "abc"}]')
    with pytest.raises(UserError, match="missing field 'latitude'"):
        read_traffic_json(bad)
    bad.write_text("{nope")
    with pytest.raises(UserError, match="cannot read"):
        read_traffic_json(bad)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(
    st.integers(0, 400_000), st.sampled_from(["3c6444", "4ca1b2", "abc", "zz", "", "1000000"]),
    st.floats(47.0, 50.0) | st.just(float("nan")), st.floats(1.0, 4.0),
    st.floats(0.0, 40_000.0) | st.just(float("nan")), st.floats(0.0, 600.0),
    st.floats(0.0, 360.0)), min_size=1, max_size=40))
def test_any_trajectory_rows_give_consistent_truth(
        rows: list[tuple[int, str, float, float, float, float, float]]) -> None:
    """Unsorted, duplicated, gappy or partly missing rows: a consistent truth or a UserError."""
    ms, icao, lat, lon, alt, gs, trk = (list(c) for c in zip(*rows, strict=True))
    df = pd.DataFrame({"timestamp_ms": np.asarray(ms, np.int64), "icao24": icao,
                       "callsign": [""] * len(ms), "latitude": lat, "longitude": lon,
                       "altitude_ft": alt, "groundspeed_kt": gs, "track_deg": trk,
                       "squawk": np.full(len(ms), -1, np.int16)})
    try:
        truth, t0 = real_truth(df, LocalFrame(48.9, 2.4))
    except UserError:
        assert df[["latitude", "altitude_ft"]].isna().any(axis=1).all()
        return
    assert t0 == df["timestamp_ms"][df[["latitude", "altitude_ft"]].notna().all(axis=1)].min()
    assert np.all(truth.alive.sum(axis=1) >= 1)
    assert np.all(np.isfinite(truth.x_m)) and np.all(np.isfinite(truth.vx_mps))
    assert np.all(np.hypot(truth.vx_mps, truth.vy_mps) <= 600.0 * KT_TO_MPS + 1e-6)
    table = truth.to_arrow()
    assert table.num_rows == truth.alive.sum()
    assert np.all((truth.icao24 >= 0) & (truth.icao24 < 1 << 24))


def test_stale_repeated_positions_are_dropped() -> None:
    """A position repeated for 4 s at 400 kt (then a jump) becomes steady motion in the truth."""
    t = np.arange(0.0, 20.0)
    lat = 48.9 + 0.0005 * t  # about 56 m/s north (the 400 kt groundspeed only flags it)
    lat[6:10] = lat[5]  # reports at 6..9 s repeat the 5 s position
    df = flight(t, lat, np.full(t.size, 2.4))
    truth, _ = real_truth(df, LocalFrame(48.9, 2.4))
    step_m = np.diff(truth.y_m[0])
    assert np.all(step_m > 50.0) and np.all(step_m < 62.0)
    # A slow aircraft (taxiing, hovering) may truly stand still: kept as given.
    slow, _ = real_truth(flight(t, lat, np.full(t.size, 2.4), gs_kt=10.0), LocalFrame(48.9, 2.4))
    assert np.allclose(np.diff(slow.y_m[0])[5:9], 0.0)


def test_real_paris_truth_never_freezes_at_speed() -> None:
    """The shipped sample (real-paris) repeats stale positions; none survive in the truth."""
    truth, _ = real_truth(load_sample(), LocalFrame(48.95, 2.45))
    step_m = np.hypot(np.diff(truth.x_m, axis=1), np.diff(truth.y_m, axis=1))
    speed = np.hypot(truth.vx_mps, truth.vy_mps)[:, 1:]
    both = truth.alive[:, 1:] & truth.alive[:, :-1]
    assert both.sum() > 10_000
    assert int((both & (step_m < 1e-6) & (speed > 50.0)).sum()) == 0
