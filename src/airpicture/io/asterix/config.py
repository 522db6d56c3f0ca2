"""Where each ASTERIX source is and how to read it: radar sites and editions by SAC/SIC.

A JSON file (see docs/asterix.md) or a scenario's sensors give the configuration: SAC/SIC
of each radar with its site (lat, lon, height) and accuracy, the sensor ids its plots get,
ADS-B ground stations, and the edition per category, overridable per source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airpicture.core.errors import UserError
from airpicture.core.geo import LocalFrame
from airpicture.io.asterix.layout import editions

DEFAULT_EDITIONS: dict[int, str] = {48: "1.32", 34: "1.29", 21: "2.6", 62: "1.21"}
"""The edition read (and written) per category unless a source says otherwise."""

ASSUMED_HEIGHT_M = 3000.0
"""Height assumed for a radar plot without flight level (primary only): slant to ground range."""

DEFAULT_SAC = 0
"""SAC used for a scenario's sensors; each sensor's SIC is its id (1..255)."""


@dataclass(frozen=True)
class RadarSite:
    """A radar by SAC/SIC: its site and accuracy, and the sensor ids its plots get."""

    sac: int
    sic: int
    lat_deg: float
    lon_deg: float
    height_m: float = 0.0
    psr_sensor_id: int = 0
    ssr_sensor_id: int = 0
    sigma_range_m: float = 70.0
    sigma_azimuth_deg: float = 0.07
    name: str = ""


@dataclass(frozen=True)
class AdsbSource:
    """An ADS-B ground station (CAT021) by SAC/SIC and the sensor id of its plots."""

    sac: int
    sic: int
    sensor_id: int
    sigma_m: float = 30.0


@dataclass
class AsterixConfig:
    """Everything the decoders need to turn records into plots in the local frame."""

    frame: LocalFrame
    radars: dict[tuple[int, int], RadarSite] = field(default_factory=dict)
    adsb: dict[tuple[int, int], AdsbSource] = field(default_factory=dict)
    editions: dict[int, str] = field(default_factory=lambda: dict(DEFAULT_EDITIONS))
    source_editions: dict[tuple[int, int, int], str] = field(default_factory=dict)
    """(category, sac, sic) -> edition, overriding `editions` for that source."""
    t0_utc_s: float = 0.0
    """UTC (seconds since the epoch) of t = 0 of the plots made; ToD resolves near it."""
    assumed_height_m: float = ASSUMED_HEIGHT_M

    def edition(self, category: int, source: tuple[int, int] | None) -> str:
        """The edition to read `category` from `source` (SAC, SIC) with."""
        if source is not None:
            ed = self.source_editions.get((category, *source))
            if ed is not None:
                return ed
        return self.editions.get(category, DEFAULT_EDITIONS.get(category, ""))

    @classmethod
    def from_scenario(
        cls, meta: Any, t0_utc_s: float = 0.0, sac: int = DEFAULT_SAC
    ) -> AsterixConfig:
        """Sources for a scenario's sensors: SAC `sac`, SIC = sensor id (radars at their x, y)."""
        frame: LocalFrame = meta.frame
        cfg = cls(frame=frame, t0_utc_s=t0_utc_s)
        for s in meta.sensors:
            if s.kind in ("psr", "ssr"):
                lat, lon = frame.ground_to_geodetic(s.x, s.y)
                cfg.radars[(sac, s.id)] = RadarSite(
                    sac=sac, sic=s.id, lat_deg=float(lat), lon_deg=float(lon),
                    height_m=float(s.extra.get("height_m", 0.0)), psr_sensor_id=s.id,
                    ssr_sensor_id=s.id, sigma_range_m=s.sigma_range_m or 70.0,
                    sigma_azimuth_deg=s.sigma_azimuth_deg or 0.07, name=s.name,
                )
            elif s.kind == "adsb":
                cfg.adsb[(sac, s.id)] = AdsbSource(sac, s.id, s.id, s.sigma_m or 30.0)
        return cfg

    @classmethod
    def from_json(cls, path: str | Path) -> AsterixConfig:
        """Read a configuration file (format in docs/asterix.md); errors name the file."""
        p = Path(path)
        try:
            obj = json.loads(p.read_text())
        except FileNotFoundError:
            raise UserError(p, "no such file") from None
        except (OSError, ValueError) as exc:
            raise UserError(p, f"not valid JSON: {exc}") from None
        return cls.from_dict(obj, str(p))

    @classmethod
    def from_dict(cls, obj: Any, where: str = "asterix config") -> AsterixConfig:
        """Build from the parsed JSON object."""
        if not isinstance(obj, dict):
            raise UserError(where, "expected a JSON object")
        try:
            origin = obj.get("origin") or {}
            radars = [_radar(r) for r in obj.get("radars", [])]
            lat0 = float(origin.get("lat", radars[0].lat_deg if radars else 0.0))
            lon0 = float(origin.get("lon", radars[0].lon_deg if radars else 0.0))
            cfg = cls(frame=LocalFrame(lat0, lon0), t0_utc_s=float(obj.get("t0_utc_s", 0.0)),
                      assumed_height_m=float(obj.get("assumed_height_m", ASSUMED_HEIGHT_M)))
            for cat, ed in (obj.get("editions") or {}).items():
                cfg.editions[int(cat)] = str(ed)
            for r, raw in zip(radars, obj.get("radars", []), strict=True):
                cfg.radars[(r.sac, r.sic)] = r
                for cat, ed in (raw.get("editions") or {}).items():
                    cfg.source_editions[(int(cat), r.sac, r.sic)] = str(ed)
            for a in obj.get("adsb", []):
                src = AdsbSource(int(a["sac"]), int(a["sic"]), int(a.get("sensor_id", 0)),
                                 float(a.get("sigma_m", 30.0)))
                cfg.adsb[(src.sac, src.sic)] = src
                for cat, ed in (a.get("editions") or {}).items():
                    cfg.source_editions[(int(cat), src.sac, src.sic)] = str(ed)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserError(where, f"bad ASTERIX configuration: {exc!r}") from None
        for (cat, *_), ed in [*((k, v) for k, v in cfg.source_editions.items()),
                              *(((c,), e) for c, e in cfg.editions.items())]:
            if ed not in editions(cat):
                raise UserError(where, f"CAT{cat:03d} edition {ed} unknown; have {editions(cat)}")
        return cfg


def _radar(r: dict[str, Any]) -> RadarSite:
    """One radar entry of the JSON configuration."""
    return RadarSite(
        sac=int(r["sac"]), sic=int(r["sic"]), lat_deg=float(r["lat"]), lon_deg=float(r["lon"]),
        height_m=float(r.get("height_m", 0.0)),
        psr_sensor_id=int(r.get("psr_sensor_id", r.get("sensor_id", 0))),
        ssr_sensor_id=int(r.get("ssr_sensor_id", r.get("sensor_id", 0))),
        sigma_range_m=float(r.get("sigma_range_m", 70.0)),
        sigma_azimuth_deg=float(r.get("sigma_azimuth_deg", 0.07)), name=str(r.get("name", "")),
    )
