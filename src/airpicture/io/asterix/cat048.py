"""CAT048 monoradar target reports: a fast byte-level decoder and its libasterix oracle.

The fast path walks records with the edition's layout (airpicture.io.asterix.layout) and reads
the items the tracker uses with vectorised numpy; the oracle reads the same fields through
libasterix's full parse. Tests hold them equal on real and random records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.io.asterix.blocks import Block
from airpicture.io.asterix.fields import concat_blocks, gather_uint, icao_strings, signed
from airpicture.io.asterix.layout import (
    MAX_RECORDS_PER_BLOCK,
    quantity_info,
    record_layout,
    spec_class,
    walk_blocks,
)

DEFAULT_EDITION = "1.32"

TYP_NAMES = (
    "no detection", "single PSR", "single SSR", "SSR+PSR", "Mode S all-call",
    "Mode S roll-call", "Mode S all-call+PSR", "Mode S roll-call+PSR",
)
"""I048/020 TYP: 1 is primary only; 2, 4, 5 secondary only; 3, 6, 7 combined."""

PSR_TYPS = frozenset({1})
COMBINED_TYPS = frozenset({3, 6, 7})

_ITEMS = ("010", "140", "020", "040", "070", "090", "220", "240", "250", "161", "200", "170")


@dataclass
class Cat048Reports:
    """Decoded target reports, one row per record (structure-of-arrays).

    Absent items: typ -1, mode3a -1, fl_ft NaN, icao24 0, callsign '', track_number -1,
    groundspeed_kt / heading_deg NaN, tod_s / rho_nm / theta_deg NaN, comm_b None.
    """

    block: npt.NDArray[np.int64]
    sac: npt.NDArray[np.int16]
    sic: npt.NDArray[np.int16]
    tod_s: npt.NDArray[np.float64]
    typ: npt.NDArray[np.int8]
    sim: npt.NDArray[np.bool_]
    spi: npt.NDArray[np.bool_]
    rho_nm: npt.NDArray[np.float64]
    theta_deg: npt.NDArray[np.float64]
    mode3a: npt.NDArray[np.int16]
    mode3a_valid: npt.NDArray[np.bool_]
    fl: npt.NDArray[np.float64]
    fl_valid: npt.NDArray[np.bool_]
    icao24: npt.NDArray[np.int64]
    callsign: npt.NDArray[np.object_]
    track_number: npt.NDArray[np.int32]
    groundspeed_kt: npt.NDArray[np.float64]
    heading_deg: npt.NDArray[np.float64]
    comm_b: npt.NDArray[np.object_]
    """Per record a tuple of (bds1, bds2, mb 56-bit int) from I048/250, or None."""

    def __len__(self) -> int:
        return int(self.sac.shape[0])

    @classmethod
    def empty(cls) -> Cat048Reports:
        return concat_reports([])

    def take(self, index: npt.ArrayLike) -> Cat048Reports:
        idx = np.asarray(index)
        return Cat048Reports(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


_DTYPES: dict[str, Any] = {
    "block": np.int64, "sac": np.int16, "sic": np.int16, "tod_s": np.float64,
    "typ": np.int8, "sim": np.bool_, "spi": np.bool_, "rho_nm": np.float64,
    "theta_deg": np.float64, "mode3a": np.int16, "mode3a_valid": np.bool_,
    "fl": np.float64, "fl_valid": np.bool_, "icao24": np.int64, "callsign": object,
    "track_number": np.int32, "groundspeed_kt": np.float64, "heading_deg": np.float64,
    "comm_b": object,
}


def concat_reports(parts: list[Cat048Reports]) -> Cat048Reports:
    """Rows of all parts, in order."""
    if not parts:
        return Cat048Reports(**{k: np.empty(0, v) for k, v in _DTYPES.items()})
    return Cat048Reports(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts])
           for f in fields(Cat048Reports)}
    )


def _comm_b(arr: npt.NDArray[np.uint8], offs: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    """I048/250 repetitions as (bds1, bds2, mb) tuples per row (None where absent); each
    repetition is read for all rows at once."""
    out = np.full(offs.shape[0], None, dtype=object)
    rows = np.flatnonzero(offs >= 0)
    if rows.size == 0:
        return out
    base = offs[rows]
    reps = arr[base].astype(np.int64)
    regs: list[list[tuple[int, int, int]]] = []
    for k in range(int(reps.max())):
        at = np.where(reps > k, base, -1)
        mb = gather_uint(arr, at, 7, skip=1 + 8 * k)
        bds = gather_uint(arr, at, 1, skip=8 + 8 * k)
        regs.append(list(zip((bds >> 4).tolist(), (bds & 0xF).tolist(), mb.tolist(),
                             strict=True)))
    values = (tuple(regs[k][r] for k in range(n)) for r, n in enumerate(reps.tolist()))
    out[rows] = np.fromiter(values, dtype=object, count=rows.size)
    return out


def decode_fast(
    blocks: list[Block], counts: Counter[str], edition: str = DEFAULT_EDITION,
    max_records: int = MAX_RECORDS_PER_BLOCK,
) -> Cat048Reports:
    """Decode CAT048 blocks with the fast path; a malformed block is rejected whole, counted."""
    layout = record_layout(48, edition)
    wanted = tuple(layout.frn(n) for n in _ITEMS)
    buf, spans = concat_blocks(blocks)
    offsets, block_idx = walk_blocks(buf, spans, layout, wanted, counts,
                                     "blocks_rejected:cat048_", max_records)
    arr = np.frombuffer(buf + bytes(8), np.uint8)  # padding: absent items gather at 0
    o = {name: offsets[:, k] for k, name in enumerate(_ITEMS)}
    return _values(arr, buf, o, block_idx, edition)


def _scaled(raw: npt.NDArray[np.int64], bits: int, edition: str, item: str,
            sub: str | None = None) -> npt.NDArray[np.float64]:
    """A raw field in engineering units with the edition's lsb and signedness."""
    lsb, is_signed = quantity_info(48, edition, item, sub)
    return np.asarray((signed(raw, bits) if is_signed else raw) * lsb, np.float64)


def _values(
    arr: npt.NDArray[np.uint8], buf: bytes, o: dict[str, npt.NDArray[np.int64]],
    block: npt.NDArray[np.int64], edition: str,
) -> Cat048Reports:
    """Item offsets to values (vectorised); scales and signs come from the edition's spec."""
    has = {k: v >= 0 for k, v in o.items()}
    nan = np.nan
    i010 = gather_uint(arr, o["010"], 2)
    i020 = gather_uint(arr, o["020"], 1)
    i040 = gather_uint(arr, o["040"], 4)
    i070 = gather_uint(arr, o["070"], 2)
    i090 = gather_uint(arr, o["090"], 2)
    i200 = gather_uint(arr, o["200"], 4)
    return Cat048Reports(
        block=block,
        sac=np.where(has["010"], i010 >> 8, -1).astype(np.int16),
        sic=np.where(has["010"], i010 & 0xFF, -1).astype(np.int16),
        tod_s=np.where(has["140"], _scaled(gather_uint(arr, o["140"], 3), 24, edition, "140"),
                       nan),
        typ=np.where(has["020"], i020 >> 5, -1).astype(np.int8),
        sim=has["020"] & ((i020 & 0x10) > 0),
        spi=has["020"] & ((i020 & 0x04) > 0),
        rho_nm=np.where(has["040"], _scaled(i040 >> 16, 16, edition, "040", "RHO"), nan),
        theta_deg=np.where(has["040"], _scaled(i040 & 0xFFFF, 16, edition, "040", "THETA"),
                           nan),
        mode3a=np.where(has["070"], i070 & 0xFFF, -1).astype(np.int16),
        mode3a_valid=has["070"] & ((i070 & 0x8000) == 0),
        fl=np.where(has["090"], _scaled(i090 & 0x3FFF, 14, edition, "090", "FL"), nan),
        fl_valid=has["090"] & ((i090 & 0x8000) == 0),
        icao24=gather_uint(arr, o["220"], 3),
        callsign=icao_strings(gather_uint(arr, o["240"], 6), has["240"]),
        track_number=np.where(has["161"], gather_uint(arr, o["161"], 2) & 0xFFF,
                              -1).astype(np.int32),
        groundspeed_kt=np.where(
            has["200"], _scaled(i200 >> 16, 16, edition, "200", "GSP") * 3600.0, nan),
        heading_deg=np.where(has["200"], _scaled(i200 & 0xFFFF, 16, edition, "200", "HDG"),
                             nan),
        comm_b=_comm_b(arr, o["250"]),
    )


def _sub(item: Any, name: str) -> Any:
    """A named sub-item of a libasterix group or extended item."""
    return item.variation.get_item(name)


def decode_oracle(
    blocks: list[Block], counts: Counter[str], edition: str = DEFAULT_EDITION,
    max_records: int = MAX_RECORDS_PER_BLOCK,
) -> Cat048Reports:
    """The same fields through libasterix's strict full parse (slow; the fast path's oracle)."""
    import asterix.base as ab

    from airpicture.io.asterix.libx import within_bounds

    cls = spec_class(48, edition)
    rows: list[dict[str, Any]] = []
    for b, block in enumerate(blocks):
        if not within_bounds(block, edition, counts, max_records):
            continue
        try:
            recs = cls.cv_uap.parse(ab.Bits.from_bytes(block.buf[block.start:block.end]))
        except Exception:  # libasterix raises on a few malformed inputs instead of returning
            recs = ValueError("exception")
        if isinstance(recs, ValueError):
            counts["blocks_rejected:cat048_libasterix"] += 1
            continue
        counts["records:048"] += len(recs)
        counts["blocks:048"] += 1
        rows.extend(_oracle_row(r, b) for r in recs)
    if not rows:
        return Cat048Reports.empty()
    return Cat048Reports(
        **{k: np.array([r[k] for r in rows] if k not in ("callsign", "comm_b")
                       else _objects([r[k] for r in rows]), dtype=v)
           for k, v in _DTYPES.items()}
    )


def _objects(values: list[Any]) -> npt.NDArray[np.object_]:
    """A 1-D object array of `values` (tuples stay elements)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _oracle_row(rec: Any, block: int) -> dict[str, Any]:
    """One libasterix record to the Cat048Reports fields."""
    nan = np.nan
    g = rec.get_item
    row: dict[str, Any] = {"block": block}
    i010 = g("010")
    row["sac"] = _sub(i010, "SAC").as_uint() if i010 else -1
    row["sic"] = _sub(i010, "SIC").as_uint() if i010 else -1
    i140 = g("140")
    row["tod_s"] = i140.variation.content.as_quantity("s") if i140 else nan
    i020 = g("020")
    row["typ"] = _sub(i020, "TYP").as_uint() if i020 else -1
    row["sim"] = bool(_sub(i020, "SIM").as_uint()) if i020 else False
    row["spi"] = bool(_sub(i020, "SPI").as_uint()) if i020 else False
    i040 = g("040")
    row["rho_nm"] = _sub(i040, "RHO").variation.content.as_quantity("NM") if i040 else nan
    row["theta_deg"] = _sub(i040, "THETA").variation.content.as_quantity("°") if i040 else nan
    i070 = g("070")
    row["mode3a"] = _sub(i070, "MODE3A").as_uint() if i070 else -1
    row["mode3a_valid"] = (_sub(i070, "V").as_uint() == 0) if i070 else False
    i090 = g("090")
    row["fl"] = _sub(i090, "FL").variation.content.as_quantity("FL") if i090 else nan
    row["fl_valid"] = (_sub(i090, "V").as_uint() == 0) if i090 else False
    i220 = g("220")
    row["icao24"] = i220.as_uint() if i220 else 0
    i240 = g("240")
    row["callsign"] = i240.variation.content.as_string().rstrip() if i240 else ""
    i161 = g("161")
    row["track_number"] = _sub(i161, "TRN").as_uint() if i161 else -1
    i200 = g("200")
    row["groundspeed_kt"] = (_sub(i200, "GSP").variation.content.as_quantity("NM/s") * 3600.0
                             if i200 else nan)
    row["heading_deg"] = _sub(i200, "HDG").variation.content.as_quantity("°") if i200 else nan
    i250 = g("250")
    if i250:
        regs = []
        for e in i250.variation.get_list():
            regs.append((e.get_item("BDS1").as_uint(), e.get_item("BDS2").as_uint(),
                         e.get_item("MBDATA").as_uint()))
        row["comm_b"] = tuple(regs)
    else:
        row["comm_b"] = None
    return row
