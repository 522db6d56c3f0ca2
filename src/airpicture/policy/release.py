"""A loaded release policy: Cedar's decisions turned into, per consumer, the sensors it may
see, its identity rights and area; consumers with equal sensor sets grouped in release
classes (one picture each).  Built once per policy load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely

from airpicture.policy.cedar import IDENTITY_ALL, IDENTITY_PRIVACY, Decisions, decide, policy_text
from airpicture.policy.model import Label, PolicyFile, load_policy_file
from airpicture.policy.privacy import PrivacyList


@dataclass(frozen=True)
class ConsumerRelease:
    """What one consumer gets: its class's picture, identity fields or not, inside its area."""

    name: str
    organisation: str
    class_id: str
    sensors: tuple[int, ...]
    identity: bool
    privacy_identity: bool
    area: dict[str, Any] | None
    area_shape: shapely.Polygon | None


@dataclass(frozen=True)
class ReleaseClass:
    """Consumers cleared for the same sensors: one tracker, one picture."""

    id: str
    sensors: tuple[int, ...]
    consumers: tuple[str, ...]
    label: Label
    """The combined label of the class's data (highest classification, every category,
    releasable to the organisations every sensor is releasable to)."""


def class_id(sensors: tuple[int, ...]) -> str:
    """Deterministic id of the class seeing exactly these sensors."""
    return "sensors-" + "-".join(str(s) for s in sensors) if sensors else "no-sensors"


def combined_label(policy: PolicyFile, sensors: tuple[int, ...]) -> Label:
    """The label of data fused from these sensors (STANAG 4774 high-water mark)."""
    entries = [policy.sensors[s] for s in sensors]
    if not entries:
        return Label(classification=policy.policy.classifications[0])
    idents = sorted({e.label.policy_identifier for e in entries})
    level = max(policy.level(e.label.classification) for e in entries)
    categories = sorted({c for e in entries for c in e.label.categories})
    releasable = set.intersection(*({*e.label.releasable_to, e.organisation} for e in entries))
    return Label(policy_identifier="+".join(idents),
                 classification=policy.policy.classifications[level],
                 categories=categories, releasable_to=sorted(releasable))


@dataclass(frozen=True)
class LoadedPolicy:
    """A validated policy file with every decision taken: what each consumer gets."""

    file: PolicyFile
    path: Path
    cedar_text: str
    decisions: Decisions
    consumers: dict[str, ConsumerRelease]
    classes: tuple[ReleaseClass, ...]
    privacy: PrivacyList

    def consumer(self, name: str) -> ConsumerRelease | None:
        return self.consumers.get(name)

    def release_class(self, ident: str) -> ReleaseClass:
        return next(c for c in self.classes if c.id == ident)


def build_release(file: PolicyFile, path: Path, text: str, privacy: PrivacyList) -> LoadedPolicy:
    """Decide everything for a validated policy file (Cedar batch), group classes."""
    decisions = decide(file, text)
    consumers: dict[str, ConsumerRelease] = {}
    for name, entry in file.consumers.items():
        sensors = decisions.cleared_sensors(name)
        area = entry.area.model_dump() if entry.area is not None else None
        shape = None
        if area is not None:
            shape = shapely.Polygon(area["coordinates"][0], area["coordinates"][1:])
            shapely.prepare(shape)
        consumers[name] = ConsumerRelease(
            name=name, organisation=entry.organisation, class_id=class_id(sensors),
            sensors=sensors, identity=decisions.identity[name][IDENTITY_ALL].allowed,
            privacy_identity=decisions.identity[name][IDENTITY_PRIVACY].allowed,
            area=area, area_shape=shape)
    by_sensors: dict[tuple[int, ...], list[str]] = {}
    for c in consumers.values():
        by_sensors.setdefault(c.sensors, []).append(c.name)
    classes = tuple(ReleaseClass(class_id(s), s, tuple(sorted(names)), combined_label(file, s))
                    for s, names in sorted(by_sensors.items()))
    return LoadedPolicy(file, path, text, decisions, consumers, classes, privacy)


def load_policy(path: str | Path) -> LoadedPolicy:
    """Read, validate and decide a policy file (UserError, one line, on any problem)."""
    p = Path(path)
    file = load_policy_file(p)
    text = policy_text(file, p.parent)
    privacy = PrivacyList.load(p.parent / file.privacy.file if file.privacy.file else None)
    return build_release(file, p, text, privacy)
