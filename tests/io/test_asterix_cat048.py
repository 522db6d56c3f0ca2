"""CAT048: fast path against libasterix and the CroatiaControl reference decode; fuzzing."""

from __future__ import annotations

from collections import Counter
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture.io.asterix import cat048
from airpicture.io.asterix.blocks import Block, split_blocks
from airpicture.io.asterix.layout import editions, record_layout, spec_class, walk_records
from tests.io.asterix_util import (
    PCAP_034_048,
    block_bytes,
    blocks_of,
    record_strategy,
    reference_records,
)


def assert_same(a: cat048.Cat048Reports, b: cat048.Cat048Reports) -> None:
    assert len(a) == len(b)
    for f in fields(cat048.Cat048Reports):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if x.dtype == object:
            assert list(x) == list(y), f.name
        else:
            np.testing.assert_array_equal(x, y, err_msg=f.name)


def test_real_pcap_fast_equals_libasterix_and_reference(shared_data):
    blocks = blocks_of(shared_data / PCAP_034_048, 48)
    counts: Counter[str] = Counter()
    fast = cat048.decode_fast(blocks, counts)
    assert counts["records:048"] == 128 and counts["blocks:048"] == 86
    assert not any(k.startswith("blocks_rejected") for k in counts)
    assert_same(fast, cat048.decode_oracle(blocks, Counter()))
    assert set(zip(fast.sac.tolist(), fast.sic.tolist(), strict=True)) == {
        (25, s) for s in (11, 12, 13, 14, 201, 204, 205)}
    ref = [r for r in reference_records(
        shared_data / "croatiacontrol-asterix/expected/cat_034_048.txt") if r["cat"] == 48]
    assert len(ref) == 128
    for i, r in enumerate(ref):
        assert (fast.sac[i], fast.sic[i]) == (r["sac"], r["sic"])
        assert fast.tod_s[i] == r["tod_s"]
        nan = float("nan")
        assert fast.rho_nm[i] == pytest.approx(r.get("rho_nm", nan), abs=1e-6, nan_ok=True)
        assert fast.theta_deg[i] == pytest.approx(r.get("theta_deg", nan), abs=1e-6,
                                                  nan_ok=True)
        assert fast.typ[i] == r.get("typ", -1)
        assert fast.mode3a[i] == r.get("mode3a", -1)
        assert (fast.fl[i] == r["fl"]) if "fl" in r else np.isnan(fast.fl[i])
        assert fast.icao24[i] == r.get("icao24", 0)
        assert fast.callsign[i] == r.get("callsign", "")
    assert len(set(fast.icao24[fast.icao24 > 0].tolist())) == 63


def test_comm_b_decoded_like_reference(shared_data):
    from airpicture.io.asterix.comm_b import decode_mb

    fast = cat048.decode_fast(blocks_of(shared_data / PCAP_034_048, 48), Counter())
    regs = [decode_mb(*r) for c in fast.comm_b if c for r in c]
    bds = Counter(r["bds"] for r in regs)
    assert bds["4,0"] == 82 and bds["6,0"] == 36 and bds["5,0"] == 4
    first = decode_mb(*fast.comm_b[0][0])
    assert first["mcp_selected_alt_ft"] == 33008 and first["baro_setting_mb"] == 1027.0


@pytest.mark.parametrize("edition", editions(48))
def test_every_edition_layout_walks_the_real_records(shared_data, edition):
    blocks = blocks_of(shared_data / PCAP_034_048, 48)
    counts: Counter[str] = Counter()
    rep = cat048.decode_fast(blocks, counts, edition)
    assert_same(rep, cat048.decode_oracle(blocks, Counter(), edition))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recs=st.lists(record_strategy(spec_class(48, "1.32")), min_size=1, max_size=4),
       edition=st.sampled_from(["1.27", "1.32"]))
def test_random_records_fast_equals_libasterix(recs, edition):
    """Random items (every variation kind: extended, repetitive, compound, explicit)."""
    data = block_bytes(spec_class(48, "1.32"), recs)
    blocks = split_blocks(data, Counter())
    c1: Counter[str] = Counter()
    c2: Counter[str] = Counter()
    fast = cat048.decode_fast(blocks, c1, edition)
    oracle = cat048.decode_oracle(blocks, c2, edition)
    assert c1["records:048"] == c2["records:048"]
    assert_same(fast, oracle)


def _accepts_like_libasterix(body: bytes, edition: str = "1.32") -> None:
    lay = record_layout(48, edition)
    data = bytes([48]) + (len(body) + 3).to_bytes(2, "big") + body
    block = Block(48, data, 3, len(data))
    walked = walk_records(data, 3, len(data), lay, ())
    oracle_counts: Counter[str] = Counter()
    cat048.decode_oracle([block], oracle_counts, edition)
    assert isinstance(walked, str) == (oracle_counts["blocks:048"] == 0), body.hex()


@settings(max_examples=300, deadline=None)
@given(body=st.binary(min_size=1, max_size=60))
def test_random_bytes_accepted_exactly_when_libasterix_accepts(body):
    _accepts_like_libasterix(body)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_real_records_accepted_exactly_when_libasterix_accepts(shared_data, data):
    blocks = blocks_of(shared_data / PCAP_034_048, 48)
    block = data.draw(st.sampled_from(blocks))
    body = bytearray(block.buf[block.start:block.end])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(body)))
    _accepts_like_libasterix(bytes(body[:cut]))


def _walk_matches_libasterix(cat: int, edition: str, body: bytes) -> None:
    from airpicture.io.asterix.libx import parse_block

    lay = record_layout(cat, edition)
    data = bytes([cat]) + (len(body) + 3).to_bytes(2, "big") + body
    walked = walk_records(data, 3, len(data), lay, ())
    c: Counter[str] = Counter()
    recs = parse_block(Block(cat, data, 3, len(data)), edition, c)
    assert isinstance(walked, str) == (recs is None), body.hex()
    if recs is not None:
        assert len(walked[0]) == len(recs)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), which=st.sampled_from([(21, "2.6"), (34, "1.29"), (62, "1.21"),
                                              (21, "0.26")]))
def test_layout_walker_matches_libasterix_on_other_categories(data, which):
    """The layout compiler is generic: random records and random bytes of CAT021, CAT034 and
    CAT062 split into the same records as libasterix's parse, or fail alike."""
    cat, edition = which
    spec = spec_class(cat, edition)
    recs = data.draw(st.lists(record_strategy(spec), min_size=1, max_size=3))
    body = block_bytes(spec, recs)[3:]
    _walk_matches_libasterix(cat, edition, body)
    _walk_matches_libasterix(cat, edition, data.draw(st.binary(min_size=1, max_size=40)))


PYMODES_NAMES = {
    "mcp_selected_alt_ft": "selected_altitude_mcp", "fms_selected_alt_ft": "selected_altitude_fms",
    "baro_setting_mb": "baro_pressure_setting", "roll_deg": "roll", "true_track_deg": "true_track",
    "groundspeed_kt": "groundspeed", "track_rate_deg_s": "track_rate", "tas_kt": "true_airspeed",
    "magnetic_heading_deg": "magnetic_heading", "ias_kt": "indicated_airspeed", "mach": "mach",
    "baro_rate_fpm": "baro_vertical_rate", "inertial_vrate_fpm": "inertial_vertical_rate",
}


@pytest.mark.peer
def test_comm_b_registers_agree_with_pymodes(shared_data):
    """pyModeS (GPL, test oracle only) decodes the same 56-bit MB fields."""
    pms = pytest.importorskip("pyModeS")
    from airpicture.io.asterix.comm_b import decode_mb

    fast = cat048.decode_fast(blocks_of(shared_data / PCAP_034_048, 48), Counter())
    compared = 0
    for i in np.flatnonzero([c is not None for c in fast.comm_b]):
        for bds1, bds2, mb in fast.comm_b[i]:
            ours = decode_mb(bds1, bds2, mb)
            theirs = pms.Message.from_payload(f"{mb:014X}", df=20,
                                              icao=f"{fast.icao24[i]:06X}").decode()
            if theirs.get("bds") != ours["bds"]:
                continue  # pyModeS infers the register; ASTERIX states it
            for mine, name in PYMODES_NAMES.items():
                if mine in ours and theirs.get(name) is not None:
                    value = theirs[name] % 360 if name in ("true_track", "magnetic_heading") \
                        else theirs[name]
                    assert ours[mine] == pytest.approx(value, abs=1e-6), (mine, hex(mb))
                    compared += 1
    assert compared >= 300
