"""`LabelPolicy`: the `ReleasePolicy` of a loaded policy file, applied as numpy masks.

Per consumer: rows from sensors it is not cleared for are withheld (a track counts as from
every sensor that ever updated it; by design each class's picture is tracked from its cleared
sensors only, so this mask then keeps everything and is the last line of defence); rows
outside its area of responsibility are withheld; identity fields (address, callsign, squawk)
are blanked where Cedar denies them, or for privacy-listed aircraft without the right, whose
history is withheld too.  An unknown consumer gets nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.geo import LocalFrame
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.policy.egress import Consumer
from airpicture.policy.release import ConsumerRelease, LoadedPolicy, class_id, combined_label

OPERATOR = "local"
"""The consumer name of this instance's operator: unless the policy names a consumer so, it is
cleared for every sensor, with every identity field, everywhere (the class of all sensors)."""


def operator_release(loaded: LoadedPolicy, sensor_order: Sequence[int]) -> ConsumerRelease:
    """The operator's release when the policy does not name a consumer `OPERATOR`."""
    sensors = tuple(sorted(int(s) for s in sensor_order))
    return ConsumerRelease(name=OPERATOR, organisation="", class_id=class_id(sensors),
                           sensors=sensors, identity=True, privacy_identity=True, area=None,
                           area_shape=None)


def release_for(loaded: LoadedPolicy, sensor_order: Sequence[int],
                name: str) -> ConsumerRelease | None:
    """What consumer `name` gets under `loaded` (the operator included), None if unknown."""
    named = loaded.consumer(name)
    if named is None and name == OPERATOR:
        return operator_release(loaded, sensor_order)
    return named

AREA_SEGMENT_DEG = 0.01
"""Polygon edges are split into pieces of at most this many degrees before being mapped into
the local plane, so an edge straight in lon/lat (GeoJSON) stays within centimetres of it."""


def area_in_plane(release: ConsumerRelease, frame: LocalFrame) -> shapely.Polygon | None:
    """The consumer's area mapped into `frame`'s ground plane (as every input maps lat/lon),
    so each tick tests x/y directly instead of converting every track to lat/lon."""
    if release.area_shape is None:
        return None
    dense = shapely.segmentize(release.area_shape, AREA_SEGMENT_DEG)

    def to_plane(lonlat: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        east, north, _ = frame.to_enu(lonlat[:, 1], lonlat[:, 0], 0.0)
        return np.column_stack([east, north])

    shape = shapely.transform(dense, to_plane)
    shapely.prepare(shape)
    return shape


def inside(shape: shapely.Polygon | None, x_m: npt.NDArray[np.float64],
           y_m: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """True where (x_m, y_m) lies in `shape` (everywhere when None)."""
    if shape is None:
        return np.ones(x_m.shape[0], bool)
    return np.asarray(shapely.contains_xy(shape, x_m, y_m), bool)


def blank_identity(release: ConsumerRelease, listed: npt.NDArray[np.bool_]) -> (
        npt.NDArray[np.bool_]):
    """Rows whose identity `release`'s consumer may not see."""
    if not release.identity:
        return np.ones(listed.shape[0], bool)
    return listed if not release.privacy_identity else np.zeros(listed.shape[0], bool)


IdentityRows = TypeVar("IdentityRows", TrackTable, PlotBatch)


def without_identity(rows: IdentityRows, blank: npt.NDArray[np.bool_]) -> IdentityRows:
    """`rows` with address, callsign and squawk blanked where `blank` (the same rows when
    none is)."""
    if not blank.any():
        return rows
    return replace(rows, icao24=np.where(blank, 0, rows.icao24),
                   callsign=np.where(blank, "", rows.callsign).astype(object),
                   squawk=np.where(blank, -1, rows.squawk).astype(np.int16))


@dataclass
class LabelPolicy:
    """Release by a loaded policy file; `frame` maps positions to lat/lon for areas and
    `sensor_order` is the sensor list `sensor_mask` columns of recorded rows refer to."""

    loaded: LoadedPolicy
    frame: LocalFrame
    sensor_order: tuple[int, ...]
    _areas: dict[str, tuple[object, shapely.Polygon | None]] = field(default_factory=dict,
                                                                        repr=False)
    _listed: tuple[object, object, object, npt.NDArray[np.bool_]] | None = field(
        default=None, repr=False)
    _released: tuple[tuple[object, ...], object, dict[object, TrackTable]] | None = field(
        default=None, repr=False)
    """The last picture's released tables, by (sensors, area, identity rights): consumers
    with the same release share one computation per tick."""

    def _listed_tracks(self, tracks: TrackTable) -> npt.NDArray[np.bool_]:
        """Privacy-listed rows of a picture, computed once for all consumers of one tick (the
        cache holds the arrays it was computed from, so their ids cannot be reused)."""
        privacy = self.loaded.privacy
        cached = self._listed
        if (cached is None or cached[0] is not tracks.icao24 or cached[1] is not tracks.callsign
                or cached[2] is not privacy.addresses):
            cached = (tracks.icao24, tracks.callsign, privacy.addresses,
                      privacy.listed(tracks.icao24, tracks.callsign))
            self._listed = cached
        return cached[3]

    def _release(self, consumer: Consumer) -> ConsumerRelease | None:
        return release_for(self.loaded, self.sensor_order, consumer.name)

    def _inside(self, release: ConsumerRelease, x_m: npt.NDArray[np.float64],
                y_m: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        cached = self._areas.get(release.name)
        if cached is None or cached[0] is not release.area_shape:  # a reload changed it
            cached = (release.area_shape, area_in_plane(release, self.frame))
            self._areas[release.name] = cached
        return inside(cached[1], x_m, y_m)

    def tracks(self, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        release = self._release(consumer)
        if release is None:
            return TrackTable.empty(tracks.sensor_ids)
        arrays = (tracks.sensor_ids, *(getattr(tracks, n) for n in TrackTable._ROW_FIELDS))
        cached = self._released
        if (cached is None or cached[1] is not self.loaded or len(cached[0]) != len(arrays)
                or any(a is not b for a, b in zip(cached[0], arrays, strict=True))):
            cached = (arrays, self.loaded, {})  # holds the arrays: their ids stay unique
            self._released = cached
        key = (release.sensors, None if release.area_shape is None else release.area_shape.wkb,
               release.identity, release.privacy_identity)
        out = cached[2].get(key)
        if out is None:  # once per distinct release of this picture, not per consumer
            out = cached[2][key] = self._masked(tracks, release)
        return dataclasses.replace(out)

    def _masked(self, tracks: TrackTable, release: ConsumerRelease) -> TrackTable:
        uncleared = ~np.isin(tracks.sensor_ids, np.asarray(release.sensors, np.int32))
        keep = ~np.isfinite(tracks.sensor_last_t[:, uncleared]).any(axis=1)
        keep &= self._inside(release, tracks.x, tracks.y)
        listed = self._listed_tracks(tracks)
        if keep.all():
            out = dataclasses.replace(tracks)
        else:
            out, listed = tracks.take(keep), listed[keep]
        return without_identity(out, blank_identity(release, listed))

    def plots(self, plots: PlotBatch, consumer: Consumer) -> PlotBatch:
        release = self._release(consumer)
        if release is None:
            return PlotBatch.empty()
        keep = np.isin(plots.sensor_id, np.asarray(release.sensors, np.int32))
        keep &= self._inside(release, plots.x, plots.y)
        out = plots.take(keep)
        return without_identity(
            out, blank_identity(release, self.loaded.privacy.listed(out.icao24, out.callsign)))

    def track_rows(self, rows: pa.Table, consumer: Consumer) -> pa.Table:
        release = self._release(consumer)
        if release is None:
            return rows.slice(0, 0)
        cleared_bits = sum(1 << j for j, s in enumerate(self.sensor_order)
                           if s in release.sensors)
        mask = np.asarray(rows.column("sensor_mask").to_numpy(zero_copy_only=False), np.uint64)
        keep = (mask & ~np.uint64(cleared_bits)) == 0
        if "x" in rows.column_names and "y" in rows.column_names:
            keep &= self._inside(
                release, np.asarray(rows.column("x").to_numpy(zero_copy_only=False), float),
                np.asarray(rows.column("y").to_numpy(zero_copy_only=False), float))
        icao = (np.asarray(rows.column("icao24").to_numpy(zero_copy_only=False), np.int64)
                if "icao24" in rows.column_names else np.zeros(rows.num_rows, np.int64))
        names = (np.asarray(rows.column("callsign").to_pylist(), object)
                 if "callsign" in rows.column_names else np.full(rows.num_rows, "", object))
        listed = self.loaded.privacy.listed(icao, names)
        if not release.privacy_identity:
            keep &= ~listed  # no history of privacy-listed aircraft
        out = rows.filter(pa.array(keep))
        if not release.identity:
            for name, blank in (("icao24", 0), ("callsign", ""), ("squawk", -1)):
                if name in out.column_names:
                    col = out.column(name)
                    out = out.set_column(out.column_names.index(name), name,
                                         pc.if_else(pa.scalar(True), pa.scalar(blank, col.type),
                                                    col))
        return out

    def replies(self, replies: ModeSEnrichment, consumer: Consumer) -> ModeSEnrichment:
        release = self._release(consumer)
        if release is None:
            return ModeSEnrichment.empty()
        keep = np.isin(replies.sensor_id, np.asarray(release.sensors, np.int32))
        listed = self.loaded.privacy.listed(replies.icao24, replies.callsign)
        if not release.privacy_identity:
            keep &= ~listed
        if not release.identity:
            keep[:] = False  # a reply is an address and what it said: all identity
        return ModeSEnrichment(t=replies.t[keep], icao24=replies.icao24[keep],
                               df=replies.df[keep], alt_ft=replies.alt_ft[keep],
                               squawk=replies.squawk[keep], callsign=replies.callsign[keep],
                               sensor_id=replies.sensor_id[keep])

    def sensors(self, sensor_ids: Sequence[int], consumer: Consumer) -> list[int]:
        release = self._release(consumer)
        cleared = set(release.sensors) if release is not None else set()
        return [int(s) for s in sensor_ids if int(s) in cleared]

    def label(self, consumer: Consumer) -> dict[str, Any] | None:
        release = self._release(consumer)
        if release is None:
            return None
        known = tuple(s for s in release.sensors if s in self.loaded.file.sensors)
        return {"class": release.class_id,
                **combined_label(self.loaded.file, known).model_dump()}
