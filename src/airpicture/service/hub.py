"""Fan-out of frames to WebSocket clients: one latest-state slot per client.

A client that keeps up gets deltas; a client still sending when the next frame comes gets a
snapshot of the newest state instead (it skips what it missed).  Publishing never waits for a
client, so a slow client never slows the tracker or the others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from airpicture.policy.egress import Consumer
from airpicture.service.pipeline import Frame
from airpicture.service.stats import Metrics


@dataclass(eq=False)
class ClientSlot:
    """The latest message waiting for one client, and the last frame it was given."""

    consumer: Consumer
    sent_seq: int = -1
    pending: str | None = None
    pending_seq: int = -1
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    notice: str | None = None
    notice_sent: str | None = None

    def close(self) -> None:
        """The client went away: wake the sender so it stops."""
        self.closed = True
        self.wake.set()

    def offer(self, frame: Frame) -> bool:
        """Put `frame` in the slot; True when a frame was skipped (snapshot instead of delta)."""
        in_step = self.pending is None and self.sent_seq == frame.seq - 1
        skipped = self.pending is not None
        self.pending = frame.delta if in_step else frame.snapshot
        self.pending_seq = frame.seq
        if frame.notice is not None and frame.notice != self.notice_sent:
            self.notice = frame.notice  # sent once, after the picture
        self.wake.set()
        return skipped

    async def take(self) -> str | None:
        """Wait for the next message and mark it as given to the client (None: closed);
        a notice (`end`) goes after the picture it came with."""
        while self.pending is None:
            if self.closed:
                return None
            if self.notice is not None:
                msg, self.notice_sent, self.notice = self.notice, self.notice, None
                return msg
            self.wake.clear()
            await self.wake.wait()
        msg, self.pending = self.pending, None
        self.sent_seq = self.pending_seq
        return msg


class Hub:
    """The set of connected clients; `publish` is called from the pipeline thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, metrics: Metrics) -> None:
        self.loop = loop
        self.metrics = metrics
        self.clients: set[ClientSlot] = set()

    def publish(self, frames: dict[Consumer, Frame]) -> None:
        """Thread-safe: hand the frames to the event loop."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._offer_all, frames)

    def _offer_all(self, frames: dict[Consumer, Frame]) -> None:
        skipped = 0
        for slot in self.clients:
            frame = frames.get(slot.consumer)
            if frame is not None:
                skipped += slot.offer(frame)
        if skipped:
            self.metrics.skipped.inc(skipped)

    def add(self, slot: ClientSlot, latest: Frame | None) -> None:
        """Register a client; it starts with the latest snapshot when there is one."""
        if latest is not None:
            slot.offer(latest)
        self.clients.add(slot)
        self.metrics.clients.set(len(self.clients))

    def remove(self, slot: ClientSlot) -> None:
        self.clients.discard(slot)
        self.metrics.clients.set(len(self.clients))
