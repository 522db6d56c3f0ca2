"""Per-aircraft state: the batch-wise Comm-B and NACv folding equals folding record by record."""

from __future__ import annotations

import dataclasses
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
