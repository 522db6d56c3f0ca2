"""Send a scenario as a radar and ADS-B environment would: CAT048, CAT034 and CAT021 over UDP.

Each radar sensor of the scenario becomes SAC 0 / SIC = its id at its site; its plots become
CAT048 (rho/theta from the plot position relative to the site, through pymap3d), with a north
marker and 45° sector crossings each scan (CAT034). ADS-B plots become CAT021. Data go out in
0.5 s slices of scenario time, paced to `speed` times real time. MLAT plots are not sent
(CAT020 is not written) and are counted.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.core.errors import UserError
from airpicture.core.geo import FT_TO_M, NM_TO_M
from airpicture.core.plots import PlotBatch
from airpicture.io.asterix import encode
from airpicture.io.asterix.config import AsterixConfig
from airpicture.io.asterix.geodesy import geodetic_to_polar
from airpicture.io.asterix.output import MAX_BLOCK_BYTES
from airpicture.policy.egress import LOCAL, Consumer, Egress

SLICE_S = 0.5
SECTORS = 8


def _radar_blocks(
    cfg: AsterixConfig, key: tuple[int, int], kind: str, plots: PlotBatch, counts: Counter[str]
) -> list[tuple[float, int, bytes]]:
    """(time, category, record) for one radar's plots (positions to rho/theta)."""
    site = cfg.radars[key]
    lat, lon = cfg.frame.ground_to_geodetic(plots.x, plots.y)
    height = np.where(np.isfinite(plots.alt_ft), plots.alt_ft * FT_TO_M, cfg.assumed_height_m)
    rho_m, theta = geodetic_to_polar(site, lat, lon, height)
    rho_nm = rho_m / NM_TO_M
    far = rho_nm >= 256.0
    counts["plots_skipped:out_of_range"] += int(far.sum())
    ok = ~far
    if kind == "psr":
        typ = np.ones(len(plots), np.int64)
        ident = np.zeros(len(plots), bool)
    else:
        ident = np.ones(len(plots), bool)
        typ = np.where(plots.icao24 > 0, 5, 2)
    recs = encode.cat048_records(
        cfg.edition(48, key), key[0], key[1], (cfg.t0_utc_s + plots.t[ok]) % 86400.0,
        typ[ok], rho_nm[ok], theta[ok], np.where(ident, plots.squawk, -1)[ok],
        np.where(ident, plots.alt_ft / 100.0, np.nan)[ok], np.where(ident, plots.icao24, 0)[ok],
        np.where(ident, plots.callsign, "")[ok],
    )
    counts["cat048_records"] += len(recs)
    return [(float(t), 48, r) for t, r in zip(plots.t[ok], recs, strict=True)]


def _service_records(
    cfg: AsterixConfig, key: tuple[int, int], period_s: float, t_end_s: float
) -> list[tuple[float, int, bytes]]:
    """North markers and sector crossings for one radar over the scenario."""
    steps = np.arange(0.0, t_end_s, period_s / SECTORS)
    k = np.arange(steps.size) % SECTORS
    mtype = np.where(k == 0, 1, 2)
    recs = encode.cat034_records(cfg.edition(34, key), key[0], key[1],
                                 (cfg.t0_utc_s + steps) % 86400.0, mtype, k * 360.0 / SECTORS,
                                 period_s)
    return [(float(t), 34, r) for t, r in zip(steps, recs, strict=True)]


def _adsb_records(
    cfg: AsterixConfig, key: tuple[int, int], plots: PlotBatch, counts: Counter[str]
) -> list[tuple[float, int, bytes]]:
    """(time, category, record) for one ADS-B station's plots."""
    lat, lon = cfg.frame.ground_to_geodetic(plots.x, plots.y)
    recs = encode.cat021_records(
        cfg.edition(21, key), key[0], key[1], (cfg.t0_utc_s + plots.t) % 86400.0, lat, lon,
        plots.icao24, plots.alt_ft / 100.0, plots.callsign, plots.nacp, plots.nic, plots.sil,
        plots.squawk,
    )
    counts["cat021_records"] += len(recs)
    return [(float(t), 21, r) for t, r in zip(plots.t, recs, strict=True)]


def build_datagrams(
    scenario_dir: Path, t0_utc_s: float = 0.0, counts: Counter[str] | None = None,
    egress: Egress | None = None, consumer: Consumer = LOCAL,
) -> tuple[AsterixConfig, list[tuple[float, bytes]]]:
    """The scenario as (scenario time, datagram) pairs, and the receiving configuration.

    The plots pass Egress.plots(plots, consumer) first, like every plot output.
    """
    from airpicture.io.scenario import read_meta, read_plots

    counts = Counter() if counts is None else counts
    meta = read_meta(scenario_dir)
    plots = (egress or Egress()).plots(read_plots(scenario_dir, meta), consumer)
    cfg = AsterixConfig.from_scenario(meta, t0_utc_s=t0_utc_s)
    t_end = float(max(meta.duration_s, plots.t.max() if len(plots) else 0.0))
    items: list[tuple[float, int, bytes]] = []
    for s in meta.sensors:
        sel = plots.sensor_id == s.id
        if not 0 < s.id < 256:
            counts["plots_skipped:sensor_id_not_a_sic"] += int(sel.sum())
            continue
        key = (0, s.id)
        if s.kind in ("psr", "ssr"):
            items += _radar_blocks(cfg, key, s.kind, plots.take(sel), counts)
            items += _service_records(cfg, key, s.period_s, t_end)
        elif s.kind == "adsb":
            items += _adsb_records(cfg, key, plots.take(sel & (plots.icao24 > 0)), counts)
        else:
            counts[f"plots_skipped:{s.kind}"] += int(sel.sum())
    return cfg, _datagrams(items, counts)


def _datagrams(
    items: list[tuple[float, int, bytes]], counts: Counter[str]
) -> list[tuple[float, bytes]]:
    """Group records by time slice, then by category into blocks, blocks into datagrams."""
    items.sort(key=lambda it: (it[0], it[1]))
    out: list[tuple[float, bytes]] = []
    i = 0
    while i < len(items):
        slice_k = int(items[i][0] // SLICE_S)
        j = i
        by_cat: dict[int, list[bytes]] = {}
        while j < len(items) and int(items[j][0] // SLICE_S) == slice_k:
            by_cat.setdefault(items[j][1], []).append(items[j][2])
            j += 1
        datagram = b""
        for cat, recs in sorted(by_cat.items()):
            for blk in _blocks(cat, recs):
                if len(datagram) + len(blk) > MAX_BLOCK_BYTES and datagram:
                    out.append((slice_k * SLICE_S, datagram))
                    datagram = b""
                datagram += blk
                counts["blocks"] += 1
        out.append((slice_k * SLICE_S, datagram))
        i = j
    counts["datagrams"] = len(out)
    return out


def _blocks(cat: int, recs: list[bytes]) -> list[bytes]:
    """Records of one category into blocks of at most MAX_BLOCK_BYTES."""
    out: list[bytes] = []
    cur: list[bytes] = []
    size = 3
    for r in recs:
        if size + len(r) > MAX_BLOCK_BYTES and cur:
            out.append(encode.block(cat, cur))
            cur, size = [], 3
        cur.append(r)
        size += len(r)
    if cur:
        out.append(encode.block(cat, cur))
    return out


def emit_scenario(
    scenario_dir: Path, url: str, speed: float = 1.0, t0_utc_s: float | None = None
) -> dict[str, Any]:
    """Send a scenario's plots as ASTERIX to `url` at `speed` times real time (<= 0: as fast
    as possible). Scenario time t goes out as time of day (t0_utc_s + t) mod 24 h, t0_utc_s
    being the wall clock at the start unless given, so the data look live. Returns counts
    (datagrams, blocks, records per category, skipped plots), bytes, wall_s and t0_utc_s:
    a receiver maps back to scenario time with AsterixConfig.from_scenario(meta, t0_utc_s).
    """
    from airpicture.io.asterix.transport import UdpSender

    if not url.startswith("udp://"):
        raise UserError(url, "expected udp://HOST:PORT")
    sender = UdpSender(url)
    t0 = time.time() if t0_utc_s is None else float(t0_utc_s)
    counts: Counter[str] = Counter()
    _cfg, datagrams = build_datagrams(Path(scenario_dir), t0_utc_s=t0, counts=counts)
    started = time.monotonic()
    t_first = datagrams[0][0] if datagrams else 0.0
    try:
        for t, datagram in datagrams:
            if speed > 0:
                delay = (t - t_first) / speed - (time.monotonic() - started)
                if delay > 0:
                    time.sleep(delay)
            sender.send(datagram)
            counts["bytes"] += len(datagram)
    finally:
        sender.close()
    result: dict[str, Any] = dict(counts)
    result["wall_s"] = time.monotonic() - started
    result["t0_utc_s"] = t0
    return result
