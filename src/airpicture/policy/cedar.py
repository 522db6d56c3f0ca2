"""Release decisions by Cedar: the schema, the shipped default policies, the entities built
from a policy file, and every (consumer, sensor) and (consumer, identity fields) question
answered once per policy load with Cedar's batch API, never per track.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy

from airpicture.core.errors import UserError
from airpicture.policy.model import PolicyFile

SCHEMA = """
entity Organisation;
entity Consumer in [Organisation] = {
  organisation: Organisation,
  clearance_level: Long,
  categories: Set<String>,
  roles: Set<String>,
};
entity Sensor = {
  owner: Organisation,
  policy_identifier: String,
  classification_level: Long,
  categories: Set<String>,
  releasable_to: Set<Organisation>,
};
entity IdentityFields;
action see appliesTo { principal: Consumer, resource: Sensor };
action see_identity appliesTo { principal: Consumer, resource: IdentityFields };
"""
"""Consumers (members of their organisation) see sensors and identity field groups.
Classifications are ranks (0 = lowest) of the policy file's ordered list."""

DEFAULT_POLICIES = """
@id("label-dominance")
permit (principal, action == Action::"see", resource)
when {
  principal.clearance_level >= resource.classification_level &&
  principal.categories.containsAll(resource.categories) &&
  (principal.organisation == resource.owner ||
   resource.releasable_to.contains(principal.organisation))
};

@id("identity-fields")
permit (principal, action == Action::"see_identity", resource == IdentityFields::"all");

@id("identity-of-privacy-listed-aircraft")
permit (principal, action == Action::"see_identity",
        resource == IdentityFields::"privacy-listed")
when { principal.roles.contains("privacy") };
"""
"""Sensors by classification dominance, restrictive categories and releasable-to (or owner);
identity fields (callsign, address, squawk, registration) to everyone; identity of
privacy-listed aircraft only to consumers holding the role "privacy"."""

IDENTITY_ALL = "all"
IDENTITY_PRIVACY = "privacy-listed"
IDENTITY_GROUPS = (IDENTITY_ALL, IDENTITY_PRIVACY)


def _uid(kind: str, ident: str | int) -> dict[str, str]:
    return {"type": kind, "id": str(ident)}


def _ref(kind: str, ident: str) -> dict[str, dict[str, str]]:
    return {"__entity": _uid(kind, ident)}


def entities(policy: PolicyFile) -> list[dict[str, Any]]:
    """The Cedar entities of a policy file: organisations, consumers, sensors, field groups."""
    out: list[dict[str, Any]] = [
        {"uid": _uid("Organisation", org), "attrs": {}, "parents": []}
        for org in policy.organisations]
    for name, c in policy.consumers.items():
        out.append({"uid": _uid("Consumer", name), "parents": [_uid("Organisation",
                                                                      c.organisation)],
                    "attrs": {"organisation": _ref("Organisation", c.organisation),
                              "clearance_level": policy.level(c.clearance.classification),
                              "categories": sorted(c.clearance.categories),
                              "roles": sorted(c.clearance.roles)}})
    for sid, s in policy.sensors.items():
        out.append({"uid": _uid("Sensor", sid), "parents": [],
                    "attrs": {"owner": _ref("Organisation", s.organisation),
                              "policy_identifier": s.label.policy_identifier,
                              "classification_level": policy.level(s.label.classification),
                              "categories": sorted(s.label.categories),
                              "releasable_to": [_ref("Organisation", o)
                                                for o in sorted(s.label.releasable_to)]}})
    out.extend({"uid": _uid("IdentityFields", g), "attrs": {}, "parents": []}
               for g in IDENTITY_GROUPS)
    return out


def policy_text(policy: PolicyFile, base_dir: Path) -> str:
    """All Cedar policies of a policy file: the defaults (unless off), the file, the inline
    text; validated against the schema (errors become one UserError line)."""
    parts = [DEFAULT_POLICIES] if policy.cedar.include_default else []
    if policy.cedar.file:
        path = base_dir / policy.cedar.file
        if not path.is_file():
            raise UserError(path, "Cedar policy file not found")
        parts.append(path.read_text())
    parts.append(policy.cedar.policies)
    text = "\n".join(parts)
    result = cedarpy.validate_policies(text, SCHEMA)
    if not result.validation_passed:
        problems = "; ".join(" ".join(str(e).split()) for e in result.errors)
        raise UserError(base_dir / (policy.cedar.file or "cedar.policies"),
                        f"Cedar policies do not validate: {problems}")
    return text


@dataclass(frozen=True)
class Decision:
    """One Cedar answer: allowed or not, and by which policies (their @id, else Cedar's id)."""

    allowed: bool
    reasons: tuple[str, ...]
    errors: tuple[str, ...]


@dataclass(frozen=True)
class Decisions:
    """Every answer of one policy load: per consumer, the sensors it may see and whether it
    may see identity fields (of all aircraft, of privacy-listed ones)."""

    sensors: dict[str, dict[int, Decision]]
    identity: dict[str, dict[str, Decision]]

    def cleared_sensors(self, consumer: str) -> tuple[int, ...]:
        """Sensor ids `consumer` may see, ascending."""
        return tuple(sorted(s for s, d in self.sensors[consumer].items() if d.allowed))


def _request(action: str, principal: str, resource: dict[str, str]) -> dict[str, Any]:
    return {"principal": _uid("Consumer", principal), "action": _uid("Action", action),
            "resource": resource, "context": {}}


def decide(policy: PolicyFile, text: str) -> Decisions:
    """Ask Cedar every question of this policy in one batch."""
    try:
        ents = cedarpy.Entities.from_json_str(json.dumps(entities(policy)), SCHEMA)
    except ValueError as exc:
        raise UserError(None, f"policy entities do not match the Cedar schema: {exc}") from None
    keys: list[tuple[str, str, str | int]] = []
    requests = []
    for name in policy.consumers:
        for sid in policy.sensors:
            keys.append(("see", name, sid))
            requests.append(_request("see", name, _uid("Sensor", sid)))
        for group in IDENTITY_GROUPS:
            keys.append(("see_identity", name, group))
            requests.append(_request("see_identity", name, _uid("IdentityFields", group)))
    results = cedarpy.is_authorized_batch(requests, text, ents, SCHEMA) if requests else []
    sensors: dict[str, dict[int, Decision]] = {n: {} for n in policy.consumers}
    identity: dict[str, dict[str, Decision]] = {n: {} for n in policy.consumers}
    for (action, name, resource), res in zip(keys, results, strict=True):
        named = res.diagnostics.id_annotations_by_reason
        decision = Decision(res.allowed,
                            tuple(named.get(r) or r for r in res.diagnostics.reasons),
                            tuple(str(e) for e in res.diagnostics.errors))
        if action == "see":
            sensors[name][int(resource)] = decision
        else:
            identity[name][str(resource)] = decision
    return Decisions(sensors=sensors, identity=identity)
