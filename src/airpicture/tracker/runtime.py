"""The small interface the tracker runs behind: in-process now, a distributed engine later.

The service, the `track` command and the benchmark talk to a tracker only through this
Protocol, so a Ray-backed runtime (airpicture.cluster) can replace the in-process one.
"""

from __future__ import annotations

from typing import Any, Protocol

from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable


class TrackerRuntime(Protocol):
    """A tracker that is fed plots as they come and read at any time. It holds all its state."""

    def ingest(self, plots: PlotBatch) -> None:
        """Accept plots in any order; plots older than the late-plot window are counted, dropped."""
        ...

    def advance_to(self, t_s: float) -> None:
        """Process every plot with time <= t_s (less the late-plot window); move the picture on."""
        ...

    def picture(self, t_s: float | None = None) -> TrackTable:
        """The current system tracks, predicted to t_s when given."""
        ...

    def snapshot(self) -> bytes:
        """The whole tracker state, restorable with `restore` (also in another process)."""
        ...

    def restore(self, state: bytes) -> None:
        """Replace the state with one from `snapshot`."""
        ...

    def observe_scan_period(self, sensor_id: int, period_s: float) -> None:
        """A sensor's period measured outside its plots (CAT034 north markers): overrides the
        learned and configured period (NaN or <= 0: forget it; unknown id: ValueError)."""
        ...

    def learned_sensors(self) -> list[dict[str, Any]]:
        """Per sensor as learned from its data: {"id", "kind", "period_s", "pd",
        "sigma_range_m", "sigma_azimuth_deg", "sigma_m", "n_plots", "period_source"}."""
        ...
