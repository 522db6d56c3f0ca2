"""The service's aircraft.json clock and counters: `now` = stream time + one epoch offset
(a scenario's start_utc, else the wall clock at the start); `messages` never decreases."""

from __future__ import annotations

import dataclasses

from airpicture.policy.egress import Consumer
from airpicture.service.config import ServiceConfig
from airpicture.service.serve import build_pipeline
from airpicture.service.sources import TrackerSource
from tests.service.conftest import FakeRuntime, small_meta, small_plots

START_UTC = "2026-06-01T12:00:00Z"
START_UNIX_S = 1_780_315_200.0


def test_a_scenario_with_start_utc_maps_stream_time_onto_it() -> None:
    meta = dataclasses.replace(small_meta(), extra={"start_utc": START_UTC})
    p = build_pipeline(ServiceConfig(), TrackerSource(meta, small_plots(), FakeRuntime(
        meta.sensors)))
    assert p.epoch_offset_s == START_UNIX_S
    p.recorder.start()
    try:
        for k in range(1, 4):
            p.tick(float(k))
        doc = p.aircraft_json(Consumer())
        assert doc["now"] == START_UNIX_S + 3.0 and doc["aircraft"]
        assert all(0.0 <= a["seen"] < 10.0 for a in doc["aircraft"])
    finally:
        p.recorder.close()


def test_messages_never_decrease_for_any_consumer() -> None:
    meta = small_meta()
    p = build_pipeline(ServiceConfig(), TrackerSource(meta, small_plots(), FakeRuntime(
        meta.sensors)))
    partner = Consumer("partner")
    p.consumers.add(partner)
    p.recorder.start()
    try:
        seen = {Consumer(): 0, partner: 0}
        for k in range(1, 12):
            p.tick(float(k))
            for consumer in seen:
                total = p.aircraft_json(consumer)["messages"]
                assert total >= seen[consumer], (consumer, k)
                seen[consumer] = total
        assert seen[Consumer()] == int(p.stats.total.sum()) > 0  # plots received so far
    finally:
        p.recorder.close()
