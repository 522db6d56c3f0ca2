"""Incremental framing parsers for 1090 MHz receiver feeds: Mode S Beast binary and AVR hex.

Each parser is fed bytes in arbitrary chunks (`feed`) and returns the complete frames found so
far; a frame split across chunks comes out whole on the chunk that completes it.  A bad frame
never raises: it is counted in `bad` by kind and the parser resynchronises at the next frame.
SBS/BaseStation lines are already decoded and live in `airpicture.sources.sbs`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

ESC = 0x1A
BEAST_PAYLOAD_BYTES = {0x31: 2, 0x32: 7, 0x33: 14}
"""Beast type byte -> message bytes: 0x31 Mode A/C, 0x32 Mode S short, 0x33 Mode S long."""
BEAST_HEADER_BYTES = 7
"""6-byte 12 MHz timestamp and 1 signal byte between the type byte and the message."""
BEAST_CLOCK_HZ = 12_000_000.0
MAX_PARTIAL_AVR_CHARS = 200
"""Longer text without a ';' cannot be a frame: it is dropped as junk."""


@dataclass(slots=True)
class Frame:
    """One received message: raw bytes (2 Mode A/C, 7 short or 14 long Mode S).

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
        return len(self.msg) == 2


def signal_to_dbfs(level: int) -> float:
    """Beast signal byte (amplitude, 255 = full scale) to RSSI in dBFS, as readsb reports it."""
    return 20.0 * math.log10(max(level, 1) / 255.0)


_DBFS_OF_LEVEL = tuple(signal_to_dbfs(level) for level in range(256))
"""signal_to_dbfs of every signal byte, looked up per frame."""


class BeastParser:
    """Mode S Beast binary framing (dump1090 / readsb port 30005).

    Layout of one frame, every 0x1a byte after the first doubled (0x1a 0x1a) on the wire:

        0x1a | type | timestamp (6 bytes, big-endian 12 MHz counter) | signal (1) | message

    type 0x31: Mode A/C (2 message bytes), 0x32: Mode S short (7), 0x33: Mode S long (14).
    Bad kinds: `beast_junk` (bytes outside a frame), `beast_bad_type` (unknown type byte),
    `beast_bad_escape` (a lone 0x1a inside a frame: the frame was cut and is dropped).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self.bad: Counter[str] = Counter()
        self.frames = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Frames completed by `data`; incomplete trailing bytes wait for the next chunk."""
        buf = self._buf
        buf += data
        out: list[Frame] = []
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
            out.append(_beast_frame(body))
            pos = end
        del buf[:pos]
        self.frames += len(out)
        return out

    def finish(self) -> list[Frame]:
        """End of stream: bytes of an incomplete last frame are counted, then dropped."""
        if self._buf:
            self.bad["beast_truncated"] += 1
            self._buf.clear()
        return []


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


def _beast_frame(body: bytes) -> Frame:
    ticks = int.from_bytes(body[0:6], "big")
    return Frame(body[7:], ticks / BEAST_CLOCK_HZ, ticks, _DBFS_OF_LEVEL[body[6]])


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

    def feed(self, data: bytes) -> list[Frame]:
        """Frames completed by `data`; the text after the last ';' waits for the next chunk."""
        tokens = (self._partial + data).split(b";")
        self._partial = tokens.pop()
        if len(self._partial.strip()) > MAX_PARTIAL_AVR_CHARS:
            self.bad["avr_junk"] += 1
            self._partial = b""
        out: list[Frame] = []
        for raw in tokens:
            frame = self._token(raw.strip())
            if frame is not None:
                out.append(frame)
        self.frames += len(out)
        return out

    def finish(self) -> list[Frame]:
        """End of stream: an unterminated last token is counted, then dropped."""
        if self._partial.strip():
            self.bad["avr_truncated"] += 1
        self._partial = b""
        return []

    def _token(self, token: bytes) -> Frame | None:
        if not token:
            return None
        prefix, text = token[:1], token[1:]
        ticks = -1
        if prefix == b"@":
            if len(text) < 12:
                self.bad["avr_bad_length"] += 1
                return None
            stamp, text = text[:12], text[12:]
            try:
                ticks = int(stamp, 16)
            except ValueError:
                self.bad["avr_bad_hex"] += 1
                return None
        elif prefix != b"*":
            self.bad["avr_bad_prefix"] += 1
            return None
        if len(text) not in (4, 14, 28):
            self.bad["avr_bad_length"] += 1
            return None
        try:
            msg = bytes.fromhex(text.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            msg = b""
        if 2 * len(msg) != len(text):  # fromhex skips spaces: a short result is bad hex
            self.bad["avr_bad_hex"] += 1
            return None
        t_s = ticks / BEAST_CLOCK_HZ if ticks >= 0 else math.nan
        return Frame(msg=msg, t_s=t_s, mlat_ticks=ticks)
