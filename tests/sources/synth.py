"""Synthetic Mode S frames with valid parity (CRC-24, generator 0xFFF409), vectorised: for
soak tests with many fresh addresses."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def _table() -> npt.NDArray[np.int64]:
    table = np.zeros(256, np.int64)
    for i in range(256):
        c = i << 16
        for _ in range(8):
            c = ((c << 1) ^ 0xFFF409) if c & 0x800000 else c << 1
        table[i] = c & 0xFFFFFF
    return table


CRC_TABLE = _table()


def crc24(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Mode S parity of each row of `data` (the message without its last 3 bytes)."""
    crc = np.zeros(data.shape[0], np.int64)
    for k in range(data.shape[1]):
        crc = ((crc << 8) & 0xFFFFFF) ^ CRC_TABLE[((crc >> 16) ^ data[:, k]) & 0xFF]
    return crc


def with_parity(body: npt.NDArray[np.uint8]) -> list[str]:
    """Hex messages: each row of `body` followed by its 3 parity bytes (interrogator 0)."""
    crc = crc24(body)
    parity = np.stack([(crc >> 16) & 0xFF, (crc >> 8) & 0xFF, crc & 0xFF], 1).astype(np.uint8)
    return [row.tobytes().hex() for row in np.concatenate([body, parity], 1)]


def fresh_address_frames(n: int, rng: np.random.Generator) -> list[str]:
    """`n` frames, each from a fresh random address: DF17 identification and airborne
    positions, DF11 all-calls in turn, and one surface position in 40 (random content; as
    rare as on a real feed: rs1090 takes ~1 ms for each surface message near a reference)."""
    icao = rng.integers(0, 1 << 24, n)
    i = np.arange(n)
    kind = np.where(i % 40 == 39, 2, np.where(i % 4 == 2, 1, i % 4))
    long_rows = np.flatnonzero(kind < 3)
    body = np.zeros((long_rows.size, 11), np.uint8)
    body[:, 0] = 0x8D
    body[:, 1] = icao[long_rows] >> 16
    body[:, 2] = (icao[long_rows] >> 8) & 0xFF
    body[:, 3] = icao[long_rows] & 0xFF
    body[:, 4:] = rng.integers(0, 256, (long_rows.size, 7))
    first = np.array([4 << 3, (11 << 3), (7 << 3)], np.uint8)[kind[long_rows]]
    body[:, 4] = first | (body[:, 4] & 0x07)
    out: list[str] = [""] * n
    for i, h in zip(long_rows.tolist(), with_parity(body), strict=True):
        out[i] = h
    short_rows = np.flatnonzero(kind == 3)
    short = np.zeros((short_rows.size, 4), np.uint8)
    short[:, 0] = 0x5D
    short[:, 1] = icao[short_rows] >> 16
    short[:, 2] = (icao[short_rows] >> 8) & 0xFF
    short[:, 3] = icao[short_rows] & 0xFF
    for i, h in zip(short_rows.tolist(), with_parity(short), strict=True):
        out[i] = h
    return out
