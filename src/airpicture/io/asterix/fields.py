"""Vectorised field extraction: big-endian integers, signed values and ICAO 6-bit strings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from airpicture.io.asterix.blocks import Block

IntArray = npt.NDArray[np.int64]

ICAO_CHARS = ["", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ", *[""] * 5, " ", *[""] * 15, *"0123456789",
              *[""] * 6]
"""The ICAO 6-bit alphabet (Annex 10): index -> character; unused codes are dropped (as
libasterix does)."""


def gather_uint(buf: npt.NDArray[np.uint8], off: IntArray, nbytes: int, skip: int = 0) -> IntArray:
    """Unsigned big-endian integer of `nbytes` at off + skip for each row (0 where off < 0)."""
    base = np.where(off >= 0, off + skip, 0)
    out = np.zeros(off.shape[0], np.int64)
    for k in range(nbytes):
        out = (out << 8) | buf[base + k].astype(np.int64)
    return np.where(off >= 0, out, 0)


def signed(value: IntArray, bits: int) -> IntArray:
    """Two's complement reading of the low `bits` bits."""
    value = value & ((1 << bits) - 1)
    return np.where(value >= 1 << (bits - 1), value - (1 << bits), value)


def icao_strings(packed: IntArray, present: npt.NDArray[np.bool_]) -> npt.NDArray[np.object_]:
    """48-bit packed ICAO callsigns to strings (trailing spaces stripped; '' where absent)."""
    table = np.array(ICAO_CHARS, dtype="<U1")
    shifts = np.arange(42, -1, -6, dtype=np.int64)
    codes = (packed[:, None] >> shifts[None, :]) & 0x3F
    chars = table[codes]
    # Push dropped (invalid) codes to the end of each row, where the view strips them.
    order = np.argsort(chars == "", axis=1, kind="stable")
    chars = np.take_along_axis(chars, order, axis=1)
    joined = np.ascontiguousarray(chars).view("<U8").reshape(-1)
    stripped = np.char.rstrip(joined)
    out = np.where(present, stripped, "").astype(object)
    return out


def concat_blocks(blocks: list[Block]) -> tuple[bytes, list[tuple[int, int]]]:
    """One buffer with every block's records, and each block's (start, end) in it."""
    parts: list[bytes] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for b in blocks:
        body = b.buf[b.start:b.end]
        parts.append(body)
        spans.append((pos, pos + len(body)))
        pos += len(body)
    return b"".join(parts), spans


def peek_sac_sic(block: Block) -> tuple[int, int] | None:
    """SAC/SIC of a block's first record when its FRN 1 (I0xx/010 in 021/034/048/062) is set."""
    buf, off, end = block.buf, block.start, block.end
    if off >= end or not buf[off] & 0x80:
        return None
    while off < end and buf[off] & 1:
        off += 1
    off += 1
    if off + 2 > end:
        return None
    return buf[off], buf[off + 1]
