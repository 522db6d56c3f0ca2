"""Shutdown of a real service with clients connected: SIGTERM / SIGINT stop it promptly."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.faults.conftest import ServeProcess


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_within_seconds_with_websocket_clients_connected(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path, sig: int) -> None:
    service = serve(f'[input]\nkind = "scenario"\nscenario = "{small_scenario_dir}"\n'
                    'speed = 10.0\n')
    ws_url = service.url.replace("http://", "ws://") + "ws/tracks"
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connect(ws_url, open_timeout=10, close_timeout=0.5))
                   for _ in range(3)]
        for ws in clients:
            assert '"type":"snapshot"' in ws.recv(timeout=10).replace(" ", "")
        assert service.get("/api/health")["clients"] == 3
        assert service.stop(sig) < 5.0
