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
    kind = spec_obj.get("kind", "synthetic")
    if kind == "synthetic":
        if meta.duration_s <= 0:
            raise UserError(where, "duration_s must be positive")
        spec = SyntheticSpec.from_json(spec_obj, where)
        return synthetic_truth(truth_rng(meta.seed), spec, meta.duration_s)
    if kind == "real":
        path = spec_obj.get("path")
        df = read_traffic_json(Path(path)) if path else load_sample()
        t0 = spec_obj.get("t0_epoch_ms")
        duration = meta.duration_s if meta.duration_s > 0 else None
        truth, t0_ms = real_truth(df, meta.frame, None if t0 is None else int(t0), duration,
                                  rng=truth_rng(meta.seed))
        if duration is None:
            meta.duration_s = float(truth.n_times - 1)
        meta.extra["targets"] = {**spec_obj, "t0_epoch_ms": t0_ms}
        return truth
    raise UserError(where, f"targets: unknown kind {kind!r}, expected 'synthetic' or 'real'")


def check_sensors(sensors: list[Sensor], where: str) -> None:
    """Reject parameters the models cannot use (before any work)."""
    for s in sensors:
        if s.period_s <= 0:
            raise UserError(where, f"sensor {s.id}: period_s must be positive")
        if not 0.0 <= s.pd <= 1.0:
            raise UserError(where, f"sensor {s.id}: pd must be within [0, 1]")
        if s.kind == "psr" and s.clutter_per_scan > 0 and not np.isfinite(s.max_range_m) \
                and "clutter_box_m" not in s.extra:
            raise UserError(where, f"sensor {s.id}: clutter needs max_range_m or clutter_box_m")


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
