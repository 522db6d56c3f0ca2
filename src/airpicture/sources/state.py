"""Per-aircraft Mode S state: last position, identity, quality and message counts.

It serves three users: CPR decoding (the reference follows the aircraft), the speed check
(last accepted position), and aircraft.json (messages, rssi, nic/nac_p/sil, gs, track ...,
and which sensors heard each aircraft, so that the egress gate can filter by receiver).
Updates are vectorised per batch and loop only over the aircraft present in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.sources.limits import in_range

NAN = math.nan
F64 = npt.NDArray[np.float64]
MAX_AIRCRAFT = 20_000
"""Most aircraft states kept (a busy receiver hears ~1,000-3,000; an aggregated network feed
more): beyond it, those heard longest ago are forgotten first.  Besides, aircraft not heard
for an hour are forgotten (`prune`)."""
MAX_ALL_CALL_ONCE = 20_000
"""Most DF11 addresses heard once and waiting 60 s for a second hearing; beyond it, the
oldest are forgotten (random bit errors create a fresh address per bad reply)."""


@dataclass(slots=True)
class AircraftState:
    """What is known of one aircraft (NaN / -1 / "" unknown). Times in feed seconds."""

    icao24: int
    messages: int = 0
    last_t: float = NAN
    rssi_dbfs: float = NAN
    callsign: str = ""
    squawk: int = -1
    alt_baro_ft: float = NAN
    alt_geom_ft: float = NAN
    gs_kt: float = NAN
    track_deg: float = NAN
    baro_rate_fpm: float = NAN
    geom_rate_fpm: float = NAN
    lat_deg: float = NAN
    lon_deg: float = NAN
    pos_t: float = NAN
    fail_lat_deg: float = NAN
    """The last position if it failed the speed check (NaN when it passed)."""
    fail_lon_deg: float = NAN
    fail_t: float = NAN
    on_ground: bool = False
    version: int = -1
    nic_a: int = 0
    nic: int = -1
    nacp: int = -1
    sil: int = -1
    adsb: bool = False
    mlat: bool = False
    nac_v: int = -1
    emergency: str = ""
    category: str = ""
    nav_qnh_hpa: float = NAN
    nav_altitude_mcp_ft: float = NAN
    nav_altitude_fms_ft: float = NAN
    ias_kt: float = NAN
    tas_kt: float = NAN
    mach: float = NAN
    roll_deg: float = NAN
    mag_heading_deg: float = NAN
    heard_by: dict[int, float] = field(default_factory=dict)
    """Sensor id -> last time a verified message of this aircraft came from that sensor."""


def _last_valid(icao_sorted: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_],
                starts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Per group (rows sorted by icao then time): index of its last valid row, -1 if none."""
    pos = np.where(valid, np.arange(valid.size), -1)
    last = np.maximum.reduceat(pos, starts) if valid.size else np.empty(0, np.int64)
    return np.where(last >= starts, last, -1)


@dataclass
class AircraftStates:
    """All aircraft by 24-bit address, plus the set of CRC-verified addresses."""

    by_icao: dict[int, AircraftState] = field(default_factory=dict)
    verified: set[int] = field(default_factory=set)
    all_call_once: dict[int, float] = field(default_factory=dict)
    """DF11 addresses heard once so far, with when: a second DF11 within 60 s verifies."""
    receiver_sensors: list[tuple[int, int]] = field(default_factory=list)
    """(ADS-B sensor id, MLAT sensor id) of each receiver index, for `heard_by`; empty:
    receiver i has 2i+1 and 2i+2 (as `ingest.parse_receiver` numbers them)."""
    max_aircraft: int = MAX_AIRCRAFT
    max_all_call_once: int = MAX_ALL_CALL_ONCE
    evicted: int = 0
    """Aircraft forgotten because `max_aircraft` was reached."""

    def enforce_bounds(self) -> None:
        """Keep at most `max_aircraft` states (forgetting those heard longest ago, and their
        verification) and `max_all_call_once` pending DF11 addresses (the oldest go)."""
        excess = len(self.by_icao) - self.max_aircraft
        if excess > 0:
            icaos = np.fromiter(self.by_icao.keys(), np.int64, len(self.by_icao))
            last = np.fromiter((st.last_t for st in self.by_icao.values()), float, icaos.size)
            oldest = np.argpartition(np.nan_to_num(last, nan=-np.inf), excess - 1)[:excess]
            for icao in icaos[oldest].tolist():
                del self.by_icao[icao]
                self.verified.discard(icao)
            self.evicted += excess
        if len(self.verified) > self.max_aircraft:  # verified without a state: none expected
            self.verified.intersection_update(self.by_icao.keys())
        excess = len(self.all_call_once) - self.max_all_call_once
        if excess > 0:
            newest = sorted(self.all_call_once.items(), key=lambda kv: kv[1])[excess:]
            self.all_call_once = dict(newest)

    def verify(self, squitter_icao: npt.NDArray[np.int64], all_call_icao: npt.NDArray[np.int64],
               all_call_t: F64) -> None:
        """Trust addresses from DF17/18 (their CRC covers the address), and DF11 addresses heard
        twice within 60 s: a DF11 with a bit error can still pass its interrogator-overlaid
        parity, and DF4/5/20/21 addresses come from parity alone, so a single one may be a
        phantom aircraft (readsb's rule too)."""
        self.verified.update(np.unique(squitter_icao).tolist())
        if all_call_icao.size == 0:
            return
        uniq, first, counts = np.unique(all_call_icao, return_index=True, return_counts=True)
        for icao, i, count in zip(uniq.tolist(), first.tolist(), counts.tolist(), strict=True):
            if icao in self.verified:
                continue
            t = float(all_call_t[i])
            before = self.all_call_once.get(icao)
            if count >= 2 or (before is not None and abs(t - before) <= 60.0):
                self.verified.add(icao)
                self.all_call_once.pop(icao, None)
            else:
                self.all_call_once[icao] = t

    def prune(self, now_s: float, max_age_s: float = 3600.0) -> int:
        """Forget aircraft not heard for `max_age_s` (a long-running feed would grow for
        ever); the number forgotten."""
        old = [i for i, st in self.by_icao.items() if not now_s - st.last_t <= max_age_s]
        for icao in old:
            del self.by_icao[icao]
            self.verified.discard(icao)
        self.all_call_once = {i: t for i, t in self.all_call_once.items()
                              if now_s - t <= 60.0}
        return len(old)

    def get(self, icao: int) -> AircraftState:
        state = self.by_icao.get(icao)
        if state is None:
            state = self.by_icao[icao] = AircraftState(icao)
        return state

    def update(self, records: list[dict[str, Any]], cols: dict[str, Any]) -> None:
        """Fold a batch's non-position fields into the states (only verified addresses)."""
        keep = np.flatnonzero(cols["verified"])
        order = keep[np.lexsort((cols["t"][keep], cols["icao"][keep]))]
        if order.size == 0:
            return
        icao = cols["icao"][order]
        uniq, starts = np.unique(icao, return_index=True)
        counts = np.diff(np.append(starts, icao.size))
        df = cols["df"][order]
        adsb = ((df == 17) | (df == 18)) & ~cols["mlat"][order]
        squitters = np.add.reduceat(adsb.astype(np.int64), starts)
        t = cols["t"][order]
        vrate = cols["vrate"][order]
        baro_rate = cols["vrate_baro"][order]
        fields_: dict[str, tuple[F64 | npt.NDArray[Any], npt.NDArray[np.bool_]]] = {}
        alt = cols["altitude"][order]
        baro = cols["baro"][order]
        fields_["alt_baro_ft"] = (alt, np.isfinite(alt) & baro)
        fields_["alt_geom_ft"] = (alt, np.isfinite(alt) & ~baro)
        for name, key in (("gs_kt", "gs"), ("track_deg", "track")):
            values = cols[key][order]
            fields_[name] = (values, np.isfinite(values))
        fields_["baro_rate_fpm"] = (vrate, np.isfinite(vrate) & baro_rate)
        fields_["geom_rate_fpm"] = (vrate, np.isfinite(vrate) & ~baro_rate)
        squawk = cols["squawk"][order]
        fields_["squawk"] = (squawk, squawk >= 0)
        callsign = cols["callsign"][order]
        fields_["callsign"] = (callsign, callsign != "")
        lasts = {name: _last_valid(icao, ok, starts) for name, (_, ok) in fields_.items()}
        rssi = cols["rssi"][order]
        power = np.where(np.isfinite(rssi), 10 ** (rssi / 10), 0.0)
        n_rssi = np.add.reduceat(np.isfinite(rssi).astype(float), starts)
        mean_power = np.add.reduceat(power, starts) / np.maximum(n_rssi, 1)
        sensor = self._sensors(cols["receiver"][order], cols["mlat"][order])
        one_sensor = int(sensor[0]) if (sensor == sensor[0]).all() else None
        for k, icao_k in enumerate(uniq.tolist()):
            st = self.get(icao_k)
            st.messages += int(counts[k])
            st.adsb = st.adsb or bool(squitters[k])
            st.last_t = float(t[starts[k] + counts[k] - 1])
            if one_sensor is not None:
                st.heard_by[one_sensor] = st.last_t
            if n_rssi[k]:
                st.rssi_dbfs = float(10 * np.log10(max(mean_power[k], 1e-10)))
            for name, (values, _) in fields_.items():
                i = lasts[name][k]
                if i >= 0:
                    value = values[i]
                    setattr(st, name, value.item() if hasattr(value, "item") else value)
        if one_sensor is None:
            self._heard_by(icao, sensor, t)
        self._status(records, cols)

    def _sensors(self, receiver: npt.NDArray[np.int64], mlat: npt.NDArray[np.bool_]
                 ) -> npt.NDArray[np.int64]:
        """Sensor id of each row: its receiver's MLAT sensor for MLAT rows, else its ADS-B one."""
        if not self.receiver_sensors:
            return 2 * receiver + 1 + mlat
        return np.asarray(self.receiver_sensors, np.int64)[receiver, mlat.astype(np.int64)]

    def _heard_by(self, icao: npt.NDArray[np.int64], sensor: npt.NDArray[np.int64],
                  t: F64) -> None:
        """Last time of each (aircraft, sensor) pair of a batch sorted by aircraft then time."""
        key = (icao << 32) | (sensor & 0xFFFFFFFF)
        pairs, from_end = np.unique(key[::-1], return_index=True)
        last_t = t[key.size - 1 - from_end]
        for pair, when in zip(pairs.tolist(), last_t.tolist(), strict=True):
            self.by_icao[pair >> 32].heard_by[pair & 0xFFFFFFFF] = when

    def summary(self, now_s: float, max_age_s: float = 300.0) -> ModeSEnrichment:
        """One row (df -1) per verified aircraft and sensor that heard it within `max_age_s`:
        that sensor's last time and the aircraft's latest altitude, squawk and callsign.

        What aircraft.json lists of Mode S data passes the egress gate in this form, so a
        release policy can withhold an aircraft by the receivers that heard it.
        """
        rows: list[tuple[float, int, float, int, str, int]] = []
        for icao in sorted(self.verified):
            st = self.by_icao.get(icao)
            if st is None:
                continue
            rows += [(when, icao, st.alt_baro_ft, st.squawk, st.callsign, sensor)
                     for sensor, when in sorted(st.heard_by.items())
                     if now_s - when <= max_age_s]
        if not rows:
            return ModeSEnrichment.empty()
        t, icao24, alt, squawk, callsign, sensor_id = zip(*rows, strict=True)
        return ModeSEnrichment(
            t=np.array(t, float), icao24=np.array(icao24, np.int64),
            df=np.full(len(rows), -1, np.int8), alt_ft=np.array(alt, float),
            squawk=np.array(squawk, np.int16), callsign=np.array(callsign, object),
            sensor_id=np.array(sensor_id, np.int32))

    def _status(self, records: list[dict[str, Any]], cols: dict[str, Any]) -> None:
        """Operational status (BDS 6,5), target state (6,2), velocity accuracy, category and
        Comm-B (4,0 5,0 6,0): the less frequent fields, for aircraft.json."""
        rows = np.asarray(cols["status_rows"], np.int64)
        rows = rows[cols["verified"][rows]]
        if rows.size == 0:
            return
        recs = [records[i] for i in rows.tolist()]
        icaos = cols["icao"][rows].tolist()
        self._nac_v(cols["icao"][rows], recs)
        comm_b = np.isin(cols["df"][rows], (20, 21))
        if comm_b.any() and "62" not in {r.get("bds") for r in recs}:
            # No BDS 6,2 shares their fields in this batch: Comm-B rows are folded apart.
            self._comm_b([recs[k] for k in np.flatnonzero(comm_b).tolist()],
                         [icaos[k] for k in np.flatnonzero(comm_b).tolist()])
            keep = np.flatnonzero(~comm_b).tolist()
            recs, icaos = [recs[k] for k in keep], [icaos[k] for k in keep]
        for rec, icao in zip(recs, icaos, strict=True):
            bds = rec.get("bds")
            if bds == "09":  # airborne velocity: NACv only, folded above
                continue
            st = self.get(icao)
            _details(rec, st)
            if bds not in ("65", "62"):
                continue
            if rec.get("NACp") is not None:
                st.nacp = int(rec["NACp"])
            if bds == "65":
                st.version = int(rec.get("version", -1))
                st.nic_a = int(rec.get("NICs", rec.get("NICa", 0)) or 0)
                if st.version >= 1 and rec.get("SIL") is not None:
                    st.sil = int(rec["SIL"])
            st.adsb = True

    def _comm_b(self, recs: list[dict[str, Any]], icaos: list[int]) -> None:
        """Comm-B fields (BDS 4,0 5,0 6,0) of DF20/21 rows: each aircraft's last value of
        each, read from the end of the batch so that rows after the last needed are skipped."""
        missing: dict[int, list[tuple[str, str, str]]] = {}
        for rec, icao in zip(reversed(recs), reversed(icaos), strict=True):
            left = missing.get(icao)
            if left is None:
                left = missing[icao] = list(_COMM_B_FIELDS)
            for item in left.copy():  # usually one or two fields still unseen, often none
                fields_ = rec.get(item[0])
                if isinstance(fields_, dict) and _set(self.get(icao), item[2],
                                                      fields_.get(item[1]), item[1]):
                    left.remove(item)

    def _nac_v(self, icao: npt.NDArray[np.int64], recs: list[dict[str, Any]]) -> None:
        """Each aircraft's last NACv of the batch (mostly from the frequent BDS 0,9), at once."""
        nac_v = np.array([r.get("NACv") for r in recs], float)  # None -> NaN
        order = np.argsort(icao, kind="stable")
        icao_s = icao[order]
        uniq, starts = np.unique(icao_s, return_index=True)
        last = _last_valid(icao_s, np.isfinite(nac_v[order]), starts)
        for icao_k, i in zip(uniq.tolist(), last.tolist(), strict=True):
            if i >= 0:
                self.get(icao_k).nac_v = int(nac_v[order[i]])

    def _arrays(self, icao: npt.NDArray[np.int64], names: tuple[str, ...], fill: float
                ) -> list[F64]:
        uniq, inv = np.unique(icao, return_inverse=True)
        table = np.full((len(names), uniq.size), fill, float)
        for k, icao_k in enumerate(uniq.tolist()):
            st = self.by_icao.get(icao_k)
            if st is not None:
                table[:, k] = [getattr(st, n) for n in names]
        return [table[j][inv] for j in range(len(names))]

    def last_positions(self, icao: npt.NDArray[np.int64]) -> tuple[F64, F64, F64]:
        """Last accepted position (lat, lon, t) of each row's aircraft, NaN where none."""
        lat, lon, t = self._arrays(icao, ("lat_deg", "lon_deg", "pos_t"), NAN)
        return lat, lon, t

    last_accepted = last_positions

    def last_failed(self, icao: npt.NDArray[np.int64]) -> tuple[F64, F64, F64]:
        """Each row's aircraft's last position if that one failed the speed check, else NaN."""
        lat, lon, t = self._arrays(icao, ("fail_lat_deg", "fail_lon_deg", "fail_t"), NAN)
        return lat, lon, t

    def update_failed(self, icao: npt.NDArray[np.int64], rows: npt.NDArray[np.int64],
                      cols: dict[str, Any], lat: F64, lon: F64,
                      failed: npt.NDArray[np.bool_]) -> None:
        """Remember whether each aircraft's last position of the batch failed the check."""
        if icao.size == 0:
            return
        uniq, starts = np.unique(icao, return_index=True)
        last = np.append(starts[1:], icao.size) - 1
        for k, icao_k in enumerate(uniq.tolist()):
            i = last[k]
            st = self.get(icao_k)
            if failed[i]:
                st.fail_lat_deg, st.fail_lon_deg = float(lat[i]), float(lon[i])
                st.fail_t = float(cols["t"][rows[i]])
            else:
                st.fail_lat_deg = st.fail_lon_deg = st.fail_t = NAN

    def last_surface(self, icao: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        (ground,) = self._arrays(icao, ("on_ground",), 0.0)
        return ground.astype(bool)

    def quality(self, icao: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[np.int64]]:
        names = ("version", "nic_a", "nacp", "sil")
        arrays = self._arrays(icao, names, -1.0)
        return {n: a.astype(np.int64) for n, a in zip(names, arrays, strict=True)}

    def identity(self, icao: npt.NDArray[np.int64]) -> dict[str, npt.NDArray[Any]]:
        uniq, inv = np.unique(icao, return_inverse=True)
        squawk = np.full(uniq.size, -1, np.int16)
        callsign = np.full(uniq.size, "", object)
        for k, icao_k in enumerate(uniq.tolist()):
            st = self.by_icao.get(icao_k)
            if st is not None:
                squawk[k], callsign[k] = st.squawk, st.callsign
        return {"squawk": squawk[inv], "callsign": callsign[inv]}

    def update_positions(self, cols: dict[str, Any], rows: npt.NDArray[np.int64],
                         lat: F64, lon: F64, accepted: npt.NDArray[np.bool_]) -> None:
        """Remember each aircraft's last accepted position (rows sorted by aircraft, time)."""
        icao = cols["icao"][rows]
        if icao.size == 0:
            return
        uniq, starts = np.unique(icao, return_index=True)
        last = _last_valid(icao, accepted, starts)
        for k, icao_k in enumerate(uniq.tolist()):
            i = last[k]
            if i < 0:
                continue
            st = self.get(icao_k)
            row = rows[i]
            st.lat_deg, st.lon_deg = float(lat[i]), float(lon[i])
            st.pos_t = float(cols["t"][row])
            st.on_ground = bool(cols["surface"][row])
            if cols["mlat"][row]:
                st.mlat = True
            else:
                st.adsb = True

    def update_nic(self, icao: npt.NDArray[np.int64], nic: npt.NDArray[np.int8]) -> None:
        """Remember the NIC of each aircraft's last position in the batch."""
        if icao.size == 0:
            return
        uniq, starts = np.unique(icao, return_index=True)
        last = _last_valid(icao, nic >= 0, starts)
        for k, icao_k in enumerate(uniq.tolist()):
            if last[k] >= 0:
                self.get(icao_k).nic = int(nic[last[k]])


_EMERGENCY = {"none": "none", "general": "general", "medical": "lifeguard",
              "minimum_fuel": "minfuel", "no_communication": "nordo",
              "unlawful_interference": "unlawful", "downed_aircraft": "downed",
              "reserved": "reserved"}
"""rs1090's BDS 6,1 emergency state -> readsb's aircraft.json `emergency` value."""


_COMM_B_FIELDS = (("bds40", "selected_mcp", "nav_altitude_mcp_ft"),
                  ("bds40", "selected_fms", "nav_altitude_fms_ft"),
                  ("bds40", "barometric_setting", "nav_qnh_hpa"),
                  ("bds50", "roll", "roll_deg"), ("bds50", "TAS", "tas_kt"),
                  ("bds60", "heading", "mag_heading_deg"), ("bds60", "IAS", "ias_kt"),
                  ("bds60", "Mach", "mach"))
"""(register, rs1090 field, AircraftState field) of the Comm-B values kept; as _details."""


def _set(st: AircraftState, name: str, value: object, key: str = "") -> bool:
    """Set a numeric field (as float); False (nothing set) when the value is not a number or
    lies outside the physical range of `key` (the rs1090 field name, `limits.RANGES`)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and in_range(key, value):
        setattr(st, name, float(value))
        return True
    return False


def _details(rec: dict[str, Any], st: AircraftState) -> None:
    """Fold one record's less frequent fields into the state (readsb's aircraft.json names;
    NACv is folded per batch by AircraftStates._nac_v)."""
    if "emergency_state" in rec:
        st.emergency = _EMERGENCY.get(str(rec["emergency_state"]), "reserved")
    if "wake_vortex" in rec and "frame" in rec:
        me = bytes.fromhex(rec["frame"][8:10])[0]
        st.category = "DCBA"[(me >> 3) - 1] + str(me & 7) if 1 <= me >> 3 <= 4 else ""
    if rec.get("bds") == "62":
        key = "nav_altitude_fms_ft" if rec.get("source") == "FMS" else "nav_altitude_mcp_ft"
        _set(st, key, rec.get("selected_altitude"), "selected_altitude")
        _set(st, "nav_qnh_hpa", rec.get("barometric_setting"), "barometric_setting")
    b40, b50, b60 = rec.get("bds40"), rec.get("bds50"), rec.get("bds60")
    if isinstance(b40, dict):
        _set(st, "nav_altitude_mcp_ft", b40.get("selected_mcp"), "selected_mcp")
        _set(st, "nav_altitude_fms_ft", b40.get("selected_fms"), "selected_fms")
        _set(st, "nav_qnh_hpa", b40.get("barometric_setting"), "barometric_setting")
    if isinstance(b50, dict):
        _set(st, "roll_deg", b50.get("roll"), "roll")
        _set(st, "tas_kt", b50.get("TAS"), "TAS")
    if isinstance(b60, dict):
        _set(st, "mag_heading_deg", b60.get("heading"), "heading")
        _set(st, "ias_kt", b60.get("IAS"), "IAS")
        _set(st, "mach", b60.get("Mach"), "Mach")
