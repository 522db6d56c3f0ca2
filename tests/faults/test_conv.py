"""readsb / tar1090 conventions of a real `airpicture serve`: aircraft.json's `now` is Unix
seconds that never step back, not even across a restart (tar1090 drops every aircraft on a
"timestep backwards"), and its `messages` is a running total."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import ServeProcess


def _aircraft_json(service: ServeProcess, after_now: float = 0.0) -> dict[str, object]:
    """aircraft.json once its `now` passed `after_now` (bounded wait)."""
    deadline = time.monotonic() + 20.0
    while True:
        doc = service.get("/data/aircraft.json")
        if float(doc["now"]) > after_now:
            return doc
        assert time.monotonic() < deadline, doc
        time.sleep(0.2)


@pytest.mark.slow
def test_now_is_unix_time_and_never_steps_back_across_a_restart(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path) -> None:
    config = f'[input]\nkind = "scenario"\nscenario = "{small_scenario_dir}"\nspeed = 1.0\n'
    service = serve(config)
    first = _aircraft_json(service)
    assert abs(float(first["now"]) - time.time()) < 30.0  # Unix seconds, not 4.0
    second = _aircraft_json(service, float(first["now"]))
    assert int(second["messages"]) >= int(first["messages"]) > 0
    assert all(float(a["seen"]) < 60.0 for a in second["aircraft"])  # still relative
    service.stop(signal.SIGTERM)
    again = _aircraft_json(serve(config))
    assert float(again["now"]) >= float(second["now"])
