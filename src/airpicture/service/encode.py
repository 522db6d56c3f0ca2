"""Track tables to the compact wire form of the map, the WebSocket and the REST API.

A view is a dict of equal-length columns (JSON arrays): one JSON document per picture, encoded
once and shared by every client.  Unknown values are null.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.geo import LocalFrame
from airpicture.core.tracks import TrackTable

KIND_BITS = {"psr": 1, "ssr": 2, "adsb": 4, "mlat": 8}
"""Bit of each sensor kind in the `kinds` column (which kinds of sensor see a track)."""

MPS_TO_KT = 3600.0 / 1852.0

VIEW_COLUMNS = (
    "id", "t", "lat", "lon", "alt_ft", "hdg_deg", "gs_kt", "vrate_fpm", "icao24", "callsign",
    "squawk", "status", "sigma_pos_m", "kinds", "smask", "x", "y",
)


MOVING_COLUMNS = (
    "id", "t", "lat", "lon", "alt_ft", "hdg_deg", "gs_kt", "vrate_fpm", "status", "sigma_pos_m",
    "kinds", "smask",
)
"""What a delta sends for a track the client already knows with the same identity."""


@dataclass(frozen=True)
class SensorIndex:
    """The service's sensors in a fixed order: bit i of `smask` is sensors[i]."""

    ids: npt.NDArray[np.int32]
    kind_bits: npt.NDArray[np.int64]

    @classmethod
    def create(cls, ids: list[int], kinds: list[str]) -> SensorIndex:
        return cls(np.asarray(ids, np.int32), np.asarray([KIND_BITS[k] for k in kinds], np.int64))


def _nullable(values: npt.NDArray[Any], ok: npt.NDArray[np.bool_]) -> list[Any]:
    """A JSON-ready list with None where `ok` is false (JSON has no NaN)."""
    out = values.astype(object)
    out[~ok] = None
    return list(out.tolist())


def service_masks(tracks: TrackTable, index: SensorIndex) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per track: bit mask over the service's sensors, and bit mask of sensor kinds."""
    n = len(tracks)
    smask = np.zeros(n, np.int64)
    kinds = np.zeros(n, np.int64)
    if n == 0 or tracks.sensor_ids.size == 0:
        return smask, kinds
    seen = np.isfinite(tracks.sensor_last_t)
    pos = np.searchsorted(index.ids, tracks.sensor_ids)
    pos = np.clip(pos, 0, max(index.ids.size - 1, 0))
    known = index.ids[pos] == tracks.sensor_ids if index.ids.size else np.zeros(0, bool)
    for j in np.flatnonzero(known):  # loop over sensors (a handful), not tracks
        col = seen[:, j]
        smask[col] |= np.int64(1) << np.int64(pos[j])
        kinds[col] |= index.kind_bits[pos[j]]
    return smask, kinds


def to_view(tracks: TrackTable, frame: LocalFrame, index: SensorIndex) -> dict[str, list[Any]]:
    """Columns of the wire form: geodetic position, heading, speed, identity, sensors."""
    lat, lon = frame.ground_to_geodetic(tracks.x, tracks.y)
    hdg = (np.degrees(np.arctan2(tracks.vx, tracks.vy)) + 360.0) % 360.0
    gs = np.hypot(tracks.vx, tracks.vy) * MPS_TO_KT
    smask, kinds = service_masks(tracks, index)
    alt_ok = np.isfinite(tracks.alt_ft)
    vr_ok = np.isfinite(tracks.vrate_fpm)
    sig_ok = np.isfinite(tracks.sigma_pos_m)
    return {
        "id": tracks.track_id.tolist(),
        "t": np.round(tracks.t, 2).tolist(),
        "lat": np.round(lat, 5).tolist(),
        "lon": np.round(lon, 5).tolist(),
        "alt_ft": _nullable(np.round(np.nan_to_num(tracks.alt_ft)).astype(np.int64), alt_ok),
        "hdg_deg": np.round(np.nan_to_num(hdg), 1).tolist(),
        "gs_kt": np.round(np.nan_to_num(gs)).astype(np.int64).tolist(),
        "vrate_fpm": _nullable(np.round(np.nan_to_num(tracks.vrate_fpm)).astype(np.int64), vr_ok),
        "icao24": [f"{int(a):06x}" if a > 0 else "" for a in tracks.icao24.tolist()],
        "callsign": [str(c).strip() for c in tracks.callsign.tolist()],
        "squawk": [f"{int(s):04o}" if s >= 0 else "" for s in tracks.squawk.tolist()],
        "status": tracks.status.astype(np.int64).tolist(),
        "sigma_pos_m": _nullable(np.round(np.nan_to_num(tracks.sigma_pos_m), 1), sig_ok),
        "kinds": kinds.tolist(),
        "smask": smask.tolist(),
        "x": np.round(tracks.x, 1).tolist(),
        "y": np.round(tracks.y, 1).tolist(),
    }


def view_rows(view: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The view as one object per track (REST answers)."""
    names = list(view)
    return [dict(zip(names, row, strict=True)) for row in zip(*view.values(), strict=True)]


def take_view(view: dict[str, list[Any]], index: npt.NDArray[np.intp]) -> dict[str, list[Any]]:
    """Rows of a view at integer positions."""
    idx = index.tolist()
    return {k: [v[i] for i in idx] for k, v in view.items()}


def delta_rows(prev_ids: npt.NDArray[np.int64], prev_t: npt.NDArray[np.float64],
               ids: npt.NDArray[np.int64], t: npt.NDArray[np.float64]) -> tuple[
                   npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Rows of the new picture that are new or updated, and ids that disappeared."""
    order = np.argsort(prev_ids)
    sorted_ids = prev_ids[order]
    pos = np.clip(np.searchsorted(sorted_ids, ids), 0, max(sorted_ids.size - 1, 0))
    found = sorted_ids[pos] == ids if sorted_ids.size else np.zeros(ids.size, bool)
    same_t = np.zeros(ids.size, bool)
    same_t[found] = prev_t[order][pos[found]] == t[found]
    changed = np.flatnonzero(~same_t)
    removed = np.setdiff1d(prev_ids, ids)
    return changed, removed


def same_identity(prev: TrackTable, tracks: TrackTable, rows: npt.NDArray[np.intp]
                  ) -> npt.NDArray[np.bool_]:
    """For tracks[rows]: known in `prev` with the same address, callsign and squawk."""
    out = np.zeros(rows.size, bool)
    if rows.size == 0 or len(prev) == 0:
        return out
    order = np.argsort(prev.track_id)
    ids = tracks.track_id[rows]
    pos = np.clip(np.searchsorted(prev.track_id, ids, sorter=order), 0, len(prev) - 1)
    j = order[pos]
    out = prev.track_id[j] == ids
    out &= prev.icao24[j] == tracks.icao24[rows]
    out &= prev.squawk[j] == tracks.squawk[rows]
    out &= prev.callsign[j] == tracks.callsign[rows]
    return np.asarray(out, bool)


def moving_view(view: dict[str, list[Any]], rows: npt.NDArray[np.intp]) -> dict[str, list[Any]]:
    """Only the columns that change as a known track moves, at `rows`."""
    return take_view({k: view[k] for k in MOVING_COLUMNS}, rows)


def encode_message(kind: str, seq: int, t_s: float, view: dict[str, list[Any]],
                   removed: list[int] | None = None,
                   upd: dict[str, list[Any]] | None = None) -> str:
    """One WebSocket message: {"type", "seq", "t", "wall", "n", "cols", "removed", "upd"}.

    `cols`: full rows (a snapshot's every track; a delta's new or re-identified tracks);
    `upd`: a delta's moved tracks, MOVING_COLUMNS only; `removed`: ids gone.
    `wall` is the Unix time the picture was encoded (clients measure their lag with it).
    """
    msg = {"type": kind, "seq": seq, "t": round(t_s, 3), "wall": round(time.time(), 4),
           "n": len(view.get("id", [])),
           "cols": view, "removed": removed or [],
           "upd": upd or {k: [] for k in MOVING_COLUMNS}}
    return json.dumps(msg, separators=(",", ":"), allow_nan=False)
