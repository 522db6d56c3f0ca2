"""Fixtures of the release-policy tests: the shipped three-partners example."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "three-partners"


@pytest.fixture(scope="session")
def example_dir() -> Path:
    return EXAMPLE


@pytest.fixture(scope="session")
def example_policy() -> Path:
    return EXAMPLE / "policy.toml"


@pytest.fixture(scope="session")
def example_scenario() -> Path:
    return EXAMPLE / "scenario"
