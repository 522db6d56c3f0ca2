"""The service's configuration: one TOML or YAML file, validated by pydantic, overridden by
CLI flags.

Every key is documented in the shipped example (`example_config_text()`); unknown keys are
rejected so a typo never passes silently.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airpicture.core.configfile import read_mapping_file, validate_model
from airpicture.core.errors import UserError

EXAMPLE_CONFIG = "airpicture-serve.example.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(_Strict):
    """Where the HTTP/WebSocket server listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class InputConfig(_Strict):
    """What feeds the tracker."""

    kind: Literal["preset", "scenario", "modes", "asterix"] = "preset"
    preset: str = "real-paris"
    scenario: str = ""
    speed: float = Field(default=1.0, gt=0.0, le=1000.0)
    loop: bool = True
    cache_dir: str = ""
    duration_s: float | None = Field(default=None, gt=0.0)
    sources: list[str] = Field(default_factory=list)
    receivers: list[str] = Field(default_factory=list)
    feed_format: Literal["", "beast", "avr", "sbs", "jsonl"] = ""
    feed_speed: float = Field(default=1.0, ge=0.0, le=1000.0)
    feed_stale_s: float = Field(default=30.0, gt=0.0, le=86400.0)
    udp_rcvbuf_bytes: int = Field(default=4 << 20, ge=4096, le=1 << 30)
    """Kernel receive buffer asked for each ASTERIX UDP socket (capped by net.core.rmem_max)."""
    asterix_config: str = ""
    clock: Literal["wall", "data"] | None = None
    """Stream time of live feeds: "wall" (the wall clock; data far from it is reported) or
    "data" (the data's own times, so a recording replayed at 10x tracks as at 1x); unset:
    "wall", but Mode S feeds that are all recorded files follow their data."""


class Cat062OutputConfig(_Strict):
    """One CAT062 (+ CAT063, CAT065) output: `[[output.cat062]]` (service/outputs.py)."""

    url: str
    edition: str = "1.21"
    sac: int = Field(default=0, ge=0, le=255)
    sic: int = Field(default=1, ge=0, le=255)
    period_s: float = Field(default=1.0, gt=0.0, le=3600.0)
    consumer: str = "local"
    cat063: bool = True
    cat065: bool = True
    max_block_bytes: int = Field(default=1400, ge=256, le=65535)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        from airpicture.service.outputs import parse_output_url

        try:
            parse_output_url(url)
        except UserError as exc:
            raise ValueError(exc.problem) from None
        return url

    @field_validator("edition")
    @classmethod
    def _known_edition(cls, edition: str) -> str:
        from airpicture.io.asterix.layout import editions

        if edition not in editions(62):
            raise ValueError(f"CAT062 edition {edition!r} unknown; have {editions(62)}")
        return edition


class OutputConfig(_Strict):
    """How often the picture goes out, and how much history the map's trails get."""

    tick_s: float = Field(default=1.0, gt=0.0, le=60.0)
    trail_points: int = Field(default=60, ge=0, le=500)
    confirmed_only: bool = True
    cat062: list[Cat062OutputConfig] = Field(default_factory=list)


class RecordingConfig(_Strict):
    """DuckDB recording of every plot and track state; empty path: in memory only."""

    path: str = ""
    retention_s: float = Field(default=3600.0, gt=0.0)
    flush_s: float = Field(default=0.5, gt=0.0, le=60.0)
    checkpoint_s: float = Field(default=10.0, gt=0.0, le=3600.0)


class SensorStatusConfig(_Strict):
    """When a sensor counts as dead."""

    dead_after_periods: float = Field(default=3.0, gt=0.0)
    dead_after_min_s: float = Field(default=10.0, ge=0.0)


class PolicyConfig(_Strict):
    """The release policy (docs/policy.md); empty file: everything released to everyone."""

    file: str = ""


class ServiceConfig(_Strict):
    """The whole configuration of `airpicture serve`."""

    server: ServerConfig = Field(default_factory=ServerConfig)
    input: InputConfig = Field(default_factory=InputConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    recording: RecordingConfig = Field(default_factory=RecordingConfig)
    sensors: SensorStatusConfig = Field(default_factory=SensorStatusConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)

    def with_overrides(self, overrides: dict[str, dict[str, Any]]) -> ServiceConfig:
        """A copy with `{section: {key: value}}` replaced (None values are ignored), revalidated."""
        data = self.model_dump()
        for section, values in overrides.items():
            for key, value in values.items():
                if value is None:
                    continue
                if section == "output" and key == "cat062":  # --cat062 adds outputs
                    data[section][key] = [*data[section][key], *value]
                else:
                    data[section][key] = value
        return validate_config(data, "command-line flags")


def validate_config(data: dict[str, Any], where: str | Path) -> ServiceConfig:
    """Validate parsed config data; the first problem becomes a one-line UserError."""
    return validate_model(ServiceConfig, data, where)


def load_config(path: str | Path | None) -> ServiceConfig:
    """Read and validate a config file, YAML by its suffix (.yaml, .yml), else TOML; None
    gives the defaults."""
    if path is None:
        return ServiceConfig()
    return validate_config(read_mapping_file(path, "config file"), path)


def example_config_text(fmt: str = "toml") -> str:
    """The commented example configuration shipped in the package (every key, its default),
    as TOML or, derived from it line by line, as YAML."""
    toml_text = (resources.files("airpicture.service") / "static" / EXAMPLE_CONFIG).read_text()
    if fmt == "toml":
        return toml_text
    if fmt == "yaml":
        return _toml_example_to_yaml(toml_text)
    raise UserError(None, f"unknown config format {fmt!r}: toml or yaml")


def _toml_example_to_yaml(text: str) -> str:
    """The example's `[section]` / `key = value` / `# key = value` lines as YAML, comments
    kept: one source for both formats.  Its values (quoted strings, numbers, booleans, [])
    are written the same way in YAML."""
    out = []
    in_section = False
    for line in text.splitlines():
        section = re.fullmatch(r"\[(\w+)\]", line)
        key = re.fullmatch(r"(# )?(\w+) = (.*)", line)
        if section:
            out.append(f"{section.group(1)}:")
            in_section = True
        elif key:
            out.append(f"  {key.group(1) or ''}{key.group(2)}: {key.group(3)}")
        elif line.startswith("#") and in_section:
            out.append(f"  {line}")
        else:
            out.append(line)
    return "\n".join(out).replace("`airpicture serve --config FILE`",
                                   "`airpicture serve --config FILE.yaml`") + "\n"
