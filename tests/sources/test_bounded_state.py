"""Bounded Mode S state (issue 17): 200k frames, each from a fresh random address, through
the decoder: per-aircraft states, pending DF11 addresses and pending surface CPR messages
stay within their caps, and memory stops growing."""

from __future__ import annotations

import os

import numpy as np
import pytest

from airpicture.sources.decode import MAX_PENDING_SURFACE, ModeSDecoder, Receiver
from airpicture.sources.framing import FrameBatch
from airpicture.sources.state import MAX_AIRCRAFT, MAX_ALL_CALL_ONCE, AircraftStates
from tests.sources.synth import fresh_address_frames


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_states_over_the_cap_forget_those_heard_longest_ago() -> None:
    states = AircraftStates(max_aircraft=3, max_all_call_once=2)
    for icao, t in ((1, 10.0), (2, 5.0), (3, 30.0), (4, 20.0), (5, float("nan"))):
        states.get(icao).last_t = t
        states.verified.add(icao)
    states.all_call_once = {7: 1.0, 8: 3.0, 9: 2.0}
    states.enforce_bounds()
    assert sorted(states.by_icao) == [1, 3, 4] and states.verified == {1, 3, 4}
    assert states.evicted == 2 and states.all_call_once == {9: 2.0, 8: 3.0}


@pytest.mark.slow
def test_200k_fresh_addresses_keep_the_state_within_its_caps() -> None:
    rng = np.random.default_rng(17)
    n, batch = 200_000, 5_000
    frames = fresh_address_frames(n, rng)
    times = 1.7e9 + np.arange(n) * 1e-3  # 1,000 messages/s for 200 s
    dec = ModeSDecoder([Receiver("r", 43.6, 1.37)], max_pending_surface=200)
    # (1 surface message in 40: ~625 wait for a pair at a time, over the 200 set here)
    rss = []
    peak = {"aircraft": 0, "verified": 0, "all_call_once": 0, "surface": 0}
    for k in range(0, n, batch):
        dec.decode(FrameBatch.create(frames[k:k + batch], times[k:k + batch]))
        sizes = {"aircraft": len(dec.aircraft.by_icao), "verified": len(dec.aircraft.verified),
                 "all_call_once": len(dec.aircraft.all_call_once),
                 "surface": len(dec._surface_cpr)}
        peak = {key: max(peak[key], sizes[key]) for key in peak}
        rss.append(_rss_bytes())
    assert peak["aircraft"] == MAX_AIRCRAFT and peak["verified"] <= MAX_AIRCRAFT
    assert peak["all_call_once"] == MAX_ALL_CALL_ONCE
    assert peak["surface"] == 200 and MAX_PENDING_SURFACE == 4096
    assert dec.aircraft.evicted >= 100_000  # ~150k DF17 addresses, 20k kept at a time
    assert dec.counters["frames"] == n and dec.counters["messages"] >= 0.85 * n
    # once the caps are reached (about a quarter of the way), memory stops growing
    growth = rss[-1] - rss[len(rss) // 2]
    assert growth < 20 * 2**20, f"RSS grew {growth / 2**20:.1f} MiB in the second half"
