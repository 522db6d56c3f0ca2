"""The service's release policy: one tracker per release class behind the sources' runtime
factory (`ClassRuntime`), so a source stays policy-unaware, and the per-consumer gates of
sensor lists, feeds, health and metrics (who may know of which sensor).

A source gets a `ClassRuntime` from `class_factory` as it would get any TrackerRuntime; it
feeds all plots in, and `picture()` is the operator's picture.  The pipeline asks
`picture_for(consumer)` for every other consumer's class picture.  `advance_to` also rereads
the policy file when it changed (`PolicyReloader`): classes are rebuilt, a new class starts a
fresh tracker, an unchanged class keeps its own.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.scenario import ScenarioMeta
from airpicture.policy.classes import ClassTrackers
from airpicture.policy.egress import LOCAL, Consumer, Egress
from airpicture.policy.masks import OPERATOR, LabelPolicy, release_for
from airpicture.policy.reload import PolicyReloader
from airpicture.tracker.runtime import TrackerRuntime

RuntimeFactory = Callable[[ScenarioMeta], TrackerRuntime]
ADMIN_ROLE = "admin"
"""A consumer with this role (and the operator) sees health and metrics of every sensor."""


def class_meta(meta: ScenarioMeta, sensors: tuple[int, ...]) -> ScenarioMeta:
    """The scenario as a class cleared for `sensors` knows it: those sensors only."""
    kept = [s for s in meta.sensors if s.id in sensors]
    return dataclasses.replace(meta, sensors=kept, extra=dict(meta.extra))


class ClassRuntime:
    """A TrackerRuntime made of one tracker per release class (`ClassTrackers`): `picture()`
    is the operator's class, `picture_for(consumer)` any consumer's class."""

    def __init__(self, meta: ScenarioMeta, policy: LabelPolicy, factory: RuntimeFactory,
                 reloader: PolicyReloader | None = None) -> None:
        self.meta = meta
        self.policy = policy
        self.factory = factory
        self.reloader = reloader
        self.sensor_ids = sorted(s.id for s in meta.sensors)
        self.rebuilds = 0
        self._t_s = float("nan")
        self._cache: dict[tuple[str, float | None], TrackTable] = {}
        self.trackers = self._build({})

    def class_of(self, name: str) -> str | None:
        """The release class of consumer `name` under the current policy (None: unknown)."""
        release = release_for(self.policy.loaded, self.sensor_ids, name)
        return release.class_id if release is not None else None

    def _classes(self) -> dict[str, tuple[int, ...]]:
        known = set(self.sensor_ids)
        names = [*self.policy.loaded.consumers, OPERATOR]
        out: dict[str, tuple[int, ...]] = {}
        for name in names:
            release = release_for(self.policy.loaded, self.sensor_ids, name)
            if release is not None:
                out[release.class_id] = tuple(s for s in release.sensors if s in known)
        return out

    def _build(self, old: dict[str, TrackerRuntime]) -> ClassTrackers:
        classes = self._classes()
        ids = {sensors: cid for cid, sensors in classes.items()}

        def make(sensors: tuple[int, ...]) -> TrackerRuntime:
            kept = old.get(ids[sensors])  # a class id names its sensor set: same tracker
            return kept if kept is not None else self.factory(class_meta(self.meta, sensors))

        return ClassTrackers(classes, self.sensor_ids, make)

    def reload(self) -> bool:
        """Reread the policy if its files changed; True when new classes took effect."""
        if self.reloader is None or not self.reloader.check():
            return False
        self.trackers = self._build(self.trackers.runtimes)
        self._cache.clear()
        self.rebuilds += 1
        return True

    @property
    def operator_class(self) -> str:
        cid = self.class_of(OPERATOR)
        assert cid is not None  # release_for always knows the operator
        return cid

    # TrackerRuntime: the input goes to every class, the picture is the operator's.
    def ingest(self, plots: PlotBatch) -> None:
        self.trackers.ingest(plots)

    def advance_to(self, t_s: float) -> None:
        self.reload()
        self.trackers.advance_to(t_s)
        self._cache.clear()

    def picture(self, t_s: float | None = None) -> TrackTable:
        return self.class_picture(self.operator_class, t_s)

    def class_picture(self, class_id: str, t_s: float | None = None) -> TrackTable:
        """The picture of one class (sensor columns over every sensor), once per tick."""
        key = (class_id, t_s)
        if key not in self._cache:
            self._cache[key] = self.trackers.picture(class_id, t_s)
        return self._cache[key]

    def picture_for(self, consumer: Consumer, t_s: float | None = None) -> TrackTable:
        """The picture of `consumer`'s class; an unknown consumer's is empty."""
        cid = self.class_of(consumer.name)
        if cid is None:
            return TrackTable.empty(self.sensor_ids)
        return self.class_picture(cid, t_s)

    def snapshot(self) -> bytes:
        return self._operator_runtime().snapshot()

    def restore(self, state: bytes) -> None:
        self._operator_runtime().restore(state)

    def observe_scan_period(self, sensor_id: int, period_s: float) -> None:
        for runtime in self.trackers.runtimes.values():
            runtime.observe_scan_period(sensor_id, period_s)

    def learned_sensors(self) -> list[dict[str, Any]]:
        return self._operator_runtime().learned_sensors()

    def _operator_runtime(self) -> TrackerRuntime:
        return self.trackers.runtimes[self.operator_class]

    def __getattr__(self, name: str) -> Any:
        """Optional runtime extras (stats, ...) come from the operator's tracker."""
        if name.startswith("_") or name in ("trackers", "policy", "meta"):
            raise AttributeError(name)
        return getattr(self._operator_runtime(), name)


class ClassFactory:
    """A RuntimeFactory giving `ClassRuntime`s over `policy` and the last one it built
    (the service's pipeline asks it for each consumer's class picture)."""

    def __init__(self, policy: LabelPolicy, factory: RuntimeFactory,
                 reloader: PolicyReloader | None = None) -> None:
        self.policy = policy
        self.factory = factory
        self.reloader = reloader
        self.runtime: ClassRuntime | None = None

    def bind(self, meta: ScenarioMeta) -> None:
        """Areas map into `meta`'s plane; recorded sensor masks follow the service's sensor
        order (bit i: the i-th sensor by id, as `encode.SensorIndex`)."""
        self.policy.frame = meta.frame
        self.policy.sensor_order = tuple(sorted(s.id for s in meta.sensors))
        self.policy._areas.clear()

    def __call__(self, meta: ScenarioMeta) -> TrackerRuntime:
        if not self.policy.sensor_order:  # a source may start its tracker on a subset later
            self.bind(meta)
        self.runtime = ClassRuntime(meta, self.policy, self.factory, self.reloader)
        return self.runtime

    def pictures(self, t_s: float) -> dict[str | None, TrackTable]:
        """Every class's picture at t_s, by class id, for the recording (empty without a
        tracker: the operator's picture is recorded as without a policy)."""
        if self.runtime is None:
            return {}
        return {cid: self.runtime.class_picture(cid, t_s)
                for cid in self.runtime.trackers.runtimes}

    def history_class(self, consumer: Consumer) -> str | None:
        """The class whose recorded states `consumer` may read now (its current class; an
        unknown consumer's matches nothing); None without a tracker (no classes recorded)."""
        if self.runtime is None:
            return None
        cid = self.runtime.class_of(consumer.name)
        return cid if cid is not None else "\x00no class"

    def picture_for(self, consumer: Consumer, operator: TrackTable, t_s: float) -> TrackTable:
        """`consumer`'s class picture at t_s; a source without a tracker (a replay, Mode S
        feeds) has only the operator's picture, which the masks then gate."""
        if self.runtime is None:
            if self.reloader is not None:
                self.reloader.check()
            return operator
        return self.runtime.picture_for(consumer, t_s)


def is_admin(consumer: Consumer) -> bool:
    """The operator, or a consumer with the admin role: may know of every sensor."""
    return consumer == LOCAL or ADMIN_ROLE in consumer.roles


def gate_sensor_status(egress: Egress, status: list[dict[str, Any]],
                       consumer: Consumer) -> list[dict[str, Any]]:
    """Sensor status rows of the sensors `consumer` is cleared for only."""
    cleared = set(egress.sensors([s["id"] for s in status], consumer))
    return [s for s in status if s["id"] in cleared]


def gate_feeds(egress: Egress, feeds: dict[str, Any], consumer: Consumer) -> dict[str, Any]:
    """Feeds `consumer` may know of: the admin sees all; others only feeds that name their
    sensors (`sensors`) all cleared, and no decoder counters (they sum every feed)."""
    if is_admin(consumer):
        return feeds
    kept = [f for f in feeds.get("feeds", []) if f.get("sensors")
            and len(egress.sensors(f["sensors"], consumer)) == len(f["sensors"])]
    return {**{k: v for k, v in feeds.items() if k not in ("feeds", "decoder")},
            "feeds": kept, "decoder": {}}


def hidden_names(egress: Egress, sensors: list[dict[str, Any]], feeds: list[dict[str, Any]],
                 consumer: Consumer) -> set[str]:
    """Names of the sensors and feeds `consumer` may not know of."""
    cleared = set(egress.sensors([s["id"] for s in sensors], consumer))
    kept = {f["name"] for f in gate_feeds(egress, {"feeds": feeds}, consumer)["feeds"]}
    return ({str(s["name"]) for s in sensors if s["id"] not in cleared}
            | {str(f["name"]) for f in feeds if f["name"] not in kept})


def gate_health(doc: dict[str, Any], hidden: set[str], consumer: Consumer) -> dict[str, Any]:
    """/api/health for `consumer`: problems and feeds naming hidden sensors or feeds removed,
    the status recomputed from what is left (an admin gets the document as it is)."""
    if is_admin(consumer):
        return doc
    problems = [p for p in doc["problems"] if not any(n and n in p for n in hidden)]
    down = [f for f in doc["feeds_down"] if f not in hidden]
    status = doc["status"] if doc["status"] == "error" else ("degraded" if problems else "ok")
    return {**doc, "status": status, "problems": problems, "feeds_down": down}


OPERATOR_ONLY_METRICS = ("airpicture_tracks", "airpicture_health_problems",
                         "airpicture_decoder_events", "airpicture_recording_rows",
                         "airpicture_output_")
"""Metric families summed over every sensor, class or output (the operator's picture's
track count, every problem, every decoded message, every recorded row, other consumers'
outputs): not shown to a non-admin consumer."""
_LABEL = re.compile(r'(sensor|feed)="((?:[^"\\]|\\.)*)"')


def gate_metrics(text: str, sensor_ids: list[int], egress: Egress, hidden_feeds: set[str],
                 consumer: Consumer) -> str:
    """Prometheus text for `consumer`: samples labelled with a sensor it is not cleared for,
    or a feed it may not know of, removed (an admin gets every line)."""
    if is_admin(consumer):
        return text
    cleared = {str(s) for s in egress.sensors(sensor_ids, consumer)}

    def visible(line: str) -> bool:
        words = line.split()
        name = words[2] if line.startswith("#") and len(words) > 2 else \
            line.split("{")[0].split(" ")[0]
        if name.startswith(OPERATOR_ONLY_METRICS):
            return False
        for kind, value in _LABEL.findall(line):
            if (kind == "sensor" and value not in cleared) or \
                    (kind == "feed" and value in hidden_feeds):
                return False
        return True

    return "".join(line for line in text.splitlines(keepends=True) if visible(line))
