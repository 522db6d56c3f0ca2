"""Mode S replies without a position (DF4/5/20/21) folded into the tracks with their address.

They carry altitude, squawk and callsign but no position: they update a track's vertical
filter (only when newer than its last altitude), squawk and callsign, never its kinematics
or its life (they do not keep a track alive).  Batched: replies are applied in time order,
one reply per track per round, so several replies to one aircraft in a batch all count.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.tracks import TrackStatus
from airpicture.tracker.state import TrackState
from airpicture.tracker.vertical import AltitudeGate

IntArray = npt.NDArray[np.int64]


def match_tracks(state: TrackState, icao24: IntArray) -> IntArray:
    """Row of the track holding each address (-1: none); a confirmed track wins a tie."""
    out = np.full(icao24.shape, -1, np.int64)
    if len(state) == 0 or icao24.size == 0:
        return out
    order = np.lexsort((state.status == TrackStatus.TENTATIVE, state.icao24))
    ids = state.icao24[order]
    pos = np.minimum(np.searchsorted(ids, icao24, side="left"), ids.size - 1)
    hit = (ids[pos] == icao24) & (icao24 != 0)
    out[hit] = order[pos[hit]]
    return out


def round_of(track_row: IntArray) -> IntArray:
    """0 for the first reply (in the given order) to each track, 1 for the second, ..."""
    n = track_row.size
    order = np.argsort(track_row, kind="stable")
    s = track_row[order]
    new = np.r_[True, s[1:] != s[:-1]] if n else np.empty(0, bool)
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0)) if n else np.empty(0, int)
    out = np.empty(n, np.int64)
    out[order] = np.arange(n) - start
    return out


def enrich_state(state: TrackState, replies: ModeSEnrichment, sigma_alt_ft: float,
                 q_alt: float, gate: AltitudeGate | None = None) -> tuple[int, int]:
    """Apply replies (any order) to `state` in place; returns (replies matched to a track,
    altitudes used by the vertical filter)."""
    ok = np.isfinite(replies.t)
    row = np.where(ok, match_tracks(state, replies.icao24), -1)
    sel = np.flatnonzero(row >= 0)
    if sel.size == 0:
        return 0, 0
    sel = sel[np.argsort(replies.t[sel], kind="stable")]
    e, ti = replies.take(sel), row[sel]
    rnd = round_of(ti)
    n_alt = 0
    alt_gate = gate or AltitudeGate(sigma_alt_ft, q_alt)
    for r in range(int(rnd.max()) + 1):
        k = rnd == r
        rows, t, z = ti[k], e.t[k], e.alt_ft[k]
        newer = np.isfinite(z) & ~(t <= state.alt_t[rows])  # NaN alt_t: no altitude yet
        if newer.any():
            rejected = alt_gate.fold(state, rows[newer], z[newer], t[newer])
            n_alt += int(newer.sum()) - rejected
        sq = e.squawk[k] >= 0
        state.squawk[rows[sq]] = e.squawk[k][sq]
        cs = e.callsign[k].astype(bool)
        state.callsign[rows[cs]] = e.callsign[k][cs]
    return int(sel.size), n_alt
