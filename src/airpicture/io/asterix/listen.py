"""`airpicture asterix listen`: print what arrives on a UDP URL (records, or plot counts)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airpicture.core.plots import PlotBatch
from airpicture.io.asterix.decoder import AsterixDecoder
from airpicture.io.asterix.transport import DEFAULT_RCVBUF_BYTES, UdpStats, listen_udp


async def run_listener(
    url: str, config: Path | None, seconds: float, echo: Callable[[str], None],
    ready: asyncio.Event | None = None,
) -> Counter[str]:
    """Listen on `url` for `seconds` (0: until cancelled); returns the counts. `ready` is
    set once listening. The last line has the counts, the UDP statistics (datagrams, bytes,
    kernel drops, receive buffer) and, with a configuration, each radar's status."""
    from airpicture.io.asterix.config import AsterixConfig
    from airpicture.io.asterix.dump import dump_records

    counts: Counter[str] = Counter()
    decoder = AsterixDecoder(AsterixConfig.from_json(config)) if config is not None else None

    def on_datagram(t: float, data: bytes) -> None:
        if decoder is None:
            for row in dump_records([(t, data)], counts=counts):
                echo(json.dumps(row))
            return
        result = decoder.decode([(t, data)])
        counts.update(result.counts)
        echo(json.dumps({"t": t, "plots": len(result.plots)}))

    stop = asyncio.Event()
    if seconds > 0:
        asyncio.get_running_loop().call_later(seconds, stop.set)
    stats = UdpStats(url)
    await listen_udp(url, on_datagram, stop, ready, stats=stats)
    summary: dict[str, Any] = {"counts": dict(sorted(counts.items())), "udp": stats.to_json()}
    if decoder is not None:
        summary["radars"] = decoder.radar_status()
    echo(json.dumps(summary))
    return counts


async def stream_plots(
    url: str, decoder: AsterixDecoder, on_plots: Callable[[PlotBatch], None],
    stop: asyncio.Event, ready: asyncio.Event | None = None,
    rcvbuf_bytes: int = DEFAULT_RCVBUF_BYTES,
) -> None:
    """Feed live ASTERIX into a tracker or service: decode each datagram arriving on `url`
    (receive time = arrival) and hand its plots to on_plots, until `stop` is set. `ready` is
    set once listening. The URL's `UdpStats` (datagrams, bytes, kernel drops, granted
    receive buffer) are kept in `decoder.udp_stats[url]`."""
    stats = decoder.udp_stats.setdefault(url, UdpStats(url))

    def on_datagram(t: float, data: bytes) -> None:
        plots = decoder.decode([(t, data)]).plots
        if len(plots):
            on_plots(plots)

    await listen_udp(url, on_datagram, stop, ready, rcvbuf_bytes, stats)
