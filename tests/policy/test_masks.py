"""LabelPolicy masks: uncleared contributors, areas, identity and privacy rules, unknown
consumers; on tracks, plots, recorded rows and Mode S replies."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from airpicture.core.enrichment import ModeSEnrichment
from airpicture.core.geo import LocalFrame
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackTable
from airpicture.io.scenario import read_meta
from airpicture.policy.egress import Consumer, Egress
from airpicture.policy.masks import LabelPolicy
from airpicture.policy.release import load_policy

NAN = np.nan
SENSORS = np.array([1, 2, 3, 4], np.int32)
LISTED = 0x174952  # on the example's privacy list


@pytest.fixture()
def gate(example_policy: Path, example_scenario: Path) -> tuple[Egress, LocalFrame]:
    meta = read_meta(example_scenario)
    policy = LabelPolicy(load_policy(example_policy), meta.frame, tuple(SENSORS.tolist()))
    return Egress(policy), meta.frame


def _tracks(frame: LocalFrame) -> TrackTable:
    # Rows: 0 from radar 1; 1 from radars 1+2; 2 from ADS-B 3 far east (outside the public
    # area), 3 from radar 1 and privacy-listed, 4 from radar 2 only.
    x_east, _, _ = frame.to_enu(48.95, 3.2)
    n = 5
    last = np.full((n, 4), NAN)
    last[0, 0] = last[1, 0] = last[1, 1] = last[2, 2] = last[3, 0] = last[4, 1] = 10.0
    z = np.zeros(n)
    return TrackTable(
        track_id=np.arange(1, n + 1, dtype=np.int64), t=z + 10, x=np.array(
            [-40e3, -40e3, float(x_east), -30e3, 60e3]), y=z, vx=z, vy=z,
        status=np.ones(n, np.int8), alt_ft=z, vrate_fpm=z,
        icao24=np.array([0xA1, 0xA2, 0xA3, LISTED, 0xA5], np.int64),
        callsign=np.array(["ONE", "TWO", "THREE", "SECRETJET", "FIVE"], object),
        squawk=np.array([1000, 2000, 3000, 4000, 5000], np.int16), sigma_pos_m=z + 50,
        last_update_t=z + 10, flags=np.zeros(n, np.uint16), sensor_ids=SENSORS,
        sensor_last_t=last)


def test_tracks_by_consumer(gate: tuple[Egress, LocalFrame]) -> None:
    egress, frame = gate
    table = _tracks(frame)
    alpha = egress.tracks(table, Consumer("alpha-ops"))
    assert alpha.track_id.tolist() == [1, 3, 4]  # nothing from radar 2
    assert alpha.icao24.tolist() == [0xA1, 0xA3, LISTED]  # holds the privacy role
    charlie = egress.tracks(table, Consumer("charlie-ops"))
    assert charlie.track_id.tolist() == [1, 3, 4]
    assert charlie.icao24.tolist() == [0xA1, 0xA3, 0] and charlie.callsign[2] == ""
    assert charlie.squawk.tolist() == [1000, 3000, -1]
    public = egress.tracks(table, Consumer("charlie-public"))
    assert public.track_id.tolist() == [1, 4]  # 3 lies east of the area
    assert public.icao24.tolist() == [0, 0] and set(public.callsign) == {""}
    assert public.squawk.tolist() == [-1, -1]
    assert egress.tracks(table, Consumer("bravo-ops")).track_id.tolist() == [1, 2, 4, 5]
    assert egress.tracks(table, Consumer("bravo-liaison")).track_id.tolist() == [1, 4]
    assert len(egress.tracks(table, Consumer("stranger"))) == 0
    # the operator, not named in this policy, is cleared for every sensor, every field
    operator = egress.tracks(table)
    assert len(operator) == len(table) and (operator.icao24 == table.icao24).all()
    assert egress.label()["class"] == "sensors-1-2-3-4"  # type: ignore[index]
    assert table.icao24.tolist()[3] == LISTED  # the input is never changed


def test_track_rows_drop_history_of_privacy_listed(gate: tuple[Egress, LocalFrame]) -> None:
    egress, frame = gate
    rows = _tracks(frame).to_arrow()
    charlie = egress.track_rows(rows, Consumer("charlie-ops"))
    assert charlie.column("track_id").to_pylist() == [1, 3]
    alpha = egress.track_rows(rows, Consumer("alpha-ops"))
    assert alpha.column("track_id").to_pylist() == [1, 3, 4]
    public = egress.track_rows(rows, Consumer("charlie-public"))
    assert public.column("track_id").to_pylist() == [1]
    assert public.column("icao24").to_pylist() == [0]
    assert public.column("callsign").to_pylist() == [""]
    assert egress.track_rows(rows, Consumer("nobody")).num_rows == 0


def test_plots_and_replies(gate: tuple[Egress, LocalFrame]) -> None:
    egress, _ = gate
    plots = PlotBatch.create(t=np.arange(4.0), sensor_id=[1, 2, 3, 4], x=[-40e3, 60e3, 0, 0],
                             y=np.zeros(4), var_x=np.ones(4), var_y=np.ones(4),
                             cov_xy=np.zeros(4), icao24=[LISTED, 0xB2, 0xB3, 0xB4],
                             callsign=["SECRETJET", "", "X3", "X4"])
    charlie = egress.plots(plots, Consumer("charlie-ops"))
    assert charlie.sensor_id.tolist() == [1, 3, 4]
    assert charlie.icao24.tolist() == [0, 0xB3, 0xB4]
    assert egress.plots(plots, Consumer("bravo-ops")).sensor_id.tolist() == [1, 2]
    replies = ModeSEnrichment(t=np.arange(3.0), icao24=np.array([LISTED, 0xC2, 0xC3]),
                              df=np.full(3, 17, np.int8), alt_ft=np.zeros(3),
                              squawk=np.full(3, -1, np.int16),
                              callsign=np.array(["", "", ""], object),
                              sensor_id=np.array([3, 3, 2], np.int32))
    assert egress.replies(replies, Consumer("charlie-ops")).icao24.tolist() == [0xC2]
    assert egress.replies(replies, Consumer("alpha-ops")).icao24.tolist() == [LISTED, 0xC2]
    assert len(egress.replies(replies, Consumer("charlie-public"))) == 0


def test_privacy_list_reloads_and_keeps_old_on_error(tmp_path: Path) -> None:
    from airpicture.core.errors import UserError
    from airpicture.policy.privacy import PrivacyList

    path = tmp_path / "privacy.txt"
    path.write_text("abcdef\n")
    plist = PrivacyList.load(path)
    assert plist.listed([0xABCDEF, 0x123456], ["", ""]).tolist() == [True, False]
    path.write_text("123456\ncallsign: ABC123\n")
    import os
    os.utime(path, ns=(1, 1))
    assert plist.reload_if_changed()
    assert plist.listed([0xABCDEF, 0x123456, 7], ["", "", "abc123"]).tolist() == [
        False, True, True]
    path.write_text("no good!\n")
    os.utime(path, ns=(2, 2))
    with pytest.raises(UserError, match="line 1"):
        plist.reload_if_changed()
    assert plist.addresses == frozenset({0x123456})


def test_sensor_lists_and_labels(gate: tuple[Egress, LocalFrame]) -> None:
    egress, _ = gate
    assert egress.sensors([4, 3, 2, 1], Consumer("bravo-ops")) == [2, 1]
    assert egress.sensors([1, 2, 3, 4], Consumer("charlie-public")) == [1, 3, 4]
    assert egress.sensors([1, 2], Consumer("nobody")) == []
    label = egress.label(Consumer("bravo-ops"))
    assert label is not None
    assert label["class"] == "sensors-1-2" and label["classification"] == "SECRET"
    assert label["releasable_to"] == ["BRAVO"] and label["categories"] == ["MIL"]
    assert egress.label(Consumer("nobody")) is None
    assert Egress().sensors([3, 1]) == [3, 1] and Egress().label() is None


def test_consumers_with_one_release_share_a_computation_never_a_stale_one(
        gate: tuple[Egress, LocalFrame]) -> None:
    egress, frame = gate
    table = _tracks(frame)
    first = egress.tracks(table, Consumer("bravo-liaison"))
    again = egress.tracks(table, Consumer("bravo-liaison"))
    assert again is not first and again.track_id is first.track_id  # shared, not recomputed
    again.icao24 = np.zeros(len(again), np.int64)  # a caller replacing a column ...
    assert first.icao24.tolist() == [0xA1, 0]  # ... does not touch another's table
    renamed = dataclasses.replace(table, icao24=table.icao24 + 1)  # a new picture's column
    assert egress.tracks(renamed, Consumer("bravo-liaison")).icao24[0] == 0xA2
    moved = _tracks(frame)
    moved.sensor_last_t[0, :] = NAN
    moved.sensor_last_t[0, 1] = 10.0  # track 1 now from BRAVO's radar only
    assert egress.tracks(moved, Consumer("bravo-liaison")).track_id.tolist() == [4]
