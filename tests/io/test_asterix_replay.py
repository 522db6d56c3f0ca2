"""`asterix replay`: one datagram per data block, paced by the data's own time."""

from __future__ import annotations

import math
import time
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.io.asterix import encode
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.asterix.replay import block_time_of_day, replay_file, send_schedule
from airpicture.io.asterix.transport import bind_udp

T0_TOD = 86400.0 - 2.0  # the file crosses midnight


def _cat048(tod: float) -> bytes:
    return encode.block(48, encode.cat048_records(
        "1.32", 0, 7, [tod % 86400], [5], [40.0], [90.0], [0o1234], [300.0], [0xABCDEF],
        np.array(["TEST1"], object)))


def _small_file(tmp_path):
    """5 s of data: CAT048 every 0.5 s, a CAT034 north marker, a CAT021 report, a block
    with no time, and one block too large for a datagram."""
    blocks = [_cat048(T0_TOD + 0.5 * k) for k in range(11)]
    blocks.insert(3, encode.block(34, encode.cat034_records("1.29", 0, 7, [T0_TOD + 1.0],
                                                            [1], [0.0], 4.8)))
    blocks.insert(6, encode.block(21, encode.cat021_records(
        "2.6", 0, 9, [(T0_TOD + 2.2) % 86400], [45.1], [16.1], [5], [300.0],
        np.array(["A"], object), [8], [7], [2])))
    untimed = bytes([48, 0, 6, 0x80, 0, 7])  # I048/010 only
    blocks.insert(8, untimed)
    too_large = bytes([48]) + (65535).to_bytes(2, "big") + bytes([0x80]) + bytes(65531)
    blocks.append(too_large)
    path = tmp_path / "small.ast"
    path.write_bytes(b"".join(blocks))
    return path, blocks


def test_block_times_come_from_each_category(tmp_path):
    _path, blocks = _small_file(tmp_path)
    tods = [block_time_of_day(b) for b in split_blocks(b"".join(blocks), Counter(), 1 << 20)]
    assert tods[0] == pytest.approx(T0_TOD, abs=0.01)
    assert tods[3] == pytest.approx(T0_TOD + 1.0, abs=0.01)  # CAT034 I034/030
    assert tods[6] == pytest.approx((T0_TOD + 2.2) % 86400, abs=0.01)  # CAT021 I021/071
    assert math.isnan(tods[8]) and math.isnan(tods[-1])


def test_replay_sends_each_block_as_a_datagram_paced_by_data_time(tmp_path):
    path, blocks = _small_file(tmp_path)
    sock = bind_udp("udp://127.0.0.1:0", rcvbuf_bytes=1 << 20)
    url = f"udp://127.0.0.1:{sock.getsockname()[1]}"
    try:
        started = time.monotonic()
        result = replay_file(path, url, speed=10.0)
        elapsed = time.monotonic() - started
        got = []
        sock.setblocking(True)
        sock.settimeout(0.5)
        try:
            while True:
                got.append(sock.recv(70000))
        except TimeoutError:
            pass
    finally:
        sock.close()
    assert got == blocks[:-1]  # each a whole block, in file order; the 64 KB one skipped
    assert result["datagrams"] == len(blocks) - 1 and result["skipped_too_large"] == 1
    assert result["untimed_blocks"] == 2 and result["gaps_cut"] == 0
    assert result["data_s"] == pytest.approx(5.0, abs=0.01)  # across midnight
    assert 0.3 < elapsed < 2.0  # 5 s of data at speed 10


def test_replay_as_fast_as_possible_and_a_garbled_time_does_not_stall(tmp_path):
    blocks = [_cat048(1000.0 + k) for k in range(5)]
    blocks.insert(2, _cat048(50000.0))  # one garbled time of day
    path = tmp_path / "garbled.ast"
    path.write_bytes(b"".join(blocks))
    sent: list[bytes] = []
    started = time.monotonic()
    result = replay_file(path, "udp://127.0.0.1:9", speed=10.0, send=sent.append)
    assert time.monotonic() - started < 1.5  # 3 s of data at speed 10, not 13 hours
    assert sent == blocks and result["gaps_cut"] == 2
    sent.clear()
    assert replay_file(path, "udp://127.0.0.1:9", speed=0, send=sent.append)["wall_s"] < 1.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.just(float("nan")), st.floats(0, 86399.99)), max_size=30))
def test_schedule_never_goes_backwards_and_steps_are_bounded(tods):
    due, cut = send_schedule(tods)
    assert len(due) == len(tods)
    steps = np.diff([0.0, *due])
    assert np.all(steps >= 0) and np.all(steps <= 60.0)
    assert 0 <= cut <= len(tods)
