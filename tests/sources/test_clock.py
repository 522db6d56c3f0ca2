"""The Mode S stream clock (issue 17 item 5): "data" follows the messages' own times, so a
recording replayed at 10x is tracked exactly as at 1x; "wall" is the wall clock, and data
far from it is counted and reported; without a clock, today's behaviour."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airpicture.core.errors import UserError
from airpicture.sources.framing import FrameBatch
from airpicture.sources.ingest import Ingest, parse_receiver
from airpicture.sources.transports import SourceSpec, _stamp, parse_source, read_file

FRAME = "8d4840d6202cc371c32ce0576098"  # an identification: no position
RX = [parse_receiver("lfpg:49.0:2.55", 0)]
OLD_T = 1_500_000_000.0


def _file(tmp_path: Path) -> SourceSpec:
    path = tmp_path / "f.jsonl"
    path.write_text(f'{{"timestamp":{OLD_T},"frame":"{FRAME}"}}\n')
    return parse_source(str(path))


TCP = SourceSpec("tcp", "tcp://127.0.0.1:30005", "beast", "127.0.0.1", 30005)


def test_without_a_clock_files_follow_their_data_and_network_feeds_the_wall(
        tmp_path: Path) -> None:
    spec = _file(tmp_path)
    files = Ingest([spec], RX, use_tracker=False)
    assert abs(files.now_s() - time.time()) < 5  # nothing yet: the wall clock
    files.sink(spec, FrameBatch.create([FRAME], [OLD_T]))
    files.step()
    assert abs(files.now_s() - time.time()) < 5  # today's: the latest *plot* time, none yet
    pos = ["8d40621d58c382d690c8ac2863a7", "8d40621d58c386435cc412692ad6"]  # a pair
    files.sink(spec, FrameBatch.create(pos, [OLD_T + 10, OLD_T + 11]))
    files.step()
    assert files.now_s() == OLD_T + 11
    live = Ingest([spec, TCP], RX, use_tracker=False)
    live.sink(spec, FrameBatch.create([FRAME], [OLD_T]))
    live.step()
    assert abs(live.now_s() - time.time()) < 5
    assert live.clock_problems() == []  # only the wall clock reports


def test_data_clock_follows_the_messages_even_with_network_feeds(tmp_path: Path) -> None:
    spec = _file(tmp_path)
    ing = Ingest([spec, TCP], RX, use_tracker=False, clock="data")
    assert math.isnan(ing.now_s())
    ing.sink(spec, FrameBatch.create([FRAME], [OLD_T]))
    ing.step()
    assert ing.now_s() == OLD_T and ing.clock_problems() == []
    with pytest.raises(UserError):
        Ingest([spec], RX, use_tracker=False, clock="gps")


def test_data_clock_keeps_network_sbs_stamps(tmp_path: Path) -> None:
    sbs = SourceSpec("tcp", "tcp://127.0.0.1:30003", "sbs", "127.0.0.1", 30003)
    ing = Ingest([sbs], RX, use_tracker=False, clock="data")
    assert ing.specs[0].own_time and not sbs.own_time
    rec = _stamp([{"timestamp": OLD_T}], ing.specs[0], time.time())[0]
    assert rec["timestamp"] == OLD_T
    rec = _stamp([{"timestamp": OLD_T}], sbs, 2e9)[0]  # default: the arrival time
    assert rec["timestamp"] == 2e9 and rec["sbs_timestamp"] == OLD_T


def test_wall_clock_counts_and_reports_data_far_from_it(tmp_path: Path) -> None:
    spec = _file(tmp_path)
    ing = Ingest([spec], RX, use_tracker=False, clock="wall")
    ing.sink(spec, FrameBatch.create([FRAME] * 3, [OLD_T, OLD_T + 1, math.nan]))
    ing.step()
    assert abs(ing.now_s() - time.time()) < 5
    offset, count = ing.clock_offset()
    assert offset == pytest.approx(OLD_T + 1 - time.time(), abs=5) and count == 2
    (problem,) = ing.clock_problems()
    assert spec.where in problem and "from the wall clock" in problem
    now = time.time()
    ing.sink(spec, FrameBatch.create([FRAME], [now]))  # in step again: no problem now
    assert abs(ing.clock_offset()[0]) < 5 and ing.clock_offset()[1] == 2
    assert ing.clock_problems() == []


def test_mode_s_source_reports_clock_problems(tmp_path: Path) -> None:
    from airpicture.service.live import ModeSSource

    spec = _file(tmp_path)
    src = ModeSSource([spec.where], ["lfpg:49.0:2.55"], clock="wall")
    assert src.problems() == []
    src.ingest.sink(spec, FrameBatch.create([FRAME], [OLD_T]))
    src.step(time.time())
    assert len(src.problems()) == 1 and abs(src.picture_t_s - time.time()) < 5
    data = ModeSSource([spec.where], ["lfpg:49.0:2.55"], clock="data")
    data.ingest.sink(spec, FrameBatch.create([FRAME], [OLD_T]))
    data.step(time.time())
    assert data.problems() == [] and data.picture_t_s == OLD_T


def _replay(frames: FrameBatch, spec: SourceSpec, data_per_step_s: float,
            checkpoints: np.ndarray) -> list[Any]:
    """Feed `frames` as a paced replay does: each step delivers `data_per_step_s` of data
    (0.2 s steps: 1x gives 0.2 s, 10x gives 2 s); the picture at each checkpoint."""
    ing = Ingest([spec], RX, clock="data")
    t = frames.t_s
    edges = np.unique(np.concatenate([np.arange(t[0], t[-1] + data_per_step_s,
                                                data_per_step_s), checkpoints]))
    pictures = []
    lo = 0
    for edge in edges:
        hi = int(np.searchsorted(t, edge, side="right"))
        if hi > lo:
            ing.sink(spec, frames.take(slice(lo, hi)))
        ing.step()
        lo = hi
        if edge in checkpoints:
            pictures.append(ing.tracker.picture(float(edge)))
    return pictures


@pytest.mark.slow
def test_data_clock_tracks_a_replay_at_10x_exactly_as_at_1x(shared_data: Path) -> None:
    spec = parse_source(str(shared_data / "traffic/raw/full_flight_short.jsonl.gz"))
    frames = read_file(spec)
    assert isinstance(frames, FrameBatch)
    frames = frames.take(np.argsort(frames.t_s, kind="stable"))
    frames = frames.take(frames.t_s <= frames.t_s[0] + 120.0)  # two busy minutes
    checkpoints = frames.t_s[0] + np.arange(10.0, 121.0, 10.0)
    at_1x = _replay(frames, spec, 0.2, checkpoints)
    at_10x = _replay(frames, spec, 2.0, checkpoints)
    assert sum(len(p) for p in at_1x) > 0
    for a, b in zip(at_1x, at_10x, strict=True):
        assert len(a) == len(b) and np.array_equal(a.icao24, b.icao24)
        assert np.array_equal(a.status, b.status)
        assert np.allclose(a.x, b.x, atol=1e-6) and np.allclose(a.y, b.y, atol=1e-6)


def test_mode_s_source_reports_its_feeds_thread_gone(tmp_path: Path) -> None:
    import threading

    from airpicture.service.live import ModeSSource

    spec = _file(tmp_path)
    src = ModeSSource([spec.where], ["lfpg:49.0:2.55"])
    src._thread = threading.Thread(target=lambda: None)
    src._thread.start()
    src._thread.join()
    (problem,) = src.problems()
    assert "thread has ended" in problem and spec.where in problem
    src.ingest.statuses[spec.where].state = "done"
    assert src.problems() == []
