"""Column names and types of every table airpicture reads or writes: the single source of truth.

`airpicture-scenario/1` is defined in ../shared/bench/SCENARIO.md: a folder with scenario.json,
truth.parquet and plots.parquet, and a tracker's tracks.parquet.  Optional columns are written
when known; readers ignore columns they do not know.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

SCENARIO_FORMAT = "airpicture-scenario/1"
FRAME_LOCAL_ENU = "local-enu-m"
SCENARIO_JSON = "scenario.json"
TRUTH_PARQUET = "truth.parquet"
PLOTS_PARQUET = "plots.parquet"
TRACKS_PARQUET = "tracks.parquet"

SENSOR_KINDS = ("psr", "ssr", "adsb", "mlat")
"""psr: primary radar (no identity); ssr: secondary / Mode S radar; adsb; mlat."""


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    required: bool = True


def _schema(columns: tuple[Column, ...]) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.type) for c in columns])


TRUTH_COLUMNS: tuple[Column, ...] = (
    Column("t", pa.float64()),
    Column("target_id", pa.int64()),
    Column("x", pa.float64()),
    Column("y", pa.float64()),
    Column("vx", pa.float64()),
    Column("vy", pa.float64()),
    Column("alt_ft", pa.float64(), required=False),
)

PLOT_COLUMNS: tuple[Column, ...] = (
    Column("t", pa.float64()),
    Column("sensor_id", pa.int32()),
    Column("x", pa.float64()),
    Column("y", pa.float64()),
    Column("var_x", pa.float64()),
    Column("var_y", pa.float64()),
    Column("cov_xy", pa.float64()),
    Column("icao24", pa.int64()),
    Column("alt_ft", pa.float64(), required=False),
    # ADS-B quality (-1 where the sensor does not report it); read by the integrity work.
    Column("nacp", pa.int8(), required=False),
    Column("nic", pa.int8(), required=False),
    Column("sil", pa.int8(), required=False),
    # Bit flags, see airpicture.core.plots.PlotFlag.
    Column("flags", pa.uint16(), required=False),
    # Mode A code as an integer of its four octal digits (e.g. 0o7700), -1 where none.
    Column("squawk", pa.int16(), required=False),
    Column("callsign", pa.string(), required=False),
    # When the plot reached the tracker (sensor latency, out-of-order delivery); NaN: at t.
    Column("t_arrival", pa.float64(), required=False),
    # For scoring only: a tracker never reads it (the plot reader drops it).
    Column("truth_id", pa.int64()),
)

TRACK_COLUMNS: tuple[Column, ...] = (
    Column("t", pa.float64()),
    Column("track_id", pa.int64()),
    Column("x", pa.float64()),
    Column("y", pa.float64()),
    Column("vx", pa.float64()),
    Column("vy", pa.float64()),
    Column("confirmed", pa.bool_()),
    Column("alt_ft", pa.float64(), required=False),
    Column("vrate_fpm", pa.float64(), required=False),
    Column("icao24", pa.int64(), required=False),
    Column("sigma_pos_m", pa.float64(), required=False),
    Column("status", pa.int8(), required=False),
    Column("callsign", pa.string(), required=False),
    Column("squawk", pa.int16(), required=False),
    # Bit mask over scenario sensor indices (bit i = i-th sensor of scenario.json) that
    # contributed to the track up to t.
    Column("sensor_mask", pa.uint64(), required=False),
    # Time of the last altitude measurement (alt_ft is that measurement) and when the track
    # began, in scenario seconds; NaN where unknown.
    Column("alt_t", pa.float64(), required=False),
    Column("t_start", pa.float64(), required=False),
)

TRUTH_SCHEMA = _schema(TRUTH_COLUMNS)
PLOT_SCHEMA = _schema(PLOT_COLUMNS)
TRACK_SCHEMA = _schema(TRACK_COLUMNS)


def required(columns: tuple[Column, ...]) -> list[str]:
    return [c.name for c in columns if c.required]


def column_type(columns: tuple[Column, ...], name: str) -> pa.DataType:
    for c in columns:
        if c.name == name:
            return c.type
    raise KeyError(name)
