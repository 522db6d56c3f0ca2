"""Heavy /api/history queries on a real service: 300k recorded rows, 10 clients paging through
the whole range at once: memory stays bounded and every row comes back exactly once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa
import pytest

from airpicture.service.recorder import META_DDL, PLOTS_DDL, TRACKS_DDL
from tests.faults.conftest import ServeProcess

ROWS = 300_000
TRACKS = 100
T_LAST_S = ROWS // TRACKS  # tracks 0..99 at t = 1..3000 s
SESSION = 1
"""The recording's session (the service's own run is the next one: history is asked for this)."""
RSS_GROWTH_LIMIT_BYTES = 300e6
"""Before: one full-range query cost +173 MB and ten +1.14 GB (kept afterwards)."""


def big_recording(path: Path) -> Path:
    """A recording of ROWS track states (TRACKS tracks, one state a second), made in SQL."""
    from tests.service.conftest import small_meta

    con = duckdb.connect(str(path))
    for ddl in (TRACKS_DDL, PLOTS_DDL, META_DDL):
        con.execute(ddl)
    con.execute("INSERT INTO meta VALUES ('scenario', ?)", [json.dumps(small_meta().to_json())])
    con.execute(f"""INSERT INTO track_states SELECT
        1 + i // {TRACKS} AS t, i % {TRACKS} AS track_id, 0.0, 0.0, 100.0, 0.0,
        48.85 + (i % {TRACKS}) * 1e-3, 2.35, 30000.0, 0.0, 2, 3932160 + i % {TRACKS},
        'TST' || (i % {TRACKS}), 1000, 30.0, 3, {SESSION} FROM range({ROWS}) r(i)""")
    con.close()
    return path


def page_through(url: str) -> int:
    """Every page of the full recorded range (Arrow); the number of distinct rows seen,
    asserting each came once."""
    seen: set[tuple[float, int]] = set()
    params: dict[str, object] = {"t0": 0, "t1": T_LAST_S, "format": "arrow",
                                 "session": SESSION}
    with httpx.Client(timeout=60) as client:
        for _ in range(100):
            r = client.get(url + "api/history", params=params)
            if r.status_code == 503:  # the gate: wait as told, then ask again
                time.sleep(float(r.headers["retry-after"]))
                continue
            r.raise_for_status()
            table = pa.ipc.open_stream(r.content).read_all()
            page = set(zip(table.column("t").to_pylist(), table.column("track_id").to_pylist(),
                           strict=True))
            assert len(page) == table.num_rows and not page & seen
            seen |= page
            if not r.headers["x-next-cursor"]:
                return len(seen)
            params["cursor"] = r.headers["x-next-cursor"]
    raise AssertionError("too many pages")


@pytest.mark.slow
def test_ten_parallel_full_range_queries_keep_memory_bounded(
        serve: Callable[..., ServeProcess], small_scenario_dir: Path, tmp_path: Path) -> None:
    db = big_recording(tmp_path / "big.duckdb")
    service = serve(f'[input]\nkind = "scenario"\nscenario = "{small_scenario_dir}"\n'
                    f'[recording]\npath = "{db}"\nretention_s = 1e9\n')
    assert service.get("/api/history/range", session=SESSION)["t0"] == 1.0
    rss0 = service.metric("process_resident_memory_bytes")
    assert rss0 is not None
    peak = [rss0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak.append(service.metric("process_resident_memory_bytes") or 0.0)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with ThreadPoolExecutor(10) as pool:
            counts = list(pool.map(page_through, [service.url] * 10))
    finally:
        done.set()
        sampler.join(5)
    assert counts == [ROWS] * 10
    rss1 = service.metric("process_resident_memory_bytes")
    assert rss1 is not None
    print(f"RSS before {rss0 / 1e6:.0f} MB, peak {max(peak) / 1e6:.0f} MB, after "
          f"{rss1 / 1e6:.0f} MB")
    assert max(peak) - rss0 < RSS_GROWTH_LIMIT_BYTES
    assert service.get("/api/health")["status"] == "ok"
    # An absurd window is refused at once, not scanned.
    r = httpx.get(service.url + "api/history", params={"t0": -1e308, "t1": 1e308})
    assert r.status_code == 422 and "out of range" in r.json()["detail"]
