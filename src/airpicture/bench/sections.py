"""Other parts' benchmarks: `airpicture.<part>.bench.run_bench(quick)`, called when importable.

A part without a bench module is reported as "not available"; one whose bench raises is
reported as "failed" with the error; neither stops the other sections.
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

PART_MODULES: dict[str, tuple[str, ...]] = {
    "modes": ("airpicture.modes.bench", "airpicture.sources.bench"),
    "asterix": ("airpicture.asterix.bench", "airpicture.io.asterix.bench"),
    "service": ("airpicture.service.bench",),
    "sim": ("airpicture.sim.bench",),
    "metrics": ("airpicture.metrics.bench",),
}
"""Section name -> modules that may hold its run_bench (the first importable one is used)."""
PARTS = tuple(PART_MODULES)
ROW_KEYS = ("name", "value", "unit", "peer", "peer_value", "ratio", "notes")


def _clean_row(row: Any) -> dict[str, Any]:
    """A row as a dict with the agreed keys (missing ones None); a non-dict becomes a note."""
    if not isinstance(row, dict):
        return {"name": str(row), **dict.fromkeys(ROW_KEYS[1:])}
    out = {k: row.get(k) for k in ROW_KEYS}
    out.update({k: v for k, v in row.items() if k not in out})
    return out


def _import(module_name: str) -> tuple[ModuleType | None, str | None]:
    """(module, None), or (None, None) when it does not exist, or (None, error) when it fails."""
    try:
        return importlib.import_module(module_name), None
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None, None
        return None, f"import: {exc}"
    except Exception as exc:  # another part's import-time error: report it
        return None, f"import: {type(exc).__name__}: {exc}"


def run_part(part: str, quick: bool) -> dict[str, Any]:
    """One part's section: status ok / not available / failed, its rows and the time it took."""
    candidates = PART_MODULES.get(part, (f"airpicture.{part}.bench",))
    module = None
    for module_name in candidates:
        module, error = _import(module_name)
        if error is not None:
            return {"status": "failed", "note": error, "module": module_name, "rows": []}
        if module is not None:
            break
    if module is None:
        return {"status": "not available", "note": f"no {' or '.join(candidates)}", "rows": []}
    run_bench = getattr(module, "run_bench", None)
    if run_bench is None:
        return {"status": "not available", "note": f"{module_name} has no run_bench", "rows": []}
    start = time.perf_counter()
    try:
        rows = run_bench(quick=quick)
    except Exception as exc:  # another part's benchmark failed: report it, go on
        return {"status": "failed", "note": f"{type(exc).__name__}: {exc}"[:300], "rows": [],
                "wall_s": time.perf_counter() - start}
    return {"status": "ok", "module": module_name, "rows": [_clean_row(r) for r in rows or []],
            "wall_s": time.perf_counter() - start}
