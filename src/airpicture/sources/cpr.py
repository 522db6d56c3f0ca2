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
