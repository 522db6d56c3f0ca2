"""CAT062 outputs of `serve` ([[output.cat062]]): file and UDP, status, failures, shutdown."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.errors import UserError
from airpicture.core.plots import PlotBatch
from airpicture.core.tracks import TrackStatus, TrackTable
from airpicture.io.asterix import cat062, cat063, cat065
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.asterix.transport import bind_udp
from airpicture.io.scenario import ScenarioMeta
from airpicture.policy.egress import ReleaseAll
from airpicture.service.app import create_app
from airpicture.service.config import ServiceConfig, validate_config
from airpicture.service.outputs import Cycle, parse_output_url, sensor_reports
from airpicture.service.pipeline import Pipeline
from airpicture.service.serve import build_pipeline
from airpicture.service.sources import TrackerSource
from tests.service.conftest import FakeRuntime, small_meta, small_plots


def config(*outputs: dict[str, object]) -> ServiceConfig:
    return validate_config({"output": {"cat062": list(outputs)}}, "test")


def small_pipeline(*outputs: dict[str, object]) -> Pipeline:
    meta = small_meta()
    src = TrackerSource(meta, small_plots(), FakeRuntime(meta.sensors))
    return build_pipeline(config(*outputs), src)


def run_ticks(p: Pipeline, n: int) -> list[TrackTable]:
    """Tick n times (stream seconds 1..n) with the outputs running; close them; the pictures."""
    assert p.outputs is not None
    p.outputs.start()
    pictures = []
    for k in range(1, n + 1):
        frames = p.tick(float(k))
        pictures.append(frames[next(iter(frames))].tracks)
        for out in p.outputs.outputs:
            out.wait_sent()
    p.outputs.close()
    return pictures


def blocks_of(data: bytes) -> dict[int, list[bytes]]:
    out: dict[int, list[bytes]] = {}
    for b in split_blocks(data, Counter()):
        out.setdefault(b.category, []).append(b.raw)
    return out


def test_config_tables_flag_and_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[[output.cat062]]\nurl = "udp://127.0.0.1:8600"\nsic = 7\n'
                    '[[output.cat062]]\nurl = "file:///tmp/x.ast"\nedition = "1.18"\n')
    from airpicture.service.config import load_config

    cfg = load_config(path)
    assert [(o.url, o.sic, o.edition) for o in cfg.output.cat062] == [
        ("udp://127.0.0.1:8600", 7, "1.21"), ("file:///tmp/x.ast", 1, "1.18")]
    first = cfg.output.cat062[0]
    assert (first.sac, first.period_s, first.consumer, first.cat063, first.cat065) == (
        0, 1.0, "local", True, True)
    more = cfg.with_overrides({"output": {"cat062": [{"url": "udp://239.1.2.3:9000?iface="
                                                             "127.0.0.1"}]}})
    assert len(more.output.cat062) == 3 and more.output.cat062[2].url.startswith("udp://239")
    bad_values: list[tuple[dict[str, object], str]] = [
        ({"url": "tcp://x:1"}, "udp://HOST:PORT"),
        ({"url": "udp://host.example:1"}, "IPv4"),
        ({"url": "file://"}, "needs a path"),
        ({"url": "udp://127.0.0.1:1", "edition": "1.3"}, "edition"),
        ({"url": "udp://127.0.0.1:1", "period_s": 0}, "period_s"),
        ({"url": "udp://127.0.0.1:1", "colour": 1}, "unknown key")]
    for bad, match in bad_values:
        with pytest.raises(UserError, match=match):
            config(bad)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.builds(lambda s, t: s + t, st.sampled_from(
    ["udp://", "file://", "udp://127.0.0.1:", "udp://239.1.2.3:9?iface="]), st.text(max_size=30))))
def test_any_output_url_parses_or_is_one_clear_error(url: str) -> None:
    try:
        kind, target = parse_output_url(url)
    except UserError as exc:
        assert "\n" not in str(exc)
    else:
        assert kind in ("udp", "file") and target


def test_parse_output_url() -> None:
    assert parse_output_url("file:///var/tmp/a%20b.ast") == ("file", "/var/tmp/a b.ast")
    assert parse_output_url("file://rel.ast") == ("file", "rel.ast")
    assert parse_output_url("udp://127.0.0.1:8600")[0] == "udp"


def test_file_output_sends_every_released_track_each_period_with_status(tmp_path: Path
                                                                         ) -> None:
    path = tmp_path / "out.ast"
    p = small_pipeline({"url": f"file://{path}", "sac": 9, "sic": 4})
    pictures = run_ticks(p, 8)
    data = blocks_of(path.read_bytes())
    counts: Counter[str] = Counter()
    tracks = cat062.decode([b for raw in data[62] for b in split_blocks(raw, counts)], counts)
    assert not any(k.startswith("blocks_rejected") for k in counts)
    expected = [int(i) & 0xFFFF for pic in pictures for i in pic.track_id]
    assert [t.track_number for t in tracks] == expected and len(expected) > 10
    assert {(t.sac, t.sic) for t in tracks} == {(9, 4)}
    # each record carries its track's time in the picture (stream seconds as time of day)
    np.testing.assert_allclose([t.tod_s for t in tracks],
                               [float(x) for pic in pictures for x in pic.t], atol=1 / 256)
    # one CAT063 and one CAT065 end of batch per cycle; the SDPS status once (10 s period)
    assert len(data[63]) == 8
    recs = cat063.decode_block(split_blocks(data[63][-1], Counter())[0])
    assert [(r["010"]["SAC"], r["010"]["SIC"], r["050"]["SIC"]) for r in recs] == [
        (9, 4, 1), (9, 4, 2)]
    assert all(r["060"]["CON"] == cat063.SensorCon.OPERATIONAL for r in recs)
    kinds = [cat065.decode_block(split_blocks(b, Counter())[0])[0]["000"] for b in data[65]]
    assert kinds.count(cat065.MessageType.END_OF_BATCH) == 8
    assert kinds.count(cat065.MessageType.SDPS_STATUS) == 1
    assert p.outputs is not None
    st = p.outputs.status()[0]
    assert st["state"] == "up" and st["records"] == len(expected) and st["cycles"] == 8
    assert st["bytes"] == path.stat().st_size and st["last_sent_t"] == 8.0
    assert st["dropped"] == 0


class StatusSource:
    """A picture source whose tracks have the given statuses (id = position)."""

    def __init__(self, statuses: list[int]) -> None:
        self.meta: ScenarioMeta = small_meta()
        self.statuses = np.asarray(statuses, np.int8)

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        n = self.statuses.size
        z = np.zeros(n)
        return TrackTable(
            track_id=np.arange(n, dtype=np.int64), t=np.full(n, t_s), x=z + 1000.0, y=z,
            vx=z + 100.0, vy=z, status=self.statuses, alt_ft=z + 10000.0, vrate_fpm=z,
            icao24=np.arange(n, dtype=np.int64) + 1, callsign=np.full(n, "", object),
            squawk=np.full(n, -1, np.int16), sigma_pos_m=z + 50.0, last_update_t=z + t_s,
            flags=np.zeros(n, np.uint16), sensor_ids=np.asarray([1, 2], np.int32),
            sensor_last_t=np.full((n, 2), t_s)), PlotBatch.empty()


def test_coasting_tracks_carry_cst_and_tentative_ones_are_not_sent(tmp_path: Path) -> None:
    path = tmp_path / "out.ast"
    src = StatusSource([TrackStatus.CONFIRMED, TrackStatus.TENTATIVE, TrackStatus.COASTING])
    p = build_pipeline(config({"url": f"file://{path}", "cat063": False, "cat065": False}),
                       src)
    run_ticks(p, 2)
    tracks = cat062.decode(split_blocks(path.read_bytes(), Counter()), Counter())
    assert [(t.track_number, t.cst) for t in tracks] == [(0, 0), (2, 1)] * 2


def test_udp_output_and_period(tmp_path: Path) -> None:
    sock = bind_udp("udp://127.0.0.1:0")
    sock.setblocking(True)
    sock.settimeout(5.0)
    port = sock.getsockname()[1]
    p = small_pipeline({"url": f"udp://127.0.0.1:{port}", "period_s": 2.0, "cat063": False})
    pictures = run_ticks(p, 6)
    got: list[bytes] = []
    with sock:
        while True:
            try:
                got.append(sock.recv(65536))
            except TimeoutError:
                break
            if sum(d[0] == 65 and d[6] == 2 for d in got) == 3:  # 3 ends of batch
                break
    cats = [d[0] for d in got]
    assert cats.count(65) >= 3 and 63 not in cats
    tracks = cat062.decode([b for d in got for b in split_blocks(d, Counter())], Counter())
    sent = [pictures[k] for k in (0, 2, 4)]  # every other tick (period 2 s, tick 1 s)
    expected = [int(i) & 0xFFFF for pic in sent for i in pic.track_id]
    assert [t.track_number for t in tracks] == expected
    assert all(len(d) <= 1400 for d in got)


def test_a_failing_output_is_reported_and_others_carry_on(tmp_path: Path) -> None:
    good = tmp_path / "good.ast"
    p = small_pipeline({"url": f"file://{tmp_path}/missing/dir/out.ast"},
                       {"url": f"file://{good}"})
    pictures = run_ticks(p, 3)
    assert p.outputs is not None
    bad, ok = p.outputs.status()
    assert bad["state"] == "down" and bad["errors"] == 3 and "No such file" in bad["last_error"]
    assert ok["state"] == "up" and ok["records"] == sum(len(x) for x in pictures)
    problems = p.outputs.problems()
    assert len(problems) == 1 and "missing/dir" in problems[0]
    (tmp_path / "missing" / "dir").mkdir(parents=True)  # the next cycle reopens it
    p.outputs.outputs[0].send(Cycle(4.0, pictures[-1], [], False))
    assert p.outputs.status()[0]["state"] == "up" and p.outputs.problems() == []


def test_a_full_queue_drops_the_oldest_cycle_and_counts_it() -> None:
    p = small_pipeline({"url": "udp://127.0.0.1:9"})
    assert p.outputs is not None
    out = p.outputs.outputs[0]  # not started: nothing takes cycles off its queue
    for k in range(5):
        out.offer(Cycle(float(k), TrackTable.empty(), [], False))
    assert out.dropped == 3 and [c.t_s for c in list(out.queue.queue)] == [3.0, 4.0]


def test_api_outputs_and_metrics(tmp_path: Path) -> None:
    p = small_pipeline({"url": f"file://{tmp_path}/a.ast"},
                       {"url": f"file://{tmp_path}/nodir/b.ast"})
    p.recorder.start()
    run_ticks(p, 2)
    with TestClient(create_app(p, start=False)) as c:
        body = c.get("/api/outputs").json()
        metrics = c.get("/metrics").text
    p.recorder.close()
    assert [(o["kind"], o["state"]) for o in body["outputs"]] == [("file", "up"),
                                                                  ("file", "down")]
    # 2 cycles x (CAT062, CAT063, CAT065 end of batch) and one CAT065 SDPS status
    assert body["outputs"][0]["records"] > 0 and body["outputs"][0]["datagrams"] == 7
    name = f"file://{tmp_path}/a.ast"
    assert f'airpicture_output_up{{output="{name}"}} 1.0' in metrics
    assert f'airpicture_output_records{{output="{name}"}} ' in metrics
    assert 'airpicture_output_errors{output="file://' in metrics


def test_sensor_reports_from_sensor_status() -> None:
    status = [
        {"id": 1, "kind": "psr", "alive": True, "plots_per_s": 3.0},
        {"id": 2, "kind": "ssr", "alive": False, "plots_per_s": 0.0},
        {"id": 3, "kind": "adsb", "alive": True, "plots_per_s": 0.0},
        {"id": 4, "kind": "mlat", "alive": False, "plots_per_s": 0.0},
        {"id": 5, "kind": "adsb", "alive": True, "plots_per_s": 9.0},
        {"id": 300, "kind": "adsb", "alive": True, "plots_per_s": 9.0},
    ]
    reports = sensor_reports(status, {1: (7, 11), 2: (7, 11)})  # one radar, PSR and SSR
    con = cat063.SensorCon
    assert [(r.sac, r.sic, r.con, r.psr_nogo, r.ssr_nogo, r.mlt_nogo, r.no_plots)
            for r in reports] == [
        (0, 3, con.DEGRADED, False, False, False, False),
        (0, 4, con.NOT_CONNECTED, False, False, True, True),
        (0, 5, con.OPERATIONAL, False, False, False, False),
        (7, 11, con.DEGRADED, False, True, False, False),
    ]


@pytest.mark.slow
def test_serve_cli_sends_cat062_until_sigint(small_scenario: Path, tmp_path: Path) -> None:
    """`airpicture serve --cat062 file://...` in a subprocess; SIGINT leaves whole blocks."""
    import os
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "cli.ast"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "airpicture", "serve", "--scenario", str(small_scenario),
         "--port", "0", "--speed", "20", "--cat062", f"file://{path}",
         "--cat062", "udp://127.0.0.1:9"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 600):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    data = path.read_bytes()
    counts: Counter[str] = Counter()
    blocks = split_blocks(data, counts)
    assert sum(len(b.raw) for b in blocks) == len(data) and not counts  # whole blocks only
    assert {b.category for b in blocks} == {62, 63, 65}
    assert len(cat062.decode(blocks, Counter())) > 0


def test_period_tolerates_a_live_clocks_jitter() -> None:
    p = small_pipeline({"url": "udp://127.0.0.1:9"}, {"url": "udp://127.0.0.1:9",
                                                      "period_s": 3.0})
    assert p.outputs is not None
    every, third = p.outputs.outputs
    ticks = [100.0, 100.98, 101.99, 102.97, 104.01, 104.96, 106.0]
    assert [every.due(t, 1.0) for t in ticks] == [True] * 7
    assert [third.due(t, 1.0) for t in ticks] == [True, False, False, True, False, False, True]


class PartnerPolicy(ReleaseAll):
    """Releases everything to the operator, DLH2 withheld from "partner", "broken" raises."""

    def tracks(self, tracks: TrackTable, consumer: object) -> TrackTable:
        name = getattr(consumer, "name", "")
        if name == "broken":
            raise RuntimeError("policy bug")
        if name == "partner":
            return tracks.take([c != "DLH2" for c in tracks.callsign])
        return tracks

    def plots(self, plots: PlotBatch, consumer: object) -> PlotBatch:
        return plots

    def track_rows(self, rows: object, consumer: object) -> object:
        return rows

    def replies(self, replies: object, consumer: object) -> object:
        return replies


def test_each_output_gets_its_consumers_release_and_a_broken_one_stops_nothing(
        tmp_path: Path) -> None:
    from airpicture.policy.egress import Egress

    meta = small_meta()
    src = TrackerSource(meta, small_plots(), FakeRuntime(meta.sensors))
    cfg = config({"url": f"file://{tmp_path}/local.ast"},
                 {"url": f"file://{tmp_path}/partner.ast", "consumer": "partner"},
                 {"url": f"file://{tmp_path}/broken.ast", "consumer": "broken"})
    p = build_pipeline(cfg, src, egress=Egress(policy=PartnerPolicy()))  # type: ignore[arg-type]
    run_ticks(p, 4)
    assert p.outputs is not None
    local, partner, broken = p.outputs.status()
    assert (local["state"], partner["state"], broken["state"]) == ("up", "up", "down")
    assert broken["errors"] == 4 and "policy bug" in broken["last_error"]

    def callsigns(name: str) -> set[str]:
        data = (tmp_path / name).read_bytes()
        return {t.callsign for t in cat062.decode(split_blocks(data, Counter()), Counter())}

    assert callsigns("local.ast") == {"AFR1", "DLH2", ""} and callsigns("partner.ast") == {
        "AFR1", ""}
    assert p.seq == 4 and p.error is None


def test_an_encoding_failure_is_reported_and_the_thread_carries_on(tmp_path: Path) -> None:
    p = small_pipeline({"url": f"file://{tmp_path}/a.ast"})
    assert p.outputs is not None
    out = p.outputs.outputs[0]
    real = out.encoder.record_buffer
    calls = []

    def broken_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("bad track data")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    out.encoder.record_buffer = broken_once  # type: ignore[method-assign,assignment]
    out.start()
    out.offer(Cycle(1.0, TrackTable.empty(), [], False))
    out.wait_sent()
    assert out.status()["state"] == "down" and "ValueError: bad track data" in out.problems()[0]
    out.offer(Cycle(2.0, TrackTable.empty(), [], False))
    out.wait_sent()
    out.close()
    assert out.status()["state"] == "up" and out.status()["cycles"] == 1


def test_cat065_status_overload_and_service_reports_follow_the_sdps_state() -> None:
    p = small_pipeline({"url": "udp://127.0.0.1:9"})
    assert p.outputs is not None
    out = p.outputs.outputs[0]

    def cat065_of(t_s: float, degraded: bool) -> list[dict[str, object]]:
        blocks, _ = out.datagrams_for(Cycle(t_s, TrackTable.empty(), [], degraded))
        return [r for b in blocks if b[0] == 65
                for r in cat065.decode_block(split_blocks(b, Counter())[0])]

    def kinds(recs: list[dict[str, object]]) -> list[object]:
        return [r["000"] for r in recs]

    first = cat065_of(0.0, False)
    assert kinds(first) == [2, 1] and first[1]["040"]["NOGO"] == 0  # type: ignore[index]
    assert first[1]["040"]["OVL"] == 0  # type: ignore[index]
    out.dropped = 2  # two updates dropped since
    assert kinds(cat065_of(1.0, False)) == [2]
    degraded = cat065_of(2.0, True)
    assert kinds(degraded) == [2, 3] and degraded[1]["050"] == 1
    assert kinds(cat065_of(3.0, True)) == [2]
    status = cat065_of(10.0, True)
    assert kinds(status) == [2, 1] and status[1]["040"] == {
        "NOGO": 1, "OVL": 1, "TSV": 0, "PSS": 0, "STTN": 0}
    ended = cat065_of(11.0, False)
    assert kinds(ended) == [2, 3] and ended[1]["050"] == 2
    assert cat065_of(20.0, False)[1]["040"]["OVL"] == 0  # type: ignore[index]


def test_sensor_codes_come_from_the_asterix_configuration(tmp_path: Path) -> None:
    import json

    from airpicture.service.outputs import sensor_codes_from_asterix

    path = tmp_path / "sources.json"
    path.write_text(json.dumps({
        "radars": [{"sac": 7, "sic": 11, "lat": 48.8, "lon": 2.3, "psr_sensor_id": 3,
                    "ssr_sensor_id": 4}],
        "adsb": [{"sac": 7, "sic": 20, "sensor_id": 5}]}))
    assert sensor_codes_from_asterix(str(path)) == {3: (7, 11), 4: (7, 11), 5: (7, 20)}
