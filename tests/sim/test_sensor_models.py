"""Sensor models: errors match stated covariance, Pd, clutter, beam-crossing times, identity,
altitude quantisation, ADS-B latency and equipage, systematic errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from airpicture.core.sensors import Sensor
from airpicture.sim.motion import SyntheticSpec, synthetic_truth
from airpicture.sim.sensor_models import (
    NACP_EPU_M,
    R95_PER_SIGMA,
    SensorOutput,
    nacp_sigma_m,
    polar_covariance,
    simulate_sensor,
)
from airpicture.sim.truth import Truth, sample

DURATION_S = 120.0


def straight_truth(count: int = 400, seed: int = 11, half_m: float = 150e3) -> Truth:
    spec = SyntheticSpec(count=count, turn_fraction=0.0, area_m=(-half_m, half_m, -half_m, half_m))
    return synthetic_truth(np.random.default_rng(seed), spec, DURATION_S)


def still_truth(x_m: list[float], y_m: list[float], duration_s: float = 60.0) -> Truth:
    """Motionless targets at given positions (for exact beam-crossing times)."""
    n, m = len(x_m), int(duration_s) + 1
    return Truth(dt_s=1.0, x_m=np.repeat(np.array(x_m)[:, None], m, 1),
                 y_m=np.repeat(np.array(y_m)[:, None], m, 1), vx_mps=np.zeros((n, m)),
                 vy_mps=np.zeros((n, m)), alt_ft=np.full((n, m), 12345.0),
                 alive=np.ones((n, m), bool), icao24=np.arange(1, n + 1, dtype=np.int64),
                 callsign=np.array(["T"] * n, dtype=object), squawk=np.zeros(n, np.int16),
                 equip_u=np.zeros(n))


def errors(truth: Truth, out: SensorOutput, time_bias_s: float = 0.0) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    real = out.truth_id >= 0
    at = sample(truth, out.truth_id[real], out.plots.t[real] - time_bias_s)
    return out.plots.x[real] - at.x_m, out.plots.y[real] - at.y_m


def nees(truth: Truth, out: SensorOutput) -> np.ndarray:
    ex, ey = errors(truth, out)
    real = out.truth_id >= 0
    vx, vy, cxy = out.plots.var_x[real], out.plots.var_y[real], out.plots.cov_xy[real]
    det = vx * vy - cxy**2
    return np.asarray((vy * ex**2 - 2 * cxy * ex * ey + vx * ey**2) / det)


def chi2_ok(values: np.ndarray, dof_each: int = 2, p: float = 1e-4) -> bool:
    """Sum of NEES against the chi-square of 2n degrees of freedom, two-sided at p."""
    dof = dof_each * values.size
    total = float(values.sum())
    return bool(stats.chi2.ppf(p / 2, dof) < total < stats.chi2.ppf(1 - p / 2, dof))


PSR = Sensor(id=1, kind="psr", x=5e3, y=-3e3, period_s=4.0, pd=1.0, sigma_range_m=50.0,
             sigma_azimuth_deg=0.1, max_range_m=400e3)


def test_psr_errors_match_polar_covariance() -> None:
    truth = straight_truth()
    out = simulate_sensor(truth, PSR, DURATION_S, np.random.default_rng(1))
    values = nees(truth, out)
    assert values.size > 10_000
    assert chi2_ok(values)
    # The chi-square test can fail: the same errors against a covariance half as large.
    assert not chi2_ok(2 * values)
    # And per-plot covariances really vary (cross-range grows with range).
    assert out.plots.var_x.std() > 0.1 * out.plots.var_x.mean()


def test_psr_with_bias_fails_nees_and_bias_is_measured() -> None:
    truth = straight_truth()
    biased = Sensor(**{**PSR.__dict__, "range_bias_m": 120.0, "range_gain": 1.0005,
                       "azimuth_bias_deg": 0.05})
    out = simulate_sensor(truth, biased, DURATION_S, np.random.default_rng(1))
    assert not chi2_ok(nees(truth, out))
    real = out.truth_id >= 0
    at = sample(truth, out.truth_id[real], out.plots.t[real])
    r_true = np.hypot(at.x_m - PSR.x, at.y_m - PSR.y)
    r_meas = np.hypot(out.plots.x[real] - PSR.x, out.plots.y[real] - PSR.y)
    resid = r_meas - (1.0005 * r_true + 120.0)
    assert abs(resid.mean()) < 5 * 50.0 / np.sqrt(resid.size)
    az_err = np.angle(np.exp(1j * (np.arctan2(out.plots.x[real] - PSR.x, out.plots.y[real] - PSR.y)
                                   - np.arctan2(at.x_m - PSR.x, at.y_m - PSR.y))))
    assert abs(np.rad2deg(az_err.mean()) - 0.05) < 0.005
    # Reported covariance ignores the systematic errors: it is the nominal polar one.
    rm = np.hypot(out.plots.x - PSR.x, out.plots.y - PSR.y)
    am = np.arctan2(out.plots.x - PSR.x, out.plots.y - PSR.y)
    vx, vy, cxy = polar_covariance(rm, am, 50.0, np.deg2rad(0.1))
    np.testing.assert_allclose(out.plots.var_x, vx, rtol=1e-9)
    np.testing.assert_allclose(out.plots.var_y, vy, rtol=1e-9)
    np.testing.assert_allclose(out.plots.cov_xy, cxy, rtol=1e-9, atol=1e-9)


def test_time_bias_shifts_plot_times_only() -> None:
    truth = straight_truth(100)
    plain = simulate_sensor(truth, PSR, DURATION_S, np.random.default_rng(2))
    shifted = Sensor(**{**PSR.__dict__, "time_bias_s": 0.7})
    out = simulate_sensor(truth, shifted, DURATION_S, np.random.default_rng(2))
    np.testing.assert_allclose(out.plots.t - plain.plots.t, 0.7, atol=1e-12)
    np.testing.assert_array_equal(out.plots.x, plain.plots.x)
    assert chi2_ok(nees(truth, plain))


def test_pd_within_binomial_tolerance() -> None:
    truth = straight_truth(500)
    sensor = Sensor(**{**PSR.__dict__, "pd": 0.8})
    out = simulate_sensor(truth, sensor, DURATION_S, np.random.default_rng(3))
    n_scans = int(DURATION_S // 4.0) + 1
    # every target is inside range and alive; crossings past the end of the run are dropped
    full = simulate_sensor(truth, PSR, DURATION_S, np.random.default_rng(3))
    opportunities = len(full.plots)
    assert opportunities > 0.9 * 500 * n_scans
    p_hat = len(out.plots) / opportunities
    assert abs(p_hat - 0.8) < 4 * np.sqrt(0.8 * 0.2 / opportunities)


def test_clutter_rate_and_coverage() -> None:
    truth = still_truth([1e3], [1e3], duration_s=2000.0)
    sensor = Sensor(id=3, kind="psr", period_s=4.0, pd=1.0, clutter_per_scan=10.0,
                    sigma_range_m=50.0, sigma_azimuth_deg=0.1, max_range_m=100e3)
    out = simulate_sensor(truth, sensor, 1999.9, np.random.default_rng(4))
    false = out.truth_id < 0
    n_scans = 500
    assert abs(false.sum() - 10.0 * n_scans) < 4 * np.sqrt(10.0 * n_scans)
    r = np.hypot(out.plots.x[false], out.plots.y[false])
    assert r.max() <= 100e3
    # uniform over the disc: E[r²] = R²/2
    assert abs(np.mean(r**2) / 100e3**2 - 0.5) < 0.03
    assert np.all(out.plots.icao24[false] == 0)
    ssr = Sensor(**{**sensor.__dict__, "kind": "ssr", "id": 4})
    assert np.all(simulate_sensor(truth, ssr, 1999.9, np.random.default_rng(4)).truth_id >= 0)


@pytest.mark.parametrize("start_deg", [0.0, 45.0])
def test_beam_crossing_time_of_a_known_azimuth(start_deg: float) -> None:
    # Targets due east (90°), south (180°), north-west (315°) of the radar, motionless.
    truth = still_truth([50e3, 0.0, -30e3], [0.0, -80e3, 30e3])
    sensor = Sensor(id=1, kind="ssr", period_s=4.0, pd=1.0, sigma_range_m=1.0,
                    sigma_azimuth_deg=0.01, extra={"start_azimuth_deg": start_deg})
    out = simulate_sensor(truth, sensor, 59.0, np.random.default_rng(5))
    az_deg = np.array([90.0, 180.0, 315.0])
    for target in range(3):
        t = out.plots.t[out.truth_id == target]
        offset = ((az_deg[target] - start_deg) % 360.0) / 360.0 * 4.0
        np.testing.assert_allclose(t, np.arange(t.size) * 4.0 + offset, atol=1e-9)
    assert np.unique(out.plots.t[:3]).size == 3  # one scan's plots do not share one time


def test_beam_crossing_of_moving_targets_is_consistent() -> None:
    truth = straight_truth(300, half_m=40e3)  # close in: fast angular motion
    sensor = Sensor(id=2, kind="ssr", period_s=5.0, pd=1.0, sigma_range_m=1e-6,
                    sigma_azimuth_deg=1e-9, extra={"start_azimuth_deg": 10.0})
    out = simulate_sensor(truth, sensor, DURATION_S, np.random.default_rng(6))
    at = sample(truth, out.truth_id, out.plots.t)
    target_az = np.arctan2(at.x_m, at.y_m)
    beam_az = np.deg2rad(10.0) + 2 * np.pi * out.plots.t / 5.0
    gap = np.angle(np.exp(1j * (target_az - beam_az)))
    assert np.max(np.abs(gap)) < 1e-5
    # Exactly one plot per crossing: the beam-to-target angle grows monotonically, so a
    # target has one crossing per whole turn of it between t = 0 and the end of the run.
    ends = sample(truth, np.repeat(np.arange(300), 2), np.tile([0.0, DURATION_S], 300))
    phi = (np.deg2rad(10.0) + 2 * np.pi * np.tile([0.0, DURATION_S], 300) / 5.0
           - np.arctan2(ends.x_m, ends.y_m)).reshape(300, 2)
    phi[:, 1] = phi[:, 0] + np.mod(phi[:, 1] - phi[:, 0] + np.pi, 2 * np.pi) - np.pi \
        + 2 * np.pi * round(DURATION_S / 5.0)
    expected = np.floor(phi[:, 1] / (2 * np.pi)) - np.ceil(phi[:, 0] / (2 * np.pi)) + 1
    np.testing.assert_array_equal(np.bincount(out.truth_id, minlength=300), expected)


def test_max_range_and_identity_and_altitude() -> None:
    truth = straight_truth(300, half_m=200e3)
    ssr = Sensor(id=2, kind="ssr", period_s=4.0, pd=1.0, sigma_range_m=30.0,
                 sigma_azimuth_deg=0.05, max_range_m=120e3)
    out = simulate_sensor(truth, ssr, DURATION_S, np.random.default_rng(7))
    at = sample(truth, out.truth_id, out.plots.t)
    assert np.hypot(at.x_m, at.y_m).max() <= 120e3
    np.testing.assert_array_equal(out.plots.icao24, truth.icao24[out.truth_id])
    assert np.all(out.plots.alt_ft % 25.0 == 0)
    assert np.all(np.abs(out.plots.alt_ft - at.alt_ft) <= 12.5)
    modec = Sensor(**{**ssr.__dict__, "extra": {"mode_s": False}})
    out_c = simulate_sensor(truth, modec, DURATION_S, np.random.default_rng(7))
    assert np.all(out_c.plots.alt_ft % 100.0 == 0) and np.all(out_c.plots.icao24 == 0)
    psr = simulate_sensor(truth, Sensor(**{**ssr.__dict__, "kind": "psr"}), DURATION_S,
                          np.random.default_rng(7))
    assert np.all(np.isnan(psr.plots.alt_ft)) and np.all(psr.plots.icao24 == 0)


def test_adsb_noise_from_nacp_latency_and_equipage() -> None:
    truth = straight_truth(1000)
    sensor = Sensor(id=4, kind="adsb", period_s=1.0, pd=0.9, nacp=8, latency_s=0.5,
                    equipage=0.7, extra={"latency_jitter_s": 0.2, "nic": 7, "sil": 2})
    out = simulate_sensor(truth, sensor, DURATION_S, np.random.default_rng(8))
    sigma = NACP_EPU_M[8] / R95_PER_SIGMA
    assert nacp_sigma_m(8) == pytest.approx(92.6 / 2.4477, rel=1e-4)
    np.testing.assert_allclose(out.plots.var_x, sigma**2)
    values = nees(truth, out)
    assert chi2_ok(values)
    ex, ey = errors(truth, out)
    assert np.mean(np.hypot(ex, ey) <= NACP_EPU_M[8]) == pytest.approx(0.95, abs=0.005)
    equipped = np.unique(out.truth_id).size / truth.n_targets
    assert abs(equipped - 0.7) < 4 * np.sqrt(0.21 / 1000)
    delay = out.plots.t_arrival - out.plots.t
    assert delay.min() >= 0.5 and abs(delay.mean() - 0.7) < 0.01
    assert set(np.unique(out.plots.nacp)) == {8} and set(np.unique(out.plots.nic)) == {7}
    assert set(np.unique(out.plots.sil)) == {2}
    # per-aircraft period: about one report a second, reception 0.9
    per_target = np.bincount(out.truth_id)[np.unique(out.truth_id)]
    assert abs(per_target.mean() / DURATION_S - 0.9) < 0.05
    np.testing.assert_array_equal(out.plots.icao24, truth.icao24[out.truth_id])
    assert np.all(out.plots.alt_ft % 25.0 == 0)


def test_mlat_noise_coverage_and_identity() -> None:
    truth = straight_truth(500)
    sensor = Sensor(id=5, kind="mlat", x=0.0, y=0.0, period_s=2.0, pd=1.0, sigma_m=40.0,
                    max_range_m=100e3)
    out = simulate_sensor(truth, sensor, DURATION_S, np.random.default_rng(9))
    assert chi2_ok(nees(truth, out))
    at = sample(truth, out.truth_id, out.plots.t)
    assert np.hypot(at.x_m, at.y_m).max() <= 100e3
    np.testing.assert_array_equal(out.plots.icao24, truth.icao24[out.truth_id])
    assert np.all(np.isnan(out.plots.t_arrival))
    dt = np.diff(out.plots.t[out.truth_id == out.truth_id[0]])
    np.testing.assert_allclose(dt, 2.0, atol=1e-9)
