"""readsb-style aircraft.json: fields, units, the egress gate, atomic rewrite at 1 Hz."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.geo import KT_TO_MPS, LocalFrame
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.aircraft_json import (
    epoch_offset_s,
    from_states,
    from_tracks,
    write_atomic,
    write_every,
)
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
                        sil=3, version=2, adsb=True, heard_by={1: 99.5})
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

    def replies(self, replies: ModeSEnrichment, consumer: Consumer) -> ModeSEnrichment:
        return replies


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
    states.by_icao[0x123456] = AircraftState(0x123456, messages=3, last_t=99.0,
                                             heard_by={1: 99.0})  # unverified
    doc = from_states(states, 100.0, Egress())
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
    doc = from_states(dec.aircraft, rows[-1]["timestamp"], Egress())
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
    (ac,) = from_states(dec.aircraft, 11.0, Egress())["aircraft"]
    assert ac["hex"] == "4ca2d6" and ac["emergency"] == "general" and ac["squawk"] == "7700"


def _add(states: AircraftStates, icao: int, heard_by: dict[int, float], verified: bool = True,
         **fields: object) -> AircraftState:
    st_ = AircraftState(icao, last_t=max(heard_by.values()), heard_by=heard_by, **fields)
    states.by_icao[icao] = st_
    if verified:
        states.verified.add(icao)
    return st_


def _hexes(doc: dict[str, object]) -> list[str]:
    return [a["hex"] for a in doc["aircraft"]]  # type: ignore[attr-defined]


def test_mode_s_only_aircraft_listed_without_position() -> None:
    states = _states()
    # Heard only in DF4/5/20/21 (verified earlier by two DF11): altitude and squawk, no position.
    _add(states, 0x3C6589, {1: 97.0}, messages=57, alt_baro_ft=24975.0, squawk=0o1000)
    # Positions in the Mode S state, but no (confirmed) track: still no lat/lon from the state.
    _add(states, 0x440123, {1: 96.0}, messages=12, lat_deg=43.7, lon_deg=1.5, pos_t=96.0,
         adsb=True, on_ground=True, callsign="EZY12")
    doc = from_tracks(_tracks(), states, FRAME, 100.0, Egress())
    by_hex = {a["hex"]: a for a in doc["aircraft"]}
    assert _hexes(doc).count("4ca2d6") == 1 and "lat" in by_hex["4ca2d6"]
    mode_s = by_hex["3c6589"]
    assert mode_s["type"] == "mode_s" and mode_s["messages"] == 57
    assert mode_s["alt_baro"] == 24975 and mode_s["squawk"] == "1000" and mode_s["seen"] == 3.0
    ground = by_hex["440123"]
    assert ground["type"] == "adsb_icao" and ground["alt_baro"] == "ground"
    assert ground["flight"] == "EZY12   "
    for ac in (mode_s, ground):
        assert not {"lat", "lon", "seen_pos", "gs", "track"} & set(ac)
    assert _hexes(doc) == ["4ca2d6", "~000002", "3c6589", "440123"]


class _WithholdSensor:
    """Releases all tracks, and the replies of every sensor but one."""

    def __init__(self, sensor_id: int) -> None:
        self.sensor_id = sensor_id

    def tracks(self, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        return tracks

    def plots(self, plots: PlotBatch, consumer: Consumer) -> PlotBatch:
        return plots

    def replies(self, replies: ModeSEnrichment, consumer: Consumer) -> ModeSEnrichment:
        return replies.take(replies.sensor_id != self.sensor_id)


def _build(kind: str, states: AircraftStates, egress: Egress, **kw: float) -> dict[str, object]:
    if kind == "from_tracks":
        return from_tracks(TrackTable.empty([1, 3]), states, FRAME, 1000.0, egress, **kw)
    return from_states(states, 1000.0, egress, **kw)


@pytest.mark.parametrize("kind", ["from_tracks", "from_states"])
def test_policy_withholding_a_sensor_removes_aircraft_heard_only_by_it(kind: str) -> None:
    states = AircraftStates()
    _add(states, 0xAAAAAA, {1: 990.0}, alt_baro_ft=5000.0)
    _add(states, 0xBBBBBB, {1: 995.0, 3: 980.0}, callsign="AFR12", squawk=0o7000)
    _add(states, 0xCCCCCC, {3: 900.0})
    _add(states, 0xDDDDDD, {1: 999.0, 3: 600.0})  # sensor 3 heard it too long ago
    everything = _build(kind, states, Egress())
    assert _hexes(everything) == ["aaaaaa", "bbbbbb", "cccccc", "dddddd"]
    doc = _build(kind, states, Egress(_WithholdSensor(1)))
    assert _hexes(doc) == ["bbbbbb", "cccccc"]
    bbb = doc["aircraft"][0]  # type: ignore[index]
    assert bbb["seen"] == 20.0  # the released sensor's last time, not the withheld one's
    assert bbb["flight"] == "AFR12   " and bbb["squawk"] == "7000"
    assert _hexes(_build(kind, states, Egress(_WithholdSensor(3)))) == [
        "aaaaaa", "bbbbbb", "dddddd"]


class _BlankIdentity(_WithholdSensor):
    """Releases every reply, with callsign and squawk blanked."""

    def replies(self, replies: ModeSEnrichment, consumer: Consumer) -> ModeSEnrichment:
        out = replies.take(np.arange(len(replies)))
        out.callsign[:] = ""
        out.squawk[:] = -1
        return out


@pytest.mark.parametrize("kind", ["from_tracks", "from_states"])
def test_identity_blanked_by_the_policy_stays_out(kind: str) -> None:
    states = AircraftStates()
    _add(states, 0xBBBBBB, {1: 995.0}, callsign="AFR12", squawk=0o7000)
    (ac,) = _build(kind, states, Egress(_BlankIdentity(0)))["aircraft"]  # type: ignore[misc]
    assert ac["hex"] == "bbbbbb" and "flight" not in ac and "squawk" not in ac


@pytest.mark.parametrize("kind", ["from_tracks", "from_states"])
def test_unverified_and_old_aircraft_never_listed(kind: str) -> None:
    states = AircraftStates()
    _add(states, 0x38949B, {1: 999.0}, verified=False, messages=40)  # parity-only address
    _add(states, 0x111111, {1: 699.0})  # 301 s ago
    _add(states, 0x222222, {1: 701.0})  # 299 s ago
    assert _hexes(_build(kind, states, Egress())) == ["222222"]
    assert _hexes(_build(kind, states, Egress(), max_age_s=400.0)) == ["111111", "222222"]
    states.verified.add(0x38949B)
    assert "38949b" in _hexes(_build(kind, states, Egress()))


@pytest.mark.slow
def test_tutorial_aircraft_json_lists_every_verified_aircraft(shared_data: Path,
                                                              tmp_path: Path) -> None:
    import gzip

    from airpicture.sources.ingest import Ingest, parse_receiver
    from airpicture.sources.transports import parse_source

    path = shared_data / "traffic/raw/tutorial.jsonl.gz"
    last_heard: dict[int, float] = {}
    with gzip.open(path, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            icao = int(row["icao24"], 16)
            last_heard[icao] = max(last_heard.get(icao, -1.0), row["timestamp"])
    end = max(last_heard.values())
    out = tmp_path / "aircraft.json"
    ingest = Ingest([parse_source(str(path))], [parse_receiver("lfbo:43.6293:1.3638", 0)], out)
    asyncio.run(ingest.run())
    doc = json.loads(out.read_text())
    listed = {int(h, 16) for h in _hexes(doc) if not h.startswith("~")}
    verified = ingest.decoder.aircraft.verified
    expected = {a for a in verified if last_heard[a] >= end - 300.0}
    parity_only = {0x000000, 0x38949B, 0x579216, 0xF041C3}
    assert parity_only <= last_heard.keys() and not parity_only & verified
    assert expected and expected <= listed <= verified
    assert not listed & parity_only
    with_position = [a for a in doc["aircraft"] if "lat" in a]
    without = [a for a in doc["aircraft"] if "lat" not in a]
    assert without and all("seen_pos" not in a and a["messages"] > 0 for a in without)
    assert len({a["hex"] for a in with_position + without}) == len(doc["aircraft"])


def test_tracked_aircraft_keeps_only_track_fields_when_its_replies_are_withheld() -> None:
    # The track is released, its receiver's replies are not: position and identity from the
    # track stay, Mode S details (counts, signal, quality) of that receiver do not.
    doc = from_tracks(_tracks(1), _states(), FRAME, 100.0, Egress(_WithholdSensor(1)))
    (only,) = doc["aircraft"]
    assert only["hex"] == "4ca2d6" and "lat" in only and only["flight"] == "RYR1AB  "
    assert only["messages"] == 0 and doc["messages"] == 0
    assert not {"rssi", "nic", "nac_p", "sil", "version"} & set(only)
    released = from_tracks(_tracks(1), _states(), FRAME, 100.0, Egress(_WithholdSensor(9)))
    assert released["aircraft"][0]["rssi"] == -12.3 and released["messages"] == 1234


def test_type_of_tracks_without_mode_s_state_comes_from_their_sensors() -> None:
    tracks = _tracks()  # one sensor (id 1); track 1 has an address, track 2 none
    for kind, with_address, without in (("adsb", "adsb_icao", "adsb_other"),
                                         ("mlat", "mlat", "mlat"),
                                         ("ssr", "tisb_icao", "tisb_trackfile"),
                                         ("psr", "tisb_icao", "tisb_trackfile"),
                                         ("", "other", "other")):
        doc = from_tracks(tracks, AircraftStates(), FRAME, 100.0, Egress(),
                          sensor_kinds={1: kind})
        assert [a["type"] for a in doc["aircraft"]] == [with_address, without], kind
    # The Mode S state's own type wins where there is one.
    doc = from_tracks(tracks, _states(), FRAME, 100.0, Egress(), sensor_kinds={1: "psr"})
    assert doc["aircraft"][0]["type"] == "adsb_icao"


READSB_TYPES = {"adsb_icao", "adsb_icao_nt", "adsr_icao", "tisb_icao", "adsc", "mlat", "other",
                "mode_s", "adsb_other", "adsr_other", "tisb_other", "tisb_trackfile", "unknown"}
"""readsb's README-json.md values of `type`."""


@pytest.mark.parametrize("kind", ["adsb", "mlat", "ssr", "psr", ""])
def test_type_is_a_readsb_value_and_positioned_tracks_are_never_mode_s(kind: str) -> None:
    # A Mode S state heard by replies only (no ADS-B, no MLAT) on a radar-positioned track:
    # readsb's mode_s means "no position transmitted", so the track is not mode_s.
    states = _states()
    states.by_icao[0x4CA2D6].adsb = False
    doc = from_tracks(_tracks(), states, FRAME, 100.0, Egress(), sensor_kinds={1: kind})
    types = [a["type"] for a in doc["aircraft"]]
    assert set(types) <= READSB_TYPES and "mode_s" not in types, types


def test_mlat_and_tisb_lists_name_the_fields_they_gave() -> None:
    for kind, listed in (("mlat", "mlat"), ("ssr", "tisb")):
        doc = from_tracks(_tracks(1), AircraftStates(), FRAME, 100.0, Egress(),
                          sensor_kinds={1: kind})
        (ac,) = doc["aircraft"]
        assert ac[listed] == ["lat", "lon", "gs", "track", "baro_rate"], kind
        other = "tisb" if listed == "mlat" else "mlat"
        assert ac[other] == []
    adsb = from_tracks(_tracks(1), _states(), FRAME, 100.0, Egress(), sensor_kinds={1: "adsb"})
    assert adsb["aircraft"][0]["mlat"] == adsb["aircraft"][0]["tisb"] == []


def test_now_is_unix_seconds_with_an_epoch_offset_and_seen_stays_relative() -> None:
    offset = 1_780_000_000.0
    doc = from_tracks(_tracks(), _states(), FRAME, 100.0, Egress(), epoch_offset_s=offset)
    assert doc["now"] == offset + 100.0
    assert doc["aircraft"][0]["seen"] == 0.5 and doc["aircraft"][0]["seen_pos"] == 2.0
    assert from_states(_states(), 100.0, Egress(), epoch_offset_s=offset)["now"] == offset + 100


def test_epoch_offset_from_the_start_utc_or_the_wall_clock() -> None:
    assert epoch_offset_s(1.7e9) == 0.0 and epoch_offset_s(0.0, own_clock=True) == 0.0
    assert epoch_offset_s(0.0, "2026-06-01T12:00:00Z") == 1780315200.0
    assert epoch_offset_s(0.0, 1780315200) == 1780315200.0
    assert epoch_offset_s(-1.0, wall_s=1780315200.0) == 1780315201.0


def test_messages_is_the_running_total_when_given() -> None:
    doc = from_tracks(_tracks(), _states(), FRAME, 100.0, Egress(), messages_total=99_999)
    assert doc["messages"] == 99_999
    assert from_states(_states(), 100.0, Egress(), messages_total=7)["messages"] == 7


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_write_atomic_is_world_readable_as_readsb_respecting_the_umask(
        tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        path = tmp_path / "aircraft.json"
        write_atomic(path, {"now": 1.0, "messages": 0, "aircraft": []})
        write_atomic(path, {"now": 2.0, "messages": 0, "aircraft": []})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
