"""Child process that runs one tracker on one scenario and writes its run stats as JSON.

Usage: python -m airpicture.bench.tracker_child SCENARIO TRACKS_OUT STATS_JSON [MODULE:FUNCTION]
The function has track_scenario's signature, `(scenario_dir, out_path) -> dict`.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_TRACKER = "airpicture.tracker.run:track_scenario"


def load_function(spec: str) -> Callable[..., Any]:
    """The callable named by 'package.module:function'."""
    module_name, _, func_name = spec.partition(":")
    if not func_name:
        raise ValueError(f"tracker spec {spec!r} is not 'module:function'")
    func: Callable[..., Any] = getattr(importlib.import_module(module_name), func_name)
    return func


def _jsonable(value: Any) -> Any:
    """Run stats as plain JSON values (numpy arrays and scalars included)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def main(argv: list[str]) -> int:
    """Run the tracker, time the call, write stats (with the call's wall time) to STATS_JSON."""
    scenario, tracks_out, stats_out = (Path(a) for a in argv[:3])
    spec = argv[3] if len(argv) > 3 else DEFAULT_TRACKER
    func = load_function(spec)
    start = time.perf_counter()
    stats = func(scenario, tracks_out)
    call_wall_s = time.perf_counter() - start
    out = {"tracker": spec, "call_wall_s": call_wall_s, "stats": _jsonable(stats or {})}
    stats_out.write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
