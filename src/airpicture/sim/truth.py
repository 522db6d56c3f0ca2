"""Ground truth as dense arrays on a 1 s grid, and its interpolation at any time.

Arrays are (n_targets, n_times); `alive` says where a target exists.  Sensors sample truth at
arbitrary times (beam crossings, broadcasts) by cubic Hermite interpolation of position and
velocity, which is exact for straight legs and within centimetres on coordinated turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class Truth:
    """Targets sampled every `dt_s` from t = 0, plus each target's identity attributes."""

    dt_s: float
    x_m: FloatArray
    y_m: FloatArray
    vx_mps: FloatArray
    vy_mps: FloatArray
    alt_ft: FloatArray
    alive: BoolArray
    icao24: IntArray
    callsign: npt.NDArray[np.object_]
    squawk: npt.NDArray[np.int16]
    equip_u: FloatArray
    """Per-target uniform draw: the target carries ADS-B if equip_u < a sensor's equipage."""

    @property
    def n_targets(self) -> int:
        return int(self.x_m.shape[0])

    @property
    def n_times(self) -> int:
        return int(self.x_m.shape[1])

    @property
    def t_s(self) -> FloatArray:
        return np.arange(self.n_times, dtype=np.float64) * self.dt_s

    def to_arrow(self) -> pa.Table:
        """Long truth table (t, target_id, x, y, vx, vy, alt_ft) of alive samples, sorted by t."""
        times, targets = np.nonzero(self.alive.T)
        return pa.table({
            "t": pa.array(times * self.dt_s, pa.float64()),
            "target_id": pa.array(targets.astype(np.int64)),
            "x": pa.array(self.x_m[targets, times]),
            "y": pa.array(self.y_m[targets, times]),
            "vx": pa.array(self.vx_mps[targets, times]),
            "vy": pa.array(self.vy_mps[targets, times]),
            "alt_ft": pa.array(self.alt_ft[targets, times]),
        })


@dataclass
class Sampled:
    """Truth at requested (target, time) pairs."""

    x_m: FloatArray
    y_m: FloatArray
    vx_mps: FloatArray
    vy_mps: FloatArray
    alt_ft: FloatArray
    alive: BoolArray


def sample(truth: Truth, target: npt.ArrayLike, t_s: npt.ArrayLike) -> Sampled:
    """Interpolate truth of `target` at times `t_s` (vectorised, any shapes that broadcast)."""
    tgt, t = np.broadcast_arrays(np.asarray(target, np.int64), np.asarray(t_s, np.float64))
    u = t / truth.dt_s
    inside = (u >= 0.0) & (u <= truth.n_times - 1)
    i0 = np.clip(np.floor(np.where(inside, u, 0.0)).astype(np.int64), 0, max(truth.n_times - 2, 0))
    i1 = np.minimum(i0 + 1, truth.n_times - 1)
    s = np.where(inside, u - i0, 0.0)
    alive = inside & truth.alive[tgt, i0] & truth.alive[tgt, i1]
    h = truth.dt_s
    h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
    h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
    d00, d10 = (6 * s**2 - 6 * s) / h, 3 * s**2 - 4 * s + 1
    d01, d11 = (-6 * s**2 + 6 * s) / h, 3 * s**2 - 2 * s

    def pos(p: FloatArray, v: FloatArray) -> FloatArray:
        return np.asarray(h00 * p[tgt, i0] + h10 * h * v[tgt, i0]
                          + h01 * p[tgt, i1] + h11 * h * v[tgt, i1], np.float64)

    def vel(p: FloatArray, v: FloatArray) -> FloatArray:
        return np.asarray(d00 * p[tgt, i0] + d10 * v[tgt, i0]
                          + d01 * p[tgt, i1] + d11 * v[tgt, i1], np.float64)

    alt = truth.alt_ft[tgt, i0] * (1.0 - s) + truth.alt_ft[tgt, i1] * s
    return Sampled(pos(truth.x_m, truth.vx_mps), pos(truth.y_m, truth.vy_mps),
                   vel(truth.x_m, truth.vx_mps), vel(truth.y_m, truth.vy_mps),
                   np.asarray(alt, np.float64), alive)


def positions(truth: Truth, target: npt.NDArray[np.int64],
              t_s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Hermite-interpolated x, y only (hot path of beam crossings); t clipped to the grid."""
    u = np.clip(np.nan_to_num(t_s / truth.dt_s), 0.0, truth.n_times - 1)
    i0 = np.minimum(u.astype(np.int64), max(truth.n_times - 2, 0))
    i1 = np.minimum(i0 + 1, truth.n_times - 1)
    s = u - i0
    s2, s3 = s * s, s * s * s
    h00, h10, h01, h11 = 2 * s3 - 3 * s2 + 1, (s3 - 2 * s2 + s) * truth.dt_s, \
        -2 * s3 + 3 * s2, (s3 - s2) * truth.dt_s
    flat0 = target * truth.n_times + i0
    flat1 = target * truth.n_times + i1

    def one(p: FloatArray, v: FloatArray) -> FloatArray:
        pf, vf = p.ravel(), v.ravel()
        return np.asarray(h00 * pf[flat0] + h10 * vf[flat0] + h01 * pf[flat1] + h11 * vf[flat1])

    return one(truth.x_m, truth.vx_mps), one(truth.y_m, truth.vy_mps)


def unique_icao24(rng: np.random.Generator, n: int) -> IntArray:
    """n distinct non-zero 24-bit addresses (rejection of duplicates; n << 2**24)."""
    out = np.empty(0, np.int64)
    while out.size < n:
        draw = rng.integers(1, 1 << 24, size=2 * (n - out.size), dtype=np.int64)
        merged = np.concatenate([out, draw])
        _, first = np.unique(merged, return_index=True)
        out = merged[np.sort(first)][:n]
    return out
