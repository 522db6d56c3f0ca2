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
from airpicture.io.asterix.layout import MAX_RECORDS_PER_BLOCK
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
    """Latitude and longitude: high resolution (131) when present, else 130."""
    hi = g("131")
    if hi is not None:
        return quantity(sub(hi, "LAT"), "°"), quantity(sub(hi, "LON"), "°")
    lo = g("130")
    if lo is not None:
        return quantity(sub(lo, "LAT"), "°"), quantity(sub(lo, "LON"), "°")
    return float("nan"), float("nan")


def _row(rec: Any) -> dict[str, Any]:
    """One libasterix record to the Cat021Reports fields."""
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


def decode(blocks: list[Block], edition: str, counts: Counter[str],
           max_records: int = MAX_RECORDS_PER_BLOCK) -> Cat021Reports:
    """CAT021 blocks to reports (a block that does not parse with `edition` is counted)."""
    rows = [{**_row(r), "block": k} for k, b in enumerate(blocks)
            for r in parse_block(b, edition, counts, max_records) or []]
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


FAST_EDITIONS = frozenset({"2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"})
"""Editions whose items the fast path reads (the same bit positions in all of 2.x); others
go through libasterix."""

_ITEMS = ("010", "040", "071", "073", "077", "130", "131", "080", "090", "145", "170", "161",
          "070")


def decode_fast(blocks: list[Block], counts: Counter[str], edition: str = "2.6",
                max_records: int = MAX_RECORDS_PER_BLOCK) -> Cat021Reports:
    """The same reports as `decode`, from the byte-level walker and vectorised reads (2.x)."""
    from airpicture.io.asterix.fields import concat_blocks, gather_uint, icao_strings
    from airpicture.io.asterix.layout import record_layout, walk_blocks

    if edition not in FAST_EDITIONS:
        return decode(blocks, edition, counts, max_records)
    layout = record_layout(21, edition)
    wanted = tuple(layout.frn(n) for n in _ITEMS)
    buf, spans = concat_blocks(blocks)
    offsets, block_idx = walk_blocks(buf, spans, layout, wanted, counts, "blocks_rejected:cat021_",
                                     max_records)
    arr = np.frombuffer(buf + bytes(8), np.uint8)
    o = {n: offsets[:, k] for k, n in enumerate(_ITEMS)}
    has = {k: v >= 0 for k, v in o.items()}
    u = {name: gather_uint(arr, o[name], size) for name, size in
         (("010", 2), ("071", 3), ("073", 3), ("077", 3), ("130", 6), ("131", 8), ("080", 3),
          ("145", 2), ("170", 6), ("161", 2), ("070", 2))}
    q040 = gather_uint(arr, o["040"], 2)  # second byte only meaningful when FX is set
    q090 = gather_uint(arr, o["090"], 2)
    ext040 = has["040"] & ((q040 >> 8) & 1 == 1)
    ext090 = has["090"] & ((q090 >> 8) & 1 == 1)
    nan = np.nan
    tod = np.where(has["071"], _scaled21(u["071"], 24, edition, "071"),
                   np.where(has["073"], _scaled21(u["073"], 24, edition, "073"),
                            np.where(has["077"], _scaled21(u["077"], 24, edition, "077"), nan)))
    lat = np.where(has["131"], _scaled21(u["131"] >> 32, 32, edition, "131", "LAT"),
                   np.where(has["130"], _scaled21(u["130"] >> 24, 24, edition, "130", "LAT"),
                            nan))
    lon = np.where(has["131"], _scaled21(u["131"] & 0xFFFFFFFF, 32, edition, "131", "LON"),
                   np.where(has["130"], _scaled21(u["130"] & 0xFFFFFF, 24, edition, "130",
                                                  "LON"), nan))
    return Cat021Reports(
        block=block_idx,
        sac=np.where(has["010"], u["010"] >> 8, -1).astype(np.int16),
        sic=np.where(has["010"], u["010"] & 0xFF, -1).astype(np.int16),
        tod_s=tod, lat_deg=lat, lon_deg=lon, icao24=u["080"],
        fl=np.where(has["145"], _scaled21(u["145"], 16, edition, "145"), nan),
        callsign=icao_strings(u["170"], has["170"]),
        nacp=np.where(ext090, (q090 >> 1) & 0xF, -1).astype(np.int8),
        nic=np.where(has["090"], (q090 >> 9) & 0xF, -1).astype(np.int8),
        sil=np.where(ext090, (q090 >> 5) & 0x3, -1).astype(np.int8),
        track_number=np.where(has["161"], u["161"] & 0xFFF, -1).astype(np.int32),
        mode3a=np.where(has["070"], u["070"] & 0xFFF, -1).astype(np.int16),
        simulated=ext040 & ((q040 & 0x20) > 0),
    )


def _scaled21(raw: npt.NDArray[np.int64], bits: int, edition: str, item: str,
              sub: str | None = None) -> npt.NDArray[np.float64]:
    """A raw field in engineering units with the edition's lsb and signedness."""
    from airpicture.io.asterix.fields import signed
    from airpicture.io.asterix.layout import quantity_info

    lsb, is_signed = quantity_info(21, edition, item, sub)
    return np.asarray((signed(raw, bits) if is_signed else raw) * lsb, np.float64)
