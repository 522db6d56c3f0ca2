"""The benchmark's rows, the GPL boundary, and ingest into the real tracker."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from airpicture.sources.decode import ModeSDecoder
from airpicture.sources.ingest import Ingest, make_tracker, parse_receiver
from airpicture.sources.transports import parse_source

SRC = Path(__file__).resolve().parents[2] / "src" / "airpicture"


def test_pymodes_is_never_imported_by_the_package() -> None:
    offenders = [p for p in SRC.rglob("*.py")
                 if "import pyModeS" in p.read_text() or "from pyModeS" in p.read_text()]
    assert offenders == []


@pytest.mark.slow
@pytest.mark.peer
def test_run_bench_quick_rows() -> None:
    from airpicture.sources.bench import run_bench

    rows = run_bench(quick=True)
    main = rows[0]
    assert main["unit"] == "msg/s" and main["value"] > 1000
    assert main["peer"].startswith("pyModeS") and main["peer_value"] > 100
    assert main["ratio"] == pytest.approx(main["value"] / main["peer_value"], rel=0.02)
    assert all(r["value"] > 0 for r in rows)


@pytest.mark.slow
def test_ingest_into_tracker_writes_fused_aircraft_json(shared_data: Path,
                                                        tmp_path: Path) -> None:
    receivers = [parse_receiver("lfpg:49.0097:2.5479", 0)]
    if make_tracker(receivers) is None:
        pytest.skip("airpicture.tracker.stream is not there")
    src = tmp_path / "part.jsonl"
    import gzip

    with gzip.open(shared_data / "traffic/raw/full_flight_short.jsonl.gz", "rt") as fh:
        lines = [next(fh) for _ in range(20000)]
    src.write_text("".join(lines))
    out = tmp_path / "aircraft.json"
    ingest = Ingest([parse_source(str(src))], receivers, out)
    stats = asyncio.run(ingest.run())
    assert stats["tracker"] and stats["plots_to_tracker"] > 1000
    doc = json.loads(out.read_text())
    hexes = {a["hex"]: a for a in doc["aircraft"]}
    assert "393322" in hexes
    ac = hexes["393322"]
    assert {"lat", "lon", "gs", "track", "seen_pos", "messages"} <= set(ac)
    assert ac["messages"] > 10000
    last = ingest.decoder.aircraft.by_icao[0x393322]
    assert abs(ac["lat"] - last.lat_deg) < 0.05 and abs(ac["lon"] - last.lon_deg) < 0.05
    assert isinstance(ingest.decoder, ModeSDecoder)


def test_ingest_live_tcp_with_a_dead_feed(shared_data: Path, tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import socket

    data = (shared_data / "traffic/raw/sample_dump1090.bin").read_bytes()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    out = tmp_path / "aircraft.json"

    async def main() -> dict[str, object]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(data)
            await writer.drain()
            await asyncio.sleep(5)

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        receivers = [parse_receiver("a:52.3:4.76", 0), parse_receiver("b:52.0:5.0", 1)]
        specs = [parse_source(f"tcp://127.0.0.1:{port}", receiver=0),
                 parse_source(f"tcp://127.0.0.1:{dead_port}", receiver=1)]
        ingest = Ingest(specs, receivers, out, use_tracker=False, status_log_s=0.3)
        stats = await ingest.run(duration_s=1.2)
        server.close()
        return stats

    with caplog.at_level(logging.INFO, logger="airpicture.sources"):
        stats = asyncio.run(main())
    live, dead = stats["feeds"]  # type: ignore[misc]
    assert dead["name"].endswith(f":{dead_port}")
    assert live["frames"] == 239 and live["state"] == "up"
    assert dead["state"] in ("down", "connecting") and dead["reconnects"] >= 1
    assert any("down" in r.getMessage() for r in caplog.records)
    doc = json.loads(out.read_text())
    assert doc["messages"] > 0 and all("hex" in a for a in doc["aircraft"])


@pytest.mark.slow
def test_tutorial_aircraft_tracked_end_to_end(shared_data: Path) -> None:
    """The tutorial feed through Ingest (decoder, tracker, aircraft.json), 30 s of feed
    time per step, as a live feed would arrive.

    Its 17 addresses are 13 aircraft heard in a CRC-checked DF11/17/18 and 4 addresses that
    only ever come from the parity of a DF20/21 reply (000000 among them): those would be
    phantom aircraft, so they never appear.  Every one of the 13 reaches aircraft.json; the
    aircraft the feed gives enough positions of are tracked, where the reference decode says.
    """
    import gzip
    from collections import defaultdict

    import numpy as np

    from airpicture.sources import cpr
    from airpicture.sources.framing import FrameBatch
    from airpicture.sources.transports import SourceSpec

    pytest.importorskip("airpicture.tracker.stream")
    with gzip.open(shared_data / "traffic/raw/tutorial.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    addresses = {int(r["icao24"], 16) for r in rows}
    checked = {int(r["icao24"], 16) for r in rows if r["df"] in ("11", "17", "18")}
    assert len(addresses) == 17 and len(checked) == 13
    ref: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    for r in rows:
        if "latitude" in r:
            ref[int(r["icao24"], 16)].append((r["timestamp"], r["latitude"], r["longitude"]))
    well_seen = {a for a, p in ref.items() if len(p) >= 8}
    assert len(well_seen) == 5  # 400f99, 4ca216, 4863db, 4d226a and 4067d6 (Heathrow)

    ingest = Ingest([], [parse_receiver("lfbo:43.6293:1.3638", 0)])
    spec = SourceSpec("file", "tutorial", "jsonl")
    listed: set[int] = set()
    placed: dict[int, list[float]] = defaultdict(list)
    fresh: list[float] = []  # the same, where the track had a plot in the last 10 s
    k = 0
    while k < len(rows):
        j = k
        while j < len(rows) and rows[j]["timestamp"] < rows[k]["timestamp"] + 30.0:
            j += 1
        ingest.sink(spec, FrameBatch.create([r["frame"] for r in rows[k:j]],
                                            [r["timestamp"] for r in rows[k:j]]))
        ingest.step()
        now = rows[j - 1]["timestamp"]
        for ac in ingest.aircraft()["aircraft"]:
            icao = int(ac["hex"], 16)
            listed.add(icao)
            if "lat" in ac and icao in well_seen:
                # Distance to the reference decode's last position before now.
                _, lat, lon = max(p for p in ref[icao] if p[0] <= now)
                placed[icao].append(float(cpr.distance_m(
                    np.array([lat]), np.array([lon]), np.array([ac["lat"]]),
                    np.array([ac["lon"]]))[0]))
                if ac["seen_pos"] < 10.0:
                    fresh.append(placed[icao][-1])
        k = j
    assert listed == checked  # all 13 aircraft, and none of the 4 phantom addresses
    assert set(placed) == well_seen
    # Coasting tracks drift (an aircraft parks and stops sending): within 1.5 km; fresh
    # ones within 150 m (400f99 at cruise, up to 30 s after its last plot).
    assert max(max(d) for d in placed.values()) < 1500.0, placed
    assert len(fresh) > 200 and max(fresh) < 150.0
    stats = ingest.stats()["tracker_stats"]
    assert stats["tracks_confirmed"] >= len(well_seen) and stats["identity_mismatch"] == 0
    assert stats["enrichment_matched"] > 0.9 * stats["enrichment_in"]
