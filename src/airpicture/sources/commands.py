"""CLI commands of this part (registered by airpicture.cli): `decode` and `ingest`."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

import typer

from airpicture.core.errors import UserError
from airpicture.core.paths import check_input_file, check_output_file

DECODE_CHUNK = 20000
NETWORK_SCHEMES = ("tcp", "tcp-listen")
"""URL schemes a feed source may have; anything else with '://' is refused by name."""


def _check_source(text: str) -> None:
    """A SOURCE argument: a supported URL scheme, or a file that exists and is not a folder."""
    scheme, sep, _ = text.partition("://")
    if sep:
        if scheme not in NETWORK_SCHEMES:
            raise UserError(text, f"unsupported scheme {scheme + '://'!r}; sources are files, "
                                  "tcp://HOST:PORT or tcp-listen://[HOST]:PORT")
        return
    check_input_file(Path(text))


def _json_default(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _clean(rec: dict[str, Any]) -> dict[str, Any]:
    """NaN (unknown signal level) becomes null: JSON has no NaN."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in rec.items()}


DF11_MAX_REMAINDER = 0x80
"""A DF11's CRC remainder is its 7-bit interrogator code (II/SI) when intact."""


def crc_verified_addresses(records: list[dict[str, Any]], verified: set[str]) -> None:
    """Add to `verified` the addresses that a CRC check confirms, as readsb's ICAO filter:
    DF17/18 (rs1090 checks their CRC), DF11 whose remainder is its interrogator code alone
    (< 0x80; a bit error leaves a larger one), and SBS lines (the receiver checked them).
    DF0/4/5/16/20/21 addresses come from the parity field alone and confirm nothing."""
    from airpicture.sources.framing import mode_s_remainder

    for rec in records:
        df = str(rec.get("df", ""))
        if rec.get("source") == "sbs" or df in ("17", "18") or (
                df == "11" and "frame" in rec
                and mode_s_remainder(bytes.fromhex(str(rec["frame"]))) < DF11_MAX_REMAINDER):
            verified.add(str(rec.get("icao24", "")))


def decode_command(
    file: Path = typer.Argument(..., help="Recording: Beast .bin, AVR text, SBS, or .jsonl[.gz]."),
    fmt: str | None = typer.Option(None, "--format", help="beast, avr, sbs or jsonl "
                                   "(default: from the file name)."),
    lat: float | None = typer.Option(None, "--lat", help="Receiver latitude (deg): CPR "
                                     "reference (without it only even/odd pairs resolve)."),
    lon: float | None = typer.Option(None, "--lon", help="Receiver longitude (deg)."),
    unverified: bool = typer.Option(False, "--unverified", help="Also print messages whose "
                                    "address no CRC-checked message (DF11, DF17/18) "
                                    "confirmed: possible phantoms, flagged "
                                    "\"address_verified\": false."),
) -> None:
    """Print each decoded message of FILE whose address is CRC-verified (as readsb) as one
    JSON line; counters, and how many unverified messages were left out, go to stderr."""
    from airpicture.sources.decode import ModeSDecoder, Receiver
    from airpicture.sources.framing import FrameBatch
    from airpicture.sources.transports import FeedStatus, parse_source, read_file

    if (lat is None) != (lon is None):
        raise UserError(None, "give both --lat and --lon, or neither")
    lat_deg = math.nan if lat is None else lat
    lon_deg = math.nan if lon is None else lon
    if lat is not None and not (-90 <= lat_deg <= 90 and -180 <= lon_deg <= 180):
        raise UserError(None, "--lat must be in [-90, 90] and --lon in [-180, 180]")
    _check_source(str(file))
    spec = parse_source(str(file), fmt)
    if spec.kind != "file":
        raise UserError(file, "decode reads files; use `airpicture ingest` for TCP feeds")
    status = FeedStatus(str(file))
    items = read_file(spec, status)
    decoder = ModeSDecoder([Receiver("receiver", lat_deg, lon_deg)])
    out = sys.stdout
    decoded = 0
    hidden = 0
    verified: set[str] = set()
    for k in range(0, len(items), DECODE_CHUNK):
        if isinstance(items, FrameBatch):
            res = decoder.decode(items.take(slice(k, k + DECODE_CHUNK)))
        else:
            res = decoder.process(sorted(items[k:k + DECODE_CHUNK],
                                         key=lambda r: r["timestamp"]))
        crc_verified_addresses(res.records, verified)
        for rec in res.records:
            if str(rec.get("icao24", "")) not in verified:
                hidden += 1
                if not unverified:
                    continue
                rec["address_verified"] = False
            out.write(json.dumps(_clean(rec), default=_json_default) + "\n")
        decoded += len(res.records)
    summary = {"file": str(file), "format": spec.fmt, "items": len(items),
               "bad": dict(status.bad), **dict(decoder.counters),
               ("unverified_printed" if unverified else "unverified_hidden"): hidden}
    typer.echo(json.dumps(summary), err=True)
    if decoded == 0:
        raise UserError(file, f"nothing decoded as {spec.fmt} ({len(items)} frames read); "
                              "is it another format? Give --format beast, avr, sbs or jsonl "
                              "(ASTERIX: `airpicture asterix dump`)")


def ingest_command(
    sources: list[str] = typer.Argument(..., help="Files, tcp://HOST:PORT (connect) or "
                                        "tcp-listen://[HOST]:PORT (receivers push)."),
    receiver: list[str] = typer.Option([], "--receiver", help="NAME:LAT:LON, once per "
                                       "receiver; the i-th source uses the i-th receiver "
                                       "(the last one when fewer are given).  Without it "
                                       "only even/odd position pairs resolve."),
    aircraft_json: Path | None = typer.Option(None, "--aircraft-json",
                                              help="Write readsb-style aircraft.json here, 1 Hz."),
    duration: float | None = typer.Option(None, "--duration", help="Stop after S seconds "
                                          "(default: when every file is read; TCP: never)."),
    fmt: str | None = typer.Option(None, "--format", help="Feed format for every source: "
                                   "beast, avr, sbs or jsonl (default: port or file name)."),
    no_tracker: bool = typer.Option(False, "--no-tracker", help="Decode and count plots only."),
    plots_out: Path | None = typer.Option(None, "--plots-out", help="Also write every plot "
                                          "(speed-check failures flagged) to this parquet file."),
    speed: float = typer.Option(0.0, "--speed", help="Replay files at SPEED times the "
                                "recorded pace (1 = real time); 0: as fast as possible."),
    clock: str | None = typer.Option(None, "--clock", help="Stream time: 'data' follows the "
                                     "messages' own times, 'wall' the wall clock (data far "
                                     "from it is counted); default: wall with network feeds, "
                                     "the data with files only."),
    stale_s: float = typer.Option(30.0, "--stale-s", help="A network feed connected but "
                                  "silent this long is reported stale."),
) -> None:
    """Run feeds from one or more receivers into the tracker; print the run's stats as JSON."""
    from airpicture.sources.decode import Receiver
    from airpicture.sources.ingest import Ingest, parse_receiver
    from airpicture.sources.transports import parse_source

    for src in sources:
        _check_source(src)
    if aircraft_json is not None:
        check_output_file(aircraft_json, "--aircraft-json")
    if plots_out is not None:
        check_output_file(plots_out, "--plots-out")
    receivers = [parse_receiver(text, i) for i, text in enumerate(receiver)]
    if not receivers:  # position unknown: even/odd pairs only, no receiver-relative decoding
        receivers = [Receiver("receiver", math.nan, math.nan, 1, 2)]
    specs = [parse_source(src, fmt, min(i, len(receivers) - 1), speed)
             for i, src in enumerate(sources)]
    if duration is not None and duration <= 0:
        raise UserError(None, "--duration must be positive")
    if not stale_s > 0:
        raise UserError(None, "--stale-s must be positive")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    ingest = Ingest(specs, receivers, aircraft_json, plots_out, use_tracker=not no_tracker,
                    clock=clock, stale_after_s=stale_s)
    stats = asyncio.run(ingest.run(duration))
    typer.echo(json.dumps(stats, default=_json_default))


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `airpicture` app."""
    app.command("decode", help="Decode a Mode S recording to JSON lines.")(decode_command)
    app.command("ingest", help="Run Mode S / ADS-B feeds into the tracker.")(ingest_command)
