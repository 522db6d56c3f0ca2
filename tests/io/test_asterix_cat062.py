"""CAT062: real tracks decoded, the old edition rejected, our output checked by libasterix,
tshark and a round trip over random tracks; per-consumer output through the egress gate."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.geo import LocalFrame
from airpicture.core.plots import PlotFlag
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.asterix import cat062
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.asterix.cat062 import Cat062Encoder
from airpicture.io.asterix.output import Cat062Output, FileSink, split_tracks
from airpicture.io.asterix.transport import bind_udp, write_pcap
from airpicture.policy.egress import Consumer, Egress
from tests.io.asterix_util import blocks_of

FRAME = LocalFrame(45.0, 16.0)


def make_tracks(n: int, seed: int = 0) -> TrackTable:
    rng = np.random.default_rng(seed)
    cs = np.array([f"T{k:05d}" if k % 3 else "" for k in range(n)], object)
    last = np.where(rng.random((n, 3)) < 0.3, np.nan, 100.0 - rng.uniform(0, 20, (n, 3)))
    return TrackTable(
        track_id=np.arange(1, n + 1) * 7, t=np.full(n, 100.0),
        x=rng.uniform(-3e5, 3e5, n), y=rng.uniform(-3e5, 3e5, n),
        vx=rng.uniform(-300, 300, n), vy=rng.uniform(-300, 300, n),
        status=rng.integers(0, 3, n).astype(np.int8),
        alt_ft=np.where(rng.random(n) < 0.2, np.nan, rng.uniform(-1000, 45000, n)),
        vrate_fpm=np.where(rng.random(n) < 0.2, np.nan, rng.uniform(-6000, 6000, n)),
        icao24=np.where(rng.random(n) < 0.2, 0, rng.integers(1, 1 << 24, n)), callsign=cs,
        squawk=np.where(rng.random(n) < 0.2, -1, rng.integers(0, 4096, n)).astype(np.int16),
        sigma_pos_m=np.where(rng.random(n) < 0.2, np.nan, rng.uniform(1, 3000, n)),
        last_update_t=100.0 - rng.uniform(0, 70, n),
        flags=rng.choice([0, PlotFlag.KINEMATIC_MISMATCH, PlotFlag.IDENTITY_MISMATCH], n
                         ).astype(np.uint16),
        sensor_ids=np.array([1, 2, 3], np.int32), sensor_last_t=last,
        alt_t=100.0 - rng.uniform(0, 30, n), t_start=100.0 - rng.uniform(0, 200, n),
    )


def encoder() -> Cat062Encoder:
    return Cat062Encoder(FRAME, sac=25, sic=100, sensor_kinds={1: "psr", 2: "ssr", 3: "adsb"})


def test_real_cat062_files_decode(shared_data):
    counts: Counter[str] = Counter()
    tracks = cat062.decode(blocks_of(shared_data / "asterix4py/cat062.ast"), counts)
    assert len(tracks) == 7 and counts["blocks:062"] == 1
    t0 = tracks[0]
    assert (t0.sac, t0.sic, t0.track_number, t0.callsign, t0.icao24) == (
        6, 128, 7733, "BCS4907", 4222664)
    assert t0.tod_s == pytest.approx(76810.3984375) and t0.fl == 260.0
    assert t0.lat_deg == pytest.approx(49.280285, abs=1e-6)
    counts = Counter()
    tracks = cat062.decode(blocks_of(shared_data / "croatiacontrol-asterix/cat062cat065.raw"),
                           counts)
    assert len(tracks) == 2 and counts["skipped_category:065"] == 1


def test_real_cat062_pcap_matches_reference_json(shared_data):
    base = shared_data / "croatiacontrol-asterix"
    tracks = cat062.decode(blocks_of(base / "cat_062_065.pcap"), Counter())
    ref = [json.loads(line)["CAT062"] for line in
           (base / "expected/cat_062_065_json.txt").read_text().splitlines()
           if line.strip() and '"cat":62' in line]
    assert len(tracks) == len(ref) == 2
    for t, r in zip(tracks, ref, strict=True):
        assert t.track_number == r["I040"]["TrkN"]
        assert t.tod_s == pytest.approx(r["I070"]["ToT"])
        assert t.lat_deg == pytest.approx(r["I105"]["Lat"], abs=1e-6)
        assert t.lon_deg == pytest.approx(r["I105"]["Lon"], abs=1e-6)
        assert (t.x_m, t.y_m) == (r["I100"]["X"], r["I100"]["Y"])
        assert (t.vx_mps, t.vy_mps) == (r["I185"]["Vx"], r["I185"]["Vy"])
        assert t.mode3a == int(r["I060"]["Mode3A"], 8)


def test_old_edition_cat062_is_rejected_and_counted(shared_data):
    counts: Counter[str] = Counter()
    blocks = blocks_of(shared_data / "croatiacontrol-asterix/asterix.pcap")
    assert len(blocks) == 100
    assert cat062.decode(blocks, counts) == []
    rejected = sum(v for k, v in counts.items() if k.startswith("blocks_rejected:"))
    assert rejected == 100 and counts["blocks_rejected:cat062_implausible"] > 0


tracks_st = st.builds(make_tracks, st.integers(1, 25), st.integers(0, 10_000))


@settings(max_examples=40, deadline=None)
@given(tracks=tracks_st, edition=st.sampled_from(["1.21", "1.18", "1.20"]))
def test_our_cat062_round_trips(tracks, edition):
    enc = Cat062Encoder(FRAME, sac=25, sic=100, edition=edition,
                        sensor_kinds={1: "psr", 2: "ssr", 3: "adsb"})
    counts: Counter[str] = Counter()
    back = cat062.decode(split_blocks(enc.block(tracks), counts), counts, edition)
    assert len(back) == len(tracks) and counts["blocks:062"] == 1
    lat, lon, _ = FRAME.to_geodetic(tracks.x, tracks.y, 0.0)
    for i, b in enumerate(back):
        assert b.track_number == tracks.track_id[i] and (b.sac, b.sic) == (25, 100)
        assert b.tod_s == pytest.approx(100.0)
        assert abs(b.x_m - tracks.x[i]) <= 0.25 and abs(b.y_m - tracks.y[i]) <= 0.25
        assert abs(b.vx_mps - tracks.vx[i]) <= 0.125 and abs(b.vy_mps - tracks.vy[i]) <= 0.125
        # WGS-84 from the frame: the point below the plane's (x, y) on the ellipsoid.
        bx, by, _ = FRAME.to_enu(b.lat_deg, b.lon_deg, 0.0)
        assert abs(bx - tracks.x[i]) < 1.0 and abs(by - tracks.y[i]) < 1.0
        alt = tracks.alt_ft[i]
        assert (abs(b.fl * 100 - alt) <= 12.5) if np.isfinite(alt) else np.isnan(b.fl)
        vr = tracks.vrate_fpm[i]
        assert (abs(b.vrate_fpm - vr) <= 3.125) if np.isfinite(vr) else np.isnan(b.vrate_fpm)
        assert b.icao24 == tracks.icao24[i] and b.callsign == tracks.callsign[i]
        assert b.mode3a == tracks.squawk[i]
        assert b.cnf == int(tracks.status[i] == TrackStatus.TENTATIVE)
        assert b.cst == int(tracks.status[i] == TrackStatus.COASTING)
        assert b.aff == int(tracks.flags[i] == PlotFlag.KINEMATIC_MISMATCH)
        assert b.pft == 0  # an identity conflict is not a potential false track
        assert b.mon == int(np.isfinite(tracks.sensor_last_t[i]).sum() <= 1)
        sig = tracks.sigma_pos_m[i]
        assert (abs(b.sigma_x_m - sig) <= 0.25) if np.isfinite(sig) else np.isnan(b.sigma_x_m)
        age = min(100.0 - tracks.t_start[i], 63.75)        # since the track began
        assert abs(b.age_trk_s - age) <= 0.125
        mfl = 100.0 - tracks.alt_t[i]                       # of the last measured level
        assert (abs(b.age_mfl_s - mfl) <= 0.125) if np.isfinite(alt) else np.isnan(b.age_mfl_s)
    assert lat.shape == (len(tracks),) and lon.shape == (len(tracks),)


def test_track_service_begin_only_first_time():
    enc = encoder()
    t = make_tracks(3)
    first = cat062.decode(split_blocks(enc.block(t), Counter()), Counter())
    again = cat062.decode(split_blocks(enc.block(t), Counter()), Counter())
    assert [x.tsb for x in first] == [1, 1, 1] and [x.tsb for x in again] == [0, 0, 0]


@pytest.mark.slow
def test_tshark_dissects_our_cat062_without_malformed_or_expert_items(tmp_path: Path):
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed (make debs-test installs it)")
    enc = encoder()
    tables = [make_tracks(40, seed) for seed in range(5)]
    datagrams = [enc.block(t) for t in tables]
    pcap = write_pcap(tmp_path / "out.pcap", datagrams, port=8600)
    out = subprocess.run([tshark, "-r", str(pcap), "-d", "udp.port==8600,asterix", "-T", "json"],
                         capture_output=True, text=True, timeout=120, check=True)
    packets = json.loads(out.stdout)
    assert len(packets) == 5
    text = out.stdout
    assert "_ws.malformed" not in text and "_ws.expert" not in text
    assert text.count('"asterix.category": "62"') == 5
    numbers = [int(v, 16) for v in re.findall(r'"asterix.062_040_VALUE": "(0x[0-9a-f]+)"', text)]
    assert numbers == [int(n) for t in tables for n in t.track_id]
    lats = [float(v) for v in re.findall(r'"asterix.062_105_LAT": "([-\d.e]+)"', text)]
    ours = [tr.lat_deg for d in datagrams for tr in cat062.decode(split_blocks(d, Counter()),
                                                                   Counter())]
    np.testing.assert_allclose(lats, ours, atol=1e-7)


class DropOdd:
    """A release policy that withholds odd track numbers from partner consumers."""

    def tracks(self, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        if consumer.name == "local":
            return tracks
        return tracks.take(tracks.track_id % 2 == 0)

    def plots(self, plots, consumer):  # type: ignore[no-untyped-def]
        return plots


def test_output_goes_through_egress_per_consumer(tmp_path: Path):
    tracks = make_tracks(10)
    tracks.track_id = np.arange(10)
    egress = Egress(policy=DropOdd())
    partner = Cat062Output(encoder(), [FileSink(tmp_path / "p.ast")], egress, Consumer("partner"))
    local = Cat062Output(encoder(), [FileSink(tmp_path / "l.ast")], egress)
    assert partner.publish(tracks) == 5 and local.publish(tracks) == 10
    partner.publish(tracks)
    partner.close()
    local.close()
    p = cat062.decode(split_blocks((tmp_path / "p.ast").read_bytes(), Counter()), Counter())
    assert [t.track_number for t in p] == [0, 2, 4, 6, 8] * 2 and partner.blocks_sent == 2


def test_udp_sink_sends_one_block_per_cycle_and_big_cycles_split():
    from airpicture.io.asterix.output import UdpSink

    sock = bind_udp("udp://127.0.0.1:0")
    port = sock.getsockname()[1]
    sock.setblocking(True)
    sock.settimeout(5.0)
    out = Cat062Output(encoder(), [UdpSink(f"udp://127.0.0.1:{port}")])
    out.publish(make_tracks(30))
    got = cat062.decode(split_blocks(sock.recv(65536), Counter()), Counter())
    assert len(got) == 30
    out.close()
    sock.close()
    blocks = split_tracks(encoder(), make_tracks(1500))
    assert len(blocks) > 1 and all(len(b) <= 60000 for b in blocks)
    assert sum(len(cat062.decode(split_blocks(b, Counter()), Counter())) for b in blocks) == 1500


def test_non_finite_tracks_are_left_out_and_unknown_ages_omitted():
    t = make_tracks(4)
    t.x[1] = np.nan
    t.t_start[2] = np.nan  # track start unknown: no I062/290 TRK
    enc = encoder()
    back = cat062.decode(split_blocks(enc.block(t), Counter()), Counter())
    assert [b.track_number for b in back] == [t.track_id[0], t.track_id[2], t.track_id[3]]
    assert enc.skipped_nonfinite == 1 and np.isnan(back[1].age_trk_s)


def test_ended_tracks_get_track_service_end_once(tmp_path: Path):
    t = make_tracks(3)
    t.track_id = np.array([1, 2, 3])
    out = Cat062Output(encoder(), [FileSink(tmp_path / "o.ast")])
    out.publish(t)
    out.publish(t.take(np.array([1, 2])))
    out.publish(t.take(np.array([1, 2])))
    out.publish(t)
    out.close()
    blocks = split_blocks((tmp_path / "o.ast").read_bytes(), Counter())
    cycles = [cat062.decode([b], Counter()) for b in blocks]
    assert [[(x.track_number, x.tsb, x.tse) for x in c] for c in cycles] == [
        [(1, 1, 0), (2, 1, 0), (3, 1, 0)],
        [(2, 0, 0), (3, 0, 0), (1, 0, 1)],
        [(2, 0, 0), (3, 0, 0)],
        [(1, 1, 0), (2, 0, 0), (3, 0, 0)],
    ]
    assert out.tracks_ended == 1 and out.blocks_sent == 4


def test_small_blocks_for_real_networks(tmp_path: Path):
    out = Cat062Output(encoder(), [FileSink(tmp_path / "o.ast")], max_block_bytes=1400)
    out.publish(make_tracks(100))
    out.close()
    blocks = split_blocks((tmp_path / "o.ast").read_bytes(), Counter())
    assert len(blocks) == out.blocks_sent > 1 and all(len(b.raw) <= 1400 for b in blocks)
    assert sum(len(cat062.decode([b], Counter())) for b in blocks) == 100


def test_cat062_back_to_a_tracks_table():
    from airpicture.core.schema import TRACK_COLUMNS

    t = make_tracks(20, seed=4)
    t.t[:] = 30.0
    enc = Cat062Encoder(FRAME, t0_utc_s=86400.0 * 3 - 10.0)  # crosses midnight at t = 10
    back = cat062.decode(split_blocks(enc.block(t), Counter()), Counter())
    table = cat062.tracks_table(back, FRAME, t0_utc_s=86400.0 * 3 - 10.0)
    assert table.column_names == [c.name for c in TRACK_COLUMNS]
    np.testing.assert_allclose(table.column("t").to_numpy(), 30.0, atol=1 / 256)
    np.testing.assert_allclose(table.column("x").to_numpy(), t.x, atol=1.0)
    np.testing.assert_allclose(table.column("y").to_numpy(), t.y, atol=1.0)
    assert table.column("track_id").to_pylist() == t.track_id.tolist()
    assert table.column("confirmed").to_pylist() == (t.status != TrackStatus.TENTATIVE).tolist()
    assert table.column("status").to_pylist() == t.status.tolist()
