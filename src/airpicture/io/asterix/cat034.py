"""CAT034 monoradar service messages: north markers and sector crossings -> radar status.

Each radar's scan period is measured from consecutive north markers, or from the azimuth
advance between sector crossings; liveness is "a message within a few scan periods".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from airpicture.io.asterix.blocks import Block
from airpicture.io.asterix.libx import parse_block, quantity, sub, uint

NORTH_MARKER = 1
SECTOR_CROSSING = 2
DEFAULT_PERIOD_S = 12.0
"""Scan period assumed for liveness before any is measured (a slow en-route radar)."""


@dataclass(frozen=True)
class ServiceMessage:
    """One CAT034 record (NaN / -1 where an item is absent)."""

    sac: int
    sic: int
    message_type: int
    tod_s: float
    sector_deg: float
    rotation_period_s: float


@dataclass
class RadarStatus:
    """What a radar's service messages say about it: scan period and when it was last heard."""

    sac: int
    sic: int
    north_markers: int = 0
    sector_crossings: int = 0
    last_message_s: float = float("nan")
    last_north_s: float = float("nan")
    rotation_period_s: float = float("nan")
    """As the radar reports it in I034/041."""
    _periods: list[float] = field(default_factory=list)
    _last_sector: tuple[float, float] | None = None

    @property
    def scan_period_s(self) -> float:
        """Median of the measured periods (NaN before two messages)."""
        return float(np.median(self._periods[-16:])) if self._periods else float("nan")

    def period_for_liveness_s(self) -> float:
        """The measured period, else the reported one, else DEFAULT_PERIOD_S."""
        for p in (self.scan_period_s, self.rotation_period_s):
            if np.isfinite(p) and p > 0:
                return p
        return DEFAULT_PERIOD_S

    def alive(self, now_s: float, scans: float = 3.0) -> bool:
        """Heard within `scans` scan periods before `now_s`."""
        return bool(np.isfinite(self.last_message_s)
                    and now_s - self.last_message_s <= scans * self.period_for_liveness_s())

    def update(self, msg: ServiceMessage, t_s: float) -> None:
        """Take one message, at time t_s (same clock as `alive`)."""
        self.last_message_s = t_s if not np.isfinite(self.last_message_s) \
            else max(self.last_message_s, t_s)
        if np.isfinite(msg.rotation_period_s) and msg.rotation_period_s > 0:
            self.rotation_period_s = msg.rotation_period_s
        if msg.message_type == NORTH_MARKER:
            self.north_markers += 1
            if np.isfinite(self.last_north_s) and 0.5 < t_s - self.last_north_s < 60.0:
                self._periods.append(t_s - self.last_north_s)
            self.last_north_s = t_s
            self._sector_step(t_s, 0.0)
        elif msg.message_type == SECTOR_CROSSING and np.isfinite(msg.sector_deg):
            self.sector_crossings += 1
            self._sector_step(t_s, msg.sector_deg)

    def _sector_step(self, t_s: float, az_deg: float) -> None:
        """A period estimate from the azimuth advance since the last sector message."""
        if self._last_sector is not None:
            t0, az0 = self._last_sector
            dt, daz = t_s - t0, (az_deg - az0) % 360.0
            # Only short steps: a missed message would make a long step look like a slow scan.
            if 0.0 < dt < 30.0 and 0.0 < daz <= 180.0 and self.north_markers < 2:
                self._periods.append(dt * 360.0 / daz)
        self._last_sector = (t_s, az_deg)

    def to_json(self) -> dict[str, Any]:
        """The status as plain values (for the CLI and the service)."""
        return {"sac": self.sac, "sic": self.sic, "north_markers": self.north_markers,
                "sector_crossings": self.sector_crossings, "scan_period_s": self.scan_period_s,
                "rotation_period_s": self.rotation_period_s,
                "last_message_s": self.last_message_s}


def decode(blocks: list[Block], edition: str, counts: Counter[str]) -> list[ServiceMessage]:
    """CAT034 blocks to messages (libasterix; a block that does not parse is counted)."""
    out: list[ServiceMessage] = []
    for block in blocks:
        for rec in parse_block(block, edition, counts) or []:
            g = rec.get_item
            out.append(ServiceMessage(
                sac=uint(sub(g("010"), "SAC")), sic=uint(sub(g("010"), "SIC")),
                message_type=uint(g("000")), tod_s=quantity(g("030"), "s"),
                sector_deg=quantity(g("020"), "°"), rotation_period_s=quantity(g("041"), "s"),
            ))
    return out
