"""CAT034 monoradar service messages: north markers, sector crossings, system status.

`decode_fast` walks records with the edition's layout and reads the few items used with
numpy, like CAT048 and CAT021; `decode` reads the same through libasterix (the oracle: tests
hold them equal on real and random records). Each radar's `RadarStatus` measures the scan
period from consecutive north markers (or the azimuth advance between sector crossings),
says whether it is heard ("alive") and what I034/050 last reported as wrong ("degraded").
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from airpicture.io.asterix.blocks import Block
from airpicture.io.asterix.fields import concat_blocks, gather_uint
from airpicture.io.asterix.layout import (
    MAX_RECORDS_PER_BLOCK,
    compound_sizes,
    quantity_info,
    record_layout,
    walk_blocks,
)
from airpicture.io.asterix.libx import parse_block, quantity, sub, uint

NORTH_MARKER = 1
SECTOR_CROSSING = 2
DEFAULT_PERIOD_S = 12.0
"""Scan period assumed for liveness before any is measured (a slow en-route radar)."""
PERIOD_WINDOW = 16
"""How many recent period measurements the scan period is the median of."""

COM_PROBLEMS = (("NOGO", 0x80), ("OVLRDP", 0x10), ("OVLXMT", 0x08), ("TSV", 0x02))
"""I034/050 COM bits that say the data suffer: operational use inhibited, processor or
transmission overloaded, time source invalid. (MSC, monitoring disconnected, is not one:
the real radar 25/12 reports it while its plots are fine.)"""
SENSOR_PROBLEMS = (("OVL", 0x10),)
"""First byte of I034/050 PSR, SSR and MDS: overload; CHAB (0x60) of 0 means no channel is
selected (reported as '<kind>:no_channel')."""


class ServiceMessage(NamedTuple):
    """One CAT034 record (NaN / -1 where an item is absent). A named tuple: a flood of
    messages is made ten times faster than as a frozen dataclass."""

    sac: int
    sic: int
    message_type: int
    tod_s: float
    sector_deg: float
    rotation_period_s: float
    status_flags: tuple[str, ...] | None = None
    """What I034/050 says is wrong (() = all well), None when the record has no 050."""
    block: int = -1
    """Index of the record's block in the decoded list."""


def _flags(com: int | None, sensors: dict[str, int]) -> tuple[str, ...]:
    """Problem names from the COM byte and each sensor's first status byte."""
    out = [name for name, bit in COM_PROBLEMS if com is not None and com & bit]
    for kind in ("PSR", "SSR", "MDS"):
        if kind in sensors:
            b = sensors[kind]
            if not b & 0x60:
                out.append(f"{kind}:no_channel")
            out += [f"{kind}:{name}" for name, bit in SENSOR_PROBLEMS if b & bit]
    return tuple(out)


def _status_050(buf: bytes, off: int, edition: str) -> tuple[str, ...]:
    """I034/050 at `off` (already validated by the walker) to problem names."""
    subs = compound_sizes(34, edition, "050")
    present = []
    k = 0
    while True:  # the compound's own FSPEC
        b = buf[off]
        off += 1
        present += [7 * k + j for j in range(7) if b & (0x80 >> j)]
        k += 1
        if not b & 1:
            break
    first: dict[str, int] = {}
    for i in present:
        name, size = subs[i]
        first[name] = buf[off]
        off += size
    return _flags(first.get("COM"), {n: v for n, v in first.items() if n != "COM"})


_ITEMS = ("010", "000", "030", "020", "041", "050")


def decode_fast(blocks: list[Block], counts: Counter[str], edition: str = "1.29",
                max_records: int = MAX_RECORDS_PER_BLOCK) -> list[ServiceMessage]:
    """CAT034 blocks to messages with the byte walker (a malformed block is rejected whole and
    counted, as in CAT048); the same messages as `decode`."""
    found = walk_messages(blocks, counts, edition, max_records)
    return found.messages(np.arange(found.size))


@dataclass
class FoundMessages:
    """Where each CAT034 record's items are (the walk), values read only for the rows asked:
    a flood of records costs the walk, not one Python object per record."""

    buf: bytes
    arr: npt.NDArray[np.uint8]
    offsets: dict[str, npt.NDArray[np.int64]]
    block: npt.NDArray[np.int64]
    edition: str

    @property
    def size(self) -> int:
        return int(self.block.shape[0])

    def messages(self, rows: npt.NDArray[np.int64]) -> list[ServiceMessage]:
        """The messages of the given rows, in that order."""
        o = {name: off[rows] for name, off in self.offsets.items()}
        arr, edition = self.arr, self.edition

        def scaled(name: str, nbytes: int) -> list[float]:
            lsb, _signed = quantity_info(34, edition, name)
            raw = gather_uint(arr, o[name], nbytes) * lsb
            return np.where(o[name] >= 0, raw, np.nan).tolist()

        i010 = gather_uint(arr, o["010"], 2)
        sac = np.where(o["010"] >= 0, i010 >> 8, -1).tolist()
        sic = np.where(o["010"] >= 0, i010 & 0xFF, -1).tolist()
        mtype = np.where(o["000"] >= 0, gather_uint(arr, o["000"], 1), -1).tolist()
        tod, sector, period = scaled("030", 3), scaled("020", 1), scaled("041", 2)
        status = [None if off < 0 else _status_050(self.buf, off, edition)
                  for off in o["050"].tolist()]
        return list(map(ServiceMessage._make, zip(
            sac, sic, mtype, tod, sector, period, status, self.block[rows].tolist(),
            strict=True)))


def walk_messages(blocks: list[Block], counts: Counter[str], edition: str = "1.29",
                  max_records: int = MAX_RECORDS_PER_BLOCK) -> FoundMessages:
    """Walk CAT034 blocks (malformed ones rejected and counted): where each record's items are."""
    layout = record_layout(34, edition)
    wanted = tuple(layout.frn(n) for n in _ITEMS)
    buf, spans = concat_blocks(blocks)
    offsets, block_idx = walk_blocks(buf, spans, layout, wanted, counts,
                                     "blocks_rejected:cat034_", max_records)
    return FoundMessages(buf, np.frombuffer(buf + bytes(8), np.uint8),
                         {name: offsets[:, k] for k, name in enumerate(_ITEMS)}, block_idx,
                         edition)


def _status_oracle(item: Any) -> tuple[str, ...] | None:
    """I034/050 through libasterix's names (the fast path's oracle)."""
    if item is None:
        return None
    com = sub(item, "COM")
    com_byte = None if com is None else sum(
        bit for name, bit in COM_PROBLEMS if uint(sub(com, name), 0))
    sensors: dict[str, int] = {}
    for kind, ovl in (("PSR", "OVL"), ("SSR", "OVL"), ("MDS", "OVLSUR")):
        s = sub(item, kind)
        if s is not None:
            sensors[kind] = (uint(sub(s, "CHAB")) << 5) | (uint(sub(s, ovl)) << 4)
    return _flags(com_byte, sensors)


def decode(blocks: list[Block], edition: str, counts: Counter[str],
           max_records: int = MAX_RECORDS_PER_BLOCK) -> list[ServiceMessage]:
    """CAT034 blocks to messages through libasterix (a block that does not parse is counted)."""
    out: list[ServiceMessage] = []
    for k, block in enumerate(blocks):
        for rec in parse_block(block, edition, counts, max_records) or []:
            g = rec.get_item
            out.append(ServiceMessage(
                sac=uint(sub(g("010"), "SAC")), sic=uint(sub(g("010"), "SIC")),
                message_type=uint(g("000")), tod_s=quantity(g("030"), "s"),
                sector_deg=quantity(g("020"), "°"), rotation_period_s=quantity(g("041"), "s"),
                status_flags=_status_oracle(g("050")), block=k,
            ))
    return out


@dataclass
class RadarStatus:
    """What a radar's service messages say about it: scan period, when it was last heard and
    what its last I034/050 said is wrong."""

    sac: int
    sic: int
    north_markers: int = 0
    sector_crossings: int = 0
    last_message_s: float = float("nan")
    last_north_s: float = float("nan")
    rotation_period_s: float = float("nan")
    """As the radar reports it in I034/041."""
    problems: tuple[str, ...] = ()
    """What the last I034/050 said is wrong (empty: all well, or never reported)."""
    _periods: deque[float] = field(default_factory=lambda: deque(maxlen=PERIOD_WINDOW))
    _last_sector: tuple[float, float] | None = None

    @property
    def scan_period_s(self) -> float:
        """Median of the last PERIOD_WINDOW measured periods (NaN before two messages)."""
        return float(np.median(self._periods)) if self._periods else float("nan")

    @property
    def degraded(self) -> bool:
        """The radar's own last I034/050 reports a problem."""
        return bool(self.problems)

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
        if msg.status_flags is not None:
            self.problems = msg.status_flags
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
                "last_message_s": self.last_message_s, "last_north_s": self.last_north_s,
                "degraded": self.degraded, "problems": list(self.problems)}
