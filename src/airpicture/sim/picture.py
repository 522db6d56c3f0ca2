"""A picture of a scenario: truth lines and every sensor's plots on a km map (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from airpicture.core.geo import LocalFrame
from airpicture.io.scenario import read_meta, read_plots_with_truth, read_truth

SENSOR_COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:brown",
                  "tab:pink", "tab:olive", "tab:cyan")
MAX_POINTS_PER_SENSOR = 200_000


def _truth_lines(x_m: np.ndarray, y_m: np.ndarray, target: np.ndarray) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """Truth as one polyline per target, separated by NaN (one plot call for all targets)."""
    order = np.lexsort((np.arange(target.size), target))
    x, y, tgt = x_m[order], y_m[order], target[order]
    breaks = np.flatnonzero(np.diff(tgt) != 0) + 1
    return np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan)


def _geo_axes(ax: plt.Axes, frame: LocalFrame) -> None:
    """Secondary axes labelled in longitude (top) and latitude (right) along the frame's axes."""
    def x_to_lon(x_km: Any) -> Any:
        return frame.ground_to_geodetic(np.asarray(x_km) * 1e3, np.zeros_like(x_km))[1]

    def lon_to_x(lon: Any) -> Any:
        return frame.to_enu(np.full_like(lon, frame.lat0_deg), lon)[0] / 1e3

    def y_to_lat(y_km: Any) -> Any:
        return frame.ground_to_geodetic(np.zeros_like(y_km), np.asarray(y_km) * 1e3)[0]

    def lat_to_y(lat: Any) -> Any:
        return frame.to_enu(lat, np.full_like(lat, frame.lon0_deg))[1] / 1e3

    ax.secondary_xaxis("top", functions=(x_to_lon, lon_to_x)).set_xlabel("longitude (deg)")
    ax.secondary_yaxis("right", functions=(y_to_lat, lat_to_y)).set_ylabel("latitude (deg)")


def draw_scenario(scenario_dir: Path, out_png: Path) -> Path:
    """Draw truth and every sensor's plots (clutter faint) with sensor sites; returns out_png."""
    scenario_dir, out_png = Path(scenario_dir), Path(out_png)
    meta = read_meta(scenario_dir)
    truth = read_truth(scenario_dir)
    plots, truth_id = read_plots_with_truth(scenario_dir, meta)
    fig, ax = plt.subplots(figsize=(11, 10), dpi=110)
    rng = np.random.default_rng(0)
    counts = [int(np.sum(plots.sensor_id == s.id)) for s in meta.sensors]
    for i in np.argsort(counts, kind="stable")[::-1]:
        sensor = meta.sensors[i]
        colour = SENSOR_COLOURS[i % len(SENSOR_COLOURS)]
        mine = np.flatnonzero(plots.sensor_id == sensor.id)
        if mine.size > MAX_POINTS_PER_SENSOR:
            mine = np.sort(rng.choice(mine, MAX_POINTS_PER_SENSOR, replace=False))
        real, false = mine[truth_id[mine] >= 0], mine[truth_id[mine] < 0]
        label = f"{sensor.id} {sensor.kind} {sensor.name}".strip() + f" ({real.size} plots)"
        ax.scatter(plots.x[real] / 1e3, plots.y[real] / 1e3, s=3, color=colour, alpha=0.6,
                   linewidths=0, label=label, rasterized=True)
        if false.size:
            ax.scatter(plots.x[false] / 1e3, plots.y[false] / 1e3, s=2, color=colour,
                       alpha=0.15, marker="x", linewidths=0.5, rasterized=True,
                       label=f"{sensor.id} clutter ({false.size})")
        if sensor.kind != "adsb":
            ax.plot(sensor.x / 1e3, sensor.y / 1e3, marker="^", ms=11, color=colour,
                    markeredgecolor="black", linestyle="none")
    x = truth.column("x").to_numpy()
    y = truth.column("y").to_numpy()
    lx, ly = _truth_lines(x, y, truth.column("target_id").to_numpy())
    n_targets = len(np.unique(truth.column("target_id").to_numpy()))
    ax.plot(lx / 1e3, ly / 1e3, color="black", lw=0.5, alpha=0.6,
            label=f"truth ({n_targets} targets)")
    ax.set_xlabel("east (km)")
    ax.set_ylabel("north (km)")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    _geo_axes(ax, meta.frame)
    ax.set_title(f"{meta.name or scenario_dir.name}: {meta.duration_s:.0f} s, "
                 f"{len(plots)} plots, origin {meta.origin_lat_deg:.3f}, "
                 f"{meta.origin_lon_deg:.3f}", pad=30)
    ax.legend(loc="lower left", fontsize=8, markerscale=6, framealpha=0.85)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    plt.close(fig)
    return out_png
