"""Per-tick cost of the release masks (`LabelPolicy.tracks`) for 20 consumers x 5,000 tracks:
the three-partners policy's five consumer kinds (areas, identity and privacy rules), four of
each, over a synthetic picture of 4 sensors (half the tracks multi-sensor).  Each tick gets a
fresh picture (new arrays), as the service's ticks do.
Usage: python bench/policy_masks.py [N_TRACKS] [TICKS]"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from airpicture.core.geo import LocalFrame
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.policy.egress import Consumer, Egress
from airpicture.policy.masks import LabelPolicy
from airpicture.policy.release import load_policy

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "three-partners"
KINDS = ["alpha-ops", "bravo-ops", "bravo-liaison", "charlie-ops", "charlie-public"]


def policy_of_20(folder: Path) -> Path:
    """The example policy with each consumer repeated four times (name-k)."""
    text = (EXAMPLE / "policy.toml").read_text()
    blocks = re.findall(r"^(\[consumers\.([\w-]+)\].*?)(?=^\[|\Z)", text, re.S | re.M)
    extra = "".join(block.replace(f"[consumers.{name}]", f"[consumers.{name}-{k}]")
                    for block, name in blocks for k in range(1, 4))
    cut = text.index("[cedar]")
    (folder / "policy.toml").write_text(text[:cut] + extra + text[cut:])
    (folder / "privacy.txt").write_text((EXAMPLE / "privacy.txt").read_text())
    return folder / "policy.toml"


def picture(n: int, rng: np.random.Generator) -> TrackTable:
    sensors = np.asarray([1, 2, 3, 4], np.int32)
    last = np.full((n, 4), np.nan)
    first = rng.integers(0, 4, n)
    last[np.arange(n), first] = 10.0
    multi = rng.random(n) < 0.5
    last[multi, (first[multi] + 1) % 4] = 10.0
    z = np.zeros(n)
    return TrackTable(
        track_id=np.arange(n, dtype=np.int64), t=z + 10.0, x=rng.uniform(-1e5, 1e5, n),
        y=rng.uniform(-5e4, 5e4, n), vx=z + 100.0, vy=z,
        status=np.full(n, TrackStatus.CONFIRMED, np.int8), alt_ft=z + 3e4, vrate_fpm=z,
        icao24=0x3C0000 + np.arange(n, dtype=np.int64),
        callsign=np.asarray([f"AB{k:04d}" for k in range(n)], object),
        squawk=np.full(n, 0o1234, np.int16), sigma_pos_m=z + 50.0, last_update_t=z + 10.0,
        flags=np.zeros(n, np.uint16), sensor_ids=sensors, sensor_last_t=last)


def main(n_tracks: int = 5000, ticks: int = 30) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load_policy(policy_of_20(Path(tmp)))
    consumers = [Consumer(name) for name in loaded.consumers]
    assert len(consumers) == 20, len(consumers)
    egress = Egress(LabelPolicy(loaded, LocalFrame(48.95, 2.45), (1, 2, 3, 4)))
    rng = np.random.default_rng(1)
    times = []
    for _ in range(ticks + 2):
        tracks = picture(n_tracks, rng)
        began = time.perf_counter()
        for c in consumers:
            egress.tracks(tracks, c)
        times.append(time.perf_counter() - began)
    ms = np.asarray(times[2:]) * 1e3
    print(f"masks, {len(consumers)} consumers x {n_tracks} tracks: median {np.median(ms):.1f} "
          f"ms, p90 {np.percentile(ms, 90):.1f} ms per tick")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
