"""Other parts' benchmarks: `airpicture.<part>.bench.run_bench(quick)`, called when importable.

A part without a bench module is reported as "not available"; one whose bench raises is
reported as "failed" with the error; neither stops the other sections.  Each part runs in its
own process (`python -m airpicture.bench.sections PART quick|full OUT.json`), so that a crash
or a leak there cannot touch the others' figures.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from airpicture.bench.child import ONE_CORE_ENV

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


def run_part_here(part: str, quick: bool) -> dict[str, Any]:
    """One part's section in this process: status ok / not available / failed, rows, time."""
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


PART_LIMIT_S = 600.0


def run_part(part: str, quick: bool, limit_s: float = PART_LIMIT_S) -> dict[str, Any]:
    """One part's section, run in a child process; a crash or overrun becomes "failed"."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "section.json"
        argv = [sys.executable, "-m", "airpicture.bench.sections", part,
                "quick" if quick else "full", str(out)]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=limit_s,
                                  env={**os.environ, **ONE_CORE_ENV})
        except subprocess.TimeoutExpired:
            return {"status": "failed", "note": f"stopped after {limit_s:g} s", "rows": []}
        if out.exists():
            result: dict[str, Any] = json.loads(out.read_text())
            return result
        last = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return {"status": "failed", "note": f"crashed: {last}"[:300], "rows": []}


def main(argv: list[str]) -> int:
    """Child entry point: PART quick|full OUT.json."""
    part, mode, out = argv[0], argv[1], Path(argv[2])
    out.write_text(json.dumps(run_part_here(part, mode == "quick"), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
