"""Config: defaults, the shipped example documents every key, bad input is one clear UserError."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.errors import UserError
from airpicture.service.config import (
    ServiceConfig,
    example_config_text,
    load_config,
    validate_config,
)


@pytest.mark.parametrize("fmt", ["toml", "yaml"])
def test_example_config_is_valid_and_equals_the_defaults(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"c.{fmt}"
    path.write_text(example_config_text(fmt))
    assert load_config(path) == ServiceConfig()


@pytest.mark.parametrize("fmt", ["toml", "yaml"])
def test_example_config_documents_every_key(fmt: str) -> None:
    text = example_config_text(fmt)
    for section, model in ServiceConfig.model_fields.items():
        assert (f"[{section}]" if fmt == "toml" else f"\n{section}:") in text
        sub = model.annotation
        assert sub is not None
        for key in sub.model_fields:  # type: ignore[union-attr]
            if fmt == "toml":
                assert f"\n{key} =" in text or f"# {key} =" in text, (section, key)
            else:
                assert f"\n  {key}:" in text or f"  # {key}:" in text, (section, key)
    # The comments come along: the YAML example documents as much as the TOML one.
    assert example_config_text("yaml").count("#") == example_config_text("toml").count("#")


def test_yaml_config_values_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("server:\n  port: 9001\ninput:\n  kind: modes\n"
                    "  sources: [tcp://127.0.0.1:30005]\n  receivers: ['home:49.0:2.5']\n")
    cfg = load_config(path)
    assert cfg.server.port == 9001 and cfg.input.sources == ["tcp://127.0.0.1:30005"]
    assert cfg.input.receivers == ["home:49.0:2.5"]
    path.write_text("server:\n  prot: 1\n")
    with pytest.raises(UserError, match=r"unknown key 'server.prot'"):
        load_config(path)
    path.write_text("server: [1, 2\n")
    with pytest.raises(UserError, match="invalid YAML") as bad:
        load_config(path)
    assert "\n" not in bad.value.problem
    path.write_text("- a list\n")
    with pytest.raises(UserError, match="top level"):
        load_config(path)
    path.write_text("")
    assert load_config(path) == ServiceConfig()


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server]\nprot = 1\n")
    with pytest.raises(UserError, match=r"unknown key 'server.prot'"):
        load_config(path)


def test_bad_value_and_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[input]\nspeed = -1\n")
    with pytest.raises(UserError, match=r"input\.speed"):
        load_config(path)
    path.write_text("[input\n")
    with pytest.raises(UserError, match="invalid TOML"):
        load_config(path)
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[server]\nport = 9000\nhost = '0.0.0.0'\n")
    cfg = load_config(path).with_overrides({"server": {"port": 1234, "host": None}})
    assert (cfg.server.port, cfg.server.host) == (1234, "0.0.0.0")


SECTIONS = ["server", "input", "output", "recording", "sensors", "other"]
KEYS = ["host", "port", "kind", "speed", "loop", "tick_s", "path", "retention_s", "typo"]
VALUES = st.integers(-5, 70000) | st.floats(allow_nan=True) | st.text(max_size=5) | st.booleans()


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(SECTIONS),
                       st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3), max_size=3))
def test_arbitrary_input_is_either_valid_or_one_user_error(
        data: dict[str, dict[str, object]]) -> None:
    try:
        cfg = validate_config(data, "x.toml")
    except UserError as exc:
        assert exc.where == "x.toml" and "\n" not in exc.problem
        return
    assert cfg.server.port == data.get("server", {}).get("port", 8080)
