"""Sources: plots reach the tracker by arrival time; a looping replay keeps time increasing."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.core.plots import PlotBatch
from airpicture.service.sources import TrackerSource
from tests.service.conftest import FakeRuntime, small_meta, small_plots


class Recording(FakeRuntime):
    """The fake runtime, remembering every batch it was given."""

    def __init__(self) -> None:
        super().__init__(small_meta().sensors)
        self.batches: list[PlotBatch] = []

    def ingest(self, plots: PlotBatch) -> None:
        self.batches.append(plots)
        super().ingest(plots)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.1, 7.0), min_size=1, max_size=20))
def test_every_plot_is_fed_once_after_it_arrives(steps: list[float]) -> None:
    plots = small_plots(20.0)
    delay = np.random.default_rng(len(steps)).uniform(0, 3, len(plots))
    plots = replace(plots, t_arrival=plots.t + delay)
    rt = Recording()
    src = TrackerSource(small_meta(), plots, rt, loop=False)
    t = 0.0
    for dt in steps:
        t += dt
        src.step(t)
        fed = PlotBatch.concat(rt.batches)
        assert np.all(fed.t_arrival <= t + 1e-9)
        assert len(fed) == int(np.sum(plots.t_arrival <= t))


def test_looping_replay_shifts_time_by_the_scenario_length() -> None:
    meta = small_meta()
    rt = Recording()
    src = TrackerSource(meta, small_plots(60.0), rt, loop=True)
    src.step(59.5)
    src.step(125.0)
    fed = PlotBatch.concat(rt.batches)
    assert fed.t.max() == 125.0 and np.all(np.diff(fed.t) >= 0)
    assert len(fed) == len(small_plots(60.0)) * 2 + int(np.sum(small_plots(60.0).t <= 5.0))
    tracks, _ = src.step(126.0)
    assert tracks.t.max() == 126.0


def test_cli_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nhots = 'x'\n")
    out = subprocess.run([sys.executable, "-m", "airpicture", "serve", "--config", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"airpicture: error: {bad}: unknown key 'server.hots'"]


def test_bench_rows_are_measured() -> None:
    from airpicture.service.bench import bench_websocket

    rows = {r["name"]: r for r in bench_websocket(3, 50, 2.0)}
    # 3 clients at 1 Hz for 2 s: about 6 updates, each a fraction of a second late.
    assert 3 <= rows["service.ws_updates_per_s"]["value"] * 2.0 <= 9
    assert 0 < rows["service.ws_p99_lag_ms"]["value"] < 2000
