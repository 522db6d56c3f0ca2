"""UDP receive statistics: datagrams, bytes, the granted receive buffer and kernel drops."""

from __future__ import annotations

import asyncio
import socket
import sys
import time

import numpy as np
import pytest

from airpicture.core.geo import LocalFrame
from airpicture.io.asterix import encode
from airpicture.io.asterix.config import AsterixConfig
from airpicture.io.asterix.decoder import AsterixDecoder
from airpicture.io.asterix.listen import stream_plots
from airpicture.io.asterix.transport import UdpSender, UdpStats, bind_udp


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(sys.platform != "linux", reason="drops come from /proc/net/udp")
def test_unread_small_buffer_socket_reports_drops():
    url = f"udp://127.0.0.1:{_free_port()}"
    stats = UdpStats(url)
    sock = bind_udp(url, rcvbuf_bytes=4096, stats=stats)
    try:
        assert stats.rcvbuf_requested_bytes == 4096
        assert 0 < stats.rcvbuf_granted_bytes < 64 * 1024  # the kernel's (doubled) size
        assert stats.drops() == 0
        sender = UdpSender(url)
        for _ in range(200):
            sender.send(bytes(1000))
        sender.close()
        assert stats.drops() > 100  # a few fit in the buffer, the rest are dropped
        assert stats.to_json()["drops"] == stats.drops()
        dec = AsterixDecoder(AsterixConfig(frame=LocalFrame(45.0, 16.0)))
        dec.udp_stats[url] = stats
        (problem,) = dec.problems()
        assert problem.startswith(f"{url}: ") and "dropped by the kernel" in problem
    finally:
        sock.close()
    assert stats.drops() > 100  # the last value read stays after the socket is gone


def test_stream_plots_counts_what_arrives_per_url():
    url = f"udp://127.0.0.1:{_free_port()}"
    dec = AsterixDecoder(AsterixConfig(frame=LocalFrame(45.0, 16.0)))
    datagram = encode.block(34, encode.cat034_records("1.29", 0, 1, [10.0], [1], [0.0], 4.0))

    async def run() -> None:
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(stream_plots(url, dec, lambda p: None, stop, ready,
                                                rcvbuf_bytes=1 << 20))
        await asyncio.wait_for(ready.wait(), 5)
        sender = UdpSender(url)
        for _ in range(5):
            sender.send(datagram)
        sender.close()
        for _ in range(100):
            if dec.udp_stats[url].datagrams == 5:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await asyncio.wait_for(task, 5)

    before = time.time()
    asyncio.run(run())
    stats = dec.udp_stats[url].to_json()
    assert stats["datagrams"] == 5 and stats["bytes"] == 5 * len(datagram)
    assert stats["rcvbuf_requested_bytes"] == 1 << 20 and stats["rcvbuf_granted_bytes"] > 0
    assert stats["drops"] == 0 and stats["last_datagram_utc_s"] >= before
    assert dec.counts["service:cat034"] == 5
    assert np.isfinite(dec.status[(0, 1)].last_message_s)
