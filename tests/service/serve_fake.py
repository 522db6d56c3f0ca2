"""Run the service on the small scenario with the fake tracker (a subprocess of the tests).

Usage: python -m tests.service.serve_fake RECORDING SPEED
"""

from __future__ import annotations

import sys
from pathlib import Path

from airpicture.service.config import ServiceConfig
from airpicture.service.serve import build_pipeline, run
from airpicture.service.sources import TrackerSource
from tests.service.conftest import FakeRuntime, small_meta, small_plots


def main() -> None:
    record, speed = sys.argv[1], float(sys.argv[2])
    meta = small_meta()
    source = TrackerSource(meta, small_plots(), FakeRuntime(meta.sensors))
    cfg = ServiceConfig().with_overrides({
        "server": {"port": 0}, "input": {"speed": speed},
        "recording": {"path": str(Path(record)), "flush_s": 0.1,
                      "checkpoint_s": 0.5}})
    run(build_pipeline(cfg, source), "127.0.0.1", 0, announce=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
