"""Presets, determinism, the `airpicture sim` command and the scenario picture."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airpicture import cli
from airpicture.core.errors import UserError
from airpicture.core.schema import PLOTS_PARQUET, SCENARIO_JSON, TRUTH_PARQUET
from airpicture.io.scenario import read_meta, read_plots_with_truth, read_truth
from airpicture.sim import real
from airpicture.sim.commands import simulate_config
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
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 5, "sensors": [], '
     '"targets": {"kind": "real", "t0_epoch_ms": "noon"}}', "'t0_epoch_ms' must be a number"),
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 0, "sensors": [], '
     '"targets": {"kind": "real", "t0_epoch_ms": 2e12}}', "no trajectory data after"),
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 5, "sensors": [{"id": 1, "kind": "adsb", '
     '"nacp": 0}]}', "'nacp' is 0"),
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 5, "sensors": [{"id": 1, "kind": "ssr", '
     '"mode_s": "yes"}]}', "'mode_s' must be true or false"),
    ('{"origin": {"lat": 1, "lon": 2}, "duration_s": 9e9, "sensors": [], '
     '"targets": {"count": 100}}', "target-seconds"),
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


def test_cli_missing_trajectory_file_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "real.json"
    config.write_text('{"origin": {"lat": 1, "lon": 2}, "duration_s": 5, "sensors": [], '
                      '"targets": {"kind": "real", "path": "missing.json"}}')
    assert run_cli(["sim", "--config", str(config), "-o", str(tmp_path / "o")], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"airpicture: error: {tmp_path / 'missing.json'}: cannot read")
    assert len(err.splitlines()) == 1


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


KNOWN_KEYS = ("x", "y", "period_s", "pd", "clutter_per_scan", "sigma_range_m",
              "sigma_azimuth_deg", "max_range_m", "sigma_m", "nacp", "latency_s", "equipage",
              "range_bias_m", "range_gain", "azimuth_bias_deg", "time_bias_s",
              "start_azimuth_deg", "latency_jitter_s", "period_spread", "nic", "sil", "mode_s",
              "clutter_box_m", "unknown_key")
TARGET_KEYS = ("kind", "count", "area_m", "speed_mps", "alt_ft", "turn_fraction",
               "turn_rate_deg_s", "turn_duration_s", "turns_per_target", "birth_fraction",
               "death_fraction", "climb_fraction", "max_vrate_fpm")
ANY_VALUE = st.one_of(
    st.integers(-5, 40), st.floats(-1e3, 1e3), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3), st.none(), st.booleans(),
    st.lists(st.floats(-2e5, 2e5), max_size=5), st.sampled_from(["synthetic", "real"]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sensors=st.lists(st.fixed_dictionaries(
           {"id": st.integers(1, 5), "kind": st.sampled_from(["psr", "ssr", "adsb", "mlat"])},
           optional={k: ANY_VALUE for k in KNOWN_KEYS}), max_size=3),
       targets=st.fixed_dictionaries({}, optional={k: ANY_VALUE for k in TARGET_KEYS}),
       duration=st.one_of(st.floats(-10, 30), st.text(max_size=2)))
def test_any_config_simulates_or_is_a_user_error(tmp_path: Path, sensors: list[dict[str, object]],
                                                 targets: dict[str, object],
                                                 duration: object) -> None:
    """A scenario.json from outside either simulates or gives a UserError, never a crash."""
    config = tmp_path / "fuzz.json"
    config.write_text(json.dumps({"origin": {"lat": 48.9, "lon": 2.4}, "duration_s": duration,
                                  "sensors": sensors, "targets": targets}))
    out = tmp_path / "out"
    try:
        simulate_config(config, out, seed=1, duration_s=None)
    except UserError:
        return
    plots, truth_id = read_plots_with_truth(out)
    assert np.all(np.isfinite(plots.x)) and np.all(np.isfinite(plots.var_x))
    assert np.all(plots.var_x >= 0) and truth_id.size == len(plots)


PLAUSIBLE_SENSOR = {
    "x": st.floats(-1e5, 1e5), "y": st.floats(-1e5, 1e5), "period_s": st.floats(0.5, 12.0),
    "pd": st.floats(0.0, 1.0), "clutter_per_scan": st.floats(0.0, 20.0),
    "sigma_range_m": st.floats(0.0, 500.0), "sigma_azimuth_deg": st.floats(0.0, 1.0),
    "sigma_m": st.floats(0.0, 500.0),
    "nacp": st.integers(1, 11), "latency_s": st.floats(0.0, 5.0),
    "equipage": st.floats(0.0, 1.0), "range_bias_m": st.floats(-500.0, 500.0),
    "range_gain": st.floats(0.9, 1.1), "azimuth_bias_deg": st.floats(-1.0, 1.0),
    "time_bias_s": st.floats(-2.0, 2.0), "start_azimuth_deg": st.floats(-360.0, 360.0),
    "latency_jitter_s": st.floats(0.0, 2.0), "period_spread": st.floats(0.0, 0.9),
    "nic": st.integers(0, 11), "sil": st.integers(0, 3), "mode_s": st.booleans(),
}
PLAUSIBLE_TARGETS = {
    "count": st.integers(0, 25), "turn_fraction": st.floats(0.0, 1.0),
    "turn_rate_deg_s": st.floats(-6.0, 6.0), "turn_duration_s": st.floats(0.0, 60.0),
    "turns_per_target": st.integers(0, 3), "birth_fraction": st.floats(0.0, 1.0),
    "death_fraction": st.floats(0.0, 1.0), "climb_fraction": st.floats(0.0, 1.0),
}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sensors=st.lists(st.fixed_dictionaries(
           {"kind": st.sampled_from(["psr", "ssr", "adsb", "mlat"]),
            "max_range_m": st.floats(1e3, 5e5)}, optional=PLAUSIBLE_SENSOR), max_size=4),
       targets=st.fixed_dictionaries({}, optional=PLAUSIBLE_TARGETS),
       duration=st.floats(1.0, 60.0), seed=st.integers(0, 2**31))
def test_plausible_configs_simulate(tmp_path: Path, sensors: list[dict[str, object]],
                                    targets: dict[str, object], duration: float,
                                    seed: int) -> None:
    """Any in-range parameters simulate; plots are finite, in time, from known targets."""
    for i, sensor in enumerate(sensors):
        sensor["id"] = i + 1
    config = tmp_path / "ok.json"
    config.write_text(json.dumps({"origin": {"lat": 48.9, "lon": 2.4}, "duration_s": duration,
                                  "sensors": sensors, "targets": targets}))
    out = simulate_config(config, tmp_path / "out", seed=seed, duration_s=None)
    plots, truth_id = read_plots_with_truth(out)
    n_targets = int(targets.get("count", 10))  # type: ignore[call-overload]
    assert np.all(np.isfinite(plots.x)) and np.all(np.isfinite(plots.y))
    assert np.all(plots.var_x >= 0) and np.all(plots.var_y >= 0)
    assert np.all(plots.var_x * plots.var_y - plots.cov_xy**2 >= -1e-6 * (1 + plots.var_x**2))
    assert np.all((truth_id >= -1) & (truth_id < n_targets))
    assert np.all(plots.t <= duration + 2.0 + 1e-9) and np.all(plots.t >= -2.0 - 1e-9)


def test_config_with_real_trajectories_relative_path(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "traffic" / "trajectories" / "belevingsvlucht.json.gz"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "flight.json.gz").symlink_to(source)
    config = tmp_path / "lelystad.json"
    config.write_text(json.dumps({
        "origin": {"lat": 52.46, "lon": 5.52}, "duration_s": 300,
        "sensors": [{"id": 1, "kind": "adsb", "period_s": 1.0, "pd": 1.0, "nacp": 9}],
        "targets": {"kind": "real", "path": "data/flight.json.gz"}}))
    out = simulate_config(config, tmp_path / "out", seed=1, duration_s=None)
    meta = read_meta(out)
    assert meta.extra["targets"]["t0_epoch_ms"] == 1527693698000
    plots, truth_id = read_plots_with_truth(out, meta)
    assert len(plots) > 250 and np.all(truth_id == 0)
    assert np.unique(plots.icao24).size == 1 and plots.icao24[0] > 0
