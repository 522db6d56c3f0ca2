"""A batch of plots as structure-of-arrays: what every input produces and the tracker consumes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from airpicture.core.schema import PLOT_COLUMNS


class PlotFlag(enum.IntFlag):
    """Per-plot flags, kept with the plot (never a reason to drop it silently)."""

    NONE = 0
    IDENTITY_MISMATCH = 1
    """The plot's identity belongs to a track its position does not fit."""
    KINEMATIC_MISMATCH = 2
    """The plot disagrees with independent sensors about where its aircraft is."""
    SPEED_CHECK_FAILED = 4
    """The position implies an impossible speed from the aircraft's last position."""
    REJECTED = 8
    """The tracker rejected the plot (NaN or absurd covariance)."""


@dataclass
class PlotBatch:
    """Plots in the local ENU frame, one row per plot.

    Unknown values: icao24 0, alt_ft NaN, nacp/nic/sil -1, squawk -1, callsign "",
    t_arrival NaN (arrived at t).
    The scenario's truth_id is not here: a tracker never reads it.
    """

    t: npt.NDArray[np.float64]
    sensor_id: npt.NDArray[np.int32]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    var_x: npt.NDArray[np.float64]
    var_y: npt.NDArray[np.float64]
    cov_xy: npt.NDArray[np.float64]
    icao24: npt.NDArray[np.int64]
    alt_ft: npt.NDArray[np.float64]
    nacp: npt.NDArray[np.int8]
    nic: npt.NDArray[np.int8]
    sil: npt.NDArray[np.int8]
    flags: npt.NDArray[np.uint16]
    squawk: npt.NDArray[np.int16]
    callsign: npt.NDArray[np.object_]
    t_arrival: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @classmethod
    def empty(cls) -> PlotBatch:
        return cls.create(t=np.empty(0), sensor_id=np.empty(0, np.int32), x=np.empty(0),
                          y=np.empty(0), var_x=np.empty(0), var_y=np.empty(0),
                          cov_xy=np.empty(0))

    @classmethod
    def create(
        cls,
        *,
        t: npt.ArrayLike,
        sensor_id: npt.ArrayLike,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        var_x: npt.ArrayLike,
        var_y: npt.ArrayLike,
        cov_xy: npt.ArrayLike,
        icao24: npt.ArrayLike | None = None,
        alt_ft: npt.ArrayLike | None = None,
        nacp: npt.ArrayLike | None = None,
        nic: npt.ArrayLike | None = None,
        sil: npt.ArrayLike | None = None,
        flags: npt.ArrayLike | None = None,
        squawk: npt.ArrayLike | None = None,
        callsign: npt.ArrayLike | None = None,
        t_arrival: npt.ArrayLike | None = None,
    ) -> PlotBatch:
        """Build a batch, filling optional columns with their 'unknown' value."""
        t_arr = np.asarray(t, dtype=np.float64)
        n = t_arr.shape[0]

        def col(value: npt.ArrayLike | None, dtype: type, fill: object) -> np.ndarray:
            if value is None:
                return np.full(n, fill, dtype=dtype)
            arr: np.ndarray = np.asarray(value, dtype=dtype)
            return np.broadcast_to(arr, (n,)).copy() if arr.ndim == 0 else arr

        return cls(
            t=t_arr,
            sensor_id=col(sensor_id, np.int32, 0),
            x=col(x, np.float64, np.nan),
            y=col(y, np.float64, np.nan),
            var_x=col(var_x, np.float64, np.nan),
            var_y=col(var_y, np.float64, np.nan),
            cov_xy=col(cov_xy, np.float64, 0.0),
            icao24=col(icao24, np.int64, 0),
            alt_ft=col(alt_ft, np.float64, np.nan),
            nacp=col(nacp, np.int8, -1),
            nic=col(nic, np.int8, -1),
            sil=col(sil, np.int8, -1),
            flags=col(flags, np.uint16, 0),
            squawk=col(squawk, np.int16, -1),
            callsign=col(callsign, np.object_, ""),
            t_arrival=col(t_arrival, np.float64, np.nan),
        )

    def take(self, index: npt.ArrayLike) -> PlotBatch:
        """Rows at `index` (integer positions or a boolean mask)."""
        idx = np.asarray(index)
        return PlotBatch(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    @staticmethod
    def concat(batches: list[PlotBatch]) -> PlotBatch:
        if not batches:
            return PlotBatch.empty()
        return PlotBatch(
            **{f.name: np.concatenate([getattr(b, f.name) for b in batches])
               for f in fields(PlotBatch)}
        )

    def sorted_by_time(self) -> PlotBatch:
        return self.take(np.argsort(self.t, kind="stable"))

    def to_arrow(self, truth_id: npt.ArrayLike | None = None) -> pa.Table:
        """As a table with the plots.parquet schema (truth_id -1 unless given)."""
        n = len(self)
        data: dict[str, pa.Array] = {}
        for c in PLOT_COLUMNS:
            values: object
            if c.name == "truth_id":
                values = np.full(n, -1, np.int64) if truth_id is None else np.asarray(truth_id)
            elif c.name == "callsign":
                values = [str(v) for v in self.callsign]
            else:
                values = getattr(self, c.name)
            data[c.name] = pa.array(values, type=c.type)
        return pa.table(data)

    @classmethod
    def from_arrow(cls, table: pa.Table) -> PlotBatch:
        """From a plots table; missing optional columns get their 'unknown' value."""
        names = set(table.column_names)

        def get(name: str) -> np.ndarray | None:
            if name not in names:
                return None
            column = table.column(name)
            if name == "callsign":
                return np.asarray(column.to_pylist(), dtype=object)
            return column.to_numpy(zero_copy_only=False)

        return cls.create(
            **{f.name: get(f.name) for f in fields(cls)}  # type: ignore[arg-type]
        )
