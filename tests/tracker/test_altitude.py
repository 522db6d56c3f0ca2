"""Item 4 of issue 15: the picture carries the last measured altitude (never extrapolated),
and the vertical filter rejects single-report outliers but accepts a confirmed step."""

from __future__ import annotations

import numpy as np

from airpicture.core.plots import PlotBatch
from airpicture.tracker.config import TrackerConfig
from airpicture.tracker.stream import InProcessTracker
from tests.tracker.gen import adsb, adsb_plots, trajectories


def _descent(alt_ft: np.ndarray) -> tuple[InProcessTracker, PlotBatch]:
    """One ADS-B aircraft (1 s reports) whose reports carry alt_ft (one per report)."""
    rng = np.random.default_rng(6)
    t, states = trajectories(1, float(alt_ft.size) + 2.0, rng, area_m=20e3)
    plots, _ = adsb_plots(t, states, rng, np.array([0x3C0001], np.int64))
    plots = plots.take(np.arange(alt_ft.size))
    plots.alt_ft[:] = alt_ft
    trk = InProcessTracker([adsb()], TrackerConfig(late_window_s=0.0))
    return trk, plots


def _alts(trk: InProcessTracker, plots: PlotBatch) -> list[float]:
    """The picture's altitude after each report."""
    out = []
    for k in range(len(plots)):
        trk.ingest(plots.take([k]))
        trk.advance_to(float(plots.t[k]) + 1.0)
        pic = trk.picture(float(plots.t[k]) + 1.0)
        out.append(float(pic.alt_ft[0]) if len(pic) else np.nan)
    return out


def test_a_single_report_altitude_spike_is_rejected() -> None:
    """A descent at 1,500 ft/min; report 20 jumps 16,000 ft (as a real ADS-B feed did)."""
    alt = 12_000.0 - 25.0 * np.arange(40)
    alt[20] += 16_000.0
    trk, plots = _descent(alt)
    seen = _alts(trk, plots)
    assert max(seen[10:]) < 12_000.0                       # the spike never shows
    assert abs(seen[20] - alt[19]) < 1.0                    # the last good report stays
    assert abs(seen[-1] - alt[-1]) < 1.0                    # measured, not filtered
    vrate = trk.picture().vrate_fpm[0]
    assert -2_500.0 < vrate < -500.0                        # no +43,000 ft/min
    assert trk.stats()["alt_rejected"] == 1


def test_a_genuine_step_confirmed_by_a_second_report_is_accepted() -> None:
    alt = np.r_[np.full(20, 8_000.0), np.full(20, 11_000.0)]
    trk, plots = _descent(alt)
    seen = _alts(trk, plots)
    assert seen[20] == 8_000.0            # the first report of the new level waits ...
    assert seen[21] == 11_000.0           # ... and the second one confirms it
    assert seen[-1] == 11_000.0
    assert trk.stats()["alt_rejected"] == 1
    assert abs(trk.picture().vrate_fpm[0]) < 300.0   # level again after the step


def test_picture_altitude_is_the_last_measurement_not_an_extrapolation() -> None:
    """A track descending through 500 ft whose reports stop: read 60 s later, the altitude is
    the last report (never below ground), with its time in alt_t."""
    alt = 3_000.0 - 50.0 * np.arange(50)     # 3,000 ft/min down to 550 ft
    trk, plots = _descent(alt)
    trk.ingest(plots)
    trk.advance_to(float(plots.t[-1]) + 1.0)
    pic = trk.picture(float(plots.t[-1]) + 60.0)
    assert pic.alt_ft[0] == alt[-1]
    assert pic.alt_t[0] == plots.t[-1]
    assert pic.vrate_fpm[0] < -2_000.0
    assert pic.t_start[0] <= plots.t[1]
    row = pic.to_arrow().to_pylist()[0]
    assert row["alt_t"] == plots.t[-1] and row["t_start"] == pic.t_start[0]


def test_cat062_of_a_tracker_picture_carries_track_age_and_measured_level_age() -> None:
    """I062/290 TRK is the age since the track began, I062/295 MFL the age of the last
    measured level, I062/136 that level; both encoder paths agree and decode back."""
    from collections import Counter

    from airpicture.core.geo import LocalFrame
    from airpicture.io.asterix import cat062
    from airpicture.io.asterix.blocks import split_blocks
    from airpicture.io.asterix.cat062 import Cat062Encoder

    alt = 9_000.0 - 20.0 * np.arange(30)
    trk, plots = _descent(alt)
    trk.ingest(plots)
    trk.advance_to(float(plots.t[-1]) + 1.0)
    now = float(plots.t[-1]) + 10.0
    pic = trk.picture(now)
    enc = Cat062Encoder(LocalFrame(48.0, 2.0), sensor_kinds={2: "adsb"})
    oracle = Cat062Encoder(LocalFrame(48.0, 2.0), sensor_kinds={2: "adsb"})
    assert enc.record_bytes(pic) == oracle.record_bytes_libasterix(pic)
    back = cat062.decode(split_blocks(enc.block(pic), Counter()), Counter())[0]
    assert abs(back.fl * 100.0 - alt[-1]) <= 12.5   # 1/4 FL
    assert abs(back.age_mfl_s - (now - plots.t[-1])) <= 0.125
    assert abs(back.age_trk_s - (now - pic.t_start[0])) <= 0.125
    assert back.age_trk_s > 30.0 > back.age_mfl_s
    assert back.cst == 0 and back.cnf == 0   # judged where plots are processed: confirmed


def test_real_adsb_altitude_spikes_are_rejected(shared_data) -> None:  # type: ignore[no-untyped-def]
    """Real ADS-B altitude series (traffic's noisy trajectories: single reports jump 16,000 to
    26,000 ft in a landing, a take-off, a cruise) through the vertical gate: no single-report
    spike ever shows, the rate stays physical, and the level ends on the data (a lasting
    change, two reports or more, is followed)."""
    import gzip
    import json

    from airpicture.tracker.vertical import AltitudeGate
    from tests.tracker.test_enrich import tracks

    gate = AltitudeGate(50.0, 4.0)
    n_spikes = 0
    for name in ("noisy_landing", "noisy_takeoff", "noisy_time_issue"):
        with gzip.open(shared_data / f"traffic/trajectories/{name}.json.gz") as fh:
            obj = json.loads(fh.read())
        if isinstance(obj, dict):  # columns of {row: value}
            t = np.array(list(obj["timestamp"].values()), float)
            alt = np.array([np.nan if a is None else a for a in obj["altitude"].values()], float)
        else:
            t = np.array([r["timestamp"] for r in obj], float)
            alt = np.array([np.nan if r.get("altitude") is None else r["altitude"] for r in obj])
        t = (t - t[0]) / (1000.0 if t[0] > 1e11 else 1.0)  # epoch ms or s
        k = np.flatnonzero(np.isfinite(alt))
        t, alt = t[k], alt[k]
        jump = np.abs(np.diff(alt)) > 5_000.0
        spike = np.r_[False, jump[:-1] & jump[1:], False]   # away from both neighbours
        n_spikes += int(spike.sum())
        st = tracks([1], [np.nan], [1])
        shown, rates = [], []
        for j in range(alt.size):
            gate.fold(st, np.array([0]), alt[[j]], t[[j]])
            shown.append(st.alt_meas_ft[0])
            rates.append(st.vrate_fps[0] * 60.0)
        shown_a = np.asarray(shown)
        at = np.flatnonzero(spike)
        assert np.all(np.abs(shown_a[at] - shown_a[at - 1]) < 1_000.0), name  # no jump shown
        assert np.max(np.abs(rates)) < 10_000.0, name
        assert shown[-1] == alt[-1], name
    assert n_spikes >= 4
