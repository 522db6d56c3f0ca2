"""The fault harness itself: a real service starts from a config text, answers, and stops."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

from tests.faults.conftest import ServeProcess


def test_serve_starts_answers_and_stops_on_sigterm(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path) -> None:
    service = serve(f'[input]\nkind = "scenario"\nscenario = "{small_scenario_dir}"\n'
                    'speed = 10.0\n')
    health = service.get("/api/health")
    assert health["scenario"] == "small" and health["status"] == "ok"
    service.wait_for(lambda: service.get("/api/health")["seq"] >= 3, timeout_s=20)
    assert (service.metric("airpicture_ticks_total") or 0) >= 3
    assert service.stop(signal.SIGTERM) < 10
    assert not service.alive()
