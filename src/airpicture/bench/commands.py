"""CLI commands of this part (registered by airpicture.cli): `airpicture bench`."""

from __future__ import annotations

from pathlib import Path

import typer

from airpicture.core.errors import UserError
from airpicture.core.paths import check_output_dir

DEFAULT_OUT = Path("bench/results")
TABLE_WIDTH = 200
ALL_SECTIONS = "tracker,modes,asterix,service,sim,metrics"


def _parse_only(only: str) -> tuple[str, ...]:
    """The comma-separated section list, checked against the known sections."""
    from airpicture.bench.run import SECTIONS

    names = tuple(n.strip() for n in only.split(",") if n.strip())
    unknown = [n for n in names if n not in SECTIONS]
    if unknown or not names:
        raise UserError("--only", f"unknown section(s) {unknown or only!r}; choose from "
                                  f"{','.join(SECTIONS)}")
    return names


def bench(
    only: str = typer.Option(ALL_SECTIONS, "--only",
                             help=f"Sections to run, comma-separated, from {ALL_SECTIONS}."),
    quick: bool = typer.Option(False, "--quick",
                               help="Small scenarios and tiny budgets (for tests, ~1 minute)."),
    out: Path = typer.Option(DEFAULT_OUT, "--out",
                             help="Folder for latest.json, latest.md, runs/ and scenarios/."),
    scenario_dir: Path | None = typer.Option(
        None, "--scenario-dir",
        help="Folder with ready scenario folders named by preset; used instead of simulating."),
    tracker: str = typer.Option("airpicture.tracker.run:track_scenario", "--tracker",
                                help="Tracker to measure, as module:function with "
                                     "track_scenario's signature."),
    stamp: str = typer.Option("auto", "--stonesoup-stamp",
                              help="Stone Soup Detection times: 'plot' (each plot's own time), "
                                   "'scan' (its 4 s bucket start) or 'auto' (plot for the "
                                   "accuracy scenario, scan for the speed ones)."),
) -> None:
    """Measure airpicture against Stone Soup and other peers; print one table, write results."""
    from rich.console import Console

    from airpicture.bench.report import rich_table, write_results
    from airpicture.bench.run import run_bench

    if stamp not in ("auto", "plot", "scan"):
        raise UserError("--stonesoup-stamp", f"{stamp!r} is not 'auto', 'plot' or 'scan'")
    if scenario_dir is not None and not scenario_dir.is_dir():
        raise UserError(scenario_dir, "not a folder")
    sections = _parse_only(only)
    check_output_dir(out, "--out")
    console = Console()
    result = run_bench(out, sections, quick, scenario_dir, tracker, stamp,
                       progress=lambda msg: console.log(msg))
    Console(width=max(console.width, TABLE_WIDTH)).print(rich_table(result))
    js, md = write_results(result, out)
    console.print(f"wrote {js} and {md}")


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `airpicture` app."""
    app.command("bench")(bench)
