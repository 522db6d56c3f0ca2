"""The full-run estimate of a budget-stopped peer (peers.md §1.5) and per-scan percentiles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.bench.extrapolate import estimate_full_run, percentiles_ms


def test_complete_run_is_measured_not_extrapolated() -> None:
    est = estimate_full_run([0.5, 2.0, 3.0, 5.0], scans_total=4)
    assert not est.extrapolated and not est.lower_bound
    assert est.full_run_s == pytest.approx(10.5)
    assert est.per_scan_s == pytest.approx(4.0)  # steady scans: 3 and 5


def test_stopped_run_adds_steady_mean_times_scans_left() -> None:
    est = estimate_full_run([1.0, 5.0, 2.0, 4.0], scans_total=10)
    # time so far 12 s + mean(2, 4) = 3 s per scan x 6 scans left
    assert est.extrapolated
    assert est.full_run_s == pytest.approx(12.0 + 3.0 * 6)
    assert est.basis.startswith("mean of steady")


def test_without_steady_scans_falls_back_to_later_scans() -> None:
    est = estimate_full_run([0.1, 8.0], scans_total=5)
    assert est.full_run_s == pytest.approx(8.1 + 8.0 * 3)
    assert not est.lower_bound


def test_long_unfinished_scan_makes_a_lower_bound() -> None:
    est = estimate_full_run([0.1], scans_total=5, aborted_scan_s=30.0)
    assert est.lower_bound and est.extrapolated
    assert est.full_run_s == pytest.approx(0.1 + 30.0 * 4)


def test_no_scan_finished_uses_the_unfinished_one() -> None:
    est = estimate_full_run([], scans_total=3, aborted_scan_s=7.0)
    assert est.full_run_s == pytest.approx(21.0) and est.lower_bound


def test_more_scans_done_than_total_is_an_error() -> None:
    with pytest.raises(ValueError):
        estimate_full_run([1.0, 1.0], scans_total=1)


@given(st.lists(st.floats(0.0, 100.0), max_size=30), st.integers(0, 30),
       st.floats(0.0, 100.0))
def test_estimate_never_below_time_spent(times: list[float], extra: int, aborted: float) -> None:
    est = estimate_full_run(times, len(times) + extra, aborted)
    assert est.full_run_s >= sum(times) - 1e-9
    assert est.extrapolated == (extra > 0)
    if est.lower_bound:
        assert est.full_run_s == pytest.approx(sum(times) + extra * aborted)


def test_percentiles_in_ms() -> None:
    times = np.linspace(0.001, 0.1, 100)
    p = percentiles_ms(times)
    assert p["p50_ms"] == pytest.approx(np.percentile(times, 50) * 1e3)
    assert p["p99_ms"] == pytest.approx(np.percentile(times, 99) * 1e3)
    assert p["max_ms"] == pytest.approx(100.0)
    assert percentiles_ms([]) == {"p50_ms": None, "p99_ms": None, "max_ms": None}
