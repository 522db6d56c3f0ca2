"""Datagrams to ASTERIX data blocks (CAT, LEN, records), and the counters every decoder keeps."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """One data block: records are buf[start:end] (the 3-byte header excluded)."""

    category: int
    buf: bytes
    start: int
    end: int

    @property
    def raw(self) -> bytes:
        """The whole block, header included."""
        return self.buf[self.start - 3:self.end]


def split_blocks(datagram: bytes, counts: Counter[str]) -> list[Block]:
    """The data blocks of one datagram; a length that lies ends the datagram and is counted.

    A datagram may hold several blocks. A LEN below 4 (header and at least one FSPEC byte) or
    past the datagram's end rejects the rest of the datagram: nothing after it can be trusted.
    """
    blocks: list[Block] = []
    off, n = 0, len(datagram)
    while off < n:
        if n - off < 3:
            counts["blocks_rejected:header_truncated"] += 1
            break
        length = int.from_bytes(datagram[off + 1:off + 3], "big")
        if length < 4:
            counts["blocks_rejected:length_too_small"] += 1
            break
        if off + length > n:
            counts["blocks_rejected:length_past_end"] += 1
            break
        blocks.append(Block(datagram[off], datagram, off + 3, off + length))
        off += length
    return blocks


def rejected_total(counts: Counter[str]) -> int:
    """How many blocks were rejected, over all reasons."""
    return sum(v for k, v in counts.items() if k.startswith("blocks_rejected:"))
