"""Recording faults on a real service: a full disk (RLIMIT_FSIZE) is reported at once, the
picture keeps going, and the service still stops promptly on SIGTERM / SIGINT."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import ServeProcess

FULL_DISK_BYTES = 1_000_000
"""RLIMIT_FSIZE of the service: its recording (a DuckDB file grows by 256 KiB blocks) reaches
it within a few seconds; stdout/stderr are pipes, which the limit does not apply to."""


def recording_config(scenario: Path, db: Path) -> str:
    return (f'[input]\nkind = "scenario"\nscenario = "{scenario}"\nspeed = 10.0\n'
            f'[recording]\npath = "{db}"\nflush_s = 0.1\ncheckpoint_s = 0.5\n')


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_full_disk_is_reported_the_picture_goes_on_and_the_service_stops(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path, tmp_path: Path,
        sig: int) -> None:
    service = serve(recording_config(small_scenario_dir, tmp_path / "rec.duckdb"),
                    file_size_limit_bytes=FULL_DISK_BYTES)
    service.wait_for(lambda: service.get("/api/recording")["state"] == "retrying",
                     timeout_s=30, every_s=0.05)
    # Reported within 2 s of the first failed write, in health, metrics, the log.
    service.wait_for(lambda: service.get("/api/health")["status"] == "degraded", timeout_s=2)
    health = service.get("/api/health")
    assert any("recording" in p and "File too large" in p for p in health["problems"])
    rec = service.get("/api/recording")
    assert rec["errors"] >= 1 and "File too large" in rec["last_error"]
    assert service.metric("airpicture_recording_up") == 0.0
    assert (service.metric("airpicture_recording_write_errors") or 0) >= 1
    assert "write failed" in service.output() and "File too large" in service.output()
    # The picture keeps going: at 10x, 1 s tick, that is 10 pictures a second.
    seq0, t0 = health["seq"], health["t"]
    service.wait_for(lambda: service.get("/api/health")["seq"] >= seq0 + 20, timeout_s=10)
    assert service.get("/api/health")["t"] > t0
    assert service.get("/api/tracks")["count"] > 0
    assert service.stop(sig) < 5.0


@pytest.mark.slow
def test_a_service_that_records_stops_promptly(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path, tmp_path: Path) -> None:
    service = serve(recording_config(small_scenario_dir, tmp_path / "rec.duckdb"))
    service.wait_for(lambda: service.get("/api/recording")["rows_committed"]["track_states"]
                     > 10, timeout_s=20)
    assert service.get("/api/health")["status"] == "ok"
    assert service.get("/api/recording")["state"] == "ok"
    assert service.stop(signal.SIGTERM) < 5.0
