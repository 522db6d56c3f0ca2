"""The FastAPI application: web map, WebSocket /ws/tracks, REST /api/*, /metrics (OpenAPI: /docs).

Every track output comes from a Frame the pipeline built through Egress for the connection's
consumer (`consumer_for`), or from the recording, read back through `Egress.track_rows` for the
consumer that asks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
from fastapi import FastAPI, HTTPException, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from airpicture import __version__
from airpicture.policy.egress import LOCAL, Consumer
from airpicture.service.encode import take_view, view_rows
from airpicture.service.history import (
    ARROW_MEDIA_TYPE,
    DEFAULT_PAGE_ROWS,
    MAX_PAGE_ROWS,
    HistoryError,
    QueryGate,
    arrow_stream,
    check_window,
    json_stream,
    read_page,
)
from airpicture.service.hub import ClientSlot, Hub
from airpicture.service.pipeline import Frame, Pipeline
from airpicture.service.release import (
    gate_feeds,
    gate_health,
    gate_metrics,
    hidden_names,
    is_admin,
)
from airpicture.service.schemas import (
    AircraftJson,
    Feeds,
    Health,
    HistoryPage,
    Outputs,
    ReceiverJson,
    Recording,
    Sensors,
    TimeRange,
    TrackDetail,
    Tracks,
)

STATIC_DIR = Path(str(resources.files("airpicture.service") / "static"))


def consumer_for(conn: HTTPConnection) -> Consumer:
    """Who is asking. Every connection is the local operator until authentication exists."""
    return LOCAL


def parse_bbox(bbox: str | None) -> tuple[float, float, float, float] | None:
    """'min_lon,min_lat,max_lon,max_lat' -> a tuple, or a 422 error."""
    if not bbox:
        return None
    try:
        parts = tuple(float(v) for v in bbox.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or not all(np.isfinite(parts)) or parts[0] > parts[2] \
            or parts[1] > parts[3]:
        raise HTTPException(422, "bbox must be min_lon,min_lat,max_lon,max_lat")
    return parts[0], parts[1], parts[2], parts[3]


def filter_rows(view: dict[str, list[Any]], *, bbox: tuple[float, float, float, float] | None,
                callsign: str | None, icao24: str | None, squawk: str | None,
                alt_min_ft: float | None, alt_max_ft: float | None, sensor: int | None,
                sensor_bits: dict[int, int]) -> np.ndarray:
    """Positions of the view's rows passing every given filter (vectorised per column)."""
    n = len(view["id"])
    keep = np.ones(n, bool)
    if n == 0:
        return np.flatnonzero(keep)
    if bbox is not None:
        lat, lon = np.asarray(view["lat"]), np.asarray(view["lon"])
        keep &= (lon >= bbox[0]) & (lon <= bbox[2]) & (lat >= bbox[1]) & (lat <= bbox[3])
    if callsign:
        cs = np.char.upper(np.asarray(view["callsign"], dtype=str))
        keep &= np.char.find(cs, callsign.strip().upper()) >= 0
    if icao24:
        keep &= np.asarray(view["icao24"], dtype=str) == icao24.strip().lower()
    if squawk:
        keep &= np.asarray(view["squawk"], dtype=str) == squawk.strip()
    if alt_min_ft is not None or alt_max_ft is not None:
        alt = np.asarray([np.nan if a is None else a for a in view["alt_ft"]], float)
        lo = -np.inf if alt_min_ft is None else alt_min_ft
        hi = np.inf if alt_max_ft is None else alt_max_ft
        keep &= (alt >= lo) & (alt <= hi)
    if sensor is not None:
        bit = sensor_bits.get(sensor)
        if bit is None:
            keep[:] = False
        else:
            keep &= (np.asarray(view["smask"], np.int64) >> bit) & 1 == 1
    return np.flatnonzero(keep)


def arrow_columns(table: pa.Table) -> dict[str, list[Any]]:
    """An Arrow table as JSON-ready columns (NaN -> null)."""
    out: dict[str, list[Any]] = {}
    for name in table.column_names:
        values = table.column(name).to_pylist()
        out[name] = [None if isinstance(v, float) and v != v else v for v in values]
    return out


async def _watch_disconnect(websocket: WebSocket, slot: ClientSlot) -> None:
    """Read (and ignore) what the client sends until it disconnects, then close its slot."""
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        slot.close()


def create_app(pipeline: Pipeline, *, start: bool = True) -> FastAPI:
    """The web application around a pipeline; `start` runs the pipeline and recorder threads."""
    state: dict[str, Hub] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = Hub(asyncio.get_running_loop(), pipeline.metrics)
        state["hub"] = hub
        pipeline.publishers.append(hub.publish)
        if start:
            pipeline.recorder.start()
            if pipeline.outputs is not None:
                pipeline.outputs.start()
            pipeline.start()
        try:
            yield
        finally:
            pipeline.publishers.remove(hub.publish)
            if start:
                pipeline.stop()
                if pipeline.outputs is not None:  # after the last tick: flush and close
                    pipeline.outputs.close()
                pipeline.recorder.close()

    app = FastAPI(title="airpicture", version="1", lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Live air picture: fused system tracks, sensors, history.")
    sensor_bits = {s.id: i for i, s in enumerate(pipeline.sensors)}
    history_gate = QueryGate()
    app.state.history_gate = history_gate

    app.state.consumer_for = consumer_for
    """Who a connection is (tests and, later, authentication replace it)."""

    def who(conn: HTTPConnection) -> Consumer:
        consumer: Consumer = app.state.consumer_for(conn)
        return consumer

    def history_class(conn: HTTPConnection) -> str | None:
        """With release classes: the recorded class the consumer may read (its current)."""
        pick = pipeline.history_class
        return None if pick is None else pick(who(conn))

    def labelled(conn: HTTPConnection) -> dict[str, Any]:
        """`{"label": ...}`: the label of what the consumer receives (none without a policy)."""
        label = pipeline.egress.label(who(conn))
        return {} if label is None else {"label": label}

    def latest(conn: HTTPConnection) -> Frame | None:
        consumer = who(conn)
        pipeline.consumers.add(consumer)
        return pipeline.latest.get(consumer)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI from the service's own files (`make web`), so nothing leaves the machine."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="airpicture API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="data:,")

    def hidden_for(consumer: Consumer) -> set[str]:
        """Names of the sensors and feeds `consumer` may not know of."""
        return hidden_names(pipeline.egress, pipeline.sensor_status(),
                            pipeline.feed_status()["feeds"], consumer)

    @app.get("/api/health", summary="Is the pipeline running", response_model=Health)
    def health(request: Request) -> dict[str, Any]:
        """status: ok; degraded (each problem named in `problems`: feeds, recording, falling
        behind, frozen picture, ...); error (the pipeline stopped: `error`). docs/operations.md
        says what each means and what to do."""
        err = pipeline.error
        consumer = who(request)
        health = gate_health(pipeline.health(), hidden_for(consumer), consumer)
        shown = repr(err) if is_admin(consumer) else "the pipeline stopped"  # no detail
        return {"status": health["status"], "error": shown if err else None,
                "feeds_down": health["feeds_down"], "problems": health["problems"],
                "pipeline": health["pipeline"], "pace": health["pace"],
                "replay": health["replay"], "epoch_offset_s": health["epoch_offset_s"],
                "t": pipeline.t_s, "seq": pipeline.seq, "scenario": pipeline.meta.name,
                "tick_s": pipeline.tick_s, "trail_points": pipeline.trail_points,
                "clients": len(state["hub"].clients) if "hub" in state else 0,
                "origin": {"lat": pipeline.meta.origin_lat_deg,
                           "lon": pipeline.meta.origin_lon_deg}}

    @app.get("/api/tracks", summary="Current tracks, with bbox and filters",
             response_model=Tracks)
    def tracks(
        request: Request,
        bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
        callsign: Annotated[str | None, Query(description="substring of the callsign")] = None,
        icao24: Annotated[str | None, Query(description="24-bit address, 6 hex digits")] = None,
        squawk: Annotated[str | None, Query(description="Mode A code, 4 octal digits")] = None,
        alt_min_ft: Annotated[float | None, Query(description="lowest altitude, ft")] = None,
        alt_max_ft: Annotated[float | None, Query(description="highest altitude, ft")] = None,
        sensor: Annotated[int | None, Query(description="seen by this sensor id")] = None,
    ) -> dict[str, Any]:
        frame = latest(request)
        if frame is None:
            return {"t": None, "count": 0, "tracks": [], **labelled(request)}
        idx = filter_rows(frame.view, bbox=parse_bbox(bbox), callsign=callsign, icao24=icao24,
                          squawk=squawk, alt_min_ft=alt_min_ft, alt_max_ft=alt_max_ft,
                          sensor=sensor, sensor_bits=sensor_bits)
        rows = view_rows(take_view(frame.view, idx))
        return {"t": frame.t_s, "count": len(rows), "tracks": rows,
                **labelled(request)}

    @app.get("/api/tracks/{track_id}", summary="One track, its sensors and recent history",
             response_model=TrackDetail)
    def track(request: Request, track_id: int,
              limit: Annotated[int, Query(ge=1, le=5000, description="history rows")] = 60
              ) -> dict[str, Any]:
        frame = latest(request)
        ids = np.asarray(frame.view["id"] if frame else [], np.int64)
        hit = np.flatnonzero(ids == track_id)
        if hit.size == 0:
            raise HTTPException(404, f"no current track {track_id}")
        row = view_rows(take_view(frame.view, hit[:1]))[0]  # type: ignore[union-attr]
        sensors = [s for s in pipeline.sensor_status_for(who(request))
                   if (row["smask"] >> s["bit"]) & 1]
        hist = pipeline.egress.track_rows(pipeline.recorder.track_history(
            track_id, limit, history_class(request)), who(request))
        keep = ["t", "lat", "lon", "alt_ft", "status", "sigma_pos_m"]
        return {"track": row, "sensors": sensors,
                "history": arrow_columns(hist.select(keep)), **labelled(request)}

    @app.get("/api/history", summary="Recorded track states in a time window and bbox, "
             "a page at a time", response_class=Response, responses={200: {
                 "model": HistoryPage, "content": {ARROW_MEDIA_TYPE: {}}}})
    async def history(
        request: Request,
        t0: Annotated[float, Query(description="start, stream seconds")],
        t1: Annotated[float, Query(description="end, stream seconds")],
        bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_ROWS, description="rows per page")]
        = DEFAULT_PAGE_ROWS,
        cursor: Annotated[str | None, Query(description="`next` of the previous page")] = None,
        session: Annotated[int | None, Query(description="recording session (default: the "
                                             "current one; /api/history/range lists them)")]
        = None,
        fmt: Annotated[Literal["json", "arrow"] | None, Query(
            alias="format", description="json (columns) or arrow (IPC stream); default: by "
            "Accept")] = None,
    ) -> Response:
        """Rows ordered by (t, track_id), at most `limit` per page; `next` (JSON) or the
        X-Next-Cursor header (Arrow) is the cursor of the following page, null on the last.
        At most a few heavy queries run at once: others wait briefly, then get 503."""
        try:
            check_window(t0, t1)
            box = parse_bbox(bbox)
            async with history_gate.slot():
                page, following = await run_in_threadpool(
                    read_page, pipeline.recorder, pipeline.egress, who(request), t0,
                    t1, box, cursor, limit, session, history_class(request))
        except HistoryError as exc:
            raise HTTPException(422, str(exc)) from None
        except TimeoutError as exc:
            raise HTTPException(503, f"{exc}: retry shortly",
                                headers={"Retry-After": "1"}) from None
        headers = {"X-Next-Cursor": following or "", "X-Row-Count": str(page.num_rows)}
        if fmt == "arrow" or (fmt is None and ARROW_MEDIA_TYPE in
                                 request.headers.get("accept", "")):
            return StreamingResponse(arrow_stream(page), media_type=ARROW_MEDIA_TYPE,
                                     headers=headers)
        head = {"t0": t0, "t1": t1, "truncated": following is not None, "next": following}
        return StreamingResponse(json_stream(page, head), media_type="application/json",
                                 headers=headers)

    @app.get("/api/history/range", summary="First and last recorded time, and the sessions",
             response_model=TimeRange)
    def history_range(
        session: Annotated[int | None, Query(description="recording session (default: the "
                                             "current one)")] = None,
    ) -> dict[str, Any]:
        """t0, t1 of a session (default: the current one); `sessions`: every session of the
        recording (id, started_unix_s, input, t0, t1, track_states rows)."""
        rec = pipeline.recorder
        chosen = rec.session_id if session is None else session
        t0, t1 = rec.time_range(chosen)
        return {"t0": t0, "t1": t1, "session": chosen, "current_session": rec.session_id,
                "sessions": rec.sessions()}

    @app.get("/api/sensors", summary="Sensors with status: plots/s, last seen, alive",
             response_model=Sensors)
    def sensors(request: Request) -> dict[str, Any]:
        return {"t": pipeline.t_s, "sensors": pipeline.sensor_status_for(who(request)),
                **labelled(request)}

    @app.get("/api/outputs", summary="CAT062 outputs: state, records, datagrams, errors",
             response_model=Outputs)
    def outputs(request: Request) -> dict[str, Any]:
        """Each `[[output.cat062]]`: state (starting, up, down while it fails and is retried),
        records, cycles, datagrams (blocks, for a file), bytes, errors, dropped cycles,
        last error and the stream time of the last picture sent."""
        outs = pipeline.outputs
        rows = outs.status() if outs is not None else []
        consumer = who(request)
        if not is_admin(consumer):  # a partner sees the outputs that serve it only
            rows = [o for o in rows if o.get("consumer") == consumer.name]
        return {"t": pipeline.t_s, "outputs": rows}

    @app.get("/data/aircraft.json", summary="readsb-compatible aircraft.json (tar1090)",
             response_model=AircraftJson)
    def aircraft_json(request: Request) -> dict[str, Any]:
        """The picture as readsb's aircraft.json, at tar1090's usual path: the released tracks
        and, with Mode S feeds, the aircraft heard without a track (no lat/lon)."""
        consumer = who(request)
        pipeline.consumers.add(consumer)
        return pipeline.aircraft_json(consumer)

    @app.get("/data/receiver.json", summary="readsb-compatible receiver.json (tar1090)",
             response_model=ReceiverJson)
    def receiver_json() -> dict[str, Any]:
        """What tar1090 reads first: refresh period (ms) and the map's centre."""
        return {"version": f"airpicture {__version__}", "refresh": int(pipeline.tick_s * 1000),
                "history": 0, "lat": pipeline.meta.origin_lat_deg,
                "lon": pipeline.meta.origin_lon_deg}

    @app.get("/api/feeds", summary="Feeds: state, frames, reconnects; decoder counters",
             response_model=Feeds)
    def feeds(request: Request) -> dict[str, Any]:
        """A dead feed shows here as 'down' (retried with back-off) with its last error; bad
        frames are counted by kind, never fatal."""
        return {"t": pipeline.t_s, **gate_feeds(pipeline.egress, pipeline.feed_status(),
                                                who(request))}

    @app.get("/api/recording", summary="Recording: state, rows committed and dropped, "
             "last error", response_model=Recording, response_model_exclude_unset=True)
    def recording(request: Request) -> dict[str, Any]:
        """state: ok, retrying (the last write failed: last_error; retried with back-off),
        stopped. Rows count as committed once durable; dropped rows were never recorded."""
        status = pipeline.recorder.status()
        if not is_admin(who(request)):  # row counts and paths sum every class: state only
            return {"state": status["state"]}
        return status

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics(request: Request) -> Response:
        pipeline.update_status_metrics(scrape=True)
        consumer = who(request)
        text = gate_metrics(generate_latest(pipeline.metrics.registry).decode(),
                            [s.id for s in pipeline.sensors], pipeline.egress,
                            hidden_for(consumer), consumer)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    @app.websocket("/ws/tracks")
    async def ws_tracks(websocket: WebSocket) -> None:
        """A snapshot, then one delta per tick; a slow client gets the latest snapshot."""
        await websocket.accept()
        hub = state["hub"]
        slot = ClientSlot(who(websocket))
        pipeline.consumers.add(slot.consumer)
        hub.add(slot, pipeline.latest.get(slot.consumer))
        watcher = asyncio.create_task(_watch_disconnect(websocket, slot))
        try:
            while (msg := await slot.take()) is not None:
                await websocket.send_text(msg)
                pipeline.metrics.sent.inc()
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass
        finally:
            hub.remove(slot)
            watcher.cancel()

    @app.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
