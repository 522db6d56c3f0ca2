"""CLI commands of this part (registered by airpicture.cli): `airpicture score`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from airpicture.core.errors import UserError
from airpicture.core.paths import check_input_file, check_output_dir
from airpicture.core.values import check_number


def _print_summary(summary_json: dict[str, object], title: str) -> None:
    """The summary as a readable rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    from airpicture.metrics.report import LABELS, format_value

    table = Table(title=title)
    table.add_column("score")
    table.add_column("value", justify="right")
    for key, label in LABELS.items():
        table.add_row(label, format_value(summary_json.get(key)))
    Console().print(table)


def score(
    scenario: Path = typer.Argument(
        ..., metavar="SCENARIO", help="Scenario folder (scenario.json, truth, plots)."),
    tracks: Path = typer.Argument(
        ..., metavar="TRACKS", help="A tracker's tracks.parquet to score."),
    out_dir: Path | None = typer.Option(
        None, "-o", "--out", help="Folder for summary.json and report.html (default: beside "
        "TRACKS)."),
    t_min_s: float = typer.Option(0.0, "--t-min", help="Score only truth times from this "
                                  "time on (seconds)."),
    step_s: float | None = typer.Option(None, "--step", help="Score one truth time per this "
                                        "many seconds (default: every truth time)."),
) -> None:
    """Score TRACKS against the truth of SCENARIO: GOSPA, OSPA, RMS, id changes, SIAP."""
    from airpicture.metrics.report import write_report
    from airpicture.metrics.score import score_scenario

    check_input_file(tracks)
    check_number(t_min_s, "--t-min")
    if step_s is not None and not step_s > 0:
        raise UserError(None, f"--step must be positive, got {step_s}")
    out = check_output_dir(out_dir if out_dir is not None else tracks.parent, "--out")
    summary = score_scenario(scenario, tracks, t_min_s=t_min_s, step_s=step_s)
    out.mkdir(parents=True, exist_ok=True)
    data = summary.to_json()
    (out / "summary.json").write_text(json.dumps(data, indent=2) + "\n")
    report = write_report(scenario, tracks, out, summary)
    _print_summary(data, f"{tracks.name} on {scenario.name}")
    typer.echo(f"wrote {out / 'summary.json'} and {report}")


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `airpicture` app."""
    app.command("score")(score)
