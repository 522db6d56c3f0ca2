"""pyModeS 3.6 PipeDecoder as the Mode S decoding peer (GPL: run as a subprocess, never imported
by the airpicture package).

Reads the same JSON-lines frame file as airpicture's benchmark, decodes every frame in time
order with one PipeDecoder (stream state, CPR pairs, local references), copies each result at
once (PipeDecoder mutates results it has returned, see shared/docs/libraries.md 4.4) and
counts the positions.  Timing covers reading the file and decoding; best of --repeats.

Usage: python bench/peers/pymodes_peer.py FILE.jsonl.gz [--limit N] [--repeats R]
Prints one JSON line: {"messages", "positions", "wall_s", "msg_per_s"}.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path
from typing import Any

import pyModeS


def read_frames(path: Path, limit: int) -> list[tuple[float, str]]:
    """(timestamp, hex) of each line of a JSON-lines frame file."""
    out = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            obj = json.loads(line)
            out.append((float(obj["timestamp"]), obj["frame"]))
            if limit and len(out) >= limit:
                break
    return out


def decode_all(frames: list[tuple[float, str]]) -> int:
    """Decode every frame with one PipeDecoder; the number of positions resolved."""
    pipe = pyModeS.PipeDecoder()
    positions = 0
    for t, msg in frames:
        result: Any = pipe.decode(msg, timestamp=t)
        if result and result.get("latitude") is not None:
            copied = dict(result)
            positions += copied["latitude"] is not None
    return positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    ns = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    best = float("inf")
    positions = messages = 0
    for _ in range(ns.repeats):
        start = time.perf_counter()
        frames = read_frames(ns.file, ns.limit)
        positions = decode_all(frames)
        best = min(best, time.perf_counter() - start)
        messages = len(frames)
    print(json.dumps({"messages": messages, "positions": positions, "wall_s": best,
                      "msg_per_s": messages / best}))


if __name__ == "__main__":
    main()
