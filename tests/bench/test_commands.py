"""`airpicture bench` end to end on the quick scenarios, and its user errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TRACKER_KEYS = {"status", "plots_per_s", "realtime_ratio", "p50_ms", "p99_ms", "peak_rss_mb",
                "score", "full_run_s", "extrapolated"}
RATIO_KEYS = {"plots_per_s", "realtime_ratio", "p50_ms", "p99_ms", "peak_rss_mb", "gospa_m",
              "rms_pos_m", "id_changes"}


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "airpicture", "bench", *args],
                          capture_output=True, text=True, timeout=400)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench")
    proc = _bench("--quick", "--only", "tracker", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    return out, json.loads((out / "latest.json").read_text()), proc.stdout


@pytest.mark.slow
@pytest.mark.peer
def test_quick_run_writes_expected_keys(quick_run: tuple[Path, dict[str, Any], str]) -> None:
    out, result, stdout = quick_run
    assert result["quick"] is True and set(result["sections"]) == {"tracker"}
    section = result["sections"]["tracker"]
    assert [s["scenario"] for s in section["scenarios"]] == ["crossing-20", "multi-sensor-40"]
    for sc in section["scenarios"]:
        assert sc["plots"] > 0 and sc["duration_s"] > 0
        for who in ("airpicture", "stonesoup"):
            assert sc[who]["status"] == "ok", sc[who]
            assert set(sc[who]) >= TRACKER_KEYS
            assert 10.0 < sc[who]["peak_rss_mb"] < 4096.0
            assert sc[who]["plots_per_s"] > 0 and sc[who]["p99_ms"] >= sc[who]["p50_ms"]
        assert set(sc["ratio"]) == RATIO_KEYS
    crossing = section["scenarios"][0]["airpicture"]["score"]
    assert crossing["turning_targets"] >= 0 and "id_changes_turning" in crossing
    stamps = [sc["stonesoup"]["config"]["stamp"] for sc in section["scenarios"]]
    assert stamps == ["plot", "scan"]  # accuracy scenario: plot times; speed one: scan times
    assert {t["target"] for t in section["targets"]} >= {"plots/s vs Stone Soup",
                                                         "plots/s on one core"}
    assert (out / "latest.md").read_text().startswith("# airpicture bench (quick)")
    assert "airpicture/SS" in stdout


@pytest.mark.slow
@pytest.mark.peer
def test_ratios_come_from_the_measured_figures(
        quick_run: tuple[Path, dict[str, Any], str]) -> None:
    for sc in quick_run[1]["sections"]["tracker"]["scenarios"]:
        ours, peer = sc["airpicture"], sc["stonesoup"]
        for key in ("plots_per_s", "peak_rss_mb"):
            assert sc["ratio"][key] == pytest.approx(ours[key] / peer[key])
        # time per 4 s of plots on both sides: airpicture's slices summed, Stone Soup's scans
        assert sc["ratio"]["p99_ms"] == pytest.approx(ours["p99_scan_ms"] / peer["p99_ms"])
        assert ours["p99_scan_ms"] >= ours["p99_ms"]
        assert peer["plots_per_s"] == pytest.approx(sc["plots"] / peer["full_run_s"])
        assert ours["realtime_ratio"] == pytest.approx(sc["duration_s"] / ours["full_run_s"])


@pytest.mark.slow
@pytest.mark.peer
def test_budget_stopped_peer_is_extrapolated_and_says_so(
        quick_run: tuple[Path, dict[str, Any], str]) -> None:
    out, result, _ = quick_run
    multi = result["sections"]["tracker"]["scenarios"][1]["stonesoup"]
    assert multi["extrapolated"] and multi["scans_done"] < multi["scans_total"]
    assert multi["full_run_s"] > multi["wall_s"]
    assert multi["score_note"].startswith("not scored: a speed run")  # scan-stamped
    assert "extrapolated from" in (out / "latest.md").read_text()


@pytest.mark.slow
@pytest.mark.peer
def test_cached_scenarios_are_reused(quick_run: tuple[Path, dict[str, Any], str]) -> None:
    from airpicture.bench.scenarios import QUICK, ensure_scenario

    out = quick_run[0]
    first = ensure_scenario(QUICK[0], out / "scenarios")
    mtime = (first / "plots.parquet").stat().st_mtime_ns

    def fail(*args: object) -> Path:
        raise AssertionError("regenerated a cached scenario")

    assert ensure_scenario(QUICK[0], out / "scenarios", factory=fail) == first
    assert (first / "plots.parquet").stat().st_mtime_ns == mtime


def test_unknown_section_is_a_user_error(tmp_path: Path) -> None:
    proc = _bench("--only", "tracker,nonsense", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "nonsense" in proc.stderr


def test_missing_scenario_dir_is_a_user_error(tmp_path: Path) -> None:
    proc = _bench("--scenario-dir", str(tmp_path / "nope"), "--out", str(tmp_path))
    assert proc.returncode == 2 and "not a folder" in proc.stderr
