"""airpicture-scenario/1 read/write: round trips and every validation error the readers raise."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.schema import PLOTS_PARQUET, SCENARIO_JSON, TRUTH_PARQUET
from airpicture.core.sensors import Sensor
from airpicture.io.scenario import (
    ScenarioMeta,
    read_meta,
    read_plots,
    read_plots_with_truth,
    read_tracks,
    read_truth,
    write_scenario,
    write_tracks,
)


def make_meta() -> ScenarioMeta:
    sensors = [
        Sensor(id=1, kind="psr", x=10.0, y=-5.0, period_s=4.0, pd=0.9, clutter_per_scan=3.0,
               sigma_range_m=50.0, sigma_azimuth_deg=0.1, max_range_m=2e5,
               extra={"start_azimuth_deg": 30.0}),
        Sensor(id=7, kind="adsb", period_s=1.0, pd=0.95, sigma_m=30.0, nacp=8, latency_s=0.5),
    ]
    return ScenarioMeta(name="unit", seed=3, origin_lat_deg=48.9, origin_lon_deg=2.4,
                        duration_s=20.0, sensors=sensors, extra={"targets": {"count": 2}})


def make_truth() -> pa.Table:
    t = np.repeat(np.arange(3.0), 2)
    return pa.table({"t": t, "target_id": np.tile([0, 1], 3).astype(np.int64),
                     "x": np.arange(6.0), "y": -np.arange(6.0), "vx": np.ones(6),
                     "vy": np.zeros(6), "alt_ft": np.full(6, 30000.0)})


def make_plots() -> tuple[PlotBatch, np.ndarray]:
    plots = PlotBatch.create(
        t=[2.0, 0.5, 1.0, 1.0], sensor_id=[1, 7, 1, 7], x=[1.0, 2.0, 3.0, 4.0],
        y=[5.0, 6.0, 7.0, 8.0], var_x=[100.0, 900.0, 100.0, 900.0], var_y=[110.0, 900, 120, 900],
        cov_xy=[5.0, 0.0, -5.0, 0.0], icao24=[0, 0x3C6444, 0, 0x3C6445],
        alt_ft=[np.nan, 30025.0, np.nan, 29975.0], nacp=[-1, 8, -1, 8], nic=[-1, 7, -1, 7],
        sil=[-1, 3, -1, 3], squawk=[-1, 0o7000, -1, 0o1234], callsign=["", "AFR12", "", "X"],
        t_arrival=[np.nan, 1.1, np.nan, 1.6])
    return plots, np.array([0, 1, -1, 0], np.int64)


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    plots, truth_id = make_plots()
    return write_scenario(tmp_path / "s", make_meta(), make_truth(), plots, truth_id)


def assert_batches_equal(a: PlotBatch, b: PlotBatch) -> None:
    for name in ("t", "x", "y", "var_x", "var_y", "cov_xy", "alt_ft", "t_arrival"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in ("sensor_id", "icao24", "nacp", "nic", "sil", "flags", "squawk"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert list(a.callsign) == list(b.callsign)


def test_round_trip_keeps_every_column_and_sorts_plots(scenario: Path) -> None:
    meta = read_meta(scenario)
    assert meta.to_json() == make_meta().to_json()
    assert meta.sensor(1).extra == {"start_azimuth_deg": 30.0}
    assert read_truth(scenario).equals(make_truth())
    plots, truth_id = read_plots_with_truth(scenario)
    original, original_id = make_plots()
    order = np.argsort(original.t, kind="stable")
    assert_batches_equal(plots, original.take(order))
    np.testing.assert_array_equal(truth_id, original_id[order])
    assert "truth_id" not in read_plots(scenario).__dataclass_fields__


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 40), data=st.data())
def test_round_trip_property(tmp_path: Path, n: int, data: st.DataObject) -> None:
    floats = hnp.arrays(np.float64, n, elements=st.floats(-1e7, 1e7, allow_nan=False))
    t = data.draw(hnp.arrays(np.float64, n, elements=st.floats(0, 1e4)))
    plots = PlotBatch.create(
        t=t, sensor_id=data.draw(hnp.arrays(np.int32, n, elements=st.sampled_from([1, 7]))),
        x=data.draw(floats), y=data.draw(floats), var_x=np.abs(data.draw(floats)),
        var_y=np.abs(data.draw(floats)), cov_xy=data.draw(floats),
        icao24=data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, (1 << 24) - 1))),
        callsign=np.array(data.draw(st.lists(st.text(max_size=8), min_size=n, max_size=n)),
                          dtype=object))
    truth_id = data.draw(hnp.arrays(np.int64, n, elements=st.integers(-1, 50)))
    folder = write_scenario(tmp_path / "p", make_meta(), make_truth(), plots, truth_id)
    back, back_id = read_plots_with_truth(folder)
    order = np.argsort(t, kind="stable")
    assert_batches_equal(back, plots.take(order))
    np.testing.assert_array_equal(back_id, truth_id[order])


def rewrite(path: Path, change: dict[str, pa.Array | None]) -> None:
    """Rewrite a Parquet file with columns replaced (array) or dropped (None)."""
    table = pq.read_table(path)
    for name, value in change.items():
        idx = table.schema.get_field_index(name)
        table = table.remove_column(idx) if value is None else table.set_column(idx, name, value)
    pq.write_table(table, path)


@pytest.mark.parametrize("column", ["t", "sensor_id", "x", "var_y", "icao24", "truth_id"])
def test_missing_plot_column(scenario: Path, column: str) -> None:
    rewrite(scenario / PLOTS_PARQUET, {column: None})
    with pytest.raises(UserError, match=f"missing column '{column}'") as err:
        read_plots(scenario)
    assert err.value.where == str(scenario / PLOTS_PARQUET)


@pytest.mark.parametrize("column", ["t", "target_id", "x", "vy"])
def test_missing_truth_column(scenario: Path, column: str) -> None:
    rewrite(scenario / TRUTH_PARQUET, {column: None})
    with pytest.raises(UserError, match=f"missing column '{column}'"):
        read_truth(scenario)


def test_optional_columns_may_be_absent(scenario: Path) -> None:
    rewrite(scenario / PLOTS_PARQUET, {"alt_ft": None, "callsign": None, "t_arrival": None})
    plots = read_plots(scenario)
    assert np.all(np.isnan(plots.alt_ft)) and np.all(np.isnan(plots.t_arrival))


def test_unknown_columns_are_ignored(scenario: Path) -> None:
    table = pq.read_table(scenario / PLOTS_PARQUET)
    pq.write_table(table.append_column("future", pa.array(["a"] * table.num_rows)),
                   scenario / PLOTS_PARQUET)
    assert len(read_plots(scenario)) == table.num_rows


@pytest.mark.parametrize(("column", "bad"), [
    ("x", pa.array(["1", "2", "3", "4"])),
    ("sensor_id", pa.array([1.0, 7.0, 1.0, 7.0])),
    ("icao24", pa.array([True, False, True, False])),
])
def test_wrong_plot_type(scenario: Path, column: str, bad: pa.Array) -> None:
    rewrite(scenario / PLOTS_PARQUET, {column: bad})
    with pytest.raises(UserError, match=f"column '{column}' has type"):
        read_plots(scenario)


def test_wrong_truth_type(scenario: Path) -> None:
    rewrite(scenario / TRUTH_PARQUET, {"target_id": pa.array(["a"] * 6)})
    with pytest.raises(UserError, match="column 'target_id' has type"):
        read_truth(scenario)


def test_unsorted_plots(scenario: Path) -> None:
    rewrite(scenario / PLOTS_PARQUET, {"t": pa.array([0.5, 1.0, 3.0, 2.0])})
    with pytest.raises(UserError, match=r"not sorted by 't' \(row 3"):
        read_plots(scenario)


def test_non_finite_time(scenario: Path) -> None:
    rewrite(scenario / PLOTS_PARQUET, {"t": pa.array([0.5, 1.0, np.nan, 2.0])})
    with pytest.raises(UserError, match="non-finite"):
        read_plots(scenario)


def test_null_in_required_column(scenario: Path) -> None:
    rewrite(scenario / PLOTS_PARQUET, {"x": pa.array([1.0, None, 2.0, 3.0])})
    with pytest.raises(UserError, match="null values"):
        read_plots(scenario)


def test_unknown_sensor_id(scenario: Path) -> None:
    rewrite(scenario / PLOTS_PARQUET, {"sensor_id": pa.array([7, 1, 9, 1], pa.int32())})
    with pytest.raises(UserError, match=r"unknown sensor id\(s\) \[9\]"):
        read_plots(scenario)


def test_not_parquet_and_missing_file(scenario: Path) -> None:
    (scenario / PLOTS_PARQUET).write_text("not parquet")
    with pytest.raises(UserError, match="not a Parquet file"):
        read_plots(scenario)
    (scenario / TRUTH_PARQUET).unlink()
    with pytest.raises(UserError, match="file not found"):
        read_truth(scenario)


def edit_json(folder: Path, change: dict[str, object], drop: tuple[str, ...] = ()) -> None:
    obj = json.loads((folder / SCENARIO_JSON).read_text())
    obj.update(change)
    for key in drop:
        obj.pop(key)
    (folder / SCENARIO_JSON).write_text(json.dumps(obj))


@pytest.mark.parametrize(("change", "drop", "message"), [
    ({"format": "airpicture-scenario/0"}, (), "format is"),
    ({"frame": "wgs84"}, (), "frame"),
    ({}, ("sensors",), "missing key 'sensors'"),
    ({}, ("origin",), "missing key 'origin'"),
    ({"origin": {"lat": "north"}}, (), "origin needs numeric"),
    ({"duration_s": "long"}, (), "duration_s a number"),
    ({"sensors": {"id": 1}}, (), "'sensors' must be a list"),
    ({"sensors": [{"id": 1, "kind": "sonar"}]}, (), "unknown kind 'sonar'"),
    ({"sensors": [{"kind": "psr"}]}, (), "needs 'id' and 'kind'"),
    ({"sensors": [{"id": 1, "kind": "psr"}, {"id": 1, "kind": "ssr"}]}, (), "not unique"),
    ({"sensors": [{"id": 1, "kind": "psr", "pd": "high"}]}, (), "'pd' has a bad value"),
    ({"sensors": [3]}, (), "must be an object"),
])
def test_bad_scenario_json(scenario: Path, change: dict[str, object], drop: tuple[str, ...],
                           message: str) -> None:
    edit_json(scenario, change, drop)
    with pytest.raises(UserError, match=message) as err:
        read_meta(scenario)
    assert err.value.where == str(scenario / SCENARIO_JSON)


def test_scenario_json_not_json_or_not_object(scenario: Path) -> None:
    (scenario / SCENARIO_JSON).write_text("{broken")
    with pytest.raises(UserError, match="invalid JSON"):
        read_meta(scenario)
    (scenario / SCENARIO_JSON).write_text("[1, 2]")
    with pytest.raises(UserError, match="expected a JSON object"):
        read_meta(scenario)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a scenario folder"):
        read_meta(tmp_path / "nowhere")
    with pytest.raises(UserError, match="file not found"):
        read_meta(tmp_path)


def test_tracks_round_trip_and_missing_column(tmp_path: Path) -> None:
    table = pa.table({"t": [0.0, 1.0], "track_id": [1, 1], "x": [0.0, 1.0], "y": [0.0, 2.0],
                      "vx": [1.0, 1.0], "vy": [2.0, 2.0], "confirmed": [False, True],
                      "icao24": [5, 5]})
    path = write_tracks(tmp_path / "tracks.parquet", table)
    back = read_tracks(path)
    assert back.column("track_id").type == pa.int64()
    assert back.column("confirmed").to_pylist() == [False, True]
    rewrite(path, {"confirmed": None})
    with pytest.raises(UserError, match="missing column 'confirmed'"):
        read_tracks(path)


def test_unlimited_range_round_trips(tmp_path: Path) -> None:
    meta = make_meta()
    meta.sensors.append(Sensor(id=9, kind="ssr"))  # max_range_m = inf, written as null
    plots, truth_id = make_plots()
    folder = write_scenario(tmp_path / "inf", meta, make_truth(), plots, truth_id)
    assert json.loads((folder / SCENARIO_JSON).read_text())["sensors"][2]["max_range_m"] is None
    assert read_meta(folder).sensor(9).max_range_m == float("inf")
