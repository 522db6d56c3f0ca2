"""Named scenarios: `crossing-N` (the Stone Soup peer baseline), `multi-sensor-N`, `real-paris`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from airpicture.core.errors import UserError
from airpicture.core.geo import LocalFrame
from airpicture.core.sensors import Sensor
from airpicture.io.scenario import ScenarioMeta
from airpicture.sim.build import simulate_meta

PRESET_NAMES = ("crossing-N", "multi-sensor-N", "real-paris")
CROSSING_HALF_WIDTH_M = 200e3
PARIS_ORIGIN = (48.95, 2.45)
CDG = (49.0097, 2.5479)
ORLY = (48.7233, 2.3794)


def crossing_meta(n: int, seed: int, duration_s: float) -> ScenarioMeta:
    """peers.md 1.3: 400 km square, one PSR at the centre (4 s, Pd 0.9, 10 clutter/scan,
    50 m / 0.1 deg), speeds U(100, 250) m/s, 20 % turning ±3 deg/s for 30 s, all alive."""
    w = CROSSING_HALF_WIDTH_M
    radar = Sensor(id=1, kind="psr", x=0.0, y=0.0, period_s=4.0, pd=0.9, clutter_per_scan=10.0,
                   sigma_range_m=50.0, sigma_azimuth_deg=0.1, max_range_m=300e3, name="PSR centre",
                   extra={"clutter_box_m": [-w, w, -w, w]})
    targets = {"kind": "synthetic", "count": n, "area_m": [-w, w, -w, w],
               "speed_mps": [100.0, 250.0], "turn_fraction": 0.2, "turn_rate_deg_s": 3.0,
               "turn_duration_s": 30.0, "turns_per_target": 1}
    return ScenarioMeta(name=f"crossing-{n}", seed=seed, origin_lat_deg=39.0, origin_lon_deg=32.0,
                        duration_s=duration_s, sensors=[radar], extra={"targets": targets})


def multi_sensor_meta(n: int, seed: int, duration_s: float) -> ScenarioMeta:
    """Two primary radars, one Mode S radar, ADS-B (70 % equipage, latency), MLAT; targets are
    born and die during the run, turn and climb."""
    sensors = [
        Sensor(id=1, kind="psr", x=-50e3, y=-20e3, period_s=4.0, pd=0.9, clutter_per_scan=10.0,
               sigma_range_m=50.0, sigma_azimuth_deg=0.1, max_range_m=150e3, name="PSR west"),
        Sensor(id=2, kind="psr", x=60e3, y=30e3, period_s=5.0, pd=0.85, clutter_per_scan=8.0,
               sigma_range_m=60.0, sigma_azimuth_deg=0.12, max_range_m=150e3, name="PSR east",
               extra={"start_azimuth_deg": 120.0}),
        Sensor(id=3, kind="ssr", x=0.0, y=80e3, period_s=4.8, pd=0.98, sigma_range_m=30.0,
               sigma_azimuth_deg=0.05, max_range_m=300e3, name="Mode S north",
               extra={"start_azimuth_deg": 240.0, "mode_s": True}),
        Sensor(id=4, kind="adsb", period_s=1.0, pd=0.9, nacp=8, latency_s=0.5, equipage=0.7,
               name="ADS-B network", extra={"latency_jitter_s": 0.3}),
        Sensor(id=5, kind="mlat", x=0.0, y=0.0, period_s=2.0, pd=0.95, sigma_m=40.0,
               max_range_m=100e3, latency_s=0.3, name="MLAT"),
    ]
    targets = {"kind": "synthetic", "count": n, "area_m": [-150e3, 150e3, -150e3, 150e3],
               "speed_mps": [100.0, 250.0], "turn_fraction": 0.3, "turn_rate_deg_s": 3.0,
               "turn_duration_s": 30.0, "turns_per_target": 2, "climb_fraction": 0.3,
               "birth_fraction": 0.3, "death_fraction": 0.3}
    return ScenarioMeta(name=f"multi-sensor-{n}", seed=seed, origin_lat_deg=48.95,
                        origin_lon_deg=2.45, duration_s=duration_s, sensors=sensors,
                        extra={"targets": targets})


def real_paris_meta(seed: int, duration_s: float | None) -> ScenarioMeta:
    """The shipped quickstart sample (30 min around Paris) seen by a PSR at Roissy-CDG, a Mode S
    radar at Orly and ADS-B."""
    frame = LocalFrame(*PARIS_ORIGIN)
    cdg_x, cdg_y, _ = frame.to_enu(*CDG)
    orly_x, orly_y, _ = frame.to_enu(*ORLY)
    sensors = [
        Sensor(id=1, kind="psr", x=float(cdg_x), y=float(cdg_y), period_s=4.0, pd=0.9,
               clutter_per_scan=5.0, sigma_range_m=50.0, sigma_azimuth_deg=0.1,
               max_range_m=110e3, name="PSR Roissy-CDG"),
        Sensor(id=2, kind="ssr", x=float(orly_x), y=float(orly_y), period_s=5.0, pd=0.97,
               sigma_range_m=30.0, sigma_azimuth_deg=0.06, max_range_m=250e3,
               name="Mode S Orly", extra={"start_azimuth_deg": 90.0, "mode_s": True}),
        Sensor(id=3, kind="adsb", period_s=1.0, pd=0.85, nacp=9, latency_s=0.4, equipage=1.0,
               max_range_m=300e3, name="ADS-B ground stations",
               extra={"latency_jitter_s": 0.2}),
    ]
    targets: dict[str, Any] = {"kind": "real", "source": "quickstart (traffic, MIT), 30 min"}
    return ScenarioMeta(name="real-paris", seed=seed, origin_lat_deg=PARIS_ORIGIN[0],
                        origin_lon_deg=PARIS_ORIGIN[1], duration_s=duration_s or 0.0,
                        sensors=sensors, extra={"targets": targets})


def preset_meta(name: str, seed: int = 7, duration_s: float | None = None) -> ScenarioMeta:
    """The scenario description of a preset name (e.g. 'crossing-100')."""
    if duration_s is not None and duration_s <= 0:
        raise UserError(None, f"duration must be positive, got {duration_s}")
    if name == "real-paris":
        return real_paris_meta(seed, duration_s)
    match = re.fullmatch(r"(crossing|multi-sensor)-(\d+)", name)
    if not match:
        raise UserError(None, f"unknown preset {name!r}; presets: {', '.join(PRESET_NAMES)}")
    n = int(match.group(2))
    if n < 1:
        raise UserError(None, f"preset {name!r}: the number of targets must be at least 1")
    duration = 300.0 if duration_s is None else float(duration_s)
    if match.group(1) == "crossing":
        return crossing_meta(n, seed, duration)
    return multi_sensor_meta(n, seed, duration)


def simulate_preset(name: str, out_dir: Path, seed: int = 7,
                    duration_s: float | None = None) -> Path:
    """Simulate preset `name` and write its scenario folder to out_dir; returns out_dir."""
    return simulate_meta(preset_meta(name, seed, duration_s), Path(out_dir), where=name)
