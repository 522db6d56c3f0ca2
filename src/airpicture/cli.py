"""The `airpicture` command line; each part registers its commands from its `commands` module."""

from __future__ import annotations

import sys

import typer

from airpicture import __version__
from airpicture.core.errors import UserError

app = typer.Typer(
    name="airpicture",
    help="Fuse radar, Mode S, ADS-B and MLAT plots into one air picture.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"airpicture {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """airpicture: one air picture from many sensors."""


def _register() -> None:
    # One line per part; each module adds its commands to `app`.
    from airpicture import demo
    from airpicture.bench import commands as bench_commands
    from airpicture.commands import policy as policy_commands
    from airpicture.commands import track as track_commands
    from airpicture.io import commands as io_commands
    from airpicture.metrics import commands as metrics_commands
    from airpicture.service import commands as service_commands
    from airpicture.sim import commands as sim_commands
    from airpicture.sources import commands as sources_commands

    for module in (sim_commands, metrics_commands, track_commands, sources_commands,
                   io_commands, service_commands, bench_commands, demo, policy_commands):
        module.register(app)


_register()


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        app(prog_name="airpicture")
    except UserError as exc:
        typer.echo(f"airpicture: error: {exc}", err=True)
        sys.exit(2)
