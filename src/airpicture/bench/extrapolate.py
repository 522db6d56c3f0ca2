"""Per-scan timing figures and the full-run estimate of a tracker stopped by its time budget.

The estimate follows ../shared/docs/peers.md §1.5: time so far plus the mean time of the steady
scans (every scan after the first two) times the scans left.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

STEADY_FROM_SCAN = 2
"""Scans 0 and 1 are warm-up (no tracks yet, then initiation only); steady scans start here."""


@dataclass(frozen=True)
class RunEstimate:
    """How long a full run takes: measured when complete, extrapolated when stopped early."""

    scans_total: int
    scans_done: int
    loop_wall_s: float
    full_run_s: float
    per_scan_s: float
    extrapolated: bool
    lower_bound: bool
    basis: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _steady_mean_s(scan_times_s: np.ndarray) -> tuple[float, str]:
    """Mean time of the steady scans, falling back to later-than-first scans, then to all."""
    if scan_times_s.size > STEADY_FROM_SCAN:
        return float(scan_times_s[STEADY_FROM_SCAN:].mean()), "mean of steady scans (from scan 2)"
    if scan_times_s.size > 1:
        return float(scan_times_s[1:].mean()), "mean of scans after the first (no steady scan)"
    return float(scan_times_s.mean()), "time of the only scan done"


def estimate_full_run(
    scan_times_s: list[float] | np.ndarray, scans_total: int, aborted_scan_s: float = 0.0
) -> RunEstimate:
    """Full-run wall time from the completed scans' times.

    `aborted_scan_s` is how long an unfinished scan ran before the budget stopped it; when it is
    longer than the per-scan estimate it becomes the per-scan figure and the result is only a
    lower bound (the scan would have taken longer still).
    """
    times = np.asarray(scan_times_s, dtype=np.float64)
    done = int(times.size)
    if scans_total < done:
        raise ValueError(f"scans_total {scans_total} < scans done {done}")
    loop_s = float(times.sum())
    left = scans_total - done
    if left == 0:
        per_scan = float(times[STEADY_FROM_SCAN:].mean()) if done > STEADY_FROM_SCAN else (
            float(times.mean()) if done else 0.0)
        return RunEstimate(scans_total, done, loop_s, loop_s, per_scan, False, False, "measured")
    if done == 0:
        per_scan, basis = float(aborted_scan_s), "first scan unfinished: its time so far"
    else:
        per_scan, basis = _steady_mean_s(times)
    lower = aborted_scan_s > per_scan
    if lower:
        per_scan, basis = float(aborted_scan_s), "unfinished scan's time so far (lower bound)"
    return RunEstimate(scans_total, done, loop_s, loop_s + per_scan * left, per_scan, True,
                       lower or done == 0, basis)


def percentiles_ms(times_s: list[float] | np.ndarray) -> dict[str, float | None]:
    """p50, p99 and max of per-scan (or per-slice) times in milliseconds; None when empty."""
    arr = np.asarray(times_s, dtype=np.float64)
    if arr.size == 0:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    p50, p99 = np.percentile(arr, [50.0, 99.0]) * 1e3
    return {"p50_ms": float(p50), "p99_ms": float(p99), "max_ms": float(arr.max() * 1e3)}
