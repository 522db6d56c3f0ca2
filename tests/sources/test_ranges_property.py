"""Property (issue 17): whatever a Beast, AVR, SBS or JSON-lines input holds, decoding it
raises nothing, every decoded value lies within its physical range (`limits.RANGES`), and
every input line is either decoded or counted."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.sources.decode import DecodeResult, ModeSDecoder, Receiver
from airpicture.sources.framing import AvrParser, BeastParser
from airpicture.sources.sbs import SbsParser
from airpicture.sources.transports import read_jsonl_frames
from tests.sources.test_robustness import assert_all_in_range

FRAMES = ["8d4840d6202cc371c32ce0576098", "8d4840d6202cc371c32ce0576098"[:-2] + "00",
          "5d4840d6b4e3c6", "8d406b902015a678d4d220aa4bda", "8d485020994409940838175b284f",
          "a0001838300000000000007f4f5c", "200006b2cf6bb1", "8c3461ce399e40586b4ee4932241",
          "8d3461ce58bf8464a8a1f1b1fb4c", "8d3461ce58bf801cae8a9bf1b7b6", "02e197b00179c3",
          "a8000d8d8f8c0a30a8001e9b4573", "0000"]
"""Real frames (ADS-B position, velocity, identification, surface, Comm-B, all-call, Mode A/C)
and a corrupted one; mutated below."""

WILD_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["1" + "0" * 400, "Infinity", "-Infinity", "NaN", "1e308", "-1e308",
                     "1e300", "-0", "", "36000", "420.5", "91.0", "181.0", "7777", "abc"]))


def _receiver_decoder() -> ModeSDecoder:
    return ModeSDecoder([Receiver("r", 43.6, 1.37)])


mutated_frame = st.builds(
    lambda f, pos, val, mutate: f if not mutate else (
        f[:pos % len(f)] + "0123456789abcdef"[val] + f[pos % len(f) + 1:]),
    st.sampled_from(FRAMES), st.integers(0, 27), st.integers(0, 15), st.booleans())


def _beast(hex_msg: str, ticks: int, level: int) -> bytes:
    msg = bytes.fromhex(hex_msg)
    kind = {2: 0x31, 7: 0x32, 14: 0x33}[len(msg)]
    body = ticks.to_bytes(6, "big") + bytes([level]) + msg
    return bytes([0x1A, kind]) + body.replace(b"\x1a", b"\x1a\x1a")


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(st.one_of(
    st.builds(_beast, mutated_frame, st.integers(0, 2**48 - 1), st.integers(0, 255)),
    st.binary(max_size=30)), max_size=40))
def test_beast_input_decodes_within_range(parts: list[bytes]) -> None:
    parser, dec = BeastParser(), _receiver_decoder()
    batch = parser.feed(b"".join(parts))
    results = [dec.decode(batch)]
    assert_all_in_range(results, dec.aircraft)


@settings(max_examples=60, deadline=None)
@given(tokens=st.lists(st.one_of(
    st.builds(lambda f: f"*{f};", mutated_frame),
    st.builds(lambda f, t: f"@{t:012x}{f};", mutated_frame, st.integers(0, 2**48 - 1)),
    st.text("*@;0123456789abcdefxyz \n", max_size=30)), max_size=40))
def test_avr_input_decodes_within_range(tokens: list[str]) -> None:
    parser, dec = AvrParser(), _receiver_decoder()
    batch = parser.feed("\n".join(tokens).encode())
    results = [dec.decode(batch)]
    assert_all_in_range(results, dec.aircraft)


MAYBE = st.one_of(st.just(""), WILD_NUMBERS)
"""An SBS field: often empty (as most lines leave most fields), else anything."""


def _sbs_line(kind: str, icao: str, date: str, time: str, values: tuple[str, ...]) -> str:
    callsign, alt, gs, track, lat, lon, vrate, squawk = values
    return (f"MSG,{kind},1,1,{icao},1,{date},{time},{date},{time},{callsign},{alt},{gs},"
            f"{track},{lat},{lon},{vrate},{squawk},0,0,0,0")


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(st.one_of(
    st.builds(_sbs_line, st.sampled_from(["1", "3", "4", "5", "6", "8", "9", "x"]),
              st.sampled_from(["4CA2D6", "406B90", "4ca2d7", "ZZZZZZ"]),
              st.sampled_from(["2024/06/06", "9999/12/31", "1969/12/31", "0001/01/01", "x"]),
              st.sampled_from(["08:58:39.123", "23:59:59", "25:00:00.0", ""]),
              st.tuples(st.sampled_from(["", "RYR1AB"]), MAYBE, MAYBE, MAYBE,
                        st.one_of(MAYBE, st.just("43.6")), st.one_of(MAYBE, st.just("1.3")),
                        MAYBE, st.sampled_from(["", "7421", "7778", "1e300"]))),
    st.text(max_size=60)), max_size=30))
def test_sbs_input_decodes_within_range(lines: list[str]) -> None:
    parser, dec = SbsParser(), _receiver_decoder()
    text = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n"
    records = parser.feed(text.encode()) + parser.finish()
    nonblank = sum(1 for line in text.encode().split(b"\n") if line.strip())
    assert len(records) + sum(parser.bad.values()) + sum(parser.skipped.values()) == nonblank
    records.sort(key=lambda r: r["timestamp"])
    results: list[DecodeResult] = [dec.process(records)]
    assert_all_in_range(results, dec.aircraft)


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.one_of(
    st.builds(lambda t, f: f'{{"timestamp":{t},"frame":"{f}"}}', WILD_NUMBERS, mutated_frame),
    st.builds(lambda t, f: f'{{"frame":"{f}","timestamp":{t}}}', WILD_NUMBERS, mutated_frame),
    st.builds(lambda t, f: f'{{"timestamp":{t},"frame":"{f}"}}',
              st.floats(1.6e9, 1.8e9).map(repr), mutated_frame),
    st.text(max_size=40)), max_size=30))
def test_jsonl_input_decodes_within_range(lines: list[str]) -> None:
    dec = _receiver_decoder()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.jsonl"
        text = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n"
        path.write_text(text)
        frames, bad = read_jsonl_frames(path)
    nonblank = sum(1 for line in text.encode().split(b"\n") if line.strip())
    assert len(frames) + sum(bad.values()) == nonblank
    results = [dec.decode(frames)]
    assert_all_in_range(results, dec.aircraft)
