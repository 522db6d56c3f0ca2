"""Geodesy: WGS-84 geodetic <-> the local ENU plane, through pymap3d (never hand-rolled).

Plots and tracks live in the plane as (x, y) = the east and north of `to_enu(lat, lon, 0)`:
the ground point's projection, its `up` dropped.  Back to latitude and longitude is
`ground_to_geodetic(x, y)`, the exact inverse.  `to_geodetic(x, y, 0)` is not: the tangent
plane rises above the ellipsoid with distance (about 63 km at 900 km), and the point on it lies
about 8 km off towards the origin there (12 m at 100 km).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pymap3d

FT_TO_M = 0.3048
KT_TO_MPS = 1852.0 / 3600.0
FPM_TO_MPS = FT_TO_M / 60.0
NM_TO_M = 1852.0

FloatArray = npt.NDArray[np.float64]
GROUND_MAX_ITERATIONS = 10
GROUND_TOLERANCE_M = 1e-4
"""ground_to_geodetic stops once every point is within 0.1 mm of the ellipsoid (each step
gets ~100 times closer: 4-6 steps within 1,500 km of the origin)."""


@dataclass(frozen=True)
class LocalFrame:
    """East-north-up plane tangent to the ellipsoid at (lat0_deg, lon0_deg, h0_m)."""

    lat0_deg: float
    lon0_deg: float
    h0_m: float = 0.0

    def to_enu(
        self, lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, h_m: npt.ArrayLike = 0.0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Geodetic to local east, north, up in metres."""
        e, n, u = pymap3d.geodetic2enu(
            np.asarray(lat_deg, dtype=float),
            np.asarray(lon_deg, dtype=float),
            np.asarray(h_m, dtype=float),
            self.lat0_deg,
            self.lon0_deg,
            self.h0_m,
        )
        return np.asarray(e, float), np.asarray(n, float), np.asarray(u, float)

    def to_geodetic(
        self, east_m: npt.ArrayLike, north_m: npt.ArrayLike, up_m: npt.ArrayLike = 0.0
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Local east, north, up in metres to latitude, longitude (degrees) and height (m)."""
        lat, lon, h = pymap3d.enu2geodetic(
            np.asarray(east_m, dtype=float),
            np.asarray(north_m, dtype=float),
            np.asarray(up_m, dtype=float),
            self.lat0_deg,
            self.lon0_deg,
            self.h0_m,
        )
        return np.asarray(lat, float), np.asarray(lon, float), np.asarray(h, float)

    def ground_to_geodetic(
        self, east_m: npt.ArrayLike, north_m: npt.ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """Latitude and longitude (degrees) of the ground point whose `to_enu(lat, lon, 0)` has
        this east and north: the inverse of how every input maps positions into the plane."""
        east = np.asarray(east_m, float)
        north = np.asarray(north_m, float)
        up = np.zeros_like(east)
        lat = lon = up
        for _ in range(GROUND_MAX_ITERATIONS):
            lat, lon, h = self.to_geodetic(east, north, up)
            up = up - h  # move along the local vertical until the point is on the ellipsoid
            if not np.any(np.abs(h) > GROUND_TOLERANCE_M):
                break
        return lat, lon
