"""readsb-compatible aircraft.json from airpicture's fused tracks, for tar1090 and friends.

Field names and units follow readsb's README-json.md: `now` (epoch s), `messages` (total),
`aircraft`: [{hex, type, flight, alt_baro (ft or "ground"), alt_geom (ft), gs (kt),
track (deg), baro_rate / geom_rate (ft/min), squawk (4 octal digits), lat, lon, nic, nac_p, sil,
version, nac_v, category, emergency, nav_qnh (hPa), nav_altitude_mcp / _fms (ft),
ias / tas (kt), mach, roll, mag_heading (deg), seen, seen_pos (s), messages, rssi (dBFS),
mlat, tisb}].
As readsb, it lists every verified aircraft heard in the last 5 minutes, not only tracked ones.
Position, velocity and altitude come from the fused track (after `Egress.tracks`); counts,
signal, ADS-B quality and Comm-B details from the per-aircraft Mode S state.  Aircraft without
a released track are listed from the Mode S state alone, without lat/lon/seen_pos, when their
per-sensor summary rows (`AircraftStates.summary`) pass `Egress.replies`.  Tracks without
a 24-bit address get readsb's "~" hex (here the track id).  The file is replaced atomically:
written to a temporary file, then os.replace.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.geo import KT_TO_MPS, LocalFrame
from airpicture.core.tracks import TrackTable
from airpicture.policy.egress import LOCAL, Consumer, Egress
from airpicture.sources.state import AircraftState, AircraftStates

MPS_TO_KT = 1.0 / KT_TO_MPS


def _num(value: float, digits: int = 1) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _state_fields(st: AircraftState | None, now_s: float) -> dict[str, Any]:
    """The Mode S part of one aircraft: counts, signal, quality, identity."""
    if st is None:
        return {"messages": 0, "mlat": [], "tisb": []}
    out: dict[str, Any] = {"messages": st.messages, "mlat": [], "tisb": []}
    if math.isfinite(st.last_t):
        out["seen"] = round(max(now_s - st.last_t, 0.0), 1)
    if math.isfinite(st.rssi_dbfs):
        out["rssi"] = round(st.rssi_dbfs, 1)
    for key, level in (("nic", st.nic), ("nac_p", st.nacp), ("sil", st.sil),
                       ("version", st.version)):
        if level >= 0:
            out[key] = level
    if st.callsign:
        out["flight"] = st.callsign.ljust(8)
    if st.squawk >= 0:
        out["squawk"] = f"{st.squawk:04o}"
    for key, value, digits in (("alt_geom", st.alt_geom_ft, 0), ("geom_rate", st.geom_rate_fpm, 0),
                               ("baro_rate", st.baro_rate_fpm, 0)):
        num = _num(value, digits)
        if num is not None:
            out[key] = int(num)
    if st.nac_v >= 0:
        out["nac_v"] = st.nac_v
    if st.category:
        out["category"] = st.category
    if st.emergency:
        out["emergency"] = st.emergency
    for key, value, digits in (("nav_qnh", st.nav_qnh_hpa, 1),
                               ("nav_altitude_mcp", st.nav_altitude_mcp_ft, 0),
                               ("nav_altitude_fms", st.nav_altitude_fms_ft, 0),
                               ("ias", st.ias_kt, 0), ("tas", st.tas_kt, 0),
                               ("mach", st.mach, 3), ("roll", st.roll_deg, 2),
                               ("mag_heading", st.mag_heading_deg, 1)):
        num = _num(value, digits)
        if num is not None:
            out[key] = int(num) if digits == 0 else num
    out["type"] = "mlat" if st.mlat and not st.adsb else "adsb_icao" if st.adsb else "mode_s"
    return out


def _released(states: AircraftStates, now_s: float, max_age_s: float, egress: Egress,
              consumer: Consumer) -> tuple[ModeSEnrichment, dict[int, int]]:
    """The summary rows `consumer` may see, and the row of each aircraft's latest one."""
    rows = egress.replies(states.summary(now_s, max_age_s), consumer)
    order = np.lexsort((rows.t, rows.icao24))
    return rows, dict(zip(rows.icao24[order].tolist(), order.tolist(), strict=True))


def _identity(ac: dict[str, Any], callsign: object, squawk: int, alt_ft: float | None,
              on_ground: bool) -> None:
    """readsb's `flight` (8 characters), `squawk` (4 octal digits) and `alt_baro` (ft or
    "ground") from one source, overriding what the Mode S state gave."""
    if str(callsign or ""):
        ac["flight"] = str(callsign).ljust(8)
    if squawk >= 0:
        ac["squawk"] = f"{squawk:04o}"
    if on_ground:
        ac["alt_baro"] = "ground"
    elif alt_ft is not None:
        ac["alt_baro"] = int(alt_ft)


def _mode_s_entry(st: AircraftState, rows: ModeSEnrichment, i: int, now_s: float
                  ) -> dict[str, Any]:
    """One aircraft from its Mode S state; identity, altitude and `seen` from its released
    summary row `i`, so that what the policy blanked or withheld stays out."""
    ac: dict[str, Any] = {"hex": f"{st.icao24:06x}"}
    ac.update(_state_fields(st, now_s))
    for key in ("flight", "squawk"):
        ac.pop(key, None)
    _identity(ac, rows.callsign[i], int(rows.squawk[i]), _num(rows.alt_ft[i], 0), st.on_ground)
    ac["seen"] = round(max(now_s - float(rows.t[i]), 0.0), 1)
    return ac


def _track_type(kinds: set[str], has_address: bool) -> str:
    """readsb's `type` of a track with no Mode S state, from its contributing sensor kinds."""
    if "adsb" in kinds:
        return "adsb_icao" if has_address else "adsb_other"
    if "mlat" in kinds:
        return "mlat"
    if "ssr" in kinds:
        return "mode_s" if has_address else "mode_ac"
    return "other"


def from_tracks(tracks: TrackTable, states: AircraftStates, frame: LocalFrame, now_s: float,
                egress: Egress, consumer: Consumer = LOCAL, max_age_s: float = 300.0,
                sensor_kinds: Mapping[int, str] | None = None) -> dict[str, Any]:
    """aircraft.json content: the released tracks (Egress.tracks), then the aircraft heard
    within `max_age_s` without a released track whose summary rows pass Egress.replies.
    `sensor_kinds` (sensor id -> psr, ssr, adsb, mlat) gives `type` to tracks that have no
    Mode S state (radar and scenario tracks)."""
    released = egress.tracks(tracks, consumer)
    lat, lon = frame.ground_to_geodetic(released.x, released.y)
    gs = np.hypot(released.vx, released.vy) * MPS_TO_KT
    course = np.mod(np.degrees(np.arctan2(released.vx, released.vy)), 360.0)
    rows, latest = _released(states, now_s, max_age_s, egress, consumer)
    aircraft = []
    for i in range(len(released)):
        icao = int(released.icao24[i])
        # Mode S details (counts, signal, quality, Comm-B) only where its replies are released.
        st = states.by_icao.get(icao) if icao in latest else None
        ac: dict[str, Any] = {"hex": f"{icao:06x}" if icao > 0 else f"~{released.track_id[i]:06x}"}
        ac.update(_state_fields(st, now_s))
        if "type" not in ac and sensor_kinds is not None:
            seen = np.isfinite(released.sensor_last_t[i])
            kinds = {sensor_kinds.get(int(s), "") for s in released.sensor_ids[seen]}
            ac["type"] = _track_type(kinds, icao > 0)
        alt = _num(released.alt_ft[i], 0)
        if alt is None and st is not None:  # a track without altitude: the last Mode S one
            alt = _num(st.alt_baro_ft, 0)
        _identity(ac, released.callsign[i], int(released.squawk[i]), alt,
                  st is not None and st.on_ground)
        kinematics = (("lat", lat[i], 6), ("lon", lon[i], 6), ("gs", gs[i], 1),
                      ("track", course[i], 1), ("baro_rate", released.vrate_fpm[i], 0))
        for key, value, digits in kinematics:
            num = _num(value, digits)
            if num is not None:
                ac[key] = int(num) if key == "baro_rate" else num
        ac["seen_pos"] = round(max(now_s - float(released.last_update_t[i]), 0.0), 1)
        ac.setdefault("seen", ac["seen_pos"])
        aircraft.append(ac)
    tracked = set(released.icao24[released.icao24 > 0].tolist())
    for icao, i in sorted(latest.items()):
        st = states.by_icao.get(icao)
        if st is not None and icao not in tracked:
            aircraft.append(_mode_s_entry(st, rows, i, now_s))
    return {"now": round(now_s, 1), "messages": _total(aircraft), "aircraft": aircraft}


def from_states(states: AircraftStates, now_s: float, egress: Egress,
                consumer: Consumer = LOCAL, max_age_s: float = 300.0) -> dict[str, Any]:
    """aircraft.json from the Mode S state alone (no tracker): readsb's own view, listing the
    aircraft whose summary rows pass Egress.replies, with the state's last position."""
    rows, latest = _released(states, now_s, max_age_s, egress, consumer)
    aircraft = []
    for icao, i in sorted(latest.items()):
        st = states.by_icao.get(icao)
        if st is None:
            continue
        ac = _mode_s_entry(st, rows, i, now_s)
        for key, value, digits in (("gs", st.gs_kt, 1), ("track", st.track_deg, 1),
                                   ("lat", st.lat_deg, 6), ("lon", st.lon_deg, 6)):
            num = _num(value, digits)
            if num is not None:
                ac[key] = num
        if math.isfinite(st.pos_t):
            ac["seen_pos"] = round(max(now_s - st.pos_t, 0.0), 1)
        aircraft.append(ac)
    return {"now": round(now_s, 1), "messages": _total(aircraft), "aircraft": aircraft}


def _total(aircraft: list[dict[str, Any]]) -> int:
    """readsb's top-level `messages`, over what this consumer sees only."""
    return sum(int(ac.get("messages", 0)) for ac in aircraft)


def write_atomic(path: Path, content: dict[str, Any]) -> None:
    """Write JSON to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(content, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def write_every(path: Path, build: Callable[[], dict[str, Any]],
                      period_s: float = 1.0) -> None:
    """Rewrite `path` from `build()` every `period_s` (1 Hz, as readsb) until cancelled."""
    while True:
        await asyncio.to_thread(write_atomic, path, build())
        await asyncio.sleep(period_s)
