"""Radar polar measurements <-> WGS-84 <-> the local frame, through pymap3d.

A radar measures slant range and azimuth; with the aircraft's height (from its flight level)
and the radar's height the elevation follows, and pymap3d's aer2geodetic gives the position.
The elevation is refined by Newton steps until aer2geodetic returns the aircraft's height.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pymap3d

from airpicture.core.geo import LocalFrame
from airpicture.io.asterix.config import RadarSite

FloatArray = npt.NDArray[np.float64]

_MEAN_EARTH_RADIUS_M = 6371008.8
"""Only for the first guess of the elevation; the refinement uses the ellipsoid."""


def _first_elevation_rad(slant_m: FloatArray, dh_m: FloatArray, h_site_m: float) -> FloatArray:
    """Elevation on a sphere: only the starting point of the ellipsoid refinement."""
    r0 = _MEAN_EARTH_RADIUS_M + h_site_m
    r1 = r0 + dh_m
    s = np.maximum(slant_m, 1.0)
    sin_el = (r1 * r1 - r0 * r0 - s * s) / (2.0 * r0 * s)
    return np.arcsin(np.clip(sin_el, -1.0, 1.0))


def polar_to_geodetic(
    site: RadarSite, slant_m: npt.ArrayLike, azimuth_deg: npt.ArrayLike, height_m: npt.ArrayLike,
    iterations: int = 3,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Latitude, longitude (deg) and height (m) of targets at slant range and azimuth from site,
    whose height above the ellipsoid is `height_m`."""
    s = np.asarray(slant_m, float)
    az = np.asarray(azimuth_deg, float)
    h = np.broadcast_to(np.asarray(height_m, float), s.shape)
    el = _first_elevation_rad(s, h - site.height_m, site.height_m)
    lat = lon = alt = np.zeros_like(s)
    for _ in range(iterations + 1):
        lat, lon, alt = pymap3d.aer2geodetic(az, np.degrees(el), s, site.lat_deg, site.lon_deg,
                                             site.height_m)
        step = (h - alt) / np.maximum(s * np.cos(el), 1.0)
        el = np.clip(el + step, -np.pi / 2, np.pi / 2)
    return np.asarray(lat, float), np.asarray(lon, float), np.asarray(alt, float)


def geodetic_to_polar(
    site: RadarSite, lat_deg: npt.ArrayLike, lon_deg: npt.ArrayLike, height_m: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Slant range (m) and azimuth (deg, 0..360) of targets seen from site."""
    az, _el, srange = pymap3d.geodetic2aer(
        np.asarray(lat_deg, float), np.asarray(lon_deg, float), np.asarray(height_m, float),
        site.lat_deg, site.lon_deg, site.height_m,
    )
    return np.asarray(srange, float), np.mod(np.asarray(az, float), 360.0)


def polar_covariance(
    ground_range_m: FloatArray, azimuth_deg: FloatArray, sigma_range_m: float,
    sigma_azimuth_deg: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """East/north covariance (var_x, var_y, cov_xy in m²) of a range/azimuth measurement."""
    a = np.radians(azimuth_deg)
    sr2 = sigma_range_m**2
    sa2 = (np.radians(sigma_azimuth_deg) * ground_range_m) ** 2
    sin_a, cos_a = np.sin(a), np.cos(a)
    var_x = sr2 * sin_a**2 + sa2 * cos_a**2
    var_y = sr2 * cos_a**2 + sa2 * sin_a**2
    cov_xy = (sr2 - sa2) * sin_a * cos_a
    return var_x, var_y, cov_xy


def polar_to_enu(
    frame: LocalFrame, site: RadarSite, slant_m: npt.ArrayLike, azimuth_deg: npt.ArrayLike,
    height_m: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Plot position in the local frame (x east, y north, on the ground plane) and the ground
    range from the site (m)."""
    lat, lon, _h = polar_to_geodetic(site, slant_m, azimuth_deg, height_m)
    x, y, _u = frame.to_enu(lat, lon, 0.0)
    sx, sy, _su = frame.to_enu(site.lat_deg, site.lon_deg, 0.0)
    return x, y, np.hypot(x - sx, y - sy)

