"""/api/health: the aggregate of every problem the service and its parts report."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.service import pace
from airpicture.service.app import create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.pace import Pace
from airpicture.service.serve import build_pipeline
from tests.service.conftest import small_meta
from tests.service.test_app import make_pipeline


def test_health_checks_and_source_problems_make_it_degraded() -> None:
    p = make_pipeline()
    with TestClient(create_app(p, start=False)) as c:
        p.tick(1.0)
        assert c.get("/api/health").json()["problems"] == []
        p.health_checks.append(lambda: ["output cat062 cannot send (network unreachable)"])
        p.source.problems = lambda: ["input: 3 bad frames in the last minute"]  # type: ignore[attr-defined]

        def broken() -> list[str]:
            raise RuntimeError("boom")

        p.health_checks.append(broken)
        h = c.get("/api/health").json()
    assert h["status"] == "degraded"
    assert h["problems"][:2] == ["input: 3 bad frames in the last minute",
                                 "output cat062 cannot send (network unreachable)"]
    assert "boom" in h["problems"][2]



class ScriptedSource:
    """A source whose step can be slowed, blocked or made to fail; it has an input backlog."""

    def __init__(self) -> None:
        self.meta = small_meta()
        self.ids = np.asarray([s.id for s in self.meta.sensors], np.int32)
        self.delay_s = 0.0
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False
        self.steps = 0

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        self.steps += 1
        self.gate.wait()
        time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("tracker exploded")
        return TrackTable.empty(self.ids), PlotBatch.empty()

    def backlog(self) -> int:
        return 7


def running(source: ScriptedSource, speed: float = 10.0) -> TestClient:
    cfg = ServiceConfig().with_overrides({"input": {"speed": speed}})
    return TestClient(create_app(build_pipeline(cfg, source)))


def wait_health(c: TestClient, predicate, timeout_s: float = 10.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        h = c.get("/api/health").json()
        if predicate(h):
            return h
        assert time.monotonic() < deadline, f"health never matched: {h}"
        time.sleep(0.05)


def test_keeping_up_is_ok_with_pace_figures_and_backlog() -> None:
    with running(ScriptedSource()) as c:
        h = wait_health(c, lambda h: h["seq"] >= 5)
        assert h["status"] == "ok" and h["pipeline"] == "running", h
        assert h["pace"]["backlog"] == 7 and h["pace"]["expected_ticks_per_s"] == 10.0
        assert 5.0 < h["pace"]["ticks_per_s"] < 15.0
        text = c.get("/metrics").text
        assert "airpicture_input_backlog 7.0" in text
        assert "airpicture_health_problems 0.0" in text


def test_slow_ticks_are_reported_as_falling_behind() -> None:
    source = ScriptedSource()
    source.delay_s = 0.35  # a tick is due every 0.1 s at speed 10
    with running(source) as c:
        h = wait_health(c, lambda h: h["seq"] >= 2)
        assert h["status"] == "degraded"
        assert any(p.startswith("falling behind: the last tick took") for p in h["problems"])
        assert h["pace"]["ticks_skipped"] >= 2
        source.delay_s = 0.0
        wait_health(c, lambda h: h["status"] == "ok")


def test_a_frozen_picture_is_never_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pace, "FROZEN_MIN_S", 0.5)
    source = ScriptedSource()
    with running(source) as c:
        wait_health(c, lambda h: h["seq"] >= 3)
        source.gate.clear()  # the next step blocks: no new picture
        h = wait_health(c, lambda h: h["status"] != "ok", timeout_s=3)
        assert h["status"] == "degraded"
        assert any(p.startswith("picture frozen") for p in h["problems"]), h
        since = re.search(r"^airpicture_seconds_since_tick (\S+)$", c.get("/metrics").text,
                          re.MULTILINE)
        assert since is not None and float(since.group(1)) >= 0.5
        source.gate.set()
        wait_health(c, lambda h: h["status"] == "ok")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_pipeline_is_an_error() -> None:
    source = ScriptedSource()
    with running(source) as c:
        wait_health(c, lambda h: h["seq"] >= 2)
        source.fail = True
        h = wait_health(c, lambda h: h["status"] == "error")
        assert h["pipeline"] == "dead" and "tracker exploded" in h["error"]
        assert "tracker exploded" in h["problems"][0]


def test_pace_ratio_rule() -> None:
    def fed(rate: float, own_clock: bool = False) -> list[str]:
        p = Pace(tick_s=1.0, speed=1.0)
        p.start(now=0.0)
        for k in range(1, 11):
            p.ticked(t_s=rate * k, took_s=0.01, now=float(k))
        return p.problems(own_clock, now=10.1)

    assert fed(1.0) == []
    assert fed(0.5)[0].startswith("falling behind: 0.50 s of stream time per second")
    assert fed(0.5, own_clock=True) == []  # a live source's clock follows its feeds
