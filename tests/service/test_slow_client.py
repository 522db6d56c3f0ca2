"""A client that stops reading never slows the picture or the other clients (real sockets)."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest
import websockets

from airpicture.service.bench import start_service


async def _run(url: str, seconds: float) -> tuple[list[float], int]:
    ws_url = url.replace("http", "ws") + "ws/tracks"
    stuck = await websockets.connect(ws_url, max_size=None, compression=None, max_queue=1)
    stuck.transport.pause_reading()  # never reads again: its socket buffers fill up
    lags: list[float] = []
    async with websockets.connect(ws_url, max_size=None, compression=None) as ws:
        until = time.time() + seconds
        while time.time() < until:
            msg = await asyncio.wait_for(ws.recv(), timeout=5)
            found = re.search(r'"wall":([\d.]+)', str(msg[:120]))
            assert found is not None
            lags.append(time.time() - float(found.group(1)))
    stuck.transport.abort()
    return lags, len(lags)


@pytest.mark.slow
def test_a_stuck_client_does_not_slow_the_others() -> None:
    proc, url = start_service(4000)  # about 1.5 MB per second per client
    try:
        lags, received = asyncio.run(_run(url, 8.0))
        metrics = httpx.get(url + "metrics", timeout=10).text
    finally:
        proc.terminate()
        proc.wait(30)
    # The reading client got every 1 Hz picture, on time.
    assert received >= 7
    assert max(lags[1:]) < 2.5  # no backlog (generous: the test machine is shared)
    # The stuck one had frames replaced by newer ones (skipped), never queued without bound.
    skipped = float(re.search(r"^airpicture_ws_frames_skipped_total ([\d.e+]+)", metrics,
                              re.M).group(1))  # type: ignore[union-attr]
    assert skipped >= 3
    ticks = float(re.search(r"^airpicture_ticks_total ([\d.e+]+)", metrics,
                            re.M).group(1))  # type: ignore[union-attr]
    assert ticks >= 8
