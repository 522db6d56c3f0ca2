"""ASTERIX input robustness: CAT034 on the fast path (libasterix its oracle), empty FSPECs,
record / block / message caps, and the scan period measured from CAT034 north markers."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.core.geo import LocalFrame
from airpicture.io.asterix import cat021, cat034, cat048, cat062, encode
from airpicture.io.asterix.blocks import MAX_BLOCKS_PER_DATAGRAM, split_blocks
from airpicture.io.asterix.config import AsterixConfig, RadarSite
from airpicture.io.asterix.decoder import MAX_SERVICE_MESSAGES_PER_DATAGRAM, AsterixDecoder
from airpicture.io.asterix.layout import spec_class
from tests.io.asterix_util import PCAP_034_048, block_bytes, blocks_of, record_strategy

MAX_DATAGRAM = 65507


def _same(a: list[cat034.ServiceMessage], b: list[cat034.ServiceMessage]) -> None:
    """Equal message lists, NaN equal to NaN."""
    def norm(m: cat034.ServiceMessage) -> tuple[object, ...]:
        return tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in m)

    assert [norm(m) for m in a] == [norm(m) for m in b]


def test_cat034_fast_equals_libasterix_on_real_messages(shared_data):
    blocks = blocks_of(shared_data / PCAP_034_048, 34) + blocks_of(
        shared_data / "croatiacontrol-asterix/cat034.raw", 34)
    c1: Counter[str] = Counter()
    c2: Counter[str] = Counter()
    fast = cat034.decode_fast(blocks, c1)
    _same(fast, cat034.decode(blocks, "1.29", c2))
    assert c1 == c2 and c1["records:034"] == 35
    assert {m.message_type for m in fast} == {1, 2}
    assert sum(m.status_flags is not None for m in fast) == 11  # I034/050 in 11 messages
    assert all(m.status_flags == () for m in fast if m.status_flags is not None)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), edition=st.sampled_from(["1.27", "1.28", "1.29"]))
def test_cat034_fast_equals_libasterix_on_random_records(data, edition):
    """Random records of every item (050 with random COM/PSR/SSR/MDS bits), sometimes with a
    byte changed: rejected alike, or read alike."""
    spec = spec_class(34, edition)
    recs = data.draw(st.lists(record_strategy(spec), min_size=1, max_size=4))
    raw = bytearray(block_bytes(spec, recs))
    if data.draw(st.booleans()):
        raw[data.draw(st.integers(3, len(raw) - 1))] = data.draw(st.integers(0, 255))
    blocks = split_blocks(bytes(raw), Counter())
    c1: Counter[str] = Counter()
    c2: Counter[str] = Counter()
    _same(cat034.decode_fast(blocks, c1, edition), cat034.decode(blocks, edition, c2))
    assert c1["records:034"] == c2["records:034"] and c1["blocks:034"] == c2["blocks:034"]


def test_status_flags_name_what_050_reports():
    spec = spec_class(34, "1.29")
    rec = spec.cv_record.create({
        "010": (("SAC", 1), ("SIC", 2)), "000": 1, "030": (100.0, "s"),
        "050": {"COM": 0x80 | 0x10, "PSR": 0x10, "SSR": 0x20},  # NOGO, OVLRDP; PSR no chain
    })
    blocks = split_blocks(block_bytes(spec, [rec]), Counter())
    fast = cat034.decode_fast(blocks, Counter())
    assert fast[0].status_flags == ("NOGO", "OVLRDP", "PSR:no_channel", "PSR:OVL")
    _same(fast, cat034.decode(blocks, "1.29", Counter()))


def _zero_block(cat: int, size: int = MAX_DATAGRAM) -> bytes:
    return bytes([cat]) + size.to_bytes(2, "big") + bytes(size - 3)


@pytest.mark.parametrize("cat,run", [
    (34, lambda b, c: cat034.decode_fast(b, c)),
    (34, lambda b, c: cat034.decode(b, "1.29", c)),
    (48, lambda b, c: cat048.decode_fast(b, c)),
    (48, lambda b, c: cat048.decode_oracle(b, c)),
    (21, lambda b, c: cat021.decode_fast(b, c)),
    (21, lambda b, c: cat021.decode(b, "0.26", c)),
    (62, lambda b, c: cat062.decode(b, c)),
])
def test_empty_fspec_rejects_the_block_in_every_decoder(cat, run):
    """A zero-filled 64 KB block is 65,504 records with an empty FSPEC to libasterix (2.65 s
    of CPU for CAT034); every decoder rejects it as empty_fspec before reading it."""
    counts: Counter[str] = Counter()
    run(split_blocks(_zero_block(cat), counts), counts)
    assert counts[f"blocks_rejected:cat{cat:03d}_empty_fspec"] == 1
    assert counts[f"records:{cat:03d}"] == 0


def test_empty_fspec_after_good_records_rejects_the_block():
    recs = encode.cat034_records("1.29", 0, 1, [10.0, 11.0], [1, 2], [0.0, 45.0], 4.0)
    block = encode.block(34, [*recs, b"\x00"])
    counts: Counter[str] = Counter()
    assert cat034.decode_fast(split_blocks(block, counts), counts) == []
    assert counts["blocks_rejected:cat034_empty_fspec"] == 1


def test_record_cap_per_block_is_counted():
    recs = encode.cat034_records("1.29", 0, 1, np.arange(11.0), np.full(11, 2), np.zeros(11))
    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0))
    res = AsterixDecoder(cfg, max_records_per_block=10).decode([(None, encode.block(34, recs))])
    assert res.counts["blocks_rejected:cat034_too_many_records"] == 1 and res.service == []
    res = AsterixDecoder(cfg, max_records_per_block=11).decode([(None, encode.block(34, recs))])
    assert len(res.service) == 11


def test_block_cap_per_datagram_is_counted():
    tiny = encode.block(34, encode.cat034_records("1.29", 0, 1, [1.0], [2], [0.0]))
    counts: Counter[str] = Counter()
    blocks = split_blocks(tiny * (MAX_BLOCKS_PER_DATAGRAM + 5), counts)
    assert len(blocks) == MAX_BLOCKS_PER_DATAGRAM
    assert counts["blocks_rejected:too_many_blocks"] == 1


def _radar_config() -> AsterixConfig:
    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0), t0_utc_s=0.0)
    cfg.radars[(0, 7)] = RadarSite(0, 7, 45.0, 16.0, 100.0, psr_sensor_id=7, ssr_sensor_id=17,
                                   name="Test radar")
    return cfg


def _cat048(tod_s: float) -> bytes:
    return encode.block(48, encode.cat048_records(
        "1.32", 0, 7, [tod_s], [5], [40.0], [90.0], [0o1234], [300.0], [0xABCDEF],
        np.array(["TEST1"], object)))


def test_cat034_floods_do_not_starve_cat048():
    """23 datagrams of 64 KB CAT034 (zero-filled, and valid messages past the per-datagram
    cap) then one valid CAT048: the plot is decoded and every flood is counted."""
    dec = AsterixDecoder(_radar_config())
    t0 = 1_800_000_000.0
    north = encode.cat034_records("1.29", 0, 7, np.full(6000, t0 % 86400), np.ones(6000, int),
                                  np.zeros(6000), 4.8)
    valid = b"".join(encode.block(34, north[i:i + 2000]) for i in range(0, 6000, 2000))
    assert len(valid) <= MAX_DATAGRAM
    floods = [(t0, _zero_block(34)) if k % 2 else (t0, valid) for k in range(23)]
    res = dec.decode([*floods, (t0 + 1, _cat048((t0 + 1) % 86400))])
    assert len(res.plots) == 1 and res.plots.icao24.tolist() == [0xABCDEF]
    assert res.counts["blocks_rejected:cat034_empty_fspec"] == 11
    assert len(res.service) == 12 * MAX_SERVICE_MESSAGES_PER_DATAGRAM
    assert res.counts["service_dropped:cat034_over_datagram_cap"] == 12 * (
        6000 - MAX_SERVICE_MESSAGES_PER_DATAGRAM)


def _scan(period_s: float, scans: int, t0_utc_s: float, jitter_s: float = 0.0,
          seed: int = 0) -> list[tuple[float, bytes]]:
    """A radar's CAT034 as it would arrive: a north marker and 7 sector crossings per scan,
    each in its own datagram, received a little after its time of day."""
    rng = np.random.default_rng(seed)
    steps = np.arange(scans * 8) * period_s / 8
    k = np.arange(steps.size) % 8
    tod = (t0_utc_s + steps + rng.normal(0, jitter_s, steps.size)) % 86400
    recs = encode.cat034_records("1.29", 0, 7, tod, np.where(k == 0, 1, 2), k * 45.0,
                                 period_s)
    return [(t0_utc_s + s + 0.05, encode.block(34, [r])) for s, r in zip(steps, recs,
                                                                         strict=True)]


def test_scan_period_measured_from_north_markers_within_one_percent():
    t0 = 1_800_000_000.0
    dec = AsterixDecoder(_radar_config())
    for datagram in _scan(4.8, 30, t0, jitter_s=0.004):
        dec.decode([datagram])
    periods = dec.scan_periods()
    assert set(periods) == {7, 17}
    assert periods[7] == pytest.approx(4.8, rel=0.01) and periods[17] == periods[7]
    (row,) = dec.radar_status(now_s=t0 + 30 * 4.8)
    assert row["name"] == "Test radar" and row["sensor_ids"] == [7, 17]
    assert row["alive"] and not row["degraded"] and row["north_markers"] == 30
    assert row["period_s"] == pytest.approx(4.8, rel=0.01)
    assert row["last_north_s"] == pytest.approx(t0 + 29 * 4.8, abs=0.05)
    assert not dec.radar_status(now_s=t0 + 60 * 4.8)[0]["alive"]
    assert dec.problems(now_s=t0 + 60 * 4.8) == ["Test radar: no CAT034 for 3 scan periods"]


def test_period_window_is_bounded():
    st_ = cat034.RadarStatus(0, 7)
    for k in range(1000):
        st_.update(cat034.ServiceMessage(0, 7, 1, np.nan, np.nan, np.nan), k * 5.0)
    assert len(st_._periods) == cat034.PERIOD_WINDOW
    assert st_.scan_period_s == pytest.approx(5.0)


def test_degraded_radar_named_in_status_and_problems():
    spec = spec_class(34, "1.29")
    rec = spec.cv_record.create({"010": (("SAC", 0), ("SIC", 7)), "000": 1,
                                 "030": (100.0, "s"), "050": {"COM": 0x80}})
    dec = AsterixDecoder(_radar_config())
    dec.decode([(100.5, block_bytes(spec, [rec]))])
    (row,) = dec.radar_status(now_s=101.0)
    assert row["alive"] and row["degraded"] and row["problems"] == ["NOGO"]
    assert dec.problems(now_s=101.0) == ["Test radar: CAT034 reports NOGO"]


def test_libasterix_cat021_editions_keep_a_record_budget_per_datagram():
    """CAT021 0.26 has no fast path: libasterix costs ~0.25 ms a record, so a datagram gives
    it at most MAX_LIBASTERIX_RECORDS_PER_DATAGRAM records; later blocks are rejected."""
    from airpicture.io.asterix.config import AdsbSource
    from airpicture.io.asterix.decoder import MAX_LIBASTERIX_RECORDS_PER_DATAGRAM as BUDGET

    spec = spec_class(21, "0.26")
    rec = spec.cv_record.create({
        "010": (("SAC", 0), ("SIC", 9)), "030": (100.0, "s"), "080": 0xABCDEF,
        "130": (("LAT", (45.0, "°")), ("LON", (16.0, "°")))})
    block = block_bytes(spec, [rec] * 100)
    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0), editions={21: "0.26"})
    cfg.adsb[(0, 9)] = AdsbSource(0, 9, 9)
    res = AsterixDecoder(cfg).decode([(None, block * 5), (None, block)])
    per_datagram = BUDGET // 100 * 100
    assert len(res.cat021) == per_datagram + 100
    assert res.counts["blocks_rejected:cat021_over_datagram_budget"] == 5 - BUDGET // 100


def test_scan_period_from_sector_crossings_alone():
    """A radar that sends only sector crossings (no north markers): the period from the
    azimuth advance between them, within 1 %."""
    t0 = 1_800_000_000.0
    dec = AsterixDecoder(_radar_config())
    steps = np.arange(8 * 6) * 4.8 / 8
    k = np.arange(steps.size) % 8
    recs = encode.cat034_records("1.29", 0, 7, (t0 + steps) % 86400, np.full(steps.size, 2),
                                 k * 45.0)
    for s, r in zip(steps, recs, strict=True):
        dec.decode([(t0 + s + 0.05, encode.block(34, [r]))])
    assert dec.scan_periods()[7] == pytest.approx(4.8, rel=0.01)
    assert dec.radar_status(now_s=t0 + 30)[0]["north_markers"] == 0


def test_block_cap_guards_network_datagrams_not_whole_files():
    # A file read whole is one "datagram" without a receive time: every block of it decodes;
    # the same bytes off the network (a receive time) are capped.
    tiny = encode.block(34, encode.cat034_records("1.29", 0, 1, [1.0], [2], [0.0]))
    data = tiny * (MAX_BLOCKS_PER_DATAGRAM + 5)
    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0))
    from_file = AsterixDecoder(cfg).decode([(None, data)])
    assert from_file.counts["blocks:034"] == MAX_BLOCKS_PER_DATAGRAM + 5
    assert from_file.counts["blocks_rejected:too_many_blocks"] == 0
    off_network = AsterixDecoder(cfg).decode([(1.0, data)])
    assert off_network.counts["blocks_rejected:too_many_blocks"] == 1


@settings(max_examples=40, deadline=None)
@given(fl=st.floats(-8192.0, 8191.75), lat=st.floats(-90.0, 90.0), lon=st.floats(-180.0, 180.0))
def test_adsb_plots_never_carry_an_altitude_outside_its_physical_range(fl, lat, lon):
    # I021/145 can encode FL -8,192..8,191.75 (819,175 ft): beyond core.limits.ALTITUDE_FT the
    # plot keeps its position with an unknown altitude, and the value is counted.
    from airpicture.core.limits import ALTITUDE_FT
    from airpicture.io.asterix.config import AdsbSource

    cfg = AsterixConfig(frame=LocalFrame(45.0, 16.0))
    cfg.adsb[(0, 9)] = AdsbSource(0, 9, 5, 30.0)
    recs = encode.cat021_records("2.6", 0, 9, [10.0], [lat], [lon], [0x3C0001], [fl],
                                 np.asarray([""], object), [9], [8], [3])
    res = AsterixDecoder(cfg).decode([(None, encode.block(21, recs))])
    assert len(res.plots) == 1
    alt = float(res.plots.alt_ft[0])
    sent_ft = round(fl * 4.0) / 4.0 * 100.0
    if ALTITUDE_FT[0] <= sent_ft <= ALTITUDE_FT[1]:
        assert alt == pytest.approx(sent_ft)
    else:
        assert np.isnan(alt) and res.counts["values_out_of_range:alt_ft"] == 1
