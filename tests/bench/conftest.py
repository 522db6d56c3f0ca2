"""Fixtures of the bench tests: small simulated scenarios and the Stone Soup peer script."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PEER_SCRIPT = REPO / "bench" / "peers" / "stonesoup_peer.py"


@pytest.fixture(scope="session")
def peer() -> ModuleType:
    """bench/peers/stonesoup_peer.py imported as a module (it is a script, outside the package)."""
    spec = importlib.util.spec_from_file_location("stonesoup_peer", PEER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def simulate(tmp: Path, preset: str, duration_s: float) -> Path:
    """A scenario folder from the project's simulator."""
    from airpicture.sim.presets import simulate_preset

    return Path(simulate_preset(preset, tmp / preset, seed=7, duration_s=duration_s))


@pytest.fixture(scope="session")
def crossing_10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("c10"), "crossing-10", 60.0)


@pytest.fixture(scope="session")
def crossing_150(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulate(tmp_path_factory.mktemp("c150"), "crossing-150", 120.0)
