"""The whole chain on loopback: scenario -> CAT048/CAT034/CAT021 over UDP -> plots ->
tracker -> CAT062 over UDP (through the egress gate) -> tracks near the truth."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from airpicture.io.asterix import cat062
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.asterix.cat062 import Cat062Encoder
from airpicture.io.asterix.config import AsterixConfig
from airpicture.io.asterix.decoder import AsterixDecoder
from airpicture.io.asterix.emit import emit_scenario
from airpicture.io.asterix.output import Cat062Output, UdpSink
from airpicture.io.asterix.transport import bind_udp
from airpicture.io.scenario import read_meta, read_truth


def _collect(sock: socket.socket, stop: threading.Event, out: list[tuple[float, bytes]]) -> None:
    sock.settimeout(0.1)
    while True:
        try:
            out.append((time.time(), sock.recv(65536)))
        except TimeoutError:
            if stop.is_set():
                return


@pytest.mark.slow
def test_scenario_to_cat062_over_loopback(tmp_path: Path):
    from airpicture.sim.presets import simulate_preset
    from airpicture.tracker.config import TrackerConfig
    from airpicture.tracker.stream import InProcessTracker

    scn = simulate_preset("multi-sensor-6", tmp_path / "s", seed=5, duration_s=60.0)
    meta = read_meta(scn)
    sock_in, sock_out = bind_udp("udp://127.0.0.1:0"), bind_udp("udp://127.0.0.1:0")
    got_in: list[tuple[float, bytes]] = []
    got_out: list[tuple[float, bytes]] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_collect, args=(s, stop, g))
               for s, g in ((sock_in, got_in), (sock_out, got_out))]
    for th in threads:
        th.start()
    try:
        # Paced at 60x (1 s): a blast could overrun a socket buffer on a busy machine.
        # A whole-second t0: times of day then carry the picture times exactly (a rounding
        # up by 1/256 s would make the scorer see a track after its truth sample).
        sent = emit_scenario(scn, f"udp://127.0.0.1:{sock_in.getsockname()[1]}", speed=60.0,
                             t0_utc_s=float(round(time.time())))
        time.sleep(0.3)
        decoder = AsterixDecoder(AsterixConfig.from_scenario(meta, t0_utc_s=sent["t0_utc_s"]))
        plots = decoder.decode(got_in).plots
        assert len(plots) == sent["cat048_records"] + sent["cat021_records"]
        assert plots.t.min() >= -0.01 and plots.t.max() <= 60.01
        tracker = InProcessTracker(meta.sensors, TrackerConfig.for_scenario(meta))
        plots.t_arrival[:] = np.nan
        tracker.ingest(plots)
        encoder = Cat062Encoder(meta.frame, sac=0, sic=200, t0_utc_s=sent["t0_utc_s"],
                                sensor_kinds={s.id: s.kind for s in meta.sensors})
        out = Cat062Output(encoder, [UdpSink(f"udp://127.0.0.1:{sock_out.getsockname()[1]}")])
        pictures = []
        for t in np.arange(4.0, 60.01, 4.0):
            tracker.advance_to(float(t))
            pictures.append(tracker.picture(float(t)))
            out.publish(pictures[-1])
        out.close()
        time.sleep(0.3)
    finally:
        stop.set()
        for th in threads:
            th.join()
        sock_in.close()
        sock_out.close()
    assert len(got_out) == out.blocks_sent >= 13  # a cycle without tracks sends nothing
    tracks = [tr for _, d in got_out for tr in cat062.decode(split_blocks(d, Counter()),
                                                            Counter())]
    last_tod = (sent["t0_utc_s"] + 60.0) % 86400
    final = [tr for tr in tracks if abs(tr.tod_s - last_tod) < 0.01 and tr.cnf == 0]
    truth = read_truth(scn).to_pandas()
    end = truth[truth.t == truth.t.max()]
    # Every target alive at the end has a confirmed CAT062 track within 1 km.
    pos = np.array([(tr.x_m, tr.y_m) for tr in final])
    assert len(final) >= len(end) - 1
    dist = np.hypot(pos[:, None, 0] - end.x.to_numpy()[None], pos[:, None, 1]
                    - end.y.to_numpy()[None]).min(axis=0)
    assert np.sum(dist < 1000.0) >= len(end) - 1
    # The CAT062 that came back scores as the tracker's own pictures do.
    import pyarrow as pa

    from airpicture.metrics.score import score_scenario

    live = [tr for tr in tracks if not tr.tse]  # TSE repeats an ended track's last state
    via_asterix = score_scenario(scn, cat062.tracks_table(live, meta.frame, sent["t0_utc_s"]))
    direct = score_scenario(scn, pa.concat_tables([p.to_arrow() for p in pictures]))
    a, d = via_asterix.to_json(), direct.to_json()
    assert a["n_tracks"] == d["n_tracks"] > 0
    assert abs(a["gospa_m"] - d["gospa_m"]) < 25.0
