"""Service benchmark: many WebSocket clients at 1 Hz, and the map's update cost in Chromium.

The service runs as a subprocess on loopback with a synthetic picture of n tracks
(`PatternSource`); the clients run here, bounded in count and time.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HEADER = re.compile(r'"seq":(\d+),"t":[^,]*,"wall":([\d.]+)')
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _row(name: str, value: float, unit: str, notes: str = "") -> dict[str, Any]:
    return {"name": name, "value": round(float(value), 3), "unit": unit, "peer": None,
            "peer_value": None, "ratio": None, "notes": notes}


def start_service(n_tracks: int) -> tuple[subprocess.Popen[str], str]:
    """`python -m airpicture.service.bench serve N` on a free loopback port; returns its URL."""
    proc = subprocess.Popen([sys.executable, "-m", "airpicture.service.bench", "serve",
                             str(n_tracks)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if found:
            return proc, found.group(0)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("benchmark service did not start")


def _serve(n_tracks: int) -> None:
    """The benchmark's service process: the synthetic picture at 1 Hz, in-memory history."""
    from airpicture.service.config import ServiceConfig
    from airpicture.service.serve import build_pipeline, run
    from airpicture.service.sources import PatternSource

    cfg = ServiceConfig().with_overrides({"recording": {"retention_s": 120.0}})
    run(build_pipeline(cfg, PatternSource(n_tracks)), "127.0.0.1", 0,
        announce=lambda s: print(s, flush=True))


CLIENT_RECEIVE_BUFFER_BYTES = 256 * 1024


async def _client_socket(url: str) -> socket.socket:
    """A connected TCP socket with a small receive buffer (a backlog shows up as lag)."""
    host, port = re.findall(r"//([\d.]+):(\d+)/", url)[0]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, CLIENT_RECEIVE_BUFFER_BYTES)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    return sock


async def _client(url: str, until: float, lags: list[float], counts: list[int],
                  start_after: float) -> None:
    import websockets

    sock = await _client_socket(url)
    async with websockets.connect(url, max_size=None, compression=None, open_timeout=60,
                                  max_queue=1, sock=sock) as ws:
        while time.time() < until:
            try:
                msg = await asyncio.wait_for(ws.recv(decode=False),
                                             timeout=max(until - time.time(), 0.01))
            except TimeoutError:
                break
            head = HEADER.search(bytes(msg[:120]).decode(errors="replace"))
            now = time.time()
            if head and now >= start_after:
                lags.append(now - float(head.group(2)))
                counts[0] += 1
                counts[1] += len(msg)


async def _clients(url: str, n: int, seconds: float) -> tuple[list[float], list[int], int]:
    """n clients connected, then `seconds` of measurement; lags, [messages, bytes], failures."""
    lags: list[float] = []
    counts = [0, 0]
    warmup_s = 3.0 + n / 200.0
    start = time.time() + warmup_s
    until = start + seconds
    tasks = [asyncio.create_task(_client(url, until, lags, counts, start)) for _ in range(n)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = sum(isinstance(r, BaseException) for r in results)
    return lags, counts, failed


def _cpu_s(base: str) -> float:
    import httpx

    text = httpx.get(base + "metrics", timeout=30).text
    found = re.search(r"^process_cpu_seconds_total ([\d.e+]+)", text, re.M)
    return float(found.group(1)) if found else float("nan")


def bench_websocket(n_clients: int, n_tracks: int, seconds: float) -> list[dict[str, Any]]:
    """Updates delivered per second, p99 lag and service CPU with n_clients at 1 Hz."""
    proc, base = start_service(n_tracks)
    try:
        ws_url = base.replace("http", "ws") + "ws/tracks"
        cpu0, t0 = _cpu_s(base), time.monotonic()
        lags, (received, nbytes), failed = asyncio.run(_clients(ws_url, n_clients, seconds))
        cpu = (_cpu_s(base) - cpu0) / (time.monotonic() - t0)
    finally:
        proc.terminate()
        proc.wait(30)
    lag = np.asarray(lags) if lags else np.asarray([np.nan])
    notes = f"{n_clients} clients, {n_tracks} tracks, {seconds:g} s, loopback; {failed} failed"
    return [
        _row("service.ws_updates_per_s", received / seconds, "updates/s",
             notes + f"; ideal {n_clients}/s"),
        _row("service.ws_p99_lag_ms", float(np.percentile(lag, 99)) * 1e3, "ms", notes),
        _row("service.ws_median_lag_ms", float(np.median(lag)) * 1e3, "ms", notes),
        _row("service.cpu_cores", cpu, "cores", notes + "; whole service process"),
        _row("service.ws_mbytes_per_s", nbytes / seconds / 1e6, "MB/s",
             notes + f"; {nbytes / max(received, 1) / 1e3:.0f} kB per update"),
    ]


def bench_browser(n_tracks: int, updates: int) -> list[dict[str, Any]]:
    """Time for headless Chromium to apply one update of n tracks (parse, setData, idle)."""
    if not CHROMIUM.exists():
        return [_row("service.map_apply_ms", float("nan"), "ms", "no /usr/bin/chromium")]
    from playwright.sync_api import sync_playwright

    proc, base = start_service(n_tracks)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(base)
            page.wait_for_function("window.__ap && window.__ap.ready && window.__ap.idleSeq > 1",
                                   timeout=60_000)
            apply_ms, idle_ms = [], []
            last = page.evaluate("window.__ap.idleSeq")
            for _ in range(updates):
                page.wait_for_function(f"window.__ap.idleSeq > {last}", timeout=30_000)
                last, a, i = page.evaluate(
                    "[window.__ap.idleSeq, window.__ap.lastApplyMs, window.__ap.lastIdleMs]")
                apply_ms.append(a)
                idle_ms.append(i)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(30)
    notes = f"{n_tracks} tracks, median of {updates} updates, SwiftShader (no GPU)"
    return [_row("service.map_apply_ms", float(np.median(apply_ms)), "ms",
                 notes + "; parse + state + setData"),
            _row("service.map_apply_to_idle_ms", float(np.median(idle_ms)), "ms",
                 notes + "; until the map is idle (rendered)")]


def run_bench(quick: bool = False) -> list[dict[str, Any]]:
    """Rows of figures: WebSocket fan-out at 1 Hz, the browser's update cost, and the CAT062
    output's end-to-end latency (service/bench_latency.py)."""
    from airpicture.service.bench_latency import bench_cat062_latency

    if quick:
        return (bench_websocket(100, 1000, 5.0) + bench_browser(1000, 3)
                + bench_cat062_latency(1000, 5.0, warmup_s=10.0))
    return (bench_websocket(1000, 5000, 10.0) + bench_browser(5000, 5)
            + bench_cat062_latency(5000, 10.0, warmup_s=10.0))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        _serve(int(sys.argv[2]))
    else:
        for row in run_bench(quick="--quick" in sys.argv):
            print(row)
