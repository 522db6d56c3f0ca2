"""Per-aircraft state: the batch-wise Comm-B and NACv folding equals folding record by record."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.sources.state import AircraftState, AircraftStates, _details

_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-50, 50000),
                   st.floats(-1e4, 1e4, allow_nan=False), st.just("x"))
_REGISTERS = {"bds40": ("selected_mcp", "selected_fms", "barometric_setting"),
              "bds50": ("roll", "TAS"), "bds60": ("heading", "IAS", "Mach")}


@st.composite
def comm_b_record(draw: st.DrawFn) -> dict[str, Any]:
    """A DF20/21-like record with any subset of the Comm-B registers and odd values."""
    rec: dict[str, Any] = {"df": draw(st.sampled_from(["20", "21"]))}
    for register, keys in _REGISTERS.items():
        if draw(st.booleans()):
            rec[register] = {k: draw(_VALUE) for k in keys if draw(st.booleans())}
    if draw(st.booleans()):
        rec["NACv"] = draw(st.integers(0, 4))
    return rec


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(st.tuples(st.sampled_from([0x111111, 0x222222]), comm_b_record()),
                      max_size=25))
def test_comm_b_folding_matches_record_by_record(batch: list[tuple[int, dict[str, Any]]]
                                                 ) -> None:
    states = AircraftStates()
    states._comm_b([r for _, r in batch], [i for i, _ in batch])
    states._nac_v(np.array([i for i, _ in batch], np.int64), [r for _, r in batch])
    expected: dict[int, AircraftState] = {}
    for icao, rec in batch:
        state = expected.setdefault(icao, AircraftState(icao))
        _details(rec, state)
        if rec.get("NACv") is not None:
            state.nac_v = int(rec["NACv"])
    for icao, want in expected.items():
        got = states.by_icao.get(icao, AircraftState(icao))
        assert dataclasses.astuple(got) == dataclasses.astuple(want) or \
            repr(dataclasses.astuple(got)) == repr(dataclasses.astuple(want))


def test_heard_by_is_each_sensors_last_time(shared_data: Path) -> None:
    """Two receivers with their own sensor ids: heard_by is, per aircraft and sensor, the last
    time of a verified message from that receiver (one-receiver batch, then a mixed one)."""
    import gzip
    import json

    from airpicture.sources.decode import ModeSDecoder, Receiver
    from airpicture.sources.framing import Frame

    with gzip.open(shared_data / "traffic/raw/tutorial.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh][:20000]
    frames = [Frame(bytes.fromhex(r["frame"]), r["timestamp"], receiver=min(k % 3, 1))
              for k, r in enumerate(rows)]
    for f in frames[:8000]:
        f.receiver = 0
    receivers = [Receiver("a", 43.6293, 1.3638, 5, 6), Receiver("b", 43.5, 1.5, 7, 8)]
    dec = ModeSDecoder(receivers, aircraft=AircraftStates(receiver_sensors=[(5, 6), (7, 8)]))
    records = dec.decode(frames[:8000]).records + dec.decode(frames[8000:]).records
    expected: dict[int, dict[int, float]] = {}
    for rec in records:
        icao = int(rec["icao24"], 16)
        if icao in dec.aircraft.verified:
            sensor = (5, 7)[rec["receiver"]]
            mine = expected.setdefault(icao, {})
            mine[sensor] = max(mine.get(sensor, -1.0), rec["timestamp"])
    assert any(len(v) == 2 for v in expected.values())
    got = {i: st.heard_by for i, st in dec.aircraft.by_icao.items() if st.heard_by}
    assert got == expected
    for icao, heard in got.items():
        assert max(heard.values()) == dec.aircraft.by_icao[icao].last_t


def test_sensor_ids_follow_receivers_and_mlat() -> None:
    receiver = np.array([0, 1, 1, 0], np.int64)
    mlat = np.array([False, False, True, True])
    assert AircraftStates()._sensors(receiver, mlat).tolist() == [1, 3, 4, 2]
    custom = AircraftStates(receiver_sensors=[(5, 6), (7, 8)])
    assert custom._sensors(receiver, mlat).tolist() == [5, 7, 8, 6]


def test_summary_rows_per_aircraft_and_recent_sensor() -> None:
    states = AircraftStates()
    for icao, heard, verified in ((0x222222, {3: 950.0, 1: 990.0, 5: 600.0}, True),
                                  (0x111111, {1: 800.0}, True),
                                  (0x333333, {1: 999.0}, False),  # parity-only address
                                  (0x444444, {1: 650.0}, True)):  # too old
        states.by_icao[icao] = AircraftState(icao, last_t=max(heard.values()), heard_by=heard,
                                             alt_baro_ft=float(icao % 1000), squawk=icao % 4096,
                                             callsign=f"C{icao:x}")
        if verified:
            states.verified.add(icao)
    rows = states.summary(1000.0)
    assert list(zip(rows.icao24.tolist(), rows.sensor_id.tolist(), rows.t.tolist(),
                    strict=True)) == [(0x111111, 1, 800.0), (0x222222, 1, 990.0),
                                      (0x222222, 3, 950.0)]
    assert (rows.df == -1).all()
    for k, icao in enumerate(rows.icao24.tolist()):
        st_ = states.by_icao[icao]
        assert (rows.alt_ft[k], rows.squawk[k], rows.callsign[k]) == (
            st_.alt_baro_ft, st_.squawk, st_.callsign)
    assert len(states.summary(1000.0, max_age_s=10.0)) == 1
    assert len(AircraftStates().summary(0.0)) == 0
