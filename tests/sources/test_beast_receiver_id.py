"""readsb's Beast receiver-id frames (0x1a 0xe3 + 8 id bytes, --net-receiver-id): understood,
attributed to the frames that follow, never counted as junk, in any chunking."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.sources.framing import BeastParser, FrameBatch

SHORT = bytes.fromhex("5d4ca2d6a1b2c3")
LONG = bytes.fromhex("8d4ca2d658b97218e77d23bead12")


def _escape(body: bytes) -> bytes:
    return body.replace(b"\x1a", b"\x1a\x1a")


def _frame(msg: bytes, ticks: int = 5) -> bytes:
    kind = 0x33 if len(msg) == 14 else 0x32
    return b"\x1a" + bytes([kind]) + _escape(ticks.to_bytes(6, "big") + bytes([99]) + msg)


def _receiver_id(ident: bytes) -> bytes:
    return b"\x1a\xe3" + _escape(ident)


ID_A = bytes.fromhex("1a2b3c4d5e6f7081")  # holds an 0x1a byte: escaped on the wire
ID_B = bytes.fromhex("0011223344556677")
STREAM = (_frame(LONG) + _receiver_id(ID_A) + _frame(SHORT) + _frame(LONG)
          + _receiver_id(ID_B) + _frame(LONG))


def _feed(parser: BeastParser, data: bytes, cuts: list[int]) -> FrameBatch:
    parts, prev = [], 0
    for cut in [*sorted(set(cuts)), len(data)]:
        parts.append(parser.feed(data[prev:cut]))
        prev = cut
    return FrameBatch.concat(parts)


def test_receiver_id_frames_are_understood_not_junk() -> None:
    parser = BeastParser()
    out = parser.feed(STREAM)
    assert out.hex == [LONG.hex(), SHORT.hex(), LONG.hex(), LONG.hex()]
    assert not parser.bad, parser.bad
    assert parser.receiver_id_frames == 2 and parser.receiver_id == ID_B.hex()
    assert parser.frames_by_receiver_id == {ID_A.hex(): 2, ID_B.hex(): 1}


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(0, len(STREAM)), max_size=10))
def test_receiver_ids_survive_any_chunking(cuts: list[int]) -> None:
    parser = BeastParser()
    out = _feed(parser, STREAM, cuts)
    assert len(out) == 4 and not parser.bad
    assert parser.frames_by_receiver_id == {ID_A.hex(): 2, ID_B.hex(): 1}


def test_real_sample_with_receiver_ids_interleaved_decodes_the_same(shared_data: Path) -> None:
    data = (shared_data / "traffic/raw/sample_dump1090.bin").read_bytes()
    plain = BeastParser()
    frames = plain.feed(data)
    tagged = BeastParser()
    # As a readsb aggregator forwards it: the id before every frame.
    stream = b"".join(_receiver_id(ID_A) + _frame(bytes.fromhex(h), int(k))
                      for h, k in zip(frames.hex, frames.mlat_ticks.tolist(), strict=True))
    again = tagged.feed(stream)
    assert again.hex == frames.hex and not tagged.bad
    assert tagged.frames_by_receiver_id[ID_A.hex()] == len(frames) == 239
