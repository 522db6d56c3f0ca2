"""Decoded records (rs1090 or SBS dicts) to the numpy columns that positions, plots and the
per-aircraft state work on (one pass over the records to find which rows hold which fields,
then one read per field over those rows only)."""

from __future__ import annotations

import math
from itertools import repeat
from operator import itemgetter, methodcaller
from typing import Any

import numpy as np
import numpy.typing as npt

NAN = math.nan
DF_CODE: dict[str, int] = {str(i): i for i in range(32)}
"""rs1090's DF strings."""
_get_df = methodcaller("get", "df", "")


def all_usable(records: list[dict[str, Any]]) -> bool:
    """True when every record has an address and a DF written in digits, checked in C-level
    passes (the usual case: the caller then needs no per-record filter)."""
    try:
        return (sum(map(dict.__contains__, records, repeat("icao24"))) == len(records)
                and set(map(_get_df, records)) <= DF_CODE.keys())
    except TypeError:  # an unhashable DF: let the caller check record by record
        return False


_SQUITTER_DF = frozenset({"17", "18"})
_COMMB_DF = frozenset({"20", "21"})
_PLAIN_DF = frozenset({"0", "4", "11", "16"})
"""DFs whose only fields are address, altitude and flags (columns read them for every row)."""
_DETAIL_KEYS = frozenset({"NACp", "version", "NACv", "bds40", "bds50", "bds60", "wake_vortex",
                          "selected_altitude"})
"""Fields of the less frequent messages that only the per-aircraft state keeps."""


def _df_numbers(records: list[dict[str, Any]]) -> npt.NDArray[np.int64]:
    """DF of each record as a number: a C-level table look-up for rs1090's "0".."31"."""
    try:
        return np.fromiter(map(DF_CODE.__getitem__, map(itemgetter("df"), records)), np.int64,
                           len(records))
    except (KeyError, TypeError):  # SBS or other records with a DF written otherwise
        return np.array([int(r["df"]) for r in records], np.int64)


def _col(records: list[dict[str, Any]], key: str) -> npt.NDArray[np.float64]:
    """A numeric field of every record, NaN where absent or None."""
    values = [r.get(key) for r in records]
    return np.array([NAN if v is None else v for v in values], float)


def _sub(records: list[dict[str, Any]], rows: list[int], key: str, n: int,
         fill: float = NAN) -> npt.NDArray[np.float64]:
    """A numeric field of the records at `rows`, `fill` elsewhere and where absent."""
    out = np.full(n, fill)
    if rows:
        values = [records[i].get(key) for i in rows]
        out[rows] = [fill if v is None else v for v in values]
    return out


def _icao(records: list[dict[str, Any]]) -> npt.NDArray[np.int64]:
    """24-bit addresses from their 6-digit hex strings, in one conversion."""
    text = "".join(map(itemgetter("icao24"), records))
    if len(text) != 6 * len(records):
        return np.array([int(r["icao24"], 16) for r in records], np.int64)
    raw = np.frombuffer(bytes.fromhex(text), np.uint8).reshape(-1, 3).astype(np.int64)
    return np.asarray((raw[:, 0] << 16) | (raw[:, 1] << 8) | raw[:, 2], np.int64)


def _squawk(value: object) -> int:
    try:
        return int(str(value), 8)
    except ValueError:
        return -1


def _callsign(rec: dict[str, Any]) -> str:
    callsign = rec.get("callsign")
    if callsign is None and "bds20" in rec:
        callsign = rec["bds20"].get("callsign")
    return str(callsign).strip("_# ") if callsign else ""


def _geometric_altitude(records: list[dict[str, Any]]) -> npt.NDArray[np.bool_]:
    """Rows whose `altitude` is geometric (HAE) by an `altitude_src` of "GNSS": SBS lines
    from readsb --gnss ("H" suffix); one C-level pass, no Python loop when none has it."""
    marked = np.fromiter(map(dict.__contains__, records, repeat("altitude_src")), bool,
                         len(records))
    if marked.any():
        marked[marked] = [records[i]["altitude_src"] == "GNSS" for i in np.flatnonzero(marked)]
    return marked


def columns(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Records to the numpy columns the position, plot and state code works on.

    One pass finds the rows that carry positions, velocities, squawks, callsigns and status;
    each field is then read only from the rows that can have it.
    """
    n = len(records)
    pos: list[int] = []
    vel: list[int] = []
    status: list[int] = []
    squawk = np.full(n, -1, np.int16)
    callsign = np.full(n, "", object)
    df_numbers = _df_numbers(records)
    for i, r in enumerate(records):
        # Which fields a record can hold follows from its DF and BDS: one dict look-up for most.
        df = r["df"]
        if df in _SQUITTER_DF and r.get("source") != "sbs":
            bds = r.get("bds")
            if bds == "05" or bds == "06":
                pos.append(i)
                if bds == "06":
                    vel.append(i)
            elif bds == "09":
                vel.append(i)
                status.append(i)
            elif bds == "08":
                callsign[i] = _callsign(r)
                status.append(i)
            elif bds == "62" or bds == "65":
                status.append(i)
            elif bds == "61":
                if "squawk" in r:
                    squawk[i] = _squawk(r["squawk"])
                status.append(i)
        elif df in _COMMB_DF:
            if "squawk" in r:
                squawk[i] = _squawk(r["squawk"])
            if "bds20" in r:
                callsign[i] = _callsign(r)
            if "bds40" in r or "bds50" in r or "bds60" in r:
                status.append(i)
        elif df == "5":
            squawk[i] = _squawk(r.get("squawk"))
        elif df not in _PLAIN_DF:  # SBS records, GNSS-height positions, anything else
            if "lat_cpr" in r or "latitude" in r:
                pos.append(i)
            if "groundspeed" in r or "vertical_rate" in r:
                vel.append(i)
            if "squawk" in r:
                squawk[i] = _squawk(r["squawk"])
            if "callsign" in r or "bds20" in r:
                callsign[i] = _callsign(r)
            if not _DETAIL_KEYS.isdisjoint(r):
                status.append(i)
    pos_recs = [records[i] for i in pos]
    bds = np.full(n, "", object)
    bds[pos] = [r.get("bds") or "" for r in pos_recs]
    flags = np.zeros((4, n), bool)
    if pos:
        flags[:, pos] = [[r.get("source") == "GNSS" for r in pos_recs],
                         [r.get("parity") == "odd" for r in pos_recs],
                         [r.get("bds") == "06" for r in pos_recs],
                         [bool(r.get("mlat", False)) for r in pos_recs]]
    vrate_baro = np.zeros(n, bool)
    if vel:
        vrate_baro[vel] = [records[i].get("vrate_src") == "barometric" for i in vel]
    return {
        "t": np.fromiter(map(itemgetter("timestamp"), records), float, n),
        "icao": _icao(records),
        "df": df_numbers,
        "receiver": np.array([r.get("receiver", 0) for r in records], np.int64),
        "altitude": _col(records, "altitude"),
        "baro": ~flags[0] & ~_geometric_altitude(records),
        "lat_cpr": _sub(records, pos, "lat_cpr", n, -1).astype(np.int64),
        "lon_cpr": _sub(records, pos, "lon_cpr", n, -1).astype(np.int64),
        "odd": flags[1],
        "surface": flags[2],
        "mlat": flags[3],
        "lat": _sub(records, pos, "latitude", n),
        "lon": _sub(records, pos, "longitude", n),
        "tc": _sub(records, pos, "tc", n, 0).astype(np.int64),
        "nucp": _sub(records, pos, "NUCp", n, 0).astype(np.int64),
        "nic_b": _sub(records, pos, "NICb", n, 0).astype(np.int64),
        "gs": _sub(records, vel, "groundspeed", n),
        "track": _sub(records, vel, "track", n),
        "vrate": _sub(records, vel, "vertical_rate", n),
        "vrate_baro": vrate_baro,
        "rssi": (_col(records, "rssi") if any(map(dict.__contains__, records, repeat("rssi")))
                 else np.full(n, NAN)),  # JSON-lines and AVR frames carry no signal level
        "squawk": squawk,
        "callsign": callsign,
        "status_rows": status,
        "bds": bds,
    }
