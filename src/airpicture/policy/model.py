"""The policy file: organisations, labelled sensors, consumers with clearances, Cedar policies
and a privacy list, in one validated model (TOML or YAML, unknown keys rejected).

Labels are shaped like NATO STANAG 4774 confidentiality labels: a policy identifier, a
classification from an ordered list, restrictive categories (the consumer must hold every one)
and a "releasable to" category (organisations).  What a consumer may see is decided by Cedar
(airpicture.policy.cedar) from these facts; this module only reads and checks them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from airpicture.core.configfile import read_mapping_file, validate_model

DEFAULT_CLASSIFICATIONS = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET", "TOP SECRET")
"""NATO classifications, lowest first: a clearance dominates every level at or below it."""



class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    """A STANAG 4774-shaped confidentiality label, carried by a sensor and inherited by its
    plots."""

    policy_identifier: str = "NATO"
    classification: str = "UNCLASSIFIED"
    categories: list[str] = Field(default_factory=list)
    """Restrictive categories: a consumer must hold every one of them."""
    releasable_to: list[str] = Field(default_factory=list)
    """Organisations (besides the owner) the data may be released to."""


class Clearance(_Strict):
    """What a consumer holds: a classification, categories and roles (e.g. "privacy")."""

    classification: str = "UNCLASSIFIED"
    categories: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)


class Polygon(_Strict):
    """A GeoJSON Polygon: rings of [lon, lat] positions, the first ring the outer boundary."""

    type: Literal["Polygon"]
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1)

    @model_validator(mode="after")
    def _rings_closed(self) -> Polygon:
        for ring in self.coordinates:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValueError("each ring needs at least 4 positions, the last equal to the "
                                 "first")
            for lon, lat in ring:
                if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
                    raise ValueError(f"position [{lon}, {lat}] is not [lon, lat] in degrees")
        return self


class Organisation(_Strict):
    """A partner organisation (nation, agency, company)."""

    name: str = ""


class SensorEntry(_Strict):
    """One scenario sensor (by its id): its owner and its label."""

    organisation: str
    label: Label = Field(default_factory=Label)


class ConsumerEntry(_Strict):
    """A receiver of outputs: a user, a service account or a downstream feed."""

    organisation: str
    clearance: Clearance = Field(default_factory=Clearance)
    area: Polygon | None = None
    """Area of responsibility: tracks outside it are withheld; None: everywhere."""


class CedarSection(_Strict):
    """Cedar policies: inline text and/or a file; the shipped default policies unless off."""

    policies: str = ""
    file: str = ""
    include_default: bool = True


class PrivacySection(_Strict):
    """A LADD/PIA-like list: a text file of 24-bit addresses (hex) and callsigns, one a line."""

    file: str = ""


class PolicyHeader(_Strict):
    """Facts of the whole policy."""

    name: str = ""
    classifications: list[str] = Field(default_factory=lambda: list(DEFAULT_CLASSIFICATIONS),
                                       min_length=1)


class PolicyFile(_Strict):
    """The whole release policy of an airpicture instance."""

    policy: PolicyHeader = Field(default_factory=PolicyHeader)
    organisations: dict[str, Organisation] = Field(min_length=1)
    sensors: dict[int, SensorEntry] = Field(default_factory=dict)
    consumers: dict[str, ConsumerEntry] = Field(min_length=1)
    cedar: CedarSection = Field(default_factory=CedarSection)
    privacy: PrivacySection = Field(default_factory=PrivacySection)

    @model_validator(mode="after")
    def _references(self) -> PolicyFile:
        orgs = set(self.organisations)
        levels = set(self.policy.classifications)
        if len(levels) != len(self.policy.classifications):
            raise ValueError("policy.classifications: names repeat")
        for sid, sensor in self.sensors.items():
            if sensor.organisation not in orgs:
                raise ValueError(f"sensors.{sid}: unknown organisation {sensor.organisation!r}")
            unknown = sorted(set(sensor.label.releasable_to) - orgs)
            if unknown:
                raise ValueError(f"sensors.{sid}.label.releasable_to: unknown organisations "
                                 f"{unknown}")
            if sensor.label.classification not in levels:
                raise ValueError(f"sensors.{sid}.label.classification: "
                                 f"{sensor.label.classification!r} is not one of "
                                 f"{self.policy.classifications}")
        for name, consumer in self.consumers.items():
            if consumer.organisation not in orgs:
                raise ValueError(f"consumers.{name}: unknown organisation "
                                 f"{consumer.organisation!r}")
            if consumer.clearance.classification not in levels:
                raise ValueError(f"consumers.{name}.clearance.classification: "
                                 f"{consumer.clearance.classification!r} is not one of "
                                 f"{self.policy.classifications}")
        return self

    def level(self, classification: str) -> int:
        """The rank of a classification (0 = lowest)."""
        return self.policy.classifications.index(classification)


def validate_policy(data: Any, where: str | Path) -> PolicyFile:
    """Validate parsed policy data; the first problem becomes a one-line UserError."""
    return validate_model(PolicyFile, data, where)


def read_policy_data(path: str | Path) -> dict[str, Any]:
    """The parsed content of a policy file: YAML by its suffix (.yaml, .yml), else TOML."""
    return read_mapping_file(path, "policy file")


def load_policy_file(path: str | Path) -> PolicyFile:
    """Read and validate a policy file (its Cedar text and privacy list are read later)."""
    return validate_policy(read_policy_data(path), path)
