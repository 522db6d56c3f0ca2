"""JSON-lines frame files ({"timestamp": epoch_s, "frame": hex, ...} per line, as jet1090
and traffic write them): read a block at a time with one regex where every line has the
usual layout, line by line otherwise; bad lines (and times that are not a plausible epoch)
are counted, never raised."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.sources.framing import FrameBatch
from airpicture.sources.limits import TIME_MAX_S, TIME_MIN_S, timestamp_ok


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
