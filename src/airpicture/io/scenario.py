"""Read and write `airpicture-scenario/1` folders and tracks.parquet, validating as we go.

Column names and types come from airpicture.core.schema; this module only reads, checks
and writes them.  Every problem is a UserError naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from airpicture.core.errors import UserError
from airpicture.core.geo import LocalFrame
from airpicture.core.plots import PlotBatch
from airpicture.core.schema import (
    FRAME_LOCAL_ENU,
    PLOT_COLUMNS,
    PLOTS_PARQUET,
    SCENARIO_FORMAT,
    SCENARIO_JSON,
    TRACK_COLUMNS,
    TRUTH_COLUMNS,
    TRUTH_PARQUET,
    Column,
)
from airpicture.core.sensors import Sensor


@dataclass
class ScenarioMeta:
    """The content of scenario.json."""

    name: str
    seed: int
    origin_lat_deg: float
    origin_lon_deg: float
    duration_s: float
    sensors: list[Sensor]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def frame(self) -> LocalFrame:
        return LocalFrame(self.origin_lat_deg, self.origin_lon_deg)

    def sensor(self, sensor_id: int) -> Sensor:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(sensor_id)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": SCENARIO_FORMAT,
            "name": self.name,
            "seed": self.seed,
            "frame": FRAME_LOCAL_ENU,
            "origin": {"lat": self.origin_lat_deg, "lon": self.origin_lon_deg},
            "duration_s": self.duration_s,
            "sensors": [s.to_json() for s in self.sensors],
        }
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str) -> ScenarioMeta:
        if not isinstance(obj, dict):
            raise UserError(where, "expected a JSON object")
        if obj.get("format") != SCENARIO_FORMAT:
            raise UserError(where, f"format is {obj.get('format')!r}, expected {SCENARIO_FORMAT!r}")
        if obj.get("frame", FRAME_LOCAL_ENU) != FRAME_LOCAL_ENU:
            raise UserError(where, f"frame {obj.get('frame')!r} is not {FRAME_LOCAL_ENU!r}")
        for key in ("origin", "duration_s", "sensors"):
            if key not in obj:
                raise UserError(where, f"missing key {key!r}")
        origin = obj["origin"]
        try:
            lat, lon = float(origin["lat"]), float(origin["lon"])
            duration = float(obj["duration_s"])
            seed = int(obj.get("seed", 0))
        except (KeyError, TypeError, ValueError):
            raise UserError(
                where, "origin needs numeric 'lat' and 'lon', duration_s a number"
            ) from None
        if not isinstance(obj["sensors"], list):
            raise UserError(where, "'sensors' must be a list")
        sensors = [Sensor.from_json(s, where) for s in obj["sensors"]]
        ids = [s.id for s in sensors]
        if len(set(ids)) != len(ids):
            raise UserError(where, f"sensor ids are not unique: {ids}")
        known = {"format", "name", "seed", "frame", "origin", "duration_s", "sensors"}
        return cls(
            name=str(obj.get("name", "")),
            seed=seed,
            origin_lat_deg=lat,
            origin_lon_deg=lon,
            duration_s=duration,
            sensors=sensors,
            extra={k: v for k, v in obj.items() if k not in known},
        )


def _type_ok(actual: pa.DataType, expected: pa.DataType) -> bool:
    if actual == expected:
        return True
    if pa.types.is_floating(expected):
        return pa.types.is_floating(actual) or pa.types.is_integer(actual)
    if pa.types.is_integer(expected):
        return pa.types.is_integer(actual)
    if pa.types.is_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    return False


def _read_table(path: Path, columns: tuple[Column, ...]) -> pa.Table:
    """Read the known columns of a Parquet file, checking presence and types, casting to schema."""
    if not path.exists():
        raise UserError(path, "file not found")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise UserError(path, f"not a Parquet file ({exc})") from None
    wanted = []
    for c in columns:
        idx = schema.get_field_index(c.name)
        if idx < 0:
            if c.required:
                raise UserError(path, f"missing column {c.name!r}")
            continue
        actual = schema.field(idx).type
        if not _type_ok(actual, c.type):
            raise UserError(path, f"column {c.name!r} has type {actual}, expected {c.type}")
        wanted.append(c)
    try:
        table = pq.read_table(path, columns=[c.name for c in wanted])
    except (pa.ArrowException, OSError) as exc:
        raise UserError(path, f"cannot read ({exc})") from None
    arrays = []
    for c in wanted:
        col = table.column(c.name)
        if col.null_count and c.required:
            raise UserError(path, f"column {c.name!r} has {col.null_count} null values")
        arrays.append(col.cast(c.type))
    return pa.table(arrays, names=[c.name for c in wanted])


def _check_sorted(path: Path, t: pa.ChunkedArray) -> None:
    values = t.to_numpy()
    if values.size and not np.all(np.isfinite(values)):
        raise UserError(path, "column 't' has non-finite values")
    if values.size > 1 and np.any(np.diff(values) < 0):
        first = int(np.argmax(np.diff(values) < 0)) + 1
        raise UserError(path, f"rows are not sorted by 't' (row {first} goes back in time)")


def read_meta(folder: str | Path) -> ScenarioMeta:
    """Read and validate scenario.json."""
    path = Path(folder) / SCENARIO_JSON
    if not Path(folder).is_dir():
        raise UserError(folder, "not a scenario folder")
    if not path.exists():
        raise UserError(path, "file not found")
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(path, f"invalid JSON ({exc})") from None
    return ScenarioMeta.from_json(obj, str(path))


def read_truth(folder: str | Path) -> pa.Table:
    """Truth rows with the TRUTH_COLUMNS schema (alt_ft when present)."""
    path = Path(folder) / TRUTH_PARQUET
    table = _read_table(path, TRUTH_COLUMNS)
    t = table.column("t").to_numpy()
    if t.size and not np.all(np.isfinite(t)):
        raise UserError(path, "column 't' has non-finite values")
    return table


def _read_plot_table(folder: str | Path, meta: ScenarioMeta | None) -> pa.Table:
    path = Path(folder) / PLOTS_PARQUET
    table = _read_table(path, PLOT_COLUMNS)
    _check_sorted(path, table.column("t"))
    meta = meta or read_meta(folder)
    known = pa.array([s.id for s in meta.sensors], pa.int32())
    unknown = pc.invert(pc.is_in(table.column("sensor_id"), value_set=known))
    if table.num_rows and pc.any(unknown).as_py():
        bad = sorted(set(pc.filter(table.column("sensor_id"), unknown).to_pylist()))
        raise UserError(path, f"unknown sensor id(s) {bad[:10]} not in scenario.json")
    return table


def read_plots(folder: str | Path, meta: ScenarioMeta | None = None) -> PlotBatch:
    """The plots a tracker may read: validated, without truth_id."""
    table = _read_plot_table(folder, meta)
    return PlotBatch.from_arrow(table.drop_columns(["truth_id"]))


def read_plots_with_truth(
    folder: str | Path, meta: ScenarioMeta | None = None
) -> tuple[PlotBatch, npt.NDArray[np.int64]]:
    """Plots and the truth_id of each (for scoring and tests only)."""
    table = _read_plot_table(folder, meta)
    truth_id = table.column("truth_id").to_numpy()
    return PlotBatch.from_arrow(table.drop_columns(["truth_id"])), truth_id


def write_scenario(
    folder: str | Path,
    meta: ScenarioMeta,
    truth: pa.Table,
    plots: PlotBatch,
    truth_id: npt.ArrayLike,
) -> Path:
    """Write scenario.json, truth.parquet and plots.parquet (plots sorted by time, stably)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / SCENARIO_JSON).write_text(json.dumps(meta.to_json(), indent=2) + "\n")
    truth_cols = [c for c in TRUTH_COLUMNS if c.name in truth.column_names]
    truth = pa.table([truth.column(c.name).cast(c.type) for c in truth_cols],
                     names=[c.name for c in truth_cols])
    pq.write_table(truth, out / TRUTH_PARQUET, compression="zstd")
    order = np.argsort(plots.t, kind="stable")
    table = plots.take(order).to_arrow(truth_id=np.asarray(truth_id, np.int64)[order])
    pq.write_table(table, out / PLOTS_PARQUET, compression="zstd")
    return out


def read_tracks(path: str | Path) -> pa.Table:
    """A tracker's tracks.parquet, validated (required columns, types, finite times)."""
    p = Path(path)
    table = _read_table(p, TRACK_COLUMNS)
    t = table.column("t").to_numpy()
    if t.size and not np.all(np.isfinite(t)):
        raise UserError(p, "column 't' has non-finite values")
    return table


def write_tracks(path: str | Path, table: pa.Table) -> Path:
    """Write tracks with the TRACK_COLUMNS types (optional columns when present)."""
    p = Path(path)
    if p.parent:
        p.parent.mkdir(parents=True, exist_ok=True)
    cols = [c for c in TRACK_COLUMNS if c.name in table.column_names]
    for c in TRACK_COLUMNS:
        if c.required and c.name not in table.column_names:
            raise ValueError(f"tracks table lacks required column {c.name!r}")
    out = pa.table([table.column(c.name).cast(c.type) for c in cols], names=[c.name for c in cols])
    pq.write_table(out, p, compression="zstd")
    return p
