"""Synthetic motion: speeds, exact coordinated turns, births and deaths, spec validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.errors import UserError
from airpicture.sim.motion import SyntheticSpec, synthetic_truth
from airpicture.sim.truth import sample


def heading_rad(vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    return np.unwrap(np.arctan2(vy, vx), axis=-1)


def test_speeds_are_constant_and_in_range() -> None:
    spec = SyntheticSpec(count=300, speed_mps=(100.0, 250.0), turn_fraction=0.5)
    truth = synthetic_truth(np.random.default_rng(1), spec, 120.0)
    speed = np.hypot(truth.vx_mps, truth.vy_mps)
    assert np.all(speed >= 100.0) and np.all(speed <= 250.0)
    np.testing.assert_allclose(speed, speed[:, :1] * np.ones_like(speed), rtol=1e-12)
    assert truth.n_times == 121 and truth.alive.all()


def test_coordinated_turn_is_exact() -> None:
    spec = SyntheticSpec(count=50, turn_fraction=1.0, turn_rate_deg_s=3.0, turn_duration_s=30.0)
    truth = synthetic_truth(np.random.default_rng(2), spec, 200.0)
    h = heading_rad(truth.vx_mps, truth.vy_mps)
    np.testing.assert_allclose(np.abs(h[:, -1] - h[:, 0]), np.deg2rad(90.0), atol=1e-9)
    rate = np.diff(h, axis=1)
    turning = np.abs(rate) > 1e-9
    assert np.all(turning.sum(axis=1) == 30)
    speed = np.hypot(truth.vx_mps[:, 0], truth.vy_mps[:, 0])[:, None]
    chord = np.hypot(np.diff(truth.x_m, axis=1), np.diff(truth.y_m, axis=1))
    w = np.deg2rad(3.0)
    expected = np.where(turning, 2 * speed / w * np.sin(w / 2), speed)
    np.testing.assert_allclose(chord, expected, rtol=1e-9)


def test_hermite_sampling_follows_the_arc() -> None:
    spec = SyntheticSpec(count=20, turn_fraction=1.0, turn_rate_deg_s=3.0, turn_duration_s=150.0)
    truth = synthetic_truth(np.random.default_rng(3), spec, 160.0)
    k, s = 75, 0.4  # every target is turning over [75, 76] (the turn window covers it)
    h = heading_rad(truth.vx_mps, truth.vy_mps)
    w = h[:, k + 1] - h[:, k]
    assert np.all(np.abs(np.abs(w) - np.deg2rad(3.0)) < 1e-9)
    v = np.hypot(truth.vx_mps[:, k], truth.vy_mps[:, k])
    th = h[:, k]
    x_exact = truth.x_m[:, k] + v / w * (np.sin(th + w * s) - np.sin(th))
    y_exact = truth.y_m[:, k] + v / w * (np.cos(th) - np.cos(th + w * s))
    at = sample(truth, np.arange(20), np.full(20, k + s))
    assert np.max(np.hypot(at.x_m - x_exact, at.y_m - y_exact)) < 0.01
    assert np.all(at.alive)


def test_births_and_deaths() -> None:
    spec = SyntheticSpec(count=2000, birth_fraction=0.3, death_fraction=0.4)
    truth = synthetic_truth(np.random.default_rng(4), spec, 300.0)
    alive = truth.alive
    starts = np.diff(alive.astype(int), axis=1)
    assert np.all((starts == 1).sum(axis=1) <= 1) and np.all((starts == -1).sum(axis=1) <= 1)
    born_late = ~alive[:, 0]
    died = ~alive[:, -1]
    assert abs(born_late.mean() - 0.3) < 0.05
    assert abs(died.mean() - 0.4) < 0.05
    life = alive.sum(axis=1)
    assert np.all(life[died] >= 60)
    rows = truth.to_arrow()
    assert rows.num_rows == alive.sum()
    assert np.all(np.diff(rows.column("t").to_numpy()) >= 0)


def test_identities_are_unique_24_bit() -> None:
    truth = synthetic_truth(np.random.default_rng(5), SyntheticSpec(count=5000), 10.0)
    assert np.unique(truth.icao24).size == 5000
    assert truth.icao24.min() > 0 and truth.icao24.max() < 1 << 24


@pytest.mark.parametrize(("obj", "message"), [
    ({"count": -1}, "'count'"),
    ({"count": 2.5}, "'count'"),
    ({"speed_mps": [100]}, "'speed_mps'"),
    ({"area_m": "big"}, "'area_m'"),
    ({"turn_fraction": 1.5}, "'turn_fraction' must be within"),
    ({"turn_rate_deg_s": True}, "'turn_rate_deg_s'"),
])
def test_bad_spec(obj: dict[str, object], message: str) -> None:
    with pytest.raises(UserError, match=message):
        SyntheticSpec.from_json(obj, "scenario.json")


@settings(max_examples=30, deadline=None)
@given(count=st.integers(0, 30), duration=st.floats(1.0, 200.0),
       turn=st.floats(0.0, 1.0), birth=st.floats(0.0, 1.0), death=st.floats(0.0, 1.0),
       turns=st.integers(0, 3), seed=st.integers(0, 2**32 - 1))
def test_any_valid_spec_gives_consistent_truth(count: int, duration: float, turn: float,
                                               birth: float, death: float, turns: int,
                                               seed: int) -> None:
    spec = SyntheticSpec.from_json({"count": count, "turn_fraction": turn, "birth_fraction": birth,
                                    "death_fraction": death, "turns_per_target": turns},
                                   "scenario.json")
    truth = synthetic_truth(np.random.default_rng(seed), spec, duration)
    assert truth.n_targets == count and truth.n_times == int(duration) + 1
    assert np.all(np.isfinite(truth.x_m)) and np.all(np.isfinite(truth.alt_ft))
    assert np.all(truth.alive.sum(axis=1) >= 1)
    speed = np.hypot(truth.vx_mps, truth.vy_mps)
    assert np.all((speed >= 100.0 - 1e-9) & (speed <= 250.0 + 1e-9))
