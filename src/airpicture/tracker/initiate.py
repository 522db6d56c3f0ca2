"""Two-point initiation: a plot no track wants waits for a partner plot that a plausible
aircraft could have produced; the pair starts a tentative track with velocity from the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from airpicture.core.plots import PlotBatch
from airpicture.tracker.associate import ClusteredGNN
from airpicture.tracker.models import FloatArray

IntArray = npt.NDArray[np.int64]


def plot_cov(plots: PlotBatch) -> FloatArray:
    """The plots' 2x2 covariances (p, 2, 2)."""
    R = np.empty((len(plots), 2, 2))
    R[:, 0, 0] = plots.var_x
    R[:, 1, 1] = plots.var_y
    R[:, 0, 1] = R[:, 1, 0] = plots.cov_xy
    return R


class Initiator(Protocol):
    """Turns plots that no track took into pairs (new plot, earlier plot) for new tracks."""

    def initiate(self, plots: PlotBatch) -> tuple[PlotBatch, PlotBatch]:
        """(later plots, earlier partners) of the new tracks; the rest is kept for later."""
        ...


@dataclass
class TwoPointInitiator:
    """Pairs a new plot with a waiting plot of the same identity within speed limits."""

    v_max_mps: float
    v_min_mps: float
    min_dt_s: float
    max_dt_s: float
    pending: PlotBatch = field(default_factory=PlotBatch.empty)
    expired: int = 0

    def expire(self, t_now: float) -> None:
        """Drop (and count) waiting plots too old to pair with anything new."""
        keep = self.pending.t >= t_now - self.max_dt_s
        self.expired += int((~keep).sum())
        if not keep.all():
            self.pending = self.pending.take(keep)

    def initiate(self, plots: PlotBatch) -> tuple[PlotBatch, PlotBatch]:
        pending = self.pending
        new_idx, old_idx = self._candidates(plots, pending)
        taken_new = np.zeros(len(plots), bool)
        taken_old = np.zeros(len(pending), bool)
        if new_idx.size:
            d = np.hypot(plots.x[new_idx] - pending.x[old_idx],
                         plots.y[new_idx] - pending.y[old_idx])
            dt = plots.t[new_idx] - pending.t[old_idx]
            cost = d / (self.v_max_mps * dt) + 0.1 * dt / self.max_dt_s
            pick = ClusteredGNN().assign(len(plots), len(pending), new_idx, old_idx, cost)
            new_idx, old_idx = new_idx[pick], old_idx[pick]
            taken_new[new_idx] = True
            taken_old[old_idx] = True
        later, earlier = plots.take(new_idx), pending.take(old_idx)
        self.pending = PlotBatch.concat([pending.take(~taken_old), plots.take(~taken_new)])
        return later, earlier

    def _candidates(self, plots: PlotBatch, pending: PlotBatch) -> tuple[IntArray, IntArray]:
        """Pairs that fit: time order and gap, speed (with 3 sigma slack), same identity."""
        if len(plots) == 0 or len(pending) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        sig_new = np.sqrt(np.maximum(plots.var_x, plots.var_y))
        sig_old = np.sqrt(np.maximum(pending.var_x, pending.var_y))
        radius = self.v_max_mps * self.max_dt_s + 3.0 * (sig_new.max() + sig_old.max())
        tree_new = cKDTree(np.column_stack([plots.x, plots.y]))
        tree_old = cKDTree(np.column_stack([pending.x, pending.y]))
        m = tree_new.sparse_distance_matrix(tree_old, radius, output_type="ndarray")
        i, j = m["i"].astype(np.int64), m["j"].astype(np.int64)
        d = m["v"]
        dt = plots.t[i] - pending.t[j]
        slack = 3.0 * np.hypot(sig_new[i], sig_old[j])
        ok = (dt >= self.min_dt_s) & (dt <= self.max_dt_s)
        ok &= d - slack <= self.v_max_mps * dt
        ok &= d + slack >= self.v_min_mps * dt
        ok &= plots.icao24[i] == pending.icao24[j]
        return i[ok], j[ok]
