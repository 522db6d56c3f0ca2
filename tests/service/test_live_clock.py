"""The service clock (`[input] clock`) and the ASTERIX source: data clock replays at any speed
give the same pictures, the wall clock reports data far from it, one failing UDP URL leaves
the others running, CAT034 scan periods reach the tracker and /api/sensors."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airpicture.core.errors import UserError
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackTable
from airpicture.io.asterix.emit import emit_scenario
from airpicture.policy.egress import LOCAL
from airpicture.service.config import ServiceConfig
from airpicture.service.live_asterix import AsterixSource, learned_by_sensor
from airpicture.service.pipeline import Frame
from airpicture.service.serve import build_pipeline, scenario_source
from tests.service.conftest import FakeRuntime


def free_udp_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return f"udp://127.0.0.1:{s.getsockname()[1]}"


def send(scenario: Path, url: str, source: AsterixSource, t0_utc_s: float) -> None:
    """Send the scenario as fast as possible; wait until the source has decoded it all."""
    before = sum(f["datagrams"] for f in source.feeds()["feeds"])
    sent = emit_scenario(scenario, url, speed=0, t0_utc_s=t0_utc_s)["datagrams"]
    deadline = time.monotonic() + 10
    while (sum(f["datagrams"] for f in source.feeds()["feeds"]) < before + sent
           and time.monotonic() < deadline):
        time.sleep(0.02)


def run_service(scenario: Path, speed: float, t0_utc_s: float) -> dict[float, TrackTable]:
    """The scenario sent as ASTERIX at `speed` into a service on the data clock; its
    pictures (all tracks, tentative too) by stream time, once the data stop."""
    url = free_udp_url()
    cfg = ServiceConfig().with_overrides({
        "input": {"kind": "asterix", "sources": [url], "asterix_config": str(scenario),
                  "clock": "data"},
        "output": {"confirmed_only": False}})
    source = scenario_source(cfg)
    pipeline = build_pipeline(cfg, source)
    pictures: dict[float, TrackTable] = {}

    def publish(frames: dict[Any, Frame]) -> None:
        frame = frames[LOCAL]
        assert frame.t_s not in pictures  # the stream time never repeats nor goes back
        assert not pictures or frame.t_s > max(pictures)
        pictures[frame.t_s] = frame.tracks

    pipeline.publishers.append(publish)
    pipeline.recorder.start()
    pipeline.start()
    try:
        assert source.ready.wait(10)  # type: ignore[attr-defined]
        emit_scenario(scenario, url, speed, t0_utc_s=t0_utc_s)
        deadline = time.monotonic() + 10
        last = t0_utc_s + 59.0
        while time.monotonic() < deadline and (not pictures or max(pictures) < last):
            time.sleep(0.05)
    finally:
        pipeline.stop()
        pipeline.recorder.close()
    return pictures


@pytest.mark.slow
def test_the_data_clock_tracks_a_replay_at_any_speed_exactly_alike(
        small_scenario: Path) -> None:
    pytest.importorskip("airpicture.tracker.stream")
    t0 = float(int(time.time()) - 7200)  # recorded two hours ago: far from the wall clock
    fast = run_service(small_scenario, 0.0, t0)  # as fast as the socket takes it
    paced = run_service(small_scenario, 20.0, t0)
    # Ticks are on the data's own grid: whole seconds of the recording's time of day.
    common = sorted(set(fast) & set(paced))
    assert len(common) >= 50 and common[-1] == t0 + 59.0
    assert all(t == np.floor(t) for t in common)
    for t in common[10:]:
        a, b = fast[t], paced[t]
        assert a.track_id.tolist() == b.track_id.tolist()
        assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
        assert a.status.tolist() == b.status.tolist()
    end = paced[common[-1]]
    assert sorted(end.icao24.tolist()) == [0x3C0001, 0x3C0002, 0x3C0003]
    assert (end.status == 1).all()  # confirmed, not coasting: seen at the data's own pace
    assert np.all(np.abs(end.t - (t0 + 59.0)) < 1e-6)


def test_the_wall_clock_reports_data_far_from_it(small_scenario: Path) -> None:
    url = free_udp_url()
    source = AsterixSource([url], small_scenario, lambda meta: FakeRuntime(meta.sensors))
    source.start()
    assert source.ready.wait(10)
    assert source.problems() == []
    send(small_scenario, url, source, time.time() - 3600.0)
    _tracks, plots = source.step(0.0)
    assert len(plots) > 100  # an hour behind: kept (the tracker counts them late), reported
    (problem,) = [p for p in source.problems() if "wall clock" in p]
    assert "behind the wall clock" in problem and "clock = \"data\"" in problem
    assert source.wall_offset_s == pytest.approx(-3600.0 + 30.0, abs=40.0)
    assert source.counts["plots_off_wall_clock"] == len(plots)
    # Data ahead of the wall clock would be held by the tracker: dropped and counted.
    send(small_scenario, url, source, time.time() + 600.0)
    _tracks, plots = source.step(0.0)
    assert len(plots) == 0
    assert source.counts["plots_dropped:ahead_of_wall_clock"] > 100
    assert any("ahead of the wall clock" in p for p in source.problems())
    decoder = source.feeds()["decoder"]
    assert decoder["plots_off_wall_clock"] == source.counts["plots_off_wall_clock"]


def test_one_failing_udp_url_leaves_the_others_listening(small_scenario: Path) -> None:
    good = free_udp_url()
    bad = "udp://203.0.113.7:8600"  # TEST-NET-3: not an address of this machine
    source = AsterixSource([bad, good], small_scenario,
                           lambda meta: FakeRuntime(meta.sensors))
    source.start()
    assert source.ready.wait(10)
    send(small_scenario, good, source, time.time() - 61.0)
    _tracks, plots = source.step(0.0)
    assert len(plots) > 100
    feeds = {f["name"]: f for f in source.feeds()["feeds"]}
    assert feeds[bad]["state"] == "failed" and feeds[bad]["last_error"]
    assert feeds[good]["state"] == "listening"
    assert feeds[good]["datagrams"] > 0 and feeds[good]["bytes"] > 0
    assert feeds[good]["drops"] == 0


class LearningRuntime(FakeRuntime):
    """A FakeRuntime that records the scan periods it is told and says what it learned."""

    def __init__(self, sensors: list[Sensor]) -> None:
        super().__init__(sensors)
        self.observed: dict[int, float] = {}

    def observe_scan_period(self, sensor_id: int, period_s: float) -> None:
        self.observed[sensor_id] = period_s

    def learned_sensors(self) -> dict[int, dict[str, Any]]:
        return {sid: {"period_s": p, "period_source": "observed", "pd": float("nan")}
                for sid, p in self.observed.items()}


def test_cat034_scan_periods_reach_the_tracker_and_the_sensor_api(
        small_scenario: Path) -> None:
    url = free_udp_url()
    cfg = ServiceConfig().with_overrides({"input": {
        "kind": "asterix", "sources": [url], "asterix_config": str(small_scenario)}})
    runtime: list[LearningRuntime] = []

    def factory(meta: Any) -> LearningRuntime:
        runtime.append(LearningRuntime(meta.sensors))
        return runtime[0]

    source = scenario_source(cfg, factory)
    assert isinstance(source, AsterixSource)
    pipeline = build_pipeline(cfg, source)
    source.start()
    assert source.ready.wait(10)
    send(small_scenario, url, source, time.time() - 61.0)
    pipeline.tick(0.0)
    # The radar (sensor 1) turns in 4 s: its north markers say so; ADS-B has none.
    assert runtime[0].observed == {1: pytest.approx(4.0, abs=0.01)}
    sensors = {s["id"]: s for s in pipeline.sensor_status()}
    assert sensors[1]["period_s"] == 4.0  # configured
    learned = sensors[1]["learned"]
    assert learned["period_s"] == pytest.approx(4.0, abs=0.01)
    assert learned["cat034_period_s"] == pytest.approx(4.0, abs=0.01)
    assert learned["period_source"] == "observed" and learned["pd"] is None
    assert sensors[2]["learned"] is None


def test_learned_sensor_records_in_any_shape_become_json() -> None:
    from dataclasses import dataclass

    @dataclass
    class Learned:
        sensor_id: int
        period_s: float

    assert learned_by_sensor([Learned(3, 5.0)]) == {3: {"sensor_id": 3, "period_s": 5.0}}
    assert learned_by_sensor({"4": {"pd": np.float64(0.9)}}) == {4: {"pd": 0.9}}
    assert learned_by_sensor([{"id": 2, "sigma_m": float("inf")}]) == {
        2: {"id": 2, "sigma_m": None}}
    assert learned_by_sensor(None) == {}


def test_the_clock_setting_is_checked() -> None:
    assert ServiceConfig().input.clock is None  # "wall", or "data" for Mode S files only
    with pytest.raises(UserError, match=r"input\.clock"):
        ServiceConfig().with_overrides({"input": {"clock": "gps"}})


def test_the_data_clock_before_any_data_gives_an_empty_picture(small_scenario: Path) -> None:
    source = AsterixSource([free_udp_url()], small_scenario,
                           lambda meta: FakeRuntime(meta.sensors), clock="data")
    tracks, plots = source.step(123.0)
    assert len(tracks) == 0 and len(plots) == 0
    assert np.isnan(source.picture_t_s) and np.isnan(source.data_time_s())
    with pytest.raises(UserError, match="clock"):
        AsterixSource(["udp://127.0.0.1:1"], small_scenario, clock="gps")


def test_with_a_json_config_the_tracker_starts_with_the_cat034_periods(
        tmp_path: Path) -> None:
    import json
    from dataclasses import replace

    from airpicture.io.asterix.config import AsterixConfig
    from airpicture.io.scenario import write_scenario
    from tests.service.conftest import small_meta, small_plots

    # The radar turns in 6 s (its north markers say so); today's JSON format has no period.
    meta = small_meta()
    meta.sensors = [replace(s, period_s=6.0) if s.id == 1 else s for s in meta.sensors]
    plots = small_plots(meta.duration_s)
    scenario = write_scenario(tmp_path / "six", meta, pa_truth(), plots,
                              np.full(len(plots), -1))
    site = AsterixConfig.from_scenario(meta).radars[(0, 1)]
    config = tmp_path / "radars.json"
    config.write_text(json.dumps({
        "origin": {"lat": meta.origin_lat_deg, "lon": meta.origin_lon_deg},
        "radars": [{"sac": 0, "sic": 1, "lat": site.lat_deg, "lon": site.lon_deg,
                    "sensor_id": 1}],
        "adsb": [{"sac": 0, "sic": 2, "sensor_id": 2}]}))
    built: list[Any] = []

    def factory(m: Any) -> FakeRuntime:
        built.append(m)
        return FakeRuntime(m.sensors)

    url = free_udp_url()
    source = AsterixSource([url], config, factory)
    assert source.runtime is None and source.radar_sensor_ids == [1]
    tracks, _ = source.step(0.0)  # nothing heard yet: no tracker, no picture
    assert source.runtime is None and len(tracks) == 0
    source.start()
    assert source.ready.wait(10)
    send(scenario, url, source, time.time() - 61.0)
    tracks, plots = source.step(0.0)
    assert source.runtime is not None and len(built) == 1
    periods = {s.id: s.period_s for s in built[0].sensors}
    assert periods[1] == pytest.approx(6.0, abs=0.01)  # measured, not the 4 s default
    assert periods[2] == 1.0
    assert len(plots) > 100 and len(tracks) == 3  # the plots held meanwhile are tracked
    configured = {s.id: s.period_s for s in source.meta.sensors}
    assert configured[1] == 4.0  # /api/sensors' configured value stays; learned is beside


def pa_truth() -> Any:
    import pyarrow as pa

    return pa.table({"t": [0.0], "target_id": [1], "x": [0.0], "y": [0.0], "vx": [0.0],
                     "vy": [0.0]})


def test_the_data_clock_holds_back_by_the_lateness_it_sees(small_scenario: Path) -> None:
    from airpicture.io.asterix.emit import build_datagrams
    from airpicture.service.live_asterix import UdpFeedStatus

    t0 = 1_700_000_000.0
    _cfg, datagrams = build_datagrams(small_scenario, t0_utc_s=t0)
    source = AsterixSource(["udp://127.0.0.1:1"], small_scenario,
                           lambda meta: FakeRuntime(meta.sensors), clock="data")
    status = UdpFeedStatus("udp://127.0.0.1:1")
    in_order = datagrams[:20]
    for t, d in in_order:
        source.on_datagram(status, t0 + t, d)
    assert source.hold_back_s == 0.0  # in time order: no lateness, the picture has no lag
    assert source.data_time_s() == pytest.approx(t0 + in_order[-1][0], abs=0.5)
    # A sector batch 1.5 s late (arriving after newer data) holds the tracker's processing
    # back that much; the stream time stays the newest data time.
    late = datagrams[20:22]
    for t, d in datagrams[22:25] + late:
        source.on_datagram(status, t0 + t + 100.0, d)  # receive times do not matter
    newest = datagrams[24][0]
    assert 1.0 <= source.hold_back_s <= 2.0
    assert source.data_time_s() == pytest.approx(t0 + newest, abs=0.5)
    assert source.feeds()["clock_hold_back_s"] == source.hold_back_s
    _tracks, plots = source.step(t0 + 10.0)
    assert source.picture_t_s == t0 + 10.0 and len(plots) > 0
    assert source.runtime is not None
    assert source.runtime.t_s == pytest.approx(t0 + 10.0 - source.hold_back_s)  # type: ignore[attr-defined]


def test_the_data_clock_runs_on_across_midnight(small_scenario: Path) -> None:
    from airpicture.io.asterix.emit import build_datagrams
    from airpicture.service.live_asterix import UdpFeedStatus

    day_s = 86400.0
    t0 = 20_000 * day_s - 30.0  # the recording crosses midnight 30 s in
    _cfg, datagrams = build_datagrams(small_scenario, t0_utc_s=t0)
    source = AsterixSource(["udp://127.0.0.1:1"], small_scenario,
                           lambda meta: FakeRuntime(meta.sensors), clock="data")
    status = UdpFeedStatus("udp://127.0.0.1:1")
    clock = []
    for t, d in datagrams:  # received three days later, at 10x
        source.on_datagram(status, t0 + 3 * day_s + t / 10.0, d)
        clock.append(source.data_time_s())
    assert np.all(np.diff(clock) >= 0) and clock[-1] - clock[0] == pytest.approx(59.5, abs=1)
    # The day comes from the first receive time (ASTERIX has the time of day only) ...
    day0 = t0 + 3 * day_s
    assert clock[0] == pytest.approx(day0, abs=1.0)
    # ... then the data's own times run on across midnight: no day lost or gained.
    _tracks, plots = source.step(clock[-1])
    assert plots.t.min() == pytest.approx(day0, abs=0.01)
    assert plots.t.max() == pytest.approx(day0 + 59.0, abs=0.01)


def test_udp_receive_buffer_is_configurable(small_scenario: Path) -> None:
    # [input] udp_rcvbuf_bytes reaches the ASTERIX source's sockets: the kernel grants at least
    # what a small ask gets (Linux doubles it), never the 4 MiB default.
    cfg = ServiceConfig().with_overrides({"input": {
        "kind": "asterix", "sources": [free_udp_url()], "udp_rcvbuf_bytes": 65536,
        "asterix_config": str(small_scenario)}})
    source = scenario_source(cfg)
    assert isinstance(source, AsterixSource) and source.rcvbuf_bytes == 65536
    source.start()
    try:
        assert source.ready.wait(10)
        feed = source.feeds()["feeds"][0]
        assert 65536 <= feed["rcvbuf_granted_bytes"] < 4 << 20
    finally:
        source.stop()
