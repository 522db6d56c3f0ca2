"""Feeds (asyncio): files, JSON-lines frame files, TCP clients and listening TCP servers.

Every feed turns bytes into frames (a FrameBatch per chunk; SBS: record dicts) with its own
parser and hands them, tagged with its receiver, to a sink; no feed waits for another.  Each
feed keeps a `FeedStatus` (state, last message time, reconnects, counters) that the API and log
report.
A TCP client that loses its receiver logs it, marks itself `down`, and reconnects with
exponential back-off; each connection gets a fresh parser, so a frame cut by the disconnect is
dropped and decoding resumes at the next whole frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gzip
import io
import json
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from airpicture.core.errors import UserError
from airpicture.sources.framing import AvrParser, BeastParser, FrameBatch
from airpicture.sources.limits import TIME_MAX_S, TIME_MIN_S, timestamp_ok
from airpicture.sources.sbs import SbsParser

log = logging.getLogger("airpicture.sources")

FORMATS = ("beast", "avr", "sbs", "jsonl")
DEFAULT_PORT_FORMAT = {30005: "beast", 30002: "avr", 30003: "sbs"}
CHUNK_BYTES = 65536
FILE_SLICE = 5000
IDLE_TIMEOUT_S = 60.0
"""A receiver connection that sends nothing for this long is dead: reconnect."""
STALE_AFTER_S = 30.0
"""A network feed connected but silent this long is `stale` (not healthy) until data comes."""
MAX_PUSHERS = 16
"""Pushing receivers a tcp-listen feed takes at once; more are refused (counted)."""
RESTART_BACKOFF_S = 1.0
RESTART_BACKOFF_MAX_S = 60.0
"""A network feed that failed with an unexpected exception restarts after 1, 2, 4 ... 60 s."""
Parser = BeastParser | AvrParser | SbsParser


HEALTHY_STATES = frozenset({"up", "listening", "done"})
"""Feed states that need no attention; anything else (stale, down, failed, connecting,
starting) is a problem for /api/health."""


@dataclass
class FeedStatus:
    """What a feed is doing, for the API and the log."""

    name: str
    state: str = "starting"
    """starting, connecting, up, down (retrying), listening, done, failed, as the transport
    sets it; `current_state` adds `stale` (up but silent for `stale_after_s`)."""
    stale_after_s: float | None = None
    """Network feeds: the longest silence of a connected feed before it is `stale`."""
    up_since_s: float = math.nan
    """Wall clock when the current connection opened (NaN: none)."""
    last_data_s: float = math.nan
    """Wall clock when the last frames arrived (NaN: none yet)."""
    pushers: int = 0
    """tcp-listen: receivers pushing to it now."""
    refused: int = 0
    """tcp-listen: connections refused because `MAX_PUSHERS` were already connected."""
    last_message_t: float | None = None
    clock_offset_s: float = math.nan
    """Time of the newest message of the latest delivery minus the wall clock then."""
    far_from_clock: int = 0
    """Messages more than `ingest.MAX_CLOCK_OFFSET_S` from the wall clock on arrival."""
    reconnects: int = 0
    restarts: int = 0
    """Restarts after an unexpected exception (see `run_feed`)."""
    connections: int = 0
    frames: int = 0
    bytes: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    last_error: str = ""

    def current_state(self, now_s: float | None = None) -> str:
        """`state`, or `stale` when the feed is up but nothing arrived for `stale_after_s`
        (since the last frames, or since the connection opened when none came yet)."""
        if self.state != "up" or self.stale_after_s is None:
            return self.state
        now_s = time.time() if now_s is None else now_s
        since = max((t for t in (self.up_since_s, self.last_data_s) if t == t),
                    default=-math.inf)
        return "stale" if now_s - since > self.stale_after_s else "up"

    def to_json(self, now_s: float | None = None) -> dict[str, Any]:
        return {"name": self.name, "state": self.current_state(now_s),
                "last_message_t": self.last_message_t,
                "clock_offset_s": (round(self.clock_offset_s, 3)
                                   if math.isfinite(self.clock_offset_s) else None),
                "far_from_clock": self.far_from_clock,
                "reconnects": self.reconnects, "restarts": self.restarts,
                "connections": self.connections, "pushers": self.pushers,
                "refused": self.refused,
                "frames": self.frames, "bytes": self.bytes, "bad": dict(self.bad),
                "last_error": self.last_error}


@dataclass(frozen=True)
class SourceSpec:
    """One feed: a file path, tcp://host:port or tcp-listen://[host]:port, and its format."""

    kind: str
    """file, tcp or listen."""
    where: str
    fmt: str
    host: str = ""
    port: int = 0
    receiver: int = 0
    speed: float = 0.0
    """Files: replay pace (1 = as recorded, 10 = ten times faster); 0 = as fast as possible."""
    own_time: bool = False
    """Network SBS: keep the records' own time stamps (the data clock) instead of stamping
    them with the wall clock on arrival.  Beast and AVR frames carry no epoch time: always
    the arrival time."""


def make_parser(fmt: str) -> Parser:
    if fmt == "beast":
        return BeastParser()
    if fmt == "avr":
        return AvrParser()
    if fmt == "sbs":
        return SbsParser()
    raise ValueError(f"no byte parser for format {fmt!r}")


def guess_file_format(path: Path) -> str:
    """Format from the file name: .bin beast, .jsonl[.gz] jsonl, .sbs/.csv sbs, else avr."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".jsonl") or name.endswith(".json"):
        return "jsonl"
    if name.endswith(".bin") or name.endswith(".beast"):
        return "beast"
    if name.endswith(".sbs") or name.endswith(".csv"):
        return "sbs"
    return "avr"


def parse_source(text: str, fmt: str | None = None, receiver: int = 0,
                 speed: float = 0.0) -> SourceSpec:
    """A SOURCE argument to a SourceSpec; UserError when malformed."""
    if not (speed >= 0 and math.isfinite(speed)):
        raise UserError(text, f"replay speed must be a finite number >= 0, got {speed}")
    if fmt is not None and fmt not in FORMATS:
        raise UserError(text, f"unknown format {fmt!r}, expected one of {FORMATS}")
    if text.startswith(("tcp://", "tcp-listen://")):
        try:
            url = urlparse(text)
            port = url.port
        except ValueError:
            raise UserError(text, "not a valid tcp://HOST:PORT address") from None
        if port is None:
            raise UserError(text, "a TCP source needs a port, e.g. tcp://host:30005")
        chosen = fmt or DEFAULT_PORT_FORMAT.get(port, "beast")
        if chosen == "jsonl":
            raise UserError(text, "jsonl is a file format, not a TCP feed format")
        kind = "tcp" if url.scheme == "tcp" else "listen"
        host = url.hostname or "127.0.0.1"  # listen on other interfaces only when asked
        return SourceSpec(kind, text, chosen, host, port, receiver)
    path = Path(text)
    if not path.is_file():
        raise UserError(path, "no such file")
    return SourceSpec("file", text, fmt or guess_file_format(path), receiver=receiver,
                      speed=speed)


Items = FrameBatch | list[dict[str, Any]]
"""What a feed delivers: a FrameBatch (Beast, AVR, JSON lines) or a list of SBS records."""
Sink = Callable[[SourceSpec, Items], None]
"""Called with a feed's spec and what it delivered (a FrameBatch, or a list of SBS record
dicts from `airpicture.sources.sbs`) as it arrives."""


def _open_binary(path: Path) -> Any:
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _jsonl_fast(line: bytes) -> tuple[float, bytes] | None:
    """(timestamp, message) of a line written as {"timestamp":T,"frame":"HEX",...}, None when
    the line is laid out otherwise (then it is parsed as JSON)."""
    i = line.find(b'"frame":"')
    j = line.find(b'"timestamp":')
    if i < 0 or j < 0:
        return None
    end = line.find(b'"', i + 9)
    stop = line.find(b",", j + 12)
    try:
        return float(line[j + 12:stop]), bytes.fromhex(line[i + 9:end].decode("ascii"))
    except (ValueError, UnicodeDecodeError, OverflowError):
        return None


_JSONL_LINE = re.compile(
    r'\n\{"timestamp":(-?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?),"frame":"([0-9a-f]*)"')
"""A line as written by jet1090/traffic: {"timestamp":T,"frame":"hex",... (newline before);
matched on the block decoded as latin-1 (one character per byte), so groups are str."""
_JSONL_LINE_ANY_CASE = re.compile(_JSONL_LINE.pattern.replace("0-9a-f", "0-9a-fA-F"))
"""The same with upper-case hex (tried second: its messages are lowercased one by one)."""
JSONL_BLOCK_BYTES = 1 << 18


def _jsonl_blocks(fh: Any) -> Iterator[bytes]:
    """The file in blocks of whole lines (about JSONL_BLOCK_BYTES each)."""
    rest = b""
    while block := fh.read(JSONL_BLOCK_BYTES):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield block[:cut]
    if rest:
        yield rest


def _jsonl_block_fast(block: bytes) -> tuple[list[str], npt.NDArray[np.float64],
                                             npt.NDArray[np.int8]] | None:
    """(hex, t_s, n_bytes) of a block whose every line has the usual layout, in a few C-level
    passes (one regex search; hex strings straight from the text, lowercased only in a block
    written in upper case); None when any line differs or has a bad length (then the block is
    read line by line).  A time out of range (e.g. 1e400, inf) also sends the block there, to
    be counted."""
    text = "\n" + block.decode("latin-1")
    lines = block.count(b"\n") + (not block.endswith(b"\n"))
    found = _JSONL_LINE.findall(text)
    lowercase = len(found) == lines
    if not lowercase:
        found = _JSONL_LINE_ANY_CASE.findall(text)
    if len(found) != lines or not found:
        return None
    times, hexes = zip(*found, strict=True)
    n = len(hexes)
    chars = np.fromiter(map(len, hexes), np.int64, n)
    if not ((chars == 28) | (chars == 14) | (chars == 4)).all():
        return None
    t_s = np.fromiter(map(float, times), np.float64, n)
    if not ((t_s >= TIME_MIN_S) & (t_s <= TIME_MAX_S)).all():
        return None
    hex_list = list(hexes) if lowercase else [h.lower() for h in hexes]
    return hex_list, t_s, (chars // 2).astype(np.int8)


def _jsonl_block_lines(block: bytes, hexes: list[str], times: list[float], bad: Counter[str],
                       limit: int | None) -> None:
    """Append the messages (lowercase hex) and times of a block parsed line by line (any JSON
    layout; bad lines counted), until `hexes` holds `limit`.  A time that is not a finite
    plausible epoch (`limits.timestamp_ok`: 1e400, Infinity, 1e308, negative) is a bad line
    (`jsonl_bad_time`), never read as t = 0."""
    for line in io.BytesIO(block):  # lines keep their newline, as read from the file
        fast = _jsonl_fast(line)
        if fast is None:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                fast = float(obj["timestamp"]), bytes.fromhex(obj["frame"])
            except OverflowError:  # an integer time too large for a float (1, 400 zeros)
                bad["jsonl_bad_time"] += 1
                continue
            except (ValueError, KeyError, TypeError):
                bad["jsonl_bad_line"] += 1
                continue
        t, msg = fast
        if not timestamp_ok(t):
            bad["jsonl_bad_time"] += 1
            continue
        if len(msg) not in (2, 7, 14):
            bad["jsonl_bad_length"] += 1
            continue
        hexes.append(msg.hex())
        times.append(t)
        if limit is not None and len(hexes) >= limit:
            return


def read_jsonl_frames(path: Path, receiver: int = 0, limit: int | None = None
                      ) -> tuple[FrameBatch, Counter[str]]:
    """Frames of a JSON-lines frame file ({"timestamp": epoch_s, "frame": hex, ...} per line);
    the reference decode fields beside them are ignored.  Bad lines are counted.  At most
    `limit` frames when given."""
    parts: list[FrameBatch] = []
    bad: Counter[str] = Counter()
    count = 0
    with _open_binary(path) as fh:
        for block in _jsonl_blocks(fh):
            fast = _jsonl_block_fast(block)
            if fast is None:
                hexes: list[str] = []
                times: list[float] = []
                _jsonl_block_lines(block, hexes, times, bad,
                                   None if limit is None else limit - count)
                part = FrameBatch.create(hexes, times, receiver=receiver)
            else:
                part = FrameBatch.create(fast[0], fast[1], receiver=receiver, n_bytes=fast[2])
            parts.append(part)
            count += len(part)
            if limit is not None and count >= limit:
                break
    frames = FrameBatch.concat(parts)
    if limit is not None and len(frames) > limit:
        frames = frames.take(slice(0, limit))
    return frames, bad


def read_file(spec: SourceSpec, status: FeedStatus | None = None) -> Items:
    """All frames (a FrameBatch; SBS: a list of records) of a file source, at once (for
    `decode` and replay)."""
    path = Path(spec.where)
    status = status or FeedStatus(spec.where)
    try:
        if spec.fmt == "jsonl":
            frames, bad = read_jsonl_frames(path, spec.receiver)
            status.bad.update(bad)
            status.frames += len(frames)
            status.bytes += path.stat().st_size  # as read from disk (compressed if gzip)
            return frames
        parser = make_parser(spec.fmt)
        parts: list[Any] = []
        with _open_binary(path) as fh:
            while chunk := fh.read(CHUNK_BYTES):
                status.bytes += len(chunk)
                parts.append(parser.feed(chunk))
        parts.append(parser.finish())
    except (OSError, EOFError) as exc:
        raise UserError(path, f"cannot read: {exc}") from None
    status.bad.update(parser.bad)
    if isinstance(parser, SbsParser):
        records = [rec for part in parts for rec in part]
        for rec in records:
            rec["receiver"] = spec.receiver
        status.frames += len(records)
        return records
    batch = FrameBatch.concat(parts)
    batch = dataclasses.replace(batch, receiver=np.full(len(batch), spec.receiver, np.int32))
    status.frames += len(batch)
    return batch


def _stamp(items: Items, spec: SourceSpec, now_s: float) -> Items:
    """Frames heard live get the wall clock (their 12 MHz counter stays in mlat_ticks); so do
    SBS records, whose own time stamps may be the receiver's local time."""
    if isinstance(items, FrameBatch):
        n = len(items)
        return dataclasses.replace(items, t_s=np.full(n, now_s),
                                   receiver=np.full(n, spec.receiver, np.int32))
    for item in items:
        item["sbs_timestamp"] = item["timestamp"]
        if not spec.own_time:
            item["timestamp"] = now_s
        item["receiver"] = spec.receiver
    return items


async def _pump(reader: asyncio.StreamReader, spec: SourceSpec, sink: Sink,
                status: FeedStatus, idle_timeout_s: float | None = None) -> None:
    """Read one connection until EOF, with a fresh parser (a cut frame is dropped).

    TimeoutError when nothing arrives for `idle_timeout_s`: a silent feed is a dead feed.
    The first frames of the connection clear the feed's `last_error` (a good reconnect).
    """
    parser = make_parser(spec.fmt)
    good = False
    try:
        while chunk := await asyncio.wait_for(reader.read(CHUNK_BYTES), idle_timeout_s):
            status.bytes += len(chunk)
            items = parser.feed(chunk)
            if parser.bad:  # counted as they happen, so the API shows them while connected
                status.bad.update(parser.bad)
                parser.bad.clear()
            if items:
                now = time.time()
                if not good:
                    status.last_error, good = "", True
                status.frames += len(items)
                status.last_message_t = status.last_data_s = now
                sink(spec, _stamp(items, spec, now))
    finally:
        parser.finish()
        status.bad.update(parser.bad)


async def run_tcp_client(spec: SourceSpec, sink: Sink, status: FeedStatus,
                         backoff_s: float = 0.5, backoff_max_s: float = 30.0,
                         idle_timeout_s: float = IDLE_TIMEOUT_S) -> None:
    """Connect to a receiver and read it for ever, reconnecting with exponential back-off;
    a connection silent for `idle_timeout_s` is treated as dead and reopened."""
    delay = backoff_s
    while True:
        status.state = "connecting"
        try:
            reader, writer = await asyncio.open_connection(spec.host, spec.port)
        except OSError as exc:
            status.last_error = str(exc)
        else:
            status.state = "up"
            status.up_since_s = time.time()
            status.connections += 1
            delay = backoff_s
            log.info("feed %s: connected", status.name)
            try:
                await _pump(reader, spec, sink, status, idle_timeout_s)
                status.last_error = "closed by the receiver"
            except TimeoutError:
                status.last_error = f"no data for {idle_timeout_s:g} s"
            except (OSError, asyncio.IncompleteReadError) as exc:
                status.last_error = str(exc)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
        status.state = "down"
        status.reconnects += 1
        log.warning("feed %s: down (%s), retrying in %.1f s", status.name, status.last_error,
                    delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, backoff_max_s)


async def run_tcp_server(spec: SourceSpec, sink: Sink, status: FeedStatus,
                         started: asyncio.Event | None = None,
                         idle_timeout_s: float = IDLE_TIMEOUT_S,
                         max_pushers: int = MAX_PUSHERS) -> None:
    """Listen for receivers that push their feed; each connection has its own parser.

    `pushers` counts the live connections (the feed is `up` while there is one, else
    `listening`); one silent for `idle_timeout_s` is closed, and beyond `max_pushers` a new
    connection is closed at once and counted in `refused`.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if status.pushers >= max_pushers:
            status.refused += 1
            log.warning("feed %s: refused a pushing receiver (%d connected already)",
                        status.name, status.pushers)
            writer.close()
            return
        status.connections += 1
        status.pushers += 1
        if status.pushers == 1:
            status.up_since_s = time.time()
        status.state = "up"
        try:
            await _pump(reader, spec, sink, status, idle_timeout_s)
        except TimeoutError:
            status.last_error = f"a pushing receiver sent nothing for {idle_timeout_s:g} s"
        except (OSError, asyncio.IncompleteReadError) as exc:
            status.last_error = str(exc)
        except Exception as exc:  # one connection's surprise must not reach the server
            status.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.exception("feed %s: a pushing receiver's connection failed", status.name)
        finally:
            writer.close()
            status.pushers -= 1
            if status.pushers == 0:
                status.state = "listening"
            log.warning("feed %s: a pushing receiver disconnected", status.name)

    server = await asyncio.start_server(handle, spec.host, spec.port)
    status.state = "listening"
    if started is not None:
        started.set()
    async with server:
        await server.serve_forever()


def _times(items: Items) -> npt.NDArray[np.float64]:
    """Each item's time (a frame's t_s, a record's timestamp)."""
    if isinstance(items, FrameBatch):
        return items.t_s
    return np.array([r["timestamp"] for r in items], float)


def _part(items: Items, index: slice | npt.NDArray[np.int64]) -> Items:
    """The items at `index` (a slice or positions)."""
    if isinstance(items, FrameBatch):
        return items.take(index)
    if isinstance(index, slice):
        return items[index]
    return [items[i] for i in index.tolist()]


async def run_file(spec: SourceSpec, sink: Sink, status: FeedStatus,
                   tick_s: float = 0.1) -> None:
    """Replay a file: as fast as the decoder takes it (in slices, yielding between them), or
    at `spec.speed` times the recorded pace (items sorted by time; unknown times count as
    the earliest known)."""
    status.state = "up"
    items = await asyncio.to_thread(read_file, spec, status)
    times = _times(items)
    if spec.speed > 0 and len(items):
        times = np.where(np.isfinite(times), times, times[np.isfinite(times)].min(initial=0.0))
        order = np.argsort(times, kind="stable")
        items, times = _part(items, order), times[order]
        loop = asyncio.get_running_loop()
        start = loop.time()
        done = 0
        while done < len(items):
            horizon = times[0] + (loop.time() - start) * spec.speed
            upto = int(np.searchsorted(times, horizon, side="right"))
            if upto > done:
                sink(spec, _part(items, slice(done, upto)))
                status.last_message_t = float(times[upto - 1])
                done = upto
            await asyncio.sleep(tick_s)
    else:
        for k in range(0, len(items), FILE_SLICE):
            upto = min(k + FILE_SLICE, len(items))
            sink(spec, _part(items, slice(k, upto)))
            status.last_message_t = float(times[upto - 1])
            await asyncio.sleep(0)
    status.state = "done"


async def _run_once(spec: SourceSpec, sink: Sink, status: FeedStatus) -> None:
    if spec.kind == "file":
        await run_file(spec, sink, status)
    elif spec.kind == "tcp":
        await run_tcp_client(spec, sink, status)
    else:
        await run_tcp_server(spec, sink, status)


async def run_feed(spec: SourceSpec, sink: Sink, status: FeedStatus,
                   restart_backoff_s: float = RESTART_BACKOFF_S,
                   restart_backoff_max_s: float = RESTART_BACKOFF_MAX_S) -> None:
    """Run one feed of any kind, isolated from every other: nothing it does is raised.

    A file that cannot be read, or a port that cannot be bound, fails for good (`failed`, the
    reason in `last_error`).  Any other exception (input or a bug nothing foresaw) is logged
    with its traceback, shown as the feed's `failed` state and `last_error`, and a network feed
    is restarted after a back-off (doubling up to `restart_backoff_max_s`; `restarts` counts
    them).  A file feed is not restarted: it would deliver its frames a second time.
    """
    delay = restart_backoff_s
    while True:
        try:
            await _run_once(spec, sink, status)
            return
        except (UserError, OSError) as exc:
            status.state, status.last_error = "failed", str(exc)
            log.error("feed %s: %s", status.name, exc)
            return
        except Exception as exc:  # must not end the others
            status.state, status.last_error = "failed", f"{type(exc).__name__}: {exc}"[:500]
            log.exception("feed %s: failed", status.name)
            if spec.kind == "file":
                return
        status.restarts += 1
        log.warning("feed %s: restarting in %.1f s", status.name, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, restart_backoff_max_s)
