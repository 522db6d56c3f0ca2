"""The CLI: every command and option documented; user errors are one line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import typer.main
from typer.testing import CliRunner

from airpicture.cli import app

Walked = list[tuple[tuple[str, ...], Any]]


def _walk(command: Any, path: tuple[str, ...] = ()) -> Walked:
    out = [(path, command)]
    # typer ships its own click: walk by duck typing, not isinstance.
    for name, sub in (getattr(command, "commands", None) or {}).items():
        out.extend(_walk(sub, (*path, name)))
    return out


def test_every_command_and_option_has_help() -> None:
    root = typer.main.get_command(app)
    commands = _walk(root)
    assert len(commands) > 1, "no command registered"
    for path, command in commands:
        if path:
            assert command.help, f"command {' '.join(path)} has no help"
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                where = " ".join(path) or "airpicture"
                assert param.help, f"option {param.opts} of {where} has no help"


def test_help_runs_for_every_command() -> None:
    runner = CliRunner()
    root = typer.main.get_command(app)
    for path, _ in _walk(root):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_entry_point_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airpicture", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "Usage" in result.stdout


def test_user_error_is_one_line_and_exit_2(tmp_path: object) -> None:
    from airpicture.cli import main  # noqa: F401  (the entry point under test)

    code = (
        "import sys\n"
        "from airpicture import cli\n"
        "from airpicture.core.errors import UserError\n"
        "@cli.app.command('boom-test')\n"
        "def boom() -> None:\n"
        "    '''Raise a user error.'''\n"
        "    raise UserError('some/file.parquet', 'missing column x')\n"
        "sys.argv = ['airpicture', 'boom-test']\n"
        "cli.main()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "airpicture: error: some/file.parquet: missing column x"
    assert "Traceback" not in result.stderr


def test_usage_error_exits_2_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "airpicture", "demo", "--no-such-flag"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "no-such-flag" in result.stderr and "Traceback" not in result.stderr


def test_boolean_options_show_as_flags() -> None:
    """A bool option is a flag (--x, or --x/--no-x) in every --help, never 'BOOLEAN'/<bool>."""
    runner = CliRunner()
    root = typer.main.get_command(app)
    seen_flags = 0
    for path, command in _walk(root):
        for param in command.params:
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            if param.param_type_name == "option" and annotation is bool:
                assert param.is_flag, f"{param.opts} of {' '.join(path)} takes a value"
                seen_flags += 1
        text = runner.invoke(app, [*path, "--help"]).output
        for metavar in ("BOOLEAN", "<bool>", "<boolean>"):
            assert metavar not in text, (path, text)
    assert seen_flags > 5
