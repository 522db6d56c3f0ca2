"""Wire form: JSON-safe columns, correct geodesy and heading, deltas that rebuild the picture."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.geo import LocalFrame
from airpicture.service.encode import (
    SensorIndex,
    delta_rows,
    encode_message,
    take_view,
    to_view,
    view_rows,
)
from airpicture.service.sources import PatternSource


def test_view_is_json_safe_and_geodetic() -> None:
    src = PatternSource(50)
    tracks, _ = src.step(10.0)
    tracks.alt_ft[0] = np.nan
    tracks.sigma_pos_m[1] = np.nan
    index = SensorIndex.create([s.id for s in src.meta.sensors], [s.kind for s in src.meta.sensors])
    view = to_view(tracks, src.meta.frame, index)
    msg = json.loads(encode_message("snapshot", 1, 10.0, view))
    assert msg["n"] == 50 and msg["cols"]["alt_ft"][0] is None
    assert msg["cols"]["sigma_pos_m"][1] is None
    lat, lon, _ = LocalFrame(48.85, 2.35).to_geodetic(tracks.x[:5], tracks.y[:5])
    np.testing.assert_allclose(view["lat"][:5], lat, atol=1e-5)
    np.testing.assert_allclose(view["lon"][:5], lon, atol=1e-5)
    hdg = np.asarray(view["hdg_deg"])
    expected = np.degrees(np.arctan2(tracks.vx, tracks.vy)) % 360
    assert np.all(np.abs((hdg - expected + 180) % 360 - 180) < 0.1)
    # Track i is seen by sensor i mod 3 only: psr, ssr, adsb.
    assert view["kinds"][:3] == [1, 2, 4] and view["smask"][:3] == [1, 2, 4]
    assert view["icao24"][0] == "3c0000" and view["squawk"][8] == "0010"
    assert view_rows(take_view(view, np.asarray([2])))[0]["id"] == 3


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(0, 30)), st.sets(st.integers(0, 30)), st.sets(st.integers(0, 30)))
def test_delta_applied_to_previous_gives_new_picture(prev: set[int], new: set[int],
                                                     moved: set[int]) -> None:
    prev_ids = np.asarray(sorted(prev), np.int64)
    ids = np.asarray(sorted(new, reverse=True), np.int64)
    prev_t = prev_ids.astype(float)
    t = np.asarray([float(i) + (i in moved) for i in ids.tolist()])
    changed, removed = delta_rows(prev_ids, prev_t, ids, t)
    state = dict(zip(prev_ids.tolist(), prev_t.tolist(), strict=True))
    for r in removed.tolist():
        del state[r]
    for k in changed.tolist():
        state[int(ids[k])] = float(t[k])
    assert state == dict(zip(ids.tolist(), t.tolist(), strict=True))
    # Unchanged rows are not sent again.
    assert len(changed) == len(new - prev) + len((new & prev) & moved)
