"""Incremental framing parsers for 1090 MHz receiver feeds: Mode S Beast binary and AVR hex.

Each parser is fed bytes in arbitrary chunks (`feed`) and returns the complete frames found so
far as one `FrameBatch`; a frame split across chunks comes out whole on the chunk that
completes it.  A bad frame never raises: it is counted in `bad` by kind and the parser
resynchronises at the next frame.  SBS/BaseStation lines are already decoded and live in
`airpicture.sources.sbs`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any

import numpy as np
import numpy.typing as npt

ESC = 0x1A
BEAST_PAYLOAD_BYTES = {0x31: 2, 0x32: 7, 0x33: 14}
"""Beast type byte -> message bytes: 0x31 Mode A/C, 0x32 Mode S short, 0x33 Mode S long."""
BEAST_RECEIVER_ID = 0xE3
"""Beast type byte of readsb's receiver-id frame (--net-receiver-id): 8 id bytes, no
timestamp, no signal; the id holds for the frames that follow it on the stream."""
BEAST_RECEIVER_ID_BYTES = 8
BEAST_HEADER_BYTES = 7
"""6-byte 12 MHz timestamp and 1 signal byte between the type byte and the message."""
BEAST_CLOCK_HZ = 12_000_000.0
MAX_PARTIAL_AVR_CHARS = 200
"""Longer text without a ';' cannot be a frame: it is dropped as junk."""
MODE_AC_BYTES = 2


@dataclass(slots=True)
class Frame:
    """One received message: raw bytes (2 Mode A/C, 7 short or 14 long Mode S).

    A convenience for tests and callers that build a handful of frames by hand; what flows
    through parsers, feeds and the decoder is a `FrameBatch` (`FrameBatch.from_frames`).
    t_s: receive time in seconds (the transport's clock, or the 12 MHz counter / 12e6 when the
    frame carries one and no wall clock is known); mlat_ticks: the receiver's 12 MHz counter
    (-1 unknown); rssi_dbfs: signal level (NaN unknown); receiver: index of the receiver.
    """

    msg: bytes
    t_s: float = math.nan
    mlat_ticks: int = -1
    rssi_dbfs: float = math.nan
    receiver: int = 0

    @property
    def is_mode_ac(self) -> bool:
        return len(self.msg) == MODE_AC_BYTES


Index = slice | npt.NDArray[np.bool_] | npt.NDArray[np.int64] | Sequence[int]


@dataclass
class FrameBatch:
    """Received messages as columns (structure-of-arrays): what parsers, feeds and the decoder
    pass around, one batch per chunk, never one Python object per message.

    hex: each message in lowercase hex (what rs1090.decode takes); n_bytes: its length in
    bytes (2 Mode A/C, 7 or 14 Mode S: the decoder counts and skips Mode A/C); t_s, mlat_ticks
    (-1 unknown), rssi_dbfs (NaN unknown), receiver: as in `Frame`.
    """

    hex: list[str]
    t_s: npt.NDArray[np.float64]
    mlat_ticks: npt.NDArray[np.int64]
    rssi_dbfs: npt.NDArray[np.float64]
    receiver: npt.NDArray[np.int32]
    n_bytes: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.hex)

    @classmethod
    def empty(cls) -> FrameBatch:
        return cls([], np.empty(0), np.empty(0, np.int64), np.empty(0), np.empty(0, np.int32),
                   np.empty(0, np.int8))

    @classmethod
    def create(cls, hex: list[str], t_s: npt.ArrayLike, mlat_ticks: npt.ArrayLike = -1,
               rssi_dbfs: npt.ArrayLike = math.nan, receiver: npt.ArrayLike = 0,
               n_bytes: npt.ArrayLike | None = None) -> FrameBatch:
        """A batch from columns; scalars are broadcast, n_bytes defaults to len(hex) // 2."""
        n = len(hex)

        def col(value: npt.ArrayLike, dtype: Any) -> Any:
            arr = np.asarray(value, dtype)
            return np.full(n, arr, dtype) if arr.ndim == 0 else arr

        if n_bytes is None:
            n_bytes = np.fromiter(map(len, hex), np.int64, n) // 2
        return cls(hex, col(t_s, np.float64), col(mlat_ticks, np.int64),
                   col(rssi_dbfs, np.float64), col(receiver, np.int32), col(n_bytes, np.int8))

    @classmethod
    def from_frames(cls, frames: Sequence[Frame]) -> FrameBatch:
        """The batch of a few hand-built frames."""
        return cls.create([f.msg.hex() for f in frames], [f.t_s for f in frames],
                          [f.mlat_ticks for f in frames], [f.rssi_dbfs for f in frames],
                          [f.receiver for f in frames], [len(f.msg) for f in frames])

    def frames(self) -> list[Frame]:
        """One Frame per message (for tests and debugging, not for hot loops)."""
        return [Frame(bytes.fromhex(h), t, k, r, rc) for h, t, k, r, rc in zip(
            self.hex, self.t_s.tolist(), self.mlat_ticks.tolist(), self.rssi_dbfs.tolist(),
            self.receiver.tolist(), strict=True)]

    @classmethod
    def concat(cls, parts: Sequence[FrameBatch]) -> FrameBatch:
        """The batches one after the other."""
        parts = [p for p in parts if len(p)]
        if len(parts) <= 1:
            return parts[0] if parts else cls.empty()
        return cls(list(chain.from_iterable(p.hex for p in parts)),
                   np.concatenate([p.t_s for p in parts]),
                   np.concatenate([p.mlat_ticks for p in parts]),
                   np.concatenate([p.rssi_dbfs for p in parts]),
                   np.concatenate([p.receiver for p in parts]),
                   np.concatenate([p.n_bytes for p in parts]))

    def take(self, index: Index) -> FrameBatch:
        """The messages at `index`: a slice, a boolean mask or integer positions."""
        if isinstance(index, slice):
            hexes = self.hex[index]
        else:
            index = np.asarray(index)
            if index.dtype == np.bool_:
                hexes = list(compress(self.hex, index.tolist()))
            else:
                index = index.astype(np.int64, copy=False)
                hexes = list(map(self.hex.__getitem__, index.tolist()))
        return FrameBatch(hexes, self.t_s[index], self.mlat_ticks[index],
                          self.rssi_dbfs[index], self.receiver[index], self.n_bytes[index])


def signal_to_dbfs(level: int) -> float:
    """Beast signal byte (amplitude, 255 = full scale) to RSSI in dBFS, as readsb reports it."""
    return 20.0 * math.log10(max(level, 1) / 255.0)


DBFS_OF_LEVEL = np.array([signal_to_dbfs(level) for level in range(256)])
"""signal_to_dbfs of every signal byte, looked up per batch."""


class BeastParser:
    """Mode S Beast binary framing (dump1090 / readsb port 30005).

    Layout of one frame, every 0x1a byte after the first doubled (0x1a 0x1a) on the wire:

        0x1a | type | timestamp (6 bytes, big-endian 12 MHz counter) | signal (1) | message

    type 0x31: Mode A/C (2 message bytes), 0x32: Mode S short (7), 0x33: Mode S long (14).
    readsb's receiver-id frame, 0x1a 0xe3 + 8 id bytes (escaped alike), is not junk: the id
    (16 hex digits, `receiver_id`) holds for the frames after it, counted per id in
    `frames_by_receiver_id` (`receiver_id_frames`: how many such frames came).
    Bad kinds: `beast_junk` (bytes outside a frame), `beast_bad_type` (unknown type byte),
    `beast_bad_escape` (a lone 0x1a inside a frame: the frame was cut and is dropped).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad: Counter[str] = Counter()
        self.frames = 0
        self.receiver_id = ""
        """The latest receiver-id frame's id (16 hex digits); empty before any."""
        self.receiver_id_frames = 0
        self.frames_by_receiver_id: Counter[str] = Counter()
        self._marked = 0
        """Frames of the batch being parsed already attributed to a receiver id."""

    def feed(self, data: bytes) -> FrameBatch:
        """Frames completed by `data`; incomplete trailing bytes wait for the next chunk."""
        buf = self._buf
        buf += data
        hexes: list[str] = []
        ticks: list[int] = []
        levels: list[int] = []
        sizes: list[int] = []
        pos = 0
        n = len(buf)
        while pos < n:
            start = buf.find(ESC, pos)
            if start < 0:
                self.bad["beast_junk"] += 1
                pos = n
                break
            if start > pos:
                self.bad["beast_junk"] += 1
            if start + 1 >= n:
                pos = start
                break
            kind = buf[start + 1]
            size = BEAST_PAYLOAD_BYTES.get(kind)
            if kind == BEAST_RECEIVER_ID:
                ident, end = _unescape(buf, start + 2, BEAST_RECEIVER_ID_BYTES)
                if ident is None and end < 0:
                    pos = start
                    break
                if ident is None:
                    self.bad["beast_bad_escape"] += 1
                else:
                    self._count_since_id(len(hexes))
                    self.receiver_id, self.receiver_id_frames = ident.hex(), \
                        self.receiver_id_frames + 1
                pos = end
                continue
            if size is None:
                # 0x1a 0x1a outside a frame is an escaped data byte: junk, not a frame start.
                self.bad["beast_junk" if kind == ESC else "beast_bad_type"] += 1
                pos = start + 2 if kind == ESC else start + 1
                continue
            body, end = _unescape(buf, start + 2, BEAST_HEADER_BYTES + size)
            if body is None:
                if end < 0:  # incomplete: wait for more bytes
                    pos = start
                    break
                self.bad["beast_bad_escape"] += 1
                pos = end
                continue
            ticks.append(int.from_bytes(body[0:6], "big"))
            levels.append(body[6])
            hexes.append(body[7:].hex())
            sizes.append(size)
            pos = end
        del buf[:pos]
        self._count_since_id(len(hexes))
        self._marked = 0
        self.frames += len(hexes)
        if not hexes:
            return FrameBatch.empty()
        stamp = np.array(ticks, np.int64)
        return FrameBatch(hexes, stamp / BEAST_CLOCK_HZ, stamp, DBFS_OF_LEVEL[levels],
                          np.zeros(len(hexes), np.int32), np.array(sizes, np.int8))

    def _count_since_id(self, n_frames: int) -> None:
        """Attribute the frames parsed since the last mark (`n_frames` in the batch so far)
        to the current receiver id."""
        new = n_frames - self._marked
        if new > 0 and self.receiver_id:
            self.frames_by_receiver_id[self.receiver_id] += new
        self._marked = n_frames

    def finish(self) -> FrameBatch:
        """End of stream: bytes of an incomplete last frame are counted, then dropped."""
        if self._buf:
            self.bad["beast_truncated"] += 1
            self._buf.clear()
        return FrameBatch.empty()


def _unescape(buf: bytearray, pos: int, need: int) -> tuple[bytes | None, int]:
    """Read `need` unescaped bytes from `buf` at `pos`.

    Returns (bytes, end) on success; (None, -1) when the buffer ends first; (None, p) when a lone
    0x1a at p cuts the frame (p is where the next frame starts).
    """
    n = len(buf)
    stop = pos + need
    if stop <= n and buf.find(ESC, pos, stop) < 0:  # the usual frame: no escaped byte
        return bytes(buf[pos:stop]), stop
    out = bytearray()
    while len(out) < need:
        missing = need - len(out)
        stop = min(n, pos + missing)
        esc = buf.find(ESC, pos, stop)
        if esc < 0:
            out += buf[pos:stop]
            pos = stop
            if len(out) < need:
                return None, -1
            break
        out += buf[pos:esc]
        if esc + 1 >= n:
            return None, -1
        if buf[esc + 1] != ESC:
            return None, esc
        out.append(ESC)
        pos = esc + 2
    return bytes(out), pos


MODE_S_CRC_POLY = 0xFFF409
"""The Mode S CRC-24 generator polynomial (ICAO Annex 10 vol. IV, 3.1.2.3.3)."""


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 16
        for _ in range(8):
            crc = (crc << 1) ^ MODE_S_CRC_POLY if crc & 0x800000 else crc << 1
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def mode_s_remainder(msg: bytes) -> int:
    """The CRC-24 of a Mode S message's data bits XOR its 24 parity bits: 0 for an intact
    DF17/18 and DF11 with interrogator code 0; a DF11 answering an interrogator leaves only
    its 7-bit code (< 0x80); anything else means a bit error (a phantom address)."""
    crc = 0
    for byte in msg[:-3]:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC_TABLE[((crc >> 16) ^ byte) & 0xFF]
    return crc ^ int.from_bytes(msg[-3:], "big")


class AvrParser:
    """AVR raw hex framing (dump1090 port 30002): one frame per `;`-terminated token.

    `*<hex>;` plain, `@<12 hex: 48-bit 12 MHz timestamp><hex>;` with MLAT timestamp; the message
    is 4 (Mode A/C), 14 or 28 hex digits; whitespace and line ends between frames are ignored.
    Bad kinds: `avr_bad_prefix`, `avr_bad_hex`, `avr_bad_length`, `avr_junk` (over-long text).
    """

    def __init__(self) -> None:
        self._partial = b""
        self.bad: Counter[str] = Counter()
        self.frames = 0

    def feed(self, data: bytes) -> FrameBatch:
        """Frames completed by `data`; the text after the last ';' waits for the next chunk."""
        tokens = (self._partial + data).split(b";")
        self._partial = tokens.pop()
        if len(self._partial.strip()) > MAX_PARTIAL_AVR_CHARS:
            self.bad["avr_junk"] += 1
            self._partial = b""
        hexes: list[str] = []
        ticks: list[int] = []
        for raw in tokens:
            self._token(raw.strip(), hexes, ticks)
        self.frames += len(hexes)
        if not hexes:
            return FrameBatch.empty()
        stamp = np.array(ticks, np.int64)
        t_s = np.where(stamp >= 0, stamp / BEAST_CLOCK_HZ, math.nan)
        return FrameBatch.create(hexes, t_s, stamp)

    def finish(self) -> FrameBatch:
        """End of stream: an unterminated last token is counted, then dropped."""
        if self._partial.strip():
            self.bad["avr_truncated"] += 1
        self._partial = b""
        return FrameBatch.empty()

    def _token(self, token: bytes, hexes: list[str], ticks: list[int]) -> None:
        """Append one token's message (lowercase hex) and counter, or count it as bad."""
        if not token:
            return
        prefix, text = token[:1], token[1:]
        stamp = -1
        if prefix == b"@":
            if len(text) < 12:
                self.bad["avr_bad_length"] += 1
                return
            head, text = text[:12], text[12:]
            try:
                stamp = int(head, 16)
            except ValueError:
                self.bad["avr_bad_hex"] += 1
                return
        elif prefix != b"*":
            self.bad["avr_bad_prefix"] += 1
            return
        if len(text) not in (4, 14, 28):
            self.bad["avr_bad_length"] += 1
            return
        try:
            msg = bytes.fromhex(text.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            msg = b""
        if 2 * len(msg) != len(text):  # fromhex skips spaces: a short result is bad hex
            self.bad["avr_bad_hex"] += 1
            return
        hexes.append(msg.hex())
        ticks.append(stamp)
