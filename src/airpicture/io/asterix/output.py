"""CAT062 out: one cycle of the picture per consumer, released by the egress gate first.

`Cat062Output.publish(tracks)` calls Egress.tracks(tracks, consumer), formats what is released
as CAT062 and writes it to every sink (UDP URL or file). A block holds at most
MAX_BLOCK_BYTES; a cycle with more tracks takes several blocks (one datagram each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from airpicture.core.tracks import TrackTable
from airpicture.io.asterix.cat062 import Cat062Encoder
from airpicture.io.asterix.transport import UdpSender
from airpicture.policy.egress import LOCAL, Consumer, Egress

MAX_BLOCK_BYTES = 60000
"""Below both the 16-bit block length and the largest UDP payload (65507)."""


class Sink(Protocol):
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


def split_tracks(encoder: Cat062Encoder, tracks: TrackTable) -> list[bytes]:
    """Blocks for one cycle: one when it fits in MAX_BLOCK_BYTES, else the fewest that do."""
    return encoder.blocks(tracks, MAX_BLOCK_BYTES)


@dataclass
class Cat062Output:
    """CAT062 for one consumer: egress-filtered, one cycle per `publish` call."""

    encoder: Cat062Encoder
    sinks: list[Sink]
    egress: Egress = field(default_factory=Egress)
    consumer: Consumer = LOCAL
    blocks_sent: int = 0
    tracks_sent: int = 0

    def publish(self, tracks: TrackTable) -> int:
        """Release, encode and send one update cycle; returns the number of tracks sent."""
        released = self.egress.tracks(tracks, self.consumer)
        blocks = split_tracks(self.encoder, released)
        for block in blocks:
            for sink in self.sinks:
                sink.write(block)
        self.blocks_sent += len(blocks)
        self.tracks_sent += len(released)
        return len(released)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
