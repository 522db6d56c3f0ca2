"""Sensor descriptions as scenario.json carries them, shared by the simulator and the tracker."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from airpicture.core.errors import UserError
from airpicture.core.schema import SENSOR_KINDS

IDENTITY_KINDS = frozenset({"ssr", "adsb", "mlat"})
"""Sensor kinds whose plots carry the aircraft's 24-bit address."""

ROTATING_KINDS = frozenset({"psr", "ssr"})
"""Sensor kinds with a rotating antenna: plot time is the beam crossing time."""


@dataclass
class Sensor:
    """One sensor of a scenario. Fields a kind does not use keep their defaults.

    Unknown keys from scenario.json are kept in `extra` and written back unchanged.
    """

    id: int
    kind: str
    x: float = 0.0
    y: float = 0.0
    period_s: float = 4.0
    pd: float = 1.0
    clutter_per_scan: float = 0.0
    sigma_range_m: float = 0.0
    sigma_azimuth_deg: float = 0.0
    max_range_m: float = float("inf")
    sigma_m: float = 0.0
    nacp: int | None = None
    latency_s: float = 0.0
    equipage: float = 1.0
    range_bias_m: float = 0.0
    range_gain: float = 1.0
    azimuth_bias_deg: float = 0.0
    time_bias_s: float = 0.0
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_identity(self) -> bool:
        return self.kind in IDENTITY_KINDS

    @property
    def rotating(self) -> bool:
        return self.kind in ROTATING_KINDS

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str = "scenario.json") -> Sensor:
        if not isinstance(obj, dict):
            raise UserError(where, f"a sensor must be an object, got {type(obj).__name__}")
        if "id" not in obj or "kind" not in obj:
            raise UserError(where, f"sensor {obj!r} needs 'id' and 'kind'")
        if obj["kind"] not in SENSOR_KINDS:
            raise UserError(
                where, f"sensor {obj['id']}: unknown kind {obj['kind']!r}, expected {SENSOR_KINDS}"
            )
        known = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in obj.items():
            if key not in known:
                extra[key] = value
                continue
            try:
                if key in ("id",):
                    if isinstance(value, bool) or int(value) != value:
                        raise ValueError
                    kwargs[key] = int(value)
                elif key in ("kind", "name"):
                    kwargs[key] = str(value)
                elif key == "nacp":
                    kwargs[key] = None if value is None else int(value)
                elif key == "max_range_m" and value is None:
                    kwargs[key] = float("inf")  # to_json writes an unlimited range as null
                else:
                    if isinstance(value, bool) or value is None:
                        raise ValueError
                    kwargs[key] = float(value)
            except (TypeError, ValueError):
                raise UserError(
                    where, f"sensor {obj.get('id')}: {key!r} has a bad value {value!r}"
                ) from None
        return cls(**kwargs, extra=extra)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind}
        defaults = Sensor(id=0, kind="psr")
        for f in dataclasses.fields(self):
            if f.name in ("id", "kind", "extra"):
                continue
            value = getattr(self, f.name)
            if value != getattr(defaults, f.name) or f.name in _ALWAYS_WRITTEN.get(self.kind, ()):
                out[f.name] = None if value == float("inf") else value
        out.update(self.extra)
        return out


_ALWAYS_WRITTEN: dict[str, tuple[str, ...]] = {
    "psr": ("x", "y", "period_s", "pd", "clutter_per_scan", "sigma_range_m",
            "sigma_azimuth_deg", "max_range_m"),
    "ssr": ("x", "y", "period_s", "pd", "sigma_range_m", "sigma_azimuth_deg", "max_range_m"),
    "adsb": ("period_s", "pd", "sigma_m"),
    "mlat": ("period_s", "pd", "sigma_m"),
}
