"""Falling behind on a real service: asked for more than the machine does, it says so."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import ServeProcess


@pytest.mark.slow
def test_a_pace_the_machine_cannot_hold_is_reported(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path) -> None:
    # A picture due every 50 us of wall time (tick 0.05 s of stream time at 1000x).
    service = serve(f'[input]\nkind = "scenario"\nscenario = "{small_scenario_dir}"\n'
                    'speed = 1000.0\n[output]\ntick_s = 0.05\n')
    service.wait_for(lambda: service.get("/api/health")["pace"]["ticks_skipped"] > 0,
                     timeout_s=10)
    health = service.get("/api/health")
    assert health["status"] == "degraded" and health["pipeline"] == "running"
    assert any(p.startswith("falling behind") for p in health["problems"]), health
    assert health["pace"]["expected_ticks_per_s"] == 20000.0
    assert (service.metric("airpicture_ticks_skipped") or 0) > 0
    assert (service.metric("airpicture_health_problems") or 0) >= 1
    assert service.stop(signal.SIGTERM) < 5.0
