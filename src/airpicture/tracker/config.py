"""Tracker settings: one dataclass, defaults per scenario sensor mix, overrides from TOML/JSON."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airpicture.core.errors import UserError

if TYPE_CHECKING:
    from airpicture.io.scenario import ScenarioMeta

CONFIG_VERSION = 1


@dataclass
class TrackerConfig:
    """Every tunable of the tracker, in SI units (metres, seconds, radians)."""

    # Time
    slice_s: float = 1.0
    """Plots are processed in time slices of this length on a fixed grid (k * slice_s)."""
    late_window_s: float = 4.0
    """A slice is processed once the stream has advanced this far past its end."""
    # IMM: constant velocity (low noise) + coordinated turn (turn-rate state)
    imm: bool = True
    """False: a single constant-velocity Kalman filter with q_cv (for comparison)."""
    q_cv: float = 0.2
    """White-noise acceleration density of the CV model, m^2/s^3."""
    q_ct: float = 8.0
    """White-noise acceleration density of the CT model, m^2/s^3."""
    q_turn: float = 1e-3
    """Turn-rate random-walk density of the CT model, rad^2/s^3."""
    q_cv_high: float = 30.0
    """A third model, CV with this high noise density (0: not used), for abrupt manoeuvres."""
    mu0_cv_high: float = 0.1
    """Initial probability of the high-noise CV model when it is used."""
    mode_hold_s: float = 120.0
    """Mean sojourn time in a motion mode; gives the IMM switching probabilities."""
    mu0_ct: float = 0.2
    """Initial probability of the turn model for a new track."""
    turn_sigma0_rad_s: float = 0.05
    """Initial turn-rate standard deviation of a new track."""
    # Gating and association
    gate_prob: float = 0.99999
    """Chi-square (2 dof) gate probability on the Mahalanobis distance."""
    q_gate: float = 300.0
    """Acceleration noise density (m^2/s^3) that widens a track's gate with time since its last
    update: room for a manoeuvre the filter has not seen yet."""
    gate_prob_tentative: float = 0.999
    """Gate probability of tentative tracks (tighter: clutter must not feed them)."""
    q_gate_tentative: float = 10.0
    """Gate widening noise density of tentative tracks, m^2/s^3."""
    max_gate_radius_m: float = 15000.0
    """Cap on the spatial pre-gate radius."""
    identity_gate_sigma: float = 12.0
    """A plot with the track's own icao24 is associated up to this many standard deviations
    (beyond it: identity mismatch, flagged); real trajectories jitter more than models."""
    identity_bonus: float = 50.0
    """Cost bonus for a plot whose icao24 equals the track's: identity wins inside the gate."""
    # Initiation
    v_max_mps: float = 400.0
    """Fastest target considered by two-point initiation."""
    v_min_mps: float = 0.0
    """Slowest target considered by two-point initiation."""
    pair_min_dt_s: float = 0.5
    pair_max_dt_s: float = 12.0
    """A lone plot waits this long for a partner before it is dropped (and counted)."""
    # Track life
    confirm_hits_psr: int = 3
    """Hits (initiation pair included) a track from primary plots only needs to confirm."""
    confirm_hits_id: int = 3
    """Hits from plots carrying an identity (SSR, ADS-B, MLAT) needed to confirm."""
    confirm_on_identity_pair: bool = True
    """Two plots carrying the same Mode S address (two scans or two sensors) confirm a
    track at once, unless a confirmed track already holds that address."""
    tentative_max_misses: int = 1
    """A tentative track is dropped after this many expected updates in a row are missed (+1)."""
    coast_after_periods: float = 1.5
    """A confirmed track not updated for this many sensor periods is coasting."""
    delete_after_periods: float = 5.5
    """A confirmed track not updated for this many sensor periods is deleted ..."""
    delete_min_s: float = 4.0
    """... but never sooner than this."""
    delete_miss_prob: float = 1e-6
    """> 0: a confirmed track is deleted as soon as a live aircraft would have given no plot
    for that long with at most this probability, from the detection probabilities and periods
    of the sensors that were updating it (never later than the period rule above, never
    sooner than delete_min_s). 0: the period rule alone."""
    out_of_coverage_periods: float = 1.0
    """> 0: a confirmed track predicted outside every sensor's coverage (max_range_m of the
    sensors that have one; sensors without one count only while they update the track) is
    deleted after this many expected updates without a plot (delete_min_s does not apply).
    0: no coverage rule."""
    learn_coverage_plots: int = 1000
    """A radar (psr, ssr) configured without max_range_m gets a coverage 5 % past the
    farthest plot it gave on a confirmed track, once it gave this many (0: never)."""
    learn_sensors: bool = True
    """Use each sensor's learned period and detection probability (tracker/learn.py) for
    coasting, deletion and confirmation once learned; False: the configured priors only."""
    learn_min_samples: int = 30
    """Revisit gaps / residuals a sensor needs before a learned value replaces its prior."""
    learned_pd_max: float = 0.95
    """Cap on a learned detection probability where the deleter uses it: real misses come in
    runs (fades, blind speeds, masking), so an average pd overstates how unlikely a run of
    misses is (0.95: a 4 s radar's primary track still outlives three missed scans). A
    sensor configured with a higher pd is capped at its configured pd instead."""
    max_sigma_pos_m: float = 5000.0
    """A track whose position standard deviation exceeds this is deleted."""
    # Plot sanity
    max_plot_sigma_m: float = 20000.0
    """Plots with a larger standard deviation (or NaN, non-positive-definite) are rejected."""
    # Vertical
    sigma_alt_ft: float = 50.0
    q_alt: float = 4.0
    """Vertical white-noise acceleration density, ft^2/s^3."""
    alt_gate_sigma: float = 6.0
    alt_gate_min_ft: float = 500.0
    """An altitude report further than max(alt_gate_sigma * sqrt(S), alt_gate_min_ft) from
    the track's prediction is an outlier, used only when the next report agrees with it."""
    alt_confirm_s: float = 30.0
    """How long an outlying altitude report waits for a second one that agrees."""
    sensor_periods_s: dict[int, float] = field(default_factory=dict)
    """Update period per sensor id (filled from scenario.json)."""
    sensor_pd: dict[int, float] = field(default_factory=dict)
    """Detection probability per sensor id (filled from scenario.json; 0.9 when unknown)."""

    @classmethod
    def for_scenario(cls, meta: ScenarioMeta) -> TrackerConfig:
        """Sane defaults for a scenario's sensor mix (periods, PSR-only confirmation)."""
        cfg = cls(sensor_periods_s={s.id: float(s.period_s) for s in meta.sensors},
                  sensor_pd={s.id: float(s.pd) for s in meta.sensors})
        periods = [s.period_s for s in meta.sensors] or [4.0]
        cfg.pair_max_dt_s = max(2.5 * max(periods), 3.0)
        clutter = sum(s.clutter_per_scan for s in meta.sensors if s.kind == "psr")
        if clutter > 50:
            cfg.confirm_hits_psr = 4
        return cfg

    def with_overrides(self, values: dict[str, Any], where: str = "config") -> TrackerConfig:
        """A copy with `values` applied; unknown keys or bad types are a UserError."""
        known = {f.name: f for f in dataclasses.fields(self)}
        out = dataclasses.replace(self)
        for key, value in values.items():
            if key not in known:
                raise UserError(where, f"unknown tracker setting {key!r}")
            current = getattr(self, key)
            try:
                if isinstance(current, bool):
                    if not isinstance(value, bool):
                        raise ValueError
                elif isinstance(current, dict):
                    value = {int(k): float(v) for k, v in dict(value).items()}
                elif isinstance(current, int) and not isinstance(current, bool):
                    if isinstance(value, bool) or int(value) != value:
                        raise ValueError
                    value = int(value)
                else:
                    if isinstance(value, bool):
                        raise ValueError
                    value = float(value)
            except (TypeError, ValueError):
                raise UserError(where, f"setting {key!r} has a bad value {value!r}") from None
            setattr(out, key, value)
        out.validate(where)
        return out

    def validate(self, where: str = "config") -> None:
        """Reject settings that cannot work (non-positive times or noises)."""
        for name in ("slice_s", "q_cv", "q_ct", "q_turn", "mode_hold_s", "v_max_mps",
                     "pair_max_dt_s", "max_gate_radius_m", "sigma_alt_ft"):
            if not getattr(self, name) > 0:
                raise UserError(where, f"setting {name!r} must be positive")
        if not 0 < self.gate_prob < 1 or not 0 <= self.mu0_ct < 1:
            raise UserError(where, "gate_prob must be in (0, 1) and mu0_ct in [0, 1)")
        if self.late_window_s < 0:
            raise UserError(where, "late_window_s must not be negative")
        if not 0 <= self.delete_miss_prob < 1:
            raise UserError(where, "delete_miss_prob must be in [0, 1)")

    def period_of(self, sensor_id: int) -> float:
        """Update period of a sensor (4 s when unknown)."""
        return self.sensor_periods_s.get(int(sensor_id), 4.0)

    def pd_of(self, sensor_id: int) -> float:
        """Detection probability of a sensor (0.9 when unknown), kept within [0.5, 0.99]."""
        pd = self.sensor_pd.get(int(sensor_id), 0.9)
        return min(max(pd, 0.5), 0.99) if pd == pd else 0.9

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["sensor_periods_s"] = {str(k): v for k, v in self.sensor_periods_s.items()}
        out["sensor_pd"] = {str(k): v for k, v in self.sensor_pd.items()}
        return out


def load_config_file(path: Path, base: TrackerConfig) -> TrackerConfig:
    """Apply a TOML or JSON file of settings (flat keys, or under a [tracker] table) to `base`."""
    if not path.is_file():
        raise UserError(path, "file not found")
    text = path.read_text()
    try:
        obj = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(path, f"cannot parse ({exc})") from None
    if not isinstance(obj, dict):
        raise UserError(path, "expected a table of settings")
    values = obj.get("tracker", obj)
    if not isinstance(values, dict):
        raise UserError(path, "[tracker] must be a table")
    return base.with_overrides(values, str(path))
