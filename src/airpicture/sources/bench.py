"""Benchmark: Mode S messages per second from a file to plots, on one core, against pyModeS.

`run_bench(quick)` runs two subprocesses on the same input (full_flight_short.jsonl.gz, 57,793
frames): ours (`python -m airpicture.sources.bench FILE`: read, rs1090 batch decode, positions,
speed check, plots) and the peer, pyModeS's PipeDecoder (`bench/peers/pymodes_peer.py`, GPL,
outside the package).  Both are pinned to one CPU, rs1090 with RAYON_NUM_THREADS=1; each
figure is the best of `repeats` runs over the whole input, reading the file included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
INPUT = "traffic/raw/full_flight_short.jsonl.gz"
PEER = REPO_ROOT / "bench" / "peers" / "pymodes_peer.py"
TARGET_MSG_PER_S = 70_000.0
BATCH_MESSAGES = 5_000
"""Frames per decode call: as `ingest` slices a file (transports.FILE_SLICE); 5-10k batches
ran ~2.5 % faster than 20k (cache), 60k ~12 % slower."""


def shared_data() -> Path:
    """../shared/data beside the checkout, or $AIRPICTURE_SHARED_DATA."""
    return Path(os.environ.get("AIRPICTURE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def pin_one_core() -> None:
    """Run this process on one CPU (the first it may use)."""
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})


def one_core_env() -> dict[str, str]:
    return {**os.environ, "RAYON_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def measure(path: Path, limit: int | None, repeats: int) -> dict[str, Any]:
    """Best-of-`repeats` file-to-plots throughput of our decoder (in this process)."""
    import rs1090

    from airpicture.sources.decode import ModeSDecoder, Receiver
    from airpicture.sources.transports import read_jsonl_frames

    best = float("inf")
    decode_best = float("inf")
    rs1090_best = float("inf")
    plots = messages = 0
    for _ in range(repeats):
        start = time.perf_counter()
        frames, _ = read_jsonl_frames(path, limit=limit)
        mid = time.perf_counter()
        decoder = ModeSDecoder([Receiver("lfpg", 49.0097, 2.5479)])
        plots = 0
        for k in range(0, len(frames), BATCH_MESSAGES):
            plots += len(decoder.decode(frames.take(slice(k, k + BATCH_MESSAGES))).plots)
        end = time.perf_counter()
        best = min(best, end - start)
        decode_best = min(decode_best, end - mid)
        messages = len(frames)
        start = time.perf_counter()
        rs1090.decode(frames.hex, frames.t_s.tolist(), reference=(49.0097, 2.5479))
        rs1090_best = min(rs1090_best, time.perf_counter() - start)
    return {"messages": messages, "plots": plots, "wall_s": best,
            "msg_per_s": messages / best, "decode_msg_per_s": messages / decode_best,
            "rs1090_msg_per_s": messages / rs1090_best}


def _run_json(cmd: list[str], timeout_s: float) -> dict[str, Any]:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                          env=one_core_env(), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[1]} failed: {done.stderr.strip()[-300:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_bench(quick: bool = False) -> list[dict[str, Any]]:
    """Rows: our file-to-plots msg/s with pyModeS PipeDecoder as the peer (same input, same run)."""
    path = shared_data() / INPUT
    if not path.is_file():
        return [{"name": "modes file-to-plots", "value": None, "unit": "msg/s",
                 "notes": f"input missing: {path}"}]
    limit = 10_000 if quick else 0
    repeats = 1 if quick else 3
    args = [str(path), "--limit", str(limit), "--repeats", str(repeats)]
    ours = _run_json([sys.executable, "-m", "airpicture.sources.bench", *args], 600)
    peer: dict[str, Any] | None = None
    note = ""
    if PEER.is_file():
        try:
            peer = _run_json([sys.executable, str(PEER), *args], 900)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            note = f"peer failed: {exc}"[:200]
    else:
        note = f"peer script missing: {PEER}"
    peer_value = peer["msg_per_s"] if peer else None
    common = (f"{ours['messages']} frames of {INPUT}, one core, best of {repeats}, reading "
              "the file included")
    return [
        {"name": "modes file-to-plots", "value": round(ours["msg_per_s"]), "unit": "msg/s",
         "peer": "pyModeS 3.6 PipeDecoder", "peer_value": peer_value and round(peer_value),
         "ratio": peer_value and round(ours["msg_per_s"] / peer_value, 2),
         "notes": f"{common}; target >= {TARGET_MSG_PER_S:.0f} msg/s; plots {ours['plots']}"
                  + (f", peer positions {peer['positions']}" if peer else "")
                  + (f"; {note}" if note else "")},
        {"name": "modes decode-to-plots (file read excluded)",
         "value": round(ours["decode_msg_per_s"]), "unit": "msg/s", "peer": None,
         "peer_value": None, "ratio": None, "notes": common.replace(", reading the file "
                                                                     "included", "")},
        {"name": "modes rs1090 batch decode alone (library floor)",
         "value": round(ours["rs1090_msg_per_s"]), "unit": "msg/s", "peer": None,
         "peer_value": None, "ratio": None,
         "notes": "rs1090.decode(list, timestamps, reference) on the same frames, same process: "
                  "file-to-plots cannot beat it"},
    ]


def main() -> None:
    """Worker: measure our decoder in this process on one core and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    ns = parser.parse_args()
    pin_one_core()
    print(json.dumps(measure(ns.file, ns.limit or None, ns.repeats)))


if __name__ == "__main__":
    main()
