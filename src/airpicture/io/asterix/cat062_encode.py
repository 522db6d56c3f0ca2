"""CAT062 records with numpy: each item computed for every track at once, bytes packed as matrices.

Every item is an (n, k) byte matrix with a keep mask (which of its bytes each record holds:
absent items and unused FSPEC or extension bytes are dropped). The item matrices side by side,
in FRN order after the FSPEC, hold every record in one row; the kept bytes in row-major order
are the records one after the other. Bytes equal libasterix's for the same values (the oracle
in `Cat062Encoder.record_bytes_libasterix`, tests over random tables in every edition).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from airpicture.core.plots import PlotFlag
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.asterix.encode import be_bytes
from airpicture.io.asterix.layout import compound_indices, record_layout

U8 = npt.NDArray[np.uint8]
Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Piece = tuple[U8, Bools]
"""(n, k) bytes and their keep mask: (n,) for the whole piece or (n, k) byte by byte."""

AFF_FLAGS = PlotFlag.KINEMATIC_MISMATCH | PlotFlag.SPEED_CHECK_FAILED
"""Track flags that set I062/080 AFF (ADS-B data inconsistent with other surveillance)."""
PFT_FLAGS = PlotFlag.NONE
"""Track flags that set I062/080 PFT (potential false track: spoofing and the like; none yet).
An identity conflict (PlotFlag.IDENTITY_MISMATCH: a plot with the track's Mode S address
that does not fit it) is not a false track, and CAT062 editions 1.16-1.21 have no I062/080
bit for a conflicting 24-bit address (DUPT is a duplicate Mode 3/A code, IDD a duplicate
flight-ID, AAC an assigned Mode A conflict): it is not signalled in I062/080; both tracks
carry the address in I062/380 ADR. See docs/tracker.md."""
MAX_AGE_S = 63.75
"""Largest age I062/290 and 295 can carry (8 bits of 1/4 s)."""
LEVEL_FPM = 300.0
"""|vertical rate| below which I062/200 says level flight."""
KIND_AGE_ITEMS = {"psr": ("PSR",), "ssr": ("SSR", "MDS"), "adsb": ("ES",), "mlat": ("MLT",)}
"""Which I062/290 ages (and I062/080 staleness bits) each sensor kind feeds."""

TOD_LSB_S = 1 / 128
POS_LSB_M = 0.5
"""I062/100 X, Y and I062/500 APC."""
LATLON_LSB_DEG = 180 / 2**25
VEL_LSB_MPS = 0.25
FL_LSB = 0.25
VRATE_LSB_FPM = 6.25
AGE_LSB_S = 0.25
"""I062/290 and I062/295. The LSBs are those of editions 1.16-1.21 (tests check the specs)."""
DAY_S = 86400.0

_ICAO_CODE = np.zeros(128, np.int64)
"""libasterix's ICAO 6-bit code per ASCII code point: A-Z 1-26, space 0x20, 0-9 0x30-0x39,
anything else (lower case and 127, which stands for every code point above) 0."""
_ICAO_CODE[ord("A"):ord("Z") + 1] = np.arange(1, 27)
_ICAO_CODE[ord(" ")] = 0x20
_ICAO_CODE[ord("0"):ord("9") + 1] = np.arange(0x30, 0x3A)


def track_records(
    tracks: TrackTable, lat_deg: Floats, lon_deg: Floats, kind_age_s: dict[str, Floats],
    first_time: Bools, ending: bool, *, edition: str, sac: int, sic: int, service_id: int,
    t0_utc_s: float, stale_s: float,
) -> tuple[bytes, Ints]:
    """Every track's record (tracks with finite t, x, y, vx, vy) as one buffer, and each
    record's end offset in it. `kind_age_s`: per I062/290 name the age of that sensor kind's
    last update (NaN: never); `first_time`: I062/080 TSB; `ending`: TSE on every record.

    Fixed items packed here (big-endian, signed ones two's complement and saturated):
    010 SAC(8) SIC(8); 015 service id(8); 070 time of day(24, 1/128 s); 105 LAT(32) LON(32),
    180/2^25 deg; 100 X(24) Y(24), 0.5 m; 185 VX(16) VY(16), 0.25 m/s; 060 V G CH spare, then
    Mode 3/A(12), the flags 0 (where squawk >= 0); 040 track number(16, mod 65536);
    136 FL(16, 1/4, where the altitude is known); 220 rate of climb(16, 6.25 ft/min, where
    known). The others have their own functions below."""
    n = len(tracks)
    frn = record_layout(62, edition).frn
    trk_age_s, mfl_age_s = track_ages(tracks)
    alt_ok = np.isfinite(tracks.alt_ft)
    vr_ok = np.isfinite(tracks.vrate_fpm)
    sigma_ok = np.isfinite(tracks.sigma_pos_m)
    squawk = tracks.squawk.astype(np.int64)
    both = np.ones(n, bool)
    items: list[tuple[int, Bools, list[Piece]]] = [
        (frn("010"), both, [(be_bytes(np.full(n, (sac & 0xFF) << 8 | (sic & 0xFF)), 2), both)]),
        (frn("015"), both, [(be_bytes(np.full(n, service_id), 1), both)]),
        (frn("070"), both, [(_i070(tracks.t, t0_utc_s), both)]),
        (frn("105"), both, [(np.hstack([be_bytes(_raw(lat_deg, LATLON_LSB_DEG), 4),
                                        be_bytes(_raw(lon_deg, LATLON_LSB_DEG), 4)]), both)]),
        (frn("100"), both, [(np.hstack([_signed(tracks.x, POS_LSB_M, 3),
                                        _signed(tracks.y, POS_LSB_M, 3)]), both)]),
        (frn("185"), both, [(np.hstack([_signed(tracks.vx, VEL_LSB_MPS, 2),
                                        _signed(tracks.vy, VEL_LSB_MPS, 2)]), both)]),
        (frn("060"), squawk >= 0, [(be_bytes(squawk & 0xFFF, 2), squawk >= 0)]),
        (frn("380"), *_i380(tracks, edition)),
        (frn("040"), both, [(be_bytes(tracks.track_id, 2), both)]),
        (frn("080"), both, [_i080(tracks, kind_age_s, first_time, ending, stale_s)]),
        (frn("290"), *_i290(trk_age_s, kind_age_s, edition)),
        (frn("200"), both, [(_i200(tracks.vrate_fpm), both)]),
        (frn("295"), *_i295(mfl_age_s, alt_ok, edition)),
        (frn("136"), alt_ok, [(_signed(tracks.alt_ft / 100.0, FL_LSB, 2, alt_ok), alt_ok)]),
        (frn("220"), vr_ok, [(_signed(tracks.vrate_fpm, VRATE_LSB_FPM, 2, vr_ok), vr_ok)]),
        (frn("500"), sigma_ok, _i500(tracks.sigma_pos_m, sigma_ok, edition)),
    ]
    items.sort(key=lambda it: it[0])
    pieces = [_fspec(n, [(k, present) for k, present, _ in items])]
    pieces += [(b, keep & present[:, None] if keep.ndim == 2 else keep & present)
               for _, present, parts in items for b, keep in parts]
    matrix = np.concatenate([b for b, _ in pieces], axis=1)
    keep = np.concatenate([k if k.ndim == 2 else np.broadcast_to(k[:, None], b.shape)
                           for b, k in pieces], axis=1)
    return matrix[keep].tobytes(), np.cumsum(keep.sum(axis=1, dtype=np.int64))


def track_ages(tracks: TrackTable) -> tuple[Floats, Floats]:
    """(I062/290 TRK: age since the track began, I062/295 MFL: age of the last measured flight
    level), each clipped to 0..63.75 s; NaN where t_start / alt_t is unknown."""
    trk = np.clip(tracks.t - tracks.t_start, 0.0, MAX_AGE_S)  # NaN stays NaN
    mfl = np.clip(tracks.t - tracks.alt_t, 0.0, MAX_AGE_S)
    return trk, mfl


def _raw(value: Floats, lsb: float, ok: Bools | None = None) -> Ints:
    """round(value / lsb) as libasterix rounds (half to even); 0 where not `ok`."""
    v = value if ok is None else np.where(ok, value, 0.0)
    return np.rint(v / lsb).astype(np.int64)


def _signed(value: Floats, lsb: float, nbytes: int, ok: Bools | None = None) -> U8:
    """A signed field of nbytes: saturated at its range (-2^(b-1) .. 2^(b-1) - 1 LSBs),
    two's complement."""
    limit = 2.0 ** (8 * nbytes - 1) * lsb
    return be_bytes(_raw(np.clip(value, -limit, limit - lsb), lsb, ok), nbytes)


def _fspec(n: int, present: list[tuple[int, Bools]]) -> Piece:
    """FSPEC of each row for the given (index, present) pairs: index k sets bit 0x80 >> (k % 7)
    of byte k // 7; bit 0x01 (FX) is set on every byte before the row's last used one, and
    the bytes after it are not kept."""
    width = max(k for k, _ in present) // 7 + 1
    bits = np.zeros((n, width), np.uint8)
    for k, on in present:
        bits[:, k // 7] |= on.astype(np.uint8) << np.uint8(7 - k % 7)
    used = bits != 0
    last = np.where(used.any(axis=1), width - 1 - np.argmax(used[:, ::-1], axis=1), 0)
    cols = np.arange(width)
    bits |= (cols[None, :] < last[:, None]).astype(np.uint8)
    return bits, cols[None, :] <= last[:, None]


def _i070(t: Floats, t0_utc_s: float) -> U8:
    """I062/070 time of track information: 24 bits of 1/128 s, UTC time of day (a time that
    rounds to 24:00 goes out as 00:00)."""
    tod_s = np.mod(t0_utc_s + t, DAY_S)
    return be_bytes(_raw(tod_s, TOD_LSB_S) % int(DAY_S * 128), 3)


def _i200(vrate_fpm: Floats) -> U8:
    """I062/200 mode of movement, one byte: TRANS(2) LONG(2) VERT(2) ADF(1) spare(1);
    TRANS = LONG = 3 (undetermined), VERT 0 level, 1 climb, 2 descent, 3 unknown, ADF 0."""
    vert = np.where(~np.isfinite(vrate_fpm), 3,
                    np.where(np.abs(vrate_fpm) < LEVEL_FPM, 0, np.where(vrate_fpm > 0, 1, 2)))
    return be_bytes(0xF0 | (vert << 2), 1)


def _i080(tracks: TrackTable, kind_age_s: dict[str, Floats], first_time: Bools, ending: bool,
          stale_s: float) -> Piece:
    """I062/080 track status, extended; each octet ends in FX (bit 0x01):
    1: MON SPI MRH SRC(3) CNF | 2: SIM TSE TSB FPC AFF STP KOS | 3: AMA MD4(2) ME MI MD5(2) |
    4: CST PSR SSR MDS ADS SUC AAC | 5 (only with PFT): SDS(2) EMS(3) PFT FPLT.
    MON: at most one contributing sensor; CNF: tentative; CST: coasting; PSR/SSR/MDS/ADS: that
    kind older than stale_s or never; AFF/PFT from the track flags."""
    n = len(tracks)
    one = np.uint8(1)
    mon = np.isfinite(tracks.sensor_last_t).sum(axis=1) <= 1
    flags = tracks.flags.astype(np.int64)
    pft = (flags & int(PFT_FLAGS)) != 0
    aff = (flags & int(AFF_FLAGS)) != 0

    def stale(name: str) -> Bools:
        age = kind_age_s.get(name)
        return np.ones(n, bool) if age is None else ~(age <= stale_s)  # NaN: stale

    out = np.zeros((n, 5), np.uint8)
    out[:, 0] = (mon << 7) | ((tracks.status == TrackStatus.TENTATIVE) << 1) | one
    out[:, 1] = (int(ending) << 6) | (first_time << 5) | (aff << 3) | one
    out[:, 2] = one
    out[:, 3] = ((tracks.status == TrackStatus.COASTING) << 7) | (stale("PSR") << 6) \
        | (stale("SSR") << 5) | (stale("MDS") << 4) | (stale("ES") << 3) | pft
    out[:, 4] = pft << 2
    keep = np.ones((n, 5), bool)
    keep[:, 4] = pft
    return out, keep


def _i290(trk_age_s: Floats, kind_age_s: dict[str, Floats], edition: str
          ) -> tuple[Bools, list[Piece]]:
    """I062/290 system track update ages, compound: its FSPEC (1 or 2 octets), then one octet
    of 1/4 s per present sub-item in spec order: TRK (age since the track began) and, per
    configured sensor
    kind that ever updated the track, that kind's age (PSR, SSR, MDS, ES, MLT), 0-63.75 s."""
    index = compound_indices(62, edition, "290")
    ages = {"TRK": trk_age_s, **kind_age_s}
    subs = sorted((index[name], name) for name in ages)
    present = [(k, np.isfinite(ages[name])) for k, name in subs]
    any_on = np.logical_or.reduce([on for _, on in present])
    pieces = [_fspec(len(trk_age_s), present)]
    for (_, name), (_, on) in zip(subs, present, strict=True):
        age = np.clip(ages[name], 0.0, MAX_AGE_S)
        pieces.append((be_bytes(_raw(age, AGE_LSB_S, on), 1), on))
    return any_on, pieces


def _i295(mfl_age_s: Floats, alt_ok: Bools, edition: str) -> tuple[Bools, list[Piece]]:
    """I062/295 track data ages, compound: FSPEC (MFL alone: 0x80), then MFL, the age of the
    last measured flight level in 1/4 s, where the level and its time are known."""
    on = alt_ok & np.isfinite(mfl_age_s)
    mfl = be_bytes(_raw(np.minimum(mfl_age_s, MAX_AGE_S), AGE_LSB_S, on), 1)
    return on, [_fspec(len(on), [(compound_indices(62, edition, "295")["MFL"], on)]), (mfl, on)]


def _i380(tracks: TrackTable, edition: str) -> tuple[Bools, list[Piece]]:
    """I062/380 aircraft derived data, compound: FSPEC (ADR 0x80, ID 0x40), ADR (24-bit
    address, where icao24 > 0), ID (8 ICAO 6-bit characters, where the callsign is not '')."""
    index = compound_indices(62, edition, "380")
    adr = tracks.icao24.astype(np.int64)
    adr_on = adr > 0
    ident, id_on = icao_callsigns(tracks.callsign)
    pieces = [_fspec(len(tracks), [(index["ADR"], adr_on), (index["ID"], id_on)]),
              (be_bytes(adr, 3), adr_on), (be_bytes(ident, 6), id_on)]
    return adr_on | id_on, pieces


def _i500(sigma_m: Floats, on: Bools, edition: str) -> list[Piece]:
    """I062/500 estimated accuracies, compound: FSPEC (APC alone: 0x80), then APC X and Y,
    16 bits each of 0.5 m, unsigned, both the track's position sigma (0 to 32767.5 m)."""
    apc = be_bytes(_raw(np.clip(sigma_m, 0.0, 65535 * POS_LSB_M), POS_LSB_M, on), 2)
    fspec = _fspec(len(on), [(compound_indices(62, edition, "500")["APC"], on)])
    return [fspec, (np.hstack([apc, apc]), on)]


def icao_callsigns(callsigns: npt.NDArray[np.object_]) -> tuple[Ints, Bools]:
    """Callsigns as libasterix writes I062/380 ID: 48 bits, the first 8 characters, padded
    with spaces, each in the ICAO 6-bit code (no upper-casing; other characters 0); and
    whether each is present (not '' or None)."""
    strs = [str(c or "") for c in callsigns.tolist()]
    if "\0" in "".join(strs):  # numpy strings drop NULs; libasterix codes them 0
        on = np.array([bool(s) for s in strs], bool).reshape(-1)
        return np.array([_icao_one(s) for s in strs], np.int64).reshape(-1), on
    points = np.array(strs, dtype="<U8").view(np.uint32).reshape(len(strs), 8)
    codes = np.where(points == 0, 0x20, _ICAO_CODE[np.minimum(points, 127)])  # 0: padding
    shifts = np.arange(42, -1, -6, dtype=np.int64)
    return (codes << shifts).sum(axis=1), points[:, 0] != 0


def _icao_one(s: str) -> int:
    """One callsign in libasterix's ICAO 6-bit code (the slow path, for odd characters)."""
    v = 0
    for ch in f"{s[:8]:<8}":
        v = (v << 6) | (int(_ICAO_CODE[ord(ch)]) if ord(ch) < 128 else 0)
    return v
