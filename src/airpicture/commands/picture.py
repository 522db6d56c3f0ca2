"""One consumer's picture of a scenario: tracked from its release class's cleared sensors'
plots only (its own tracker, its own track numbers), then masked by the policy.

The class's tracker sees a scenario that has only the cleared sensors (scenario.json reduced
to them, their plots, tracker defaults for that sensor mix), so a consumer's picture equals,
bit for bit, `airpicture track` of that reduced scenario, masked; tracks.parquet's
`sensor_mask` stays over the full scenario's sensor list.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.scenario import ScenarioMeta
from airpicture.policy.classes import widen_sensors
from airpicture.policy.egress import Consumer, Egress
from airpicture.policy.masks import LabelPolicy
from airpicture.policy.release import ConsumerRelease, LoadedPolicy


def cleared_scenario(meta: ScenarioMeta, plots: PlotBatch,
                     sensors: tuple[int, ...]) -> tuple[ScenarioMeta, PlotBatch]:
    """The scenario as a class cleared for `sensors` may know it: those sensors (scenario
    order) and their plots only."""
    kept = [s for s in meta.sensors if s.id in sensors]
    sub = dataclasses.replace(meta, sensors=kept, extra=dict(meta.extra))
    ids = np.asarray([s.id for s in kept], np.int32)
    return sub, plots.take(np.isin(plots.sensor_id, ids))


def consumer_release(loaded: LoadedPolicy, consumer: str) -> ConsumerRelease:
    """The consumer's release, or a UserError naming the known consumers."""
    release = loaded.consumer(consumer)
    if release is None:
        raise UserError(loaded.path, f"no consumer {consumer!r}; consumers: "
                                     f"{', '.join(loaded.consumers)}")
    return release


def policy_egress(loaded: LoadedPolicy, meta: ScenarioMeta) -> Egress:
    """The egress gate of a loaded policy over a scenario's frame and sensor order."""
    return Egress(LabelPolicy(loaded, meta.frame, tuple(s.id for s in meta.sensors)))


def release_reports(reports: list[TrackTable], meta: ScenarioMeta, egress: Egress,
                    consumer: str) -> list[TrackTable]:
    """A class tracker's reports as `consumer` receives them: over the scenario's full sensor
    list, through the gate (areas, identity and privacy rules)."""
    ids = [s.id for s in meta.sensors]
    who = Consumer(consumer)
    return [egress.tracks(widen_sensors(r, ids), who) for r in reports]
