"""CAT062 system tracks: encode a TrackTable, and read CAT062 back.

Callers pass tables that went through airpicture.policy.egress.Egress.tracks (see output.py):
this module only formats. Items: 010, 015, 040, 060, 070, 080, 100, 105, 136, 185, 200, 220,
290, 295, 380 (ADR, ID) and 500 (APC). Records come from numpy (cat062_encode.py); the
libasterix path (`record_bytes_libasterix`, items built by libasterix) is its oracle and peer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.geo import LocalFrame
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.asterix.blocks import Block
from airpicture.io.asterix.cat062_encode import (
    AFF_FLAGS,
    KIND_AGE_ITEMS,
    LEVEL_FPM,
    MAX_AGE_S,
    PFT_FLAGS,
    track_ages,
    track_records,
)
from airpicture.io.asterix.encode import fspec_bytes
from airpicture.io.asterix.layout import record_layout, spec_class
from airpicture.io.asterix.libx import parse_block, quantity, sub, uint

DEFAULT_EDITION = "1.21"


@dataclass
class Cat062Encoder:
    """Formats track tables as CAT062 records for one system (SAC/SIC) and local frame."""

    frame: LocalFrame
    sac: int = 0
    sic: int = 1
    service_id: int = 1
    edition: str = DEFAULT_EDITION
    t0_utc_s: float = 0.0
    sensor_kinds: dict[int, str] = field(default_factory=dict)
    """Sensor id -> kind (psr, ssr, adsb, mlat), for the per-kind ages of I062/290."""
    stale_s: float = 12.0
    """Age past which I062/080 PSR/SSR/MDS/ADS say a sensor kind no longer updates a track."""
    _seen: set[int] = field(default_factory=set)
    skipped_nonfinite: int = 0
    """Tracks left out because their time, position or velocity was not finite."""
    _items: dict[tuple[str, Any], Any] = field(default_factory=dict)

    def block(self, tracks: TrackTable) -> bytes:
        """One data block with a record per track (b'' when there are none); ValueError when
        the records do not fit one block (use `blocks`)."""
        out = self.blocks(tracks, 65535)
        if len(out) > 1:
            raise ValueError(f"{len(tracks)} tracks do not fit one CAT062 block")
        return out[0] if out else b""

    def blocks(self, tracks: TrackTable, max_bytes: int = 65535) -> list[bytes]:
        """As few data blocks as hold every track's record within max_bytes each."""
        return pack_buffer(*self.record_buffer(tracks), max_bytes)

    def record_bytes(self, tracks: TrackTable, ending: bool = False) -> list[bytes]:
        """Each track's record (FSPEC and items); `ending`: the tracks' last records, with
        I062/080 TSE (track service end) set."""
        buf, ends = self.record_buffer(tracks, ending)
        stops = ends.tolist()
        return [buf[a:b] for a, b in zip([0, *stops], stops, strict=False)]

    def record_buffer(self, tracks: TrackTable, ending: bool = False
                      ) -> tuple[bytes, npt.NDArray[np.int64]]:
        """`record_bytes` laid end to end, and each record's end offset (for `pack_buffer`,
        which makes blocks without a bytes object per record)."""
        tracks = self._finite(tracks)
        if len(tracks) == 0:
            return b"", np.zeros(0, np.int64)
        lat, lon = self.frame.ground_to_geodetic(tracks.x, tracks.y)
        return track_records(
            tracks, lat, lon, self._kind_ages(tracks), self._first_time(tracks, ending), ending,
            edition=self.edition, sac=self.sac, sic=self.sic, service_id=self.service_id,
            t0_utc_s=self.t0_utc_s, stale_s=self.stale_s)

    def _finite(self, tracks: TrackTable) -> TrackTable:
        """The tracks whose time, position and velocity are finite (the others counted)."""
        finite = (np.isfinite(tracks.x) & np.isfinite(tracks.y) & np.isfinite(tracks.vx)
                  & np.isfinite(tracks.vy) & np.isfinite(tracks.t))
        if finite.all():
            return tracks
        self.skipped_nonfinite += int((~finite).sum())
        return tracks.take(finite)

    def _first_time(self, tracks: TrackTable, ending: bool) -> npt.NDArray[np.bool_]:
        """I062/080 TSB per record: the first record of a track number not sent before (an
        ending record never; it forgets the number, so a track that comes back begins again)."""
        ids = tracks.track_id.tolist()
        if ending:
            self._seen.difference_update(ids)
            return np.zeros(len(ids), bool)
        seen = self._seen
        new = np.array([t not in seen for t in ids], bool).reshape(-1)
        idx = np.flatnonzero(new)
        if idx.size > 1:  # a number twice in one table: its first record only
            _, first = np.unique(tracks.track_id[idx], return_index=True)
            if first.size < idx.size:
                new[:] = False
                new[idx[first]] = True
        seen.update(ids)
        return new

    def record_bytes_libasterix(self, tracks: TrackTable, ending: bool = False) -> list[bytes]:
        """`record_bytes` with every item built by libasterix from `records` (the oracle of
        the numpy path, byte for byte, and its benchmark peer)."""
        tracks = self._finite(tracks)
        if len(tracks) == 0:
            return []
        cls = spec_class(62, self.edition)
        frns = {name: i for i, name in enumerate(record_layout(62, self.edition).names) if name}
        return [self._record_bytes(cls, frns, r) for r in self.records(tracks, ending)]

    def _record_bytes(self, cls: Any, frns: dict[str, int], rec: dict[str, Any]) -> bytes:
        """FSPEC and items in UAP order; each item's bytes come from libasterix (building the
        record through libasterix too costs three times as much, in its bit concatenation)."""
        spec = cls.cv_record.spec
        order = sorted(rec, key=frns.__getitem__)
        parts = []
        if len(self._items) > MAX_CACHED_ITEMS:
            self._items.clear()
        for name in order:
            value = rec[name]
            if name in UNCACHED:
                raw = spec(name).create(value).unparse().to_bytes()
            else:
                key = (name, _frozen(value))
                raw = self._items.get(key)
                if raw is None:
                    raw = self._items[key] = spec(name).create(value).unparse().to_bytes()
            parts.append(raw)
        return fspec_bytes([frns[n] for n in order]) + b"".join(parts)

    def records(self, tracks: TrackTable, ending: bool = False) -> list[dict[str, Any]]:
        """The records' items as libasterix creation arguments (one dict per track)."""
        lat, lon = self.frame.ground_to_geodetic(tracks.x, tracks.y)
        ages = self._kind_ages(tracks)
        trk_age, mfl_age = track_ages(tracks)
        n_sensors = np.isfinite(tracks.sensor_last_t).sum(axis=1)
        out = []
        for i in range(len(tracks)):
            out.append(self._record(tracks, i, float(lat[i]), float(lon[i]), ages,
                                    float(trk_age[i]), int(n_sensors[i]), ending,
                                    float(mfl_age[i])))
        return out

    def _kind_ages(self, tracks: TrackTable) -> dict[str, npt.NDArray[np.float64]]:
        """Per I062/290 name, the age of the last update by that sensor kind (NaN: never)."""
        out: dict[str, npt.NDArray[np.float64]] = {}
        for kind, names in KIND_AGE_ITEMS.items():
            cols = [j for j, sid in enumerate(tracks.sensor_ids)
                    if self.sensor_kinds.get(int(sid)) == kind]
            if not cols:
                continue
            last = tracks.sensor_last_t[:, cols]
            finite = np.isfinite(last)
            newest = np.where(finite, last, -np.inf).max(axis=1)
            age = np.where(finite.any(axis=1), tracks.t - newest, np.nan)
            for name in names:
                out[name] = age
        return out

    def _record(
        self, tr: TrackTable, i: int, lat: float, lon: float,
        ages: dict[str, npt.NDArray[np.float64]], trk_age_s: float, n_sensors: int,
        ending: bool = False, mfl_age_s: float = float("nan"),
    ) -> dict[str, Any]:
        """The items of track i as libasterix creation arguments."""
        tid = int(tr.track_id[i])
        tod = float((self.t0_utc_s + tr.t[i]) % 86400.0)
        flags = int(tr.flags[i])
        status = int(tr.status[i])
        stale = {k: int(not (np.isfinite(a[i]) and a[i] <= self.stale_s))
                 for k, a in ages.items()}
        first_time = tid not in self._seen and not ending
        if ending:
            self._seen.discard(tid)
        else:
            self._seen.add(tid)
        ext1 = (int(n_sensors <= 1) << 6) | int(status == TrackStatus.TENTATIVE)
        ext2 = ((int(ending) << 5) | (int(first_time) << 4)
                | (int(bool(flags & AFF_FLAGS)) << 2))
        ext4 = ((int(status == TrackStatus.COASTING) << 6) | (stale.get("PSR", 1) << 5)
                | (stale.get("SSR", 1) << 4) | (stale.get("MDS", 1) << 3)
                | (stale.get("ES", 1) << 2))
        ext5 = int(bool(flags & PFT_FLAGS)) << 1
        i080: tuple[int, ...] = (ext1, ext2, 0, ext4, ext5) if ext5 else (ext1, ext2, 0, ext4)
        rec: dict[str, Any] = {
            "010": (("SAC", self.sac), ("SIC", self.sic)),
            "015": self.service_id,
            "040": tid & 0xFFFF,
            "070": (_q(tod, 1 / 128) % 86400.0, "s"),
            "080": i080,
            "100": (("X", (_clip(tr.x[i], 2**23 * 0.5, 0.5), "m")),
                    ("Y", (_clip(tr.y[i], 2**23 * 0.5, 0.5), "m"))),
            "105": (("LAT", (lat, "°")), ("LON", (lon, "°"))),
            "185": (("VX", (_clip(tr.vx[i], 2**15 * 0.25, 0.25), "m/s")),
                    ("VY", (_clip(tr.vy[i], 2**15 * 0.25, 0.25), "m/s"))),
            "200": (("TRANS", 3), ("LONG", 3), ("VERT", _vert(float(tr.vrate_fpm[i]))),
                    ("ADF", 0), 0),
        }
        i290 = self._ages(trk_age_s, ages, i)
        if i290:
            rec["290"] = i290
        if int(tr.squawk[i]) >= 0:
            rec["060"] = int(tr.squawk[i]) & 0xFFF
        alt = float(tr.alt_ft[i])
        if np.isfinite(alt):
            rec["136"] = (_q(_clip(alt / 100.0, 2**15 / 4.0, 0.25), 0.25), "FL")
            if np.isfinite(mfl_age_s):
                rec["295"] = {"MFL": (_q(min(mfl_age_s, MAX_AGE_S), 0.25), "s")}
        vr = float(tr.vrate_fpm[i])
        if np.isfinite(vr):
            rec["220"] = (_q(_clip(vr, 2**15 * 6.25, 6.25), 6.25), "ft/min")
        adr = int(tr.icao24[i])
        callsign = str(tr.callsign[i] or "")
        c380: dict[str, Any] = {}
        if adr > 0:
            c380["ADR"] = adr & 0xFFFFFF
        if callsign:
            c380["ID"] = callsign[:8]
        if c380:
            rec["380"] = c380
        sigma = float(tr.sigma_pos_m[i])
        if np.isfinite(sigma):
            s = (_q(min(max(sigma, 0.0), 65535 * 0.5), 0.5), "m")
            rec["500"] = {"APC": (("X", s), ("Y", s))}
        return rec

    @staticmethod
    def _ages(trk_age_s: float, ages: dict[str, npt.NDArray[np.float64]], i: int
              ) -> dict[str, Any]:
        """I062/290: track age and, per sensor kind that updated it, that kind's age."""
        out: dict[str, Any] = {}
        if np.isfinite(trk_age_s):
            out["TRK"] = (_q(trk_age_s, 0.25), "s")
        for name, a in ages.items():
            if np.isfinite(a[i]):
                out[name] = (_q(min(max(float(a[i]), 0.0), MAX_AGE_S), 0.25), "s")
        return out


UNCACHED = frozenset({"100", "105", "185"})
"""Items whose values hardly ever repeat; every other item's bytes are cached by value
(values are rounded to their LSB first, so repeats are common: ages, levels, identities)."""
MAX_CACHED_ITEMS = 200_000


def _frozen(value: Any) -> Any:
    """A hashable key for a libasterix creation argument."""
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, tuple | list):
        return tuple(_frozen(v) for v in value)
    return value


def _q(value: float, lsb: float) -> float:
    """Rounded to the field's LSB (as libasterix will), so equal fields cache equal."""
    return round(value / lsb) * lsb


def pack_blocks(records: list[bytes], max_bytes: int = 65535) -> list[bytes]:
    """CAT062 records into as few data blocks as hold them within max_bytes each."""
    lengths = np.fromiter(map(len, records), np.int64, len(records))
    return pack_buffer(b"".join(records), np.cumsum(lengths), max_bytes)


def pack_buffer(buf: bytes, ends: npt.NDArray[np.int64], max_bytes: int = 65535) -> list[bytes]:
    """Records laid end to end in buf (record k ends at ends[k]) into as few data blocks as
    hold them within max_bytes each, filled in order (a longer record goes alone)."""
    out: list[bytes] = []
    first, start = 0, 0
    while first < len(ends):
        stop = max(int(np.searchsorted(ends, start + max_bytes - 3, side="right")), first + 1)
        end = int(ends[stop - 1])
        out.append(bytes([62]) + (end - start + 3).to_bytes(2, "big") + buf[start:end])
        first, start = stop, end
    return out


def _clip(v: float, limit: float, lsb: float) -> float:
    """Keep a value inside a signed field's range: -limit to limit - lsb (its largest value;
    limit itself would wrap to -limit)."""
    return min(max(float(v), -limit), limit - lsb)


def _vert(vrate_fpm: float) -> int:
    """I062/200 VERT: 0 level, 1 climb, 2 descent, 3 unknown."""
    if not np.isfinite(vrate_fpm):
        return 3
    if abs(vrate_fpm) < LEVEL_FPM:
        return 0
    return 1 if vrate_fpm > 0 else 2


@dataclass(frozen=True)
class Cat062Track:
    """One decoded CAT062 record (NaN / -1 / '' where an item is absent)."""

    sac: int
    sic: int
    track_number: int
    tod_s: float
    lat_deg: float
    lon_deg: float
    x_m: float
    y_m: float
    vx_mps: float
    vy_mps: float
    fl: float
    vrate_fpm: float
    mode3a: int
    icao24: int
    callsign: str
    cnf: int
    mon: int
    cst: int
    aff: int
    pft: int
    tsb: int
    tse: int
    sigma_x_m: float
    age_trk_s: float
    age_mfl_s: float = float("nan")
    """I062/295 MFL: age of the measured flight level (NaN: absent)."""


def decode(blocks: list[Block], counts: Counter[str], edition: str = DEFAULT_EDITION
           ) -> list[Cat062Track]:
    """CAT062 blocks to tracks (libasterix, strict: a block that does not parse is counted).

    A block that parses but holds an impossible value (time of day past 24 h, latitude past
    90°, longitude past 180°: what another edition's bytes read as this one give) is rejected
    whole and counted, so no track comes from it.
    """
    out: list[Cat062Track] = []
    for block in blocks:
        if block.category != 62:
            counts[f"skipped_category:{block.category:03d}"] += 1
            continue
        recs = parse_block(block, edition, counts)
        if recs is None:
            continue
        tracks = [_track(rec) for rec in recs]
        if not all(_plausible(t) for t in tracks):
            counts["blocks_rejected:cat062_implausible"] += 1
            counts["records:062"] -= len(recs)
            counts["blocks:062"] -= 1
            continue
        out.extend(tracks)
    return out


def _plausible(t: Cat062Track) -> bool:
    """No value outside its physical range (NaN: item absent, fine)."""
    return not (t.tod_s >= 86400.0 or abs(t.lat_deg) > 90.0 or abs(t.lon_deg) > 180.0)


def _bit(item: Any, name: str) -> int:
    """A one-bit sub-item of I062/080 (0 where the extent is absent)."""
    s = sub(item, name)
    return 0 if s is None else int(s.as_uint())


def _track(rec: Any) -> Cat062Track:
    """One libasterix record to a Cat062Track."""
    g = rec.get_item
    i380 = g("380")
    adr = sub(i380, "ADR")
    ident = sub(i380, "ID")
    i080 = g("080")
    return Cat062Track(
        sac=uint(sub(g("010"), "SAC")), sic=uint(sub(g("010"), "SIC")),
        track_number=uint(g("040")), tod_s=quantity(g("070"), "s"),
        lat_deg=quantity(sub(g("105"), "LAT"), "°"), lon_deg=quantity(sub(g("105"), "LON"), "°"),
        x_m=quantity(sub(g("100"), "X"), "m"), y_m=quantity(sub(g("100"), "Y"), "m"),
        vx_mps=quantity(sub(g("185"), "VX"), "m/s"), vy_mps=quantity(sub(g("185"), "VY"), "m/s"),
        fl=quantity(g("136"), "FL"), vrate_fpm=quantity(g("220"), "ft/min"),
        mode3a=uint(sub(g("060"), "MODE3A")), icao24=uint(adr, 0),
        callsign=ident.variation.content.as_string().rstrip() if ident is not None else "",
        cnf=_bit(i080, "CNF"), mon=_bit(i080, "MON"), cst=_bit(i080, "CST"),
        aff=_bit(i080, "AFF"), pft=_bit(i080, "PFT"), tsb=_bit(i080, "TSB"),
        tse=_bit(i080, "TSE"),
        sigma_x_m=quantity(sub(sub(g("500"), "APC"), "X"), "m"),
        age_trk_s=quantity(sub(g("290"), "TRK"), "s"),
        age_mfl_s=quantity(sub(g("295"), "MFL"), "s"),
    )


def tracks_table(
    tracks: list[Cat062Track], frame: LocalFrame, t0_utc_s: float = 0.0,
    counts: Counter[str] | None = None,
) -> Any:
    """Decoded CAT062 as a tracks.parquet table (schema TRACK_COLUMNS), so any system's
    CAT062 can be scored like our tracker: x, y from I062/105 in `frame`, t from the time of
    day as a stream from t0_utc_s; a TSE record (track service end) is not confirmed, so the
    track ends there. Records without a WGS-84 position are left out, counted."""
    import pyarrow as pa

    from airpicture.core.schema import TRACK_COLUMNS
    from airpicture.io.asterix.decoder import resolve_tod_sequence

    counts = Counter() if counts is None else counts
    kept = [t for t in tracks if np.isfinite(t.lat_deg) and np.isfinite(t.lon_deg)
            and np.isfinite(t.tod_s)]
    counts["tracks_skipped:no_position"] += len(tracks) - len(kept)
    lat = np.array([t.lat_deg for t in kept])
    lon = np.array([t.lon_deg for t in kept])
    x, y, _u = frame.to_enu(lat, lon, 0.0)
    tod = np.array([t.tod_s for t in kept])
    cnf = np.array([t.cnf for t in kept], int)
    cst = np.array([t.cst for t in kept], int)
    tse = np.array([t.tse for t in kept], int)  # track service end: the track ends here
    values: dict[str, Any] = {
        "t": resolve_tod_sequence(tod, t0_utc_s) - t0_utc_s if kept else np.empty(0),
        "track_id": [t.track_number for t in kept], "x": x, "y": y,
        "vx": [t.vx_mps for t in kept], "vy": [t.vy_mps for t in kept],
        "confirmed": (cnf == 0) & (tse == 0), "alt_ft": [t.fl * 100.0 for t in kept],
        "vrate_fpm": [t.vrate_fpm for t in kept], "icao24": [t.icao24 for t in kept],
        "sigma_pos_m": [t.sigma_x_m for t in kept],
        "status": np.where(cnf == 1, TrackStatus.TENTATIVE,
                           np.where(cst == 1, TrackStatus.COASTING, TrackStatus.CONFIRMED)),
        "callsign": [t.callsign for t in kept], "squawk": [t.mode3a for t in kept],
        "sensor_mask": np.zeros(len(kept), np.uint64),
    }
    t_s = np.asarray(values["t"], float)
    age_trk = np.array([k.age_trk_s for k in kept], float).reshape(-1)
    values["alt_t"] = t_s - np.array([k.age_mfl_s for k in kept], float).reshape(-1)
    # I062/290 TRK saturates at 63.75 s: a start time only below it.
    values["t_start"] = np.where(age_trk < MAX_AGE_S, t_s - age_trk, np.nan)
    return pa.table({c.name: pa.array(np.asarray(values[c.name]).reshape(-1)
                                       if c.name != "callsign" else values[c.name], type=c.type)
                     for c in TRACK_COLUMNS})
