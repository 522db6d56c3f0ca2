"""Checks of the files and folders a command is given, made up front so that a bad path is one
clear UserError before any work is done, not a traceback after a long run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from airpicture.core.errors import UserError


def _nearest_existing(path: Path) -> Path:
    """path itself or its closest ancestor that exists (the folder a new file would go in)."""
    absolute = path.absolute()
    for candidate in (absolute, *absolute.parents):
        if candidate.exists():
            return candidate
    return Path(absolute.anchor)


def _check_writable_folder(folder: Path, path: Path, option: str) -> None:
    """folder must be a folder a file can be created in (tried, so root and read-only mounts
    answer truly, not as os.access guesses)."""
    if not folder.is_dir():
        raise UserError(path, f"{option}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UserError(path, f"{option}: cannot write in folder {folder} "
                              f"({exc.strerror or exc})") from None


def check_output_file(path: Path, option: str) -> Path:
    """A file path a command will write: not a folder, in a folder that exists (or can be
    made) and is writable; returns path."""
    if path.is_dir():
        raise UserError(path, f"{option} expects a file name, but this is a folder")
    _check_writable_folder(_nearest_existing(path.parent), path, option)
    return path


def check_output_dir(path: Path, option: str) -> Path:
    """A folder a command will write into: not a file, and writable (or creatable in a
    writable folder); returns path."""
    if path.exists() and not path.is_dir():
        raise UserError(path, f"{option} expects a folder, but this is a file")
    _check_writable_folder(_nearest_existing(path), path, option)
    return path


def check_input_file(path: Path) -> Path:
    """A file a command will read: it exists and is not a folder; returns path."""
    if path.is_dir():
        raise UserError(path, "is a folder; expected a file")
    if not path.exists():
        raise UserError(path, "no such file")
    return path
