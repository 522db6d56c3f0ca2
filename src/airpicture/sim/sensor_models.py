"""Sensor models: rotating primary and secondary radar, ADS-B and MLAT, with systematic errors.

Each model turns dense truth into plots with one vectorised pass per sensor (no loop per plot).
Parameters come from core.sensors.Sensor; model keys the core dataclass lacks are read from
`Sensor.extra` (unknown keys of the sensor's scenario.json object):

- `start_azimuth_deg` (psr, ssr; default 0): beam azimuth at t = 0, clockwise from north;
- `clutter_box_m` (psr): [xmin, xmax, ymin, ymax] clutter area instead of the max-range disc;
- `mode_s` (ssr; default true): false = Mode A/C (no icao24, altitude in 100 ft steps);
- `latency_jitter_s` (any; default 0): mean of the exponential delay added to latency_s;
- `period_spread` (adsb; default 0.1): per-aircraft period = period_s (1 ± spread);
- `broadcast_jitter_s` (adsb; default 0.05 period_s): uniform jitter of each broadcast;
- `nic`, `sil` (adsb; defaults 8, 3): the integrity figures written in the plots.

Systematic errors: range gain and bias and azimuth bias (psr, ssr) and time bias (all) change
the plots but never their reported covariance.  max_range_m bounds radar detection and, for
ADS-B and MLAT, the coverage disc around (x, y).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.sim.truth import FloatArray, IntArray, Truth, positions, sample

R95_PER_SIGMA = float(np.sqrt(-2.0 * np.log(0.05)))
"""95 % radius of a circular 2-D Gaussian in units of its per-axis sigma (2.4477)."""

NACP_EPU_M = (np.inf, 18520.0, 7408.0, 3704.0, 1852.0, 926.0, 555.6, 185.2, 92.6, 30.0, 10.0,
              3.0)
"""Estimated position uncertainty bound (95 %, metres) of NACp 0 ... 11 (DO-260B)."""

MODE_S_ALT_QUANTUM_FT = 25.0
MODE_C_ALT_QUANTUM_FT = 100.0


@dataclass
class SensorOutput:
    """One sensor's plots and, for scoring, the truth target behind each (-1 for clutter)."""

    plots: PlotBatch
    truth_id: IntArray


def extra_float(sensor: Sensor, key: str, default: float) -> float:
    """A numeric model parameter from the sensor's extra keys of scenario.json."""
    value: Any = sensor.extra.get(key, default)
    return float(value)


def nacp_sigma_m(nacp: int) -> float:
    """Per-axis position sigma of a NACp value: its 95 % bound divided by 2.4477."""
    return NACP_EPU_M[int(np.clip(nacp, 0, 11))] / R95_PER_SIGMA


def sigma_to_nacp(sigma_m: float) -> int:
    """The highest NACp whose 95 % bound still covers a per-axis sigma."""
    r95 = sigma_m * R95_PER_SIGMA
    ok = [i for i, epu in enumerate(NACP_EPU_M) if epu >= r95]
    return int(max(ok))


def quantise_ft(alt_ft: FloatArray, quantum_ft: float) -> FloatArray:
    """Altitude as a transponder reports it: rounded (25 ft Mode S, 100 ft Mode C)."""
    return np.asarray(np.round(alt_ft / quantum_ft) * quantum_ft, np.float64)


def polar_covariance(r_m: FloatArray, az_rad: FloatArray, sigma_r_m: float,
                     sigma_az_rad: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """J diag(sr², sa²) Jᵀ for x = r sin(az), y = r cos(az) (azimuth clockwise from north)."""
    s, c = np.sin(az_rad), np.cos(az_rad)
    sr2, sa2 = sigma_r_m**2, (r_m * sigma_az_rad) ** 2
    return s * s * sr2 + c * c * sa2, c * c * sr2 + s * s * sa2, s * c * (sr2 - sa2)


def beam_crossing(truth: Truth, sensor: Sensor, duration_s: float,
                  tol_rad: float = 1e-10, max_iterations: int = 12) -> tuple[IntArray, FloatArray]:
    """(target, time) of every beam crossing of every target, by fixed-point iteration.

    The beam points at `start_azimuth_deg` (clockwise from north) at t = 0 and turns at ω; a
    crossing is where the beam-to-target angle a0 + ω t - az(t) is a whole number of turns.
    Start from guesses at each scan's start and end, step t by the wrapped angle gap / ω until
    it is below tol_rad, and keep one of the guesses that meet the same crossing (successive
    crossings of a target are more than a quarter turn apart).
    """
    period = sensor.period_s
    omega = 2 * np.pi / period
    a0 = np.deg2rad(extra_float(sensor, "start_azimuth_deg", 0.0))
    n_scans = int(np.floor(duration_s / period)) + 1
    scan_start = np.arange(n_scans) * period
    lives = np.flatnonzero(truth.alive.any(axis=1))
    tgt = np.repeat(lives, 2 * n_scans)
    t = np.tile(np.concatenate([scan_start, scan_start + period]), lives.size)
    forward = np.tile(np.arange(2 * n_scans) < n_scans, lives.size)

    def gap(g_tgt: IntArray, g_t: FloatArray) -> FloatArray:
        """Target azimuth minus beam azimuth; 0 where the target does not exist (no position)."""
        x, y = positions(truth, g_tgt, g_t)
        return np.nan_to_num(np.arctan2(x - sensor.x, y - sensor.y) - a0 - omega * g_t)

    # Guesses: the next crossing after each scan start and the last one before each scan end
    # (a target moving against the beam across a0 is crossed twice in one scan).
    ahead = np.mod(gap(tgt, t), 2 * np.pi) / omega
    t = np.where(forward, t + ahead, t + ahead - period)
    t = t + np.angle(np.exp(1j * gap(tgt, t))) / omega
    tgt, t = _one_per_crossing(tgt, t, period)
    active = np.arange(t.size)
    for _ in range(max_iterations):
        step = np.angle(np.exp(1j * gap(tgt[active], t[active])))
        t[active] += step / omega
        active = active[np.abs(step) > tol_rad]
        if active.size == 0:
            break
    return _one_per_crossing(tgt, t, period)


def _one_per_crossing(tgt: IntArray, t: FloatArray, period_s: float) -> tuple[IntArray,
                                                                              FloatArray]:
    """Sort by (target, time) and drop guesses within a quarter turn of the previous one."""
    order = np.lexsort((t, tgt))
    tgt, t = tgt[order], t[order]
    new = np.ones(t.size, bool)
    new[1:] = (tgt[1:] != tgt[:-1]) | (np.diff(t) > 0.25 * period_s)
    return tgt[new], t[new]


def clutter(sensor: Sensor, duration_s: float, rng: np.random.Generator) -> tuple[
        FloatArray, FloatArray, FloatArray]:
    """Poisson(clutter_per_scan) false plots per scan, uniform over the coverage, at beam time.

    Coverage is the disc of max_range_m, or the box `clutter_box_m` [xmin, xmax, ymin, ymax].
    """
    period = sensor.period_s
    n_scans = int(np.floor(duration_s / period)) + 1
    counts = rng.poisson(sensor.clutter_per_scan, n_scans)
    n = int(counts.sum())
    box = sensor.extra.get("clutter_box_m")
    if box is not None:
        xmin, xmax, ymin, ymax = (float(v) for v in box)
        x = rng.uniform(xmin, xmax, n)
        y = rng.uniform(ymin, ymax, n)
    else:
        radius = rng.random(n) ** 0.5 * sensor.max_range_m
        bearing = rng.uniform(0.0, 2 * np.pi, n)
        x = sensor.x + radius * np.sin(bearing)
        y = sensor.y + radius * np.cos(bearing)
    a0 = np.deg2rad(extra_float(sensor, "start_azimuth_deg", 0.0))
    az = np.arctan2(x - sensor.x, y - sensor.y)
    t = np.repeat(np.arange(n_scans) * period, counts) + np.mod(az - a0, 2 * np.pi) / (
        2 * np.pi / period)
    keep = t <= duration_s
    return t[keep], x[keep], y[keep]


def rotating_radar(truth: Truth, sensor: Sensor, duration_s: float,
                   rng: np.random.Generator) -> SensorOutput:
    """Primary (no identity, no altitude, clutter) or secondary / Mode S radar plots."""
    tgt, t = beam_crossing(truth, sensor, duration_s)
    at = sample(truth, tgt, t)
    dx, dy = at.x_m - sensor.x, at.y_m - sensor.y
    r = np.hypot(dx, dy)
    az = np.arctan2(dx, dy)
    keep = at.alive & (t <= duration_s) & (r <= sensor.max_range_m)
    keep &= rng.random(t.size) < sensor.pd
    tgt, t, r, az, alt = tgt[keep], t[keep], r[keep], az[keep], at.alt_ft[keep]
    sr, sa = sensor.sigma_range_m, np.deg2rad(sensor.sigma_azimuth_deg)
    r_meas = sensor.range_gain * r + sensor.range_bias_m + rng.normal(0.0, 1.0, r.size) * sr
    az_meas = az + np.deg2rad(sensor.azimuth_bias_deg) + rng.normal(0.0, 1.0, az.size) * sa
    x = sensor.x + r_meas * np.sin(az_meas)
    y = sensor.y + r_meas * np.cos(az_meas)
    truth_id = tgt.astype(np.int64)
    if sensor.kind == "psr" and sensor.clutter_per_scan > 0:
        tc, xc, yc = clutter(sensor, duration_s, rng)
        t, x, y = np.concatenate([t, tc]), np.concatenate([x, xc]), np.concatenate([y, yc])
        r_meas = np.concatenate([r_meas, np.hypot(xc - sensor.x, yc - sensor.y)])
        az_meas = np.concatenate([az_meas, np.arctan2(xc - sensor.x, yc - sensor.y)])
        truth_id = np.concatenate([truth_id, np.full(tc.size, -1, np.int64)])
    var_x, var_y, cov_xy = polar_covariance(r_meas, az_meas, sr, sa)
    t_rep = t + sensor.time_bias_s
    if sensor.kind == "psr":
        return SensorOutput(PlotBatch.create(t=t_rep, sensor_id=sensor.id, x=x, y=y, var_x=var_x,
                                             var_y=var_y, cov_xy=cov_xy), truth_id)
    mode_s = bool(sensor.extra.get("mode_s", True))
    quantum = MODE_S_ALT_QUANTUM_FT if mode_s else MODE_C_ALT_QUANTUM_FT
    plots = PlotBatch.create(
        t=t_rep, sensor_id=sensor.id, x=x, y=y, var_x=var_x, var_y=var_y, cov_xy=cov_xy,
        icao24=truth.icao24[tgt] if mode_s else 0, alt_ft=quantise_ft(alt, quantum),
        squawk=truth.squawk[tgt], callsign=truth.callsign[tgt] if mode_s else None,
        t_arrival=_arrival(sensor, t, rng))
    return SensorOutput(plots, truth_id)


def _arrival(sensor: Sensor, t_true: FloatArray, rng: np.random.Generator) -> FloatArray | None:
    """t + latency_s + exponential jitter (mean `latency_jitter_s`); None without latency."""
    jitter = extra_float(sensor, "latency_jitter_s", 0.0)
    if sensor.latency_s <= 0 and jitter <= 0:
        return None
    extra = rng.exponential(jitter, t_true.size) if jitter > 0 else 0.0
    return np.asarray(t_true + sensor.latency_s + extra, np.float64)


def periodic_times(truth: Truth, targets: IntArray, period_s: FloatArray, duration_s: float,
                   jitter_s: float, rng: np.random.Generator) -> tuple[IntArray, FloatArray]:
    """(target, time) of periodic reports: a random phase per target, uniform jitter per report."""
    phase = rng.random(targets.size) * period_s
    n_max = int(np.ceil(duration_s / max(float(period_s.min(initial=duration_s)), 1e-3))) + 1
    k = np.arange(n_max)
    t = phase[:, None] + k[None, :] * period_s[:, None]
    t = t + rng.uniform(-jitter_s, jitter_s, t.shape)
    tgt = np.broadcast_to(targets[:, None], t.shape)
    keep = (t >= 0.0) & (t <= duration_s)
    return tgt[keep].astype(np.int64), t[keep]


def _in_coverage(sensor: Sensor, x: FloatArray, y: FloatArray) -> np.ndarray:
    """Within max_range_m of the sensor position (everywhere when max_range_m is infinite)."""
    if not np.isfinite(sensor.max_range_m):
        return np.ones(x.shape, bool)
    return np.asarray(np.hypot(x - sensor.x, y - sensor.y) <= sensor.max_range_m)


def adsb(truth: Truth, sensor: Sensor, duration_s: float, rng: np.random.Generator) -> SensorOutput:
    """ADS-B: equipped share of aircraft, per-aircraft period, reception Pd, NACp noise, latency."""
    equipped = np.flatnonzero((truth.equip_u < sensor.equipage) & truth.alive.any(axis=1))
    spread = extra_float(sensor, "period_spread", 0.1)
    period = sensor.period_s * (1.0 + spread * rng.uniform(-1.0, 1.0, equipped.size))
    jitter = extra_float(sensor, "broadcast_jitter_s", 0.05 * sensor.period_s)
    tgt, t = periodic_times(truth, equipped, period, duration_s, jitter, rng)
    at = sample(truth, tgt, t)
    keep = at.alive & _in_coverage(sensor, at.x_m, at.y_m) & (rng.random(t.size) < sensor.pd)
    tgt, t = tgt[keep], t[keep]
    sigma = nacp_sigma_m(sensor.nacp) if sensor.nacp is not None else sensor.sigma_m
    nacp = sensor.nacp if sensor.nacp is not None else sigma_to_nacp(sigma)
    noise = rng.normal(0.0, 1.0, (2, t.size)) * sigma
    plots = PlotBatch.create(
        t=t + sensor.time_bias_s, sensor_id=sensor.id, x=at.x_m[keep] + noise[0],
        y=at.y_m[keep] + noise[1], var_x=sigma**2, var_y=sigma**2, cov_xy=0.0,
        icao24=truth.icao24[tgt], alt_ft=quantise_ft(at.alt_ft[keep], MODE_S_ALT_QUANTUM_FT),
        nacp=nacp, nic=int(extra_float(sensor, "nic", 8)), sil=int(extra_float(sensor, "sil", 3)),
        squawk=truth.squawk[tgt], callsign=truth.callsign[tgt], t_arrival=_arrival(sensor, t, rng))
    return SensorOutput(plots, tgt)


def mlat(truth: Truth, sensor: Sensor, duration_s: float, rng: np.random.Generator) -> SensorOutput:
    """Multilateration: every transponder in coverage, one fix per period, isotropic noise."""
    targets = np.flatnonzero(truth.alive.any(axis=1))
    period = np.full(targets.size, sensor.period_s)
    tgt, t = periodic_times(truth, targets, period, duration_s, 0.0, rng)
    at = sample(truth, tgt, t)
    keep = at.alive & _in_coverage(sensor, at.x_m, at.y_m) & (rng.random(t.size) < sensor.pd)
    tgt, t = tgt[keep], t[keep]
    sigma = sensor.sigma_m
    noise = rng.normal(0.0, 1.0, (2, t.size)) * sigma
    plots = PlotBatch.create(
        t=t + sensor.time_bias_s, sensor_id=sensor.id, x=at.x_m[keep] + noise[0],
        y=at.y_m[keep] + noise[1], var_x=sigma**2, var_y=sigma**2, cov_xy=0.0,
        icao24=truth.icao24[tgt], alt_ft=quantise_ft(at.alt_ft[keep], MODE_S_ALT_QUANTUM_FT),
        squawk=truth.squawk[tgt], t_arrival=_arrival(sensor, t, rng))
    return SensorOutput(plots, tgt)


def simulate_sensor(truth: Truth, sensor: Sensor, duration_s: float,
                    rng: np.random.Generator) -> SensorOutput:
    """The plots one sensor reports about `truth` over [0, duration_s]."""
    if sensor.kind in ("psr", "ssr"):
        return rotating_radar(truth, sensor, duration_s, rng)
    if sensor.kind == "adsb":
        return adsb(truth, sensor, duration_s, rng)
    return mlat(truth, sensor, duration_s, rng)
