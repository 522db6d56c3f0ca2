"""The map at the end of a replay, in a real headless Chromium: the tracks go, the status says
"end of recording" and keeps saying it while the (empty) picture keeps ticking."""

from __future__ import annotations

from pathlib import Path

import pytest

from airpicture.service.app import STATIC_DIR
from airpicture.service.config import ServiceConfig
from airpicture.service.serve import replay_pipeline
from tests.service.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    Served,
    map_loaded,
    serving,
)
from tests.service.test_recording import record_pattern

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_map_says_end_of_recording(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium missing: `make debs-test` installs it")
    if not (STATIC_DIR / "vendor" / "maplibre-gl" / "maplibre-gl.mjs").exists():
        pytest.skip("MapLibre not installed: `make web` installs it")
    from playwright.sync_api import sync_playwright

    path = tmp_path / "p.duckdb"
    record_pattern(path, 5).close()  # 20 tracks at t = 1..5 s
    pipeline = replay_pipeline(ServiceConfig(), path, loop=False)
    with serving(pipeline) as url, sync_playwright() as pw:
        pipeline.tick(1.0)
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        s = Served(url, pipeline, page)
        page.on("pageerror", lambda e: s.errors.append(str(e)))
        page.goto(url)
        map_loaded(page)
        for k in range(2, 6):
            s.tick(float(k))
        assert page.evaluate("window.__ap.tracks.size") == 20
        assert "end of recording" not in page.inner_text("#status")
        s.tick(6.0)  # past the end: the delta removing every track, then `end`
        page.wait_for_function("document.getElementById('status').textContent"
                               ".includes('end of recording')", timeout=15_000)
        assert page.evaluate("window.__ap.tracks.size") == 0
        s.tick(7.0)  # the empty picture keeps ticking: the status keeps saying so
        assert "0 tracks" in page.inner_text("#status")
        assert "end of recording" in page.inner_text("#status")
        assert s.errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "replay-end.png"))
        browser.close()
