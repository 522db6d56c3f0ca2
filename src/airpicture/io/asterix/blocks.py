"""Datagrams to ASTERIX data blocks (CAT, LEN, records), and the counters every decoder keeps."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

MAX_BLOCKS_PER_DATAGRAM = 256
"""More blocks than this in one datagram rejects the rest of it (counted once as
blocks_rejected:too_many_blocks): real feeds send a few per datagram, and each block has a
fixed cost, so a 64 KB datagram of 13,000 tiny blocks would cost a quarter of a second."""


FILE_BLOCKS = 1 << 31
"""No cap for a file read whole (`transport.read_ast`: one 'datagram' without a receive time):
its blocks are many by nature, and the cap guards a network socket, not a local file."""


def max_blocks_for(t_recv: float | None) -> int:
    """The block cap of one datagram: MAX_BLOCKS_PER_DATAGRAM off the network (it has a
    receive time), none for a whole file (no receive time)."""
    return FILE_BLOCKS if t_recv is None else MAX_BLOCKS_PER_DATAGRAM


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


def split_blocks(datagram: bytes, counts: Counter[str],
                 max_blocks: int = MAX_BLOCKS_PER_DATAGRAM) -> list[Block]:
    """The data blocks of one datagram; a length that lies ends the datagram and is counted.

    A datagram may hold several blocks. A LEN below 4 (header and at least one FSPEC byte) or
    past the datagram's end rejects the rest of the datagram: nothing after it can be trusted.
    More than `max_blocks` blocks reject the rest too.
    """
    blocks: list[Block] = []
    off, n = 0, len(datagram)
    while off < n:
        if len(blocks) >= max_blocks:
            counts["blocks_rejected:too_many_blocks"] += 1
            break
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
