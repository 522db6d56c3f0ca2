"""Small numpy generators of truth and plots for the tracker tests (no simulator needed)."""

from __future__ import annotations

import numpy as np

from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor


def trajectories(
    n: int, duration_s: float, rng: np.random.Generator, turn_frac: float = 0.0,
    turn_rate_deg_s: float = 3.0, area_m: float = 150_000.0, dt_s: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    """Truth at dt_s steps: times (T,), states (n, T, 4) [x, y, vx, vy]; some make one turn."""
    t = np.arange(0.0, duration_s + 1e-9, dt_s)
    pos = rng.uniform(-area_m, area_m, (n, 2))
    speed = rng.uniform(100, 250, n)
    head = rng.uniform(0, 2 * np.pi, n)
    turn = np.zeros((n, t.size))
    n_turn = round(turn_frac * n)
    for i in range(n_turn):
        start = rng.uniform(0.2, 0.5) * duration_s
        sign = rng.choice([-1.0, 1.0])
        turn[i, (t >= start) & (t < start + 90.0 / turn_rate_deg_s)] = sign * np.radians(
            turn_rate_deg_s)
    heading = head[:, None] + np.cumsum(turn * dt_s, axis=1) - turn * dt_s
    v = np.stack([speed[:, None] * np.cos(heading), speed[:, None] * np.sin(heading)], -1)
    xy = pos[:, None, :] + np.concatenate(
        [np.zeros((n, 1, 2)), np.cumsum(v[:, :-1] * dt_s, axis=1)], axis=1)
    return t, np.concatenate([xy, v], axis=-1)


def _truth_at(t_grid: np.ndarray, states: np.ndarray, idx: np.ndarray, t: np.ndarray
              ) -> np.ndarray:
    """States of targets idx at times t (linear interpolation on the fine grid)."""
    k = np.clip(np.searchsorted(t_grid, t) - 1, 0, t_grid.size - 2)
    f = ((t - t_grid[k]) / (t_grid[k + 1] - t_grid[k]))[:, None]
    return states[idx, k] * (1 - f) + states[idx, k + 1] * f


def radar_plots(
    t_grid: np.ndarray, states: np.ndarray, rng: np.random.Generator, *, sensor_id: int = 1,
    period_s: float = 4.0, pd: float = 0.9, sigma_r_m: float = 50.0, sigma_az_deg: float = 0.1,
    clutter: float = 0.0, area_m: float = 200_000.0, icao: np.ndarray | None = None,
    rotating: bool = True,
) -> tuple[PlotBatch, np.ndarray]:
    """Radar at the origin with polar noise and per-plot covariances; beam-crossing times."""
    n = states.shape[0]
    plots, truth = [], []
    scans = np.arange(0.0, t_grid[-1] - period_s, period_s)
    for t0 in scans:
        az0 = np.arctan2(states[:, int(t0 / (t_grid[1] - t_grid[0])), 1],
                         states[:, int(t0 / (t_grid[1] - t_grid[0])), 0])
        frac = np.mod(np.pi / 2 - az0, 2 * np.pi) / (2 * np.pi) if rotating else np.zeros(n)
        t = t0 + frac * period_s
        det = rng.random(n) < pd
        idx = np.flatnonzero(det)
        s = _truth_at(t_grid, states, idx, t[idx])
        r = np.hypot(s[:, 0], s[:, 1]) + rng.normal(0, sigma_r_m, idx.size)
        az = np.arctan2(s[:, 1], s[:, 0]) + rng.normal(0, np.radians(sigma_az_deg), idx.size)
        n_c = rng.poisson(clutter)
        cx, cy = rng.uniform(-area_m, area_m, (2, n_c))
        r = np.concatenate([r, np.hypot(cx, cy)])
        az = np.concatenate([az, np.arctan2(cy, cx)])
        tt = np.concatenate([t[idx], t0 + rng.uniform(0, period_s, n_c)])
        c, si = np.cos(az), np.sin(az)
        sa = r * np.radians(sigma_az_deg)
        var_x = c * c * sigma_r_m**2 + si * si * sa**2
        var_y = si * si * sigma_r_m**2 + c * c * sa**2
        cov = c * si * (sigma_r_m**2 - sa**2)
        ids = np.concatenate([idx, np.full(n_c, -1)])
        ic = np.zeros(ids.size, np.int64) if icao is None else np.where(ids >= 0, icao[ids], 0)
        plots.append(PlotBatch.create(t=tt, sensor_id=sensor_id, x=r * c, y=r * si, var_x=var_x,
                                      var_y=var_y, cov_xy=cov, icao24=ic))
        truth.append(ids)
    batch = PlotBatch.concat(plots)
    order = np.argsort(batch.t, kind="stable")
    return batch.take(order), np.concatenate(truth)[order]


def adsb_plots(
    t_grid: np.ndarray, states: np.ndarray, rng: np.random.Generator, icao: np.ndarray, *,
    sensor_id: int = 2, period_s: float = 1.0, sigma_m: float = 30.0, latency_s: float = 0.0,
    alt_ft: np.ndarray | None = None,
) -> tuple[PlotBatch, np.ndarray]:
    """ADS-B positions every period_s (random phase per aircraft), optional delivery latency."""
    n = states.shape[0]
    phase = rng.uniform(0, period_s, n)
    k = np.arange(0.0, t_grid[-1] - period_s, period_s)
    t = (phase[:, None] + k[None, :]).ravel()
    idx = np.repeat(np.arange(n), k.size)
    s = _truth_at(t_grid, states, idx, t)
    x = s[:, 0] + rng.normal(0, sigma_m, idx.size)
    y = s[:, 1] + rng.normal(0, sigma_m, idx.size)
    alt = None if alt_ft is None else alt_ft[idx]
    batch = PlotBatch.create(t=t, sensor_id=sensor_id, x=x, y=y, var_x=sigma_m**2,
                             var_y=sigma_m**2, cov_xy=0.0, icao24=icao[idx], alt_ft=alt,
                             t_arrival=t + latency_s)
    order = np.argsort(batch.t, kind="stable")
    return batch.take(order), idx[order]


def psr(sensor_id: int = 1, period_s: float = 4.0, clutter: float = 0.0) -> Sensor:
    return Sensor(id=sensor_id, kind="psr", period_s=period_s, pd=0.9, clutter_per_scan=clutter,
                  sigma_range_m=50.0, sigma_azimuth_deg=0.1)


def adsb(sensor_id: int = 2, period_s: float = 1.0) -> Sensor:
    return Sensor(id=sensor_id, kind="adsb", period_s=period_s, sigma_m=30.0)
