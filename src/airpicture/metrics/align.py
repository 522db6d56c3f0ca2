"""Truth and tracks at the scoring times, as SCENARIO.md defines the alignment.

At each truth sample time every track contributes its latest row at or before that time, if
that row is confirmed and no older than `max_age_s` (12 s), predicted forward with its own
velocity; otherwise the track is gone.  A final unconfirmed row (the tracker writes one when it
deletes a confirmed track) thus ends the track at once.  Everything is vectorised over
(track, time) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_TRACK_AGE_S = 12.0
"""A track with no confirmed row in the last 12 s counts as gone (SCENARIO.md)."""


@dataclass
class PointSets:
    """Points grouped by scoring time index `k` (sorted by k), with their identity and velocity."""

    k: IntArray
    ident: IntArray
    x: FloatArray
    y: FloatArray
    vx: FloatArray
    vy: FloatArray

    def __len__(self) -> int:
        return int(self.k.shape[0])

    def take(self, index: npt.ArrayLike) -> PointSets:
        """Rows at `index` (positions or boolean mask)."""
        idx = np.asarray(index)
        return PointSets(self.k[idx], self.ident[idx], self.x[idx], self.y[idx],
                         self.vx[idx], self.vy[idx])

    def count_per_time(self, n_times: int) -> IntArray:
        """How many points each scoring time holds."""
        return np.bincount(self.k, minlength=n_times).astype(np.int64)


def _floats(table: pa.Table, name: str) -> FloatArray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def _ints(table: pa.Table, name: str) -> IntArray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.int64)


def scoring_times(
    truth_t_s: FloatArray, t_min_s: float = 0.0, step_s: float | None = None
) -> FloatArray:
    """The distinct truth sample times from `t_min_s` on, thinned to one per `step_s` bin."""
    times = np.unique(truth_t_s)
    times = times[times >= t_min_s]
    if step_s is not None and step_s > 0 and times.size:
        bins = np.floor((times - times[0]) / step_s + 1e-9)
        keep = np.ones(times.size, bool)
        keep[1:] = bins[1:] != bins[:-1]
        times = times[keep]
    return times


def truth_at(truth: pa.Table, times_s: FloatArray) -> PointSets:
    """Truth rows sampled exactly at `times_s`, ordered by time index then target id."""
    t = _floats(truth, "t")
    k = np.searchsorted(times_s, t)
    hit = np.zeros(t.size, bool)
    if times_s.size:
        hit = times_s[np.minimum(k, times_s.size - 1)] == t
    ident = _ints(truth, "target_id")
    order = np.lexsort((ident[hit], k[hit]))
    sel = np.flatnonzero(hit)[order]
    return PointSets(
        k=k[sel].astype(np.int64), ident=ident[sel],
        x=_floats(truth, "x")[sel], y=_floats(truth, "y")[sel],
        vx=_floats(truth, "vx")[sel], vy=_floats(truth, "vy")[sel],
    )


def _per_track_cumsum(track_id: IntArray, values: IntArray) -> IntArray:
    """Running sum of `values` within each run of equal (sorted) track ids."""
    total = np.cumsum(values)
    start = np.r_[True, track_id[1:] != track_id[:-1]]
    before = np.maximum.accumulate(np.where(start, total - values, 0))
    return np.asarray(total - before, np.int64)


@dataclass
class ConfirmedRows:
    """Track rows that can be scored, sorted by (track id, time).

    Confirmed rows with finite positions, and the unconfirmed rows after a track's first
    confirmed one (`confirmed` False): those end the track until a later confirmed row.
    `confirmed` None means every row is confirmed.
    """

    track_id: IntArray
    t: FloatArray
    x: FloatArray
    y: FloatArray
    vx: FloatArray
    vy: FloatArray
    confirmed: npt.NDArray[np.bool_] | None = None

    @classmethod
    def from_table(cls, tracks: pa.Table, end_rows: bool = True) -> ConfirmedRows:
        """Confirmed rows (the only ones scored) plus, with `end_rows`, the unconfirmed rows
        that follow them, sorted per track by time."""
        confirmed = np.asarray(tracks.column("confirmed").to_numpy(zero_copy_only=False), bool)
        x = _floats(tracks, "x")
        y = _floats(tracks, "y")
        good = confirmed & np.isfinite(x) & np.isfinite(y)
        keep = good | (~confirmed if end_rows else False)
        track_id = _ints(tracks, "track_id")[keep]
        t = _floats(tracks, "t")[keep]
        order = np.lexsort((t, track_id))
        track_id, t, good = track_id[order], t[order], good[keep][order]
        # Unconfirmed rows before a track's first confirmed row cannot end anything.
        after_first = _per_track_cumsum(track_id, good.astype(np.int64)) > 0
        sel = order[after_first]

        def col(name: str) -> FloatArray:
            v = _floats(tracks, name)[keep][sel]
            return np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0) if name[0] == "v" else v

        return cls(track_id[after_first], t[after_first], col("x"), col("y"), col("vx"),
                   col("vy"), good[after_first])

    def is_confirmed(self) -> npt.NDArray[np.bool_]:
        """Per row: True where confirmed (every row when `confirmed` is None)."""
        if self.confirmed is None:
            return np.ones(self.t.size, bool)
        return self.confirmed

    def first_t_per_track(self) -> dict[int, float]:
        """Time of each track's first confirmed row."""
        conf = self.is_confirmed()
        ids, first = np.unique(self.track_id[conf], return_index=True)
        return dict(zip(ids.tolist(), self.t[conf][first].tolist(), strict=True))


def align_tracks(
    rows: ConfirmedRows, times_s: FloatArray, max_age_s: float = MAX_TRACK_AGE_S
) -> PointSets:
    """Each track's latest row at or before each scoring time, predicted to it, where that
    row is confirmed.

    An unconfirmed latest row, or one older than `max_age_s`, does not count (the track is
    gone at that time).  The result is
    ordered by time index, then track id.
    """
    if rows.t.size == 0 or times_s.size == 0:
        empty_f = np.empty(0)
        return PointSets(np.empty(0, np.int64), np.empty(0, np.int64), empty_f, empty_f,
                         empty_f, empty_f)
    ids, starts = np.unique(rows.track_id, return_index=True)
    ends = np.append(starts[1:], rows.t.size)
    track_index = np.repeat(np.arange(ids.size), ends - starts)
    # Scoring times each track can cover: from its first row to its last row + max age.
    k0 = np.searchsorted(times_s, rows.t[starts], side="left")
    k1 = np.searchsorted(times_s, rows.t[ends - 1] + max_age_s, side="right")
    counts = np.maximum(k1 - k0, 0)
    pair_track = np.repeat(np.arange(ids.size), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pair_k = np.repeat(k0, counts) + offsets
    # Exact integer keys (track, time rank) so one searchsorted finds every latest row.
    all_t = np.unique(np.concatenate([rows.t, times_s]))
    width = np.int64(all_t.size + 1)
    row_key = track_index * width + np.searchsorted(all_t, rows.t)
    query_key = pair_track * width + np.searchsorted(all_t, times_s[pair_k])
    row = np.searchsorted(row_key, query_key, side="right") - 1
    age_s = times_s[pair_k] - rows.t[row]
    live = (age_s <= max_age_s + 1e-9) & rows.is_confirmed()[row]
    row, age_s, pair_k = row[live], age_s[live], pair_k[live]
    order = np.lexsort((rows.track_id[row], pair_k))
    row, age_s, pair_k = row[order], age_s[order], pair_k[order]
    return PointSets(
        k=pair_k.astype(np.int64), ident=rows.track_id[row],
        x=rows.x[row] + rows.vx[row] * age_s, y=rows.y[row] + rows.vy[row] * age_s,
        vx=rows.vx[row], vy=rows.vy[row],
    )
