"""CAT062 system tracks (with CAT063 sensor status and CAT065 SDPS status) out of `serve`.

Each `[[output.cat062]]` is one `Cat062Out`: each tick, before recording and WebSocket encoding
(`Pipeline.picture_listeners`), it gets the picture released for its consumer
(`Pipeline.release`: Egress, then confirmed_only as on the map) every `period_s` of stream
time; its own thread encodes and sends it, so the pipeline never waits on a slow or broken
output.  Between the two sits a bounded queue: when it is full the
oldest cycle is dropped (counted).  A failing output (unwritable file, unreachable network) is
counted, reported in its status and as a health problem, retried each cycle, and never stops
the pipeline or the other outputs.

Each cycle sends the CAT062 blocks (tracks that left the picture once more with TSE), then one
CAT063 block (a record per input sensor), then a CAT065 end of batch; every
STATUS_PERIOD_S a CAT065 SDPS status follows, and a CAT065 service status report when the SDPS
becomes degraded or recovers.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
from prometheus_client import CollectorRegistry, Gauge

from airpicture.core.errors import UserError
from airpicture.core.geo import LocalFrame
from airpicture.core.tracks import TrackTable
from airpicture.io.asterix import cat063, cat065
from airpicture.io.asterix.cat062 import Cat062Encoder
from airpicture.io.asterix.output import split_tracks
from airpicture.io.asterix.transport import UdpSender, parse_udp_url
from airpicture.policy.egress import Consumer
from airpicture.service.release import gate_sensor_status, hidden_names, is_admin

if TYPE_CHECKING:
    from airpicture.service.config import Cat062OutputConfig
    from airpicture.service.pipeline import Pipeline

STATUS_PERIOD_S = 10.0
"""Stream seconds between two CAT065 SDPS status messages."""
QUEUE_CYCLES = 2
"""Cycles waiting for an output's thread; more waiting means it is behind: the oldest goes."""
SERVICE_ID = 1
"""I062/015, I063/015 and I065/015 of every output."""
UP_STATES = frozenset({"starting", "up"})


def parse_output_url(url: str) -> tuple[str, str]:
    """`udp://HOST:PORT[?iface=ADDR]` -> ("udp", url); `file:///path` -> ("file", path).

    One-line UserError for anything else (a relative `file://name.ast` is taken as
    `name.ast`)."""
    where = url if url.isprintable() else repr(url)
    if url.startswith("udp://"):
        try:
            parse_udp_url(url)
        except (UserError, ValueError) as exc:  # urllib: a port out of range, ...
            problem = exc.problem if isinstance(exc, UserError) else str(exc)
            raise UserError(where, f"expected udp://HOST:PORT[?iface=ADDR] ({problem})"
                            ) from None
        return "udp", url
    if url.startswith("file://"):
        path = unquote(url[len("file://"):])  # by hand: urlparse rejects e.g. "[" in a path
        if not path or "\x00" in path:
            raise UserError(where, "a file:// output needs a path, e.g. "
                            "file:///var/tmp/out.ast")
        return "file", path
    raise UserError(where, "an output URL is udp://HOST:PORT[?iface=ADDR] or file:///PATH")


class _Sink:
    """Where one output's datagrams go; opened on first use and again after a failure."""

    def __init__(self, url: str) -> None:
        self.kind, self.target = parse_output_url(url)
        self._file: Any = None
        self._udp: UdpSender | None = None

    def write(self, datagram: bytes) -> None:
        if self.kind == "file":
            if self._file is None:
                self._file = Path(self.target).open("ab")  # noqa: SIM115 - held open
            self._file.write(datagram)
        else:
            if self._udp is None:
                self._udp = UdpSender(self.target)
            self._udp.send(datagram)

    def flush(self) -> None:
        """Push a file's blocks to the kernel (complete blocks only: one write per block)."""
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        """Flush and close; a file is fsynced, so its last block is complete on disk."""
        if self._file is not None:
            f, self._file = self._file, None
            try:
                f.flush()
                os.fsync(f.fileno())
            finally:
                f.close()
        if self._udp is not None:
            udp, self._udp = self._udp, None
            udp.close()


@dataclass
class Cycle:
    """One picture to send: the released tracks, the sensors' status, the SDPS state."""

    t_s: float
    tracks: TrackTable
    sensors: list[dict[str, Any]]
    sdps_degraded: bool


class OutputMetrics:
    """The Prometheus gauges of every output, labelled by output name."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.records = Gauge("airpicture_output_records", "CAT062 records an output sent",
                             ["output"], registry=r)
        self.up = Gauge("airpicture_output_up", "1 while an output sends without error",
                        ["output"], registry=r)
        self.errors = Gauge("airpicture_output_errors", "Failed opens or sends of an output",
                            ["output"], registry=r)
        self.dropped = Gauge("airpicture_output_dropped", "Cycles an output skipped because "
                             "it was still sending older ones", ["output"], registry=r)
        self.bytes = Gauge("airpicture_output_bytes", "Bytes an output sent", ["output"],
                           registry=r)


def sensor_reports(sensors: list[dict[str, Any]], codes: dict[int, tuple[int, int]]
                   ) -> list[cat063.SensorReport]:
    """CAT063 reports from `Pipeline.sensor_status()`: one per SAC/SIC (a radar's PSR and SSR
    sensors share one), operational while alive with plots, degraded while alive without
    plots in the recent window, not connected (no-plot warning, its technology NOGO) when dead.
    Sensors without a SAC/SIC in `codes` get SAC 0, SIC = id (ids past 255 are left out)."""
    by_code: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for s in sensors:
        code = codes.get(int(s["id"]), (0, int(s["id"])))
        if 0 <= code[1] <= 255:
            by_code.setdefault(code, []).append(s)
    out = []
    for (sac, sic), group in sorted(by_code.items()):
        dead = {s["kind"] for s in group if not s["alive"]}
        alive = [s for s in group if s["alive"]]
        if not alive:
            con = cat063.SensorCon.NOT_CONNECTED
        elif dead or not any(s["plots_per_s"] > 0 for s in alive):
            con = cat063.SensorCon.DEGRADED
        else:
            con = cat063.SensorCon.OPERATIONAL
        out.append(cat063.SensorReport(
            sac=sac, sic=sic, con=con, psr_nogo="psr" in dead, ssr_nogo="ssr" in dead,
            mds_nogo="ssr" in dead, ads_nogo="adsb" in dead, mlt_nogo="mlat" in dead,
            no_plots=not alive))
    return out


class Cat062Out:
    """One `[[output.cat062]]`: a queue and a thread that encode and send its cycles."""

    def __init__(self, cfg: Cat062OutputConfig, frame: LocalFrame, sensor_kinds: dict[int, str],
                 sensor_codes: dict[int, tuple[int, int]], metrics: OutputMetrics,
                 name: str | None = None) -> None:
        self.cfg = cfg
        self.name = name or cfg.url
        self.consumer = Consumer(cfg.consumer)
        self.kind = parse_output_url(cfg.url)[0]
        self.encoder = Cat062Encoder(frame, sac=cfg.sac, sic=cfg.sic, service_id=SERVICE_ID,
                                     edition=cfg.edition, sensor_kinds=dict(sensor_kinds))
        self.sensor_codes = sensor_codes
        self.metrics = metrics
        self.sink = _Sink(cfg.url)
        self.queue: queue.Queue[Cycle | None] = queue.Queue(QUEUE_CYCLES)
        self.state = "starting"
        self.records = self.datagrams = self.bytes = self.errors = self.dropped = 0
        self.cycles = 0
        self.last_error: str | None = None
        self.last_sent_t: float | None = None
        self._next_due_t: float | None = None
        self._next_status_t: float | None = None
        self._degraded = False
        self._dropped_seen = 0
        """`dropped` at the last SDPS status: OVL says whether updates were dropped since."""
        self._last: TrackTable | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._export()

    def due(self, t_s: float, tick_s: float = 0.0) -> bool:
        """True once per period_s of stream time (every tick when period_s <= tick_s); a tick
        up to half a tick early counts as on time (a live clock's ticks jitter)."""
        if self._next_due_t is not None and t_s < self._next_due_t - 0.5 * tick_s - 1e-6:
            return False
        self._next_due_t = t_s + self.cfg.period_s
        return True

    def offer(self, cycle: Cycle) -> None:
        """Queue a cycle without waiting: when the queue is full the oldest is dropped."""
        while True:
            try:
                self.queue.put_nowait(cycle)
                return
            except queue.Full:
                try:
                    self.queue.get_nowait()
                    self.queue.task_done()
                    with self._lock:
                        self.dropped += 1
                except queue.Empty:
                    pass

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"output {self.name}",
                                        daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Send what is queued, then flush and close the sink (a file's blocks are whole)."""
        if self._thread is not None:
            with contextlib.suppress(queue.Full):  # a stuck thread: give up after timeout_s
                self.queue.put(None, timeout=timeout_s)
            self._thread.join(timeout_s)
            self._thread = None
        self.sink.close()

    def _run(self) -> None:
        while (cycle := self.queue.get()) is not None:
            try:
                self.send(cycle)
            finally:
                self.queue.task_done()
        self.queue.task_done()

    def wait_sent(self) -> None:
        """Until every queued cycle is sent (tests and benchmarks; needs `start`)."""
        self.queue.join()

    def datagrams_for(self, cycle: Cycle) -> tuple[list[bytes], int]:
        """The cycle's datagrams in order (CAT062 blocks, CAT063, CAT065), and its records."""
        released = cycle.tracks
        ended = None
        if self._last is not None:
            ended = self._last.take(~np.isin(self._last.track_id, released.track_id))
        self._last = released
        blocks = split_tracks(self.encoder, released, ended, self.cfg.max_block_bytes)
        records = len(released) + (len(ended) if ended is not None else 0)
        cfg, t = self.cfg, cycle.t_s
        if cfg.cat063:
            reports = sensor_reports(cycle.sensors, self.sensor_codes)
            per_block = max(1, (cfg.max_block_bytes - 3) // 16)
            for k in range(0, len(reports), per_block):
                blocks.append(cat063.encode_block(reports[k:k + per_block], cfg.sac, cfg.sic,
                                                  SERVICE_ID, t))
        if cfg.cat065:
            blocks.append(cat065.end_of_batch(cfg.sac, cfg.sic, SERVICE_ID, t))
            nogo = cat065.SdpsNogo.DEGRADED if cycle.sdps_degraded else \
                cat065.SdpsNogo.OPERATIONAL
            if cycle.sdps_degraded != self._degraded:
                self._degraded = cycle.sdps_degraded
                report = cat065.ServiceReport.DEGRADATION if cycle.sdps_degraded else \
                    cat065.ServiceReport.DEGRADATION_ENDED
                blocks.append(cat065.service_status_report(cfg.sac, cfg.sic, SERVICE_ID, t,
                                                           report))
            if self._next_status_t is None or t >= self._next_status_t:
                self._next_status_t = t + STATUS_PERIOD_S
                blocks.append(cat065.sdps_status(cfg.sac, cfg.sic, SERVICE_ID, t, nogo,
                                                 overload=self.dropped > self._dropped_seen))
                self._dropped_seen = self.dropped
        return blocks, records

    def send(self, cycle: Cycle) -> None:
        """Encode and send one cycle; a failure is counted and reported, never raised (the
        output's thread must survive anything: bad data, a bug, a full disk)."""
        sent = nbytes = 0
        try:
            datagrams, records = self.datagrams_for(cycle)
            for d in datagrams:
                self.sink.write(d)
                sent += 1
                nbytes += len(d)
            self.sink.flush()
        except Exception as exc:
            self.failed(exc)
            with contextlib.suppress(Exception):
                self.sink.close()  # reopened on the next cycle
        else:
            with self._lock:
                self.state = "up"
                self.records += records
                self.cycles += 1
                self.last_sent_t = cycle.t_s
        with self._lock:
            self.datagrams += sent
            self.bytes += nbytes
        self._export()

    def failed(self, exc: BaseException) -> None:
        """Count and report a failure: the output is down until a cycle goes out again."""
        with self._lock:
            self.errors += 1
            self.state = "down"
            self.last_error = str(exc) if isinstance(exc, OSError | UserError) else \
                f"{type(exc).__name__}: {exc}"
        self._export()

    def _export(self) -> None:
        m, name = self.metrics, self.name
        m.records.labels(output=name).set(self.records)
        m.up.labels(output=name).set(self.state in UP_STATES)
        m.errors.labels(output=name).set(self.errors)
        m.dropped.labels(output=name).set(self.dropped)
        m.bytes.labels(output=name).set(self.bytes)

    def status(self) -> dict[str, Any]:
        """What `GET /api/outputs` shows for this output."""
        with self._lock:
            return {"name": self.name, "url": self.cfg.url, "kind": self.kind,
                    "category": 62, "edition": self.cfg.edition, "consumer": self.cfg.consumer,
                    "sac": self.cfg.sac, "sic": self.cfg.sic, "period_s": self.cfg.period_s,
                    "state": self.state, "records": self.records, "cycles": self.cycles,
                    "datagrams": self.datagrams, "bytes": self.bytes, "errors": self.errors,
                    "dropped": self.dropped, "last_error": self.last_error,
                    "last_sent_t": self.last_sent_t}

    def problems(self) -> list[str]:
        """A health problem while the output fails."""
        with self._lock:
            if self.state in UP_STATES:
                return []
            return [f"output {self.name} is {self.state}: {self.last_error}"]


class Outputs:
    """Every CAT062 output of one service: fed by the pipeline's publisher, one thread each."""

    def __init__(self, pipeline: Pipeline, configs: list[Cat062OutputConfig],
                 sensor_codes: dict[int, tuple[int, int]] | None = None) -> None:
        self.pipeline = pipeline
        self.metrics = OutputMetrics(pipeline.metrics.registry)
        kinds = {s.id: s.kind for s in pipeline.sensors}
        names = [c.url for c in configs]
        self.outputs = [
            Cat062Out(c, pipeline.frame, kinds, sensor_codes or {}, self.metrics,
                      name=c.url if names.count(c.url) == 1 else f"{c.url}#{i}")
            for i, c in enumerate(configs)]
        pipeline.picture_listeners.append(self.publish)
        pipeline.health_checks.append(self.problems)

    def publish(self, t_s: float, tracks: TrackTable) -> None:
        """The pipeline's picture listener: hand each due output the picture released for its
        consumer (`Pipeline.release`); never raises (a failure is the output's error)."""
        p = self.pipeline
        due = [o for o in self.outputs if o.due(t_s, p.tick_s)]
        if not due:
            return
        sensors = p.sensor_status() if any(o.cfg.cat063 for o in due) else []
        down = p.feeds_down()
        feeds = p.feed_status()["feeds"] if down else []
        released: dict[Consumer, TrackTable] = {}
        for out in due:
            try:
                if out.consumer not in released:
                    released[out.consumer] = p.release(p.picture_of(out.consumer, tracks, t_s),
                                                        out.consumer)
                # degraded only by the feeds this output's consumer may know of
                hidden = hidden_names(p.egress, sensors or p.sensor_status(), feeds,
                                      out.consumer) if down and not is_admin(out.consumer) \
                    else set()
                degraded = bool(p.error) or any(f not in hidden for f in down)
                out.offer(Cycle(t_s, released[out.consumer],
                                gate_sensor_status(p.egress, sensors, out.consumer), degraded))
            except Exception as exc:  # a policy's bug must not stop the pipeline
                out.failed(exc)

    def start(self) -> None:
        for out in self.outputs:
            out.start()

    def close(self) -> None:
        """Send what is queued, flush and close every output (on SIGINT/SIGTERM)."""
        for out in self.outputs:
            out.close()

    def status(self) -> list[dict[str, Any]]:
        return [o.status() for o in self.outputs]

    def problems(self) -> list[str]:
        return [p for o in self.outputs for p in o.problems()]


def sensor_codes_from_asterix(path: str) -> dict[int, tuple[int, int]]:
    """Sensor id -> (SAC, SIC) from an ASTERIX receiving configuration (input.asterix_config)."""
    from airpicture.service.live import asterix_config

    cfg, _ = asterix_config(Path(path))
    codes: dict[int, tuple[int, int]] = {}
    for (sac, sic), r in cfg.radars.items():
        for sid in (r.psr_sensor_id, r.ssr_sensor_id):
            if sid > 0:
                codes[sid] = (sac, sic)
    for (sac, sic), a in cfg.adsb.items():
        codes[a.sensor_id] = (sac, sic)
    return codes
