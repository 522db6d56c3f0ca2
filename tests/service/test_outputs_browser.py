"""The map draws coasting tracks differently: hollow, dimmed symbol, dashed trail, a legend entry.

Headless Debian Chromium through Playwright (as tests/service/test_browser.py); the picture comes
from a source whose tracks have set statuses, ticked by the test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.scenario import ScenarioMeta
from airpicture.service.app import STATIC_DIR
from airpicture.service.config import ServiceConfig
from airpicture.service.serve import build_pipeline
from tests.service.conftest import small_meta
from tests.service.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, map_loaded, serving

pytestmark = pytest.mark.browser

CONFIRMED, COASTING = 1, 2


class TwoTracks:
    """Track 1 confirmed, track 2 confirmed until t = 3, then coasting; both fly east."""

    def __init__(self) -> None:
        self.meta: ScenarioMeta = small_meta()

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        z = np.zeros(2)
        status = np.asarray([TrackStatus.CONFIRMED, TrackStatus.CONFIRMED if t_s < 3
                             else TrackStatus.COASTING], np.int8)
        return TrackTable(
            track_id=np.asarray([1, 2], np.int64), t=z + t_s, x=z - 20_000.0 + 2_000.0 * t_s,
            y=np.asarray([8_000.0, -8_000.0]), vx=z + 2_000.0, vy=z, status=status,
            alt_ft=z + 30_000.0, vrate_fpm=z, icao24=np.asarray([0xABC001, 0xABC002]),
            callsign=np.asarray(["CONF1", "COAST2"], object), squawk=np.full(2, -1, np.int16),
            sigma_pos_m=z + 50.0, last_update_t=np.asarray([t_s, min(t_s, 2.0)]),
            flags=np.zeros(2, np.uint16), sensor_ids=np.asarray([1, 2], np.int32),
            sensor_last_t=np.asarray([[t_s, t_s], [min(t_s, 2.0), np.nan]])), PlotBatch.empty()


STYLE_OF = """(id) => {
  const m = window.__ap.map;
  const f = m.queryRenderedFeatures({layers: ['tracks']}).find(f => f.properties.id === id);
  if (!f) return null;
  const layer = m.style.getLayer('tracks');
  const image = layer.layout.get('icon-image').evaluate(f, {});
  return {status: f.properties.status,
          image: typeof image === 'string' ? image : image.name,
          opacity: layer.paint.get('icon-opacity').evaluate(f, {}),
          coastingTrail: m.queryRenderedFeatures({layers: ['trails-coasting']})
                          .some(t => t.properties.id === id),
          solidTrail: m.queryRenderedFeatures({layers: ['trails']})
                       .some(t => t.properties.id === id),
          listCoasting: !!document.querySelector(`#list tr[data-id="${id}"].coasting`),
          wsStatus: window.__ap.tracks.get(id).status};
}"""


def test_coasting_tracks_are_drawn_hollow_dimmed_with_a_dashed_trail() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium missing: `make debs-test` installs it")
    if not (STATIC_DIR / "vendor" / "maplibre-gl" / "maplibre-gl.mjs").exists():
        pytest.skip("MapLibre not installed: `make web` installs it")
    from playwright.sync_api import sync_playwright

    pipeline = build_pipeline(ServiceConfig(), TwoTracks())
    pipeline.recorder.start()
    with serving(pipeline) as url, sync_playwright() as pw:
        pipeline.tick(1.0)
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        map_loaded(page)
        page.evaluate("window.__ap.map.jumpTo({zoom: 8})")

        def tick(t_s: float) -> dict[int, Any]:
            pipeline.tick(t_s)
            page.wait_for_function(f"window.__ap.idleSeq >= {pipeline.seq}",
                                   timeout=15_000)
            return {i: page.evaluate(STYLE_OF, i) for i in (1, 2)}

        before = tick(2.0)
        tick(3.0)
        after = tick(4.0)
        legend = page.inner_text("#legend-coasting")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "service-map-coasting.png"))
        browser.close()
    pipeline.recorder.close()
    assert errors == []
    assert before[2] == {"status": CONFIRMED, "image": "arrow", "opacity": 1,
                         "coastingTrail": False, "solidTrail": True, "listCoasting": False,
                         "wsStatus": CONFIRMED}
    assert after[1] == before[1] == before[2]
    assert after[2] == {"status": COASTING, "image": "arrow-hollow", "opacity": 0.6,
                        "coastingTrail": True, "solidTrail": False, "listCoasting": True,
                        "wsStatus": COASTING}
    assert "coasting" in legend
