"""Feed health that tells the truth (issue 17): silent feeds are `stale`, a good reconnect
clears the last error, tcp-listen binds 127.0.0.1, counts its pushers, times out silent
ones and refuses beyond its cap.  Servers listen on 127.0.0.1 only and are stopped."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from airpicture.sources.transports import (
    FeedStatus,
    parse_source,
    run_tcp_client,
    run_tcp_server,
)
from tests.sources.test_transports import _frames_bytes, _free_port, _wait_for


def test_an_up_feed_silent_past_its_period_is_stale() -> None:
    st = FeedStatus("f", state="up", stale_after_s=30.0, up_since_s=1000.0)
    assert st.current_state(1029.0) == "up" and st.current_state(1031.0) == "stale"
    st.last_data_s = 1030.0
    assert st.current_state(1059.0) == "up" and st.to_json(1061.0)["state"] == "stale"
    assert FeedStatus("file", state="up").current_state(1e12) == "up"  # files: no period
    assert FeedStatus("f", state="down", stale_after_s=1.0).current_state(1e12) == "down"


def test_tcp_listen_binds_loopback_unless_an_address_is_given() -> None:
    assert parse_source("tcp-listen://:30004").host == "127.0.0.1"
    assert parse_source("tcp-listen://0.0.0.0:30004").host == "0.0.0.0"


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_a_connected_silent_receiver_goes_stale_then_up_and_a_good_reconnect_clears_the_error(
        shared_data: Path) -> None:
    _, wire = _frames_bytes(shared_data)
    port = _free_port()
    status = FeedStatus("rx", stale_after_s=0.2)
    served: list[int] = []
    go = asyncio.Event

    async def main() -> dict[str, Any]:
        send = go()

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            served.append(1)
            if len(served) == 1:  # first connection: closed at once (an error to report)
                writer.close()
                return
            await send.wait()
            writer.write(b"".join(wire[:20]))
            await writer.drain()
            await asyncio.sleep(5)
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", port)
        spec = parse_source(f"tcp://127.0.0.1:{port}")
        task = asyncio.create_task(run_tcp_client(spec, lambda s, i: None, status,
                                                  backoff_s=0.05))
        seen: dict[str, Any] = {}
        try:
            await _wait_for(lambda: status.connections == 2 and status.state == "up")
            seen["error_while_silent"] = status.last_error
            await asyncio.sleep(0.35)
            seen["silent"] = status.current_state()
            send.set()
            await _wait_for(lambda: status.frames > 0)
            seen["after_data"] = status.current_state()
            seen["error_after_data"] = status.last_error
        finally:
            await _stop(task)
            server.close()
        return seen

    seen = asyncio.run(main())
    assert seen["error_while_silent"] == "closed by the receiver"
    assert seen["silent"] == "stale" and seen["after_data"] == "up"
    assert seen["error_after_data"] == ""


def test_tcp_listen_counts_pushers_caps_them_and_times_out_silent_ones(
        shared_data: Path) -> None:
    _, wire = _frames_bytes(shared_data)
    port = _free_port()
    spec = parse_source(f"tcp-listen://:{port}", "beast")
    status = FeedStatus(spec.where, stale_after_s=30.0)

    async def main() -> dict[str, Any]:
        started = asyncio.Event()
        task = asyncio.create_task(run_tcp_server(spec, lambda s, i: None, status, started,
                                                  idle_timeout_s=0.4, max_pushers=2))
        seen: dict[str, Any] = {}
        try:
            await started.wait()
            a = await asyncio.open_connection("127.0.0.1", port)
            b = await asyncio.open_connection("127.0.0.1", port)
            a[1].write(b"".join(wire[:10]))
            await a[1].drain()
            await _wait_for(lambda: status.pushers == 2 and status.frames >= 10)
            seen["two"] = (status.to_json()["state"], status.pushers)
            c = await asyncio.open_connection("127.0.0.1", port)
            seen["third_reads"] = await asyncio.wait_for(c[0].read(10), 2.0)  # closed: EOF
            seen["refused"] = status.refused
            a[1].close()
            await _wait_for(lambda: status.pushers == 1)
            seen["one"] = status.state
            # b sends nothing: closed by the server after the idle timeout
            seen["b_reads"] = await asyncio.wait_for(b[0].read(10), 3.0)
            await _wait_for(lambda: status.pushers == 0)
            seen["none"] = status.state
            seen["error"] = status.last_error
        finally:
            await _stop(task)
        return seen

    seen = asyncio.run(main())
    assert seen["two"] == ("up", 2)
    assert seen["third_reads"] == b"" and seen["refused"] == 1
    assert seen["one"] == "up" and seen["b_reads"] == b""
    assert seen["none"] == "listening" and "nothing for 0.4 s" in seen["error"]
