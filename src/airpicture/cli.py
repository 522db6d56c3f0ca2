"""The `airpicture` command line; each part registers its commands from its `commands` module."""

from __future__ import annotations

import sys

import typer
from typer._click.exceptions import NoArgsIsHelpError  # typer ships its own click

from airpicture import __version__
from airpicture.core.errors import UserError

app = typer.Typer(
    name="airpicture",
    help="Fuse radar, Mode S, ADS-B and MLAT plots into one air picture.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: flags show as flags, not with a <bool> metavar
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


USAGE_EXIT_CODE = 2
"""Exit status of a user or usage error (click's convention)."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: user and usage errors become one line on stderr and exit code 2, never a
    traceback or a boxed panel."""
    try:
        code = app(args=argv, prog_name="airpicture", standalone_mode=False)
    except UserError as exc:
        typer.echo(f"airpicture: error: {exc}", err=True)
        sys.exit(USAGE_EXIT_CODE)
    except NoArgsIsHelpError as exc:  # a group or command run bare: its help, as click does
        typer.echo(exc.format_message(), err=True)
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # click's UsageError, BadParameter, ... (typer's click)
        typer.echo(f"airpicture: error: {_one_line(exc.format_message())}{_hint(exc)}", err=True)
        sys.exit(getattr(exc, "exit_code", USAGE_EXIT_CODE))
    except typer.Abort:
        typer.echo("airpicture: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _hint(exc: Exception) -> str:
    """' (see `airpicture CMD --help`)' for a usage error raised within a command's context."""
    ctx = getattr(exc, "ctx", None)
    if ctx is None:
        return ""
    return f" (see `{ctx.command_path} --help`)"
