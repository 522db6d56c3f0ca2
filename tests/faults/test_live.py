"""Live ASTERIX faults against a running `serve` (issue 15): one UDP URL that cannot be bound
beside a good one, and data an hour away from the wall clock.  The service stays up, the good
URL keeps delivering, and /api/health is degraded naming both problems (the clock's with its
offset) instead of holding the data silently."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from tests.faults.conftest import ServeProcess


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_failed_url_and_data_off_the_wall_clock_are_reported(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path) -> None:
    from airpicture.io.asterix.emit import emit_scenario

    good = f"udp://127.0.0.1:{_udp_port()}"
    bad = "udp://203.0.113.7:8600"  # TEST-NET-3: not an address of this machine
    service = serve(f"""
[input]
kind = "asterix"
sources = ["{bad}", "{good}"]
asterix_config = "{small_scenario_dir}"
clock = "wall"
""")
    feeds = {f["name"]: f for f in service.get("/api/feeds")["feeds"]}
    assert feeds[bad]["state"] == "failed" and "203.0.113.7" in feeds[bad]["last_error"]
    assert feeds[good]["state"] == "listening"

    emit_scenario(small_scenario_dir, good, speed=0, t0_utc_s=time.time() - 3600.0)

    def reported() -> bool:
        health = service.get("/api/health")
        return any("behind the wall clock" in p for p in health["problems"])

    service.wait_for(reported, timeout_s=20)
    health = service.get("/api/health")
    assert health["status"] == "degraded" and health["feeds_down"] == [bad]
    (clock,) = [p for p in health["problems"] if "wall clock" in p]
    assert "3" in clock.split(" s ")[0]  # the offset, about 3,5xx s
    body = service.get("/api/feeds")
    feeds = {f["name"]: f for f in body["feeds"]}
    assert feeds[good]["datagrams"] > 0 and feeds[good]["drops"] == 0
    assert body["decoder"]["plots_off_wall_clock"] > 100
    assert service.stop(signal.SIGTERM) < 20
