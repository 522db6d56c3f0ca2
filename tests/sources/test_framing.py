"""Beast, AVR and SBS framing: the real Beast sample, chunk invariance, bad input, and the
FrameBatch columns."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.sources.framing import (
    AvrParser,
    BeastParser,
    Frame,
    FrameBatch,
    signal_to_dbfs,
)
from airpicture.sources.sbs import SbsParser

PROVENANCE_DF = {11: 90, 0: 44, 4: 39, 17: 23, 20: 16, 21: 14, 5: 12, 16: 1}


def _sample(shared_data: Path) -> bytes:
    return (shared_data / "traffic/raw/sample_dump1090.bin").read_bytes()


def _feed_chunks(parser: BeastParser | AvrParser, data: bytes, cuts: list[int]) -> FrameBatch:
    out: list[FrameBatch] = []
    prev = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        out.append(parser.feed(data[prev:cut]))
        prev = cut
    return FrameBatch.concat(out)


def _df(hex_msg: str) -> int:
    return int(hex_msg[:2], 16) >> 3


def _beast_escape(body: bytes) -> bytes:
    return body.replace(b"\x1a", b"\x1a\x1a")


def _beast(frame: Frame, kind: int = 0x33, level: int = 100) -> bytes:
    body = frame.mlat_ticks.to_bytes(6, "big") + bytes([level]) + frame.msg
    return b"\x1a" + bytes([kind]) + _beast_escape(body)


def test_sample_dump1090_has_239_frames_with_provenance_df_counts(shared_data: Path) -> None:
    parser = BeastParser()
    frames = parser.feed(_sample(shared_data))
    assert len(frames) == 239
    assert int((frames.n_bytes == 7).sum()) == 185
    assert int((frames.n_bytes == 14).sum()) == 54
    assert [len(h) for h in frames.hex] == (2 * frames.n_bytes).tolist()
    assert Counter(map(_df, frames.hex)) == PROVENANCE_DF
    assert not parser.bad
    span_s = frames.t_s[-1] - frames.t_s[0]
    assert 23.0 < span_s < 24.5  # 23.9 s of 12 MHz ticks
    assert ((frames.rssi_dbfs > -60) & (frames.rssi_dbfs <= 0)).all()


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, 4000), max_size=40))
def test_beast_chunking_gives_the_same_frames(shared_data: Path, cuts: list[int]) -> None:
    data = _sample(shared_data)
    whole = BeastParser().feed(data)
    chunked = _feed_chunks(BeastParser(), data, [c % len(data) for c in cuts])
    assert chunked.hex == whole.hex
    assert chunked.mlat_ticks.tolist() == whole.mlat_ticks.tolist()


def test_beast_escapes_and_signal() -> None:
    msg = bytes.fromhex("8d1a1a1a58b97218e77d23bead12")[:14]
    frame = Frame(msg=msg, mlat_ticks=0x1A00001A1A1A)
    out = BeastParser().feed(_beast(frame, level=255))
    assert out.hex == [msg.hex()] and out.mlat_ticks.tolist() == [0x1A00001A1A1A]
    assert out.rssi_dbfs.tolist() == [0.0]
    assert signal_to_dbfs(0) < -40


def test_beast_counts_bad_kinds_and_resyncs() -> None:
    good = _beast(Frame(msg=bytes(range(14)), mlat_ticks=5))
    parser = BeastParser()
    cut = good[:10]  # a frame cut by the start of the next one
    out = parser.feed(b"junk" + cut + good + b"\x1a\x39abc" + good)
    assert len(out) == 2
    assert parser.bad["beast_junk"] >= 1
    assert parser.bad["beast_bad_escape"] == 1
    assert parser.bad["beast_bad_type"] == 1


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=8))
def test_beast_random_bytes_never_raise(data: bytes, cuts: list[int]) -> None:
    parser = BeastParser()
    frames = _feed_chunks(parser, data, [c % (len(data) + 1) for c in cuts])
    assert np.isin(frames.n_bytes, (2, 7, 14)).all()
    assert [len(h) for h in frames.hex] == (2 * frames.n_bytes).tolist()


@settings(max_examples=150, deadline=None)
@given(pos=st.integers(0, 10_000), value=st.integers(0, 255), drop=st.booleans())
def test_beast_mutated_sample_never_raises_and_counts(shared_data: Path, pos: int, value: int,
                                                      drop: bool) -> None:
    data = bytearray(_sample(shared_data))
    pos %= len(data)
    if drop:
        del data[pos]
    else:
        data[pos] = value
    parser = BeastParser()
    frames = FrameBatch.concat([parser.feed(bytes(data)), parser.finish()])
    # One mutation loses at most two frames, and every loss is counted.
    assert len(frames) >= 237
    if len(frames) < 239:
        assert sum(parser.bad.values()) >= 1


def _avr_text(frames: FrameBatch, stamped: bool) -> bytes:
    lines = [(f"@{ticks:012X}" if stamped else "*") + h.upper() + ";"
             for h, ticks in zip(frames.hex, frames.mlat_ticks.tolist(), strict=True)]
    return ("\r\n".join(lines) + "\r\n").encode()


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(0, 20000), max_size=30), stamped=st.booleans())
def test_avr_round_trip_in_chunks(shared_data: Path, cuts: list[int], stamped: bool) -> None:
    frames = BeastParser().feed(_sample(shared_data))
    text = _avr_text(frames, stamped)
    parser = AvrParser()
    out = _feed_chunks(parser, text, [c % len(text) for c in cuts])
    assert out.hex == frames.hex  # lowercase, as rs1090 gives them back
    if stamped:
        assert out.mlat_ticks.tolist() == frames.mlat_ticks.tolist()
    assert not parser.bad


def test_avr_counts_bad_kinds() -> None:
    parser = AvrParser()
    out = parser.feed(b"*8d406b902015a678d4d220aa4bda;\n*8d40zz;\n#1234;\n*12345;\n"
                      b"*8d406b902015a678d4d220aa4bzz;\n@0000;\n")
    assert len(out) == 1
    assert parser.bad == Counter(avr_bad_hex=1, avr_bad_prefix=1, avr_bad_length=3)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400) | st.text("*@;0123456789abcdefABCDEF \n").map(str.encode))
def test_avr_random_input_never_raises(data: bytes) -> None:
    parser = AvrParser()
    frames = parser.feed(data)
    assert np.isin(frames.n_bytes, (2, 7, 14)).all()
    assert [len(h) for h in frames.hex] == (2 * frames.n_bytes).tolist()


SBS_LINES = (
    "MSG,3,1,1,4CA2D6,1,2024/06/06,08:58:39.123,2024/06/06,08:58:39.150,,36000,,,"
    "43.61234,1.36789,,,0,0,0,0\n"
    "MSG,1,1,1,4CA2D6,1,2024/06/06,08:58:40.000,2024/06/06,08:58:40.000,RYR1AB,,,,,,,,0,0,0,0\n"
    "MSG,4,1,1,4CA2D6,1,2024/06/06,08:58:41.000,2024/06/06,08:58:41.000,,,420.5,91.2,,,-64,,"
    "0,0,0,0\n"
    "MSG,6,1,1,4CA2D6,1,2024/06/06,08:58:42.000,2024/06/06,08:58:42.000,,,,,,,,7421,0,0,0,0\n"
    "STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM\n"
)


def test_sbs_lines_become_decoded_records() -> None:
    parser = SbsParser()
    recs = parser.feed(SBS_LINES.encode())
    assert [r["sbs_type"] for r in recs] == [3, 1, 4, 6]
    pos, ident, vel, sq = recs
    assert pos["icao24"] == "4ca2d6" and pos["bds"] == "05" and pos["altitude"] == 36000
    assert abs(pos["latitude"] - 43.61234) < 1e-9 and abs(pos["longitude"] - 1.36789) < 1e-9
    assert abs(pos["timestamp"] - 1717664319.123) < 1e-6
    assert ident["callsign"] == "RYR1AB"
    assert vel["groundspeed"] == 420.5 and vel["vertical_rate"] == -64
    assert sq["squawk"] == "7421" and sq["df"] == "5"
    assert parser.skipped["sbs_other"] == 1 and not parser.bad


def test_sbs_counts_bad_lines() -> None:
    parser = SbsParser()
    bad = ("MSG,3,1,1,4CA2D6,1,2024/06/06,08:58:39.123\n"
           "MSG,3,1,1,4CAXZ6,1,2024/06/06,08:58:39.123,,,,,,,,,,,,,,\n"
           "MSG,3,1,1,4CA2D6,1,2024/06/06,08:58:39.123,,,,abc,,,,,,,,,,\n"
           "MSG,3,1,1,4CA2D6,1,2024/06/06,08:58:39.123,,,,,,95.0,1.0,,,,,,,\n"
           "MSG,6,1,1,4CA2D6,1,2024/06/06,08:58:39.123,,,,,,,,,,7491,,,,\n"
           "FOO,1\n")
    assert parser.feed(bad.encode()) == []
    assert sum(parser.bad.values()) == 6


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400), pos=st.integers(0, 500), value=st.integers(0, 255))
def test_sbs_random_and_mutated_input_never_raises(data: bytes, pos: int, value: int) -> None:
    SbsParser().feed(data)
    line = bytearray(SBS_LINES.encode())
    line[pos % len(line)] = value
    parser = SbsParser()
    recs = parser.feed(bytes(line))
    assert len(recs) + sum(parser.bad.values()) >= 3


def _reference_beast(data: bytes) -> list[tuple[str, float, float, int]]:
    """(hex, t_s, rssi_dbfs, ticks) of a clean Beast stream read the plain way: unescape each
    frame, then its fixed fields (12 MHz counter / 12e6 for t, readsb's dBFS for the signal)."""
    out = []
    i = 0
    while i < len(data):
        assert data[i] == 0x1A
        size = {0x31: 2, 0x32: 7, 0x33: 14}[data[i + 1]]
        body = bytearray()
        j = i + 2
        while len(body) < 7 + size:
            if data[j] == 0x1A:
                assert data[j + 1] == 0x1A
                j += 1
            body.append(data[j])
            j += 1
        ticks = int.from_bytes(body[:6], "big")
        out.append((body[7:].hex(), ticks / 12e6, 20 * math.log10(max(body[6], 1) / 255), ticks))
        i = j
    return out


def _feed_sizes(parser: BeastParser | AvrParser, data: bytes, sizes: list[int]) -> FrameBatch:
    """Feed `data` in chunks of the given sizes (cycled), then finish."""
    parts = []
    pos = k = 0
    while pos < len(data):
        step = sizes[k % len(sizes)] if sizes else len(data)
        parts.append(parser.feed(data[pos:pos + step]))
        pos += step
        k += 1
    parts.append(parser.finish())
    return FrameBatch.concat(parts)


def _columns(batch: FrameBatch) -> list[tuple[str, float, float, int]]:
    return list(zip(batch.hex, batch.t_s.tolist(), batch.rssi_dbfs.tolist(),
                    batch.mlat_ticks.tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 300), max_size=20))
def test_beast_batches_in_random_chunks_match_the_plain_reading(shared_data: Path,
                                                                sizes: list[int]) -> None:
    data = _sample(shared_data)
    want = _reference_beast(data)
    assert len(want) == 239 and sum(len(w[0]) == 14 for w in want) == 185
    parser = BeastParser()
    got = _feed_sizes(parser, data, sizes)
    assert _columns(got) == want
    assert got.receiver.tolist() == [0] * 239 and (got.n_bytes * 2).tolist() == [
        len(w[0]) for w in want]
    assert not parser.bad and parser.frames == 239


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 300), max_size=20), stamped=st.lists(st.booleans(),
                                                                          min_size=1))
def test_avr_batches_in_random_chunks_match_the_plain_reading(
        shared_data: Path, sizes: list[int], stamped: list[bool]) -> None:
    want = _reference_beast(_sample(shared_data))
    marks = [stamped[k % len(stamped)] for k in range(len(want))]
    text = "".join((f"@{w[3]:012X}{w[0].upper()};\n" if mark else f"*{w[0]};\r\n")
                   for w, mark in zip(want, marks, strict=True)).encode()
    parser = AvrParser()
    got = _feed_sizes(parser, text, sizes)
    expected = [(h, t if mark else math.nan, math.nan, ticks if mark else -1)
                for (h, t, _, ticks), mark in zip(want, marks, strict=True)]
    assert repr(_columns(got)) == repr(expected)  # repr: NaN equals NaN
    assert not parser.bad and parser.frames == 239


_FRAMES = st.lists(st.builds(
    Frame, st.sampled_from([2, 7, 14]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    st.one_of(st.just(math.nan), st.floats(0, 2e9)), st.integers(-1, 2**48 - 1),
    st.one_of(st.just(math.nan), st.floats(-60, 0)), st.integers(0, 3)), max_size=12)


@settings(max_examples=100, deadline=None)
@given(frames=_FRAMES, cut=st.integers(0, 12), data=st.data())
def test_frame_batch_from_frames_concat_and_take(frames: list[Frame], cut: int,
                                                 data: st.DataObject) -> None:
    batch = FrameBatch.from_frames(frames)
    assert len(batch) == len(frames)
    assert repr(batch.frames()) == repr(frames)  # the round trip keeps every field
    assert batch.hex == [f.msg.hex() for f in frames]
    assert batch.n_bytes.tolist() == [len(f.msg) for f in frames]
    cut = min(cut, len(frames))
    halves = FrameBatch.concat([batch.take(slice(0, cut)), FrameBatch.empty(),
                                batch.take(slice(cut, None))])
    assert repr(halves.frames()) == repr(frames)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(frames),
                                       max_size=len(frames))), bool)
    assert repr(batch.take(mask).frames()) == repr(
        [f for f, keep in zip(frames, mask.tolist(), strict=True) if keep])
    order = data.draw(st.permutations(range(len(frames))))
    assert repr(batch.take(np.array(order, np.int64)).frames()) == repr(
        [frames[i] for i in order])
    assert repr(batch.take(list(order)).frames()) == repr([frames[i] for i in order])
    empty = FrameBatch.concat([])
    assert len(empty) == 0 and empty.t_s.dtype == np.float64 and empty.hex == []
    assert (batch.t_s.dtype, batch.mlat_ticks.dtype, batch.rssi_dbfs.dtype,
            batch.receiver.dtype, batch.n_bytes.dtype) == (
        np.float64, np.int64, np.float64, np.int32, np.int8)
