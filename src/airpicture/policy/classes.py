"""One tracker per release class, fed from the same input: each class's tracker receives only
its cleared sensors' plots, so its picture (and its track numbers) never depends on another
sensor.  The trackers are made by a factory, so this module knows no tracker implementation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable

if TYPE_CHECKING:
    from airpicture.tracker.runtime import TrackerRuntime


def widen_sensors(table: TrackTable, sensor_ids: Sequence[int]) -> TrackTable:
    """The same tracks with sensor columns over `sensor_ids` (a superset of the table's):
    sensors the class's tracker never knew have never updated a track (NaN)."""
    full = np.asarray(sensor_ids, np.int32)
    last = np.full((len(table), full.size), np.nan)
    where = {int(s): j for j, s in enumerate(full)}
    for k, sid in enumerate(table.sensor_ids.tolist()):
        last[:, where[int(sid)]] = table.sensor_last_t[:, k]
    return dataclasses.replace(table, sensor_ids=full, sensor_last_t=last)


class ClassTrackers:
    """A tracker runtime per class (class id -> cleared sensor ids), one input for all.

    `make_runtime(sensor_ids)` builds the tracker of a class that knows only those sensors.
    Pictures come back over `all_sensor_ids` so every class's sensor columns line up."""

    def __init__(self, classes: dict[str, tuple[int, ...]], all_sensor_ids: Sequence[int],
                 make_runtime: Callable[[tuple[int, ...]], TrackerRuntime]) -> None:
        self.sensor_ids = [int(s) for s in all_sensor_ids]
        self.classes = dict(classes)
        self.runtimes = {cid: make_runtime(sensors) for cid, sensors in self.classes.items()}
        self._cleared = {cid: np.asarray(s, np.int32) for cid, s in self.classes.items()}

    def ingest(self, plots: PlotBatch) -> None:
        """Hand each class's tracker the plots of its cleared sensors (none of others)."""
        for cid, runtime in self.runtimes.items():
            mine = np.isin(plots.sensor_id, self._cleared[cid])
            if mine.any():
                runtime.ingest(plots.take(mine))

    def advance_to(self, t_s: float) -> None:
        """Advance every class's tracker to the same time."""
        for runtime in self.runtimes.values():
            runtime.advance_to(t_s)

    def picture(self, class_id: str, t_s: float | None = None) -> TrackTable:
        """The picture of one class, sensor columns over every sensor."""
        return widen_sensors(self.runtimes[class_id].picture(t_s), self.sensor_ids)
