"""Mode S replies without position: altitude (vertical filter), squawk, callsign by address."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.tracks import TrackStatus
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.enrich import enrich_state
from airpicture.tracker.state import TrackState
from airpicture.tracker.stream import InProcessTracker
from airpicture.tracker.vertical import AltitudeGate
from tests.tracker.gen import adsb, adsb_plots, trajectories

SIGMA_FT, Q_ALT = 50.0, 4.0


def replies(rows: list[tuple[float, int, float, int, str]]) -> ModeSEnrichment:
    """From (t, icao24, alt_ft, squawk, callsign) rows."""
    n = len(rows)
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 5
    return ModeSEnrichment(
        t=np.asarray(cols[0], float), icao24=np.asarray(cols[1], np.int64),
        df=np.full(n, 4, np.int8), alt_ft=np.asarray(cols[2], float),
        squawk=np.asarray(cols[3], np.int16), callsign=np.asarray(cols[4], object),
        sensor_id=np.full(n, 2, np.int32))


def tracks(icao: list[int], alt_t: list[float], status: list[int]) -> TrackState:
    """Bare tracks with the given addresses and vertical-estimate times (NaN: no altitude)."""
    n = len(icao)
    base = TrackState.empty(1, 1)
    st_ = base.append(TrackState(
        track_id=np.arange(1, n + 1, dtype=np.int64), t=np.zeros(n), xs=np.zeros((n, 1, 5)),
        Ps=np.zeros((n, 1, 5, 5)), mu=np.ones((n, 1)), xc=np.zeros((n, 5)),
        Pc=np.zeros((n, 5, 5)), status=np.asarray(status, np.int8),
        hits_psr=np.zeros(n, np.int32), hits_id=np.zeros(n, np.int32), period_s=np.ones(n),
        last_update_t=np.zeros(n), icao24=np.asarray(icao, np.int64),
        callsign=np.full(n, "", object), squawk=np.full(n, -1, np.int16),
        flags=np.zeros(n, np.uint16), alt_ft=np.where(np.isfinite(alt_t), 10_000.0, np.nan),
        vrate_fps=np.zeros(n), alt_t=np.asarray(alt_t, float),
        alt_cov=np.tile([SIGMA_FT**2, 0.0, 30.0**2], (n, 1)), sensor_last_t=np.zeros((n, 1)),
    ))
    return st_


def naive(state: TrackState, e: ModeSEnrichment) -> None:
    """One reply at a time in time order, plain Python: the reference."""
    for j in np.argsort(e.t, kind="stable"):
        cand = [i for i in range(len(state)) if state.icao24[i] == e.icao24[j] != 0]
        if not cand:
            continue
        i = min(cand, key=lambda c: (state.status[c] == TrackStatus.TENTATIVE, c))
        if np.isfinite(e.alt_ft[j]) and not e.t[j] <= state.alt_t[i]:
            AltitudeGate(SIGMA_FT, Q_ALT).fold(state, np.array([i]), e.alt_ft[[j]], e.t[[j]])
        if e.squawk[j] >= 0:
            state.squawk[i] = e.squawk[j]
        if e.callsign[j]:
            state.callsign[i] = e.callsign[j]


reply = st.tuples(st.integers(0, 40).map(float), st.integers(0, 4),
                  st.one_of(st.just(float("nan")), st.floats(0, 40_000)),
                  st.integers(-1, 7777), st.sampled_from(["", "AFR12", "BAW9"]))


@settings(max_examples=60, deadline=None)
@given(st.lists(reply, max_size=30),
       st.lists(st.tuples(st.integers(0, 4), st.sampled_from([np.nan, 5.0, 20.0]),
                          st.sampled_from([0, 1])), min_size=0, max_size=6))
def test_batched_enrichment_matches_one_reply_at_a_time(
    rows: list[tuple[float, int, float, int, str]], trk: list[tuple[int, float, int]],
) -> None:
    icao, alt_t, status = ([list(c) for c in zip(*trk, strict=True)] if trk
                           else ([], [], []))
    mine, ref = tracks(icao, alt_t, status), tracks(icao, alt_t, status)
    e = replies(rows)
    matched, _ = enrich_state(mine, e, SIGMA_FT, Q_ALT)
    naive(ref, e)
    np.testing.assert_allclose(mine.alt_ft, ref.alt_ft, rtol=1e-9)
    np.testing.assert_allclose(mine.vrate_fps, ref.vrate_fps, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(mine.alt_t, ref.alt_t)
    np.testing.assert_array_equal(mine.alt_meas_ft, ref.alt_meas_ft)
    np.testing.assert_array_equal(mine.squawk, ref.squawk)
    assert mine.callsign.tolist() == ref.callsign.tolist()
    assert matched == sum(1 for r in rows if r[1] != 0 and r[1] in icao)


def test_tracker_takes_altitude_squawk_and_callsign_from_replies() -> None:
    """An ADS-B track without altitude gets one from DF4/20 replies; other addresses and
    replies older than the track's altitude are ignored; snapshots keep pending replies."""
    rng = np.random.default_rng(3)
    t, states = trajectories(1, 40.0, rng, area_m=20e3)
    plots, _ = adsb_plots(t, states, rng, np.array([0xABC], np.int64))
    trk = InProcessTracker([adsb()], TrackerConfig(late_window_s=0.0))
    trk.ingest(plots)
    trk.advance_to(30.0)
    assert np.isnan(trk.picture().alt_ft[0])
    climb = [(20.0 + k, 0xABC, 30_000.0 + 10.0 * k, 4321, "AFR123" if k == 3 else "")
             for k in range(8)]
    trk.enrich(replies([*climb, (25.0, 0xDEF, 1000.0, 7, "X")]))
    pic = trk.picture()
    assert pic.squawk[0] == 4321 and pic.callsign[0] == "AFR123"
    assert 30_000.0 < pic.alt_ft[0] < 30_080.0
    assert trk.stats()["enrichment_matched"] == 8
    # 35 s is not yet processed: the reply waits, survives a snapshot, then counts.
    later = InProcessTracker([adsb()], TrackerConfig(late_window_s=0.0))
    trk.enrich(replies([(35.0, 0xABC, 30_150.0, 1200, ""), (10.0, 0xABC, 5.0, -1, "")]))
    assert trk.picture().squawk[0] == 4321
    later.restore(trk.snapshot())
    later.advance_to(40.0)
    pic = later.picture()
    assert pic.squawk[0] == 1200
    assert pic.alt_ft[0] > 30_080.0  # the 10 s reply (older than the estimate) was not used
    assert later.stats()["enrichment_alt_used"] == 9
