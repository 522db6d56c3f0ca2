"""Datagrams in, plots out: routes blocks by category and edition, resolves time of day.

`AsterixDecoder` keeps its counters and each radar's CAT034 status across calls, so a live
listener and a file reader share it. Categories other than 048, 034 and 021 are skipped and
counted (062 and 065 as well: they are outputs of a tracker, not sensor plots).
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.geo import FT_TO_M, NM_TO_M
from airpicture.core.limits import altitude_or_nan
from airpicture.core.plots import PlotBatch
from airpicture.io.asterix import cat021, cat034, cat048
from airpicture.io.asterix.blocks import Block, max_blocks_for, split_blocks
from airpicture.io.asterix.cat034 import RadarStatus
from airpicture.io.asterix.config import AsterixConfig
from airpicture.io.asterix.fields import peek_sac_sic
from airpicture.io.asterix.geodesy import polar_covariance, polar_to_enu
from airpicture.io.asterix.layout import MAX_RECORDS_PER_BLOCK, record_layout, walk_records
from airpicture.io.asterix.transport import UdpStats

DAY_S = 86400.0
MAX_SERVICE_MESSAGES_PER_DATAGRAM = 64
"""CAT034 messages taken from one datagram; the rest are counted and dropped. A radar sends a
handful per scan (north marker, sector crossings), so more is a flood, not a radar."""
MAX_LIBASTERIX_RECORDS_PER_DATAGRAM = 256
"""Records of one datagram decoded through libasterix (CAT021 editions without a fast path,
0.23-0.26: ~0.25 ms a record, so 51 KB of them cost 0.7 s); blocks past it are rejected."""
MAX_UNKNOWN_RADARS = 64
"""Radars not in the configuration whose CAT034 status is still kept (for `asterix decode`);
messages from more are counted, so random SAC/SIC cannot grow the table without bound."""
FloatArray = npt.NDArray[np.float64]


def resolve_tod(tod_s: npt.ArrayLike, ref_utc_s: npt.ArrayLike) -> FloatArray:
    """Absolute UTC seconds of times of day: the day that puts each nearest its reference
    (so a ToD just after midnight, seen late in the day, rolls over to the next day)."""
    tod = np.asarray(tod_s, float)
    ref = np.asarray(ref_utc_s, float)
    t = np.floor(ref / DAY_S) * DAY_S + tod
    t = np.where(t - ref < -DAY_S / 2, t + DAY_S, t)
    return np.where(t - ref > DAY_S / 2, t - DAY_S, t)


def resolve_tod_sequence(tod_s: npt.ArrayLike, anchor_utc_s: float) -> FloatArray:
    """Absolute UTC seconds of a stream of times of day in arrival order, without receive
    times: the first resolved near `anchor_utc_s`, then unwrapped (a drop of more than 12 h
    is the next day)."""
    tod = np.asarray(tod_s, float)
    if tod.size == 0:
        return tod
    unwrapped = np.unwrap(tod, period=DAY_S)
    return np.asarray(unwrapped - unwrapped[0] + resolve_tod(tod[0], anchor_utc_s), float)


@dataclass
class DecodeResult:
    """What one decode call produced."""

    plots: PlotBatch
    cat048: cat048.Cat048Reports
    cat021: cat021.Cat021Reports
    service: list[cat034.ServiceMessage]
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class _Pending:
    """Blocks of one (category, edition) waiting to be decoded, with receive times."""
    blocks: list[Block] = field(default_factory=list)
    ref_utc_s: list[float] = field(default_factory=list)
    datagram: list[int] = field(default_factory=list)
    """Index of each block's datagram in the decode call."""


class AsterixDecoder:
    """Stateful decoder: counters, radar status and the time-of-day clock persist.

    `max_records_per_block` rejects (and counts) a block with more records than that, so one
    datagram costs at most a few milliseconds whatever it holds. `udp_stats` holds each
    listening URL's receive statistics (`listen.stream_plots` registers them)."""

    def __init__(self, config: AsterixConfig, fast: bool = True,
                 max_records_per_block: int = MAX_RECORDS_PER_BLOCK) -> None:
        self.config = config
        self.fast = fast
        self.max_records_per_block = max_records_per_block
        self.counts: Counter[str] = Counter()
        self.status: dict[tuple[int, int], RadarStatus] = {}
        self.udp_stats: dict[str, UdpStats] = {}
        self._clock_utc_s = config.t0_utc_s

    def decode(self, datagrams: Iterable[tuple[float | None, bytes]]) -> DecodeResult:
        """Decode (receive time UTC s or None, datagram) pairs; never raises on bad input."""
        counts: Counter[str] = Counter()
        groups: dict[tuple[int, str], _Pending] = defaultdict(_Pending)
        for k_datagram, (t_recv, datagram) in enumerate(datagrams):
            counts["datagrams"] += 1
            ref = np.nan if t_recv is None else float(t_recv)
            for block in split_blocks(datagram, counts, max_blocks_for(t_recv)):
                cat = block.category
                if cat not in (48, 34, 21):
                    counts[f"skipped_category:{cat:03d}"] += 1
                    continue
                edition = self.config.edition(cat, peek_sac_sic(block))
                pend = groups[(cat, edition)]
                pend.blocks.append(block)
                pend.ref_utc_s.append(ref)
                pend.datagram.append(k_datagram)
        parts48, parts21, plots, service = [], [], [], []
        for (cat, edition), pend in sorted(groups.items()):
            refs = np.asarray(pend.ref_utc_s, float)
            cap = self.max_records_per_block
            if cat == 48:
                dec = cat048.decode_fast if self.fast else cat048.decode_oracle
                rep = dec(pend.blocks, counts, edition, cap)
                parts48.append(rep)
                plots.append(self._radar_plots(rep, refs[rep.block], counts))
            elif cat == 21:
                if self.fast and edition not in cat021.FAST_EDITIONS:
                    pend = _within_record_budget(pend, edition, counts)
                    refs = np.asarray(pend.ref_utc_s, float)
                rep21 = (cat021.decode_fast(pend.blocks, counts, edition, cap) if self.fast
                         else cat021.decode(pend.blocks, edition, counts, cap))
                parts21.append(rep21)
                plots.append(self._adsb_plots(rep21, refs[rep21.block], counts))
            else:
                service.extend(self._service(pend, edition, counts))
        self.counts.update(counts)
        batch = PlotBatch.concat(plots).sorted_by_time() if plots else PlotBatch.empty()
        reps21 = parts21[0] if len(parts21) == 1 else _concat21(parts21)
        return DecodeResult(batch, cat048.concat_reports(parts48), reps21, service, counts)

    def _times(self, tod_s: FloatArray, ref_utc_s: FloatArray) -> FloatArray:
        """UTC of each ToD: near its receive time, or as a stream from the clock where the
        receive time is unknown (NaN); the clock moves on to the newest time."""
        known = np.isfinite(ref_utc_s)
        t = np.empty(tod_s.shape[0])
        t[known] = resolve_tod(tod_s[known], ref_utc_s[known])
        t[~known] = resolve_tod_sequence(tod_s[~known], self._clock_utc_s)
        self._advance_clock(t)
        return t

    def _advance_clock(self, t_utc_s: FloatArray) -> None:
        """Move the clock on to the newest finite time."""
        finite = t_utc_s[np.isfinite(t_utc_s)]
        if finite.size:
            self._clock_utc_s = max(self._clock_utc_s, float(finite.max()))

    def _service(
        self, pend: _Pending, edition: str, counts: Counter[str]
    ) -> list[cat034.ServiceMessage]:
        """CAT034 messages of the pending blocks (byte walker, or libasterix when not `fast`);
        updates each radar's status. A message without SAC/SIC is counted and left out."""
        cap = self.max_records_per_block
        if self.fast:  # at most MAX_SERVICE_MESSAGES_PER_DATAGRAM read from each datagram
            found = cat034.walk_messages(pend.blocks, counts, edition, cap)
            dg = np.asarray(pend.datagram, np.int64)[found.block]
            order = np.argsort(dg, kind="stable")
            first = np.searchsorted(dg[order], dg[order], side="left")
            rank = np.empty_like(order)
            rank[order] = np.arange(order.size) - first
            over = rank >= MAX_SERVICE_MESSAGES_PER_DATAGRAM
            if over.any():
                counts["service_dropped:cat034_over_datagram_cap"] += int(over.sum())
            msgs = found.messages(np.flatnonzero(~over))
        else:
            msgs = cat034.decode(pend.blocks, edition, counts, cap)
        kept: list[cat034.ServiceMessage] = []
        refs = np.asarray(pend.ref_utc_s, float)[[m.block for m in msgs]] if msgs \
            else np.empty(0)
        refs = np.where(np.isfinite(refs), refs, self._clock_utc_s)
        tods = np.asarray([m.tod_s for m in msgs], float)
        times = np.where(np.isfinite(tods), resolve_tod(tods, refs), refs) \
            - self.config.t0_utc_s
        for m, t in zip(msgs, times.tolist(), strict=True):
            if m.sac < 0:
                counts["service_dropped:cat034_no_sac_sic"] += 1
                continue
            key = (m.sac, m.sic)
            if key not in self.status and key not in self.config.radars \
                    and len(self.status) - len(self.config.radars) >= MAX_UNKNOWN_RADARS:
                counts["service_dropped:cat034_unknown_radar"] += 1
                continue
            self.status.setdefault(key, RadarStatus(m.sac, m.sic)).update(m, t)
            kept.append(m)
        counts["service:cat034"] += len(kept)
        return kept

    @property
    def clock_utc_s(self) -> float:
        """The newest data time seen (UTC s; t0_utc_s before any)."""
        return self._clock_utc_s

    def scan_periods(self) -> dict[int, float]:
        """Tracker sensor id -> scan period measured from CAT034 (s), for the PSR and the SSR
        id of every configured radar that has one measured."""
        out: dict[int, float] = {}
        status = dict(self.status)
        for key, site in self.config.radars.items():
            st = status.get(key)
            period = st.scan_period_s if st is not None else float("nan")
            if np.isfinite(period):
                for sid in (site.psr_sensor_id, site.ssr_sensor_id):
                    if sid > 0:
                        out[sid] = period
        return out

    def radar_status(self, now_s: float | None = None) -> list[dict[str, Any]]:
        """Per radar (configured or heard): sac, sic, name, sensor ids, alive (heard within 3
        scan periods of `now_s`, plot time; default the wall clock), degraded and problems as
        its I034/050 says, measured period_s, reported rotation period, last north marker
        (plot time, s), message counts."""
        now = time.time() - self.config.t0_utc_s if now_s is None else now_s
        out: list[dict[str, Any]] = []
        status = dict(self.status)  # one copy: the listener thread may add radars meanwhile
        for key in sorted(set(self.config.radars) | set(status)):
            site = self.config.radars.get(key)
            st = status.get(key) or RadarStatus(*key)
            row = st.to_json()
            row.update(
                name=(site.name or f"radar {key[0]}/{key[1]}") if site else "",
                configured=site is not None,
                sensor_ids=sorted({site.psr_sensor_id, site.ssr_sensor_id} - {0})
                if site else [],
                alive=st.alive(now), period_s=_finite_or_none(st.scan_period_s),
                rotation_period_s=_finite_or_none(st.rotation_period_s),
                scan_period_s=_finite_or_none(st.scan_period_s),
                last_message_s=_finite_or_none(st.last_message_s),
                last_north_s=_finite_or_none(st.last_north_s),
            )
            out.append(row)
        return out

    def problems(self, now_s: float | None = None) -> list[str]:
        """What is wrong, for a health check: configured radars heard before but silent for
        3 scan periods, radars whose CAT034 reports a problem, UDP receive drops."""
        out = []
        for r in self.radar_status(now_s):
            name = r["name"] or f"radar {r['sac']}/{r['sic']}"
            if r["last_message_s"] is not None and not r["alive"]:
                out.append(f"{name}: no CAT034 for 3 scan periods")
            if r["degraded"]:
                out.append(f"{name}: CAT034 reports {', '.join(r['problems'])}")
        for url, stats in self.udp_stats.items():
            drops = stats.drops()
            if drops:
                out.append(f"{url}: {drops} datagrams dropped by the kernel (receive buffer "
                           f"{stats.rcvbuf_granted_bytes} bytes)")
        return out

    def _radar_plots(
        self, rep: cat048.Cat048Reports, ref_utc_s: FloatArray, counts: Counter[str]
    ) -> PlotBatch:
        """Target reports with a known radar, a position and a time to plots."""
        cfg = self.config
        ok = (rep.sac >= 0) & (rep.tod_s < DAY_S) & np.isfinite(rep.rho_nm) & (rep.typ != 0)
        counts["plots_dropped:cat048_incomplete"] += int((~ok).sum())
        sim = ok & rep.sim
        counts["plots_dropped:cat048_simulated"] += int(sim.sum())
        ok &= ~sim
        key = rep.sac.astype(np.int64) * 256 + rep.sic
        parts: list[PlotBatch] = []
        for k in np.unique(key[ok]):
            site = cfg.radars.get((int(k) // 256, int(k) % 256))
            sel = ok & (key == k)
            if site is None:
                counts["plots_dropped:cat048_unknown_radar"] += int(sel.sum())
                continue
            r = rep.take(sel)
            t_utc = self._times(r.tod_s, ref_utc_s[sel])
            alt_ft = _altitude_ft(np.where(r.fl_valid, r.fl * 100.0, np.nan), counts)
            fl_ok = np.isfinite(alt_ft)  # a measured level within the physical range
            height_m = np.where(fl_ok, alt_ft * FT_TO_M, cfg.assumed_height_m)
            x, y, ground_m = polar_to_enu(cfg.frame, site, r.rho_nm * NM_TO_M, r.theta_deg,
                                          height_m)
            var_x, var_y, cov_xy = polar_covariance(ground_m, r.theta_deg, site.sigma_range_m,
                                                    site.sigma_azimuth_deg)
            psr_only = np.isin(r.typ, list(cat048.PSR_TYPS))
            parts.append(PlotBatch.create(
                t=t_utc - cfg.t0_utc_s,
                sensor_id=np.where(psr_only, site.psr_sensor_id, site.ssr_sensor_id),
                x=x, y=y, var_x=var_x, var_y=var_y, cov_xy=cov_xy,
                icao24=np.where(psr_only, 0, r.icao24),
                alt_ft=alt_ft,
                squawk=np.where(r.mode3a_valid, r.mode3a, -1),
                callsign=r.callsign,
                t_arrival=ref_utc_s[sel] - cfg.t0_utc_s,
            ))
        counts["plots:cat048"] += sum(len(p) for p in parts)
        return PlotBatch.concat(parts)

    def _adsb_plots(
        self, rep: cat021.Cat021Reports, ref_utc_s: FloatArray, counts: Counter[str]
    ) -> PlotBatch:
        """ADS-B reports from a known ground station with a position and a time to plots."""
        cfg = self.config
        ok = (rep.tod_s < DAY_S) & (np.abs(rep.lat_deg) <= 90.0) & (np.abs(rep.lon_deg) <= 180.0)
        ok &= (rep.icao24 > 0) & ~rep.simulated
        counts["plots_dropped:cat021_incomplete"] += int((~ok).sum())
        parts: list[PlotBatch] = []
        key = rep.sac.astype(np.int64) * 256 + rep.sic
        for k in np.unique(key[ok]):
            src = cfg.adsb.get((int(k) // 256, int(k) % 256))
            sel = ok & (key == k)
            if src is None:
                counts["plots_dropped:cat021_unknown_source"] += int(sel.sum())
                continue
            t_utc = self._times(rep.tod_s[sel], ref_utc_s[sel])
            x, y, _u = cfg.frame.to_enu(rep.lat_deg[sel], rep.lon_deg[sel], 0.0)
            sigma = cat021.sigma_from_nacp_m(rep.nacp[sel], src.sigma_m)
            fl = rep.fl[sel]
            parts.append(PlotBatch.create(
                t=t_utc - cfg.t0_utc_s, sensor_id=src.sensor_id, x=x, y=y,
                var_x=sigma**2, var_y=sigma**2, cov_xy=0.0, icao24=rep.icao24[sel],
                alt_ft=_altitude_ft(fl * 100.0, counts), nacp=rep.nacp[sel], nic=rep.nic[sel],
                sil=rep.sil[sel],
                callsign=rep.callsign[sel], squawk=rep.mode3a[sel],
                t_arrival=ref_utc_s[sel] - cfg.t0_utc_s,
            ))
        counts["plots:cat021"] += sum(len(p) for p in parts)
        return PlotBatch.concat(parts)


def _altitude_ft(alt_ft: FloatArray, counts: Counter[str]) -> FloatArray:
    """Altitudes within the physical range (core.limits); the others unknown, counted."""
    alt, n_bad = altitude_or_nan(alt_ft)
    if n_bad:
        counts["values_out_of_range:alt_ft"] += n_bad
    return alt


def _within_record_budget(pend: _Pending, edition: str, counts: Counter[str]) -> _Pending:
    """The blocks that keep each datagram within MAX_LIBASTERIX_RECORDS_PER_DATAGRAM records
    (counted by the byte walker); later blocks of a datagram past it are rejected, counted."""
    layout = record_layout(21, edition)
    kept = _Pending()
    used: Counter[int] = Counter()
    for block, ref, k in zip(pend.blocks, pend.ref_utc_s, pend.datagram, strict=True):
        walked = walk_records(block.buf, block.start, block.end, layout, ())
        n = len(walked[0]) if not isinstance(walked, str) else 0
        if used[k] + n > MAX_LIBASTERIX_RECORDS_PER_DATAGRAM:
            counts["blocks_rejected:cat021_over_datagram_budget"] += 1
            continue
        used[k] += n
        kept.blocks.append(block)
        kept.ref_utc_s.append(ref)
        kept.datagram.append(k)
    return kept


def _finite_or_none(x: float) -> float | None:
    """JSON-friendly: None for NaN / infinity."""
    return x if math.isfinite(x) else None


def _concat21(parts: list[cat021.Cat021Reports]) -> cat021.Cat021Reports:
    """Rows of all CAT021 parts, in order."""
    if not parts:
        return cat021.decode([], "2.6", Counter())
    from dataclasses import fields

    return cat021.Cat021Reports(
        **{f.name: np.concatenate([getattr(p, f.name) for p in parts])
           for f in fields(cat021.Cat021Reports)}
    )
