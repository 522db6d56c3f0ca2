"""The air picture at one instant: system tracks as structure-of-arrays.

This is what the tracker hands out and what every output path (map, WebSocket, REST, CAT062,
aircraft.json, recording, replay) reads, after the release filter of airpicture.policy.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from airpicture.core.schema import TRACK_COLUMNS


class TrackStatus(enum.IntEnum):
    TENTATIVE = 0
    CONFIRMED = 1
    COASTING = 2
    """Confirmed, but not updated by any plot for longer than its sensors' update period."""


@dataclass
class TrackTable:
    """n tracks; sensor columns are over `sensor_ids` (m sensors).

    `sensor_last_t[i, j]` is the time the j-th sensor last updated track i (NaN: never):
    the set of contributing sensors, and when, for per-consumer release filtering.
    """

    track_id: npt.NDArray[np.int64]
    t: npt.NDArray[np.float64]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    vx: npt.NDArray[np.float64]
    vy: npt.NDArray[np.float64]
    status: npt.NDArray[np.int8]
    alt_ft: npt.NDArray[np.float64]
    vrate_fpm: npt.NDArray[np.float64]
    icao24: npt.NDArray[np.int64]
    callsign: npt.NDArray[np.object_]
    squawk: npt.NDArray[np.int16]
    sigma_pos_m: npt.NDArray[np.float64]
    last_update_t: npt.NDArray[np.float64]
    flags: npt.NDArray[np.uint16]
    sensor_ids: npt.NDArray[np.int32]
    sensor_last_t: npt.NDArray[np.float64]
    alt_t: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    """Time of the last altitude measurement (`alt_ft` is that measurement, never an
    extrapolation; NaN: unknown). Optional: NaN for every row when left out."""
    t_start: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    """When the track began (NaN: unknown). Optional: NaN for every row when left out."""

    _ROW_FIELDS = (
        "track_id", "t", "x", "y", "vx", "vy", "status", "alt_ft", "vrate_fpm", "icao24",
        "callsign", "squawk", "sigma_pos_m", "last_update_t", "flags", "sensor_last_t",
        "alt_t", "t_start",
    )
    _OPTIONAL_FIELDS = ("alt_t", "t_start")

    def __post_init__(self) -> None:
        n = self.track_id.shape[0]
        for name in self._OPTIONAL_FIELDS:
            if getattr(self, name).shape[0] != n:
                setattr(self, name, np.full(n, np.nan))

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    @property
    def confirmed(self) -> npt.NDArray[np.bool_]:
        return self.status != TrackStatus.TENTATIVE

    @classmethod
    def empty(cls, sensor_ids: npt.ArrayLike = ()) -> TrackTable:
        sids = np.asarray(sensor_ids, np.int32)
        z = np.empty(0)
        return cls(
            track_id=np.empty(0, np.int64), t=z, x=z, y=z, vx=z, vy=z,
            status=np.empty(0, np.int8), alt_ft=z, vrate_fpm=z, icao24=np.empty(0, np.int64),
            callsign=np.empty(0, object), squawk=np.empty(0, np.int16), sigma_pos_m=z,
            last_update_t=z, flags=np.empty(0, np.uint16), sensor_ids=sids,
            sensor_last_t=np.empty((0, sids.size)),
        )

    def take(self, index: npt.ArrayLike) -> TrackTable:
        """Rows at `index` (positions or boolean mask); sensor columns unchanged."""
        idx = np.asarray(index)
        kw = {name: getattr(self, name)[idx] for name in self._ROW_FIELDS}
        return TrackTable(**kw, sensor_ids=self.sensor_ids)

    def sensor_mask(self) -> npt.NDArray[np.uint64]:
        """Bit j set where the j-th sensor of `sensor_ids` ever updated the track."""
        seen = np.isfinite(self.sensor_last_t)
        weights = np.left_shift(np.uint64(1), np.arange(seen.shape[1], dtype=np.uint64))
        return (seen.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)

    def to_arrow(self) -> pa.Table:
        """Rows in the tracks.parquet schema (sensor_mask over `sensor_ids` order)."""
        values = {
            "t": self.t, "track_id": self.track_id, "x": self.x, "y": self.y,
            "vx": self.vx, "vy": self.vy, "confirmed": self.confirmed,
            "alt_ft": self.alt_ft, "vrate_fpm": self.vrate_fpm, "icao24": self.icao24,
            "sigma_pos_m": self.sigma_pos_m, "status": self.status,
            "callsign": [str(c) for c in self.callsign], "squawk": self.squawk,
            "sensor_mask": self.sensor_mask(), "alt_t": self.alt_t, "t_start": self.t_start,
        }
        return pa.table({c.name: pa.array(values[c.name], type=c.type) for c in TRACK_COLUMNS})


assert {f.name for f in fields(TrackTable)} == {*TrackTable._ROW_FIELDS, "sensor_ids"}
