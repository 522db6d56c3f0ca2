"""The one place every output path passes through before data leaves airpicture.

Map, WebSocket, REST, CAT062, aircraft.json and replay call `Egress.tracks` (and
`Egress.plots` for plot outputs) with the consumer they serve; Mode S data without a position
(replies, or per-aircraft summaries of them, as aircraft.json lists) passes `Egress.replies`;
history read back from a recording calls `Egress.track_rows` with the consumer that asks.  Today
the default policy releases everything; the release-policy work plugs a per-consumer filter in
here (by contributing sensor, area, LADD/PIA flags), so no output needs to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable


@dataclass(frozen=True)
class Consumer:
    """Who receives an output: a user, a partner organisation or a downstream system."""

    name: str = "local"
    roles: frozenset[str] = field(default_factory=frozenset)


LOCAL = Consumer()
"""The operator of this airpicture instance."""


class ReleasePolicy(Protocol):
    def tracks(self, tracks: TrackTable, consumer: Consumer) -> TrackTable: ...

    def plots(self, plots: PlotBatch, consumer: Consumer) -> PlotBatch: ...

    def track_rows(self, rows: pa.Table, consumer: Consumer) -> pa.Table: ...

    def replies(self, replies: ModeSEnrichment, consumer: Consumer) -> ModeSEnrichment: ...

    def sensors(self, sensor_ids: Sequence[int], consumer: Consumer) -> list[int]: ...

    def label(self, consumer: Consumer) -> dict[str, Any] | None: ...


class ReleaseAll:
    """Releases everything to everyone: the policy until release rules are configured."""

    def tracks(self, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        return tracks

    def plots(self, plots: PlotBatch, consumer: Consumer) -> PlotBatch:
        return plots

    def track_rows(self, rows: pa.Table, consumer: Consumer) -> pa.Table:
        return rows

    def replies(self, replies: ModeSEnrichment, consumer: Consumer) -> ModeSEnrichment:
        return replies

    def sensors(self, sensor_ids: Sequence[int], consumer: Consumer) -> list[int]:
        return list(sensor_ids)

    def label(self, consumer: Consumer) -> dict[str, Any] | None:
        return None


@dataclass
class Egress:
    """The gate every output passes: holds the release policy of this airpicture instance.

    One instance per service or command, passed to every output; no global state.
    """

    policy: ReleasePolicy = field(default_factory=ReleaseAll)

    def tracks(self, tracks: TrackTable, consumer: Consumer = LOCAL) -> TrackTable:
        """The tracks `consumer` may see. Every output of tracks calls this."""
        return self.policy.tracks(tracks, consumer)

    def plots(self, plots: PlotBatch, consumer: Consumer = LOCAL) -> PlotBatch:
        """The plots `consumer` may see. Every output of plots calls this."""
        return self.policy.plots(plots, consumer)

    def track_rows(self, rows: pa.Table, consumer: Consumer = LOCAL) -> pa.Table:
        """Recorded track states (history, exports) `consumer` may see, one row per state.

        Rows carry `track_id`, `t`, `sensor_mask` and identity columns, so a policy can
        filter history as it filters live tracks.
        """
        return self.policy.track_rows(rows, consumer)

    def replies(self, replies: ModeSEnrichment, consumer: Consumer = LOCAL) -> ModeSEnrichment:
        """Mode S rows without a position `consumer` may see. Every output of Mode S-only data
        (replies, or per-aircraft summaries of them) calls this.

        Rows carry `sensor_id`, `icao24` and identity, so a policy can filter by receiver and
        aircraft; it may also blank fields (callsign "", squawk -1, alt_ft NaN).
        """
        return self.policy.replies(replies, consumer)

    def sensors(self, sensor_ids: Sequence[int], consumer: Consumer = LOCAL) -> list[int]:
        """The sensors (of `sensor_ids`, in that order) `consumer` may know of: sensor lists,
        feed status and per-sensor counts show only these."""
        return self.policy.sensors(sensor_ids, consumer)

    def label(self, consumer: Consumer = LOCAL) -> dict[str, Any] | None:
        """The STANAG 4774-shaped label of what `consumer` receives (its release class's
        combined label), for JSON payloads to carry; None without a release policy."""
        return self.policy.label(consumer)
