"""ASTERIX benchmark: CAT048 decode records/s, fast path against libasterix on the same input.

Input: the real 7-radar recording (../shared/data/croatiacontrol-asterix/cat_034_048.pcap,
when present beside the checkout) repeated, and synthetic CAT048 from our writer. Also the
full decode to plots (geodesy included) and CAT062 encoding (numpy, against the libasterix-built
records on the same tracks).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.core.geo import LocalFrame
from airpicture.core.tracks import TrackTable
from airpicture.io.asterix import cat021, cat034, cat048, encode
from airpicture.io.asterix.blocks import Block, split_blocks
from airpicture.io.asterix.cat062 import Cat062Encoder, pack_blocks
from airpicture.io.asterix.config import AsterixConfig, RadarSite
from airpicture.io.asterix.decoder import AsterixDecoder

REAL_PCAP = (Path(__file__).resolve().parents[5] / "shared" / "data" / "croatiacontrol-asterix"
             / "cat_034_048.pcap")


def _real_blocks() -> list[Block]:
    """The CAT048 blocks of the shared real recording ([] when it is not beside the checkout)."""
    from airpicture.io.asterix.transport import read_pcap

    if not REAL_PCAP.is_file():
        return []
    counts: Counter[str] = Counter()
    return [b for _, d in read_pcap(REAL_PCAP) for b in split_blocks(d, counts)
            if b.category == 48]


def synthetic_datagrams(n: int, seed: int = 1) -> list[bytes]:
    """n Mode S plots from one radar in blocks of 50 records, one block per datagram."""
    rng = np.random.default_rng(seed)
    recs = encode.cat048_records(
        "1.32", 0, 1, np.sort(rng.uniform(0, 3600, n)), np.full(n, 5),
        rng.uniform(1, 250, n), rng.uniform(0, 360, n), rng.integers(0, 4096, n),
        rng.uniform(10, 400, n), rng.integers(1, 1 << 24, n),
        np.array([f"AB{k % 9999:04d}" for k in range(n)], dtype=object),
    )
    return [encode.block(48, recs[i:i + 50]) for i in range(0, n, 50)]


def _rate(fn: Any, n_records: int, repeats: int) -> float:
    """Best records/s over `repeats` runs."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n_records / best


def _decode_rows(name: str, blocks: list[Block], peer_blocks: list[Block], repeats: int,
                 notes: str) -> dict[str, Any]:
    """One row: fast path records/s on `blocks`, libasterix on `peer_blocks` (it is slow)."""
    n = len(cat048.decode_fast(blocks, Counter()))
    n_peer = len(cat048.decode_fast(peer_blocks, Counter()))
    fast = _rate(lambda: cat048.decode_fast(blocks, Counter()), n, repeats)
    peer = _rate(lambda: cat048.decode_oracle(peer_blocks, Counter()), n_peer, 1)
    return {"name": name, "value": round(fast), "unit": "records/s", "peer": "libasterix",
            "peer_value": round(peer), "ratio": round(fast / peer, 2), "notes": notes}


def run_bench(quick: bool = False) -> list[dict[str, Any]]:
    """Rows: CAT048 decode (real, synthetic), decode to plots, CAT062 encode."""
    reps = 2 if quick else 3
    rows: list[dict[str, Any]] = []
    real = _real_blocks()
    if real:
        k = 20 if quick else 100
        rows.append(_decode_rows("cat048 decode, real 7-radar pcap", real * k, real * 2, reps,
                                 f"128 real plots x{k}; peer on x2"))
    n = 10_000 if quick else 50_000
    counts: Counter[str] = Counter()
    synth = [b for d in synthetic_datagrams(n) for b in split_blocks(d, counts)]
    rows.append(_decode_rows("cat048 decode, synthetic Mode S", synth, synth[:40], reps,
                             f"{n} plots, 10 items each; peer on 2000"))
    rng21 = np.random.default_rng(3)
    recs21 = encode.cat021_records(
        "2.6", 0, 2, np.sort(rng21.uniform(0, 3600, n)), rng21.uniform(40, 50, n),
        rng21.uniform(0, 10, n), rng21.integers(1, 1 << 24, n), rng21.uniform(0, 400, n),
        np.array([f"CS{k % 999:03d}" for k in range(n)], dtype=object),
        rng21.integers(0, 12, n), rng21.integers(0, 12, n), rng21.integers(0, 4, n))
    b21 = [b for i in range(0, n, 50)
           for b in split_blocks(encode.block(21, recs21[i:i + 50]), counts)]
    fast21 = _rate(lambda: cat021.decode_fast(b21, Counter()), n, reps)
    peer21 = _rate(lambda: cat021.decode(b21[:40], "2.6", Counter()), 2000, 1)
    rows.append({"name": "cat021 decode, synthetic ADS-B", "value": round(fast21),
                 "unit": "records/s", "peer": "libasterix", "peer_value": round(peer21),
                 "ratio": round(fast21 / peer21, 2), "notes": f"{n} reports; peer on 2000"})
    rows += _cat034_rows(n, reps)
    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0))
    cfg.radars[(0, 1)] = RadarSite(0, 1, 45.0, 16.0, 200.0, 1, 1)
    datagrams = [(None, d) for d in synthetic_datagrams(n)]
    plots_rate = _rate(lambda: AsterixDecoder(cfg).decode(datagrams), n, reps)
    rows.append({"name": "cat048 to plots (geodesy, covariance)", "value": round(plots_rate),
                 "unit": "plots/s", "peer": None, "peer_value": None, "ratio": None,
                 "notes": "pymap3d aer2geodetic with elevation refinement"})
    m = 500 if quick else 5000
    tracks = _bench_tracks(m)

    def encode062(libasterix: bool) -> None:
        enc = Cat062Encoder(LocalFrame(45.0, 16.0), sensor_kinds={1: "ssr"})  # a first cycle
        if libasterix:
            pack_blocks(enc.record_bytes_libasterix(tracks))
        else:
            enc.blocks(tracks)

    ours = _rate(lambda: encode062(False), m, reps)
    peer = _rate(lambda: encode062(True), m, reps)
    rows.append({"name": "cat062 encode", "value": round(ours), "unit": "records/s",
                 "peer": "libasterix", "peer_value": round(peer), "ratio": round(ours / peer, 2),
                 "notes": f"{m} distinct tracks, 16 items a record, first cycle, WGS-84 "
                          "included; peer: items built by libasterix (cold item cache)"})
    return rows


def _cat034_rows(n: int, reps: int) -> list[dict[str, Any]]:
    """CAT034 decode (a north marker and 7 sector crossings a scan, 8 messages a block), and
    what one zero-filled 64 KB CAT034 datagram costs the decoder (issue 17's flood)."""
    import asterix.base as ab

    from airpicture.io.asterix.layout import spec_class

    k = np.arange(n) % 8
    recs = encode.cat034_records("1.29", 0, 1, np.arange(n) * 0.6, np.where(k == 0, 1, 2),
                                 k * 45.0, 4.8)
    counts: Counter[str] = Counter()
    blocks = [b for i in range(0, n, 8)
              for b in split_blocks(encode.block(34, recs[i:i + 8]), counts)]
    fast = _rate(lambda: cat034.decode_fast(blocks, Counter()), n, reps)
    peer = _rate(lambda: cat034.decode(blocks[:250], "1.29", Counter()), 2000, 1)
    zeros = bytes([34]) + (65507).to_bytes(2, "big") + bytes(65504)
    dec = AsterixDecoder(AsterixConfig(frame=LocalFrame(45.0, 16.0)))
    ours = _rate(lambda: dec.decode([(None, zeros)]), 1, reps)
    cls = spec_class(34, "1.29")
    old = _rate(lambda: cls.cv_uap.parse(ab.Bits.from_bytes(zeros[3:])), 1, 1)
    return [
        {"name": "cat034 decode, north markers and sectors", "value": round(fast),
         "unit": "records/s", "peer": "libasterix", "peer_value": round(peer),
         "ratio": round(fast / peer, 2), "notes": f"{n} messages, 8 a block; peer on 2000"},
        {"name": "cat034 zero-filled 64 KB datagram", "value": round(ours),
         "unit": "datagrams/s", "peer": "libasterix", "peer_value": round(old, 3),
         "ratio": round(ours / old, 1),
         "notes": "rejected as empty_fspec; libasterix parses 65,504 empty records"},
    ]


def _bench_tracks(m: int) -> TrackTable:
    """m distinct tracks from one SSR, every optional item present."""
    rng = np.random.default_rng(2)
    return TrackTable(
        track_id=np.arange(m), t=np.full(m, 100.0), x=rng.uniform(-2e5, 2e5, m),
        y=rng.uniform(-2e5, 2e5, m), vx=rng.uniform(-250, 250, m), vy=rng.uniform(-250, 250, m),
        status=np.ones(m, np.int8), alt_ft=rng.uniform(0, 40000, m), vrate_fpm=np.zeros(m),
        icao24=rng.integers(1, 1 << 24, m),
        callsign=np.array([f"T{k:06d}" for k in range(m)], object),
        squawk=rng.integers(0, 4096, m).astype(np.int16), sigma_pos_m=rng.uniform(20, 500, m),
        last_update_t=100.0 - rng.uniform(0, 12, m), flags=np.zeros(m, np.uint16),
        sensor_ids=np.array([1], np.int32), sensor_last_t=100.0 - rng.uniform(0, 12, (m, 1)),
        alt_t=100.0 - rng.uniform(0, 12, m), t_start=100.0 - rng.uniform(0, 600, m),
    )
