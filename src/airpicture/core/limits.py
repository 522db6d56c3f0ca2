"""Physical ranges shared by every input format: one source for what a plot may carry.

Formats can encode more than an aircraft can report (ASTERIX I021/145 reaches FL 8,192, I048/090
FL 2,047): a value outside these ranges is a bad value at the boundary, never a plot's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ALTITUDE_FT = (-2_000.0, 130_000.0)
"""Pressure altitude, ft: Gillham and 25 ft Mode C/S codes reach 126,750 ft."""


def altitude_or_nan(alt_ft: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], int]:
    """The altitudes with every finite value outside ALTITUDE_FT replaced by NaN (unknown), and
    how many were replaced."""
    alt = np.asarray(alt_ft, np.float64)
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(alt) & ((alt < ALTITUDE_FT[0]) | (alt > ALTITUDE_FT[1]))
    return np.where(bad, np.nan, alt), int(bad.sum())
