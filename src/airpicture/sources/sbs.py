"""SBS / BaseStation CSV (port 30003): lines already decoded by the receiver.

One line per message, 22 comma-separated fields:

    MSG,type,session,aircraft,hex_ident,flight,date_gen,time_gen,date_log,time_log,
    callsign,altitude_ft,ground_speed_kt,track_deg,lat,lon,vertical_rate_fpm,squawk,
    alert,emergency,spi,is_on_ground

MSG types 1..8 become the same decoded-message records as rs1090 gives for frames (dicts with
`df`, `icao24`, `bds`, `altitude`, `latitude`, `longitude`, ...), so the rest of the pipeline
does not care where a message came from.  readsb and dump1090-fa with `--gnss` write geometric
(HAE) altitude and vertical rate with an "H" suffix ("37000H", "-640H"); such an altitude is
marked `altitude_src` "GNSS" (the Mode S state keeps it as alt_geom, plots leave it out of
barometric altitude), such a rate `vrate_src` "GNSS" (geom_rate); without the suffix they are
barometric, as readsb writes them (baro_rate).  Other record kinds (SEL, ID, AIR, STA, CLK) are
counted as `sbs_other`; malformed lines are counted by kind and skipped.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from airpicture.sources.limits import bad_field

SBS_FIELDS = 22
MAX_PARTIAL_SBS_CHARS = 1000
_DF_OF_TYPE = {1: "17", 2: "17", 3: "17", 4: "17", 5: "4", 6: "5", 7: "16", 8: "11"}
"""Which downlink format an SBS MSG type comes from (5 and 6 also from DF20/21)."""
_BDS_OF_TYPE = {1: "08", 2: "06", 3: "05", 4: "09"}
_GNSS_SUFFIXED = frozenset({"altitude", "vertical_rate"})
"""Fields readsb --gnss writes with an "H" suffix when they are geometric (HAE)."""


def _number(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return value


def _epoch_s(date: str, time: str) -> float:
    """'2024/06/06', '08:58:39.123' (UTC) to epoch seconds."""
    stamp = datetime.strptime(f"{date.strip()} {time.strip()}", "%Y/%m/%d %H:%M:%S.%f")
    return stamp.replace(tzinfo=UTC).timestamp()


def _epoch_any(date: str, time: str) -> float:
    try:
        return _epoch_s(date, time)
    except ValueError:
        stamp = datetime.strptime(f"{date.strip()} {time.strip()}", "%Y/%m/%d %H:%M:%S")
        return stamp.replace(tzinfo=UTC).timestamp()


def parse_sbs_line(line: str) -> dict[str, Any]:
    """One MSG line to a decoded-message record; raises ValueError/KeyError when malformed
    (KeyError("sbs_bad_range") for a number outside its physical range, `limits.RANGES`)."""
    f = line.split(",")
    if len(f) < SBS_FIELDS - 4:  # some senders omit the four trailing flags
        raise KeyError("sbs_bad_fields")
    kind = int(f[1])
    if kind not in _DF_OF_TYPE:
        raise KeyError("sbs_bad_type")
    icao = f[4].strip().lower()
    if len(icao) != 6 or any(c not in "0123456789abcdef" for c in icao):
        raise KeyError("sbs_bad_address")
    rec: dict[str, Any] = {"timestamp": _epoch_any(f[6], f[7]), "df": _DF_OF_TYPE[kind],
                           "icao24": icao, "source": "sbs", "sbs_type": kind}
    if kind in _BDS_OF_TYPE:
        rec["bds"] = _BDS_OF_TYPE[kind]
    callsign = f[10].strip()
    if callsign:
        if len(callsign) > 8 or not callsign.isprintable():  # Mode S carries 8 characters
            raise KeyError("sbs_bad_callsign")
        rec["callsign"] = callsign
    for key, idx in (("altitude", 11), ("groundspeed", 12), ("track", 13), ("latitude", 14),
                     ("longitude", 15), ("vertical_rate", 16)):
        text = f[idx].strip()
        geometric = key in _GNSS_SUFFIXED and text.endswith("H")
        value = _number(text[:-1] if geometric else text)
        if value is not None:
            rec[key] = value
            if key == "altitude" and geometric:
                rec["altitude_src"] = "GNSS"
            elif key == "vertical_rate":
                rec["vrate_src"] = "GNSS" if geometric else "barometric"
    if ("latitude" in rec) != ("longitude" in rec) or (
            "latitude" in rec and not (-90 <= rec["latitude"] <= 90
                                       and -180 <= rec["longitude"] <= 180)):
        raise KeyError("sbs_bad_position")
    if bad_field(rec) is not None:
        raise KeyError("sbs_bad_range")
    if "altitude" in rec:
        rec["altitude"] = int(rec["altitude"])
    squawk = f[17].strip()
    if squawk:
        if len(squawk) != 4 or any(c not in "01234567" for c in squawk):
            raise KeyError("sbs_bad_squawk")
        rec["squawk"] = squawk
    return rec


class SbsParser:
    """Incremental SBS line parser: `feed(bytes) -> list[record]`, bad lines counted in `bad`."""

    def __init__(self) -> None:
        self._partial = b""
        self.bad: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()
        """Well-formed lines that are not messages (SEL, ID, AIR, STA, CLK)."""
        self.frames = 0

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Records of the complete lines in `data` (the text after the last newline waits)."""
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_PARTIAL_SBS_CHARS:
            self.bad["sbs_junk"] += 1
            self._partial = b""
        out: list[dict[str, Any]] = []
        for raw in lines:
            rec = self._line(raw.strip())
            if rec is not None:
                out.append(rec)
        self.frames += len(out)
        return out

    def finish(self) -> list[dict[str, Any]]:
        """End of stream: a last line without a newline is parsed too."""
        partial, self._partial = self._partial, b""
        rec = self._line(partial.strip())
        return [] if rec is None else [rec]

    def _line(self, raw: bytes) -> dict[str, Any] | None:
        if not raw:
            return None
        try:
            line = raw.decode("ascii")
        except UnicodeDecodeError:
            self.bad["sbs_bad_text"] += 1
            return None
        if not line.startswith("MSG,"):
            head = line.split(",", 1)[0]
            if head in ("SEL", "ID", "AIR", "STA", "CLK"):
                self.skipped["sbs_other"] += 1
            else:
                self.bad["sbs_bad_kind"] += 1
            return None
        try:
            return parse_sbs_line(line)
        except KeyError as exc:
            self.bad[str(exc.args[0])] += 1
        except (ValueError, IndexError, OverflowError):
            self.bad["sbs_bad_number"] += 1
        return None
