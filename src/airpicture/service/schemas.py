"""Response models of the REST routes, for the OpenAPI schema (/docs, /openapi.json).

They describe what the routes return; every model allows extra fields so that a field added to
a route shows up at once (and is documented here next).  Units are in the names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Origin(_Open):
    lat: float
    lon: float


class Health(_Open):
    status: str = Field(description="ok, degraded (see problems) or error")
    error: str | None = None
    feeds_down: list[Any] = []
    problems: list[str] = []
    pipeline: Any = None
    pace: Any = None
    t: float | None = Field(None, description="stream time of the latest picture, s")
    epoch_offset_s: float = Field(0.0, description="Unix time = stream time + this (0 for "
                                  "live feeds; a scenario's start_utc or its start on the wall "
                                  "clock): what the map's UTC clock and aircraft.json's now use")
    seq: int
    scenario: str | None = None
    tick_s: float
    trail_points: int
    clients: int
    origin: Origin


class Track(_Open):
    """One system track, as /api/tracks and the WebSocket send it."""

    id: int
    t: float = Field(description="time of the track state, stream s")
    lat: float
    lon: float
    alt_ft: int | None = None
    hdg_deg: float = Field(description="track over ground, degrees from north")
    gs_kt: int = Field(description="ground speed, kt")
    vrate_fpm: int | None = None
    icao24: str = Field(description='24-bit address, 6 hex digits; "" if none')
    callsign: str
    squawk: str = Field(description='Mode A code, 4 octal digits; "" if none')
    status: int = Field(description="0 tentative, 1 confirmed, 2 coasting")
    sigma_pos_m: float | None = None
    kinds: int = Field(description="kinds of sensor seeing it: psr 1, ssr 2, adsb 4, mlat 8")
    smask: int = Field(description="bit i: seen by sensor with `bit` i (/api/sensors)")


class Tracks(_Open):
    t: float | None
    count: int
    tracks: list[Track]


class Sensor(_Open):
    id: int
    kind: str
    name: str
    lat: float | None = None
    lon: float | None = None
    max_range_m: float | None = None
    period_s: float | None = None
    plots_total: int
    plots_per_s: float
    last_seen_t: float | None = None
    alive: bool
    bit: int


class TrackDetail(_Open):
    track: Track
    sensors: list[Sensor]
    history: dict[str, list[Any]] = Field(
        description="recent states as columns: t, lat, lon, alt_ft, status, sigma_pos_m")


class HistoryPage(_Open):
    """JSON form of /api/history (the Arrow form has the same columns)."""

    t0: float
    t1: float
    truncated: bool
    next: str | None = Field(description="cursor of the next page, null on the last")
    count: int
    cols: dict[str, list[Any]] = Field(description=(
        "columns, in /api/tracks' units: t, track_id, lat, lon, alt_ft, hdg_deg, gs_kt, "
        "status, icao24 (hex), callsign, squawk (octal), smask"))


class TimeRange(_Open):
    t0: float | None
    t1: float | None


class Sensors(_Open):
    t: float | None
    sensors: list[Sensor]


class Outputs(_Open):
    t: float | None
    outputs: list[dict[str, Any]]


class AircraftJson(_Open):
    """readsb's aircraft.json (https://github.com/wiedehopf/readsb/blob/dev/README-json.md)."""

    now: float
    messages: int
    aircraft: list[dict[str, Any]]


class ReceiverJson(_Open):
    version: str
    refresh: int = Field(description="ms")
    history: int
    lat: float
    lon: float


class Feeds(_Open):
    t: float | None = None
    feeds: list[dict[str, Any]]
    decoder: dict[str, Any] = {}


class Recording(_Open):
    path: str | None = None
    state: str = Field(description="ok, retrying or stopped")
    rows_committed: dict[str, int] | int | None = Field(
        None, description="per table; shown to the operator and admins only")
    rows_dropped: dict[str, int] | int | None = Field(
        None, description="per table; shown to the operator and admins only")
    last_error: str | None = None
