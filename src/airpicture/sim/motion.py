"""Synthetic targets: straight legs and coordinated turns, births and deaths, climbs and descents.

Parameters come from the "targets" object of scenario.json (see `SyntheticSpec`).  Motion is
integrated exactly on the 1 s grid: constant speed, piecewise-constant turn rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from airpicture.core.errors import UserError
from airpicture.sim.truth import FloatArray, Truth, unique_icao24

FPM_PER_FTPS = 60.0


@dataclass
class SyntheticSpec:
    """How to draw synthetic targets (the "targets" object of scenario.json, kind "synthetic")."""

    count: int = 10
    area_m: tuple[float, float, float, float] = (-200e3, 200e3, -200e3, 200e3)
    """Start positions uniform in (xmin, xmax, ymin, ymax)."""
    speed_mps: tuple[float, float] = (100.0, 250.0)
    alt_ft: tuple[float, float] = (5000.0, 39000.0)
    climb_fraction: float = 0.0
    """Share of targets that climb or descend at up to `max_vrate_fpm` the whole run."""
    max_vrate_fpm: float = 2000.0
    turn_fraction: float = 0.2
    turn_rate_deg_s: float = 3.0
    turn_duration_s: float = 30.0
    turns_per_target: int = 1
    birth_fraction: float = 0.0
    """Share of targets born after t = 0 (uniformly in the first 60 % of the run)."""
    death_fraction: float = 0.0
    """Share of targets that die before the end (at least 60 s after birth)."""

    @classmethod
    def from_json(cls, obj: dict[str, Any], where: str) -> SyntheticSpec:
        """Read the known keys, checking types and ranges; unknown keys are ignored."""
        spec = cls()
        for f in fields(cls):
            if f.name not in obj:
                continue
            value = obj[f.name]
            try:
                if f.name in ("count", "turns_per_target"):
                    if isinstance(value, bool) or int(value) != value or value < 0:
                        raise ValueError
                    setattr(spec, f.name, int(value))
                elif f.name in ("area_m", "speed_mps", "alt_ft"):
                    size = len(getattr(spec, f.name))
                    items = tuple(float(v) for v in value)
                    if len(items) != size:
                        raise ValueError
                    setattr(spec, f.name, items)
                else:
                    if isinstance(value, bool):
                        raise ValueError
                    setattr(spec, f.name, float(value))
            except (TypeError, ValueError):
                raise UserError(where, f"targets: {f.name!r} has a bad value {value!r}") from None
        for name in ("climb_fraction", "turn_fraction", "birth_fraction", "death_fraction"):
            if not 0.0 <= getattr(spec, name) <= 1.0:
                raise UserError(where, f"targets: {name!r} must be within [0, 1]")
        for name, lo, hi in (("speed_mps", 0.0, 1000.0), ("alt_ft", -2000.0, 100000.0)):
            low, high = getattr(spec, name)
            if not lo <= low <= high <= hi:
                raise UserError(where, f"targets: {name!r} must be [low, high] within "
                                       f"[{lo:g}, {hi:g}]")
        values = [*spec.area_m, spec.max_vrate_fpm, spec.turn_rate_deg_s, spec.turn_duration_s]
        if not all(np.isfinite(values)) or spec.turn_duration_s < 0 or spec.max_vrate_fpm < 0:
            raise UserError(where, "targets: area_m, max_vrate_fpm, turn_rate_deg_s and "
                                   "turn_duration_s must be finite (durations and rates >= 0)")
        if spec.turns_per_target > 10:
            raise UserError(where, "targets: 'turns_per_target' must be at most 10")
        return spec

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "synthetic"}
        out.update({k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()})
        return out


def life_span(rng: np.random.Generator, spec: SyntheticSpec, n_times: int) -> tuple[
        np.ndarray, np.ndarray]:
    """Birth and death grid indices (death exclusive) of each target."""
    n = spec.count
    last = n_times
    born_late = rng.random(n) < spec.birth_fraction
    birth = np.where(born_late, rng.integers(0, max(int(0.6 * last), 1), n), 0)
    dies = rng.random(n) < spec.death_fraction
    earliest = np.minimum(birth + 60, last)
    death = np.where(dies, earliest + (rng.random(n) * (last - earliest)).astype(np.int64), last)
    return birth.astype(np.int64), np.maximum(death, birth + 1).astype(np.int64)


def turn_rates(rng: np.random.Generator, spec: SyntheticSpec, n_times: int,
               dt_s: float) -> FloatArray:
    """Turn rate (rad/s) of each target over each grid step, shape (n, n_times - 1)."""
    n, k = spec.count, max(spec.turns_per_target, 1)
    turning = rng.random(n) < spec.turn_fraction
    steps = max(round(spec.turn_duration_s / dt_s), 1)
    span = max(n_times - 1 - steps, 1)
    start = rng.integers(0, span, size=(n, k))
    sign = rng.choice(np.array([-1.0, 1.0]), size=(n, k))
    rate = np.deg2rad(spec.turn_rate_deg_s) * sign * turning[:, None]
    if spec.turns_per_target == 0:
        rate = rate * 0.0
    step_idx = np.arange(n_times - 1)[None, None, :]
    active = (step_idx >= start[:, :, None]) & (step_idx < start[:, :, None] + steps)
    return np.asarray((active * rate[:, :, None]).sum(axis=1), np.float64)


def integrate(x0: FloatArray, y0: FloatArray, speed: FloatArray, heading0: FloatArray,
              rate: FloatArray, dt_s: float) -> tuple[FloatArray, FloatArray, FloatArray,
                                                       FloatArray]:
    """Exact positions/velocities for constant speed and piecewise-constant turn rate.

    heading is the math angle (from east, counter-clockwise); rate > 0 turns left.
    """
    n, steps = rate.shape
    theta = np.empty((n, steps + 1))
    theta[:, 0] = heading0
    theta[:, 1:] = heading0[:, None] + np.cumsum(rate * dt_s, axis=1)
    th0, th1 = theta[:, :-1], theta[:, 1:]
    v = speed[:, None]
    straight = np.abs(rate) < 1e-12
    safe = np.where(straight, 1.0, rate)
    dx = np.where(straight, v * np.cos(th0) * dt_s, v / safe * (np.sin(th1) - np.sin(th0)))
    dy = np.where(straight, v * np.sin(th0) * dt_s, v / safe * (np.cos(th0) - np.cos(th1)))
    x = np.concatenate([x0[:, None], x0[:, None] + np.cumsum(dx, axis=1)], axis=1)
    y = np.concatenate([y0[:, None], y0[:, None] + np.cumsum(dy, axis=1)], axis=1)
    return x, y, v * np.cos(theta), v * np.sin(theta)


def synthetic_truth(rng: np.random.Generator, spec: SyntheticSpec, duration_s: float,
                    dt_s: float = 1.0) -> Truth:
    """Draw `spec.count` targets over [0, duration_s] on a `dt_s` grid."""
    n = spec.count
    n_times = int(np.floor(duration_s / dt_s)) + 1
    xmin, xmax, ymin, ymax = spec.area_m
    x0 = rng.uniform(xmin, xmax, n)
    y0 = rng.uniform(ymin, ymax, n)
    speed = rng.uniform(*spec.speed_mps, n)
    heading0 = rng.uniform(0.0, 2 * np.pi, n)
    rate = turn_rates(rng, spec, n_times, dt_s)
    x, y, vx, vy = integrate(x0, y0, speed, heading0, rate, dt_s)
    alt0 = rng.uniform(*spec.alt_ft, n)
    climbing = rng.random(n) < spec.climb_fraction
    vrate_fps = np.where(climbing, rng.uniform(-1, 1, n) * spec.max_vrate_fpm, 0.0) / FPM_PER_FTPS
    t = np.arange(n_times) * dt_s
    alt = np.clip(alt0[:, None] + vrate_fps[:, None] * t[None, :], 500.0, 45000.0)
    birth, death = life_span(rng, spec, n_times)
    idx = np.arange(n_times)[None, :]
    alive = (idx >= birth[:, None]) & (idx < death[:, None])
    icao = unique_icao24(rng, n)
    return Truth(
        dt_s=dt_s, x_m=x, y_m=y, vx_mps=vx, vy_mps=vy, alt_ft=alt, alive=alive, icao24=icao,
        callsign=np.array([f"SIM{i:04d}" for i in range(n)], dtype=object),
        squawk=rng.integers(0o1000, 0o7000, n).astype(np.int16),
        equip_u=rng.random(n),
    )
