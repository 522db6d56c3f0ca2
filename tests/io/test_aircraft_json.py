"""readsb-style aircraft.json: fields, units, the egress gate, atomic rewrite at 1 Hz."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.geo import KT_TO_MPS, LocalFrame
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.aircraft_json import from_states, from_tracks, write_atomic, write_every
from airpicture.policy.egress import Consumer, Egress
from airpicture.sources.state import AircraftState, AircraftStates

FRAME = LocalFrame(43.6293, 1.3638)


def _tracks(n: int = 2) -> TrackTable:
    t = TrackTable.empty([1])
    z = np.zeros(n)
    return TrackTable(
        track_id=np.arange(1, n + 1, dtype=np.int64), t=z + 100.0, x=np.array([0.0, 5000.0][:n]),
        y=np.array([0.0, -3000.0][:n]), vx=np.array([0.0, 100.0][:n]),
        vy=np.array([200 * KT_TO_MPS, 0.0][:n]), status=np.ones(n, np.int8),
        alt_ft=np.array([12000.0, np.nan][:n]), vrate_fpm=np.array([-640.0, np.nan][:n]),
        icao24=np.array([0x4CA2D6, 0][:n], np.int64), callsign=np.array(["RYR1AB", ""][:n], object),
        squawk=np.array([0o7421, -1][:n], np.int16), sigma_pos_m=z + 10, last_update_t=z + 98.0,
        flags=np.zeros(n, np.uint16), sensor_ids=t.sensor_ids,
        sensor_last_t=np.full((n, 1), 98.0))


def _states() -> AircraftStates:
    states = AircraftStates()
    st_ = AircraftState(0x4CA2D6, messages=1234, last_t=99.5, rssi_dbfs=-12.34, nic=8, nacp=9,
                        sil=3, version=2, adsb=True)
    states.by_icao[st_.icao24] = st_
    states.verified.add(st_.icao24)
    return states


def test_fields_and_units_from_tracks() -> None:
    doc = from_tracks(_tracks(), _states(), FRAME, 100.0, Egress())
    assert doc["now"] == 100.0 and doc["messages"] == 1234
    first, second = doc["aircraft"]
    assert first["hex"] == "4ca2d6" and first["flight"] == "RYR1AB  "
    assert first["squawk"] == "7421" and first["alt_baro"] == 12000
    assert abs(first["gs"] - 200.0) < 0.1 and abs(first["track"] - 0.0) < 0.1
    assert abs(first["lat"] - 43.6293) < 1e-6 and abs(first["lon"] - 1.3638) < 1e-6
    assert first["baro_rate"] == -640
    assert (first["nic"], first["nac_p"], first["sil"], first["version"]) == (8, 9, 3, 2)
    assert first["messages"] == 1234 and first["rssi"] == -12.3
    assert first["seen"] == 0.5 and first["seen_pos"] == 2.0
    assert second["hex"] == "~000002" and abs(second["track"] - 90.0) < 0.1
    assert "alt_baro" not in second and second["lat"] < 43.6293


class _DropAnonymous:
    """A release policy that withholds tracks without an address."""

    def tracks(self, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        return tracks.take(tracks.icao24 != 0)

    def plots(self, plots: PlotBatch, consumer: Consumer) -> PlotBatch:
        return plots


def test_track_without_altitude_takes_the_mode_s_one() -> None:
    tracks = _tracks()
    tracks.alt_ft[0] = np.nan
    states = _states()
    states.by_icao[0x4CA2D6].alt_baro_ft = 11975.0
    doc = from_tracks(tracks, states, FRAME, 100.0, Egress())
    assert doc["aircraft"][0]["alt_baro"] == 11975


def test_tracks_pass_the_egress_gate() -> None:
    doc = from_tracks(_tracks(), _states(), FRAME, 100.0, Egress(_DropAnonymous()))
    assert [a["hex"] for a in doc["aircraft"]] == ["4ca2d6"]


def test_from_states_without_tracker() -> None:
    states = _states()
    st_ = states.by_icao[0x4CA2D6]
    st_.lat_deg, st_.lon_deg, st_.pos_t, st_.alt_baro_ft = 43.7, 1.4, 99.0, 3000.0
    states.by_icao[0x123456] = AircraftState(0x123456, messages=3, last_t=99.0)  # unverified
    doc = from_states(states, 100.0)
    assert [a["hex"] for a in doc["aircraft"]] == ["4ca2d6"]
    assert doc["aircraft"][0]["alt_baro"] == 3000 and doc["aircraft"][0]["seen_pos"] == 1.0


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 50))
def test_write_atomic_leaves_valid_json_only(n: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "data" / "aircraft.json"
        write_atomic(path, {"now": 1.0, "messages": n, "aircraft": [{"hex": "abcdef"}] * n})
        assert json.loads(path.read_text())["messages"] == n
        assert [p.name for p in path.parent.iterdir()] == ["aircraft.json"]


def test_write_every_rewrites_at_1_hz(tmp_path: Path) -> None:
    path = tmp_path / "aircraft.json"
    calls: list[int] = []

    def build() -> dict[str, object]:
        calls.append(1)
        return {"now": float(len(calls)), "messages": 0, "aircraft": []}

    async def main() -> None:
        task = asyncio.create_task(write_every(path, build, period_s=0.05))
        await asyncio.sleep(0.3)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert len(calls) >= 3
    assert json.loads(path.read_text())["now"] >= 3


def test_real_feed_details_reach_aircraft_json(shared_data: Path) -> None:
    import gzip

    from airpicture.sources.decode import ModeSDecoder, Receiver
    from airpicture.sources.framing import Frame

    with gzip.open(shared_data / "traffic/raw/tutorial.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh][:30000]
    dec = ModeSDecoder([Receiver("lfbo", 43.6293, 1.3638)])
    dec.decode([Frame(bytes.fromhex(r["frame"]), r["timestamp"]) for r in rows])
    doc = from_states(dec.aircraft, rows[-1]["timestamp"])
    ac = {a["hex"]: a for a in doc["aircraft"]}["400f99"]
    assert ac["flight"].strip() == "BAW3AK" and ac["category"] == "A3"
    assert ac["type"] == "adsb_icao" and ac["nac_p"] >= 0 and ac["nac_v"] >= 0
    assert 950 < ac["nav_qnh"] < 1060 and 0 < ac["mach"] < 1 and 0 <= ac["mag_heading"] < 360
    assert "rssi" not in ac  # jsonl frames carry no signal level
    assert doc["messages"] >= ac["messages"] > 1000


def test_emergency_and_squawk_from_bds61() -> None:
    from airpicture.sources.decode import ModeSDecoder, Receiver
    from airpicture.sources.framing import Frame

    # DF17 TC 28 subtype 1 from 4ca2d6: emergency "general", Mode A 7700 (built for this test).
    msg = bytes.fromhex("8d4ca2d6e12aaa0000000075f99e")
    dec = ModeSDecoder([Receiver("r", 43.6, 1.4)])
    dec.decode([Frame(msg, 10.0)])
    (ac,) = from_states(dec.aircraft, 11.0)["aircraft"]
    assert ac["hex"] == "4ca2d6" and ac["emergency"] == "general" and ac["squawk"] == "7700"
