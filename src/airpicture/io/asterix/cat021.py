"""CAT021 ADS-B target reports -> plots, with NACp, NIC and SIL from I021/090.

Low volume per ground station, so libasterix decodes it directly (no fast path).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.io.asterix.blocks import Block
from airpicture.io.asterix.libx import parse_block, quantity, sub, uint

NACP_EPU_M = (np.inf, 18520.0, 7408.0, 3704.0, 1852.0, 926.0, 555.6, 185.2, 92.6, 30.0, 10.0,
              3.0)
"""Estimated position uncertainty (95 %) per NACp 0..11 (DO-260B)."""


def sigma_from_nacp_m(nacp: npt.NDArray[np.int8], default_m: float) -> npt.NDArray[np.float64]:
    """One-axis standard deviation from NACp (EPU is a 95 % radius: /2.45); default where
    NACp is unknown (-1) or 0."""
    table = np.asarray(NACP_EPU_M)
    n = np.clip(nacp.astype(int), 0, 11)
    sigma = table[n] / 2.45
    return np.where((nacp > 0) & np.isfinite(sigma), sigma, default_m)


@dataclass
class Cat021Reports:
    """ADS-B reports, one row per record (unknowns: NaN, -1, 0 address, '' callsign)."""

    block: npt.NDArray[np.int64]
    """Index of the record's block in the decoded list."""
    sac: npt.NDArray[np.int16]
    sic: npt.NDArray[np.int16]
    tod_s: npt.NDArray[np.float64]
    lat_deg: npt.NDArray[np.float64]
    lon_deg: npt.NDArray[np.float64]
    icao24: npt.NDArray[np.int64]
    fl: npt.NDArray[np.float64]
    callsign: npt.NDArray[np.object_]
    nacp: npt.NDArray[np.int8]
    nic: npt.NDArray[np.int8]
    sil: npt.NDArray[np.int8]
    track_number: npt.NDArray[np.int32]
    mode3a: npt.NDArray[np.int16]
    simulated: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.sac.shape[0])


_DTYPES: dict[str, Any] = {
    "block": np.int64, "sac": np.int16, "sic": np.int16, "tod_s": np.float64, "lat_deg": np.float64,
    "lon_deg": np.float64, "icao24": np.int64, "fl": np.float64, "callsign": object,
    "nacp": np.int8, "nic": np.int8, "sil": np.int8, "track_number": np.int32,
    "mode3a": np.int16, "simulated": np.bool_,
}


def _time_s(g: Any) -> float:
    """Time of the position: applicability (071), else its reception (073), else 077."""
    for name in ("071", "073", "077"):
        item = g(name)
        if item is not None:
            return quantity(item, "s")
    return float("nan")


def _position(g: Any) -> tuple[float, float]:
    hi = g("131")
    if hi is not None:
        return quantity(sub(hi, "LAT"), "°"), quantity(sub(hi, "LON"), "°")
    lo = g("130")
    if lo is not None:
        return quantity(sub(lo, "LAT"), "°"), quantity(sub(lo, "LON"), "°")
    return float("nan"), float("nan")


def _row(rec: Any) -> dict[str, Any]:
    g = rec.get_item
    lat, lon = _position(g)
    i090 = g("090")
    i170 = g("170")
    return {
        "sac": uint(sub(g("010"), "SAC")), "sic": uint(sub(g("010"), "SIC")),
        "tod_s": _time_s(g), "lat_deg": lat, "lon_deg": lon, "icao24": uint(g("080"), 0),
        "fl": quantity(g("145"), "FL"),
        "callsign": i170.variation.content.as_string().rstrip() if i170 is not None else "",
        "nacp": uint(sub(i090, "NACP")), "nic": uint(sub(i090, "NUCPNIC")),
        "sil": uint(sub(i090, "SIL")), "track_number": uint(sub(g("161"), "TRNUM")),
        "mode3a": uint(sub(g("070"), "MODE3A")),
        "simulated": uint(sub(g("040"), "SIM"), 0) == 1,
    }


def decode(blocks: list[Block], edition: str, counts: Counter[str]) -> Cat021Reports:
    """CAT021 blocks to reports (a block that does not parse with `edition` is counted)."""
    rows = [{**_row(r), "block": k} for k, b in enumerate(blocks)
            for r in parse_block(b, edition, counts) or []]
    cols: dict[str, Any] = {}
    for k, dt in _DTYPES.items():
        values = [r[k] for r in rows]
        if dt is object:
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            cols[k] = arr
        else:
            cols[k] = np.asarray(values, dtype=dt).reshape(-1)
    return Cat021Reports(**cols)
