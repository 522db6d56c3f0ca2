"""The scorer's benchmark rows, and the scores of its synthetic case against their expectation."""

from __future__ import annotations

import math

import pytest

from airpicture.metrics.bench import run_bench, synthetic_case
from airpicture.metrics.score import score_tables


def test_synthetic_case_scores_as_expected() -> None:
    truth, tracks = synthetic_case(60, 41)
    s = score_tables(truth, tracks, {}, t_min_s=8.0)
    # 200 m noise per axis plus 10 m/s velocity noise over 0-3 s of prediction: about 284 m.
    expected = math.sqrt(2 * (200.0**2 + 10.0**2 * 3.5))
    assert s.rms_pos_m == pytest.approx(expected, rel=0.1)
    assert s.mean_missed_per_time == 0 and s.mean_false_per_time == 0
    assert s.rms_vel_mps == pytest.approx(math.sqrt(2) * 10.0, rel=0.15)


@pytest.mark.peer
def test_run_bench_rows() -> None:
    rows = run_bench(quick=True)
    assert len(rows) == 2
    for row in rows:
        assert {"name", "value", "unit", "peer", "peer_value", "ratio", "notes"} <= set(row)
        assert row["value"] > 0
    assert rows[1]["peer_value"] is not None and rows[1]["ratio"] > 0
