"""`airpicture asterix replay`: send a recording to a UDP URL as a live source would.

A raw .ast file (concatenated data blocks) goes out one data block per datagram, paced by
the data's own time: the first record's I048/140, I034/030, I021/071-073-077 (or 030 in the
0.2x editions) or I062/070, at `speed` times real time. A block without a time (or that does
not parse) goes right after the one before it. A pcap/pcapng recording goes out datagram by
datagram, unchanged, paced by capture time. Nothing larger than a UDP datagram can carry
(65,507 bytes) is sent: it is counted and skipped.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from airpicture.io.asterix.blocks import Block, max_blocks_for, split_blocks
from airpicture.io.asterix.config import DEFAULT_EDITIONS
from airpicture.io.asterix.layout import LayoutError, quantity_info, record_layout, walk_records
from airpicture.io.asterix.transport import MAX_DATAGRAM_BYTES, UdpSender, read_any

DAY_S = 86400.0
TIME_ITEMS: dict[int, tuple[str, ...]] = {
    48: ("140",), 34: ("030",), 21: ("071", "073", "077", "030"), 62: ("070",),
}
"""Per category the time-of-day items that pace a replay, the first present wins."""
MAX_GAP_S = 60.0
"""A step in data time longer than this, either way (a garbled time, or a pause in the
recording), is replayed as no wait at all, and counted; small steps back are not waited
for either (data time never goes backwards)."""


def block_time_of_day(block: Block, edition: str | None = None) -> float:
    """Time of day (s) of a block's first record, NaN where it has none or does not parse."""
    items = TIME_ITEMS.get(block.category)
    edition = edition or DEFAULT_EDITIONS.get(block.category)
    if not items or edition is None:
        return float("nan")
    try:
        layout = record_layout(block.category, edition)
    except (KeyError, LayoutError):
        return float("nan")
    names = [n for n in items if n in layout.names]
    walked = walk_records(block.buf, block.start, block.end, layout,
                          tuple(layout.frn(n) for n in names), max_records=1 << 16)
    if isinstance(walked, str) or not walked[0]:
        return float("nan")
    for name, off in zip(names, walked[1][:len(names)], strict=True):
        if off >= 0:
            lsb, _signed = quantity_info(block.category, edition, name)
            return int.from_bytes(block.buf[off:off + 3], "big") * lsb
    return float("nan")


def send_schedule(tod_s: list[float], max_gap_s: float = MAX_GAP_S) -> tuple[list[float], int]:
    """Seconds after the start at which each block is due (data time, never backwards; a
    block without a time goes with the one before), and how many gaps were cut."""
    tod = np.asarray(tod_s, float)
    timed = np.isfinite(tod)
    t = np.full(tod.shape, np.nan)
    if timed.any():
        t[timed] = np.unwrap(tod[timed], period=DAY_S)  # midnight roll-over
    out: list[float] = []
    cut = 0
    at, last = 0.0, float("nan")
    for v in t.tolist():
        if np.isfinite(v):
            step = v - last if np.isfinite(last) else 0.0
            if abs(step) > max_gap_s:  # a pause or a garbled time: no wait, start over from it
                cut += 1
                last = v
            elif step > 0:
                at += step
                last = v
            elif not np.isfinite(last):
                last = v
        out.append(at)
    return out, cut


def replay_file(path: Path, url: str, speed: float = 1.0,
                editions: dict[int, str] | None = None,
                send: Callable[[bytes], None] | None = None) -> dict[str, Any]:
    """Send a recording to `url` (see the module doc); `speed` <= 0: as fast as possible.
    Returns datagrams, blocks, bytes, skipped (too large), gaps_cut, untimed_blocks,
    data_s (the data's span), wall_s and the counts of what could not be split."""
    counts: Counter[str] = Counter()
    datagrams = read_any(path, counts)
    raw = len(datagrams) == 1 and datagrams[0][0] is None
    editions = {**DEFAULT_EDITIONS, **(editions or {})}
    if raw:
        blocks = split_blocks(datagrams[0][1], counts, max_blocks_for(None))
        payloads = [b.raw for b in blocks]
        tods = [block_time_of_day(b, editions.get(b.category)) for b in blocks]
        due, cut = send_schedule(tods)
    else:
        payloads = [d for _, d in datagrams]
        first = next((t for t, _ in datagrams if t is not None), 0.0)
        due = [0.0 if t is None else t - first for t, _ in datagrams]
        tods, cut = [], 0
    sender = None if send is not None else UdpSender(url)
    emit = send or sender.send  # type: ignore[union-attr]
    started = time.monotonic()
    sent = nbytes = skipped = 0
    try:
        for at, payload in zip(due, payloads, strict=True):
            if len(payload) > MAX_DATAGRAM_BYTES:
                skipped += 1
                continue
            if speed > 0:
                delay = at / speed - (time.monotonic() - started)
                if delay > 0:
                    time.sleep(delay)
            emit(payload)
            sent += 1
            nbytes += len(payload)
    finally:
        if sender is not None:
            sender.close()
    return {
        "datagrams": sent, "blocks": len(payloads) if raw else None, "bytes": nbytes,
        "skipped_too_large": skipped, "gaps_cut": cut,
        "untimed_blocks": int(sum(not np.isfinite(t) for t in tods)),
        "data_s": due[-1] if due else 0.0, "wall_s": time.monotonic() - started,
        "counts": dict(counts),
    }
