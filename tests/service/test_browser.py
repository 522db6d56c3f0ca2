"""The web map in a real headless Chromium (Debian's, never downloaded), driven by Playwright.

The service runs in a thread on the small scenario with the fake tracker; ticks are driven by
the test, so every check is deterministic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn

from airpicture.service.app import STATIC_DIR, create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.pipeline import Pipeline
from airpicture.service.serve import build_pipeline
from airpicture.service.sources import TrackerSource
from tests.service.conftest import FakeRuntime, small_meta, small_plots

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Served:
    url: str
    pipeline: Pipeline
    page: Any
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def tick(self, t_s: float) -> None:
        """Publish one picture and wait until the page has applied it."""
        self.pipeline.tick(t_s)
        self.page.wait_for_function(f"window.__ap.idleSeq >= {self.pipeline.seq}",
                                    timeout=15_000)

    def rendered(self) -> dict[int, Any]:
        """Track features MapLibre rendered, by id, with their pixel position from project()."""
        return {f["id"]: f for f in self.page.evaluate("""() => {
            const m = window.__ap.map;
            return m.queryRenderedFeatures({layers: ['tracks']}).map(f => {
                const p = m.project(f.geometry.coordinates);
                return {id: f.properties.id, x: p.x, y: p.y, lon: f.geometry.coordinates[0],
                        lat: f.geometry.coordinates[1]};
            });
        }""")}


@contextmanager
def serving(pipeline: Pipeline) -> Iterator[str]:
    """The service app of `pipeline` under uvicorn on a free loopback port (the test ticks the
    pipeline itself); yields the map's URL, stops the server on exit."""
    server = uvicorn.Server(uvicorn.Config(create_app(pipeline, start=False), host="127.0.0.1",
                                           port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start within 30 s"
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(10)


def map_loaded(page: Any) -> None:
    """Wait until the map page is ready and has applied a first message."""
    page.wait_for_function("window.__ap && window.__ap.ready && window.__ap.messages > 0",
                           timeout=30_000)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium missing: `make debs-test` installs it")
    if not (STATIC_DIR / "vendor" / "maplibre-gl" / "maplibre-gl.mjs").exists():
        pytest.skip("MapLibre not installed: `make web` installs it")
    from playwright.sync_api import sync_playwright

    meta = small_meta()
    pipeline = build_pipeline(ServiceConfig(), TrackerSource(meta, small_plots(),
                                                             FakeRuntime(meta.sensors)))
    pipeline.recorder.start()
    with serving(pipeline) as url, sync_playwright() as pw:
        pipeline.tick(1.0)
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        s = Served(url, pipeline, page)
        page.on("requestfailed", lambda r: s.failed.append(f"{r.url} {r.failure}"))
        page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:"))
                else s.failed.append(f"off-machine request {r.url}"))
        page.on("response", lambda r: s.failed.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        page.on("pageerror", lambda e: s.errors.append(str(e)))
        page.goto(url)
        map_loaded(page)
        page.evaluate("window.__ap.map.jumpTo({zoom: 8})")
        s.tick(2.0)
        yield s
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "service-map.png"))
        browser.close()
    pipeline.recorder.close()


def api_tracks(s: Served, **params: Any) -> dict[int, Any]:
    return {r["id"]: r for r in httpx.get(s.url + "api/tracks", params=params).json()["tracks"]}


def test_map_loads_with_no_failed_or_outside_request(served: Served) -> None:
    assert served.page.evaluate("window.__ap.map.loaded()")
    assert served.failed == [] and served.errors == []
    names = served.page.evaluate(
        "window.__ap.map.querySourceFeatures('countries').map(f => f.properties.name)")
    assert "France" in names


def test_tracks_appear_where_the_api_says(served: Served, tmp_path: Path) -> None:
    from PIL import Image

    api = api_tracks(served)
    rendered = served.rendered()
    assert set(rendered) == set(api) and len(api) == 3
    for tid, row in api.items():
        x, y = served.page.evaluate(f"(() => {{ const p = window.__ap.map.project("
                                    f"[{row['lon']}, {row['lat']}]); return [p.x, p.y]; }})()")
        assert abs(rendered[tid]["x"] - x) < 1 and abs(rendered[tid]["y"] - y) < 1
        hits = served.page.evaluate(
            f"window.__ap.map.queryRenderedFeatures([[{x - 3}, {y - 3}], [{x + 3}, {y + 3}]], "
            "{layers: ['tracks']}).map(f => f.properties.id)")
        assert tid in hits
    # On the screenshot, the pixels at each track are its sensor-kind colour.
    shot = tmp_path / "map.png"
    served.page.screenshot(path=str(shot))
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    colours = {6: (0x38, 0xBD, 0xF8), 2: (0xFF, 0xD2, 0x3F)}  # ssr+adsb: several; ssr only
    for tid, row in api.items():
        f = rendered[tid]
        patch = img[int(f["y"]) - 3:int(f["y"]) + 4, int(f["x"]) - 3:int(f["x"]) + 4]
        dist = np.abs(patch - np.asarray(colours[row["kinds"]])).sum(axis=2)
        assert dist.min() < 60, (tid, row["kinds"])


def test_a_websocket_update_moves_them(served: Served) -> None:
    before = served.rendered()
    served.tick(served.pipeline.t_s + 7.0)
    after = served.rendered()
    api = api_tracks(served)
    for tid, row in api.items():
        assert after[tid]["lon"] == pytest.approx(row["lon"], abs=2e-4)  # tile quantisation
    # Aircraft fly east at 100 m/s: 3c0001 moved right by several pixels.
    assert after[0x3C0001]["x"] > before[0x3C0001]["x"] + 2


def test_a_filter_hides_the_right_ones(served: Served) -> None:
    page = served.page
    for selector, value, expected in (("#f-callsign", "dlh", {0x3C0002}),
                                      ("#f-squawk", "7000", {0x3C0003}),
                                      ("#f-alt-min", "10000", {0x3C0001, 0x3C0002})):
        page.fill(selector, value)
        served.tick(served.pipeline.t_s + 1)
        assert set(served.rendered()) == expected, selector
        api = api_tracks(served, **{selector[3:].replace("-", "_") + (
            "_ft" if "alt" in selector else ""): value})
        assert set(api) == expected
        page.fill(selector, "")
    page.select_option("#f-sensor", label="adsb (adsb)")
    served.tick(served.pipeline.t_s + 1)
    assert set(served.rendered()) == {0x3C0001, 0x3C0002}
    page.select_option("#f-sensor", value="")
    served.tick(served.pipeline.t_s + 1)
    assert len(served.rendered()) == 3


def test_the_track_panel_shows_the_contributing_sensors(served: Served) -> None:
    served.tick(served.pipeline.t_s + 1)
    f = served.rendered()
    page = served.page
    page.mouse.click(f[0x3C0003]["x"], f[0x3C0003]["y"])
    page.wait_for_selector("#panel:not([hidden]) #panel-sensors li")
    assert page.inner_text("#panel h3") == "3c0003"
    assert page.eval_on_selector_all("#panel-sensors li", "els => els.map(e => e.textContent)") \
        == ["radar (ssr)"]
    page.mouse.click(f[0x3C0001]["x"], f[0x3C0001]["y"])
    page.wait_for_function("document.querySelector('#panel h3').textContent === 'AFR1'")
    assert page.eval_on_selector_all("#panel-sensors li", "els => els.map(e => e.textContent)") \
        == ["radar (ssr)", "adsb (adsb)"]
    page.click("#panel-close")


def test_time_slider_shows_history(served: Served) -> None:
    page = served.page
    served.tick(max(served.pipeline.t_s + 1.0, 20.0))
    t_live = served.pipeline.t_s
    page.evaluate("window.__ap.map.jumpTo({zoom: 8})")
    page.evaluate("""async () => { const s = document.getElementById('time');
        s.min = 0; s.max = 100; s.value = 2; s.dispatchEvent(new Event('change')); }""")
    page.wait_for_function("window.__ap.mode === 'history' && window.__ap.historyShownT === 2")
    served.tick(t_live + 1)
    # Aircraft 1 at t = 2 s was 100 m/s * (live - 2) s further west than now.
    hist = served.rendered()[0x3C0001]
    page.click("#live")
    served.tick(t_live + 2)
    live = served.rendered()[0x3C0001]
    assert hist["lon"] < live["lon"] - 0.005
    assert served.page.evaluate("window.__ap.mode") == "live"


def test_api_docs_load_offline(served: Served) -> None:
    if not (STATIC_DIR / "vendor" / "swagger-ui" / "swagger-ui-bundle.js").exists():
        pytest.skip("Swagger UI not installed: `make web` installs it")
    page = served.page.context.browser.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((served.url, "data:"))
            else outside.append(r.url))
    page.on("requestfailed", lambda r: outside.append(f"failed {r.url}"))
    page.goto(served.url + "docs")
    page.get_by_text("/api/tracks/{track_id}").first.wait_for(timeout=20_000)
    assert outside == []
    page.close()
