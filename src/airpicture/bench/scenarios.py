"""The benchmark's scenarios: which presets, generated once into a cache folder and reused.

Scenarios come from airpicture.sim.presets.simulate_preset; a cached folder is reused while the
preset, seed, duration and the simulator's source are unchanged.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from airpicture.core.errors import UserError
from airpicture.core.schema import PLOTS_PARQUET, SCENARIO_JSON, TRUTH_PARQUET

SEED = 7
KEY_FILE = "bench-key.json"

ScenarioFactory = Callable[[str, Path, int, float | None], Path]
"""(preset name, out_dir, seed, duration_s or None) -> scenario folder."""


@dataclass(frozen=True)
class BenchScenario:
    """One benchmark scenario and how long Stone Soup may run on it (None: not run).

    stonesoup_stamp: the time its Detections carry, "plot" (the plot's own time: its most
    accurate use, for the accuracy comparison) or "scan" (the 4 s scan start: its fastest use,
    for the speed comparison, as peers.md measured it).
    """

    preset: str
    duration_s: float | None
    stonesoup_budget_s: float | None
    why_no_stonesoup: str = ""
    stonesoup_stamp: str = "plot"

    @property
    def key(self) -> str:
        """Cache folder name: preset, seed and duration."""
        dur = "default" if self.duration_s is None else f"{self.duration_s:g}s"
        return f"{self.preset}-seed{SEED}-{dur}"


FULL: tuple[BenchScenario, ...] = (
    BenchScenario("crossing-100", None, 210.0),
    BenchScenario("crossing-300", None, 90.0, stonesoup_stamp="scan"),
    BenchScenario("crossing-1000", None, 90.0, stonesoup_stamp="scan"),
    BenchScenario("multi-sensor-4000", None, None,
                  "cost grows as tracks x plots: one scan of 4,000 aircraft would take hours"),
)
QUICK: tuple[BenchScenario, ...] = (
    BenchScenario("crossing-20", 60.0, 20.0),
    BenchScenario("multi-sensor-40", 40.0, 3.0, stonesoup_stamp="scan"),
)


def simulate(preset: str, out_dir: Path, seed: int, duration_s: float | None) -> Path:
    """Default factory: the project's simulator (imported only when a scenario is needed)."""
    try:
        from airpicture.sim.presets import simulate_preset
    except ImportError as exc:
        raise UserError(None, f"the simulator is not available ({exc}); "
                              "pass --scenario-dir with ready scenario folders") from None
    return Path(simulate_preset(preset, out_dir, seed=seed, duration_s=duration_s))


def _sim_source_hash() -> str:
    """Hash of the simulator package's sources, so a changed simulator regenerates the cache."""
    spec = importlib.util.find_spec("airpicture.sim")
    if spec is None or not spec.submodule_search_locations:
        return "none"
    digest = hashlib.sha256()
    for root in spec.submodule_search_locations:
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def is_scenario(folder: Path) -> bool:
    """Whether folder holds the three files of an airpicture-scenario/1."""
    return all((folder / f).exists() for f in (SCENARIO_JSON, TRUTH_PARQUET, PLOTS_PARQUET))


def ensure_scenario(sc: BenchScenario, cache_dir: Path, given_dir: Path | None = None,
                    factory: ScenarioFactory = simulate) -> Path:
    """A ready scenario folder: given_dir/<preset> if present, else the cache, else generated."""
    if given_dir is not None and is_scenario(given_dir / sc.preset):
        return given_dir / sc.preset
    folder = cache_dir / sc.key
    key = {"preset": sc.preset, "seed": SEED, "duration_s": sc.duration_s,
           "sim": _sim_source_hash()}
    key_path = folder / KEY_FILE
    if key_path.exists() and json.loads(key_path.read_text()).get("key") == key:
        scenario = folder / json.loads(key_path.read_text())["scenario"]
        if is_scenario(scenario):
            return scenario
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    scenario = factory(sc.preset, folder / "scenario", SEED, sc.duration_s)
    key_path.write_text(json.dumps({"key": key, "scenario": str(scenario.relative_to(folder))}))
    return scenario


def truncate_scenario(src: Path, dst: Path, t_max_s: float) -> Path:
    """A copy of src holding only truth and plots with t <= t_max_s (for scoring a partial run)."""
    dst.mkdir(parents=True, exist_ok=True)
    meta = json.loads((src / SCENARIO_JSON).read_text())
    meta["duration_s"] = min(float(meta["duration_s"]), t_max_s)
    (dst / SCENARIO_JSON).write_text(json.dumps(meta, indent=2))
    for name in (TRUTH_PARQUET, PLOTS_PARQUET):
        table = pq.read_table(src / name)
        pq.write_table(table.filter(pc.less_equal(table.column("t"), t_max_s)), dst / name)
    return dst
