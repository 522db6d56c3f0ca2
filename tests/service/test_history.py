"""/api/history: pages cut in the query, a cursor that visits every row once, JSON or Arrow,
clear errors for absurd parameters, and a bound on concurrent heavy queries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.core.plots import PlotBatch
from airpicture.policy.egress import LOCAL, Egress
from airpicture.service.app import create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.history import HistoryError, decode_cursor, read_page
from airpicture.service.pipeline import Pipeline
from airpicture.service.serve import build_pipeline
from airpicture.service.sources import PatternSource

TICKS, TRACKS = 50, 40


@pytest.fixture(scope="module")
def recorded() -> Iterator[Pipeline]:
    """A pipeline whose in-memory recording holds TICKS x TRACKS track states."""
    source = PatternSource(TRACKS)
    p = build_pipeline(ServiceConfig().with_overrides({"recording": {"flush_s": 0.01}}),
                       source)
    for k in range(1, TICKS + 1):
        tracks, _ = source.step(float(k))
        p.recorder.put(PlotBatch.empty(), tracks, p.frame, p.index)
    p.recorder.start()
    deadline = time.monotonic() + 30
    while p.recorder.committed()["track_states"] < TICKS * TRACKS:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    yield p
    p.recorder.close()


@pytest.fixture
def client(recorded: Pipeline) -> Iterator[TestClient]:
    with TestClient(create_app(recorded, start=False)) as c:
        yield c


def keys(table: pa.Table) -> list[tuple[float, int]]:
    return list(zip(table.column("t").to_pylist(), table.column("track_id").to_pylist(),
                    strict=True))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 700), t0=st.floats(-5, TICKS + 5), span=st.floats(0, TICKS + 10))
def test_paging_visits_every_row_of_the_window_once(recorded: Pipeline, limit: int,
                                                    t0: float, span: float) -> None:
    whole = recorded.recorder.query(
        "SELECT t, track_id FROM track_states WHERE t BETWEEN ? AND ? ORDER BY t, track_id",
        [t0, t0 + span])
    seen: list[tuple[float, int]] = []
    cursor = None
    for _ in range(TICKS * TRACKS + 2):
        page, cursor = read_page(recorded.recorder, Egress(), LOCAL, t0, t0 + span, None,
                                 cursor, limit)
        assert page.num_rows <= limit
        seen += keys(page)
        if cursor is None:
            break
    assert seen == keys(whole)


def test_json_and_arrow_pages_through_the_api(client: TestClient) -> None:
    rows: list[tuple[float, int]] = []
    params: dict[str, object] = {"t0": 0, "t1": 1e6, "limit": 300}
    pages = 0
    while True:
        r = client.get("/api/history", params=params)
        body = r.json()
        assert r.status_code == 200 and body["count"] <= 300
        rows += list(zip(body["cols"]["t"], body["cols"]["track_id"], strict=True))
        pages += 1
        assert body["truncated"] == (body["next"] is not None)
        if body["next"] is None:
            break
        params["cursor"] = body["next"]
    assert pages == -(-TICKS * TRACKS // 300) and len(set(rows)) == len(rows) == TICKS * TRACKS
    arrow_rows = 0
    params = {"t0": 0, "t1": 1e6, "limit": 900}
    while True:
        r = client.get("/api/history", params=params,
                       headers={"accept": "application/vnd.apache.arrow.stream"})
        assert r.headers["content-type"] == "application/vnd.apache.arrow.stream"
        table = pa.ipc.open_stream(r.content).read_all()
        assert table.column_names[:2] == ["t", "track_id"]
        assert np.all(np.diff(table.column("t").to_numpy()) >= 0)
        arrow_rows += table.num_rows
        if not r.headers["x-next-cursor"]:
            break
        params["cursor"] = r.headers["x-next-cursor"]
    assert arrow_rows == TICKS * TRACKS
    arrow = client.get("/api/history", params={"t0": 1, "t1": 1, "format": "arrow"})
    assert pa.ipc.open_stream(arrow.content).read_all().num_rows == TRACKS


@pytest.mark.parametrize(("query", "message"), [
    ("t0=-1e308&t1=1e308", "out of range"),
    ("t0=nan&t1=5", "finite"),
    ("t0=0&t1=inf", "finite"),
    ("t0=5&t1=1", "before t0"),
    ("t0=0&t1=5&cursor=garbage", "cursor"),
    ("t0=0&t1=5&limit=0", "limit"),
    ("t0=0&t1=5&limit=100000000", "limit"),
    ("t0=0&t1=5&format=xml", "format"),
])
def test_absurd_parameters_are_a_clear_422(client: TestClient, query: str,
                                           message: str) -> None:
    r = client.get("/api/history?" + query)
    assert r.status_code == 422 and message in r.text


def test_excess_heavy_queries_get_503_with_retry_after(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    import airpicture.service.app as app_module

    def slow_read_page(*args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(1.0)
        return read_page(*args, **kwargs)

    monkeypatch.setattr(app_module, "read_page", slow_read_page)
    gate = client.app.state.history_gate  # type: ignore[attr-defined]
    gate.wait_s = 0.2
    with ThreadPoolExecutor(3) as pool:  # two run, the third waits 0.2 s and is refused
        replies = list(pool.map(lambda _: client.get("/api/history", params={"t0": 0, "t1": 5}),
                                range(3)))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200, 200, 503] and gate.refused == 1
    refused = next(r for r in replies if r.status_code == 503)
    assert refused.headers["retry-after"] == "1" and "retry" in refused.json()["detail"]
    assert client.get("/api/history", params={"t0": 0, "t1": 10}).status_code == 200


def test_cursor_round_trip_is_exact() -> None:
    from airpicture.service.history import encode_cursor

    t = 1_700_000_000.123456789
    assert decode_cursor(encode_cursor(t, 42)) == (t, 42)
    with pytest.raises(HistoryError):
        decode_cursor("inf_3")


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t0=st.floats(allow_nan=True, allow_infinity=True),
       t1=st.floats(allow_nan=True, allow_infinity=True),
       cursor=st.none() | st.text(max_size=30), limit=st.integers(-5, 300_000))
def test_any_parameters_give_rows_or_a_clear_422(client: TestClient, t0: float, t1: float,
                                                 cursor: str | None, limit: int) -> None:
    params: dict[str, object] = {"t0": repr(t0), "t1": repr(t1), "limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    r = client.get("/api/history", params=params)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["detail"]
    else:
        assert r.json()["count"] <= limit
