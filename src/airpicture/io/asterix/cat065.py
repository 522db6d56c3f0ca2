"""CAT065 SDPS service status: end of batch after each update cycle, and the SDPS status.

I065/000 message type, 010 (SAC/SIC), 015 (service id), 030 (time of message), 020 (batch
number: one batch per cycle, so 0), 040 (SDPS configuration and status) and 050 (service
status report).  Built by libasterix, like CAT063.
"""

from __future__ import annotations

import enum
from collections import Counter
from typing import Any

from airpicture.io.asterix.blocks import Block
from airpicture.io.asterix.cat063 import time_of_day
from airpicture.io.asterix.layout import spec_class
from airpicture.io.asterix.libx import parse_block, record_value

EDITION = "1.5"
"""The edition written: tshark 4.0's default for CAT065 (libasterix has 1.4 to 1.6)."""


class MessageType(enum.IntEnum):
    """I065/000."""

    SDPS_STATUS = 1
    END_OF_BATCH = 2
    SERVICE_STATUS_REPORT = 3


class SdpsNogo(enum.IntEnum):
    """I065/040 NOGO."""

    OPERATIONAL = 0
    DEGRADED = 1
    NOT_CONNECTED = 2
    UNKNOWN = 3


class ServiceReport(enum.IntEnum):
    """I065/050 values airpicture sends."""

    DEGRADATION = 1
    DEGRADATION_ENDED = 2


def _items(mtype: MessageType, sac: int, sic: int, service_id: int, t_utc_s: float
           ) -> dict[str, Any]:
    return {"010": (("SAC", sac & 0xFF), ("SIC", sic & 0xFF)), "000": int(mtype),
            "015": service_id & 0xFF, "030": (time_of_day(t_utc_s), "s")}


def _block(items: dict[str, Any], edition: str) -> bytes:
    cls = spec_class(65, edition)
    return bytes(cls.create([cls.cv_record.create(items)]).unparse().to_bytes())


def end_of_batch(sac: int, sic: int, service_id: int, t_utc_s: float, batch: int = 0,
                 edition: str = EDITION) -> bytes:
    """A block with one end-of-batch record: the cycle's tracks are all sent."""
    items = _items(MessageType.END_OF_BATCH, sac, sic, service_id, t_utc_s)
    items["020"] = batch & 0xFF
    return _block(items, edition)


def sdps_status(sac: int, sic: int, service_id: int, t_utc_s: float, nogo: SdpsNogo,
                overload: bool = False, edition: str = EDITION) -> bytes:
    """A block with one SDPS status record (I065/040: NOGO, OVL; TSV, PSS, STTN 0)."""
    items = _items(MessageType.SDPS_STATUS, sac, sic, service_id, t_utc_s)
    items["040"] = (("NOGO", int(nogo)), ("OVL", int(overload)), ("TSV", 0), ("PSS", 0),
                    ("STTN", 0), 0)
    return _block(items, edition)


def service_status_report(sac: int, sic: int, service_id: int, t_utc_s: float,
                          report: ServiceReport, edition: str = EDITION) -> bytes:
    """A block with one service status report (I065/050)."""
    items = _items(MessageType.SERVICE_STATUS_REPORT, sac, sic, service_id, t_utc_s)
    items["050"] = int(report)
    return _block(items, edition)


def decode_block(block: Block, edition: str = EDITION,
                 counts: Counter[str] | None = None) -> list[dict[str, Any]]:
    """A CAT065 block's records as {item: value} (libasterix; [] when it does not parse)."""
    recs = parse_block(block, edition, Counter() if counts is None else counts)
    return [record_value(r) for r in recs or []]
