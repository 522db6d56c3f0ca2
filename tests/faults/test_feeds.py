"""Fault injection, Mode S feeds (issue 17): against a running `airpicture serve` with
`[input] kind = "modes"`: a poisoned JSON-lines feed beside a healthy TCP feed does not stop
the TCP feed, its bad records are counted in /api/feeds; absurd SBS numbers never reach
/api/tracks or /data/aircraft.json.  Servers listen on 127.0.0.1, loops are bounded."""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from airpicture.sources.limits import RANGES
from tests.faults.conftest import ServeProcess, free_port

HUGE = "1" + "0" * 400
RECEIVER = "lfpg:49.0:2.55"


def _beast(hex_msg: str) -> bytes:
    msg = bytes.fromhex(hex_msg)
    kind = {2: 0x31, 7: 0x32, 14: 0x33}[len(msg)]
    body = (0).to_bytes(6, "big") + bytes([100]) + msg
    return bytes([0x1A, kind]) + body.replace(b"\x1a", b"\x1a\x1a")


@contextlib.contextmanager
def beast_server(frames: list[str], per_s: float = 400.0,
                 max_s: float = 120.0) -> Iterator[int]:
    """A receiver on 127.0.0.1 that streams `frames` (in a loop) as Beast to whoever
    connects, `per_s` frames a second, for at most `max_s`; yields its port."""
    port = free_port()
    stop = threading.Event()
    chunks = [b"".join(_beast(h) for h in frames[k:k + 40]) for k in range(0, len(frames), 40)]
    sock = socket.create_server(("127.0.0.1", port))
    sock.settimeout(0.2)

    def serve() -> None:
        end = time.monotonic() + max_s
        while not stop.is_set() and time.monotonic() < end:
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            with conn:
                k = 0
                while not stop.is_set() and time.monotonic() < end:
                    try:
                        conn.sendall(chunks[k % len(chunks)])
                    except OSError:
                        break
                    k += 1
                    time.sleep(40 / per_s)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def _flight_frames(shared_data: Path, n: int = 2000) -> list[str]:
    with gzip.open(shared_data / "traffic/raw/full_flight_short.jsonl.gz", "rt") as fh:
        return [json.loads(next(fh))["frame"] for _ in range(n)]


def _feeds(service: ServeProcess) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in service.get("/api/feeds")["feeds"]}


def test_a_poisoned_jsonl_feed_does_not_stop_a_healthy_tcp_feed(
        serve: Callable[..., ServeProcess], shared_data: Path, tmp_path: Path) -> None:
    now = time.time()
    poison = tmp_path / "poisoned.jsonl"
    frame = "8d4840d6202cc371c32ce0576098"
    poison.write_text(
        f'{{"timestamp":{now},"frame":"{frame}"}}\n'
        f'{{"frame":"{frame}","timestamp":{HUGE}}}\n'  # OverflowError on main: every feed ended
        f'{{"timestamp":{HUGE},"frame":"{frame}"}}\n'
        f'{{"timestamp":Infinity,"frame":"{frame}"}}\n'
        f'{{"timestamp":1e308,"frame":"{frame}"}}\n'
        f'{{"timestamp":{now + 1},"frame":"{frame}"}}\n')
    with beast_server(_flight_frames(shared_data)) as port:
        tcp = f"tcp://127.0.0.1:{port}"
        service = serve(f'[input]\nkind = "modes"\nsources = ["{poison}", "{tcp}"]\n'
                        f'receivers = ["{RECEIVER}"]\nfeed_speed = 0.0\n')

        def tracked() -> bool:
            hexes = {a["hex"] for a in service.get("/data/aircraft.json")["aircraft"]}
            return "393322" in hexes

        service.wait_for(lambda: _feeds(service)[str(poison)]["state"] == "done"
                         and tracked(), timeout_s=40)
        before = _feeds(service)[tcp]["frames"]
        time.sleep(3.0)
        feeds = _feeds(service)
        assert feeds[tcp]["state"] == "up" and feeds[tcp]["frames"] > before + 200
        assert tracked()  # still there, seconds after the poison was read
        assert feeds[str(poison)]["bad"] == {"jsonl_bad_time": 4}
        assert feeds[str(poison)]["frames"] == 2
        health = service.get("/api/health")
        assert health["status"] == "ok", health


def _sbs(t_s: float, kind: int, alt: str = "", gs: str = "", track: str = "",
         lat: str = "", lon: str = "", vrate: str = "") -> str:
    stamp = datetime.fromtimestamp(t_s, UTC)
    date, clock = stamp.strftime("%Y/%m/%d"), stamp.strftime("%H:%M:%S.%f")[:-3]
    return (f"MSG,{kind},1,1,4CA2D6,1,{date},{clock},{date},{clock},RYR1AB,{alt},{gs},{track},"
            f"{lat},{lon},{vrate},,0,0,0,0")


def _in_range(value: Any, key: str) -> bool:
    lo, hi = RANGES[key]
    return value is None or value == "ground" or lo <= float(value) <= hi


def test_absurd_sbs_numbers_never_reach_tracks_or_aircraft_json(
        serve: Callable[..., ServeProcess], tmp_path: Path) -> None:
    t0 = time.time() - 60.0
    lines = []
    for k in range(40):  # an aircraft flying east at ~430 kt, 1 position a second
        t = t0 + k
        lines.append(_sbs(t, 3, alt="36000", lat="49.1", lon=f"{2.6 + 0.003 * k:.4f}"))
        lines.append(_sbs(t + 0.5, 4, gs="430", track="90", vrate="0"))
        if k % 5 == 0:  # the poison, in every field
            lines += [_sbs(t + 0.2, 3, alt="1e300", lat="49.1", lon=f"{2.6 + 0.003 * k:.4f}"),
                      _sbs(t + 0.3, 3, alt="-1e300"), _sbs(t + 0.3, 3, alt="200000"),
                      _sbs(t + 0.4, 4, gs="1e300", track="1e300", vrate="1e300"),
                      _sbs(t + 0.4, 4, gs="-5"), _sbs(t + 0.4, 4, vrate="-1e300"),
                      _sbs(t + 0.4, 3, alt=HUGE)]
    path = tmp_path / "absurd.sbs"
    path.write_text("\n".join(lines) + "\n")
    service = serve(f'[input]\nkind = "modes"\nsources = ["{path}"]\n'
                    f'receivers = ["{RECEIVER}"]\nfeed_speed = 0.0\n')
    service.wait_for(lambda: service.get("/api/tracks")["count"] >= 1, timeout_s=40)
    feed = _feeds(service)[str(path)]
    assert feed["bad"]["sbs_bad_range"] == 48 and feed["bad"].get("sbs_bad_number") == 8
    tracks = service.get("/api/tracks")["tracks"]
    for tr in tracks:
        assert _in_range(tr["alt_ft"], "altitude") and _in_range(tr["gs_kt"], "groundspeed")
        assert _in_range(tr["vrate_fpm"], "vertical_rate") and _in_range(tr["hdg_deg"], "track")
    assert any(tr["alt_ft"] == 36000 for tr in tracks)
    aircraft = service.get("/data/aircraft.json")["aircraft"]
    (ac,) = [a for a in aircraft if a["hex"] == "4ca2d6"]
    for a in aircraft:
        for key, rng in (("alt_baro", "altitude"), ("alt_geom", "altitude"),
                         ("gs", "groundspeed"), ("track", "track"),
                         ("baro_rate", "vertical_rate"), ("geom_rate", "vertical_rate"),
                         ("lat", "latitude"), ("lon", "longitude")):
            assert _in_range(a.get(key), rng), (key, a)
    assert ac["alt_baro"] == 36000 and ac["gs"] == pytest.approx(430, abs=40)
