"""ASTERIX input under floods (issue 17): a running `serve` fed 64 KB CAT034 datagrams
(zero-filled: empty FSPECs; and valid north markers by the thousand) beside valid CAT048
keeps decoding the CAT048: the plots keep arriving within one scan period. (Before the fix
the service stopped counting them after the first few seconds.)"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from airpicture.io.asterix import encode
from tests.faults.conftest import ServeProcess

SCAN_S = 4.8
SSR_ID = 17


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _plot(t_utc_s: float) -> bytes:
    """One Mode S plot of radar 0/7 at time t."""
    return encode.block(48, encode.cat048_records(
        "1.32", 0, 7, [t_utc_s % 86400], [5], [40.0], [90.0], [0o1234], [300.0], [0xABCDEF],
        np.array(["FLOOD1"], object)))


def _floods(t_utc_s: float) -> tuple[bytes, bytes]:
    """A zero-filled 64 KB CAT034 block, and 64 KB of valid CAT034 north markers."""
    zeros = bytes([34]) + (65507).to_bytes(2, "big") + bytes(65504)
    north = encode.cat034_records("1.29", 0, 7, np.full(5400, t_utc_s % 86400),
                                  np.ones(5400, int), np.zeros(5400), SCAN_S)
    valid = b"".join(encode.block(34, north[i:i + 1800]) for i in range(0, 5400, 1800))
    return zeros, valid


@pytest.mark.slow
def test_cat034_floods_do_not_starve_cat048(serve: Callable[..., ServeProcess],
                                            tmp_path: Path) -> None:
    radars = tmp_path / "radars.json"
    radars.write_text(json.dumps({
        "origin": {"lat": 45.0, "lon": 16.0},
        "radars": [{"sac": 0, "sic": 7, "lat": 45.0, "lon": 16.0, "height_m": 100,
                    "psr_sensor_id": 7, "ssr_sensor_id": SSR_ID, "name": "flooded"}]}))
    port = _udp_port()
    service = serve(f'[input]\nkind = "asterix"\nsources = ["udp://127.0.0.1:{port}"]\n'
                    f'asterix_config = "{radars}"\n')
    stop = threading.Event()

    def send() -> None:
        zeros, valid = _floods(time.time())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while not stop.is_set():
                for _ in range(12):  # ~23 floods of 64 KB per second, as in the incident
                    s.sendto(zeros, ("127.0.0.1", port))
                    s.sendto(valid, ("127.0.0.1", port))
                    s.sendto(_plot(time.time()), ("127.0.0.1", port))
                    time.sleep(0.04)

    def ssr_plots() -> int:
        (row,) = [s for s in service.get("/api/sensors")["sensors"] if s["id"] == SSR_ID]
        return int(row["plots_total"])

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        service.wait_for(lambda: ssr_plots() > 0, timeout_s=SCAN_S * 2)
        for _ in range(3):  # and they keep coming: more within each scan period
            before = ssr_plots()
            service.wait_for(lambda before=before: ssr_plots() > before, timeout_s=SCAN_S)
        counts = service.get("/api/feeds")["decoder"]
    finally:
        stop.set()
        sender.join(5)
    assert counts["blocks_rejected:cat034_empty_fspec"] > 10
    assert counts["service_dropped:cat034_over_datagram_cap"] > 10 * 5400
    assert service.alive()
