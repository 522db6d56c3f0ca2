"""Alignment of tracks to truth times: latest row if confirmed, no older than 12 s, predicted."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.metrics.align import ConfirmedRows, align_tracks, scoring_times
from tests.metrics.helpers import tracks_table

row = st.tuples(st.integers(0, 60).map(lambda t: t / 2), st.integers(1, 4),
                st.floats(-1e5, 1e5), st.floats(-1e5, 1e5), st.floats(-300, 300),
                st.floats(-300, 300), st.booleans())


def _naive(rows: list[tuple[float, int, float, float, float, float, bool]],
           times: np.ndarray) -> dict[tuple[int, int], tuple[float, float]]:
    """Per track, per time, in plain Python: the reference the vectorised code must match."""
    out = {}
    for k, t in enumerate(times):
        for track in {r[1] for r in rows}:
            past = [r for r in rows if r[1] == track and r[0] <= t]
            if not past:
                continue
            latest = max(past, key=lambda r: r[0])
            same_t = [r for r in past if r[0] == latest[0]]
            latest = same_t[-1]
            age = t - latest[0]
            if latest[6] and age <= 12.0:
                out[(k, track)] = (latest[2] + latest[4] * age, latest[3] + latest[5] * age)
    return out


@settings(max_examples=80, deadline=None)
@given(st.lists(row, max_size=25), st.integers(0, 10), st.sampled_from([None, 1.0, 3.0]))
def test_align_matches_naive(
    rows: list[tuple[float, int, float, float, float, float, bool]], t_min: int,
    step: float | None,
) -> None:
    rows = sorted(rows, key=lambda r: r[0])  # stable: rows at one time keep their order
    times = scoring_times(np.arange(0.0, 40.0), float(t_min), step)
    got = align_tracks(ConfirmedRows.from_table(tracks_table(rows)), times)
    mine = {(int(k), int(i)): (float(x), float(y))
            for k, i, x, y in zip(got.k, got.ident, got.x, got.y, strict=True)}
    naive = _naive(rows, times)
    assert mine.keys() == naive.keys()
    for key, xy in mine.items():  # the same sums in another order: equal to float rounding
        assert xy == pytest.approx(naive[key], rel=1e-12, abs=1e-6)
    assert np.all(np.diff(got.k) >= 0)


def test_scoring_times_thin_by_step() -> None:
    t = np.repeat(np.arange(0.0, 10.0, 0.5), 3)
    assert scoring_times(t, 2.0, 2.0).tolist() == [2.0, 4.0, 6.0, 8.0]
    assert scoring_times(t, 9.2).tolist() == [9.5]
    assert scoring_times(t).size == 20


def test_twelve_second_limit_is_inclusive() -> None:
    tracks = tracks_table([(0.0, 1, 0.0, 0.0, 10.0, -5.0, True)])
    got = align_tracks(ConfirmedRows.from_table(tracks), np.array([0.0, 12.0, 12.5]))
    assert got.k.tolist() == [0, 1]
    assert got.x.tolist() == pytest.approx([0.0, 120.0])
    assert got.y.tolist() == pytest.approx([0.0, -60.0])


def test_final_unconfirmed_row_ends_the_track() -> None:
    """A deleted track's final unconfirmed row removes it at once, not 12 s later."""
    tracks = tracks_table([(0.0, 1, 0.0, 0.0, 10.0, 0.0, True),
                           (4.0, 1, 40.0, 0.0, 10.0, 0.0, True),
                           (6.0, 1, 60.0, 0.0, 10.0, 0.0, False),
                           (0.0, 2, 0.0, 0.0, 0.0, 0.0, True)])
    got = align_tracks(ConfirmedRows.from_table(tracks), np.array([4.0, 5.0, 6.0, 8.0]))
    assert [(int(k), int(i)) for k, i in zip(got.k, got.ident, strict=True)] == [
        (0, 1), (0, 2), (1, 1), (1, 2), (2, 2), (3, 2)]
    assert got.x[got.ident == 1].tolist() == pytest.approx([40.0, 50.0])


def test_tentative_rows_before_confirmation_are_dropped_and_later_ones_kept() -> None:
    tracks = tracks_table([(0.0, 1, 0.0, 0.0, 0.0, 0.0, False),
                           (2.0, 1, 0.0, 0.0, 0.0, 0.0, True),
                           (3.0, 1, 0.0, 0.0, 0.0, 0.0, False),
                           (0.0, 2, 0.0, 0.0, 0.0, 0.0, False)])
    rows = ConfirmedRows.from_table(tracks)
    assert rows.t.tolist() == [2.0, 3.0]
    assert rows.is_confirmed().tolist() == [True, False]
    assert rows.first_t_per_track() == {1: 2.0}
    assert ConfirmedRows.from_table(tracks, end_rows=False).t.tolist() == [2.0]
