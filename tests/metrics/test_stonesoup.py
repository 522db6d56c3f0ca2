"""GOSPA, OSPA and SIAP agree with Stone Soup 1.9.1's metric generators on small random cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from airpicture.metrics.align import PointSets
from airpicture.metrics.score import score_tables

pytestmark = pytest.mark.peer

EPOCH = dt.datetime(2026, 1, 1)


def _random_case(seed: int, box_m: float, noise_m: float) -> tuple[pa.Table, pa.Table]:
    """A few moving targets over 10 s, noisy tracks on some of them, births, deaths, clutter."""
    rng = np.random.default_rng(seed)
    n_targets, times = 5, np.arange(10.0)
    pos0 = rng.uniform(0, box_m, (n_targets, 2))
    vel = rng.uniform(-150, 150, (n_targets, 2))
    life = np.sort(rng.integers(0, 10, (n_targets, 2)), axis=1)
    life[:2] = (0, 9)
    truth_rows, track_rows = [], []
    for i in range(n_targets):
        for t in times[life[i, 0]: life[i, 1] + 1]:
            p = pos0[i] + vel[i] * t
            truth_rows.append((t, i, p[0], p[1], vel[i, 0], vel[i, 1]))
            if i < 4 and rng.random() < 0.85:
                q = p + rng.normal(0, noise_m, 2)
                v = vel[i] + rng.normal(0, 10, 2)
                track_id = 100 + i + 10 * (t > 5 and i == 1)  # target 1 changes track at 6 s
                track_rows.append((t, track_id, q[0], q[1], v[0], v[1], True))
    for t in times:
        for j in range(rng.integers(0, 3)):
            q = rng.uniform(0, box_m, 2)
            track_rows.append((t, 900 + j, q[0], q[1], 0.0, 0.0, True))
    truth_rows.sort()
    track_rows.sort()
    tcols = list(zip(*truth_rows, strict=True))
    kcols = list(zip(*track_rows, strict=True))
    truth = pa.table(dict(zip(["t", "target_id", "x", "y", "vx", "vy"], tcols, strict=True)))
    tracks = pa.table(dict(zip(["t", "track_id", "x", "y", "vx", "vy", "confirmed"], kcols,
                               strict=True)))
    return truth, tracks


def _paths(points: PointSets, times_s: np.ndarray, kind: str) -> list[object]:
    """Stone Soup GroundTruthPaths or Tracks holding exactly the aligned points."""
    from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
    from stonesoup.types.state import State
    from stonesoup.types.track import Track

    out: list[object] = []
    for ident in np.unique(points.ident):
        rows = np.flatnonzero(points.ident == ident)
        states = []
        for r in rows:
            vec = [points.x[r], points.vx[r], points.y[r], points.vy[r]]
            stamp = EPOCH + dt.timedelta(seconds=float(times_s[points.k[r]]))
            states.append(GroundTruthState(vec, timestamp=stamp) if kind == "truth"
                          else State(vec, timestamp=stamp))
        out.append(GroundTruthPath(states, id=str(ident)) if kind == "truth"
                   else Track(states, id=str(ident)))
    return out


def _stonesoup_metrics(truth: PointSets, tracks: PointSets, times_s: np.ndarray) -> dict:
    from stonesoup.dataassociator.tracktotrack import TrackToTruth
    from stonesoup.measures import Euclidean
    from stonesoup.metricgenerator.manager import MultiManager
    from stonesoup.metricgenerator.ospametric import GOSPAMetric, OSPAMetric
    from stonesoup.metricgenerator.tracktotruthmetrics import SIAPMetrics

    pos = Euclidean(mapping=(0, 2))
    manager = MultiManager(
        [GOSPAMetric(c=10_000, p=2, measure=pos), OSPAMetric(c=10_000, p=2, measure=pos),
         SIAPMetrics(position_measure=pos, velocity_measure=Euclidean(mapping=(1, 3)))],
        associator=TrackToTruth(association_threshold=2_000, measure=pos),
    )
    manager.add_data({"groundtruth_paths": _paths(truth, times_s, "truth"),
                      "tracks": _paths(tracks, times_s, "track")})
    return manager.generate_metrics()


@pytest.mark.parametrize(("seed", "box_m", "noise_m"),
                         [(1, 40_000, 800), (2, 30_000, 1_500), (3, 60_000, 3_000),
                          (4, 8_000, 1_000)])
def test_matches_stonesoup(seed: int, box_m: float, noise_m: float) -> None:
    truth_table, tracks_table = _random_case(seed, box_m, noise_m)
    ours = score_tables(truth_table, tracks_table, {})
    d = ours.details
    assert d is not None
    metrics = _stonesoup_metrics(d.truth, d.tracks, d.times_s)
    gospa = [m.value for m in metrics["gospa_generator"]["GOSPA Metrics"].value]
    assert len(gospa) == d.times_s.size
    np.testing.assert_allclose(d.per_time.gospa_m, [g["distance"] for g in gospa], rtol=1e-6)
    np.testing.assert_allclose(d.per_time.localisation_m2, [g["localisation"] for g in gospa],
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(d.per_time.missed_m2, [g["missed"] for g in gospa], rtol=1e-6)
    np.testing.assert_allclose(d.per_time.false_m2, [g["false"] for g in gospa], rtol=1e-6)
    ospa = [m.value for m in metrics["ospa_generator"]["OSPA distances"].value]
    np.testing.assert_allclose(d.per_time.ospa_m, ospa, rtol=1e-6)
    assert ours.gospa_m == pytest.approx(np.mean([g["distance"] for g in gospa]), rel=1e-6)
    siap = metrics["siap_generator"]
    assert ours.siap_completeness == pytest.approx(siap["SIAP Completeness"].value, rel=1e-9)
    assert ours.siap_ambiguity == pytest.approx(siap["SIAP Ambiguity"].value, rel=1e-9)
    assert ours.siap_spuriousness == pytest.approx(siap["SIAP Spuriousness"].value, rel=1e-9)
    assert ours.siap_position_accuracy_m == pytest.approx(
        siap["SIAP Position Accuracy"].value, rel=1e-9)
    assert ours.siap_velocity_accuracy_mps == pytest.approx(
        siap["SIAP Velocity Accuracy"].value, rel=1e-9)
