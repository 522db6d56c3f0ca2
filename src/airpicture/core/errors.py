"""Errors a user can cause and fix; the CLI turns them into one line and exit code 2."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input from a user: a file that is missing, malformed or inconsistent."""

    def __init__(self, where: str | Path | None, problem: str) -> None:
        self.where = str(where) if where is not None else None
        self.problem = problem
        super().__init__(f"{self.where}: {problem}" if self.where else problem)
