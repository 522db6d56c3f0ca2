"""`airpicture policy check` and `airpicture policy explain`: review a release policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from airpicture.core.errors import UserError

if TYPE_CHECKING:
    from airpicture.policy.release import LoadedPolicy

policy_app = typer.Typer(help="Release policies: check a policy file, explain a decision.",
                         no_args_is_help=True)


def check_report(loaded: LoadedPolicy, scenario_sensors: list[int] | None = None
                 ) -> dict[str, Any]:
    """The `policy check --json` document: per consumer its sensors, class and area; the
    classes with their consumers and combined label."""
    consumers = {
        name: {"organisation": c.organisation, "sensors": list(c.sensors), "class": c.class_id,
               "area": c.area, "identity_fields": c.identity,
               "privacy_listed_identity": c.privacy_identity,
               "clearance": loaded.file.consumers[name].clearance.model_dump()}
        for name, c in loaded.consumers.items()}
    classes = [{"id": k.id, "sensors": list(k.sensors), "consumers": list(k.consumers),
                "label": k.label.model_dump()} for k in loaded.classes]
    report: dict[str, Any] = {"policy": str(loaded.path), "consumers": consumers,
                              "classes": classes}
    if scenario_sensors is not None:
        labelled = set(loaded.file.sensors)
        report["unlabelled_sensors"] = [s for s in scenario_sensors if s not in labelled]
        report["sensors_not_in_scenario"] = sorted(labelled - set(scenario_sensors))
    return report


def _area_text(area: dict[str, Any] | None) -> str:
    if area is None:
        return "everywhere"
    ring = area["coordinates"][0]
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return (f"lat {min(lats):.2f}..{max(lats):.2f} lon {min(lons):.2f}..{max(lons):.2f} "
            f"({len(ring) - 1} vertices)")


def _label_text(lab: dict[str, Any]) -> str:
    text = " ".join([lab["policy_identifier"], lab["classification"], *lab["categories"]])
    return text + f", rel. to {', '.join(lab['releasable_to']) or 'owner only'}"


def _print_check(loaded: LoadedPolicy, report: dict[str, Any], names: dict[int, str]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    sensors = Table(title="Sensors")
    for col in ("sensor", "name", "owner", "label"):
        sensors.add_column(col)
    for sid, entry in loaded.file.sensors.items():
        sensors.add_row(str(sid), names.get(sid, ""), entry.organisation,
                        _label_text(entry.label.model_dump()))
    console.print(sensors)
    table = Table(title="Consumers")
    for col in ("consumer", "organisation", "clearance", "sensors", "class", "identity",
                "area"):
        table.add_column(col)
    for name, c in report["consumers"].items():
        clr = c["clearance"]
        clearance = " ".join([clr["classification"], *clr["categories"]])
        if clr["roles"]:
            clearance += f" (roles: {', '.join(clr['roles'])})"
        identity = ("yes" if c["privacy_listed_identity"] else "yes, not privacy-listed"
                    ) if c["identity_fields"] else "no"
        table.add_row(name, c["organisation"], clearance,
                      ", ".join(str(s) for s in c["sensors"]) or "none", c["class"], identity,
                      _area_text(c["area"]))
    console.print(table)
    classes = Table(title="Release classes (one picture each)")
    for col in ("class", "sensors", "consumers", "label of its picture"):
        classes.add_column(col)
    for k in report["classes"]:
        classes.add_row(k["id"], ", ".join(str(s) for s in k["sensors"]) or "none",
                        ", ".join(k["consumers"]), _label_text(k["label"]))
    console.print(classes)
    for key, text in (("unlabelled_sensors", "scenario sensors without a label (released to "
                       "no one)"), ("sensors_not_in_scenario", "labelled sensors the scenario "
                                    "does not have")):
        if report.get(key):
            console.print(f"[yellow]warning:[/yellow] {text}: {report[key]}")


@policy_app.command("check")
def _check(
    file: Path = typer.Argument(..., help="Policy file (TOML or YAML)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    scenario: Path | None = typer.Option(
        None, "--scenario", help="Scenario folder: name its sensors and find unlabelled ones."),
) -> None:
    """Validate a policy file; print per consumer its sensors, class, identity fields, area."""
    from airpicture.policy.release import load_policy

    loaded = load_policy(file)
    names: dict[int, str] = {}
    scenario_sensors = None
    if scenario is not None:
        from airpicture.io.scenario import read_meta

        meta = read_meta(scenario)
        scenario_sensors = [s.id for s in meta.sensors]
        names = {s.id: s.name for s in meta.sensors}
    report = check_report(loaded, scenario_sensors)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _print_check(loaded, report, names)


@policy_app.command("explain")
def _explain(
    file: Path = typer.Argument(..., help="Policy file (TOML or YAML)."),
    consumer: str = typer.Argument(..., help="Consumer name."),
    sensor: int = typer.Argument(..., help="Scenario sensor id."),
) -> None:
    """Say whether CONSUMER may see data from SENSOR, and which Cedar policies decided."""
    from airpicture.policy.release import load_policy

    loaded = load_policy(file)
    if consumer not in loaded.consumers:
        raise UserError(file, f"no consumer {consumer!r}; consumers: "
                              f"{', '.join(loaded.consumers)}")
    if sensor not in loaded.file.sensors:
        raise UserError(file, f"no sensor {sensor}; sensors: "
                              f"{', '.join(str(s) for s in loaded.file.sensors)}")
    d = loaded.decisions.sensors[consumer][sensor]
    entry = loaded.file.consumers[consumer]
    label = loaded.file.sensors[sensor]
    verdict = "ALLOW" if d.allowed else "DENY"
    if d.reasons:
        why = ("permitted by " if d.allowed else "forbidden by ") + ", ".join(d.reasons)
    else:
        why = "no policy permits it (Cedar denies by default)"
    typer.echo(f"{verdict}: consumer {consumer!r} may{'' if d.allowed else ' not'} see sensor "
               f"{sensor}: {why}")
    clr = entry.clearance
    typer.echo(f"  consumer: organisation {entry.organisation}, clearance "
               f"{clr.classification}, categories {clr.categories}, roles {clr.roles}")
    lab = label.label
    typer.echo(f"  sensor:   owner {label.organisation}, label {lab.policy_identifier} "
               f"{lab.classification}, categories {lab.categories}, releasable to "
               f"{lab.releasable_to}")
    for err in d.errors:
        typer.echo(f"  evaluation error: {err}")


def register(app: typer.Typer) -> None:
    """Add `airpicture policy ...` to the app."""
    app.add_typer(policy_app, name="policy")
