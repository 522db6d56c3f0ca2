"""/api/history's reading of the recording: bounded pages, a cursor, streamed JSON or Arrow.

A page is at most `limit` rows, cut in the query itself (ORDER BY t, track_id LIMIT), and the
next page starts after the last row's (t, track_id) key (the cursor returned with each page):
memory per request is bounded by the page size, never by the time range asked for.  Rows are
written out chunk by chunk (JSON columns or an Arrow IPC stream), never as Python lists of the
whole page; heavy queries run at most `HISTORY_CONCURRENCY` at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airpicture.policy.egress import Consumer, Egress
from airpicture.service.encode import MPS_TO_KT
from airpicture.service.recorder import Recorder

HISTORY_COLUMNS = ["t", "track_id", "lat", "lon", "alt_ft", "status", "icao24", "callsign",
                   "squawk", "vx", "vy", "sensor_mask"]
DEFAULT_PAGE_ROWS = 50_000
MAX_PAGE_ROWS = 200_000
MAX_ABS_TIME_S = 1e11
"""Stream times beyond this (about 3000 years of seconds) are refused as absurd."""
HISTORY_CONCURRENCY = 2
"""History queries running at once; more wait up to HISTORY_WAIT_S, then get 503."""
HISTORY_WAIT_S = 5.0
JSON_CHUNK_ROWS = 8192
ARROW_MEDIA_TYPE = "application/vnd.apache.arrow.stream"


class HistoryError(ValueError):
    """A query parameter that cannot be served (the message says which and why)."""


def check_window(t0_s: float, t1_s: float) -> None:
    """Finite, ordered and not absurd, or a HistoryError naming the problem."""
    for name, value in (("t0", t0_s), ("t1", t1_s)):
        if not math.isfinite(value):
            raise HistoryError(f"{name} must be a finite number of stream seconds, not {value}")
        if abs(value) > MAX_ABS_TIME_S:
            raise HistoryError(f"{name} = {value:g} is out of range (|t| <= {MAX_ABS_TIME_S:g} s)")
    if t1_s < t0_s:
        raise HistoryError("t1 must not be before t0")


def encode_cursor(t_s: float, track_id: int) -> str:
    """The key of a page's last row, as the opaque cursor of the next page."""
    return f"{float(t_s).hex()}_{int(track_id)}"


def decode_cursor(cursor: str) -> tuple[float, int]:
    """(t, track_id) after which the next page starts, or a HistoryError."""
    try:
        t_hex, track = cursor.split("_")
        t_s, track_id = float.fromhex(t_hex), int(track)
    except ValueError:
        raise HistoryError(f"cursor {cursor[:40]!r} is not one this service returned") from None
    if not math.isfinite(t_s):
        raise HistoryError("cursor is not one this service returned")
    return t_s, track_id


def read_page(recorder: Recorder, egress: Egress, consumer: Consumer, t0_s: float,
              t1_s: float, bbox: tuple[float, float, float, float] | None,
              cursor: str | None, limit: int, session: int | None = None,
              class_id: str | None = None) -> tuple[pa.Table, str | None]:
    """One page of released track states (WIRE_COLUMNS) of a session (default: the
    recorder's own) and the next page's cursor (None: this was the last page).  The LIMIT is
    in the query; Egress filters each page.  `class_id`: only the states of that release
    class's picture (with a release policy, the consumer's current class)."""
    sql = "SELECT * FROM track_states WHERE session = ? AND t BETWEEN ? AND ?"
    params: list[Any] = [recorder.session_id if session is None else session, t0_s, t1_s]
    if class_id is not None:
        sql += " AND class_id = ?"
        params.append(class_id)
    if bbox is not None:
        sql += " AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?"
        params += [bbox[0], bbox[2], bbox[1], bbox[3]]
    if cursor is not None:
        after_t, after_id = decode_cursor(cursor)
        sql += " AND (t > ? OR (t = ? AND track_id > ?))"
        params += [after_t, after_t, after_id]
    table = recorder.query(sql + " ORDER BY t, track_id LIMIT ?", [*params, limit + 1])
    following = None
    if table.num_rows > limit:
        table = table.slice(0, limit)
        following = encode_cursor(table.column("t")[limit - 1].as_py(),
                                  table.column("track_id")[limit - 1].as_py())
    return wire_units(egress.track_rows(table, consumer).select(HISTORY_COLUMNS)), following


WIRE_COLUMNS = ["t", "track_id", "lat", "lon", "alt_ft", "hdg_deg", "gs_kt", "status", "icao24",
                "callsign", "squawk", "smask"]
"""/api/history's columns: the units and identity formats of /api/tracks (`track_id` is its
`id`, `smask` the same sensor bits)."""


def wire_units(table: pa.Table) -> pa.Table:
    """Recorded columns in /api/tracks' units and formats: address as 6 hex digits, squawk as
    4 octal digits ("" when none), callsign stripped, ground speed (kt) and heading (deg) from
    the velocity, altitude in whole feet (null when unknown)."""
    vx = table.column("vx").to_numpy(zero_copy_only=False).astype(np.float64)
    vy = table.column("vy").to_numpy(zero_copy_only=False).astype(np.float64)
    hdg = np.round(np.nan_to_num((np.degrees(np.arctan2(vx, vy)) + 360.0) % 360.0), 1)
    gs = np.round(np.nan_to_num(np.hypot(vx, vy) * MPS_TO_KT)).astype(np.int64)
    icao = table.column("icao24").to_numpy(zero_copy_only=False).astype(np.int64)
    squawk = table.column("squawk").to_numpy(zero_copy_only=False).astype(np.int64)
    alt = table.column("alt_ft").to_numpy(zero_copy_only=False).astype(np.float64)
    alt_ok = np.isfinite(alt)
    callsign = pc.utf8_trim_whitespace(table.column("callsign").cast(pa.string()))
    cols = {
        "t": table.column("t"), "track_id": table.column("track_id"),
        "lat": table.column("lat"), "lon": table.column("lon"),
        "alt_ft": pa.array(np.round(np.nan_to_num(alt)).astype(np.int64), mask=~alt_ok),
        "hdg_deg": pa.array(hdg), "gs_kt": pa.array(gs), "status": table.column("status"),
        "icao24": _formatted("%06x", icao, icao > 0),
        "callsign": callsign,
        "squawk": _formatted("%04o", squawk, squawk >= 0),
        "smask": table.column("sensor_mask"),
    }
    return pa.table(cols)


def _formatted(fmt: str, values: np.ndarray, ok: np.ndarray) -> pa.Array:
    """Integers printed with `fmt` where `ok`, "" elsewhere, as an Arrow string column."""
    if values.size == 0:
        return pa.array([], type=pa.string())
    text = np.char.mod(fmt, np.where(ok, values, 0)).astype(str)
    return pa.array(np.where(ok, text, ""), type=pa.string())


def _json_values(column: pa.ChunkedArray | pa.Array) -> str:
    """One column chunk as a JSON array (NaN -> null)."""
    if pa.types.is_floating(column.type):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    return json.dumps(column.to_pylist(), separators=(",", ":"))


def json_stream(table: pa.Table, head: dict[str, Any]) -> Iterator[bytes]:
    """`{**head, "count": n, "cols": {name: [...]}}` written a chunk of rows at a time."""
    top = json.dumps({**head, "count": table.num_rows}, separators=(",", ":"))
    yield (top[:-1] + ',"cols":{').encode()
    for i, name in enumerate(table.column_names):
        yield ((',' if i else '') + json.dumps(name) + ':[').encode()
        column = table.column(name)
        for j, start in enumerate(range(0, table.num_rows, JSON_CHUNK_ROWS)):
            values = _json_values(column.slice(start, JSON_CHUNK_ROWS))[1:-1]
            if values:
                yield ((',' if j else '') + values).encode()
        yield b']'
    yield b'}}'


class _Parts:
    """A write-only file collecting what the Arrow writer writes, handed out per batch."""

    closed = False

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def arrow_stream(table: pa.Table) -> Iterator[bytes]:
    """The page as an Arrow IPC stream, one record batch per chunk of rows."""
    parts = _Parts()
    with pa.ipc.new_stream(pa.PythonFile(parts, mode="w"), table.schema) as writer:
        for batch in table.to_batches(max_chunksize=JSON_CHUNK_ROWS * 8):
            writer.write_batch(batch)
            yield parts.take()
    yield parts.take()


class QueryGate:
    """At most `slots` heavy queries at once; others wait up to `wait_s`, then are refused.
    Waiting is async: a queue of waiting requests holds no worker thread (/api/health and
    the other routes keep theirs)."""

    def __init__(self, slots: int = HISTORY_CONCURRENCY, wait_s: float = HISTORY_WAIT_S) -> None:
        self.slots = slots
        self.wait_s = wait_s
        self.refused = 0
        self._sem: asyncio.Semaphore | None = None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block; TimeoutError when none frees up within wait_s."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.slots)
        try:
            await asyncio.wait_for(self._sem.acquire(), self.wait_s)
        except TimeoutError:
            self.refused += 1
            raise TimeoutError("too many history queries at once") from None
        try:
            yield
        finally:
            self._sem.release()
