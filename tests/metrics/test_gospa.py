"""Properties of the sparse GOSPA / OSPA: dense-assignment optimum, metric axioms, bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment

from airpicture.metrics.align import PointSets
from airpicture.metrics.gospa import assign, per_time
from airpicture.metrics.score import score_tables
from tests.metrics.helpers import tracks_table, truth_table

C = 10_000.0


def _points(k: np.ndarray, xy: np.ndarray) -> PointSets:
    order = np.argsort(k, kind="stable")
    k, xy = k[order], xy[order]
    zeros = np.zeros(k.size)
    return PointSets(k.astype(np.int64), np.arange(k.size, dtype=np.int64), xy[:, 0], xy[:, 1],
                     zeros, zeros)


@st.composite
def point_sets(draw: st.DrawFn) -> tuple[PointSets, PointSets, int]:
    """Two point sets over a few times, in a box small enough for big components."""
    n_times = draw(st.integers(1, 4))
    box = draw(st.sampled_from([5_000.0, 20_000.0, 60_000.0]))
    coords = st.floats(0, box, allow_nan=False)
    sets = []
    for _ in range(2):
        n = draw(st.integers(0, 14))
        xy = draw(arrays(np.float64, (n, 2), elements=coords))
        k = draw(arrays(np.int64, (n,), elements=st.integers(0, n_times - 1)))
        sets.append(_points(k, xy))
    return sets[0], sets[1], n_times


def _dense_gospa(a: PointSets, b: PointSets, n_times: int) -> np.ndarray:
    """Reference: dense cost min(d, c)^2 per time, scipy LSA, c^2/2 per unassigned point."""
    out = np.zeros(n_times)
    for k in range(n_times):
        pa_, pb = a.take(a.k == k), b.take(b.k == k)
        d = np.hypot(pa_.x[:, None] - pb.x[None, :], pa_.y[:, None] - pb.y[None, :])
        cost = np.minimum(d, C) ** 2
        r, c = linear_sum_assignment(cost)
        out[k] = np.sqrt(cost[r, c].sum() + C**2 / 2 * (len(pa_) + len(pb) - 2 * r.size))
    return out


@settings(max_examples=150, deadline=None)
@given(point_sets())
def test_sparse_equals_dense_assignment(case: tuple[PointSets, PointSets, int]) -> None:
    a, b, n_times = case
    pt = per_time(a, b, assign(a, b), n_times)
    np.testing.assert_allclose(pt.gospa_m, _dense_gospa(a, b, n_times), rtol=1e-9, atol=1e-6)


@settings(max_examples=100, deadline=None)
@given(point_sets())
def test_metric_properties(case: tuple[PointSets, PointSets, int]) -> None:
    a, b, n_times = case
    ab = per_time(a, b, assign(a, b), n_times)
    ba = per_time(b, a, assign(b, a), n_times)
    np.testing.assert_allclose(ab.gospa_m, ba.gospa_m, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ab.missed_m2, ba.false_m2)
    np.testing.assert_allclose(ab.ospa_m, ba.ospa_m, rtol=1e-9, atol=1e-6)
    n = ab.n_truth + ab.n_tracks
    assert np.all(ab.gospa_m <= C * np.sqrt(n / 2) + 1e-6)
    assert np.all((ab.ospa_m >= 0) & (ab.ospa_m <= C + 1e-6))
    np.testing.assert_allclose(ab.gospa_m**2, ab.localisation_m2 + ab.missed_m2 + ab.false_m2,
                               rtol=1e-9, atol=1e-3)
    aa = per_time(a, a, assign(a, a), n_times)
    assert np.all(aa.gospa_m == 0) and np.all(aa.ospa_m == 0)


positions = st.lists(
    st.tuples(st.floats(-2e5, 2e5), st.floats(-2e5, 2e5), st.floats(-300, 300),
              st.floats(-300, 300)), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None)
@given(positions, st.integers(1, 6))
def test_tracks_equal_to_truth_score_zero(targets: list[tuple[float, ...]], steps: int) -> None:
    rows = [(float(t), i, x + vx * t, y + vy * t, vx, vy)
            for t in range(steps) for i, (x, y, vx, vy) in enumerate(targets)]
    truth = truth_table(rows)
    tracks = tracks_table([(t, 50 + i, x, y, vx, vy, True) for t, i, x, y, vx, vy in rows])
    s = score_tables(truth, tracks, {})
    assert s.gospa_m == pytest.approx(0.0, abs=1e-6)
    assert s.ospa_m == pytest.approx(0.0, abs=1e-6)
    assert s.rms_pos_m == pytest.approx(0.0, abs=1e-6)
    assert s.rms_vel_mps == pytest.approx(0.0, abs=1e-6)
    assert s.mean_missed_per_time == 0 and s.mean_false_per_time == 0


track_rows = st.lists(
    st.tuples(st.integers(0, 12).map(float), st.integers(0, 5),
              st.one_of(st.floats(-3e4, 3e4), st.just(float("nan"))), st.floats(-3e4, 3e4),
              st.one_of(st.floats(-400, 400), st.just(float("nan"))), st.floats(-400, 400),
              st.booleans()),
    max_size=40)


@settings(max_examples=60, deadline=None)
@given(track_rows, positions)
def test_any_tracks_give_bounded_scores(
    rows: list[tuple[float, int, float, float, float, float, bool]],
    targets: list[tuple[float, ...]],
) -> None:
    truth = truth_table([(float(t), i, x / 10 + vx * t, y / 10 + vy * t, vx, vy)
                         for t in range(10) for i, (x, y, vx, vy) in enumerate(targets)])
    s = score_tables(truth, tracks_table(sorted(rows, key=lambda r: r[0])), {})
    assert s.details is not None
    pt = s.details.per_time
    assert np.all(np.isfinite(pt.gospa_m)) and np.all(pt.gospa_m >= 0)
    assert np.all(pt.ospa_m <= C + 1e-6)
    assert np.all(pt.n_assigned <= np.minimum(pt.n_truth, pt.n_tracks))
    assert 0 <= s.siap_completeness <= 1 and 0 <= s.siap_spuriousness <= 1
    assert s.n_tracks <= len({r[1] for r in rows if r[6]})
