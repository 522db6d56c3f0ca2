"""`airpicture track --policy --consumer` on the three-partners example: the restricted
radar's aircraft reach only its cleared consumer; each picture's sensor_mask stays over the
scenario's full sensor list; the public feed gets no identity and nothing outside its area."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from airpicture.cli import app
from airpicture.core.errors import UserError
from airpicture.io.scenario import read_meta, read_tracks

RADAR_2_BIT = np.uint64(1 << 1)  # sensor 2 is the second of scenario.json


def _track(scenario: Path, out: Path, *extra: str) -> pa.Table:
    result = CliRunner().invoke(app, ["track", str(scenario), "-o", str(out), "-q", *extra])
    assert result.exit_code == 0, result.output
    return read_tracks(out)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory, example_policy: Path,
             example_scenario: Path) -> dict[str, pa.Table]:
    work = tmp_path_factory.mktemp("pictures")
    out = {"operator": _track(example_scenario, work / "operator.parquet")}
    for name in ("alpha-ops", "bravo-ops", "bravo-liaison", "charlie-public"):
        out[name] = _track(example_scenario, work / f"{name}.parquet", "--policy",
                           str(example_policy), "--consumer", name)
    return out


@pytest.mark.slow
def test_restricted_radar_reaches_only_its_cleared_consumer(
        pictures: dict[str, pa.Table]) -> None:
    def with_radar_2(table: pa.Table) -> int:
        mask = table.column("sensor_mask").to_numpy()
        return int(np.count_nonzero(mask & RADAR_2_BIT))

    assert with_radar_2(pictures["operator"]) > 0
    assert with_radar_2(pictures["bravo-ops"]) > 0
    for name in ("alpha-ops", "bravo-liaison", "charlie-public"):
        assert with_radar_2(pictures[name]) == 0, name
    # bravo-ops sees the aircraft only radar 2 sees: more tracks than radar 1 alone gives
    ids = {n: set(t.column("track_id").to_pylist()) for n, t in pictures.items()}
    assert len(ids["bravo-ops"]) > len(ids["bravo-liaison"])
    # ADS-B (sensors 3, 4: bits 2, 3) never reaches BRAVO's consumers
    for name in ("bravo-ops", "bravo-liaison"):
        assert not np.any(pictures[name].column("sensor_mask").to_numpy() & np.uint64(0b1100))


@pytest.mark.slow
def test_public_feed_has_no_identity_and_stays_in_its_area(
        pictures: dict[str, pa.Table], example_scenario: Path) -> None:
    public = pictures["charlie-public"]
    assert public.num_rows > 0
    assert set(public.column("icao24").to_pylist()) == {0}
    assert set(public.column("callsign").to_pylist()) == {""}
    lat, lon = read_meta(example_scenario).frame.ground_to_geodetic(
        public.column("x").to_numpy(), public.column("y").to_numpy())
    assert np.all((lon > 1.6) & (lon < 2.45) & (lat > 48.5) & (lat < 49.4))
    assert set(pictures["alpha-ops"].column("icao24").to_pylist()) - {0}


def test_policy_and_consumer_go_together(example_scenario: Path, example_policy: Path,
                                         tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["track", str(example_scenario), "-o",
                                      str(tmp_path / "x.parquet"), "--policy",
                                      str(example_policy)])
    assert isinstance(result.exception, UserError)
    assert "go together" in str(result.exception)
    unknown = CliRunner().invoke(app, ["track", str(example_scenario), "-o",
                                       str(tmp_path / "x.parquet"), "--policy",
                                       str(example_policy), "--consumer", "nobody"])
    assert isinstance(unknown.exception, UserError) and "no consumer 'nobody'" in str(
        unknown.exception)


@pytest.mark.slow
def test_stats_name_the_class(example_scenario: Path, example_policy: Path,
                              tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    _track(example_scenario, tmp_path / "b.parquet", "--policy", str(example_policy),
           "--consumer", "bravo-liaison", "--stats-json", str(stats))
    doc = json.loads(stats.read_text())
    assert doc["release_class"] == "sensors-1" and doc["sensors"] == [1]
    assert doc["plots_in"] < 2001  # only radar 1's plots reach the class's tracker
