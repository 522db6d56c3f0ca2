"""Mode S Comm-B registers carried in I048/250: BDS 4,0, 5,0 and 6,0 decoded (ICAO Doc 9871).

Each field has a status bit; a field whose status is 0 is left out. Bit 1 is the MB field's
most significant bit.
"""

from __future__ import annotations

from typing import Any


def _bits(mb: int, first: int, n: int) -> int:
    """n bits of the 56-bit MB field starting at bit `first` (1-based, MSB first)."""
    return (mb >> (56 - first - n + 1)) & ((1 << n) - 1)


def _signed(mb: int, sign_bit: int, n: int) -> int:
    """A value of n bits after its sign bit (two's complement over n + 1 bits)."""
    raw = _bits(mb, sign_bit + 1, n)
    return raw - (1 << n) if _bits(mb, sign_bit, 1) else raw


def _put(out: dict[str, Any], mb: int, status_bit: int, name: str, value: float) -> None:
    """Set out[name] when the field's status bit is set."""
    if _bits(mb, status_bit, 1):
        out[name] = value


def bds40(mb: int) -> dict[str, Any]:
    """Selected vertical intention."""
    out: dict[str, Any] = {}
    _put(out, mb, 1, "mcp_selected_alt_ft", _bits(mb, 2, 12) * 16)
    _put(out, mb, 14, "fms_selected_alt_ft", _bits(mb, 15, 12) * 16)
    _put(out, mb, 27, "baro_setting_mb", round(800.0 + _bits(mb, 28, 12) * 0.1, 1))
    if _bits(mb, 48, 1):
        out["vnav"], out["alt_hold"], out["approach"] = (
            bool(_bits(mb, 49, 1)), bool(_bits(mb, 50, 1)), bool(_bits(mb, 51, 1)))
    _put(out, mb, 54, "target_alt_source", _bits(mb, 55, 2))
    return out


def bds50(mb: int) -> dict[str, Any]:
    """Track and turn report."""
    out: dict[str, Any] = {}
    _put(out, mb, 1, "roll_deg", _signed(mb, 2, 9) * 45.0 / 256.0)
    _put(out, mb, 12, "true_track_deg", (_signed(mb, 13, 10) * 90.0 / 512.0) % 360.0)
    _put(out, mb, 24, "groundspeed_kt", _bits(mb, 25, 10) * 2.0)
    _put(out, mb, 35, "track_rate_deg_s", _signed(mb, 36, 9) * 8.0 / 256.0)
    _put(out, mb, 46, "tas_kt", _bits(mb, 47, 10) * 2.0)
    return out


def bds60(mb: int) -> dict[str, Any]:
    """Heading and speed report."""
    out: dict[str, Any] = {}
    _put(out, mb, 1, "magnetic_heading_deg", (_signed(mb, 2, 10) * 90.0 / 512.0) % 360.0)
    _put(out, mb, 13, "ias_kt", _bits(mb, 14, 10))
    _put(out, mb, 24, "mach", round(_bits(mb, 25, 10) * 2.048 / 512.0, 6))
    _put(out, mb, 35, "baro_rate_fpm", _signed(mb, 36, 9) * 32)
    _put(out, mb, 46, "inertial_vrate_fpm", _signed(mb, 47, 9) * 32)
    return out


_DECODERS = {(4, 0): bds40, (5, 0): bds50, (6, 0): bds60}


def decode_mb(bds1: int, bds2: int, mb: int) -> dict[str, Any]:
    """One I048/250 repetition as {'bds': 'x,y', fields...}; other registers as raw hex."""
    out: dict[str, Any] = {"bds": f"{bds1},{bds2}"}
    dec = _DECODERS.get((bds1, bds2))
    if dec is None:
        out["mb"] = f"{mb:014x}"
    else:
        out.update(dec(mb))
    return out
