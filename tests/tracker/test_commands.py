"""`airpicture track`, TrackerConfig (files, flags, per-scenario defaults) and track_scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from airpicture.cli import app
from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.io.scenario import ScenarioMeta, read_tracks, write_scenario
from airpicture.tracker.config import TrackerConfig, load_config_file
from airpicture.tracker.run import track_scenario
from tests.tracker.gen import adsb, adsb_plots, psr, radar_plots, trajectories


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(12)
    t, states = trajectories(6, 60.0, rng, area_m=50e3)
    icao = np.arange(0x500000, 0x500006, dtype=np.int64)
    radar, tid_r = radar_plots(t, states, rng, clutter=2.0, area_m=60e3)
    ads, tid_a = adsb_plots(t, states, rng, icao, latency_s=0.7)
    plots = PlotBatch.concat([radar, ads])
    truth_id = np.concatenate([tid_r, tid_a])
    idx = np.repeat(np.arange(6), t.size)
    flat = states.reshape(-1, 4)
    truth = pa.table({"t": np.tile(t, 6), "target_id": idx, "x": flat[:, 0], "y": flat[:, 1],
                      "vx": flat[:, 2], "vy": flat[:, 3]})
    meta = ScenarioMeta(name="unit", seed=12, origin_lat_deg=48.0, origin_lon_deg=2.0,
                        duration_s=60.0, sensors=[psr(clutter=2.0), adsb()],
                        extra={"future_key": {"a": 1}})
    folder = tmp_path_factory.mktemp("scen")
    write_scenario(folder, meta, truth, plots, truth_id)
    return folder


def test_track_scenario_writes_tracks_and_stats(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "tracks.parquet"
    stats = track_scenario(scenario, out)
    table = read_tracks(out)
    assert table.num_rows == stats["track_rows"] > 0
    conf = table.filter(table.column("confirmed"))
    assert len(set(conf.column("track_id").to_pylist())) == 6
    assert stats["plots_in"] == stats["plots"]
    assert stats["plots_late"] == 0 and stats["plots_rejected"] == 0
    assert stats["plots_per_s"] > 0 and len(stats["slice_times_s"]) == stats["slices"]
    assert set(conf.column("sensor_mask").to_pylist()) <= {1, 2, 3}


def test_cli_track_prints_a_summary(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.parquet"
    stats = tmp_path / "s.json"
    sensors = tmp_path / "sensors.json"
    res = CliRunner().invoke(app, ["track", str(scenario), "-o", str(out), "--q-cv", "1.0",
                                   "--stats-json", str(stats), "--sensors-out", str(sensors)])
    assert res.exit_code == 0, res.output
    assert "plots/s" in res.output and out.exists()
    assert json.loads(stats.read_text())["plots_in"] > 0
    learned = json.loads(sensors.read_text())["sensors"]
    assert [s["id"] for s in learned] == [1, 2]
    assert learned[1]["period_s"] == pytest.approx(1.0, rel=0.05)  # ADS-B every second
    assert {"pd", "sigma_range_m", "sigma_azimuth_deg", "sigma_m", "n_plots",
            "period_source"} <= set(learned[0])


def test_cli_bad_input_is_one_line_and_exit_2(scenario: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[tracker]\nno_such_setting = 3\n")
    for args in (["track", str(tmp_path / "nope")],
                 ["track", str(scenario), "--config", str(bad), "-o", str(tmp_path / "x")]):
        proc = subprocess.run([sys.executable, "-m", "airpicture", *args],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1


def test_config_from_file_and_validation(tmp_path: Path) -> None:
    base = TrackerConfig()
    f = tmp_path / "c.toml"
    f.write_text("[tracker]\nq_cv = 2.5\nconfirm_hits_psr = 5\nimm = false\n")
    cfg = load_config_file(f, base)
    assert cfg.q_cv == 2.5 and cfg.confirm_hits_psr == 5 and cfg.imm is False
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"slice_s": 0.5}))
    assert load_config_file(j, base).slice_s == 0.5
    for values in ({"slice_s": -1}, {"confirm_hits_psr": 2.5}, {"q_cv": "x"},
                   {"gate_prob": 1.5}, {"imm": 1}):
        with pytest.raises(UserError):
            base.with_overrides(values)
    broken = tmp_path / "b.toml"
    broken.write_text("q_cv = = 1")
    with pytest.raises(UserError):
        load_config_file(broken, base)


def test_for_scenario_reads_sensor_periods_and_clutter() -> None:
    meta = ScenarioMeta(name="m", seed=1, origin_lat_deg=0, origin_lon_deg=0, duration_s=10,
                        sensors=[psr(period_s=5.0, clutter=80.0), adsb(period_s=0.5)])
    cfg = TrackerConfig.for_scenario(meta)
    assert cfg.period_of(1) == 5.0 and cfg.period_of(2) == 0.5
    assert cfg.confirm_hits_psr > TrackerConfig().confirm_hits_psr
    quiet = ScenarioMeta(name="m", seed=1, origin_lat_deg=0, origin_lon_deg=0, duration_s=10,
                         sensors=[psr(clutter=0.0)])
    assert TrackerConfig.for_scenario(quiet).confirm_hits_psr == TrackerConfig().confirm_hits_psr
