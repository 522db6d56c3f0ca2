"""Stone Soup 1.9.1 as a peer tracker: its stock tutorial configuration on a scenario's plots.

Configuration as documented in ../shared/docs/peers.md §1.4 (KalmanPredictor with constant
velocity q = 400, KalmanUpdater with each Detection's own LinearGaussian model carrying the
plot's covariance, Mahalanobis DistanceHypothesiser missed_distance 3, GNNWith2DAssignment,
MultiMeasurementInitiator min_points 3 with UpdateTimeStepsDeleter(2), UpdateTimeStepsDeleter(4),
MultiTargetTracker).  Stone Soup is fed scan by scan: plots are grouped in buckets of --scan-s
seconds; each Detection keeps its own plot time (--stamp plot, the default) or the bucket start
(--stamp scan, as the stroboscopic scenario of peers.md).

Only the tracking loop is timed (Detections are built beforehand).  The loop stops after
--budget-s of wall time; the full run is then extrapolated (peers.md §1.5) and the stats say so.

Usage: python bench/peers/stonesoup_peer.py SCENARIO --tracks OUT.parquet --stats OUT.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from airpicture.bench.extrapolate import estimate_full_run
from airpicture.io.scenario import read_meta, read_plots, write_tracks

EPOCH = dt.datetime(2000, 1, 1)
Q_M2_S3 = 400.0
PRIOR_SPEED_SIGMA_MPS = 300.0


class BudgetExceededError(Exception):
    """Raised by SIGALRM inside the tracking loop when the wall-clock budget is spent."""


def scan_buckets(t_s: np.ndarray, scan_s: float, duration_s: float) -> list[np.ndarray]:
    """Plot indices of each scan bucket [k*scan_s, (k+1)*scan_s), empty buckets included."""
    n_scans = max(1, math.ceil(duration_s / scan_s))
    if t_s.size:
        n_scans = max(n_scans, int(np.floor(t_s.max() / scan_s)) + 1)
    scan = np.clip(np.floor(t_s / scan_s).astype(np.int64), 0, None)
    order = np.argsort(scan, kind="stable")
    bounds = np.searchsorted(scan[order], np.arange(n_scans + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(n_scans)]


def build_tracker(q: float) -> tuple[Any, Any]:
    """The stock tutorial tracker of peers.md §1.4 and a settable detector feeding it scans."""
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.transition.linear import (
        CombinedLinearGaussianTransitionModel,
        ConstantVelocity,
    )
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.tracker.simple import MultiTargetTracker
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(q), ConstantVelocity(q)])
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(measurement_model=None)
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(),
                                        missed_distance=3)
    associator = GNNWith2DAssignment(hypothesiser)
    prior = GaussianState(StateVector([0.0, 0.0, 0.0, 0.0]), CovarianceMatrix(
        np.diag([0.0, PRIOR_SPEED_SIGMA_MPS**2, 0.0, PRIOR_SPEED_SIGMA_MPS**2])))
    initiator = MultiMeasurementInitiator(
        prior_state=prior, measurement_model=None, deleter=UpdateTimeStepsDeleter(2),
        data_associator=GNNWith2DAssignment(hypothesiser), updater=updater, min_points=3)
    detector = _ScanFeed()
    tracker = MultiTargetTracker(initiator=initiator, deleter=UpdateTimeStepsDeleter(4),
                                 detector=detector, data_associator=associator, updater=updater)
    return tracker, detector


class _ScanFeed:
    """A detector that yields the scan set by `feed`, one at a time (Stone Soup iterates it)."""

    def __init__(self) -> None:
        self.next_scan: tuple[dt.datetime, set[Any]] | None = None

    def __iter__(self) -> _ScanFeed:
        return self

    def __next__(self) -> tuple[dt.datetime, set[Any]]:
        if self.next_scan is None:
            raise StopIteration
        scan, self.next_scan = self.next_scan, None
        return scan

    @property
    def detections_gen(self) -> _ScanFeed:
        return self


def build_scans(scenario: Path, scan_s: float, stamp: str) -> tuple[list[Any], int, float]:
    """Per scan: (scan time, Detections); plus the plot count and the scenario duration."""
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.detection import Detection

    meta = read_meta(scenario)
    plots = read_plots(scenario, meta)
    scans = []
    for k, idx in enumerate(scan_buckets(plots.t, scan_s, meta.duration_s)):
        start_s = k * scan_s
        times = np.full(idx.size, start_s) if stamp == "scan" else plots.t[idx]
        scan_time_s = float(times.max()) if idx.size else start_s
        dets = set()
        for i, t_s in zip(idx, times, strict=True):
            r = CovarianceMatrix([[plots.var_x[i], plots.cov_xy[i]],
                                  [plots.cov_xy[i], plots.var_y[i]]])
            model = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=r)
            dets.add(Detection(StateVector([plots.x[i], plots.y[i]]),
                               timestamp=EPOCH + dt.timedelta(seconds=float(t_s)),
                               measurement_model=model))
        scans.append((EPOCH + dt.timedelta(seconds=scan_time_s), dets))
    return scans, len(plots), meta.duration_s


def _on_alarm(signum: int, frame: Any) -> None:
    raise BudgetExceededError


def track_scans(tracker: Any, feed: _ScanFeed, scans: list[Any], budget_s: float
                ) -> tuple[list[float], float, list[tuple[Any, ...]]]:
    """Run scans until done or budget_s; per-scan times, the unfinished scan's time, track rows."""
    ids: dict[Any, int] = {}
    rows: list[tuple[Any, ...]] = []
    last: dict[Any, tuple[Any, ...]] = {}
    scan_times: list[float] = []
    aborted_s = 0.0
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(budget_s, 1e-3))
    it = iter(tracker)
    try:
        for scan in scans:
            start = time.perf_counter()
            try:
                feed.next_scan = scan
                scan_time, tracks = next(it)
            except BudgetExceededError:
                aborted_s = time.perf_counter() - start
                break
            scan_times.append(time.perf_counter() - start)
            current: dict[Any, tuple[Any, ...]] = {}
            for track in tracks:
                state = track.state
                sv = np.asarray(state.state_vector, dtype=np.float64).ravel()
                tid = ids.setdefault(track.id, len(ids) + 1)
                t_s = (state.timestamp - EPOCH).total_seconds()
                current[track.id] = (t_s, tid, sv[0], sv[2], sv[1], sv[3], 1.0)
            rows.extend(current.values())
            # A track the deleter dropped this scan ends with one unconfirmed row, as
            # airpicture's do, so the scorer stops counting it at once.
            end_s = (scan_time - EPOCH).total_seconds()
            for key in last.keys() - current.keys():
                row = last[key]
                rows.append((max(end_s, row[0]), *row[1:6], 0.0))
            last = current
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return scan_times, aborted_s, rows


def tracks_table(rows: list[tuple[Any, ...]]) -> pa.Table:
    """Track rows in the tracks.parquet layout, sorted by time (Stone Soup tracks confirmed;
    a deleted track's final row unconfirmed)."""
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 7)
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    return pa.table({
        "t": arr[:, 0], "track_id": arr[:, 1].astype(np.int64), "x": arr[:, 2], "y": arr[:, 3],
        "vx": arr[:, 4], "vy": arr[:, 5], "confirmed": arr[:, 6] > 0.5,
    })


def main(argv: list[str]) -> int:
    """Build Detections, run the timed loop within the budget, write tracks and stats."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", type=Path, help="airpicture-scenario/1 folder")
    ap.add_argument("--tracks", type=Path, required=True, help="tracks.parquet to write")
    ap.add_argument("--stats", type=Path, required=True, help="stats JSON to write")
    ap.add_argument("--budget-s", type=float, default=120.0, help="wall-clock budget of the loop")
    ap.add_argument("--scan-s", type=float, default=4.0, help="scan bucket length, seconds")
    ap.add_argument("--q", type=float, default=Q_M2_S3, help="CV process noise, m^2/s^3")
    ap.add_argument("--stamp", choices=("plot", "scan"), default="plot",
                    help="Detection time: the plot's own time or its bucket start")
    args = ap.parse_args(argv)
    import stonesoup

    start = time.perf_counter()
    scans, n_plots, duration_s = build_scans(args.scenario, args.scan_s, args.stamp)
    build_s = time.perf_counter() - start
    tracker, feed = build_tracker(args.q)
    scan_times, aborted_s, rows = track_scans(tracker, feed, scans, args.budget_s)
    done = len(scan_times)
    estimate = estimate_full_run(scan_times, len(scans), aborted_s)
    write_tracks(args.tracks, tracks_table(rows))
    stats = {
        "peer": "stonesoup", "version": stonesoup.__version__,
        "config": {"q_m2_s3": args.q, "missed_distance": 3, "min_points": 3,
                   "initiator_deleter_steps": 2, "deleter_steps": 4, "scan_s": args.scan_s,
                   "stamp": args.stamp},
        "budget_s": args.budget_s, "build_s": build_s, "plots_total": n_plots,
        "plots_done": int(sum(len(s[1]) for s in scans[:done])),
        "scans_total": len(scans), "scans_done": done, "scan_times_s": scan_times,
        "aborted_scan_s": aborted_s, "duration_s": duration_s,
        "t_covered_s": min(duration_s, done * args.scan_s), "track_ids": len(
            {r[1] for r in rows}), "estimate": estimate.to_json(),
    }
    args.stats.write_text(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
