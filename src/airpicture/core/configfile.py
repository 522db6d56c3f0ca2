"""Reading the project's configuration files (service config, release policy): TOML, or YAML by
its suffix, validated by a pydantic model; every problem one line naming the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from airpicture.core.errors import UserError

YAML_SUFFIXES = (".yaml", ".yml")

Model = TypeVar("Model", bound=BaseModel)


def read_mapping_file(path: str | Path, what: str) -> dict[str, Any]:
    """The parsed content of a TOML or YAML (.yaml, .yml) file whose top level maps section
    names to their keys; `what` names the file in errors ("config file", "policy file")."""
    p = Path(path)
    if p.is_dir():
        raise UserError(p, f"is a folder; expected a {what}")
    if not p.is_file():
        raise UserError(p, f"{what} not found")
    try:
        text = p.read_text()
    except UnicodeDecodeError:
        raise UserError(p, "not a text file") from None
    if p.suffix.lower() in YAML_SUFFIXES:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UserError(p, f"invalid YAML ({' '.join(str(exc).split())})") from None
        data = {} if data is None else data
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(p, f"invalid TOML ({exc})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise UserError(p, "the top level must map section names to their keys")
    return data


def validate_model(model: type[Model], data: Any, where: str | Path) -> Model:
    """`data` validated by `model`; the first problem becomes a one-line UserError (an unknown
    key says so, so a typo never passes silently)."""
    if not isinstance(data, dict):
        raise UserError(where, "the top level must map section names to their keys")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise UserError(where, f"unknown key {loc!r}") from None
        msg = err["msg"].removeprefix("Value error, ")
        raise UserError(where, f"{loc}: {msg}" if loc else msg) from None
