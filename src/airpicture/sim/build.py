"""From a scenario description (ScenarioMeta with a "targets" object) to a scenario folder.

Random streams: truth draws from SeedSequence([seed, 0]); each sensor from
SeedSequence([seed, 1, sensor.id]), so adding a sensor never changes another's plots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.io.scenario import ScenarioMeta, write_scenario
from airpicture.sim.motion import SyntheticSpec, synthetic_truth
from airpicture.sim.real import load_sample, read_traffic_json, real_truth
from airpicture.sim.sensor_models import SensorOutput, simulate_sensor
from airpicture.sim.truth import Truth


def truth_rng(seed: int) -> np.random.Generator:
    """The random stream of target motion."""
    return np.random.default_rng(np.random.SeedSequence([seed, 0]))


def sensor_rng(seed: int, sensor_id: int) -> np.random.Generator:
    """The random stream of one sensor (independent of the others)."""
    return np.random.default_rng(np.random.SeedSequence([seed, 1, sensor_id]))


def build_truth(meta: ScenarioMeta, where: str = "scenario.json") -> Truth:
    """Targets from meta.extra["targets"]: kind "synthetic" (default) or "real".

    A real source is the shipped sample unless "path" names a `traffic` JSON file; for the
    sample, "t0_epoch_ms" (optional) fixes scenario time 0.  meta.duration_s is updated to the
    data's span when it is not positive.
    """
    spec_obj: Any = meta.extra.get("targets", {})
    if not isinstance(spec_obj, dict):
        raise UserError(where, "'targets' must be an object")
    if not (np.isfinite(meta.duration_s) and meta.duration_s >= 0):
        raise UserError(where, f"duration_s must be a positive number, got {meta.duration_s}")
    kind = spec_obj.get("kind", "synthetic")
    if kind == "synthetic":
        if meta.duration_s <= 0:
            raise UserError(where, "duration_s must be positive")
        spec = SyntheticSpec.from_json(spec_obj, where)
        check_size(spec.count * (int(meta.duration_s) + 1), where)
        return synthetic_truth(truth_rng(meta.seed), spec, meta.duration_s)
    if kind == "real":
        path = spec_obj.get("path")
        if path is not None and not isinstance(path, str):
            raise UserError(where, "targets: 'path' must be a file name")
        df = read_traffic_json(Path(path)) if path else load_sample()
        t0 = spec_obj.get("t0_epoch_ms")
        if t0 is not None and (isinstance(t0, bool) or not isinstance(t0, int | float)
                               or not np.isfinite(t0)):
            raise UserError(where, f"targets: 't0_epoch_ms' must be a number, got {t0!r}")
        duration = meta.duration_s if meta.duration_s > 0 else None
        if duration is not None and duration > 86400:
            raise UserError(where, "duration_s of a real scenario must be at most a day")
        try:
            truth, t0_ms = real_truth(df, meta.frame, None if t0 is None else int(t0),
                                      duration, rng=truth_rng(meta.seed))
        except UserError as exc:
            if exc.where is not None:
                raise
            raise UserError(where, f"{exc.problem} ({path or 'shipped sample'})") from None
        if duration is None:
            meta.duration_s = float(truth.n_times - 1)
        meta.extra["targets"] = {**spec_obj, "t0_epoch_ms": t0_ms}
        return truth
    raise UserError(where, f"targets: unknown kind {kind!r}, expected 'synthetic' or 'real'")


MAX_TRUTH_CELLS = 50_000_000
"""Targets x truth seconds above which a scenario is refused (memory, not a model limit)."""

MIN_PERIOD_S = 0.05

_EXTRA_RANGES: dict[str, tuple[float, float]] = {
    "start_azimuth_deg": (-360.0, 360.0),
    "latency_jitter_s": (0.0, 60.0),
    "period_spread": (0.0, 0.9),
    "broadcast_jitter_s": (0.0, 60.0),
    "nic": (0.0, 11.0),
    "sil": (0.0, 3.0),
}
"""Model keys read from a sensor's extra keys, with their allowed ranges."""


def _check_range(where: str, sensor: Sensor, key: str, value: object, lo: float,
                 hi: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) \
        and lo <= float(value) <= hi
    if not ok:
        raise UserError(where, f"sensor {sensor.id}: {key!r} is {value!r}, expected a number "
                               f"within [{lo:g}, {hi:g}]")


def check_sensors(sensors: list[Sensor], where: str) -> None:
    """Reject parameters the models cannot use, with the sensor and key named (before any work)."""
    big = 1e9
    for s in sensors:
        _check_range(where, s, "period_s", s.period_s, MIN_PERIOD_S, 86400.0)
        for key in ("pd", "equipage"):
            _check_range(where, s, key, getattr(s, key), 0.0, 1.0)
        for key in ("sigma_range_m", "sigma_azimuth_deg", "sigma_m", "latency_s",
                    "clutter_per_scan"):
            _check_range(where, s, key, getattr(s, key), 0.0, 1e4 if key == "clutter_per_scan"
                         else big)
        for key in ("x", "y", "range_bias_m", "azimuth_bias_deg", "time_bias_s"):
            _check_range(where, s, key, getattr(s, key), -big, big)
        _check_range(where, s, "range_gain", s.range_gain, 0.5, 2.0)
        if not s.max_range_m > 0:
            raise UserError(where, f"sensor {s.id}: max_range_m must be positive")
        if s.nacp is not None:
            _check_range(where, s, "nacp", s.nacp, 1.0, 11.0)
        for key, (lo, hi) in _EXTRA_RANGES.items():
            if key in s.extra:
                _check_range(where, s, key, s.extra[key], lo, hi)
        if "mode_s" in s.extra and not isinstance(s.extra["mode_s"], bool):
            raise UserError(where, f"sensor {s.id}: 'mode_s' must be true or false")
        _check_clutter_area(s, where)


def _check_clutter_area(s: Sensor, where: str) -> None:
    """Clutter needs an area: a finite max_range_m or a valid clutter_box_m."""
    box = s.extra.get("clutter_box_m")
    if box is not None:
        ok = isinstance(box, list) and len(box) == 4 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v)
            for v in box) and box[0] < box[1] and box[2] < box[3]
        if not ok:
            raise UserError(where, f"sensor {s.id}: clutter_box_m must be "
                                   "[xmin, xmax, ymin, ymax] with min < max")
    elif s.kind == "psr" and s.clutter_per_scan > 0 and not np.isfinite(s.max_range_m):
        raise UserError(where, f"sensor {s.id}: clutter needs max_range_m or clutter_box_m")


def check_size(truth_cells: int, where: str) -> None:
    """Refuse scenarios too large for memory before allocating them."""
    if truth_cells > MAX_TRUTH_CELLS:
        raise UserError(where, f"{truth_cells:,} target-seconds is more than "
                               f"{MAX_TRUTH_CELLS:,}: fewer targets or a shorter run")


def simulate(meta: ScenarioMeta, truth: Truth) -> tuple[PlotBatch, np.ndarray]:
    """Every sensor's plots (concatenated in sensor order) and their truth ids."""
    outputs: list[SensorOutput] = [
        simulate_sensor(truth, s, meta.duration_s, sensor_rng(meta.seed, s.id))
        for s in meta.sensors
    ]
    plots = PlotBatch.concat([o.plots for o in outputs])
    truth_id = np.concatenate([o.truth_id for o in outputs]) if outputs else np.empty(0, np.int64)
    return plots, truth_id


def simulate_meta(meta: ScenarioMeta, out_dir: Path, where: str = "scenario.json") -> Path:
    """Simulate the scenario `meta` describes and write it to `out_dir`."""
    check_sensors(meta.sensors, where)
    truth = build_truth(meta, where)
    plots, truth_id = simulate(meta, truth)
    return write_scenario(out_dir, meta, truth.to_arrow(), plots, truth_id)
