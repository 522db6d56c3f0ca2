"""Architecture test of issue 11: every interface of the service is in a registry saying how it
is gated, so a new route or output class fails here until someone decides its release; and
every service module that emits data goes through Egress (or says here why it does not)."""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount

import airpicture.service as service_pkg
from airpicture.service import outputs
from airpicture.service.app import create_app
from airpicture.service.pipeline import Pipeline
from airpicture.service.sources import PatternSource

GATED_ROUTES = {
    "/ws/tracks": "frames built per consumer by Pipeline._frame: class picture, Egress.tracks, "
                  "label",
    "/api/tracks": "the consumer's frame (Egress.tracks) + label",
    "/api/tracks/{track_id}": "the consumer's frame; sensors via Egress.sensors; history via "
                              "Egress.track_rows",
    "/api/history": "read_page -> Egress.track_rows for the consumer",
    "/api/sensors": "Pipeline.sensor_status_for -> Egress.sensors",
    "/api/feeds": "release.gate_feeds (feeds whose sensors are all cleared)",
    "/api/health": "release.gate_health (problems naming hidden sensors/feeds removed)",
    "/metrics": "release.gate_metrics (samples of uncleared sensors / hidden feeds removed)",
    "/data/aircraft.json": "Pipeline.aircraft_json: the consumer's frame, Egress.replies, label",
    "/api/outputs": "a non-admin sees only the outputs serving it",
    "/api/recording": "a non-admin sees the state only (counts sum every class)",
}
NO_TRACK_DATA = {
    "/": "static page", "/docs": "static Swagger UI", "/openapi.json": "schema only",
    "/static": "static files",
    "/data/receiver.json": "refresh period and map centre only",
    "/api/history/range": "TODO(issue 11 item 6): session times and row counts, not per "
                          "class yet",
}
GATED_OUTPUT_CLASSES = {
    "Cat062Out": "fed by Outputs.publish: Pipeline.release(class picture) per consumer, "
                 "CAT063 sensors via gate_sensor_status",
}
NOT_EMITTING = {
    "__init__": "package marker", "bench": "benchmark (synthetic pattern)",
    "bench_latency": "benchmark", "bench_live": "benchmark", "commands": "CLI wiring",
    "config": "configuration", "encode": "encodes what the pipeline released",
    "live": "input", "live_asterix": "input", "pace": "clock", "replay": "input (a source)",
    "sources": "inputs", "history": "reads pages for app.py, which passes Egress in",
    "schemas": "OpenAPI response models (types only, no data)",
    "stats": "counters the gated routes read (/api/sensors, /metrics gate them)",
}


def route_paths(app: FastAPI) -> set[str]:
    paths = set()
    for route in app.routes:
        if isinstance(route, APIRoute | APIWebSocketRoute | Mount):
            paths.add(route.path)
        else:
            paths.add(getattr(route, "path", repr(route)))
    return paths


def unregistered(app: FastAPI) -> set[str]:
    return route_paths(app) - set(GATED_ROUTES) - set(NO_TRACK_DATA)


def test_every_route_is_in_the_registry() -> None:
    app = create_app(_pipeline(), start=False)
    assert not unregistered(app), f"routes without a release decision: {unregistered(app)}"
    assert set(GATED_ROUTES) <= route_paths(app)  # the registry names real routes
    app.get("/api/new-leak")(lambda: {"sensors": []})
    assert unregistered(app) == {"/api/new-leak"}


def _pipeline() -> Pipeline:
    from airpicture.policy.egress import Egress
    from airpicture.service.recorder import Recorder

    return Pipeline(PatternSource(3), Egress(), Recorder(None))


def test_every_output_class_is_in_the_registry() -> None:
    classes = {name for name, obj in inspect.getmembers(outputs, inspect.isclass)
               if obj.__module__ == outputs.__name__ and hasattr(obj, "send")}
    assert classes == set(GATED_OUTPUT_CLASSES)


def test_every_emitting_service_module_goes_through_egress() -> None:
    folder = Path(service_pkg.__file__).parent
    for path in sorted(folder.glob("*.py")):
        if path.stem in NOT_EMITTING:
            continue
        text = path.read_text()
        assert "Egress" in text or "egress" in text, f"{path.name} emits data without Egress"
