"""Beast, AVR and SBS framing: the real Beast sample, chunk invariance, and bad input."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.sources.framing import AvrParser, BeastParser, Frame, signal_to_dbfs
from airpicture.sources.sbs import SbsParser

PROVENANCE_DF = {11: 90, 0: 44, 4: 39, 17: 23, 20: 16, 21: 14, 5: 12, 16: 1}


def _sample(shared_data: Path) -> bytes:
    return (shared_data / "traffic/raw/sample_dump1090.bin").read_bytes()


def _feed_chunks(parser: BeastParser | AvrParser, data: bytes, cuts: list[int]) -> list[Frame]:
    out: list[Frame] = []
    prev = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        out += parser.feed(data[prev:cut])
        prev = cut
    return out


def _beast_escape(body: bytes) -> bytes:
    return body.replace(b"\x1a", b"\x1a\x1a")


def _beast(frame: Frame, kind: int = 0x33, level: int = 100) -> bytes:
    body = frame.mlat_ticks.to_bytes(6, "big") + bytes([level]) + frame.msg
    return b"\x1a" + bytes([kind]) + _beast_escape(body)


def test_sample_dump1090_has_239_frames_with_provenance_df_counts(shared_data: Path) -> None:
    parser = BeastParser()
    frames = parser.feed(_sample(shared_data))
    assert len(frames) == 239
    assert sum(len(f.msg) == 7 for f in frames) == 185
    assert sum(len(f.msg) == 14 for f in frames) == 54
    assert Counter(f.msg[0] >> 3 for f in frames) == PROVENANCE_DF
    assert not parser.bad
    span_s = frames[-1].t_s - frames[0].t_s
    assert 23.0 < span_s < 24.5  # 23.9 s of 12 MHz ticks
    assert all(-60 < f.rssi_dbfs <= 0 for f in frames)


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(0, 4000), max_size=40))
def test_beast_chunking_gives_the_same_frames(shared_data: Path, cuts: list[int]) -> None:
    data = _sample(shared_data)
    whole = BeastParser().feed(data)
    chunked = _feed_chunks(BeastParser(), data, [c % len(data) for c in cuts])
    assert [(f.msg, f.mlat_ticks) for f in chunked] == [(f.msg, f.mlat_ticks) for f in whole]


def test_beast_escapes_and_signal() -> None:
    msg = bytes.fromhex("8d1a1a1a58b97218e77d23bead12")[:14]
    frame = Frame(msg=msg, mlat_ticks=0x1A00001A1A1A)
    out = BeastParser().feed(_beast(frame, level=255))
    assert out[0].msg == msg and out[0].mlat_ticks == 0x1A00001A1A1A
    assert out[0].rssi_dbfs == 0.0
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
    assert all(len(f.msg) in (2, 7, 14) for f in frames)


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
    frames = parser.feed(bytes(data)) + parser.finish()
    # One mutation loses at most two frames, and every loss is counted.
    assert len(frames) >= 237
    if len(frames) < 239:
        assert sum(parser.bad.values()) >= 1


def _avr_text(frames: list[Frame], stamped: bool) -> bytes:
    lines = [(f"@{f.mlat_ticks:012X}" if stamped else "*") + f.msg.hex().upper() + ";"
             for f in frames]
    return ("\r\n".join(lines) + "\r\n").encode()


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(0, 20000), max_size=30), stamped=st.booleans())
def test_avr_round_trip_in_chunks(shared_data: Path, cuts: list[int], stamped: bool) -> None:
    frames = BeastParser().feed(_sample(shared_data))
    text = _avr_text(frames, stamped)
    parser = AvrParser()
    out = _feed_chunks(parser, text, [c % len(text) for c in cuts])
    assert [f.msg for f in out] == [f.msg for f in frames]
    if stamped:
        assert [f.mlat_ticks for f in out] == [f.mlat_ticks for f in frames]
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
    for f in parser.feed(data):
        assert len(f.msg) in (2, 7, 14)


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
