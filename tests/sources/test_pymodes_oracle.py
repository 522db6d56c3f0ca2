"""pyModeS 3.6 (GPL, test-only oracle) against our decode of pyModeS's own sample data."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airpicture.sources import cpr
from airpicture.sources.decode import ModeSDecoder, Receiver
from airpicture.sources.framing import Frame

pms = pytest.importorskip("pyModeS")

pytestmark = pytest.mark.peer


def _csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def _ours(pairs: list[tuple[float, str]]) -> list[dict[str, Any]]:
    dec = ModeSDecoder([Receiver("unknown", float("nan"), float("nan"))])
    res = dec.decode([Frame(bytes.fromhex(m), t) for t, m in pairs])
    return res.records


def test_adsb_positions_and_velocities_agree_with_pipedecoder(shared_data: Path) -> None:
    rows = _csv(shared_data / "pymodes/sample_data_adsb.csv")
    pairs = [(float(r[0]) + i * 1e-3, r[1].lower()) for i, r in enumerate(rows)]
    pipe = pms.PipeDecoder()
    theirs = [dict(pipe.decode(m, timestamp=t) or {}) for t, m in pairs]  # copy at once
    ours = _ours(pairs)
    assert len(ours) == 2000
    both = [(o, p) for o, p in zip(ours, theirs, strict=True)
            if "latitude" in o and p.get("latitude") is not None]
    assert len(both) > 800
    err = cpr.distance_m(np.array([p["latitude"] for _, p in both]),
                         np.array([p["longitude"] for _, p in both]),
                         np.array([o["latitude"] for o, _ in both]),
                         np.array([o["longitude"] for o, _ in both]))
    assert float(err.max()) < 1.0
    vel = [(o, p) for o, p in zip(ours, theirs, strict=True) if o.get("bds") == "09"]
    assert len(vel) == 965
    assert max(abs(o["groundspeed"] - p["groundspeed"]) for o, p in vel) <= 1.0
    assert max(abs((o["track"] - p["track"] + 180) % 360 - 180) for o, p in vel) < 1e-3
    assert all(o["vertical_rate"] == p["vertical_rate"] for o, p in vel)


@pytest.mark.parametrize("name", ["sample_data_commb_df20.csv", "sample_data_commb_df21.csv"])
def test_commb_altitude_squawk_address_agree(shared_data: Path, name: str) -> None:
    rows = _csv(shared_data / "pymodes" / name)
    pairs = [(float(r[0]), r[2].lower()) for r in rows]
    ours = {o["frame"]: o for o in _ours(pairs)}
    assert len(ours) == len({m for _, m in pairs})
    checked = 0
    for _, msg in pairs:
        p = pms.decode(msg)
        o = ours[msg]
        assert o["icao24"] == p["icao"].lower()
        key = "altitude" if o["df"] == "20" else "squawk"
        assert o.get(key) == p.get(key)
        checked += p.get(key) is not None
    assert checked >= len(pairs) - 5
