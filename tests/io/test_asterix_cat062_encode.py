"""The numpy CAT062 encoder against its oracle (items built by libasterix): the same bytes on
random track tables full of edge values, in every edition, over several cycles (TSB / TSE);
libasterix reads the bytes back as the values sent (quantised, saturated at each field's range)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.geo import LocalFrame
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.asterix import cat062
from airpicture.io.asterix import cat062_encode as ce
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.asterix.cat062 import Cat062Encoder, pack_blocks
from airpicture.io.asterix.layout import editions, quantity_info
from airpicture.io.asterix.output import split_tracks

FRAME = LocalFrame(45.0, 16.0)
EDITIONS = editions(62)
SENSOR_IDS = np.array([1, 2, 3, 4, 5], np.int32)
KINDS = {1: "psr", 2: "ssr", 3: "adsb", 4: "mlat"}
"""Sensor 5 has no kind: it counts for MON but feeds no I062/290 age."""
NAN = float("nan")


def _edge_floats(lo: float, hi: float, edges: list[float], nan: bool = False) -> Any:
    """Floats in [lo, hi], often exactly one of `edges` (field limits, half LSBs), maybe NaN."""
    out = st.one_of(st.floats(lo, hi), st.sampled_from(edges))
    return st.one_of(out, st.just(NAN)) if nan else out


POS_M = _edge_floats(-5e6, 5e6, [-4194304.0, -4194304.25, 4194303.5, 4194303.75, 4194304.0,
                                 0.25, -0.25, 0.75, 1e6])
VEL_MPS = _edge_floats(-1e4, 1e4, [-8192.0, -8192.1, 8191.75, 8191.875, 8191.9, 8192.0,
                                   0.125, -0.125, 0.375])
ALT_FT = _edge_floats(-1e6, 1e6, [-819200.0, -819300.0, 819175.0, 819190.0, 819200.0, 12.5,
                                  37.5, 0.0], nan=True)
VRATE_FPM = _edge_floats(-3e5, 3e5, [300.0, 299.99, -300.0, -299.99, 204793.75, 204800.0,
                                     -204800.0, -204806.25, 3.125, 0.0], nan=True)
SIGMA_M = _edge_floats(-10.0, 1e5, [0.0, 0.25, 32767.5, 32767.75, 40000.0, -1.0], nan=True)
AGE_S = _edge_floats(-5.0, 100.0, [0.0, 0.125, 12.0, 12.0001, 63.75, 63.875, 64.0], nan=True)
CALLSIGN = st.one_of(
    st.sampled_from(["", "AFR1234", "ABCDEFGHIJ", "  ", "ab", "A B", "12345678", "Z9 ", None]),
    st.text(alphabet="ABZ09 az-.\x00é\U0001f600", max_size=10))


@st.composite
def track_tables(draw: Any) -> tuple[TrackTable, float]:
    """A random table (1-30 tracks, some non-finite) and t0_utc_s, often at a field's edge:
    NaN altitude / vertical rate / sigma / ages, no address, empty or odd callsigns, squawk -1,
    every status, random flags, times whose time of day rounds to 24:00, repeated numbers."""
    n = draw(st.integers(1, 30))

    def col(s: Any) -> list[Any]:
        return draw(st.lists(s, min_size=n, max_size=n))

    t0 = draw(st.sampled_from([0.0, 86400.0 * 3 - 10.0, 1.7e9]))
    t = np.array(col(st.one_of(st.floats(0.0, 2e5), st.sampled_from(
        [86399.998, 86399.996, 172799.999, 0.0039, 10.0, NAN]))))
    ids = col(st.one_of(st.integers(-3, 200_000), st.integers(0, 5)))
    ages = np.array(col(st.lists(AGE_S, min_size=5, max_size=5)))
    icao = col(st.one_of(st.integers(1, (1 << 24) - 1),
                         st.sampled_from([0, -1, 1, (1 << 24) - 1, 1 << 24])))
    tracks = TrackTable(
        track_id=np.array(ids, np.int64), t=t,
        x=np.array(col(st.one_of(POS_M, st.just(NAN)))), y=np.array(col(POS_M)),
        vx=np.array(col(VEL_MPS)), vy=np.array(col(st.one_of(VEL_MPS, st.just(np.inf)))),
        status=np.array(col(st.integers(0, 2)), np.int8), alt_ft=np.array(col(ALT_FT)),
        vrate_fpm=np.array(col(VRATE_FPM)), icao24=np.array(icao, np.int64),
        callsign=np.array(col(CALLSIGN), object),
        squawk=np.array(col(st.one_of(st.integers(-1, 4095), st.sampled_from(
            [-1, -2, 0, 0o7777, 32767]))), np.int16),
        sigma_pos_m=np.array(col(SIGMA_M)), last_update_t=t - np.array(col(AGE_S)),
        flags=np.array(col(st.integers(0, 0xFFFF)), np.uint16), sensor_ids=SENSOR_IDS,
        sensor_last_t=t[:, None] - ages, alt_t=t - np.array(col(AGE_S)),
        t_start=t - np.array(col(st.one_of(AGE_S, st.floats(0.0, 1e4)))),
    )
    return tracks, t0


def _encoders(edition: str, t0: float, kinds: dict[int, str]) -> tuple[Cat062Encoder, ...]:
    """The numpy encoder and its oracle, configured alike."""
    return tuple(Cat062Encoder(FRAME, sac=25, sic=100, service_id=7, edition=edition,
                               t0_utc_s=t0, sensor_kinds=dict(kinds)) for _ in range(2))


@settings(max_examples=150, deadline=None)
@given(table=track_tables(), edition=st.sampled_from(EDITIONS),
       kinds=st.fixed_dictionaries({}, optional={k: st.just(v) for k, v in KINDS.items()}))
def test_numpy_records_equal_libasterix_records(table, edition, kinds):
    tracks, t0 = table
    ours, oracle = _encoders(edition, t0, kinds)
    half = tracks.take(np.arange(len(tracks)) % 2 == 0)
    for part, ending in [(tracks, False), (half, False), (half, True), (tracks, False)]:
        got = ours.record_bytes(part, ending)
        want = oracle.record_bytes_libasterix(part, ending)
        assert len(got) == len(want)
        for k, (a, b) in enumerate(zip(got, want, strict=True)):
            assert a == b, (k, a.hex(), b.hex())
    assert ours.skipped_nonfinite == oracle.skipped_nonfinite
    assert ours._seen == oracle._seen


def _expected_callsign(c: Any) -> str:
    """What libasterix reads back from the ID we send: 8 characters, the ICAO ones kept."""
    s = f"{str(c or '')[:8]:<8}"
    return "".join(ch for ch in s if ch == " " or "A" <= ch <= "Z" or "0" <= ch <= "9").rstrip()


def _q(v: Any, lsb: float, lo: float, hi: float) -> Any:
    """A value as the field carries it: saturated to [lo, hi], rounded to the LSB."""
    return np.rint(np.clip(v, lo, hi) / lsb) * lsb


@settings(max_examples=80, deadline=None)
@given(table=track_tables(), edition=st.sampled_from(EDITIONS))
def test_libasterix_reads_back_the_values_sent(table, edition):
    tracks, t0 = table
    enc = Cat062Encoder(FRAME, sac=25, sic=100, edition=edition, t0_utc_s=t0,
                        sensor_kinds=dict(KINDS))
    counts: Counter[str] = Counter()
    back = [b for blk in enc.blocks(tracks, 1400)
            for b in cat062.decode(split_blocks(blk, counts), counts, edition)]
    ok = (np.isfinite(tracks.x) & np.isfinite(tracks.y) & np.isfinite(tracks.vx)
          & np.isfinite(tracks.vy) & np.isfinite(tracks.t))
    tr = tracks.take(ok)
    assert len(back) == len(tr) and not any(k.startswith("blocks_rejected") for k in counts)
    lat, lon = FRAME.ground_to_geodetic(tr.x, tr.y)
    lsb = ce.LATLON_LSB_DEG
    seen: set[int] = set()
    for i, b in enumerate(back):
        tid = int(tr.track_id[i])
        assert (b.sac, b.sic, b.track_number) == (25, 100, tid & 0xFFFF)
        assert b.tsb == int(tid not in seen) and b.tse == 0
        seen.add(tid)
        tod = np.rint(np.mod(t0 + tr.t[i], 86400.0) * 128) % (86400 * 128) / 128
        assert b.tod_s == tod
        assert b.lat_deg == pytest.approx(np.rint(lat[i] / lsb) * lsb, abs=1e-12)
        assert b.lon_deg == pytest.approx(np.rint(lon[i] / lsb) * lsb, abs=1e-12)
        assert b.x_m == _q(tr.x[i], 0.5, -4194304, 4194303.5)
        assert b.y_m == _q(tr.y[i], 0.5, -4194304, 4194303.5)
        assert b.vx_mps == _q(tr.vx[i], 0.25, -8192, 8191.75)
        assert b.vy_mps == _q(tr.vy[i], 0.25, -8192, 8191.75)
        fl = _q(tr.alt_ft[i] / 100.0, 0.25, -8192, 8191.75)
        assert b.fl == fl or (np.isnan(fl) and np.isnan(b.fl))
        vr = _q(tr.vrate_fpm[i], 6.25, -204800, 204793.75)
        assert b.vrate_fpm == pytest.approx(vr, abs=1e-9, nan_ok=True)
        assert b.mode3a == (int(tr.squawk[i]) & 0xFFF if tr.squawk[i] >= 0 else -1)
        assert b.icao24 == (int(tr.icao24[i]) & 0xFFFFFF if tr.icao24[i] > 0 else 0)
        assert b.callsign == _expected_callsign(tr.callsign[i])
        assert b.cnf == int(tr.status[i] == TrackStatus.TENTATIVE)
        assert b.cst == int(tr.status[i] == TrackStatus.COASTING)
        assert b.aff == int(bool(tr.flags[i] & ce.AFF_FLAGS))
        assert b.pft == int(bool(tr.flags[i] & ce.PFT_FLAGS))
        assert b.mon == int(np.isfinite(tr.sensor_last_t[i]).sum() <= 1)
        sigma = _q(tr.sigma_pos_m[i], 0.5, 0.0, 32767.5)
        assert b.sigma_x_m == sigma or (np.isnan(sigma) and np.isnan(b.sigma_x_m))
        age = _q(tr.t[i] - tr.t_start[i], 0.25, 0.0, 63.75)  # since the track began
        assert b.age_trk_s == age or (np.isnan(age) and np.isnan(b.age_trk_s))
        mfl = _q(tr.t[i] - tr.alt_t[i], 0.25, 0.0, 63.75)   # of the measured level
        if np.isnan(fl) or np.isnan(mfl):
            assert np.isnan(b.age_mfl_s)
        else:
            assert b.age_mfl_s == mfl


@pytest.mark.parametrize("edition", EDITIONS)
def test_lsbs_are_the_specs(edition):
    for (item, sub), lsb in {
        ("070", None): ce.TOD_LSB_S, ("100", "X"): ce.POS_LSB_M, ("100", "Y"): ce.POS_LSB_M,
        ("105", "LAT"): ce.LATLON_LSB_DEG, ("105", "LON"): ce.LATLON_LSB_DEG,
        ("185", "VX"): ce.VEL_LSB_MPS, ("136", None): ce.FL_LSB,
        ("220", None): ce.VRATE_LSB_FPM, ("290", "TRK"): ce.AGE_LSB_S,
        ("290", "MLT"): ce.AGE_LSB_S, ("295", "MFL"): ce.AGE_LSB_S,
    }.items():
        assert quantity_info(62, edition, item, sub)[0] == lsb


@settings(max_examples=100, deadline=None)
@given(lengths=st.lists(st.integers(0, 300), max_size=60), max_bytes=st.integers(4, 1500))
def test_block_packing_fills_in_order_like_the_greedy_loop(lengths, max_bytes):
    records = [bytes([k % 256]) * n for k, n in enumerate(lengths)]
    want: list[list[bytes]] = []
    size = 3
    for rec in records:
        if not want or (size + len(rec) > max_bytes and want[-1]):
            want.append([])
            size = 3
        want[-1].append(rec)
        size += len(rec)
    got = pack_blocks(records, max_bytes)
    assert got == [bytes([62]) + (3 + sum(map(len, w))).to_bytes(2, "big") + b"".join(w)
                   for w in want if w]


def test_split_tracks_equals_records_packed():
    rng = np.random.default_rng(5)
    n = 900
    tracks = TrackTable(
        track_id=np.arange(n), t=np.full(n, 50.0), x=rng.uniform(-1e5, 1e5, n),
        y=rng.uniform(-1e5, 1e5, n), vx=rng.uniform(-200, 200, n), vy=rng.uniform(-200, 200, n),
        status=rng.integers(0, 3, n).astype(np.int8), alt_ft=rng.uniform(0, 4e4, n),
        vrate_fpm=rng.uniform(-3e3, 3e3, n), icao24=rng.integers(0, 1 << 24, n),
        callsign=np.array([f"C{k}" if k % 4 else "" for k in range(n)], object),
        squawk=rng.integers(-1, 4096, n).astype(np.int16), sigma_pos_m=rng.uniform(5, 900, n),
        last_update_t=np.full(n, 45.0), flags=np.zeros(n, np.uint16), sensor_ids=SENSOR_IDS,
        sensor_last_t=np.where(rng.random((n, 5)) < 0.5, NAN, 48.0),
    )
    ours, oracle = _encoders("1.21", 0.0, KINDS)
    ended = tracks.take(np.arange(300))
    got = split_tracks(ours, tracks, ended, 5000)
    want = pack_blocks(oracle.record_bytes_libasterix(tracks)
                       + oracle.record_bytes_libasterix(ended, ending=True), 5000)
    assert got == want and len(got) > 10


def test_icao_callsigns_match_libasterix_coding():
    import asterix.base as ab

    names = np.array(["", "AFR1234", "abc", "A\0B", "ÉTÉ", "LONGER THAN 8", " Z9", None],
                     object)
    packed, present = ce.icao_callsigns(names)
    want = [ab.StringICAO.from_string(48, str(c or "")) for c in names]
    assert packed.tolist() == want
    assert present.tolist() == [bool(c) for c in names]
    packed_fast, _ = ce.icao_callsigns(names[names != "A\0B"])
    assert packed_fast.tolist() == [w for c, w in zip(names, want, strict=True) if c != "A\0B"]
