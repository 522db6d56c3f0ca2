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


def test_example_config_is_valid_and_equals_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(example_config_text())
    assert load_config(path) == ServiceConfig()


def test_example_config_documents_every_key() -> None:
    text = example_config_text()
    for section, model in ServiceConfig.model_fields.items():
        assert f"[{section}]" in text
        sub = model.annotation
        assert sub is not None
        for key in sub.model_fields:  # type: ignore[union-attr]
            assert f"\n{key} =" in text or f"# {key} =" in text, (section, key)


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
