"""Presets, determinism, the `airpicture sim` command and the scenario picture."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from airpicture import cli
from airpicture.core.errors import UserError
from airpicture.core.schema import PLOTS_PARQUET, SCENARIO_JSON, TRUTH_PARQUET
from airpicture.io.scenario import read_meta, read_plots_with_truth, read_truth
from airpicture.sim import real
from airpicture.sim.picture import draw_scenario
from airpicture.sim.presets import preset_meta, simulate_preset

FILES = (SCENARIO_JSON, TRUTH_PARQUET, PLOTS_PARQUET)


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a = simulate_preset("multi-sensor-40", tmp_path / "a", seed=3, duration_s=60.0)
    b = simulate_preset("multi-sensor-40", tmp_path / "b", seed=3, duration_s=60.0)
    c = simulate_preset("multi-sensor-40", tmp_path / "c", seed=4, duration_s=60.0)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / PLOTS_PARQUET).read_bytes() != (c / PLOTS_PARQUET).read_bytes()


def test_crossing_preset_matches_the_peer_baseline(tmp_path: Path) -> None:
    folder = simulate_preset("crossing-60", tmp_path / "c", seed=1)
    meta = read_meta(folder)
    assert meta.duration_s == 300.0 and len(meta.sensors) == 1
    radar = meta.sensors[0]
    assert (radar.kind, radar.x, radar.y, radar.period_s, radar.pd, radar.clutter_per_scan,
            radar.sigma_range_m, radar.sigma_azimuth_deg) == ("psr", 0, 0, 4.0, 0.9, 10.0, 50.0,
                                                              0.1)
    assert radar.max_range_m >= np.hypot(200e3, 200e3)
    truth = read_truth(folder)
    tid = truth.column("target_id").to_numpy()
    assert np.unique(tid).size == 60 and truth.num_rows == 60 * 301  # all alive 300 s
    speed = np.hypot(truth.column("vx").to_numpy(), truth.column("vy").to_numpy())
    assert speed.min() >= 100.0 and speed.max() <= 250.0
    plots, truth_id = read_plots_with_truth(folder)
    assert np.all(np.isnan(plots.alt_ft)) and np.all(plots.icao24 == 0)
    clutter = plots.take(truth_id < 0)
    assert np.abs(clutter.x).max() <= 200e3 and np.abs(clutter.y).max() <= 200e3
    assert abs((truth_id < 0).sum() / 76 - 10.0) < 4 * np.sqrt(10.0 / 76)


def test_multi_sensor_preset_has_every_kind_and_births(tmp_path: Path) -> None:
    folder = simulate_preset("multi-sensor-200", tmp_path / "m", duration_s=120.0)
    meta = read_meta(folder)
    assert sorted(s.kind for s in meta.sensors) == ["adsb", "mlat", "psr", "psr", "ssr"]
    plots, truth_id = read_plots_with_truth(folder, meta)
    assert set(np.unique(plots.sensor_id)) == {s.id for s in meta.sensors}
    psr_ids = {s.id for s in meta.sensors if s.kind == "psr"}
    assert set(np.unique(plots.sensor_id[truth_id < 0])) == psr_ids  # clutter: PSRs only
    adsb = next(s for s in meta.sensors if s.kind == "adsb")
    assert adsb.equipage == 0.7
    assert np.all(plots.t_arrival[plots.sensor_id == adsb.id] > plots.t[plots.sensor_id == adsb.id])
    truth = read_truth(folder)
    first = {int(k): t for k, t in zip(truth.column("target_id").to_numpy()[::-1],
                                       truth.column("t").to_numpy()[::-1], strict=True)}
    assert sum(t > 0 for t in first.values()) > 20  # births during the run


def test_real_paris_uses_only_the_shipped_sample(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def no_outside_files(path: Path) -> None:
        raise AssertionError(f"read {path}")

    monkeypatch.setattr(real, "read_traffic_json", no_outside_files)
    monkeypatch.chdir(tmp_path)
    folder = simulate_preset("real-paris", tmp_path / "r", duration_s=600.0)
    meta = read_meta(folder)
    assert meta.duration_s == 600.0
    assert [s.kind for s in meta.sensors] == ["psr", "ssr", "adsb"]
    assert meta.extra["targets"]["t0_epoch_ms"] == 1633614300000
    plots, truth_id = read_plots_with_truth(folder, meta)
    truth = read_truth(folder)
    assert np.unique(truth.column("target_id").to_numpy()).size > 25
    assert truth.column("t").to_numpy().max() <= 600.0
    psr = plots.sensor_id == 1
    assert np.all(np.isnan(plots.alt_ft[psr]))
    adsb = plots.sensor_id == 3
    assert np.all(plots.alt_ft[adsb] % 25 == 0)
    assert np.mean(plots.callsign[adsb] != "") > 0.9
    np.testing.assert_array_equal(np.unique(truth_id[adsb]),
                                  np.unique(truth.column("target_id").to_numpy()))
    # full sample length by default
    assert preset_meta("real-paris").duration_s == 0.0


@pytest.mark.parametrize("name", ["crossing", "crossing-x", "paris", "multi-sensor--3"])
def test_unknown_preset(name: str, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown preset"):
        simulate_preset(name, tmp_path / "x")


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["airpicture", *argv])
    try:
        cli.main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_preset_and_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "p.png"
    code = run_cli(["sim", "crossing-10", "-o", str(tmp_path / "s"), "--seed", "2",
                    "--duration", "40", "--picture", str(png)], monkeypatch)
    assert code == 0
    assert read_meta(tmp_path / "s").duration_s == 40.0 and read_meta(tmp_path / "s").seed == 2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "scenario:" in capsys.readouterr().out


def test_cli_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "my.json"
    config.write_text(json.dumps({
        "name": "mine", "origin": {"lat": 45.0, "lon": 5.0}, "duration_s": 30,
        "sensors": [{"id": 9, "kind": "mlat", "period_s": 1.0, "pd": 1.0, "sigma_m": 20.0}],
        "targets": {"count": 5, "area_m": [-1e4, 1e4, -1e4, 1e4]}}))
    assert run_cli(["sim", "--config", str(config), "-o", str(tmp_path / "o")], monkeypatch) == 0
    plots, truth_id = read_plots_with_truth(tmp_path / "o")
    assert np.unique(truth_id).size == 5 and set(plots.sensor_id) == {9}
    assert read_meta(tmp_path / "o").extra["targets"]["count"] == 5


@pytest.mark.parametrize(("content", "message"), [
    ("{oops", "invalid JSON"),
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 5, "sensors": [{"id": 1, "kind": "x"}]}',
     "unknown kind"),
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 5, "sensors": [], "targets": {"count": -2}}',
     "'count'"),
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 5, "sensors": [], "targets": {"kind": "z"}}',
     "unknown kind 'z'"),
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 5, "sensors": [{"id": 1, "kind": "psr", '
     '"clutter_per_scan": 3}]}', "clutter needs max_range_m"),
])
def test_cli_bad_config_exits_2(content: str, message: str, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.json"
    config.write_text(content)
    assert run_cli(["sim", "--config", str(config), "-o", str(tmp_path / "o")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert message in err and str(config) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_emit_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[Path, str, float]] = []
    fake = types.ModuleType("airpicture.io.asterix.emit")
    fake.emit_scenario = lambda d, u, s: calls.append((d, u, s))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "airpicture.io.asterix.emit", fake)
    argv = ["sim", "crossing-3", "-o", str(tmp_path / "s"), "--duration", "10",
            "--emit", "asterix", "udp://127.0.0.1:9", "--speed", "5"]
    assert run_cli(argv, monkeypatch) == 0
    assert calls == [(tmp_path / "s", "udp://127.0.0.1:9", 5.0)]
    monkeypatch.setitem(sys.modules, "airpicture.io.asterix.emit", None)
    assert run_cli(argv, monkeypatch) == 2
    assert "not available" in capsys.readouterr().err


def test_picture_shows_every_sensor(tmp_path: Path) -> None:
    import matplotlib.image as mpimg

    folder = simulate_preset("multi-sensor-30", tmp_path / "m", duration_s=60.0)
    png = draw_scenario(folder, tmp_path / "pic" / "m.png")
    image = mpimg.imread(png)[..., :3]
    assert image.shape[0] > 500 and image.shape[1] > 500
    # Sensor colours appear on the map, not only in the legend (lower left): look at the top
    # 60 %, colours alone or blended with the white background (alpha 0.5-1).  ADS-B (orange)
    # is drawn first, under the radars' plots, so it is not counted.
    top = image[: int(0.6 * image.shape[0])]
    white = np.ones(3)
    for rgb in ((0.839, 0.153, 0.157), (0.122, 0.467, 0.706), (0.173, 0.627, 0.173),
                (0.580, 0.404, 0.741)):
        d = np.array(rgb) - white
        alpha = np.clip(((top - white) @ d) / (d @ d), 0.5, 1.0)
        nearest = white + alpha[..., None] * d
        close = np.all(np.abs(top - nearest) < 0.04, axis=-1)
        assert close.sum() > 30, rgb
