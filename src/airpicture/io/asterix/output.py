"""CAT062 out: one cycle of the picture per consumer, released by the egress gate first.

`Cat062Output.publish(tracks)` calls Egress.tracks(tracks, consumer), formats what is released
as CAT062 and writes it to every sink (UDP URL or file). A block holds at most
MAX_BLOCK_BYTES; a cycle with more tracks takes several blocks (one datagram each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from airpicture.core.tracks import TrackTable
from airpicture.io.asterix.cat062 import Cat062Encoder, pack_buffer
from airpicture.io.asterix.transport import UdpSender
from airpicture.policy.egress import LOCAL, Consumer, Egress

MAX_BLOCK_BYTES = 60000
"""Below both the 16-bit block length and the largest UDP payload (65507)."""


class Sink(Protocol):
    """Where CAT062 blocks go."""
    def write(self, block: bytes) -> None: ...

    def close(self) -> None: ...


class FileSink:
    """Appends blocks to a raw ASTERIX file (.ast)."""

    def __init__(self, path: str | Path) -> None:
        self.f = Path(path).open("ab")  # noqa: SIM115 - open for the sink's lifetime

    def write(self, block: bytes) -> None:
        self.f.write(block)
        self.f.flush()

    def close(self) -> None:
        self.f.close()


class UdpSink:
    """Sends each block as one datagram."""

    def __init__(self, url: str) -> None:
        self.sender = UdpSender(url)

    def write(self, block: bytes) -> None:
        self.sender.send(block)

    def close(self) -> None:
        self.sender.close()


def open_sink(target: str) -> Sink:
    """udp://HOST:PORT -> UDP sink; anything else is a file path."""
    return UdpSink(target) if target.startswith("udp://") else FileSink(target)


def split_tracks(
    encoder: Cat062Encoder, tracks: TrackTable, ended: TrackTable | None = None,
    max_block_bytes: int = MAX_BLOCK_BYTES,
) -> list[bytes]:
    """Blocks for one cycle: one when it fits in MAX_BLOCK_BYTES, else the fewest that do.
    `ended` tracks get their last record again, with TSE (track service end) set."""
    buf, ends = encoder.record_buffer(tracks)
    if ended is not None and len(ended):
        more, more_ends = encoder.record_buffer(ended, ending=True)
        buf, ends = buf + more, np.concatenate([ends, more_ends + len(buf)])
    return pack_buffer(buf, ends, max_block_bytes)


@dataclass
class Cat062Output:
    """CAT062 for one consumer: egress-filtered, one cycle per `publish` call."""

    encoder: Cat062Encoder
    sinks: list[Sink]
    egress: Egress = field(default_factory=Egress)
    consumer: Consumer = LOCAL
    blocks_sent: int = 0
    tracks_sent: int = 0
    tracks_ended: int = 0
    max_block_bytes: int = MAX_BLOCK_BYTES
    """Smaller (e.g. 1400) keeps each datagram inside one Ethernet frame on real networks."""
    _last: TrackTable | None = None

    def publish(self, tracks: TrackTable) -> int:
        """Release, encode and send one update cycle; returns the number of tracks sent.

        A track this consumer saw last cycle and does not see now (dropped by the tracker or
        no longer released to it) is sent once more with TSE set, so its display ends.
        """
        released = self.egress.tracks(tracks, self.consumer)
        ended = None
        if self._last is not None:
            ended = self._last.take(~np.isin(self._last.track_id, released.track_id))
            self.tracks_ended += len(ended)
        self._last = released
        blocks = split_tracks(self.encoder, released, ended, self.max_block_bytes)
        for block in blocks:
            for sink in self.sinks:
                sink.write(block)
        self.blocks_sent += len(blocks)
        self.tracks_sent += len(released)
        return len(released)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
