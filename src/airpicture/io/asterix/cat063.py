"""CAT063 sensor status reports: how the SDPS sees each of its input sensors.

One record per sensor: I063/010 (the SDPS's SAC/SIC), 015 (service id), 030 (time of message),
050 (the sensor's SAC/SIC) and 060 (configuration and status: CON, the per-technology GO/NOGO
bits and the no-plot warning).  Records are built by libasterix (a few per second, no need for
the numpy path of CAT062).  Editions 1.6 and 1.7 have no item for a measured scan period; the
registration biases (070-092) are left out until the integrity work estimates them.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from typing import Any

from airpicture.io.asterix.blocks import Block
from airpicture.io.asterix.layout import spec_class
from airpicture.io.asterix.libx import parse_block, record_value

EDITION = "1.6"
"""The edition written: tshark 4.0's default for CAT063 (libasterix has 1.6 and 1.7)."""

TOD_LSB_S = 1 / 128
DAY_S = 86400.0


class SensorCon(enum.IntEnum):
    """I063/060 CON: the sensor's state as the SDPS derives it."""

    OPERATIONAL = 0
    DEGRADED = 1
    INITIALIZATION = 2
    NOT_CONNECTED = 3


@dataclass(frozen=True)
class SensorReport:
    """One sensor's status: its SAC/SIC, CON and which technologies are NOGO."""

    sac: int
    sic: int
    con: SensorCon
    psr_nogo: bool = False
    ssr_nogo: bool = False
    mds_nogo: bool = False
    ads_nogo: bool = False
    mlt_nogo: bool = False
    no_plots: bool = False
    """I063/060 NPW: no plots are being received."""


def time_of_day(t_utc_s: float) -> float:
    """UTC seconds (since the epoch, or of the day) to the 1/128 s time of day of I0xx/030."""
    return float(round((t_utc_s % DAY_S) / TOD_LSB_S) * TOD_LSB_S % DAY_S)


def record(report: SensorReport, sdps_sac: int, sdps_sic: int, service_id: int,
           t_utc_s: float, edition: str = EDITION) -> Any:
    """One CAT063 record (a libasterix record) for one sensor."""
    r = report
    octet1 = (int(r.con) << 5 | r.psr_nogo << 4 | r.ssr_nogo << 3 | r.mds_nogo << 2
              | r.ads_nogo << 1 | int(r.mlt_nogo))
    octet2 = int(r.no_plots) << 1  # OPS ODP OXT MSC TSV 0; NPW; spare
    return spec_class(63, edition).cv_record.create({
        "010": (("SAC", sdps_sac & 0xFF), ("SIC", sdps_sic & 0xFF)),
        "015": service_id & 0xFF,
        "030": (time_of_day(t_utc_s), "s"),
        "050": (("SAC", r.sac & 0xFF), ("SIC", r.sic & 0xFF)),
        "060": (octet1, octet2),
    })


def encode_block(reports: list[SensorReport], sdps_sac: int, sdps_sic: int, service_id: int,
                 t_utc_s: float, edition: str = EDITION) -> bytes:
    """A CAT063 data block with one record per report (b'' when there are none)."""
    if not reports:
        return b""
    cls = spec_class(63, edition)
    recs = [record(r, sdps_sac, sdps_sic, service_id, t_utc_s, edition) for r in reports]
    return bytes(cls.create(recs).unparse().to_bytes())


def decode_block(block: Block, edition: str = EDITION,
                 counts: Counter[str] | None = None) -> list[dict[str, Any]]:
    """A CAT063 block's records as {item: value} (libasterix; [] when it does not parse)."""
    recs = parse_block(block, edition, Counter() if counts is None else counts)
    return [record_value(r) for r in recs or []]
