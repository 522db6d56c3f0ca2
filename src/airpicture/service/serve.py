"""Assemble and run the service: config -> source -> pipeline -> web app under uvicorn."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import uvicorn

from airpicture.core.errors import UserError
from airpicture.io.scenario import SCENARIO_JSON
from airpicture.policy.egress import Egress
from airpicture.service.app import STATIC_DIR, create_app
from airpicture.service.config import ServiceConfig
from airpicture.service.pipeline import Pipeline
from airpicture.service.recorder import Recorder
from airpicture.service.release import ClassFactory
from airpicture.service.replay import RecordingSource
from airpicture.service.sources import (
    PictureSource,
    RuntimeFactory,
    TrackerSource,
    default_runtime,
)


def cache_dir(config: ServiceConfig) -> Path:
    """Where simulated presets are kept between runs."""
    if config.input.cache_dir:
        return Path(config.input.cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airpicture" / "presets"


def preset_folder(config: ServiceConfig) -> Path:
    """The preset's scenario folder, simulated once into the cache."""
    dur = config.input.duration_s
    name = config.input.preset + (f"-{dur:g}s" if dur else "")
    folder = cache_dir(config) / name
    if not (folder / SCENARIO_JSON).exists():
        try:
            from airpicture.sim.presets import simulate_preset
        except ImportError:
            raise UserError(None, "the simulator (airpicture.sim.presets) is not available; "
                            "pass a scenario folder with --scenario") from None
        print(f"simulating the {config.input.preset!r} preset once into {folder} ...",
              file=sys.stderr, flush=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
            simulate_preset(config.input.preset, Path(tmp) / "s", duration_s=dur)
            shutil.rmtree(folder, ignore_errors=True)
            (Path(tmp) / "s").rename(folder)  # complete or absent, never half written
    return folder


def scenario_source(config: ServiceConfig, factory: RuntimeFactory = default_runtime
                    ) -> PictureSource:
    """The configured input: a scenario folder or a cached preset, replayed into the tracker."""
    if config.input.kind == "modes":
        from airpicture.service.live import ModeSSource

        inp = config.input
        return ModeSSource(inp.sources, inp.receivers, inp.feed_format or None,
                           inp.feed_speed, stale_after_s=inp.feed_stale_s,
                           clock=inp.clock)
    if config.input.kind == "asterix":
        from airpicture.service.live import AsterixSource

        if not config.input.asterix_config:
            raise UserError(None, "input.kind 'asterix' needs input.asterix_config")
        return AsterixSource(config.input.sources, Path(config.input.asterix_config), factory,
                             clock=config.input.clock or "wall",
                             rcvbuf_bytes=config.input.udp_rcvbuf_bytes)
    if config.input.kind == "scenario":
        if not config.input.scenario:
            raise UserError(None, "input.kind is 'scenario' but input.scenario is empty")
        folder = Path(config.input.scenario)
    else:
        folder = preset_folder(config)
    return TrackerSource.from_folder(folder, factory, loop=config.input.loop)


def input_text(config: ServiceConfig, source: PictureSource) -> str:
    """One line naming what a session records (the sessions table's `input`)."""
    if isinstance(source, RecordingSource):
        return f"replay {source.path} session {source.session}"
    inp = config.input
    if inp.kind in ("modes", "asterix"):
        return f"{inp.kind} {' '.join(inp.sources)}"
    if inp.kind == "scenario":
        return f"scenario {inp.scenario}"
    return f"preset {inp.preset}"


def class_factory(config: ServiceConfig, factory: RuntimeFactory = default_runtime
                  ) -> ClassFactory | None:
    """With `[policy] file`: a runtime factory tracking one picture per release class (give
    it to `scenario_source`, then to `build_pipeline`); None without a policy."""
    if not config.policy.file:
        return None
    from airpicture.core.geo import LocalFrame
    from airpicture.policy.masks import LabelPolicy
    from airpicture.policy.release import load_policy
    from airpicture.policy.reload import PolicyReloader

    policy = LabelPolicy(load_policy(config.policy.file), LocalFrame(0.0, 0.0), ())
    return ClassFactory(policy, factory, PolicyReloader(policy))


def attach_policy(pipeline: Pipeline, config: ServiceConfig, classes: ClassFactory) -> None:
    """Serve each consumer from its class's picture through the policy's gate; a CAT062
    output for a consumer the policy does not name is a startup error."""
    classes.bind(pipeline.meta)
    loaded = classes.policy.loaded
    for out in config.output.cat062:
        if out.consumer != "local" and loaded.consumer(out.consumer) is None:
            raise UserError(config.policy.file, f"CAT062 output {out.url} serves consumer "
                            f"{out.consumer!r}, which the policy does not name; consumers: "
                            f"{', '.join(loaded.consumers)}")
    pipeline.egress = Egress(classes.policy)
    pipeline.class_pictures = classes.picture_for
    pipeline.class_records = classes.pictures
    pipeline.history_class = classes.history_class
    if classes.runtime is not None:
        pipeline.recorder.set_operator_class(classes.runtime.operator_class)
    if classes.reloader is not None:
        pipeline.health_checks.append(classes.reloader.problems)


def build_pipeline(config: ServiceConfig, source: PictureSource, t0_s: float = 0.0,
                   egress: Egress | None = None, classes: ClassFactory | None = None
                   ) -> Pipeline:
    """A pipeline around `source` with the configured recorder and output settings; recording
    into an existing file appends a new session (said on stderr), after its last time."""
    rec = config.recording
    recorder = Recorder(Path(rec.path) if rec.path else None, rec.retention_s, rec.flush_s,
                        rec.checkpoint_s)
    recorder.write_meta(source.meta, input_text(config, source))
    earlier = [s["id"] for s in recorder.sessions() if s["id"] != recorder.session_id]
    if earlier:
        print(f"airpicture: recording into {rec.path}: appending session "
              f"{recorder.session_id} (it holds sessions {', '.join(map(str, earlier))}, "
              "kept apart: /api/history?session=N, replay --session N)", file=sys.stderr,
              flush=True)
    out = config.output
    last_s = recorder.time_range()[1]
    start_at = getattr(source, "start_at", None)
    if last_s is not None and last_s >= t0_s and start_at is not None:
        t0_s = float(math.ceil(last_s)) + out.tick_s  # an existing recording: carry on after it
        start_at(t0_s)
    live = config.input.kind in ("modes", "asterix")  # feeds keep their pace; real-time clock
    pipeline = Pipeline(source, egress or Egress(), recorder, tick_s=out.tick_s,
                        speed=1.0 if live else config.input.speed,
                        confirmed_only=out.confirmed_only,
                        dead_after_periods=config.sensors.dead_after_periods,
                        dead_after_min_s=config.sensors.dead_after_min_s, t0_s=t0_s,
                        trail_points=out.trail_points)
    if out.cat062:
        from airpicture.service.outputs import Outputs, sensor_codes_from_asterix

        codes = {}
        if config.input.kind == "asterix" and config.input.asterix_config:
            codes = sensor_codes_from_asterix(config.input.asterix_config)
        pipeline.outputs = Outputs(pipeline, list(out.cat062), codes)
    if classes is None and config.policy.file:  # a source without a tracker: masks only
        classes = class_factory(config)
    if classes is not None:
        attach_policy(pipeline, config, classes)
    return pipeline


def replay_pipeline(config: ServiceConfig, recording: Path, loop: bool,
                    session: int | None = None) -> Pipeline:
    """A pipeline replaying one session of a recording (default: the latest; its history is
    kept in memory, not re-recorded)."""
    source = RecordingSource(recording, config.output.tick_s, loop, session)
    if config.recording.path and Path(config.recording.path).resolve() == recording.resolve():
        raise UserError(recording, "cannot record into the recording being replayed")
    return build_pipeline(config, source, t0_s=source.t_first_s - config.output.tick_s,
                          egress=None)


SEND_BUFFER_BYTES = 256 * 1024
"""Kernel send buffer per connection: small, so a slow WebSocket client's backlog stays in its
latest-state slot (where newer pictures replace older ones), not in seconds of stale TCP data."""


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose accepted connections inherit a small send buffer."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family = infos[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        sock.bind(infos[0][4])
        sock.listen(2048)
    except OSError as exc:
        raise UserError(f"{host}:{port}", f"cannot listen ({exc})") from None
    return sock


SHUTDOWN_GRACE_S = 2
"""On SIGTERM/SIGINT, open connections (WebSocket clients) get this long before they are cut;
then the pipeline and the recorder stop, each bounded too (Pipeline.stop, Recorder.close)."""


def run(pipeline: Pipeline, host: str, port: int,
        announce: Callable[[str], None] = print) -> None:
    """Serve until Ctrl-C; `announce` gets the URL once the socket is bound."""
    app = create_app(pipeline)
    if not (STATIC_DIR / "vendor" / "maplibre-gl" / "maplibre-gl.mjs").exists():
        print("warning: MapLibre GL JS is not installed, the map page will stay empty: run "
              "`make web` (the APIs work)", file=sys.stderr, flush=True)
    if hasattr(signal, "SIGXFSZ"):
        # A file over RLIMIT_FSIZE: the write fails with EFBIG (reported by the recorder)
        # instead of the signal killing the whole service.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sock = listen(host, port)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           ws="auto", lifespan="on",
                                           ws_per_message_deflate=False,
                                           timeout_graceful_shutdown=SHUTDOWN_GRACE_S))

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            bound = sock.getsockname()[1]
            announce(f"airpicture serving {pipeline.meta.name!r} at http://{host}:{bound}/")
        await task

    with sock:
        asyncio.run(main())
