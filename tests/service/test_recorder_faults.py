"""Recorder faults in process: a failed write is reported, retried and its rows kept; a full
queue drops and counts instead of blocking; close() is bounded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airpicture.core.plots import PlotBatch
from airpicture.service import recorder as recorder_module
from airpicture.service.encode import SensorIndex
from airpicture.service.recorder import Recorder
from airpicture.service.sources import PatternSource


def put_ticks(rec: Recorder, src: PatternSource, ticks: range) -> None:
    index = SensorIndex.create([s.id for s in src.meta.sensors],
                               [s.kind for s in src.meta.sensors])
    for k in ticks:
        tracks, _ = src.step(float(k))
        rec.put(PlotBatch.empty(), tracks, src.meta.frame, index)


def wait_until(predicate, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_failed_writes_are_reported_retried_and_their_rows_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(recorder_module, "BACKOFF_MIN_S", 0.05)
    rec = Recorder(tmp_path / "r.duckdb", flush_s=0.02)
    real_commit = rec._commit
    disk = {"full": True}

    def flaky_commit(items):  # type: ignore[no-untyped-def]
        if disk["full"]:
            raise OSError(27, "File too large")
        real_commit(items)

    monkeypatch.setattr(rec, "_commit", flaky_commit)
    src = PatternSource(5)
    rec.start()
    try:
        put_ticks(rec, src, range(1, 4))
        wait_until(lambda: rec.state == "retrying")
        assert "File too large" in (rec.last_error or "")
        assert any("writes failing" in p for p in rec.problems())
        assert rec.status()["retry_in_s"] > 0
        wait_until(lambda: rec.errors >= 3)  # retried, with a growing back-off
        assert rec.status()["retry_in_s"] >= 0.2 and rec.committed()["track_states"] == 0
        disk["full"] = False
        wait_until(lambda: rec.committed()["track_states"] == 15)
        wait_until(lambda: rec.state == "ok")
        assert rec.problems() == []
        assert rec.dropped() == {"track_states": 0, "plots": 0}
    finally:
        rec.close()
    err = capsys.readouterr().err
    assert "write failed" in err and "writing again" in err


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    rec = Recorder(None, queue_items=2)  # the writer is never started: nothing drains
    started = time.monotonic()
    put_ticks(rec, PatternSource(4), range(1, 11))
    assert time.monotonic() - started < 5.0
    assert rec.queued() == 2 and rec.dropped()["track_states"] == 8 * 4
    rec.close(timeout_s=1.0)
    assert rec.state == "stopped"


def test_close_is_bounded_when_the_writer_is_stuck(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(None, flush_s=0.01)
    release = {"stuck": True}

    def stuck_commit(items):  # type: ignore[no-untyped-def]
        while release["stuck"]:
            time.sleep(0.01)

    monkeypatch.setattr(rec, "_commit", stuck_commit)
    rec.start()
    put_ticks(rec, PatternSource(2), range(1, 3))
    time.sleep(0.1)
    started = time.monotonic()
    rec.close(timeout_s=0.5)
    assert time.monotonic() - started < 2.0 and rec.state == "stopped"
    release["stuck"] = False
