"""End-to-end CAT062 latency: from a plot's arrival to the CAT062 record that carries it.

A live source (`LiveAdsbSource`) makes n aircraft send one ADS-B plot a second each, spread
evenly over the second, in wall-clock time: a plot has arrived at its scheduled time and waits
in the source (as AsterixSource's pending plots do) until the pipeline's next tick takes it to
the real tracker.  The real pipeline (`build_pipeline`, recording in memory) sends CAT062 over
UDP through a real `[[output.cat062]]` to a local socket whose thread timestamps each datagram.
Each cycle ends with its CAT065 end of batch, whose time of message is the picture's time:
that maps received records to the tick that ingested each plot.

latency = receipt of the aircraft's record in the first cycle after the plot's tick - the
plot's arrival; it includes the wait for the next tick (uniform over tick_s), which is
reported apart: processing = receipt - the tick's start.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from airpicture.core.plots import PlotBatch
from airpicture.core.sensors import Sensor
from airpicture.core.tracks import TrackTable
from airpicture.io.asterix import cat062, cat065
from airpicture.io.asterix.blocks import split_blocks
from airpicture.io.asterix.cat063 import time_of_day
from airpicture.io.scenario import ScenarioMeta
from airpicture.service.sources import RuntimeFactory, default_runtime

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
ICAO_BASE = 0x3C0000


def tod_key(t_s: float) -> int:
    """A picture time as the 1/128 s time of day its CAT065 end of batch carries."""
    return round(time_of_day(t_s) * 128)


@dataclass
class Tick:
    """One step of the source: its wall time and the plots it handed to the tracker."""

    wall_s: float
    icao24: Ints
    arrival_s: Floats


class LiveAdsbSource:
    """n aircraft in straight flight, one ADS-B plot each per second, in wall-clock time."""

    def __init__(self, n_aircraft: int, factory: RuntimeFactory = default_runtime,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.meta = ScenarioMeta(
            name="latency", seed=seed, origin_lat_deg=48.85, origin_lon_deg=2.35,
            duration_s=0.0, sensors=[Sensor(id=1, kind="adsb", period_s=1.0, sigma_m=30.0,
                                            name="adsb")])
        self.runtime = factory(self.meta)
        n = n_aircraft
        self.icao24 = ICAO_BASE + np.arange(n, dtype=np.int64)
        self.phase_s = np.arange(n) / max(n, 1)
        self.x0 = rng.uniform(-150_000.0, 150_000.0, n)
        self.y0 = rng.uniform(-150_000.0, 150_000.0, n)
        heading = rng.uniform(0.0, 2 * np.pi, n)
        self.vx, self.vy = 200.0 * np.sin(heading), 200.0 * np.cos(heading)
        self.alt_ft = rng.uniform(5000.0, 40000.0, n).round(-2)
        self.t0_s = time.time()
        self.picture_t_s = float("nan")
        self.ticks: list[Tick] = []
        self._last_s: float | None = None

    def _plots(self, after_s: float, until_s: float) -> PlotBatch:
        """Every plot scheduled in (after_s, until_s]: aircraft i at k + phase_i."""
        rel_after, rel_until = after_s - self.t0_s, until_s - self.t0_s
        k_lo = np.floor(rel_after - self.phase_s).astype(np.int64) + 1
        k_hi = np.floor(rel_until - self.phase_s).astype(np.int64)
        count = np.maximum(k_hi - k_lo + 1, 0)
        idx = np.repeat(np.arange(self.phase_s.size), count)
        k = np.repeat(k_lo, count) + (np.arange(idx.size) - np.repeat(np.cumsum(count) - count,
                                                                       count))
        rel = k + self.phase_s[idx]
        n = idx.size
        return PlotBatch.create(
            t=self.t0_s + rel, sensor_id=np.ones(n, np.int32),
            x=self.x0[idx] + self.vx[idx] * rel, y=self.y0[idx] + self.vy[idx] * rel,
            var_x=np.full(n, 900.0), var_y=np.full(n, 900.0), cov_xy=np.zeros(n),
            icao24=self.icao24[idx], alt_ft=self.alt_ft[idx], nacp=np.full(n, 9),
            nic=np.full(n, 8), sil=np.full(n, 3), t_arrival=self.t0_s + rel)

    def step(self, t_s: float) -> tuple[TrackTable, PlotBatch]:
        """Ingest what arrived since the last step; the picture at the wall clock."""
        now = time.time()
        plots = self._plots(self._last_s if self._last_s is not None else now - 1.0, now)
        self._last_s = now
        self.ticks.append(Tick(now, plots.icao24.astype(np.int64), plots.t_arrival.copy()))
        if len(plots):
            self.runtime.ingest(plots)
        self.runtime.advance_to(now)
        self.picture_t_s = now
        return self.runtime.picture(now), plots


RECEIVER = """
import pickle, socket, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
sock.bind(("127.0.0.1", 0))
sock.settimeout(0.1)
print(sock.getsockname()[1], flush=True)
rows = []
stop = sys.argv[2]
import os
while not os.path.exists(stop):
    try:
        data = sock.recv(65536)
    except TimeoutError:
        continue
    rows.append((time.time(), data))
with open(sys.argv[1], "wb") as f:
    pickle.dump(rows, f)
"""
"""The receiver: a plain Python process (no GIL shared with the service, nothing imported)
that timestamps each datagram as it arrives, until the stop file exists."""


class UdpRecorder:
    """A loopback UDP socket in its own process that timestamps every datagram on arrival;
    `received` is filled by `close`."""

    def __init__(self) -> None:
        import subprocess
        import sys
        import tempfile

        self._dir = tempfile.TemporaryDirectory(prefix="cat062-latency-")
        self._out = f"{self._dir.name}/received.pickle"
        self._stop = f"{self._dir.name}/stop"
        self._proc = subprocess.Popen([sys.executable, "-c", RECEIVER, self._out, self._stop],
                                      stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        port = self._proc.stdout.readline().strip()
        if not port.isdigit():
            self._proc.kill()
            raise RuntimeError("the CAT062 receiver process did not start")
        self.url = f"udp://127.0.0.1:{port}"
        self.received: list[tuple[float, bytes]] = []

    def close(self) -> None:
        import pickle
        import subprocess

        Path(self._stop).touch()  # tells the receiver to save and exit
        try:
            self._proc.wait(30)
            with open(self._out, "rb") as f:
                self.received = pickle.load(f)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        finally:
            self._dir.cleanup()


@dataclass
class Receipts:
    """Per cycle (keyed by its end of batch's time of day): icao24 -> record receipt time."""

    cycles: dict[int, dict[int, float]] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)


def receipts(datagrams: list[tuple[float, bytes]]) -> Receipts:
    """Group received CAT062 records into cycles, each closed by a CAT065 end of batch."""
    out = Receipts()
    current: dict[int, float] = {}
    for recv_s, data in datagrams:
        for block in split_blocks(data, out.counts):
            if block.category == 62:
                for trk in cat062.decode([block], out.counts):
                    current.setdefault(int(trk.icao24), recv_s)
            elif block.category == 65:
                for rec in cat065.decode_block(block, counts=out.counts):
                    if rec.get("000") == cat065.MessageType.END_OF_BATCH:
                        out.cycles[round(rec["030"] * 128)] = current
                        current = {}
    return out


def latencies(ticks: list[Tick], got: Receipts) -> tuple[Floats, Floats, Counter[str]]:
    """Per plot carried by its tick's cycle: (receipt - arrival, receipt - tick start);
    plots whose aircraft is not in that cycle (tentative, cycle dropped) are counted."""
    total: list[Floats] = []
    processing: list[Floats] = []
    counts: Counter[str] = Counter()
    for tick in ticks:
        cycle = got.cycles.get(tod_key(tick.wall_s))
        if cycle is None:
            counts["plots_cycle_missing"] += tick.icao24.size
            continue
        recv = np.asarray([cycle.get(int(a), np.nan) for a in tick.icao24])
        ok = np.isfinite(recv)
        counts["plots_not_in_cycle"] += int((~ok).sum())
        counts["plots_measured"] += int(ok.sum())
        total.append(recv[ok] - tick.arrival_s[ok])
        processing.append(recv[ok] - tick.wall_s)
    cat = np.concatenate(total) if total else np.zeros(0)
    return cat, np.concatenate(processing) if processing else np.zeros(0), counts


def measure(n_aircraft: int, seconds: float, warmup_s: float = 6.0, tick_s: float = 1.0,
            factory: RuntimeFactory = default_runtime) -> dict[str, Any]:
    """Run the real pipeline with a CAT062 UDP output for warmup_s + seconds; the latencies."""
    from airpicture.service.config import validate_config
    from airpicture.service.serve import build_pipeline

    receiver = UdpRecorder()
    source = LiveAdsbSource(n_aircraft, factory)
    cfg = validate_config({"output": {"tick_s": tick_s, "cat062": [{"url": receiver.url}]},
                           "recording": {"retention_s": 60.0}}, "latency bench")
    pipeline = build_pipeline(cfg, source, t0_s=0.0)
    assert pipeline.outputs is not None
    pipeline.recorder.start()
    pipeline.outputs.start()
    pipeline.start()
    try:
        time.sleep(warmup_s + seconds)
    finally:
        pipeline.stop()
        pipeline.outputs.close()
        pipeline.recorder.close()
        time.sleep(0.3)
        receiver.close()
    t_from = source.t0_s + warmup_s
    ticks = [t for t in source.ticks if t.wall_s >= t_from]
    total, processing, counts = latencies(ticks, receipts(receiver.received))
    samples = {s.name: s.value for metric in pipeline.metrics.step_s.collect()
               for s in metric.samples}
    tick_ms = 1e3 * samples["airpicture_tick_seconds_sum"] / max(
        samples["airpicture_tick_seconds_count"], 1.0)
    status = pipeline.outputs.status()[0]
    return {"total_s": total, "processing_s": processing, "counts": counts,
            "ticks": len(ticks), "dropped": status["dropped"], "errors": status["errors"],
            "tick_mean_ms": float(tick_ms)}


def _row(name: str, value: float, unit: str, notes: str) -> dict[str, Any]:
    return {"name": name, "value": round(float(value), 3), "unit": unit, "peer": None,
            "peer_value": None, "ratio": None, "notes": notes}


def bench_cat062_latency(n_aircraft: int = 5000, seconds: float = 10.0,
                         warmup_s: float = 6.0) -> list[dict[str, Any]]:
    """Rows: p50 and p99 of plot arrival -> CAT062 record received, and of tick -> record."""
    m = measure(n_aircraft, seconds, warmup_s)
    total, proc = m["total_s"], m["processing_s"]
    if total.size == 0:
        total = proc = np.asarray([np.nan])
    notes = (f"{n_aircraft} aircraft (ADS-B 1 Hz each), real tracker and pipeline, tick 1 s, "
             f"CAT062 over loopback UDP; {m['counts']['plots_measured']} plots, "
             f"{m['counts']['plots_not_in_cycle']} not in their cycle (tentative), "
             f"{m['dropped']} cycles dropped, mean tick {m['tick_mean_ms']:.0f} ms; "
             "no late window (none configured)")
    return [
        _row("service.cat062_latency_p50_ms", float(np.percentile(total, 50)) * 1e3, "ms",
             notes + "; arrival -> record, includes waiting for the tick (0-1 s)"),
        _row("service.cat062_latency_p99_ms", float(np.percentile(total, 99)) * 1e3, "ms",
             notes),
        _row("service.cat062_tick_to_record_p50_ms", float(np.percentile(proc, 50)) * 1e3,
             "ms", notes + "; tick start (plots taken) -> record received"),
        _row("service.cat062_tick_to_record_p99_ms", float(np.percentile(proc, 99)) * 1e3,
             "ms", notes + "; target p99 < 200 ms (+ late window)"),
    ]


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    for row in bench_cat062_latency(n):
        print(row)
