"""Decode Mode S frames with rs1090 in batches, resolve positions per aircraft, make plots.

One `ModeSDecoder` holds the state of every aircraft heard by any receiver; `decode(frames)` is
called with each new FrameBatch (a file chunk or what the feeds delivered in the last moment):

1. rs1090 decodes each receiver's frames in one batch call (reference: the receiver), which
   checks CRCs, recovers addresses, and resolves even/odd pairs (global CPR).  Frames it
   rejects are counted (`crc` for DF17/18, `undecodable` otherwise).
2. Positions rs1090 left unresolved (no pair in this batch, surface far from the receiver)
   are decoded locally: the reference is the aircraft's last position when recent, else (for
   airborne ones) its receiver (`airpicture.sources.cpr`).
3. A readsb-like speed check flags positions that imply an impossible speed from the
   aircraft's last accepted position (PlotFlag.SPEED_CHECK_FAILED): they stay in the plots,
   flagged and counted, and `DecodeResult.tracker_plots` leaves them out.
4. ADS-B and MLAT positions become PlotBatch rows; replies without position become
   ModeSEnrichment rows; `airpicture.sources.state` keeps per-aircraft figures.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import rs1090

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.geo import KT_TO_MPS, LocalFrame
from airpicture.core.plots import PlotBatch, PlotFlag
from airpicture.sources import cpr, quality
from airpicture.sources.columns import all_usable, columns
from airpicture.sources.framing import MODE_AC_BYTES, Frame, FrameBatch
from airpicture.sources.limits import columns_ok, times_ok
from airpicture.sources.state import AircraftStates

MLAT_MAGIC_TICKS = 0xFF004D4C4154
"""readsb / mlat-client mark synthetic MLAT frames with this Beast timestamp ("MLAT")."""
AIRBORNE_MAX_KT = 1000.0
SURFACE_MAX_KT = 200.0
SPEED_MARGIN_AIRBORNE_M = 2000.0
SPEED_MARGIN_SURFACE_M = 250.0
SPEED_CHECK_MAX_AGE_S = 600.0
"""An older last position says nothing about the next: the check is skipped."""
REF_MAX_AGE_AIRBORNE_S = 600.0
REF_MAX_AGE_SURFACE_S = 300.0
SURFACE_PAIR_MAX_S = 25.0
"""Longest gap between the even and odd surface messages of a pair (DO-260B, > 25 kt)."""
SBS_ASSUMED_NUCP = 7
MAX_PENDING_SURFACE = 4096
"""Most unresolved surface CPR messages kept waiting for their pair (older than
SURFACE_PAIR_MAX_S go first, then the oldest)."""
ENRICHING_DF = frozenset({0, 4, 5, 16, 20, 21})
NAN = math.nan


@dataclass(frozen=True)
class Receiver:
    """A 1090 MHz receiver: its position is the CPR reference of last resort.

    NaN latitude/longitude: position unknown; then only even/odd pairs (and positions that
    follow from them) are resolved.
    """

    name: str
    lat_deg: float
    lon_deg: float
    sensor_id: int = 1
    mlat_sensor_id: int = 2


@dataclass
class DecodeResult:
    """What one batch gave: decoded records (dicts), plots and enrichment rows."""

    records: list[dict[str, Any]]
    plots: PlotBatch
    enrichment: ModeSEnrichment

    @property
    def tracker_plots(self) -> PlotBatch:
        """The plots a tracker should use: those that passed the speed check."""
        ok = (self.plots.flags & np.uint16(PlotFlag.SPEED_CHECK_FAILED)) == 0
        return self.plots.take(ok)


@dataclass
class ModeSDecoder:
    """Stateful batch decoder for several receivers (see the module docstring)."""

    receivers: list[Receiver]
    frame: LocalFrame | None = None
    """The plots' ENU plane: at the first receiver, or the first position if it has none."""
    counters: Counter[str] = field(default_factory=Counter)
    aircraft: AircraftStates = field(default_factory=AircraftStates)
    _surface_cpr: dict[tuple[int, bool], tuple[float, int, int]] = field(
        default_factory=dict, repr=False)
    """(address, odd) -> (t, lat_cpr, lon_cpr) of surface messages still unresolved."""
    max_pending_surface: int = MAX_PENDING_SURFACE

    def __post_init__(self) -> None:
        if not self.receivers:
            raise ValueError("at least one receiver is needed")
        self.aircraft.receiver_sensors = [(r.sensor_id, r.mlat_sensor_id)
                                          for r in self.receivers]
        first = self.receivers[0]
        if self.frame is None and math.isfinite(first.lat_deg) and math.isfinite(first.lon_deg):
            self.frame = LocalFrame(first.lat_deg, first.lon_deg)
        # Otherwise the frame is fixed at the first resolved position (see _plots).

    def decode(self, frames: FrameBatch | list[Frame]) -> DecodeResult:
        """Decode a batch of frames from any of the receivers, in any order (a list of Frame
        objects is turned into a FrameBatch first)."""
        batch = frames if isinstance(frames, FrameBatch) else FrameBatch.from_frames(frames)
        good_t = times_ok(batch.t_s)  # NaN (unknown) passes; inf and out of range do not
        if not good_t.all():
            self.counters["bad_time"] += int((~good_t).sum())
            batch = batch.take(good_t)
        mode_ac = batch.n_bytes == MODE_AC_BYTES
        if mode_ac.any():
            self.counters["mode_ac"] += int(mode_ac.sum())
            batch = batch.take(~mode_ac)
        if len(self.receivers) == 1:
            return self.process(self._rs1090(batch, self.receivers[0], 0))
        records: list[dict[str, Any]] = []
        for index, receiver in enumerate(self.receivers):
            mine = batch.receiver == index
            if mine.any():
                records += self._rs1090(batch.take(mine), receiver, index)
        records.sort(key=itemgetter("timestamp"))
        return self.process(records)

    def _rs1090(self, batch: FrameBatch, receiver: Receiver, index: int
                ) -> list[dict[str, Any]]:
        """One rs1090 batch call for one receiver's frames; records in time order, each with
        its receiver index, rssi (when known) and MLAT mark."""
        times = batch.t_s
        if times.size > 1 and (np.diff(times) < 0).any():
            batch = batch.take(np.argsort(times, kind="stable"))
            times = batch.t_s
        times = np.where(np.isfinite(times), times, 0.0)
        ref = (receiver.lat_deg, receiver.lon_deg)
        known = math.isfinite(ref[0]) and math.isfinite(ref[1])
        out = cast(list[dict[str, Any]], rs1090.decode(
            batch.hex, times.tolist(), reference=ref if known else None))
        self.counters["frames"] += len(batch)
        matched = np.asarray(_align(batch.hex, out), np.int64)
        if matched.size < len(batch):
            rejected = np.ones(len(batch), bool)
            rejected[matched] = False
            for i in np.flatnonzero(rejected).tolist():
                self._count_rejected(batch.hex[i])
        deque(map(dict.__setitem__, out, repeat("receiver"), repeat(index)), maxlen=0)
        rssi = batch.rssi_dbfs[matched]
        for k in np.flatnonzero(np.isfinite(rssi)).tolist():
            out[k]["rssi"] = float(rssi[k])
        for k in np.flatnonzero(batch.mlat_ticks[matched] == MLAT_MAGIC_TICKS).tolist():
            out[k]["mlat"] = True
        return out

    def _count_rejected(self, hex_msg: str) -> None:
        df = int(hex_msg[:2], 16) >> 3
        self.counters["crc" if df in (17, 18) else "undecodable"] += 1

    def process(self, records: list[dict[str, Any]]) -> DecodeResult:
        """Decoded records (from rs1090 or SBS, sorted by time) to plots and enrichment."""
        usable = records if all_usable(records) else [
            r for r in records if "icao24" in r and str(r.get("df", "")).isdigit()]
        if len(usable) < len(records):
            # e.g. DF19 military extended squitter: no address to attach anything to.
            self.counters["unsupported"] += len(records) - len(usable)
            records = usable
        if not records:
            return DecodeResult(records, PlotBatch.empty(), ModeSEnrichment.empty())
        cols = columns(records)
        ok = columns_ok(cols)
        if not ok.all():
            # A value outside its physical range (limits.RANGES): the record is bad, counted.
            self.counters["out_of_range"] += int((~ok).sum())
            records = [records[i] for i in np.flatnonzero(ok).tolist()]
            if not records:
                return DecodeResult(records, PlotBatch.empty(), ModeSEnrichment.empty())
            cols = columns(records)
        self.counters["messages"] += len(records)
        self._verify_addresses(records, cols)
        self.aircraft.update(records, cols)
        plots = self._positions(records, cols)
        enrichment = self._enrichment(cols)
        self.aircraft.enforce_bounds()
        return DecodeResult(records, plots, enrichment)

    def _verify_addresses(self, records: list[dict[str, Any]], cols: dict[str, Any]) -> None:
        """Mark the records whose address is trusted (see AircraftStates.verify)."""
        df = cols["df"]
        self.aircraft.verify(cols["icao"][np.isin(df, (17, 18))], cols["icao"][df == 11],
                             cols["t"][df == 11])
        known = np.isin(cols["icao"], np.fromiter(self.aircraft.verified, np.int64))
        cols["verified"] = known
        needs = np.isin(df, list(ENRICHING_DF))
        self.counters["unverified_all_call"] += int(((df == 11) & ~known).sum())
        unknown = np.flatnonzero(needs & ~known)
        self.counters["unverified_address"] += int(unknown.size)
        for i in unknown:
            records[i]["address_verified"] = False

    def _enrichment(self, cols: dict[str, Any]) -> ModeSEnrichment:
        rows = np.flatnonzero(np.isin(cols["df"], list(ENRICHING_DF)) & cols["verified"])
        sensor = np.array([r.sensor_id for r in self.receivers], np.int32)[cols["receiver"]]
        return ModeSEnrichment(
            t=cols["t"][rows], icao24=cols["icao"][rows], df=cols["df"][rows].astype(np.int8),
            alt_ft=cols["altitude"][rows], squawk=cols["squawk"][rows],
            callsign=cols["callsign"][rows], sensor_id=sensor[rows])

    def _positions(self, records: list[dict[str, Any]], cols: dict[str, Any]) -> PlotBatch:
        rows = np.flatnonzero(cols["lat_cpr"] >= 0)
        sbs_rows = np.flatnonzero((cols["lat_cpr"] < 0) & np.isfinite(cols["lat"]))
        if rows.size + sbs_rows.size == 0:
            return PlotBatch.empty()
        lat, lon = self._resolve(cols, rows)
        all_rows = np.concatenate([rows, sbs_rows])
        lat = np.concatenate([lat, cols["lat"][sbs_rows]])
        lon = np.concatenate([lon, cols["lon"][sbs_rows]])
        order = np.lexsort((cols["t"][all_rows], cols["icao"][all_rows]))
        all_rows, lat, lon = all_rows[order], lat[order], lon[order]
        ok = np.isfinite(lat)
        self.counters["position_unresolved"] += int((~ok).sum())
        all_rows, lat, lon = all_rows[ok], lat[ok], lon[ok]
        if all_rows.size == 0:
            return PlotBatch.empty()
        failed = self._speed_check(cols, all_rows, lat, lon)
        self.counters["speed_check_failed"] += int(failed.sum())
        self.counters["positions"] += int(all_rows.size)
        self.aircraft.update_positions(cols, all_rows, lat, lon, ~failed)
        for k, i in enumerate(all_rows.tolist()):
            rec = records[i]
            rec["latitude"], rec["longitude"] = float(lat[k]), float(lon[k])
            if failed[k]:
                rec["speed_check"] = "failed"
        return self._plots(cols, all_rows, lat, lon, failed)

    def _resolve(self, cols: dict[str, Any], rows: npt.NDArray[np.int64]
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Positions of CPR rows: rs1090's where it resolved them, else decoded locally.

        rs1090 resolves airborne pairs (and surface positions only near its reference): those
        are the seeds.  The rest is decoded relative to the aircraft's last position when
        recent, so chains of positions follow a seed.  Surface positions of an aircraft with
        no recent position are then resolved from an even/odd pair (`surface_pairs`, which
        needs no nearby reference: at an airport far from the receiver, heard through a
        network feed), and finally airborne ones relative to their receiver.  A lone surface
        message with no reference within 45 NM stays unresolved (counted, never guessed).
        """
        order = np.lexsort((cols["t"][rows], cols["icao"][rows]))
        srt = rows[order]
        icao_s, t_s, surf_s = cols["icao"][srt], cols["t"][srt], cols["surface"][srt]
        lat, lon = cols["lat"][srt].copy(), cols["lon"][srt].copy()
        ref_lat, ref_lon, ref_t = self.aircraft.last_positions(icao_s)
        rcv = cols["receiver"][srt]
        rcv_lat = np.array([r.lat_deg for r in self.receivers])[rcv]
        rcv_lon = np.array([r.lon_deg for r in self.receivers])[rcv]
        max_age = np.where(surf_s, REF_MAX_AGE_SURFACE_S, REF_MAX_AGE_AIRBORNE_S)
        for step in range(4):
            todo = ~np.isfinite(lat)
            if not todo.any():
                break
            prev = cpr.previous_in_group(icao_s, ~todo)
            has_prev = prev >= 0
            p_lat = np.where(has_prev, lat[prev], ref_lat)
            p_lon = np.where(has_prev, lon[prev], ref_lon)
            p_t = np.where(has_prev, t_s[prev], ref_t)
            recent = np.isfinite(p_lat) & (t_s - p_t <= max_age)
            if step == 1:
                seeds = todo & surf_s & ~recent
                if seeds.any():
                    self._surface_pairs(cols, srt, seeds, rcv, lat, lon)
            use = todo & (recent | (~surf_s if step == 3 else False))
            if not use.any():
                continue
            ref_la = np.where(recent, p_lat, rcv_lat)[use]
            ref_lo = np.where(recent, p_lon, rcv_lon)[use]
            lat[use], lon[use] = cpr.local_decode(
                cols["lat_cpr"][srt][use], cols["lon_cpr"][srt][use], cols["odd"][srt][use],
                surf_s[use], ref_la, ref_lo)
        self._remember_surface(cols, srt, surf_s & ~np.isfinite(lat))
        inv = np.empty_like(order)
        inv[order] = np.arange(order.size)
        return lat[inv], lon[inv]

    def _surface_pairs(self, cols: dict[str, Any], srt: npt.NDArray[np.int64],
                       seeds: npt.NDArray[np.bool_], rcv: npt.NDArray[np.int64],
                       lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> None:
        """Resolve the `seeds` rows (surface, no recent reference) from even/odd pairs, in place.

        The partner is the aircraft's last surface message of the other parity within
        SURFACE_PAIR_MAX_S, in this batch or remembered from an earlier one.  The quadrant is
        chosen by the receiver, or by the latest position the feed gave when it has none.
        """
        icao, t = cols["icao"][srt], cols["t"][srt]
        surf, odd = cols["surface"][srt], cols["odd"][srt]
        lat_cpr, lon_cpr = cols["lat_cpr"][srt], cols["lon_cpr"][srt]
        before_even = cpr.previous_in_group(icao, surf & ~odd)
        before_odd = cpr.previous_in_group(icao, surf & odd)
        partner = np.where(odd, before_even, before_odd)
        rows = np.flatnonzero(seeds)
        p_t = np.where(partner >= 0, t[partner], np.nan)[rows]
        p_lat = lat_cpr[partner][rows]
        p_lon = lon_cpr[partner][rows]
        for k in np.flatnonzero(~(t[rows] - p_t <= SURFACE_PAIR_MAX_S)).tolist():
            kept = self._surface_cpr.get((int(icao[rows[k]]), not bool(odd[rows[k]])))
            if kept is not None:
                p_t[k], p_lat[k], p_lon[k] = kept
        paired = t[rows] - p_t <= SURFACE_PAIR_MAX_S
        rows, p_lat, p_lon = rows[paired], p_lat[paired], p_lon[paired]
        if rows.size == 0:
            return
        ref_lat = np.array([r.lat_deg for r in self.receivers])[rcv[rows]]
        ref_lon = np.array([r.lon_deg for r in self.receivers])[rcv[rows]]
        if not np.isfinite(ref_lat).all():
            traffic_lat, traffic_lon = self._traffic_reference(t[rows], t, lat, lon)
            ref_lat = np.where(np.isfinite(ref_lat), ref_lat, traffic_lat)
            ref_lon = np.where(np.isfinite(ref_lon), ref_lon, traffic_lon)
        is_odd = odd[rows]
        lat[rows], lon[rows] = cpr.surface_global_decode(
            np.where(is_odd, p_lat, lat_cpr[rows]), np.where(is_odd, p_lon, lon_cpr[rows]),
            np.where(is_odd, lat_cpr[rows], p_lat), np.where(is_odd, lon_cpr[rows], p_lon),
            is_odd, ref_lat, ref_lon)
        self.counters["surface_pair_resolved"] += int(np.isfinite(lat[rows]).sum())

    def _traffic_reference(self, t_rows: npt.NDArray[np.float64], t: npt.NDArray[np.float64],
                           lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
                           ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """For a feed with no receiver position: the position any aircraft gave nearest in
        time to each row (this batch's resolved ones, or the latest before it).  It only has to
        pick a 90-degree quadrant, so it assumes the feed's aircraft lie within a few thousand
        km of each other (one region's receivers), as jet1090's moving reference does."""
        known = np.flatnonzero(np.isfinite(lat))
        s_lat, s_lon, s_t = _latest_position(self.aircraft)
        k_t = np.append(t[known], s_t)
        k_lat, k_lon = np.append(lat[known], s_lat), np.append(lon[known], s_lon)
        usable = np.isfinite(k_lat)
        if not usable.any():
            return np.full(t_rows.size, NAN), np.full(t_rows.size, NAN)
        k_t, k_lat, k_lon = k_t[usable], k_lat[usable], k_lon[usable]
        nearest = _nearest_in_time(k_t, t_rows)
        return k_lat[nearest], k_lon[nearest]

    def _remember_surface(self, cols: dict[str, Any], srt: npt.NDArray[np.int64],
                          unresolved: npt.NDArray[np.bool_]) -> None:
        """Keep the last unresolved surface message of each parity per aircraft, so that its
        partner in a later batch (a live feed delivers a few frames at a time) can pair."""
        rows = srt[unresolved]
        if rows.size == 0:
            return
        for i in rows.tolist():  # few: surface aircraft with no reference yet
            self._surface_cpr[(int(cols["icao"][i]), bool(cols["odd"][i]))] = (
                float(cols["t"][i]), int(cols["lat_cpr"][i]), int(cols["lon_cpr"][i]))
        if len(self._surface_cpr) > self.max_pending_surface:
            newest = float(cols["t"][rows].max())
            self._surface_cpr = {k: v for k, v in self._surface_cpr.items()
                                 if newest - v[0] <= SURFACE_PAIR_MAX_S}
        if len(self._surface_cpr) > self.max_pending_surface:  # all recent: the newest
            kept = sorted(self._surface_cpr.items(), key=lambda kv: kv[1][0])
            self._surface_cpr = dict(kept[-self.max_pending_surface:])

    def _speed_check(self, cols: dict[str, Any], rows: npt.NDArray[np.int64],
                     lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]
                     ) -> npt.NDArray[np.bool_]:
        """True where the position implies an impossible speed (rows sorted by aircraft, t).

        Each position is compared with the aircraft's last accepted one.  As readsb does, a
        failed position that agrees with the failed one just before it is accepted: two
        consistent positions outweigh one old (possibly wrong) reference.
        """
        icao, t, surface = cols["icao"][rows], cols["t"][rows], cols["surface"][rows]
        st_lat, st_lon, st_t = self.aircraft.last_accepted(icao)
        st_surface = self.aircraft.last_surface(icao)
        f_lat, f_lon, f_t = self.aircraft.last_failed(icao)
        just_before = cpr.previous_in_group(icao, np.ones(rows.size, bool))
        has_before = just_before >= 0
        b_lat = np.where(has_before, lat[just_before], f_lat)
        b_lon = np.where(has_before, lon[just_before], f_lon)
        b_t = np.where(has_before, t[just_before], f_t)
        agrees_before = self._plausible(b_lat, b_lon, b_t, surface, lat, lon, t, surface)
        failed = np.zeros(rows.size, bool)
        for _ in range(6):  # fixed point: compare each with the last *accepted* position
            prev = cpr.previous_in_group(icao, ~failed)
            has = prev >= 0
            p_lat = np.where(has, lat[prev], st_lat)
            p_lon = np.where(has, lon[prev], st_lon)
            p_t = np.where(has, t[prev], st_t)
            p_surf = np.where(has, surface[prev], st_surface)
            ok = self._plausible(p_lat, p_lon, p_t, p_surf, lat, lon, t, surface)
            before_failed = np.where(has_before, failed[just_before], np.isfinite(f_lat))
            new_failed = ~ok & ~(before_failed & agrees_before)
            if np.array_equal(new_failed, failed):
                break
            failed = new_failed
        self.aircraft.update_failed(icao, rows, cols, lat, lon, failed)
        return failed

    @staticmethod
    def _plausible(p_lat: npt.NDArray[np.float64], p_lon: npt.NDArray[np.float64],
                   p_t: npt.NDArray[np.float64], p_surf: npt.NDArray[np.bool_],
                   lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64],
                   t: npt.NDArray[np.float64], surface: npt.NDArray[np.bool_]
                   ) -> npt.NDArray[np.bool_]:
        """True where going from p to here is possible (or nothing recent to compare with)."""
        dt = np.abs(t - p_t)
        both_surface = surface & p_surf
        max_mps = np.where(both_surface, SURFACE_MAX_KT, AIRBORNE_MAX_KT) * KT_TO_MPS
        margin = np.where(both_surface, SPEED_MARGIN_SURFACE_M, SPEED_MARGIN_AIRBORNE_M)
        dist = cpr.distance_m(p_lat, p_lon, lat, lon)
        checkable = np.isfinite(dist) & (dt <= SPEED_CHECK_MAX_AGE_S)
        return np.asarray(~checkable | (dist <= max_mps * dt + margin))

    def _plots(self, cols: dict[str, Any], rows: npt.NDArray[np.int64],
               lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64],
               failed: npt.NDArray[np.bool_]) -> PlotBatch:
        if self.frame is None:  # no receiver position: the first position anchors the plane
            self.frame = LocalFrame(round(float(lat[0]), 2), round(float(lon[0]), 2))
        x, y, _ = self.frame.to_enu(lat, lon, 0.0)
        icao = cols["icao"][rows]
        quality_cols = self.aircraft.quality(icao)
        surface = cols["surface"][rows]
        nic = quality.combined_nic(cols["tc"][rows], surface, quality_cols["version"],
                                   quality_cols["nic_a"], cols["nic_b"][rows])
        nic = np.where(cols["tc"][rows] > 0, nic, -1).astype(np.int8)
        self.aircraft.update_nic(icao, nic)
        nacp = quality_cols["nacp"]
        # SBS positions carry neither NUCp nor type code: assume NUCp 7 (< 0.1 NM, TC 11).
        nucp = np.where(cols["tc"][rows] > 0, cols["nucp"][rows], SBS_ASSUMED_NUCP)
        sigma = quality.sigma_m(nacp, nucp)
        mlat = cols["mlat"][rows]
        adsb_ids = np.array([r.sensor_id for r in self.receivers], np.int32)
        mlat_ids = np.array([r.mlat_sensor_id for r in self.receivers], np.int32)
        rcv = cols["receiver"][rows]
        sensor = np.where(mlat, mlat_ids[rcv], adsb_ids[rcv])
        alt = np.where(cols["baro"][rows], cols["altitude"][rows], NAN)
        ident = self.aircraft.identity(icao)
        flags = np.where(failed, int(PlotFlag.SPEED_CHECK_FAILED), 0)
        return PlotBatch.create(
            t=cols["t"][rows], sensor_id=sensor, x=x, y=y, var_x=sigma**2, var_y=sigma**2,
            cov_xy=0.0, icao24=icao, alt_ft=alt, nacp=nacp, nic=nic,
            sil=quality_cols["sil"], flags=flags, squawk=ident["squawk"],
            callsign=ident["callsign"])


def _latest_position(states: AircraftStates) -> tuple[float, float, float]:
    """The most recent position any aircraft gave, and when (NaN if none)."""
    latest = max(states.by_icao.values(), default=None,
                 key=lambda st: st.pos_t if math.isfinite(st.pos_t) else -math.inf)
    if latest is None or not math.isfinite(latest.pos_t):
        return NAN, NAN, NAN
    return latest.lat_deg, latest.lon_deg, latest.pos_t


def _nearest_in_time(known_t: npt.NDArray[np.float64], t: npt.NDArray[np.float64]
                     ) -> npt.NDArray[np.int64]:
    """Index into `known_t` of the time nearest each of `t`."""
    order = np.argsort(known_t, kind="stable")
    sorted_t = known_t[order]
    right = np.clip(np.searchsorted(sorted_t, t), 0, sorted_t.size - 1)
    left = np.clip(right - 1, 0, sorted_t.size - 1)
    pick = np.where(np.abs(sorted_t[left] - t) <= np.abs(sorted_t[right] - t), left, right)
    return np.asarray(order[pick], np.int64)


def _align(hexes: list[str], out: list[dict[str, Any]]) -> list[int]:
    """Index of the input frame of each rs1090 record (rs1090 drops frames it rejects)."""
    if len(out) == len(hexes) and list(map(itemgetter("frame"), out)) == hexes:
        return list(range(len(hexes)))  # nothing dropped (one C-level comparison)
    matched: list[int] = []
    j, n = 0, len(hexes)
    for rec in out:
        while j < n and hexes[j] != rec["frame"]:
            j += 1
        if j == n:  # not in input order after all: match by content
            return _align_by_content(hexes, out)
        matched.append(j)
        j += 1
    return matched


def _align_by_content(hexes: list[str], out: list[dict[str, Any]]) -> list[int]:
    where: dict[str, list[int]] = {}
    for i in range(len(hexes) - 1, -1, -1):
        where.setdefault(hexes[i], []).append(i)
    return [where[rec["frame"]].pop() for rec in out]
