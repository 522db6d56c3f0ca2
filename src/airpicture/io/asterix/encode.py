"""Vectorised writers for the plots airpicture sends: CAT048, CAT021 and CAT034 records.

Records with the same set of items share one layout, so each such group is one numpy byte
matrix (FSPEC, then each item's columns). Byte layouts follow the editions' specs; tests
decode every writer's output with libasterix and tshark.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from airpicture.io.asterix.fields import ICAO_CHARS
from airpicture.io.asterix.layout import record_layout

U8 = npt.NDArray[np.uint8]
Item = tuple[int, npt.NDArray[np.bool_], U8]
"""(FRN index, present per record, bytes per record as an (n, k) matrix)."""

_ICAO_CODE = {c: i for i, c in enumerate(ICAO_CHARS) if c}


def be_bytes(values: npt.ArrayLike, nbytes: int) -> U8:
    """Big-endian bytes of (non-negative, wrapped) integers as an (n, nbytes) matrix."""
    v = np.asarray(values).astype(np.int64) & ((1 << (8 * nbytes)) - 1)
    shifts = np.arange(8 * (nbytes - 1), -1, -8, dtype=np.int64)
    return ((v[:, None] >> shifts[None, :]) & 0xFF).astype(np.uint8)


def icao_packed(callsigns: npt.NDArray[np.object_]) -> npt.NDArray[np.int64]:
    """Callsigns to 48-bit ICAO 6-bit codes (upper-cased, padded with spaces, cut at 8)."""
    uniq, inverse = np.unique(np.asarray([str(c) for c in callsigns], dtype=object),
                              return_inverse=True)
    packed = np.zeros(len(uniq), np.int64)
    for k, s in enumerate(uniq):
        v = 0
        for ch in f"{str(s).upper()[:8]:<8}":
            v = (v << 6) | _ICAO_CODE.get(ch, 0x20)
        packed[k] = v
    return packed[inverse.reshape(-1)]


def fspec_bytes(frn_indices: list[int]) -> bytes:
    """FSPEC for the given FRN indices (0 = FRN 1): 7 bits a byte, FX on all but the last."""
    if not frn_indices:
        return b"\x00"
    n = max(frn_indices) // 7 + 1
    out = bytearray(n)
    for i in frn_indices:
        out[i // 7] |= 0x80 >> (i % 7)
    for j in range(n - 1):
        out[j] |= 1
    return bytes(out)


def pack_records(n: int, items: list[Item]) -> list[bytes]:
    """n records from items (in any order): FSPEC then present items in FRN order."""
    items = sorted(items, key=lambda it: it[0])
    if n == 0:
        return []
    present = np.stack([it[1] for it in items], axis=1) if items else np.zeros((n, 0), bool)
    out: list[bytes] = [b""] * n
    patterns, inverse = np.unique(present, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for p, pattern in enumerate(patterns):
        rows = np.flatnonzero(inverse == p)
        used = [it for it, on in zip(items, pattern, strict=True) if on]
        fspec = np.frombuffer(fspec_bytes([it[0] for it in used]), np.uint8)
        cols = [np.broadcast_to(fspec, (rows.size, fspec.size))]
        cols += [it[2][rows] for it in used]
        matrix = np.ascontiguousarray(np.hstack(cols))
        blob = matrix.tobytes()
        width = matrix.shape[1]
        for k, r in enumerate(rows):
            out[r] = blob[k * width:(k + 1) * width]
    return out


def block(category: int, records: list[bytes]) -> bytes:
    """A data block (CAT, LEN, records)."""
    body = b"".join(records)
    return bytes([category]) + (len(body) + 3).to_bytes(2, "big") + body


def cat048_records(
    edition: str, sac: int, sic: int, tod_s: npt.ArrayLike, typ: npt.ArrayLike,
    rho_nm: npt.ArrayLike, theta_deg: npt.ArrayLike, mode3a: npt.ArrayLike,
    fl: npt.ArrayLike, icao24: npt.ArrayLike, callsign: npt.NDArray[np.object_],
) -> list[bytes]:
    """CAT048 target reports: 010, 140, 020, 040 always; 070 where mode3a >= 0, 090 where fl
    is finite, 220 where icao24 > 0, 240 where the callsign is not empty."""
    lay = record_layout(48, edition)
    tod = np.asarray(tod_s, float)
    n = tod.shape[0]
    allp = np.ones(n, bool)
    m3a = np.asarray(mode3a, np.int64)
    fl_a = np.asarray(fl, float)
    adr = np.asarray(icao24, np.int64)
    cs = np.asarray(callsign, dtype=object)
    rho = np.clip(np.round(np.asarray(rho_nm, float) * 256.0), 0, 65535)
    theta = np.round(np.asarray(theta_deg, float) * 65536.0 / 360.0) % 65536
    items: list[Item] = [
        (lay.frn("010"), allp, be_bytes(np.full(n, sac * 256 + sic), 2)),
        (lay.frn("140"), allp, be_bytes(np.round(tod * 128.0) % (86400 * 128), 3)),
        (lay.frn("020"), allp, be_bytes(np.asarray(typ, np.int64) << 5, 1)),
        (lay.frn("040"), allp, be_bytes(rho.astype(np.int64) * 65536 + theta.astype(np.int64),
                                        4)),
        (lay.frn("070"), m3a >= 0, be_bytes(np.maximum(m3a, 0) & 0xFFF, 2)),
        (lay.frn("090"), np.isfinite(fl_a),
         be_bytes(np.round(np.nan_to_num(fl_a) * 4.0).astype(np.int64) & 0x3FFF, 2)),
        (lay.frn("220"), adr > 0, be_bytes(adr, 3)),
        (lay.frn("240"), np.array([bool(str(c)) for c in cs], bool).reshape(-1),
         be_bytes(icao_packed(cs), 6)),
    ]
    return pack_records(n, items)


def cat021_records(
    edition: str, sac: int, sic: int, tod_s: npt.ArrayLike, lat_deg: npt.ArrayLike,
    lon_deg: npt.ArrayLike, icao24: npt.ArrayLike, fl: npt.ArrayLike,
    callsign: npt.NDArray[np.object_], nacp: npt.ArrayLike, nic: npt.ArrayLike,
    sil: npt.ArrayLike, mode3a: npt.ArrayLike | None = None,
) -> list[bytes]:
    """CAT021 (2.x) ADS-B reports: 010, 040, 071, 131, 080, 090 always; 145 where fl is finite,
    170 where the callsign is not empty, 070 where mode3a >= 0."""
    lay = record_layout(21, edition)
    tod = np.asarray(tod_s, float)
    n = tod.shape[0]
    allp = np.ones(n, bool)
    fl_a = np.asarray(fl, float)
    cs = np.asarray(callsign, dtype=object)
    lsb = 180.0 / 2**30
    lat = np.round(np.asarray(lat_deg, float) / lsb).astype(np.int64)
    lon = np.round(np.asarray(lon_deg, float) / lsb).astype(np.int64)
    nic_a = np.clip(np.asarray(nic, np.int64), 0, 15)
    sil_a = np.clip(np.asarray(sil, np.int64), 0, 3)
    nacp_a = np.clip(np.asarray(nacp, np.int64), 0, 15)
    q = ((nic_a << 1) | 1) << 8 | (sil_a << 5) | (nacp_a << 1)
    m3a = np.full(n, -1, np.int64) if mode3a is None else np.asarray(mode3a, np.int64)
    items: list[Item] = [
        (lay.frn("010"), allp, be_bytes(np.full(n, sac * 256 + sic), 2)),
        (lay.frn("040"), allp, be_bytes(np.full(n, 0x20), 1)),  # ATP 1: 24-bit ICAO address
        (lay.frn("071"), allp, be_bytes(np.round(tod * 128.0) % (86400 * 128), 3)),
        (lay.frn("131"), allp, np.hstack([be_bytes(lat, 4), be_bytes(lon, 4)])),
        (lay.frn("080"), allp, be_bytes(np.asarray(icao24, np.int64), 3)),
        (lay.frn("090"), allp, be_bytes(q, 2)),
        (lay.frn("145"), np.isfinite(fl_a),
         be_bytes(np.round(np.nan_to_num(fl_a) * 4.0).astype(np.int64), 2)),
        (lay.frn("170"), np.array([bool(str(c)) for c in cs], bool).reshape(-1),
         be_bytes(icao_packed(cs), 6)),
        (lay.frn("070"), m3a >= 0, be_bytes(np.maximum(m3a, 0) & 0xFFF, 2)),
    ]
    return pack_records(n, items)


def cat034_records(
    edition: str, sac: int, sic: int, tod_s: npt.ArrayLike, message_type: npt.ArrayLike,
    sector_deg: npt.ArrayLike, rotation_period_s: float | None = None,
) -> list[bytes]:
    """CAT034 service messages: 010, 000, 030; 020 for sector crossings (type 2); 041 with
    north markers (type 1) when the rotation period is given."""
    lay = record_layout(34, edition)
    tod = np.asarray(tod_s, float)
    n = tod.shape[0]
    allp = np.ones(n, bool)
    mtype = np.asarray(message_type, np.int64)
    sector = np.round(np.asarray(sector_deg, float) * 256.0 / 360.0) % 256
    period = np.round((rotation_period_s or 0.0) * 128.0)
    items: list[Item] = [
        (lay.frn("010"), allp, be_bytes(np.full(n, sac * 256 + sic), 2)),
        (lay.frn("000"), allp, be_bytes(mtype, 1)),
        (lay.frn("030"), allp, be_bytes(np.round(tod * 128.0) % (86400 * 128), 3)),
        (lay.frn("020"), mtype == 2, be_bytes(sector, 1)),
        (lay.frn("041"), (mtype == 1) & (rotation_period_s is not None),
         be_bytes(np.full(n, period), 2)),
    ]
    return pack_records(n, items)
