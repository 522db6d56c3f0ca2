"""The local plane: geodetic -> (x, y) and back must round-trip wherever a feed may reach."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from airpicture.core.geo import LocalFrame
from airpicture.sources.cpr import distance_m


@settings(max_examples=200, deadline=None)
@given(lat0=st.floats(-70, 70), lon0=st.floats(-180, 180), dlat=st.floats(-12, 12),
       dlon=st.floats(-12, 12))
@example(lat0=31.0, lon0=0.0, dlat=-7.5, dlon=11.5)  # 1,397 km: five fixed steps were 12 mm off
def test_ground_to_geodetic_inverts_to_enu_at_ground_level(
        lat0: float, lon0: float, dlat: float, dlon: float) -> None:
    frame = LocalFrame(lat0, lon0)
    lat = np.clip(lat0 + dlat, -85.0, 85.0)
    lon = lon0 + dlon
    x, y, _ = frame.to_enu(lat, lon, 0.0)
    if np.hypot(x, y) > 1_400_000:  # beyond what the plane is meant for
        return
    back_lat, back_lon = frame.ground_to_geodetic(x, y)
    err = distance_m(np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(back_lat),
                     np.atleast_1d(back_lon))
    assert float(err[0]) < 0.01


def test_the_tangent_plane_point_itself_is_not_the_ground_point() -> None:
    # Why ground_to_geodetic exists: Heathrow in a plane centred on Toulouse (880 km away).
    frame = LocalFrame(43.6293, 1.3638)
    lat, lon = np.array([51.4749]), np.array([-0.4722])
    x, y, up = frame.to_enu(lat, lon, 0.0)
    assert up[0] < -50_000  # the ground there lies 60 km below the plane
    naive_lat, naive_lon, _ = frame.to_geodetic(x, y, 0.0)
    assert float(distance_m(lat, lon, naive_lat, naive_lon)[0]) > 5_000
    back_lat, back_lon = frame.ground_to_geodetic(x, y)
    assert float(distance_m(lat, lon, back_lat, back_lon)[0]) < 0.01
