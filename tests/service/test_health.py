"""/api/health: the aggregate of every problem the service and its parts report."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.service.test_app import make_pipeline


def test_health_checks_and_source_problems_make_it_degraded() -> None:
    p = make_pipeline()
    with TestClient(create_app_started_by_hand(p)) as c:
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


def create_app_started_by_hand(p):  # type: ignore[no-untyped-def]
    from airpicture.service.app import create_app

    return create_app(p, start=False)
