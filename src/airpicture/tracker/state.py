"""All live tracks of the tracker as structure-of-arrays (one row per track)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from airpicture.tracker.models import STATE_DIM

F64 = npt.NDArray[np.float64]


@dataclass
class TrackState:
    """Filter state at each track's own time `t`, plus identity, vertical and life data."""

    track_id: npt.NDArray[np.int64]
    t: F64
    xs: F64
    """(n, M, 5) per-model states [x, y, vx, vy, w]."""
    Ps: F64
    """(n, M, 5, 5) per-model covariances."""
    mu: F64
    """(n, M) model probabilities."""
    xc: F64
    """(n, 5) moment-matched mixture state at `t` (kept in step with xs, Ps, mu)."""
    Pc: F64
    """(n, 5, 5) its covariance."""
    status: npt.NDArray[np.int8]
    hits_psr: npt.NDArray[np.int32]
    hits_id: npt.NDArray[np.int32]
    period_s: F64
    """Shortest update period among the sensors that updated the track."""
    last_update_t: F64
    icao24: npt.NDArray[np.int64]
    callsign: npt.NDArray[np.object_]
    squawk: npt.NDArray[np.int16]
    flags: npt.NDArray[np.uint16]
    alt_ft: F64
    vrate_fps: F64
    alt_t: F64
    """Time of the vertical estimate (NaN: no altitude yet)."""
    alt_cov: F64
    """(n, 3): vertical covariance entries [p_aa, p_av, p_vv] in ft, ft/s."""
    sensor_last_t: F64
    """(n, m) last update time by each sensor of the tracker's sensor list (NaN: never)."""
    good_adsb_t: F64 = field(default_factory=lambda: np.empty(0))
    """Last update by an ADS-B plot with NACp >= 8 (NaN: never): a reference for learning
    the other sensors' accuracy."""

    alt_meas_ft: F64 = field(default_factory=lambda: np.empty(0))
    """Last accepted measured altitude, ft (what the picture reports; NaN: none)."""
    alt_pend_ft: F64 = field(default_factory=lambda: np.empty(0))
    """An altitude report far from the track, held until a second report agrees (NaN)."""
    alt_pend_t: F64 = field(default_factory=lambda: np.empty(0))
    t_start: F64 = field(default_factory=lambda: np.empty(0))
    """When the track began (its initiation)."""

    _NAN_DEFAULTS = ("good_adsb_t", "alt_meas_ft", "alt_pend_ft", "alt_pend_t", "t_start")
    """Optional per-track columns: NaN for every row where a constructor leaves them out."""

    def __post_init__(self) -> None:
        n = self.track_id.shape[0]
        for name in self._NAN_DEFAULTS:
            if getattr(self, name).shape[0] != n:
                setattr(self, name, np.full(n, np.nan))

    def __len__(self) -> int:
        return int(self.track_id.shape[0])

    @classmethod
    def empty(cls, n_models: int, n_sensors: int) -> TrackState:
        z = np.empty(0)
        return cls(
            track_id=np.empty(0, np.int64), t=z, xs=np.empty((0, n_models, STATE_DIM)),
            Ps=np.empty((0, n_models, STATE_DIM, STATE_DIM)), mu=np.empty((0, n_models)),
            xc=np.empty((0, STATE_DIM)), Pc=np.empty((0, STATE_DIM, STATE_DIM)),
            status=np.empty(0, np.int8), hits_psr=np.empty(0, np.int32),
            hits_id=np.empty(0, np.int32), period_s=z, last_update_t=z,
            icao24=np.empty(0, np.int64), callsign=np.empty(0, object),
            squawk=np.empty(0, np.int16), flags=np.empty(0, np.uint16), alt_ft=z,
            vrate_fps=z, alt_t=z, alt_cov=np.empty((0, 3)),
            sensor_last_t=np.empty((0, n_sensors)), good_adsb_t=z,
        )

    def take(self, index: npt.ArrayLike) -> TrackState:
        idx = np.asarray(index)
        return TrackState(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def append(self, other: TrackState) -> TrackState:
        if len(other) == 0:
            return self
        return TrackState(**{f.name: np.concatenate([getattr(self, f.name),
                                                     getattr(other, f.name)])
                             for f in fields(self)})
