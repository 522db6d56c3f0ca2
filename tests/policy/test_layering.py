"""Layering: the tracker knows no policy; release rules are applied above it (commands/,
service/), and policy/ runs trackers only through a factory it is given."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "airpicture"


def _imports(folder: Path) -> dict[str, set[str]]:
    """Modules each file imports at run time (imports under `if TYPE_CHECKING:` left out)."""
    out: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for node in ast.walk(tree)
                       if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                       and node.test.id == "TYPE_CHECKING" for n in ast.walk(node)}
        names: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        out[str(path.relative_to(SRC))] = names
    return out


def test_tracker_imports_no_policy() -> None:
    for module, names in _imports(SRC / "tracker").items():
        assert not any(n.startswith("airpicture.policy") for n in names), module


def test_policy_imports_no_tracker_at_run_time() -> None:
    imports = _imports(SRC / "policy")
    assert "airpicture.tracker.runtime" not in imports["policy/classes.py"]
    for module, names in imports.items():
        assert not any(n.startswith("airpicture.tracker") for n in names), module
