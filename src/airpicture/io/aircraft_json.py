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
a 24-bit address get readsb's "~" hex (here the track id).  `now` is Unix seconds: callers
whose clock is stream time (a scenario, a replay) pass `epoch_offset_s`; `seen`/`seen_pos` stay
relative seconds.  `type` takes readsb's documented values (see `track_type`, docs/service.md).
The file is replaced atomically (a temporary file, then os.replace), world-readable as readsb's
(0666 less the umask): a tar1090 web server runs as another user.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
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


POSITION_FIELDS = ("lat", "lon", "gs", "track", "baro_rate")
"""The fields a track's position, velocity and climb give: readsb's `mlat` / `tisb` lists
name these when MLAT or a radar (airpicture's stand-in for TIS-B) positioned the track."""


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
    # readsb's meaning of mode_s: Mode S replies, no position transmitted.
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


def track_type(kinds: set[str], has_address: bool, st: AircraftState | None = None) -> str:
    """readsb's `type` of a positioned track (README-json.md), best source first: ADS-B
    (adsb_icao / adsb_other), MLAT (mlat), a radar -- SSR or PSR, which readsb's TIS-B values
    describe: "a Mode S target tracked by secondary radar" (tisb_icao) or a track without a
    24-bit address (tisb_trackfile) -- else other. Never mode_s: readsb keeps it for aircraft
    that transmitted no position."""
    if "adsb" in kinds or (st is not None and st.adsb):
        return "adsb_icao" if has_address else "adsb_other"
    if "mlat" in kinds or (st is not None and st.mlat):
        return "mlat"
    if kinds & {"ssr", "psr"}:
        return "tisb_icao" if has_address else "tisb_trackfile"
    return "other"


def _derived_lists(ac: dict[str, Any]) -> None:
    """readsb's `mlat` and `tisb`: the names of the fields derived from MLAT / TIS-B (radar)."""
    derived = [key for key in POSITION_FIELDS if key in ac]
    if ac["type"] == "mlat":
        ac["mlat"] = derived
    elif ac["type"].startswith("tisb"):
        ac["tisb"] = derived


def from_tracks(tracks: TrackTable, states: AircraftStates, frame: LocalFrame, now_s: float,
                egress: Egress, consumer: Consumer = LOCAL, max_age_s: float = 300.0,
                sensor_kinds: Mapping[int, str] | None = None, epoch_offset_s: float = 0.0,
                messages_total: int | None = None) -> dict[str, Any]:
    """aircraft.json content: the released tracks (Egress.tracks), then the aircraft heard
    within `max_age_s` without a released track whose summary rows pass Egress.replies.
    `sensor_kinds` (sensor id -> psr, ssr, adsb, mlat) gives `type` to tracks (see
    `track_type`). `now` = now_s + epoch_offset_s (Unix s); top-level `messages` is
    `messages_total` (a running total), else the sum over the listed aircraft."""
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
        kinds: set[str] = set()
        if sensor_kinds is not None:
            seen = np.isfinite(released.sensor_last_t[i])
            kinds = {sensor_kinds.get(int(s), "") for s in released.sensor_ids[seen]}
        ac["type"] = track_type(kinds, icao > 0, st)
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
        _derived_lists(ac)
        aircraft.append(ac)
    tracked = set(released.icao24[released.icao24 > 0].tolist())
    for icao, i in sorted(latest.items()):
        st = states.by_icao.get(icao)
        if st is not None and icao not in tracked:
            aircraft.append(_mode_s_entry(st, rows, i, now_s))
    return _document(now_s + epoch_offset_s, messages_total, aircraft)


def from_states(states: AircraftStates, now_s: float, egress: Egress,
                consumer: Consumer = LOCAL, max_age_s: float = 300.0,
                epoch_offset_s: float = 0.0, messages_total: int | None = None
                ) -> dict[str, Any]:
    """aircraft.json from the Mode S state alone (no tracker): readsb's own view, listing the
    aircraft whose summary rows pass Egress.replies, with the state's last position
    (`epoch_offset_s`, `messages_total`: as in `from_tracks`)."""
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
        _derived_lists(ac)
        aircraft.append(ac)
    return _document(now_s + epoch_offset_s, messages_total, aircraft)


UNIX_TIME_AFTER_S = 1e9
"""Stream times from 1e9 s on (2001-09-09) are Unix seconds already (live feeds, recordings of
them); smaller ones are seconds from a scenario's start."""


def epoch_offset_s(stream_t0_s: float, start_utc: object = None, own_clock: bool = False,
                   wall_s: float | None = None) -> float:
    """What to add to stream time to get Unix seconds for `now`: 0 for a source on Unix time
    (`own_clock`, or `stream_t0_s` past UNIX_TIME_AFTER_S); a scenario's `start_utc` (ISO 8601
    or Unix s, at stream time 0); else the wall clock `wall_s` (now) at stream time t0."""
    if own_clock or stream_t0_s >= UNIX_TIME_AFTER_S:
        return 0.0
    if isinstance(start_utc, int | float) and math.isfinite(start_utc):
        return float(start_utc)
    if isinstance(start_utc, str) and start_utc:
        when = datetime.fromisoformat(start_utc.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()
    return (time.time() if wall_s is None else wall_s) - stream_t0_s


def _document(now_unix_s: float, messages_total: int | None,
              aircraft: list[dict[str, Any]]) -> dict[str, Any]:
    """The top level: `now` (Unix s), `messages` (the running total when the caller keeps one,
    else the sum over what this consumer sees), `aircraft`."""
    total = (messages_total if messages_total is not None
             else sum(int(ac.get("messages", 0)) for ac in aircraft))
    return {"now": round(now_unix_s, 1), "messages": int(total), "aircraft": aircraft}


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (/proc), since
    os.umask() sets it and threads may be creating files meanwhile."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, content: dict[str, Any]) -> None:
    """Write JSON to a temporary file beside `path`, then rename it over `path`; the file is
    0666 less the umask (0644 usually), as readsb's, not mkstemp's private 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
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
