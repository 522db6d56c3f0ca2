"""Physical ranges of every decoded Mode S / ADS-B value: the one place that says what is
plausible.  Whatever comes from outside (Beast, AVR, SBS, JSON lines) is checked against these
at the boundary; a record with a value outside its range is a bad record, counted and dropped,
never passed on (a 1e300 altitude once reached the tracker and came out as -2**63 ft).

Ranges are the widest the message formats can carry, with a small margin: they reject what
no receiver can report, not what is merely unusual.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.limits import ALTITUDE_FT

TIME_MIN_S = 0.0
TIME_MAX_S = 4_102_444_800.0
"""Timestamps: Unix seconds up to 2100-01-01 (a Beast 12 MHz counter / 12e6 is at most 2.3e7
s, so it fits too); NaN means unknown, +-inf and anything beyond are bad."""

RANGES: dict[str, tuple[float, float]] = {
    "timestamp": (TIME_MIN_S, TIME_MAX_S),
    "altitude": ALTITUDE_FT,
    "groundspeed": (0.0, 4_100.0),  # kt: ADS-B supersonic encoding tops at 4,092 kt
    "track": (-360.0, 360.0),  # deg (some senders give -180..180)
    "vertical_rate": (-66_000.0, 66_000.0),  # ft/min: 9 bits of 64 ft/min, margin
    "latitude": (-90.0, 90.0),
    "longitude": (-180.0, 180.0),
    "rssi": (-150.0, 10.0),  # dBFS
    "selected_altitude": (-2_000.0, 70_000.0),  # ft: 12 bits of 16 ft (BDS 4,0 / 6,2)
    "barometric_setting": (700.0, 1_300.0),  # hPa (QNH)
    "roll": (-90.0, 90.0),  # deg
    "TAS": (0.0, 2_100.0),  # kt (BDS 5,0: 10 bits of 2 kt)
    "IAS": (0.0, 1_100.0),  # kt (BDS 6,0: 10 bits of 1 kt)
    "Mach": (0.0, 4.2),  # BDS 6,0: 10 bits of 0.004
    "heading": (-360.0, 360.0),  # deg
}
"""Field (rs1090 / SBS record key) -> (lowest, highest) plausible value, inclusive."""

COMM_B_RANGE = {"selected_mcp": "selected_altitude", "selected_fms": "selected_altitude"}
"""Comm-B fields checked against another field's range."""


def in_range(key: str, value: object) -> bool:
    """True when `value` is a finite number within `key`'s range (True for unknown keys)."""
    bounds = RANGES.get(COMM_B_RANGE.get(key, key))
    if bounds is None:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        v = float(value)
    except OverflowError:  # an int beyond float's range
        return False
    return math.isfinite(v) and bounds[0] <= v <= bounds[1]


def timestamp_ok(t: float) -> bool:
    """A time a record may carry: finite and within [TIME_MIN_S, TIME_MAX_S]."""
    return TIME_MIN_S <= t <= TIME_MAX_S


def times_ok(t: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Per element: NaN (unknown) or a time within range; False for +-inf and beyond."""
    return np.asarray(np.isnan(t) | ((t >= TIME_MIN_S) & (t <= TIME_MAX_S)))


def bad_field(record: dict[str, Any]) -> str | None:
    """The first field of a decoded record outside its range (None: all plausible).

    Absent and None fields are fine; non-numbers where a number is due are bad."""
    for key in ("timestamp", "altitude", "groundspeed", "track", "vertical_rate", "latitude",
                "longitude", "rssi"):
        value = record.get(key)
        if value is not None and not in_range(key, value):
            return key
    return None


def columns_ok(cols: dict[str, Any]) -> npt.NDArray[np.bool_]:
    """Per row of decoded columns (`airpicture.sources.columns`): every value (NaN = absent)
    within its range; a vectorised check of the same ranges as `bad_field`."""
    ok = np.isfinite(cols["t"]) & (cols["t"] >= TIME_MIN_S) & (cols["t"] <= TIME_MAX_S)
    for col, key in (("altitude", "altitude"), ("gs", "groundspeed"), ("track", "track"),
                     ("vrate", "vertical_rate"), ("lat", "latitude"), ("lon", "longitude"),
                     ("rssi", "rssi")):
        values = cols[col]
        lo, hi = RANGES[key]
        with np.errstate(invalid="ignore"):
            ok &= np.isnan(values) | ((values >= lo) & (values <= hi))
    return np.asarray(ok)
