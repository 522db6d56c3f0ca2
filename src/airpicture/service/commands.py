"""CLI commands of this part (registered by airpicture.cli)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `airpicture` app."""
