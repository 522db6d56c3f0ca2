"""Feeds over TCP on 127.0.0.1: reconnect after a cut mid-frame, dead feeds, listening mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.errors import UserError
from airpicture.sources.framing import BeastParser, FrameBatch
from airpicture.sources.transports import (
    FORMATS,
    FeedStatus,
    SourceSpec,
    parse_source,
    read_file,
    read_jsonl_frames,
    run_feed,
    run_tcp_client,
    run_tcp_server,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _frames_bytes(shared_data: Path) -> tuple[FrameBatch, list[bytes]]:
    """The real Beast sample, and each of its frames as wire bytes."""
    data = (shared_data / "traffic/raw/sample_dump1090.bin").read_bytes()
    starts = []
    parser = BeastParser()
    frames = []
    for i in range(len(data)):  # frame boundaries: where the parser completes one
        got = parser.feed(data[i:i + 1])
        if got:
            starts.append(i + 1)
            frames.append(got)
    wire = [data[a:b] for a, b in zip([0, *starts[:-1]], starts, strict=True)]
    return FrameBatch.concat(frames), wire


async def _wait_for(cond: Any, timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout_s
    while not cond():
        if loop.time() > end:
            raise TimeoutError
        await asyncio.sleep(0.01)


def test_feed_cut_mid_frame_resumes_at_next_frame_after_reconnect(
        shared_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    frames, wire = _frames_bytes(shared_data)
    first = b"".join(wire[:20]) + wire[20][:9]  # closed in the middle of frame 20
    second = wire[21][5:] + b"".join(wire[22:60])  # restarts mid-frame, like a live receiver
    got: list[FrameBatch] = []

    async def main() -> FeedStatus:
        conns = 0

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal conns
            conns += 1
            writer.write(first if conns == 1 else second)
            await writer.drain()
            if conns == 1:
                writer.close()
            else:
                await asyncio.sleep(10)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        spec = parse_source(f"tcp://127.0.0.1:{port}", "beast")
        status = FeedStatus("rx")
        task = asyncio.create_task(run_tcp_client(spec, lambda s, items: got.append(items),
                                                  status, backoff_s=0.05))
        try:
            await _wait_for(lambda: sum(map(len, got)) >= 58)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            server.close()
        return status

    with caplog.at_level(logging.WARNING, logger="airpicture.sources"):
        status = asyncio.run(main())
    heard = FrameBatch.concat(got)
    assert heard.hex == frames.hex[:20] + frames.hex[22:60]
    assert heard.mlat_ticks.tolist() == (frames.mlat_ticks.tolist()[:20]
                                         + frames.mlat_ticks.tolist()[22:60])
    assert status.reconnects >= 1 and status.connections == 2
    assert status.bad["beast_junk"] >= 1
    assert status.last_message_t is not None and (heard.t_s > 1e9).all()  # the wall clock
    assert any("down" in r.getMessage() for r in caplog.records)


def test_dead_feed_is_reported_and_does_not_block_another(shared_data: Path) -> None:
    data = (shared_data / "traffic/raw/sample_dump1090.bin").read_bytes()
    dead_port = _free_port()
    got: dict[int, int] = {}

    async def main() -> tuple[FeedStatus, FeedStatus]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(data)
            await writer.drain()
            await asyncio.sleep(10)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        dead = parse_source(f"tcp://127.0.0.1:{dead_port}", "beast", receiver=0)
        live = parse_source(f"tcp://127.0.0.1:{port}", "beast", receiver=1)
        s_dead, s_live = FeedStatus("dead"), FeedStatus("live")

        def sink(spec: SourceSpec, items: list[Any]) -> None:
            got[spec.receiver] = got.get(spec.receiver, 0) + len(items)

        tasks = [asyncio.create_task(run_tcp_client(dead, sink, s_dead, backoff_s=0.02)),
                 asyncio.create_task(run_tcp_client(live, sink, s_live, backoff_s=0.02))]
        try:
            await _wait_for(lambda: got.get(1, 0) >= 239 and s_dead.reconnects >= 3)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t
            server.close()
        return s_dead, s_live

    s_dead, s_live = asyncio.run(main())
    assert got[1] == 239 and 0 not in got
    assert s_dead.state in ("down", "connecting") and s_dead.last_error
    assert s_dead.to_json()["reconnects"] >= 3
    assert s_live.state == "up" and s_live.frames == 239


def test_listening_mode_takes_pushed_avr(shared_data: Path) -> None:
    frames, _ = _frames_bytes(shared_data)
    text = "".join(f"*{h};\n" for h in frames.hex).encode()
    port = _free_port()
    got: list[FrameBatch] = []

    async def main() -> FeedStatus:
        spec = parse_source(f"tcp-listen://127.0.0.1:{port}", "avr")
        status = FeedStatus("push")
        started = asyncio.Event()
        task = asyncio.create_task(run_tcp_server(spec, lambda s, i: got.append(i), status,
                                                  started))
        await started.wait()
        for part in (text[:1000], text[1000:]):  # two receivers connecting in turn
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(part)
            await writer.drain()
            writer.close()
        await _wait_for(lambda: status.connections == 2 and status.state == "listening")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return status

    status = asyncio.run(main())
    # The frame cut between the two pushes is lost and counted; the rest arrive.
    heard = FrameBatch.concat(got)
    assert len(heard) >= 238 and status.connections == 2
    assert set(heard.hex) <= set(frames.hex)


def test_files_plain_gzip_and_jsonl(shared_data: Path, tmp_path: Path) -> None:
    import gzip

    raw = (shared_data / "traffic/raw/sample_dump1090.bin").read_bytes()
    packed = tmp_path / "x.bin.gz"
    packed.write_bytes(gzip.compress(raw))
    beast = read_file(parse_source(str(packed), receiver=2))
    assert isinstance(beast, FrameBatch) and len(beast) == 239
    assert (beast.receiver == 2).all()
    tutorial = shared_data / "traffic/raw/tutorial.jsonl.gz"
    seen = FeedStatus("t")
    jsonl = read_file(parse_source(str(tutorial)), seen)
    assert isinstance(jsonl, FrameBatch) and len(jsonl) == 71939
    assert seen.frames == 71939 and seen.bytes == tutorial.stat().st_size

    async def main() -> FeedStatus:
        status = FeedStatus("f")
        count: list[int] = []
        await run_feed(parse_source(str(packed)), lambda s, i: count.append(len(i)), status)
        assert sum(count) == 239
        return status

    assert asyncio.run(main()).state == "done"


def test_bad_sources_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        parse_source(str(tmp_path / "missing.bin"))
    with pytest.raises(UserError):
        parse_source("tcp://host")
    with pytest.raises(UserError):
        parse_source("tcp://host:30005", "xml")
    assert parse_source("tcp://h:30003").fmt == "sbs"
    assert parse_source("tcp://h:30002").fmt == "avr"
    assert parse_source("tcp-listen://:30005").kind == "listen"


def test_silent_connection_is_a_dead_feed() -> None:
    async def main() -> FeedStatus:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await asyncio.sleep(10)  # accepts, then says nothing

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        status = FeedStatus("quiet")
        task = asyncio.create_task(run_tcp_client(
            parse_source(f"tcp://127.0.0.1:{port}", "sbs"), lambda s, i: None, status,
            backoff_s=0.01, idle_timeout_s=0.1))
        try:
            await _wait_for(lambda: status.connections >= 2)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            server.close()
        return status

    status = asyncio.run(main())
    assert status.reconnects >= 1 and "no data" in status.last_error


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(st.one_of(
    st.text(max_size=60),
    st.builds(lambda t, h: json.dumps({"timestamp": t, "frame": h}),
              st.one_of(st.floats(allow_nan=True), st.text(max_size=5)),
              st.text("0123456789abcdefxyz", max_size=30))), max_size=30))
def test_jsonl_reader_never_raises_and_counts(lines: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.jsonl"
        path.write_text("\n".join(line.replace("\n", " ") for line in lines) + "\n")
        frames, bad = read_jsonl_frames(path)
    nonblank = sum(1 for line in lines if line.replace("\n", " ").encode().strip())
    assert len(frames) + sum(bad.values()) == nonblank
    assert np.isin(frames.n_bytes, (2, 7, 14)).all() and not np.isnan(frames.t_s).any()
    assert [len(h) for h in frames.hex] == (2 * frames.n_bytes).tolist()


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=40))
def test_receiver_and_source_arguments_are_checked(text: str) -> None:
    from airpicture.sources.ingest import parse_receiver

    try:
        rx = parse_receiver(text, 0)
    except UserError:
        pass
    else:
        assert -90 <= rx.lat_deg <= 90 and -180 <= rx.lon_deg <= 180
    try:
        spec = parse_source("tcp://" + text)
    except UserError:
        pass
    else:
        assert spec.kind == "tcp" and 0 <= spec.port <= 65535 and spec.fmt in FORMATS


def test_file_replay_at_a_pace(shared_data: Path) -> None:
    import time

    spec = parse_source(str(shared_data / "traffic/raw/sample_dump1090.bin"), speed=40.0)
    calls: list[int] = []

    async def main() -> FeedStatus:
        status = FeedStatus("paced")
        await run_feed(spec, lambda s, i: calls.append(len(i)), status)
        return status

    start = time.monotonic()
    status = asyncio.run(main())
    elapsed = time.monotonic() - start
    assert sum(calls) == 239 and len(calls) >= 4  # 23.9 s of recording in ~0.6 s
    assert 0.45 < elapsed < 5.0 and status.state == "done"
    with pytest.raises(UserError):
        parse_source(str(shared_data / "traffic/raw/sample_dump1090.bin"), speed=-1.0)


_COMPACT = st.builds(
    lambda t, h, tail: f'{{"timestamp":{t!r},"frame":"{h}"{tail}',
    st.floats(-1e10, 1e10, allow_nan=False),
    st.one_of(st.sampled_from(["8d4840d6202cc371c32ce0576098", "5d4840d6b4e3c6", "a1b2"]),
              st.text("0123456789abcdefABx", max_size=30)),
    st.sampled_from(["}", ',"df":"17"}', "", ',"x":1']))


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(st.one_of(_COMPACT, _COMPACT, st.text(max_size=40)), max_size=30),
       limit=st.one_of(st.none(), st.integers(1, 20)), receiver=st.integers(0, 2))
def test_jsonl_block_reader_agrees_with_line_by_line(lines: list[str], limit: int | None,
                                                     receiver: int) -> None:
    """The regex path for whole blocks gives the same frames and counters as the line parser."""
    import tempfile

    from airpicture.sources.jsonl import _jsonl_block_lines

    text = "\n".join(line.replace("\n", " ").replace("\r", " ") for line in lines) + "\n"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.jsonl"
        path.write_text(text)
        frames, bad = read_jsonl_frames(path, receiver=receiver, limit=limit)
    hexes: list[str] = []
    times: list[float] = []
    expected_bad: Counter[str] = Counter()
    _jsonl_block_lines(text.encode(), hexes, times, expected_bad, limit)
    assert frames.hex == hexes and frames.t_s.tolist() == times
    assert frames.receiver.tolist() == [receiver] * len(hexes)
    assert frames.n_bytes.tolist() == [len(h) // 2 for h in hexes]
    if limit is None:
        assert bad == expected_bad


def test_jsonl_reader_agrees_with_json_loads(shared_data: Path, tmp_path: Path) -> None:
    """Hex strings and times straight from the text equal a plain json.loads of each line
    (hex lowercased, as rs1090 gives frames back), in the usual and in upper-case hex."""
    import gzip

    with gzip.open(shared_data / "traffic/raw/full_flight_short.jsonl.gz", "rt") as fh:
        lines = [next(fh) for _ in range(2000)]
    rows = [json.loads(line) for line in lines]
    for name, text in (("lower.jsonl", "".join(lines)),
                       ("upper.jsonl", "".join(line.replace(r["frame"], r["frame"].upper())
                                               for line, r in zip(lines, rows, strict=True)))):
        path = tmp_path / name
        path.write_text(text)
        frames, bad = read_jsonl_frames(path, receiver=1)
        assert not bad and len(frames) == 2000
        assert frames.hex == [r["frame"].lower() for r in rows]
        assert frames.t_s.tolist() == [r["timestamp"] for r in rows]
        assert (frames.receiver == 1).all() and (frames.mlat_ticks == -1).all()
        assert np.isnan(frames.rssi_dbfs).all()
        assert frames.n_bytes.tolist() == [len(r["frame"]) // 2 for r in rows]
    assert read_jsonl_frames(path, limit=700)[0].hex == frames.hex[:700]
