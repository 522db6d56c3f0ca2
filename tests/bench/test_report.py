"""Ratios, targets and the written results, from made-up figures (no tracker run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.bench.report import markdown, rich_table, targets, write_results
from airpicture.bench.tracking import ratio, ratios


def _entry(plots_s: float, gospa: float, rms: float, turn_ids: int = 0,
           **kw: Any) -> dict[str, Any]:
    return {"status": "ok", "plots_per_s": plots_s, "realtime_ratio": plots_s / 10,
            "p50_ms": 1000 / plots_s, "p99_ms": 3000 / plots_s, "peak_rss_mb": 200.0,
            "score": {"gospa_m": gospa, "rms_pos_m": rms, "id_changes": 3,
                      "turning_targets": 20, "id_changes_turning": turn_ids}, **kw}


def _scenario(name: str, ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    return {"scenario": name, "airpicture": ours, "stonesoup": peer,
            "ratio": ratios(ours, peer)}


@given(st.floats(1e-3, 1e9), st.floats(1e-3, 1e9))
def test_ratio_is_ours_over_peer(a: float, b: float) -> None:
    assert ratio(a, b) == pytest.approx(a / b)


def test_ratio_of_missing_or_zero_is_none() -> None:
    assert ratio(None, 2.0) is None and ratio(1.0, 0.0) is None and ratio(1.0, None) is None


def test_ratios_only_when_both_ran() -> None:
    ours, peer = _entry(5e4, 900, 150), _entry(50, 2500, 240)
    r = ratios(ours, peer)
    assert r["plots_per_s"] == pytest.approx(1000.0)
    assert r["gospa_m"] == pytest.approx(900 / 2500)
    assert ratios({"status": "failed"}, peer)["plots_per_s"] is None


def test_time_ratios_compare_four_seconds_of_plots() -> None:
    from airpicture.bench.tracking import per_scan_ms

    scan = per_scan_ms([0.001] * 8 + [0.002] * 4, 1.0)  # three 4 s groups: 4, 4 and 8 ms
    assert scan["p50_scan_ms"] == pytest.approx(4.0)
    assert scan["p99_scan_ms"] == pytest.approx(np.percentile([4.0, 4.0, 8.0], 99))
    ours = _entry(5e4, 900, 150, p50_scan_ms=4.0, p99_scan_ms=8.0)
    r = ratios(ours, _entry(50, 2000, 200))
    assert r["p50_ms"] == pytest.approx(4.0 / (1000 / 50))
    assert r["p99_ms"] == pytest.approx(8.0 / (3000 / 50))
    assert per_scan_ms([], 1.0)["p50_scan_ms"] is None


def test_accuracy_ratio_uses_the_same_window() -> None:
    ours = _entry(5e4, 900, 150, score_window={"gospa_m": 500.0, "rms_pos_m": 100.0})
    r = ratios(ours, _entry(50, 2000, 200))
    assert r["gospa_m"] == pytest.approx(0.25) and r["rms_pos_m"] == pytest.approx(0.5)


def _result() -> dict[str, Any]:
    scenarios = [
        _scenario("crossing-100", _entry(4e4, 1500, 180), _entry(90, 3000, 250)),
        _scenario("crossing-1000", _entry(3e4, 5000, 190),
                  _entry(20, 9000, 240, extrapolated=True, lower_bound=True, scans_done=2,
                         scans_total=75, budget_s=90.0, score_note="scored on 0-8 s only")),
        _scenario("multi-sensor-4000", _entry(6e4, 8000, 120, live_tracks_end=3900),
                  {"status": "skipped", "note": "too slow"}),
    ]
    return {"created_utc": "2026-01-01T00:00:00+00:00", "quick": False,
            "machine": {"cpu": "test cpu", "cores": 2},
            "sections": {"tracker": {"status": "ok", "scenarios": scenarios,
                                     "targets": targets(scenarios)},
                         "modes": {"status": "ok", "rows": [
                             {"name": "decode DF17", "value": 2e5, "unit": "msg/s",
                              "peer": "pyModeS", "peer_value": 8e4, "ratio": 2.5}]},
                         "asterix": {"status": "not available", "note": "no module",
                                     "rows": []}}}


def test_targets_from_the_figures() -> None:
    result = _result()
    by_name = {t["target"]: t for t in result["sections"]["tracker"]["targets"]}
    speed = by_name["plots/s vs Stone Soup"]
    assert speed["scenario"] == "crossing-1000"
    assert speed["value"] == pytest.approx(3e4 / 20) and speed["met"] is True
    assert "lower bound" in speed["note"]
    assert by_name["plots/s on one core"]["met"] is True
    assert by_name["p99 time per slice (ms)"]["value"] == pytest.approx(3000 / 6e4)
    gospa = by_name["GOSPA below Stone Soup's (m)"]
    assert gospa["scenario"] == "crossing-100" and gospa["met"] is True
    assert by_name["position RMS (m)"]["met"] is True
    turns = by_name["identity changes on turning targets"]
    assert turns["met"] is True and turns["value"] == 0 and "20 turning" in turns["note"]


def test_missed_target_says_no() -> None:
    scenarios = [_scenario("crossing-100", _entry(100, 4000, 260, turn_ids=2),
                           _entry(90, 3000, 250))]
    by_name = {t["target"]: t for t in targets(scenarios)}
    assert by_name["plots/s vs Stone Soup"]["met"] is False
    assert by_name["GOSPA below Stone Soup's (m)"]["met"] is False
    assert by_name["position RMS (m)"]["met"] is False
    assert by_name["identity changes on turning targets"]["met"] is False


def test_written_results(tmp_path: Path) -> None:
    result = _result()
    js, md = write_results(result, tmp_path)
    assert json.loads(js.read_text())["sections"]["tracker"]["scenarios"][0]["scenario"] == (
        "crossing-100")
    text = md.read_text()
    assert "| crossing-1000 | stonesoup | <=20 |" in text
    assert "extrapolated from 2/75 scans (90 s budget), lower bound" in text
    assert "1,500x" in text  # crossing-1000 plots/s ratio
    assert "decode DF17" in text and "not available: no module" in text
    assert markdown(result) == text
    assert rich_table(result).row_count == 3 * 3 + 2


def test_turning_targets_found_from_truth() -> None:
    import pyarrow as pa

    from airpicture.bench.tracking import turning_targets

    t = np.arange(0.0, 60.0)
    heading = np.where(t < 20, 0.0, np.radians(3.0) * np.minimum(t - 20, 30))  # 3 deg/s, 30 s
    truth = pa.table({
        "t": np.concatenate([t, t, t]), "target_id": np.repeat([5, 6, 7], t.size),
        "vx": np.concatenate([np.full(t.size, 200.0), 200 * np.sin(heading),
                              np.full(t.size, -150.0)]),
        "vy": np.concatenate([np.zeros(t.size), 200 * np.cos(heading), np.full(t.size, 1.0)]),
    })
    assert turning_targets(truth).tolist() == [6]
