"""The whole chain on loopback: a scenario sent as CAT048/CAT034/CAT021 comes back as the
same plots (within ASTERIX quantisation), over UDP unicast and multicast, and by the CLI."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree
from typer.testing import CliRunner

from airpicture.core.plots import PlotBatch
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.asterix.decoder import AsterixDecoder
from airpicture.io.asterix.emit import build_datagrams, emit_scenario
from airpicture.io.asterix.transport import bind_udp
from airpicture.io.scenario import read_meta, read_plots


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from airpicture.sim.presets import simulate_preset

    return simulate_preset("multi-sensor-8", tmp_path_factory.mktemp("scn") / "s", seed=3,
                           duration_s=40.0)


def _match(sent: PlotBatch, got: PlotBatch) -> PlotBatch:
    """For each received plot, the sent plot of the same sensor nearest in time and place."""
    tree = cKDTree(np.c_[sent.t * 100.0, sent.x, sent.y, sent.sensor_id * 1e7])
    _, idx = tree.query(np.c_[got.t * 100.0, got.x, got.y, got.sensor_id * 1e7])
    return sent.take(idx)


def test_scenario_round_trips_through_asterix(scenario):
    meta = read_meta(scenario)
    sent = read_plots(scenario, meta)
    counts: Counter[str] = Counter()
    cfg, datagrams = build_datagrams(scenario, counts=counts)
    got = AsterixDecoder(cfg).decode([(None, d) for _, d in datagrams])
    kinds = {s.id: s.kind for s in meta.sensors}
    sendable = np.array([kinds[int(s)] in ("psr", "ssr", "adsb") for s in sent.sensor_id])
    sendable &= ~((np.array([kinds[int(s)] for s in sent.sensor_id]) == "adsb")
                  & (sent.icao24 == 0))
    assert len(got.plots) == int(sendable.sum()) > 100
    assert counts["plots_skipped:mlat"] == int((~sendable).sum())
    ref = _match(sent, got.plots)
    radar = np.isin(got.plots.sensor_id, [s.id for s in meta.sensors if s.kind != "adsb"])
    err = np.hypot(ref.x - got.plots.x, ref.y - got.plots.y)
    # Quantisation: 1/256 NM in range, 360/65536 deg in azimuth (about 10 m at 100 km).
    assert err[radar].max() < 25.0 and err[~radar].max() < 0.05
    assert np.abs(ref.t - got.plots.t).max() <= 1 / 256 + 1e-9
    np.testing.assert_array_equal(got.plots.icao24, ref.icao24)
    np.testing.assert_array_equal(got.plots.squawk, ref.squawk)
    assert list(got.plots.callsign) == list(ref.callsign)
    np.testing.assert_allclose(got.plots.alt_ft, ref.alt_ft, atol=12.5)
    adsb = ~radar
    np.testing.assert_array_equal(got.plots.nacp[adsb], ref.nacp[adsb])
    # CAT034: every radar's scan period is measured from its north markers.
    dec = AsterixDecoder(cfg)
    dec.decode([(None, d) for _, d in datagrams])
    for s in meta.sensors:
        if s.kind in ("psr", "ssr"):
            assert dec.status[(0, s.id)].scan_period_s == pytest.approx(s.period_s, abs=0.01)


def _receive(sock: socket.socket, stop: threading.Event) -> list[bytes]:
    out: list[bytes] = []
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            out.append(sock.recv(65536))
        except TimeoutError:
            continue
    while True:
        try:
            out.append(sock.recv(65536))
        except (TimeoutError, BlockingIOError):
            return out


def _emit_and_receive(scenario: Path, url: str, listen: str) -> tuple[dict, list[bytes]]:
    sock = bind_udp(listen)
    sock.setblocking(True)
    stop = threading.Event()
    got: list[bytes] = []
    th = threading.Thread(target=lambda: got.extend(_receive(sock, stop)))
    th.start()
    try:
        result = emit_scenario(scenario, url.replace(":0", f":{sock.getsockname()[1]}"),
                               speed=40.0)  # paced: no buffer overrun
    finally:
        stop.set()
        th.join()
        sock.close()
    return result, got


def test_emit_over_udp_loopback(scenario):
    result, got = _emit_and_receive(scenario, "udp://127.0.0.1:0", "udp://127.0.0.1:0")
    assert result["datagrams"] == len(got) > 10
    assert sum(len(d) for d in got) == result["bytes"]
    cfg, _ = build_datagrams(scenario)
    res = AsterixDecoder(cfg).decode([(None, d) for d in got])
    assert len(res.plots) == result["cat048_records"] + result["cat021_records"]


def test_emit_paces_to_speed(scenario):
    sock = bind_udp("udp://127.0.0.1:0")
    try:
        result = emit_scenario(scenario, f"udp://127.0.0.1:{sock.getsockname()[1]}", speed=20.0)
    finally:
        sock.close()
    # 40 s of scenario at 20x: about 2 s.
    assert 1.5 < result["wall_s"] < 6.0


def test_multicast_loopback(scenario):
    group = "239.255.77.77"
    try:
        probe = bind_udp(f"udp://{group}:0")
    except Exception as exc:  # no multicast route in this sandbox
        pytest.skip(f"multicast unavailable: {exc}")
    port = probe.getsockname()[1]
    probe.close()
    try:
        result, got = _emit_and_receive(scenario, f"udp://{group}:{port}",
                                        f"udp://{group}:{port}")
    except OSError as exc:
        pytest.skip(f"multicast unavailable: {exc}")
    if not got:
        pytest.skip("multicast loopback delivers nothing here")
    assert len(got) == result["datagrams"]


def test_cli_dump_decode_and_errors(shared_data, tmp_path):
    from airpicture.cli import app

    runner = CliRunner()
    pcap = shared_data / "croatiacontrol-asterix/cat_034_048.pcap"
    r = runner.invoke(app, ["asterix", "dump", str(pcap)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines() if line.startswith('{"t"')]
    assert len(rows) == 162 and Counter(x["cat"] for x in rows) == {48: 128, 34: 34}
    r = runner.invoke(app, ["asterix", "dump", "--text", "--limit", "2", str(pcap)])
    assert r.exit_code == 0 and r.stdout.count("CAT048 1.32") == 2
    bad = runner.invoke(app, ["asterix", "dump",
                              str(shared_data / "croatiacontrol-asterix/asterix.pcap")])
    assert bad.exit_code == 0 and bad.stdout.count('"error"') > 0
    cfg = tmp_path / "sources.json"
    cfg.write_text(json.dumps({"radars": [
        {"sac": 25, "sic": s, "lat": 45.0, "lon": 16.0, "height_m": 200, "sensor_id": i + 1}
        for i, s in enumerate((11, 12, 13, 14, 201, 204, 205))]}))
    out = tmp_path / "plots.parquet"
    r = runner.invoke(app, ["asterix", "decode", str(pcap), "--config", str(cfg), "--out",
                            str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["plots"] == 126
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == 126


def _main(argv: list[str], monkeypatch, capsys) -> tuple[int, str]:
    """Run the real entry point in-process: exit code and stderr."""
    from airpicture.cli import main

    monkeypatch.setattr("sys.argv", ["airpicture", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    return int(exc.value.code or 0), capsys.readouterr().err


def test_cli_user_errors_are_one_line_exit_2(tmp_path, monkeypatch, capsys):
    code, err = _main(["asterix", "dump", str(tmp_path / "missing.ast")], monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    cfg = tmp_path / "c.json"
    cfg.write_text('{"radars": [{"sac": 1}]}')
    ast = tmp_path / "x.ast"
    ast.write_bytes(b"\x30\x00\x04\x00")
    code, err = _main(["asterix", "decode", str(ast), "--config", str(cfg)], monkeypatch, capsys)
    assert code == 2 and "c.json" in err and "Traceback" not in err
    cfg.write_text('{"editions": {"48": "9.9"}}')
    code, err = _main(["asterix", "decode", str(ast), "--config", str(cfg)], monkeypatch, capsys)
    assert code == 2 and "9.9" in err
    code, err = _main(["asterix", "listen", "udp://nohost:1"], monkeypatch, capsys)
    assert code == 2 and "udp://nohost:1" in err


def test_listen_prints_records_and_plot_counts(shared_data, tmp_path):
    import asyncio

    from airpicture.io.asterix.listen import run_listener
    from airpicture.io.asterix.transport import UdpSender

    probe = bind_udp("udp://127.0.0.1:0")
    port = probe.getsockname()[1]
    probe.close()
    raw = (shared_data / "croatiacontrol-asterix/cat048.raw").read_bytes()
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"radars": [{"sac": 25, "sic": 201, "lat": 45, "lon": 16,
                                           "sensor_id": 1}]}))

    async def session(config: Path | None) -> list[str]:
        lines: list[str] = []
        ready = asyncio.Event()
        task = asyncio.create_task(run_listener(f"udp://127.0.0.1:{port}", config, 1.0,
                                                lines.append, ready))
        await ready.wait()
        sender = UdpSender(f"udp://127.0.0.1:{port}")
        sender.send(raw)
        sender.close()
        await task
        return lines

    lines = asyncio.run(session(None))
    assert json.loads(lines[0])["items"]["240"] == "DLH65A  "
    lines = asyncio.run(session(cfg))
    assert json.loads(lines[0])["plots"] == 1
    assert json.loads(lines[-1])["counts"]["plots:cat048"] == 1
    summary = json.loads(lines[-1])
    assert summary["udp"]["datagrams"] == 1 and summary["udp"]["bytes"] == len(raw)
    assert [r["sic"] for r in summary["radars"]] == [201]


@pytest.mark.slow
def test_tshark_dissects_our_cat048_cat034_cat021(scenario, tmp_path):
    import re
    import shutil
    import subprocess

    from airpicture.io.asterix.transport import write_pcap

    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed (make debs-test installs it)")
    counts: Counter[str] = Counter()
    _cfg, datagrams = build_datagrams(scenario, counts=counts)
    pcap = write_pcap(tmp_path / "emit.pcap", [d for _, d in datagrams[:40]], port=8600)
    out = subprocess.run([tshark, "-r", str(pcap), "-d", "udp.port==8600,asterix", "-T", "json"],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert "_ws.malformed" not in out and "_ws.expert" not in out
    cats = Counter(re.findall(r'"asterix.category": "(\d+)"', out))
    ours = Counter()
    for _, d in datagrams[:40]:
        ours.update(str(b.category) for b in split_blocks(d, Counter()))
    assert cats == ours and set(cats) == {"21", "34", "48"}


def test_pcapng_is_read_like_pcap(shared_data, tmp_path):
    import dpkt

    from airpicture.io.asterix.transport import read_pcap

    src = read_pcap(shared_data / "croatiacontrol-asterix/cat_034_048.pcap")
    ng = tmp_path / "x.pcapng"
    with ng.open("wb") as f:
        w = dpkt.pcapng.Writer(f)
        for ts, payload in src[:10]:
            udp = dpkt.udp.UDP(sport=1, dport=2, data=payload)
            udp.ulen = len(udp)
            ip = dpkt.ip.IP(src=b"\x7f\x00\x00\x01", dst=b"\x7f\x00\x00\x01", p=17, data=udp)
            ip.len = len(ip)
            w.writepkt(bytes(dpkt.ethernet.Ethernet(type=0x0800, data=ip)), ts=ts)
    got = read_pcap(ng)
    assert [d for _, d in got] == [d for _, d in src[:10]]
    assert got[0][0] == pytest.approx(src[0][0], abs=1e-5)


def test_replay_real_recording_over_udp(shared_data):
    from airpicture.io.asterix.replay import replay_file
    from airpicture.io.asterix.transport import read_any

    sock = bind_udp("udp://127.0.0.1:0")
    stop = threading.Event()
    got: list[bytes] = []
    th = threading.Thread(target=lambda: got.extend(_receive(sock, stop)))
    th.start()
    pcap = shared_data / "croatiacontrol-asterix/cat_034_048.pcap"
    try:
        result = replay_file(pcap, f"udp://127.0.0.1:{sock.getsockname()[1]}", speed=2.0)
    finally:
        stop.set()
        th.join()
        sock.close()
    assert got == [d for _, d in read_any(pcap)] and result["datagrams"] == 100
    assert 0.1 < result["wall_s"] < 3.0  # 0.45 s of capture at 2x


def test_stream_plots_feeds_live_plots(scenario):
    import asyncio

    from airpicture.io.asterix.config import AsterixConfig
    from airpicture.io.asterix.listen import stream_plots

    probe = bind_udp("udp://127.0.0.1:0")
    port = probe.getsockname()[1]
    probe.close()
    batches: list[PlotBatch] = []

    async def session() -> dict:
        stop = asyncio.Event()
        meta = read_meta(scenario)
        t0 = time.time()  # live data: time of day near the arrival time
        dec = AsterixDecoder(AsterixConfig.from_scenario(meta, t0_utc_s=t0))
        ready = asyncio.Event()
        task = asyncio.create_task(stream_plots(f"udp://127.0.0.1:{port}", dec, batches.append,
                                                stop, ready))
        await ready.wait()
        # Paced (40 s at 40x): a blast could overrun the socket buffer of a busy listener.
        result = await asyncio.to_thread(emit_scenario, scenario, f"udp://127.0.0.1:{port}",
                                         40.0, t0)
        await asyncio.sleep(1.0)  # let the loop drain what is still queued
        stop.set()
        await task
        return result

    result = asyncio.run(session())
    plots = PlotBatch.concat(batches)
    assert len(plots) == result["cat048_records"] + result["cat021_records"]
    assert plots.t.min() >= -0.01 and plots.t.max() <= 40.01
