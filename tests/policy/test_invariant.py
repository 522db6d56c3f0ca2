"""The release invariant as a property: for random labels, clearances, areas, identity rules
and privacy lists over small scenarios, each consumer's picture (`airpicture track --policy
--consumer`) equals, bit for bit, `airpicture track` of a scenario holding only the sensors
the consumer is cleared for (and their plots), masked by rules written out here again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from airpicture.commands.track import track_for_consumer
from airpicture.io.scenario import (
    ScenarioMeta,
    read_meta,
    read_plots_with_truth,
    read_tracks,
    read_truth,
    write_scenario,
)
from airpicture.policy.release import load_policy
from airpicture.sim.build import simulate_meta
from airpicture.tracker.run import track_scenario

ORGS = ("A", "B", "C")
LEVELS = ("UNCLASSIFIED", "RESTRICTED", "SECRET")
CATEGORIES = ("X", "Y")


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory, example_scenario: Path) -> list[Path]:
    """Two short scenarios with the example's four sensors (different seeds)."""
    base = json.loads((example_scenario / "scenario.json").read_text())
    out = []
    for seed in (3, 5):
        meta = ScenarioMeta.from_json({**base, "seed": seed, "duration_s": 50.0,
                                       "targets": {**base["targets"], "count": 8}}, "test")
        folder = tmp_path_factory.mktemp(f"scn{seed}")
        simulate_meta(meta, folder)
        out.append(folder)
    return out


label = st.fixed_dictionaries({
    "organisation": st.sampled_from(ORGS), "level": st.integers(0, 2),
    "categories": st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=2),
    "releasable_to": st.lists(st.sampled_from(ORGS), unique=True, max_size=3)})
consumer = st.fixed_dictionaries({
    "organisation": st.sampled_from(ORGS), "level": st.integers(0, 2),
    "categories": st.lists(st.sampled_from(CATEGORIES), unique=True, max_size=2),
    "privacy": st.booleans(), "public": st.booleans(),
    "area": st.one_of(st.none(), st.tuples(st.floats(1.5, 2.4), st.floats(2.5, 3.4)))})


def _policy_text(labels: list[dict[str, Any]], consumers: list[dict[str, Any]]) -> str:
    lines = ["[policy]", f"classifications = {json.dumps(list(LEVELS))}"]
    lines += [f"[organisations.{o}]" for o in ORGS]
    for sid, lab in enumerate(labels, start=1):
        lines += [f"[sensors.{sid}]", f"organisation = {json.dumps(lab['organisation'])}",
                  f"label = {{ classification = {json.dumps(LEVELS[lab['level']])}, "
                  f"categories = {json.dumps(lab['categories'])}, "
                  f"releasable_to = {json.dumps(lab['releasable_to'])} }}"]
    forbids = []
    for k, c in enumerate(consumers):
        roles = ["privacy"] if c["privacy"] else []
        lines += [f"[consumers.c{k}]", f"organisation = {json.dumps(c['organisation'])}",
                  f"clearance = {{ classification = {json.dumps(LEVELS[c['level']])}, "
                  f"categories = {json.dumps(c['categories'])}, roles = {json.dumps(roles)} }}"]
        if c["area"] is not None:
            w, e = c["area"]
            ring = [[w, 48.0], [e, 48.0], [e, 49.9], [w, 49.9], [w, 48.0]]
            lines.append(f"area = {{ type = 'Polygon', coordinates = [{json.dumps(ring)}] }}")
        if c["public"]:
            forbids.append(f'forbid (principal == Consumer::"c{k}", '
                           'action == Action::"see_identity", resource);')
    lines += ["[cedar]", "policies = '''", *forbids, "'''", "[privacy]", "file = 'privacy.txt'"]
    return "\n".join(lines) + "\n"


def _expected_sensors(labels: list[dict[str, Any]], c: dict[str, Any]) -> tuple[int, ...]:
    """The default policy's rule, written out: dominance, categories, owner or releasable."""
    return tuple(sid for sid, lab in enumerate(labels, start=1)
                 if c["level"] >= lab["level"] and set(lab["categories"]) <= set(c["categories"])
                 and (c["organisation"] == lab["organisation"]
                      or c["organisation"] in lab["releasable_to"]))


def _reference(scenario: Path, sensors: tuple[int, ...], c: dict[str, Any],
               listed: set[int], work: Path) -> pa.Table:
    """`airpicture track` of the scenario reduced to `sensors`, masked by hand."""
    meta = read_meta(scenario)
    plots, truth_id = read_plots_with_truth(scenario, meta)
    sub_meta = ScenarioMeta.from_json(
        {**meta.to_json(), "sensors": [s.to_json() for s in meta.sensors if s.id in sensors]},
        "reduced")
    keep = np.isin(plots.sensor_id, np.asarray(sensors, np.int32))
    sub_dir = write_scenario(work / "sub", sub_meta, read_truth(scenario), plots.take(keep),
                             truth_id[keep])
    table = read_tracks(track_scenario(sub_dir, work / "sub.parquet")["out"])
    # sensor_mask: bit j of the reduced list -> bit of that sensor in the full list
    full = [s.id for s in meta.sensors]
    sub_mask = table.column("sensor_mask").to_numpy()
    mask = np.zeros_like(sub_mask)
    for j, s in enumerate(sub_meta.sensors):
        mask |= ((sub_mask >> np.uint64(j)) & np.uint64(1)) << np.uint64(full.index(s.id))
    table = table.set_column(table.column_names.index("sensor_mask"), "sensor_mask",
                             pa.array(mask, pa.uint64()))
    if c["area"] is not None:
        lat, lon = meta.frame.ground_to_geodetic(table.column("x").to_numpy(),
                                                 table.column("y").to_numpy())
        w, e = c["area"]
        table = table.filter(pa.array((lon > w) & (lon < e) & (lat > 48.0) & (lat < 49.9)))
    icao = table.column("icao24").to_numpy()
    blank = np.isin(icao, list(listed)) & (icao != 0) & (not c["privacy"])
    if c["public"]:
        blank[:] = True
    for name, value in (("icao24", 0), ("callsign", ""), ("squawk", -1)):
        col = table.column(name)
        new = [value if b else v for b, v in zip(blank, col.to_pylist(), strict=True)]
        table = table.set_column(table.column_names.index(name), name,
                                 pa.array(new, col.type))
    return table


@pytest.mark.slow
@settings(max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(label, min_size=4, max_size=4),
       consumers=st.lists(consumer, min_size=1, max_size=2), which=st.integers(0, 1),
       n_listed=st.integers(0, 3), data=st.data())
def test_released_picture_equals_picture_of_cleared_plots(
        scenarios: list[Path], tmp_path_factory: pytest.TempPathFactory,
        labels: list[dict[str, Any]], consumers: list[dict[str, Any]], which: int,
        n_listed: int, data: st.DataObject) -> None:
    scenario = scenarios[which]
    work = tmp_path_factory.mktemp("case")
    plots, _ = read_plots_with_truth(scenario)
    addresses = sorted(set(plots.icao24.tolist()) - {0})
    listed = set(data.draw(st.lists(st.sampled_from(addresses), max_size=n_listed)))
    (work / "privacy.txt").write_text("".join(f"{a:06x}\n" for a in sorted(listed)))
    policy = work / "policy.toml"
    policy.write_text(_policy_text(labels, consumers))
    loaded = load_policy(policy)
    for k, c in enumerate(consumers):
        name = f"c{k}"
        sensors = _expected_sensors(labels, c)
        assert loaded.consumers[name].sensors == sensors  # Cedar agrees with the rule
        got = read_tracks(track_for_consumer(scenario, work / f"{name}.parquet", policy,
                                             name)["out"])
        case = work / name
        case.mkdir()
        expected = _reference(scenario, sensors, c, listed, case)
        assert got.num_rows == expected.num_rows
        assert got.schema == expected.schema
        # bit for bit; NaN where the reference has NaN (pyarrow's equals calls NaN unequal)
        assert got.to_pandas().equals(expected.to_pandas()), (
            f"{name} (sensors {sensors}) differs from its reference")
        forbidden = sum(1 << j for j in range(4) if j + 1 not in sensors)
        assert not np.any(got.column("sensor_mask").to_numpy() & np.uint64(forbidden))
