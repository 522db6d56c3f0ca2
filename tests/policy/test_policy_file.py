"""Policy files: validation errors are one line naming the problem; Cedar decides the
shipped example as its labels say; `policy check --json` keeps its fixed shape."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from airpicture.cli import app
from airpicture.core.errors import UserError
from airpicture.policy.release import load_policy

MINIMAL = """
[organisations.A]
[sensors.1]
organisation = "A"
[consumers.c]
organisation = "A"
"""


def _write(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, problem", [
    (MINIMAL + "colour = 'red'\n", "consumers.c.colour"),
    (MINIMAL + "[extra]\n", "unknown key 'extra'"),
    (MINIMAL.replace('organisation = "A"\n[consumers', 'organisation = "B"\n[consumers'),
     "unknown organisation 'B'"),
    (MINIMAL + "clearance = { classification = 'COSMIC' }\n", "'COSMIC' is not one of"),
    (MINIMAL + "area = { type = 'Polygon', coordinates = [[[0, 0], [1, 0], [1, 1]]] }\n",
     "each ring needs at least 4 positions"),
    (MINIMAL + "area = { type = 'Polygon', coordinates = [[[0, 95], [1, 0], [1, 1], [0, 95]]] }\n",
     "is not [lon, lat]"),
    (MINIMAL + "[cedar]\npolicies = 'permit (principal, action, resource) when "
     "{ resource.colour };'\n", "Cedar policies do not validate"),
    (MINIMAL + "[cedar]\npolicies = 'permit ('\n", "Cedar policies do not validate"),
    (MINIMAL + "[privacy]\nfile = 'missing.txt'\n", "privacy list not found"),
    ("organisations = 3\n", "organisations"),
    ("[organisations.A]\n[consumers.c]\norganisation = 'A'\n[sensors.x]\norganisation = 'A'\n",
     "sensors.x"),
    ("not toml [", "invalid TOML"),
])
def test_bad_policy_is_one_line_user_error(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(UserError) as exc:
        load_policy(_write(tmp_path, text))
    assert problem in str(exc.value)
    assert "\n" not in str(exc.value)


def test_bad_privacy_line_names_the_line(tmp_path: Path) -> None:
    _write(tmp_path, "# list\nabc123\nnot a callsign!\n", "privacy.txt")
    with pytest.raises(UserError, match="line 3"):
        load_policy(_write(tmp_path, MINIMAL + "[privacy]\nfile = 'privacy.txt'\n"))


def test_yaml_policy_equals_toml(tmp_path: Path, example_policy: Path) -> None:
    import yaml

    data = tomllib.loads(example_policy.read_text())
    data["privacy"]["file"] = str(example_policy.parent / "privacy.txt")
    path = _write(tmp_path, yaml.safe_dump(data), "policy.yaml")
    assert load_policy(path).consumers == load_policy(example_policy).consumers


EXPECTED_SENSORS = {
    "alpha-ops": (1, 3, 4), "bravo-ops": (1, 2), "bravo-liaison": (1,),
    "charlie-ops": (1, 3, 4), "charlie-public": (1, 3, 4),
}


def test_example_decisions(example_policy: Path) -> None:
    loaded = load_policy(example_policy)
    assert {n: c.sensors for n, c in loaded.consumers.items()} == EXPECTED_SENSORS
    # The restricted radar: its owner's MIL-cleared consumer only.
    assert [n for n, c in loaded.consumers.items() if 2 in c.sensors] == ["bravo-ops"]
    assert {n: c.identity for n, c in loaded.consumers.items()} == {
        n: n != "charlie-public" for n in EXPECTED_SENSORS}
    assert [n for n, c in loaded.consumers.items() if c.privacy_identity] == ["alpha-ops"]
    forbid = loaded.decisions.identity["charlie-public"]["all"]
    assert not forbid.allowed and forbid.reasons == ("public-feeds-get-no-identity",)
    assert [(k.id, k.consumers) for k in loaded.classes] == [
        ("sensors-1", ("bravo-liaison",)), ("sensors-1-2", ("bravo-ops",)),
        ("sensors-1-3-4", ("alpha-ops", "charlie-ops", "charlie-public"))]
    labels = {k.id: k.label for k in loaded.classes}
    assert labels["sensors-1-2"].classification == "SECRET"
    assert labels["sensors-1-2"].releasable_to == ["BRAVO"]
    assert labels["sensors-1-3-4"].releasable_to == ["ALPHA", "CHARLIE"]


def test_without_default_policies_everything_is_denied(tmp_path: Path) -> None:
    loaded = load_policy(_write(tmp_path, MINIMAL + "[cedar]\ninclude_default = false\n"))
    assert loaded.consumers["c"].sensors == ()
    assert not loaded.consumers["c"].identity


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_check_json_shape(example_policy: Path, example_scenario: Path) -> None:
    result = _run("policy", "check", str(example_policy), "--json", "--scenario",
                  str(example_scenario))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["consumers"]) == set(EXPECTED_SENSORS)
    for name, entry in report["consumers"].items():
        assert entry["sensors"] == list(EXPECTED_SENSORS[name])
        assert entry["class"] == "sensors-" + "-".join(map(str, EXPECTED_SENSORS[name]))
    assert report["consumers"]["alpha-ops"]["area"] is None
    assert report["consumers"]["charlie-public"]["area"]["type"] == "Polygon"
    assert [k["id"] for k in report["classes"]] == ["sensors-1", "sensors-1-2", "sensors-1-3-4"]
    assert report["unlabelled_sensors"] == [] and report["sensors_not_in_scenario"] == []


def test_check_table_names_every_consumer(example_policy: Path) -> None:
    result = _run("policy", "check", str(example_policy))
    assert result.exit_code == 0, result.output
    for name in EXPECTED_SENSORS:
        assert name in result.output
    assert "sensors-1-3-4" in result.output


def test_explain_names_the_deciding_policy(example_policy: Path) -> None:
    denied = _run("policy", "explain", str(example_policy), "bravo-liaison", "2")
    assert denied.exit_code == 0
    assert denied.output.startswith("DENY") and "denies by default" in denied.output
    allowed = _run("policy", "explain", str(example_policy), "charlie-ops", "1")
    assert allowed.output.startswith("ALLOW") and "label-dominance" in allowed.output
    unknown = _run("policy", "explain", str(example_policy), "nobody", "1")
    assert unknown.exit_code != 0
