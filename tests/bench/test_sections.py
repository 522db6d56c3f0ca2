"""Other parts' benchmarks: called when importable, reported (never a crash) when not."""

from __future__ import annotations

import sys
import types

import pytest

from airpicture.bench.sections import run_part, run_part_here


def _install(monkeypatch: pytest.MonkeyPatch, part: str, run_bench: object) -> None:
    module = types.ModuleType(f"airpicture.{part}.bench")
    module.run_bench = run_bench  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"airpicture.{part}.bench", module)


def test_missing_part_is_not_available() -> None:
    section = run_part("no_such_part_xyz", quick=True)  # in a child process
    assert section["status"] == "not available" and section["rows"] == []


def test_part_runs_in_its_own_process_with_a_time_limit() -> None:
    section = run_part("no_such_part_xyz", quick=True, limit_s=0.001)
    assert section["status"] == "failed" and "stopped after" in section["note"]


def test_rows_come_back_with_the_agreed_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []

    def run_bench(quick: bool = False) -> list[dict]:
        calls.append(quick)
        return [{"name": "decode", "value": 2.0e5, "unit": "msg/s", "peer": "pyModeS",
                 "peer_value": 8.0e4, "ratio": 2.5, "extra": 1}]

    _install(monkeypatch, "fakeparta", run_bench)
    section = run_part_here("fakeparta", quick=True)
    assert calls == [True]
    assert section["status"] == "ok"
    row = section["rows"][0]
    assert row["ratio"] == 2.5 and row["notes"] is None and row["extra"] == 1


def test_failing_bench_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def run_bench(quick: bool = False) -> list[dict]:
        raise RuntimeError("decoder exploded")

    _install(monkeypatch, "fakepartb", run_bench)
    section = run_part_here("fakepartb", quick=False)
    assert section["status"] == "failed" and "decoder exploded" in section["note"]


def test_first_importable_candidate_module_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    from airpicture.bench import sections

    monkeypatch.setitem(sections.PART_MODULES, "fakepartc",
                        ("airpicture.no_such_module_q.bench", "airpicture.fakepartc_alt.bench"))
    _install(monkeypatch, "fakepartc_alt", lambda quick=False: [{"name": "x", "value": 1.0}])
    section = run_part_here("fakepartc", quick=True)
    assert section["status"] == "ok" and section["module"] == "airpicture.fakepartc_alt.bench"
    assert section["rows"][0]["value"] == 1.0
