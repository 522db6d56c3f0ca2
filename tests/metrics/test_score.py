"""The scorer on hand-computed small cases: GOSPA parts, OSPA, RMS, id changes, confirm time."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from airpicture.core.errors import UserError
from airpicture.metrics.score import _load_tracks, score_scenario, score_tables
from tests.metrics.helpers import static_truth, tracks_table, truth_table, write_folder

C = 10_000.0
TIMES = [float(t) for t in range(11)]


def test_one_track_on_one_of_two_targets() -> None:
    truth = static_truth({1: (0.0, 0.0), 2: (50_000.0, 0.0)}, TIMES)
    tracks = tracks_table([(t, 7, 300.0, 400.0, 0.0, 0.0, True) for t in TIMES])
    s = score_tables(truth, tracks, {1: 0.0, 2: 0.0})
    assert s.n_times == 11
    assert s.gospa_localisation_m == pytest.approx(500.0)
    assert s.gospa_missed_m == pytest.approx(math.sqrt(C**2 / 2))
    assert s.gospa_false_m == 0.0
    assert s.gospa_m == pytest.approx(math.sqrt(500.0**2 + C**2 / 2))
    assert s.ospa_m == pytest.approx(math.sqrt((500.0**2 + C**2) / 2))
    assert s.rms_pos_m == pytest.approx(500.0)
    assert s.rms_vel_mps == pytest.approx(0.0)
    assert s.mean_missed_per_time == 1.0 and s.mean_false_per_time == 0.0
    assert s.id_changes == 0
    assert s.n_truth == 2 and s.n_tracks == 1
    assert s.n_targets_never_tracked == 1


def test_false_track_and_velocity_error() -> None:
    truth = truth_table([(t, 1, 100.0 * t, 0.0, 100.0, 0.0) for t in TIMES])
    tracks = tracks_table(
        [(t, 1, 100.0 * t, 200.0, 103.0, 4.0, True) for t in TIMES]
        + [(t, 2, 80_000.0, 0.0, 0.0, 0.0, True) for t in TIMES]
    )
    s = score_tables(truth, tracks, {1: 0.0})
    assert s.gospa_false_m == pytest.approx(math.sqrt(C**2 / 2))
    assert s.gospa_missed_m == 0.0
    assert s.gospa_localisation_m == pytest.approx(200.0)
    assert s.rms_vel_mps == pytest.approx(5.0)
    assert s.ospa_m == pytest.approx(math.sqrt((200.0**2 + C**2) / 2))
    assert s.mean_false_per_time == 1.0


def test_distance_beyond_cutoff_is_missed_and_false() -> None:
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    tracks = tracks_table([(t, 1, 10_500.0, 0.0, 0.0, 0.0, True) for t in TIMES])
    s = score_tables(truth, tracks, {})
    assert s.gospa_m == pytest.approx(C)
    assert s.gospa_localisation_m == 0.0
    assert math.isnan(s.rms_pos_m)
    assert s.ospa_m == pytest.approx(C)


def test_assignment_is_optimal_not_greedy() -> None:
    # Greedy nearest-first would pair truth 1 with track 10 (d 100) and leave truth 2 at 2.9 km.
    truth = static_truth({1: (0.0, 0.0), 2: (3_000.0, 0.0)}, [0.0])
    tracks = tracks_table([(0.0, 10, 100.0, 0.0, 0.0, 0.0, True),
                           (0.0, 11, -1_000.0, 0.0, 0.0, 0.0, True),
                           (0.0, 12, 9_000.0, 0.0, 0.0, 0.0, True)])
    s = score_tables(truth, tracks, {})
    # Optimum: 1-11 (1000 m) and 2-10 (2900 m) costs 9.41e6 < 1e4 + 6e3**2; 12 is false.
    loc = 1_000.0**2 + 2_900.0**2
    assert s.gospa_localisation_m == pytest.approx(math.sqrt(loc))
    assert s.gospa_m == pytest.approx(math.sqrt(loc + C**2 / 2))


def test_staleness_and_forward_prediction() -> None:
    times = [float(t) for t in range(21)]
    truth = truth_table([(t, 1, 100.0 * t, 0.0, 100.0, 0.0) for t in times])
    # One confirmed row at t = 0, 50 m off; predicted forward it stays 50 m off for 12 s.
    tracks = tracks_table([(0.0, 5, 0.0, 50.0, 100.0, 0.0, True)])
    s = score_tables(truth, tracks, {1: 0.0})
    d = s.details
    assert d is not None
    assert d.per_time.n_assigned.tolist() == [1] * 13 + [0] * 8
    assert s.rms_pos_m == pytest.approx(50.0)
    assert s.mean_missed_per_time == pytest.approx(8 / 21)


def test_unconfirmed_rows_are_not_scored() -> None:
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    tracks = tracks_table([(t, 3, 10.0, 0.0, 0.0, 0.0, t >= 4.0) for t in TIMES])
    s = score_tables(truth, tracks, {1: 0.0})
    assert s.details is not None
    assert s.details.per_time.n_assigned.tolist() == [0] * 4 + [1] * 7


def test_final_unconfirmed_row_ends_a_track_at_once() -> None:
    """A deleted track (final unconfirmed row at t = 5) is neither assigned nor false after."""
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    rows = [(t, 3, 10.0, 0.0, 0.0, 0.0, True) for t in TIMES[:5]]
    rows.append((5.0, 3, 10.0, 0.0, 0.0, 0.0, False))
    rows += [(t, 4, 20_000.0, 0.0, 0.0, 0.0, True) for t in (0.0, 1.0)]
    rows.append((2.0, 4, 20_000.0, 0.0, 0.0, 0.0, False))
    s = score_tables(truth, tracks_table(sorted(rows)), {1: 0.0})
    assert s.details is not None
    assert s.details.per_time.n_assigned.tolist() == [1] * 5 + [0] * 6
    assert s.mean_false_per_time == pytest.approx(2 / 11)
    assert s.n_tracks == 2


def test_identity_changes_count_switches() -> None:
    times = [float(t) for t in range(41)]
    truth = static_truth({1: (0.0, 0.0), 2: (30_000.0, 0.0)}, times)
    # Ended tracks linger 12 s (predicted); the target keeps them until they are gone.
    rows = [(t, 1, 10.0, 0.0, 0.0, 0.0, True) for t in times if t < 4]
    rows += [(t, 2, 5.0, 0.0, 0.0, 0.0, True) for t in times if 4 <= t < 20]
    rows += [(t, 3, 2.0, 0.0, 0.0, 0.0, True) for t in times if t >= 20]
    rows += [(t, 9, 30_010.0, 0.0, 0.0, 0.0, True) for t in times]
    s = score_tables(truth, tracks_table(sorted(rows)), {})
    assert s.id_changes == 2
    assert s.gospa_assignment_switches == 2


def test_duplicate_track_is_not_an_identity_change() -> None:
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    # Two tracks on one target, taking turns at being the nearer one.
    rows = [(t, 1, 100.0 + 50.0 * (int(t) % 2), 0.0, 0.0, 0.0, True) for t in TIMES]
    rows += [(t, 2, 0.0, 125.0, 0.0, 0.0, True) for t in TIMES]
    s = score_tables(truth, tracks_table(sorted(rows)), {})
    assert s.gospa_assignment_switches == 10
    assert s.id_changes == 0


def test_track_leaving_its_target_is_an_identity_change() -> None:
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    rows = [(t, 1, 0.0, 0.0 if t < 5 else 3_000.0, 0.0, 0.0, True) for t in TIMES]
    rows += [(t, 2, 0.0, -1_000.0, 0.0, 0.0, True) for t in TIMES]
    s = score_tables(truth, tracks_table(sorted(rows)), {})
    assert s.id_changes == 1


def test_time_to_confirm() -> None:
    truth = static_truth({1: (0.0, 0.0), 2: (40_000.0, 0.0)}, TIMES)
    tracks = tracks_table(
        [(t, 4, 0.0, 20.0, 0.0, 0.0, t >= 5.5) for t in [*TIMES, 5.5]]
        + [(t, 6, 40_000.0, 20.0, 0.0, 0.0, t >= 3.0) for t in TIMES]
    )
    tracks = tracks.sort_by("t")
    s = score_tables(truth, tracks, {1: 2.0, 2: 1.0})
    assert s.details is not None
    assert sorted(s.details.time_to_confirm_s.tolist()) == pytest.approx([2.0, 3.5])
    assert s.mean_time_to_confirm_s == pytest.approx(2.75)
    assert s.max_time_to_confirm_s == pytest.approx(3.5)
    # The scoring window does not change it.
    late = score_tables(truth, tracks, {1: 2.0, 2: 1.0}, t_min_s=7.0, step_s=2.0)
    assert late.mean_time_to_confirm_s == pytest.approx(2.75)


def test_t_min_and_step_select_times() -> None:
    times = [float(t) for t in range(31)]
    truth = static_truth({1: (0.0, 0.0)}, times)
    tracks = tracks_table([(t, 1, 0.0, 100.0 * (t < 10), 0.0, 0.0, True) for t in times])
    s = score_tables(truth, tracks, {}, t_min_s=10.0, step_s=5.0)
    assert s.details is not None
    assert s.details.times_s.tolist() == [10.0, 15.0, 20.0, 25.0, 30.0]
    assert s.gospa_m == pytest.approx(0.0)
    full = score_tables(truth, tracks, {})
    assert full.gospa_m == pytest.approx(100.0 * 10 / 31)


def test_score_scenario_reads_folder_and_first_plots(tmp_path: Path) -> None:
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    tracks = tracks_table([(t, 1, 0.0, 30.0, 0.0, 0.0, t >= 6.0) for t in TIMES])
    folder = write_folder(tmp_path / "sc", truth, [0.5, 1.0, 2.0, 3.0], [-1, 1, 1, -1], tracks)
    s = score_scenario(folder, folder / "tracks.parquet")
    assert s.mean_time_to_confirm_s == pytest.approx(5.0)
    same = score_scenario(folder, tracks)
    assert same.to_json() == s.to_json()
    json.dumps(s.to_json(), allow_nan=False)
    assert set(s.to_json()) >= {
        "gospa_m", "gospa_localisation_m", "gospa_missed_m", "gospa_false_m", "ospa_m",
        "rms_pos_m", "rms_vel_mps", "id_changes", "mean_time_to_confirm_s",
        "siap_completeness", "siap_ambiguity", "siap_spuriousness", "n_truth", "n_tracks"}


def test_bad_tracks_are_user_errors(tmp_path: Path) -> None:
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    folder = write_folder(tmp_path / "sc", truth, [1.0], [1])
    with pytest.raises(UserError, match="file not found"):
        score_scenario(folder, tmp_path / "nope.parquet")
    bad = tracks_table([(0.0, 1, 0.0, 0.0, 0.0, 0.0, True)]).drop_columns(["confirmed"])
    with pytest.raises(UserError, match="confirmed"):
        score_scenario(folder, bad)
    with pytest.raises(UserError, match="no truth sample"):
        score_scenario(folder, tracks_table([]), t_min_s=100.0)
    with pytest.raises(UserError, match="not a scenario folder"):
        score_scenario(tmp_path / "missing", bad)


def test_no_tracks_everything_missed() -> None:
    truth = static_truth({1: (0.0, 0.0), 2: (1.0, 1.0)}, TIMES)
    s = score_tables(truth, tracks_table([]), {1: 0.0})
    assert s.gospa_m == pytest.approx(C)
    assert s.ospa_m == pytest.approx(C)
    assert s.siap_completeness == 0.0
    assert math.isnan(s.mean_time_to_confirm_s)
    assert np.isnan(s.rms_pos_m)


def test_siap_two_tracks_on_one_target_and_a_spurious_one() -> None:
    truth = static_truth({1: (0.0, 0.0), 2: (60_000.0, 0.0)}, TIMES)
    tracks = tracks_table(
        [(t, 1, 500.0, 0.0, 0.0, 0.0, True) for t in TIMES]
        + [(t, 2, 0.0, 1_500.0, 0.0, 0.0, True) for t in TIMES]
        + [(t, 3, 30_000.0, 0.0, 0.0, 0.0, True) for t in TIMES]
    ).sort_by("t")
    s = score_tables(truth, tracks, {})
    # Associations need 3 close times in a row, then cover them all: target 1 every time.
    assert s.siap_completeness == pytest.approx(11 / 22)
    assert s.siap_ambiguity == pytest.approx(2.0)
    assert s.siap_spuriousness == pytest.approx(11 / 33)
    short = score_tables(static_truth({1: (0.0, 0.0)}, [0.0, 1.0]),
                         tracks_table([(t, 1, 0.0, 0.0, 0.0, 0.0, True) for t in (0.0, 1.0)]), {})
    assert short.siap_completeness == 0.0 and short.siap_spuriousness == 1.0


def test_badly_typed_track_table_is_a_user_error() -> None:
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    tracks = tracks_table([(0.0, 1, 0.0, 0.0, 0.0, 0.0, True)])
    tracks = tracks.set_column(2, "x", pa.array(["east"]))
    with pytest.raises(UserError, match="'x'"):
        score_tables(truth, _load_tracks(tracks), {})


def test_far_assignments_neither_confirm_nor_change_identity() -> None:
    truth = static_truth({1: (0.0, 0.0)}, TIMES)
    # A stray track 5 km away (GOSPA-assigned, but not following) until the real one at 6 s.
    rows = [(t, 8, 5_000.0, 0.0, 0.0, 0.0, True) for t in TIMES if t < 6]
    rows += [(t, 2, 30.0, 0.0, 0.0, 0.0, True) for t in TIMES if t >= 6]
    s = score_tables(truth, tracks_table(sorted(rows)), {1: 1.0})
    assert s.id_changes == 0
    assert s.gospa_assignment_switches == 1
    assert s.mean_time_to_confirm_s == pytest.approx(5.0)


def test_non_finite_truth_is_a_user_error() -> None:
    truth = truth_table([(0.0, 1, float("nan"), 0.0, 0.0, 0.0)])
    with pytest.raises(UserError, match="'x' has non-finite"):
        score_tables(truth, tracks_table([]), {})
