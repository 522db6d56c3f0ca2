"""Vectorised local CPR decoding with a per-message reference, and the readsb-like speed check.

rs1090 resolves positions in a batch from even/odd pairs (and surface positions from one
reference for the whole batch).  A live feed arrives in many small batches from several
receivers, so the reference must follow each aircraft: this module decodes CPR positions
relative to a reference given per message (the aircraft's last position, else its receiver),
which rs1090 has no batch call for.  The formulas are DO-260B A.1.7.5 (local decoding) and are
cross-checked against rs1090 in the tests.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
CPR_SCALE = float(2**17)
NZ = 15
EARTH_RADIUS_M = 6_371_008.8


def nl(lat_deg: F64) -> npt.NDArray[np.int64]:
    """Number of longitude zones at each latitude (DO-260B A.1.7.2.d), vectorised."""
    lat = np.abs(np.asarray(lat_deg, float))
    with np.errstate(invalid="ignore", divide="ignore"):
        a = 1.0 - np.cos(np.pi / (2 * NZ))
        b = np.cos(np.radians(lat)) ** 2
        value = np.floor(2 * np.pi / np.arccos(np.clip(1.0 - a / b, -1.0, 1.0)))
    out = np.where(np.isfinite(value), value, 1.0)
    out = np.where(lat < 1e-9, 59.0, out)
    out = np.where(lat > 87.0, 1.0, np.where(lat == 87.0, 2.0, out))
    return out.astype(np.int64)


def local_decode(
    lat_cpr: npt.ArrayLike,
    lon_cpr: npt.ArrayLike,
    odd: npt.ArrayLike,
    surface: npt.ArrayLike,
    ref_lat_deg: npt.ArrayLike,
    ref_lon_deg: npt.ArrayLike,
) -> tuple[F64, F64]:
    """Latitude and longitude (degrees) of CPR positions near their references.

    Valid when the reference is within half a zone of the aircraft: 180 NM airborne, 45 NM on
    the surface.  NaN where the reference is NaN.
    """
    yz = np.asarray(lat_cpr, float) / CPR_SCALE
    xz = np.asarray(lon_cpr, float) / CPR_SCALE
    is_odd = np.asarray(odd, bool)
    span = np.where(np.asarray(surface, bool), 90.0, 360.0)
    rlat = np.asarray(ref_lat_deg, float)
    rlon = np.asarray(ref_lon_deg, float)
    dlat = span / np.where(is_odd, 4 * NZ - 1, 4 * NZ)
    j = _zone_index(rlat, dlat, yz)
    lat = dlat * (j + yz)
    ni = np.maximum(nl(lat) - is_odd.astype(np.int64), 1)
    dlon = span / ni
    m = _zone_index(rlon, dlon, xz)
    lon = dlon * (m + xz)
    lon = np.mod(lon + 180.0, 360.0) - 180.0
    return lat, lon


def surface_global_decode(
    lat_even_cpr: npt.ArrayLike,
    lon_even_cpr: npt.ArrayLike,
    lat_odd_cpr: npt.ArrayLike,
    lon_odd_cpr: npt.ArrayLike,
    latest_odd: npt.ArrayLike,
    ref_lat_deg: npt.ArrayLike,
    ref_lon_deg: npt.ArrayLike,
) -> tuple[F64, F64]:
    """Surface positions from even/odd pairs (DO-260B A.1.7.8), at the later message's time.

    A surface pair fixes the position up to the hemisphere and a 90-degree longitude
    quadrant: the candidate nearest the reference is taken, which is right for any reference
    within thousands of km (a receiver, or another aircraft the feed hears).  NaN where the two
    messages lie in different longitude-zone counts (moved across a zone edge) or the
    reference is NaN.
    """
    lat_e = np.asarray(lat_even_cpr, float) / CPR_SCALE
    lon_e = np.asarray(lon_even_cpr, float) / CPR_SCALE
    lat_o = np.asarray(lat_odd_cpr, float) / CPR_SCALE
    lon_o = np.asarray(lon_odd_cpr, float) / CPR_SCALE
    odd = np.asarray(latest_odd, bool)
    rlat = np.asarray(ref_lat_deg, float)
    rlon = np.asarray(ref_lon_deg, float)
    j = np.floor(59 * lat_e - 60 * lat_o + 0.5)
    north_e = 90.0 / 60 * (np.mod(j, 60) + lat_e)
    north_o = 90.0 / 59 * (np.mod(j, 59) + lat_o)
    south = np.abs(north_e - 90.0 - rlat) < np.abs(north_e - rlat)
    lat_even = np.where(south, north_e - 90.0, north_e)
    lat_odd = np.where(south, north_o - 90.0, north_o)
    zones = nl(lat_even)
    same_zone = zones == nl(lat_odd)
    lat = np.where(odd, lat_odd, lat_even)
    zones = nl(lat)
    ni = np.maximum(zones - odd.astype(np.int64), 1)
    m = np.floor(lon_e * (zones - 1) - lon_o * zones + 0.5)
    lon = 90.0 / ni * (np.mod(m, ni) + np.where(odd, lon_o, lon_e))
    # Four candidates 90 degrees apart: the one nearest the reference longitude.
    quadrant = np.round(np.mod(rlon - lon, 360.0) / 90.0)
    lon = np.mod(lon + 90.0 * quadrant + 180.0, 360.0) - 180.0
    ok = same_zone & np.isfinite(rlat) & np.isfinite(rlon)
    return np.where(ok, lat, np.nan), np.where(ok, lon, np.nan)


def _zone_index(ref: F64, size: F64, frac: F64) -> F64:
    """Index of the zone whose position `frac` (0..1) lies nearest `ref` (DO-260B A.1.7.5).

    The remainder is taken from the same quotient as the zone (not np.mod), so the two agree
    even where ref / size underflows.
    """
    zone = np.floor(ref / size)
    rest = (ref - zone * size) / size
    return np.asarray(zone + np.floor(0.5 + rest - frac), float)


def distance_m(lat1: F64, lon1: F64, lat2: F64, lon2: F64) -> F64:
    """Great-circle distance (haversine on the mean sphere), NaN-propagating."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))), float)


def previous_in_group(group: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_]
                      ) -> npt.NDArray[np.int64]:
    """For each row (rows sorted by group then time): index of the last earlier valid row of the
    same group, -1 where none (a vectorised forward fill)."""
    n = group.shape[0]
    if n == 0:
        return np.empty(0, np.int64)
    idx = np.where(valid, np.arange(n), -1)
    shifted = np.concatenate(([-1], idx[:-1]))
    filled = np.maximum.accumulate(shifted)
    start = np.concatenate(([True], group[1:] != group[:-1]))
    group_start = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return np.where(filled >= group_start, filled, -1).astype(np.int64)
