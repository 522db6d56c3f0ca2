"""CAT034 and CAT021 decoding, the decoder to plots, geodesy, time of day, and fuzzing."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.geo import FT_TO_M, NM_TO_M, LocalFrame
from airpicture.io.asterix import cat021, cat034, encode
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.asterix.config import AsterixConfig, RadarSite
from airpicture.io.asterix.decoder import DAY_S, AsterixDecoder, resolve_tod
from airpicture.io.asterix.geodesy import geodetic_to_polar, polar_to_geodetic
from airpicture.io.asterix.transport import read_any
from tests.io.asterix_util import PCAP_034_048, blocks_of, reference_records

SICS = (11, 12, 13, 14, 201, 204, 205)


def croatia_config() -> AsterixConfig:
    """Notional sites (the recording does not say where its radars are)."""
    cfg = AsterixConfig(frame=LocalFrame(45.5, 16.0))
    for k, sic in enumerate(SICS):
        cfg.radars[(25, sic)] = RadarSite(25, sic, 45.0 + 0.2 * k, 15.0 + 0.3 * k, 300.0,
                                          psr_sensor_id=100 + k, ssr_sensor_id=k + 1)
    return cfg


def test_cat034_real_messages_match_reference(shared_data):
    msgs = cat034.decode(blocks_of(shared_data / PCAP_034_048, 34), "1.29", Counter())
    ref = [r for r in reference_records(
        shared_data / "croatiacontrol-asterix/expected/cat_034_048.txt") if r["cat"] == 34]
    assert len(msgs) == len(ref) == 34
    for m, r in zip(msgs, ref, strict=True):
        assert (m.sac, m.sic, m.message_type, m.tod_s) == (r["sac"], r["sic"],
                                                           r["message_type"], r["tod_s"])
        if "sector_deg" in r:
            assert m.sector_deg == r["sector_deg"]
        else:
            assert np.isnan(m.sector_deg)
    assert Counter(m.message_type for m in msgs) == {2: 32, 1: 2}


def test_decoder_on_real_pcap_makes_plots_and_radar_status(shared_data):
    cfg = croatia_config()
    dec = AsterixDecoder(cfg)
    res = dec.decode(read_any(shared_data / PCAP_034_048))
    # 128 reports, 2 of them "no detection" without a position.
    assert len(res.plots) == 126 and res.counts["plots_dropped:cat048_incomplete"] == 2
    assert res.counts["records:034"] == 34 and len(res.service) == 34
    assert set(np.unique(res.plots.sensor_id)) <= set(range(1, 8)) | set(range(100, 107))
    # Ground range below slant range, above slant range less the height difference.
    for key, site in cfg.radars.items():
        r = res.cat048.take((res.cat048.sic == key[1]) & np.isfinite(res.cat048.rho_nm)
                            & (res.cat048.typ != 0))
        sid = np.isin(res.plots.sensor_id, [site.psr_sensor_id, site.ssr_sensor_id])
        if not len(r):
            continue
        sx, sy, _ = cfg.frame.to_enu(site.lat_deg, site.lon_deg, 0.0)
        ground = np.sort(np.hypot(res.plots.x[sid] - sx, res.plots.y[sid] - sy))
        slant = np.sort(r.rho_nm * NM_TO_M)
        assert np.all(ground < slant + 1.0) and np.all(ground > slant - 15000.0)
    ssr = res.plots.icao24 > 0
    assert np.all(np.isfinite(res.plots.alt_ft[ssr]))
    # Time of day resolved on the capture's date (2016-05-05 07:35 UTC).
    assert np.all(np.abs(res.plots.t - 1462433756.0) < 30.0)
    assert np.all((res.plots.var_x > 0) & (res.plots.var_y > 0))
    st12 = dec.status[(25, 12)]
    assert st12.north_markers == 2 and st12.rotation_period_s == pytest.approx(4.9453125)
    assert st12.scan_period_s == pytest.approx(5.0, abs=0.2)
    assert st12.alive(st12.last_message_s + 10.0)
    assert not st12.alive(st12.last_message_s + 60.0)


def test_unknown_radar_and_other_editions_are_counted(shared_data):
    cfg = croatia_config()
    del cfg.radars[(25, 201)]
    cfg.source_editions[(34, 25, 12)] = "1.27"
    res = AsterixDecoder(cfg).decode(read_any(shared_data / PCAP_034_048))
    assert res.counts["plots_dropped:cat048_unknown_radar"] > 0
    assert res.counts["blocks:034"] == 34  # 1.27 reads these messages too


def test_cat021_real_reports(shared_data):
    counts: Counter[str] = Counter()
    rep = cat021.decode(blocks_of(shared_data / "croatiacontrol-asterix/cat21_re.ast"), "2.6",
                        counts)
    assert len(rep) == 2 and counts["blocks:021"] == 2
    np.testing.assert_allclose(rep.lat_deg, [61.4753294, 61.4752436], atol=1e-6)
    np.testing.assert_allclose(rep.lon_deg, [-7.8786993, -7.8788495], atol=1e-6)
    assert rep.icao24.tolist() == [1, 2] and rep.tod_s[0] == pytest.approx(28802.921875)


callsigns = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=8)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 20), seed=st.integers(0, 2**31), cs=callsigns)
def test_cat021_writer_round_trips(n, seed, cs):
    rng = np.random.default_rng(seed)
    tod = rng.uniform(0, 86399, n)
    lat, lon = rng.uniform(-89, 89, n), rng.uniform(-179, 179, n)
    adr = rng.integers(1, 1 << 24, n)
    fl = np.where(rng.random(n) < 0.2, np.nan, np.round(rng.uniform(-10, 500, n) * 4) / 4)
    nacp, nic, sil = rng.integers(0, 12, n), rng.integers(0, 12, n), rng.integers(0, 4, n)
    sq = rng.integers(-1, 4096, n)
    recs = encode.cat021_records("2.6", 1, 2, tod, lat, lon, adr, fl,
                                 np.array([cs] * n, object), nacp, nic, sil, sq)
    rep = cat021.decode(split_blocks(encode.block(21, recs), Counter()), "2.6", Counter())
    assert len(rep) == n
    np.testing.assert_allclose(rep.tod_s, tod, atol=1 / 256)
    np.testing.assert_allclose(rep.lat_deg, lat, atol=1e-7)
    np.testing.assert_allclose(rep.lon_deg, lon, atol=1e-7)
    np.testing.assert_array_equal(rep.fl, fl)
    assert rep.icao24.tolist() == adr.tolist() and rep.nacp.tolist() == nacp.tolist()
    assert rep.nic.tolist() == nic.tolist() and rep.sil.tolist() == sil.tolist()
    assert rep.mode3a.tolist() == sq.tolist()
    assert set(rep.callsign.tolist()) == {cs}


def test_cat034_writer_round_trips_and_gives_scan_period():
    steps = np.arange(0, 40, 0.5)
    k = np.arange(steps.size) % 8
    recs = encode.cat034_records("1.29", 3, 4, steps, np.where(k == 0, 1, 2), k * 45.0, 4.0)
    counts: Counter[str] = Counter()
    msgs = cat034.decode(split_blocks(encode.block(34, recs), counts), "1.29", counts)
    assert [m.message_type for m in msgs[:9]] == [1, 2, 2, 2, 2, 2, 2, 2, 1]
    st_ = cat034.RadarStatus(3, 4)
    for m in msgs:
        st_.update(m, m.tod_s)
    assert st_.scan_period_s == pytest.approx(4.0) and st_.north_markers == 10


@settings(max_examples=80, deadline=None)
@given(rho_m=st.floats(2000, 450000), az=st.floats(0, 359.99), h_m=st.floats(0, 13000),
       site_h=st.floats(0, 2000), lat=st.floats(-70, 70))
def test_polar_geodesy_round_trips(rho_m, az, h_m, site_h, lat):
    site = RadarSite(0, 1, lat, 10.0, site_h)
    # Only geometrically possible targets: the slant range must exceed the height difference.
    if rho_m < abs(h_m - site_h) * 1.5:
        return
    la, lo, hh = polar_to_geodetic(site, np.array([rho_m]), np.array([az]), np.array([h_m]))
    rho2, az2 = geodetic_to_polar(site, la, lo, hh)
    assert abs(hh[0] - h_m) < 0.5
    assert rho2[0] == pytest.approx(rho_m, abs=1e-3)
    # Azimuth error as a cross-range distance: below a millimetre.
    assert abs((az2[0] - az + 180) % 360 - 180) * np.pi / 180 * rho_m < 1e-3


@settings(max_examples=200, deadline=None)
@given(t_utc=st.floats(0, 4e9), lag=st.floats(-3600, 3600))
def test_time_of_day_resolves_across_midnight(t_utc, lag):
    tod = t_utc % DAY_S
    assert resolve_tod(tod, t_utc + lag) == pytest.approx(t_utc, abs=1e-3)


def test_midnight_roll_over_on_a_stream():
    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0), t0_utc_s=DAY_S - 10.0)
    cfg.radars[(0, 1)] = RadarSite(0, 1, 45.0, 16.0, 0.0, 1, 1)
    dec = AsterixDecoder(cfg)
    out = []
    for tod in (DAY_S - 5.0, DAY_S - 1.0, 2.0, 6.0):
        recs = encode.cat048_records("1.32", 0, 1, [tod], [5], [50.0], [10.0], [0o1234],
                                     [300.0], [0xABCDEF], np.array(["X"], object))
        out.append(dec.decode([(None, encode.block(48, recs))]).plots.t[0])
    np.testing.assert_allclose(out, [5.0, 9.0, 12.0, 16.0], atol=0.01)


def test_radar_plot_height_and_position():
    """A plot due east at known slant range and FL lands where pymap3d puts it."""
    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0))
    site = RadarSite(0, 1, 45.0, 16.0, 500.0, 1, 1, sigma_range_m=50.0, sigma_azimuth_deg=0.1)
    cfg.radars[(0, 1)] = site
    recs = encode.cat048_records("1.32", 0, 1, [100.0], [1], [100.0], [90.0], [-1], [np.nan],
                                 [0], np.array([""], object))
    plots = AsterixDecoder(cfg).decode([(None, encode.block(48, recs))]).plots
    assert plots.sensor_id.tolist() == [1] and plots.icao24.tolist() == [0]
    la, lo, _ = polar_to_geodetic(site, np.array([100 * NM_TO_M]), np.array([90.0]),
                                  np.array([cfg.assumed_height_m]))
    x, y, _ = cfg.frame.to_enu(la, lo, 0.0)
    assert plots.x[0] == pytest.approx(x[0], abs=0.01) and plots.y[0] == pytest.approx(y[0])
    # East-pointing beam: range error along x, azimuth error along y.
    assert plots.var_x[0] == pytest.approx(50.0**2, rel=1e-6)
    assert np.sqrt(plots.var_y[0]) == pytest.approx(np.radians(0.1) * x[0], rel=0.01)
    assert FT_TO_M == 0.3048


def _fuzz_invariant(datagram: bytes) -> None:
    cfg = croatia_config()
    for fast in (True, False):
        dec = AsterixDecoder(cfg, fast=fast)
        res = dec.decode([(None, datagram)])
        c = res.counts
        header_rejects = sum(v for k, v in c.items() if k.startswith("blocks_rejected:")
                             and not k.startswith("blocks_rejected:cat"))
        n_blocks = len(split_blocks(datagram, Counter()))
        accounted = sum(v for k, v in c.items() if k.startswith(("blocks:", "skipped_category:",
                                                                 "blocks_rejected:cat")))
        assert accounted == n_blocks
        assert header_rejects <= 1
        assert np.all(np.isfinite(res.plots.x)) and np.all(np.isfinite(res.plots.t))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_datagrams_never_raise_and_every_block_counted(datagram):
    _fuzz_invariant(datagram)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_fuzz_mutated_real_datagrams(shared_data, data):
    datagrams = [d for _, d in read_any(shared_data / PCAP_034_048)]
    raw = bytearray(data.draw(st.sampled_from(datagrams)))
    kind = data.draw(st.sampled_from(["byte", "length", "truncate", "category"]))
    if kind == "byte":
        for _ in range(data.draw(st.integers(1, 5))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    elif kind == "length":  # a length field that lies
        raw[1:3] = data.draw(st.integers(0, 65535)).to_bytes(2, "big")
    elif kind == "truncate":  # FSPEC or items running off the end
        raw = raw[:data.draw(st.integers(0, len(raw)))]
    else:
        raw[0] = data.draw(st.sampled_from([1, 2, 30, 32, 62, 65, 136, 255]))
    _fuzz_invariant(bytes(raw))


def test_midnight_roll_over_inside_one_file_without_times():
    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0), t0_utc_s=DAY_S * 100 - 30.0)
    cfg.radars[(0, 1)] = RadarSite(0, 1, 45.0, 16.0, 0.0, 1, 1)
    tods = [DAY_S - 20.0, DAY_S - 4.0, 3.0, 40.0]
    blocks = b"".join(encode.block(48, encode.cat048_records(
        "1.32", 0, 1, [tod], [5], [50.0], [10.0], [1], [300.0], [7], np.array(["X"], object)))
        for tod in tods)
    plots = AsterixDecoder(cfg).decode([(None, blocks)]).plots
    np.testing.assert_allclose(plots.t, [10.0, 26.0, 33.0, 70.0], atol=0.01)
    assert np.all(np.isnan(plots.t_arrival))


def test_adsb_time_resolves_near_its_receive_time():
    from airpicture.io.asterix.config import AdsbSource

    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0))
    cfg.adsb[(0, 9)] = AdsbSource(0, 9, 9)
    recv = 1_700_000_000.0
    recs = encode.cat021_records("2.6", 0, 9, [(recv - 0.5) % DAY_S], [45.1], [16.1], [5],
                                 [300.0], np.array(["A"], object), [8], [7], [2])
    plots = AsterixDecoder(cfg).decode([(recv, encode.block(21, recs))]).plots
    assert plots.t[0] == pytest.approx(recv - 0.5, abs=0.01)
    assert plots.t_arrival[0] == pytest.approx(recv)
    assert plots.sensor_id.tolist() == [9] and plots.nacp.tolist() == [8]


def _every_decoder(datagram: bytes) -> None:
    from airpicture.io.asterix import cat048, cat062
    from airpicture.io.asterix.dump import as_text, dump_records

    blocks = split_blocks(datagram, Counter())
    for cat, run in (
        (48, lambda b, c: cat048.decode_fast(b, c)),
        (48, lambda b, c: cat048.decode_oracle(b, c)),
        (34, lambda b, c: cat034.decode(b, "1.29", c)),
        (21, lambda b, c: cat021.decode(b, "2.6", c)),
        (62, lambda b, c: cat062.decode(b, c)),
    ):
        mine = [b for b in blocks if b.category == cat]
        c: Counter[str] = Counter()
        run(mine, c)
        done = sum(v for k, v in c.items() if k.startswith(("blocks:", "blocks_rejected:")))
        assert done == len(mine)
    rows = list(dump_records([(None, datagram)]))
    assert all(isinstance(as_text(r), str) for r in rows)


@settings(max_examples=150, deadline=None)
@given(cat=st.sampled_from([21, 34, 48, 62, 1, 2, 65]), body=st.binary(min_size=1, max_size=80))
def test_fuzz_every_decoder_with_random_blocks(cat, body):
    _every_decoder(bytes([cat]) + (len(body) + 3).to_bytes(2, "big") + body)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fuzz_every_decoder_with_mutated_real_blocks(shared_data, data):
    name = data.draw(st.sampled_from([
        "croatiacontrol-asterix/cat21_re.ast", "croatiacontrol-asterix/cat034.raw",
        "croatiacontrol-asterix/cat048.raw", "asterix4py/cat062.ast",
        "croatiacontrol-asterix/cat062cat065.raw"]))
    raw = bytearray((shared_data / name).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(3, len(raw) - 1))] = data.draw(st.integers(0, 255))
    _every_decoder(bytes(raw[:data.draw(st.integers(4, len(raw)))]))


def test_edition_per_source_from_json_is_used(shared_data):
    from airpicture.core.errors import UserError

    obj = {"origin": {"lat": 61.0, "lon": -7.0},
           "adsb": [{"sac": 0, "sic": 1, "sensor_id": 5, "editions": {"21": "0.23"}}]}
    data = read_any(shared_data / "croatiacontrol-asterix/cat21_re.ast")
    res = AsterixDecoder(AsterixConfig.from_dict(obj)).decode(data)
    # A 2.x report read as edition 0.23 does not parse: rejected, no plot.
    assert len(res.plots) == 0 and res.counts["blocks_rejected:cat021_libasterix"] == 2
    obj["adsb"][0]["editions"] = {"21": "2.6"}
    res = AsterixDecoder(AsterixConfig.from_dict(obj)).decode(data)
    assert len(res.plots) == 2 and set(res.plots.sensor_id.tolist()) == {5}
    obj["adsb"][0]["editions"] = {"21": "7.7"}
    with pytest.raises(UserError, match=r"7\.7"):
        AsterixConfig.from_dict(obj)


def _same21(a: cat021.Cat021Reports, b: cat021.Cat021Reports) -> None:
    from dataclasses import fields

    for f in fields(cat021.Cat021Reports):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x.dtype == object:
            assert list(x) == list(y), f.name
        else:
            np.testing.assert_array_equal(x, y, err_msg=f.name)


def test_cat021_fast_path_on_real_reports(shared_data):
    blocks = blocks_of(shared_data / "croatiacontrol-asterix/cat21_re.ast")
    c1: Counter[str] = Counter()
    c2: Counter[str] = Counter()
    _same21(cat021.decode_fast(blocks, c1), cat021.decode(blocks, "2.6", c2))
    assert c1 == c2


@settings(max_examples=80, deadline=None)
@given(data=st.data(), edition=st.sampled_from(sorted(cat021.FAST_EDITIONS)))
def test_cat021_fast_path_equals_libasterix_on_random_records(data, edition):
    from airpicture.io.asterix.layout import spec_class
    from tests.io.asterix_util import block_bytes, record_strategy

    spec = spec_class(21, edition)
    recs = data.draw(st.lists(record_strategy(spec), min_size=1, max_size=3))
    raw = bytearray(block_bytes(spec, recs))
    if data.draw(st.booleans()):  # and mutated: rejected alike, or read alike
        raw[data.draw(st.integers(3, len(raw) - 1))] = data.draw(st.integers(0, 255))
    blocks = split_blocks(bytes(raw), Counter())
    c1: Counter[str] = Counter()
    c2: Counter[str] = Counter()
    _same21(cat021.decode_fast(blocks, c1, edition), cat021.decode(blocks, edition, c2))
    assert _accepted(c1) == _accepted(c2)


def _accepted(c: Counter[str]) -> tuple[int, int, int]:
    """(blocks read, records read, blocks rejected for any reason)."""
    rejected = sum(v for k, v in c.items() if k.startswith("blocks_rejected:"))
    return c["blocks:021"], c["records:021"], rejected


@settings(max_examples=60, deadline=None)
@given(tod=st.floats(0, 86399), typ=st.integers(1, 7), rho=st.floats(0, 255.9),
       theta=st.floats(0, 359.9), sq=st.integers(-1, 4095),
       fl=st.one_of(st.just(float("nan")), st.floats(-12, 1500)), adr=st.integers(0, 2**24 - 1),
       cs=callsigns)
def test_cat048_writer_bytes_equal_libasterix(tod, typ, rho, theta, sq, fl, adr, cs):
    """Our vectorised writer gives the bytes libasterix builds from the same values."""
    from airpicture.io.asterix.layout import spec_class

    ours = encode.cat048_records("1.32", 7, 9, [tod], [typ], [rho], [theta], [sq], [fl], [adr],
                                 np.array([cs], object))[0]
    args: dict = {"010": (("SAC", 7), ("SIC", 9)), "140": (tod, "s"), "020": (typ << 4,),
                  "040": (("RHO", (rho, "NM")), ("THETA", (theta, "°")))}
    if sq >= 0:
        args["070"] = sq
    if np.isfinite(fl):
        args["090"] = round(fl * 4) & 0x3FFF
    if adr > 0:
        args["220"] = adr
    if cs:
        args["240"] = cs
    spec = spec_class(48, "1.32")
    assert ours == spec.cv_record.create(args).unparse().to_bytes()
