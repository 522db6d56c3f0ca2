"""CLI commands of this part (registered by airpicture.cli): the `asterix` group."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from airpicture.core.errors import UserError
from airpicture.core.paths import check_input_file, check_output_file
from airpicture.core.values import check_number


def _editions(values: list[str]) -> dict[int, str]:
    """CAT=EDITION options to {category: edition}, each one libasterix knows."""
    from airpicture.io.asterix.layout import editions

    out: dict[int, str] = {}
    for v in values:
        cat, sep, ed = v.partition("=")
        if not sep or not cat.isdigit():
            raise UserError(None, f"--edition {v!r}: expected CAT=EDITION, e.g. 48=1.32")
        known = editions(int(cat))
        if not known:
            raise UserError(None, f"--edition {v!r}: unknown ASTERIX category {int(cat)}")
        if ed not in known:
            raise UserError(None, f"--edition {v!r}: CAT{int(cat):03d} editions are "
                                  f"{', '.join(known)}")
        out[int(cat)] = ed
    return out


def _json_safe(value: Any) -> Any:
    """value with every non-finite float as None (null): JSON has no NaN or Infinity."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _check_lat_lon(lat: float, lon: float) -> None:
    """--lat and --lon must be a place on Earth."""
    check_number(lat, "--lat", -90, 90)
    check_number(lon, "--lon", -180, 180)


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `airpicture` app."""
    asterix = typer.Typer(help="ASTERIX: dump files, listen to UDP, decode to plots.",
                          no_args_is_help=True)
    app.add_typer(asterix, name="asterix")

    @asterix.command("dump")
    def dump(
        file: Path = typer.Argument(..., help="Raw ASTERIX (.ast/.raw) or pcap/pcapng file."),
        text: bool = typer.Option(False, "--text", help="One text line per record instead "
                                                        "of JSON lines."),
        edition: list[str] = typer.Option([], "--edition", help="CAT=EDITION to read a "
                                          "category with, e.g. 48=1.27 (repeatable)."),
        limit: int = typer.Option(0, "--limit", min=0,
                                  help="Stop after this many records (0: all)."),
    ) -> None:
        """Print every record of FILE readably (JSON lines by default), then the counts."""
        from airpicture.io.asterix.dump import as_text, dump_records
        from airpicture.io.asterix.transport import read_any

        check_input_file(file)
        chosen = _editions(edition)
        counts: Counter[str] = Counter()
        datagrams = read_any(file, counts)
        for n, row in enumerate(dump_records(datagrams, chosen, counts), 1):
            typer.echo(as_text(row) if text else json.dumps(row))
            if limit and n >= limit:
                break
        typer.echo(json.dumps({"counts": dict(sorted(counts.items()))}), err=True)

    @asterix.command("decode")
    def decode(
        file: Path = typer.Argument(..., help="Raw ASTERIX (.ast/.raw) or pcap/pcapng file."),
        config: Path = typer.Option(..., "--config", help="ASTERIX sources JSON "
                                    "(radar sites by SAC/SIC; see docs/asterix.md)."),
        out: Path | None = typer.Option(None, "--out", help="Write the plots as a Parquet "
                                        "table (plots.parquet columns)."),
    ) -> None:
        """Decode CAT048/CAT021/CAT034 of FILE into plots; print counts and radar status."""
        import pyarrow.parquet as pq

        from airpicture.io.asterix.config import AsterixConfig
        from airpicture.io.asterix.decoder import AsterixDecoder
        from airpicture.io.asterix.transport import read_any

        check_input_file(file)
        check_input_file(config)
        if out is not None:
            check_output_file(out, "--out")
        cfg = AsterixConfig.from_json(config)
        counts: Counter[str] = Counter()
        datagrams = read_any(file, counts)
        dec = AsterixDecoder(cfg)
        result = dec.decode(datagrams)
        counts.update(result.counts)
        if out is not None:
            pq.write_table(result.plots.to_arrow(), out)
        typer.echo(json.dumps(_json_safe({
            "plots": len(result.plots), "counts": dict(sorted(counts.items())),
            "radars": dec.radar_status(now_s=dec.clock_utc_s - cfg.t0_utc_s),
        }), indent=1, allow_nan=False))

    @asterix.command("tracks")
    def tracks(
        file: Path = typer.Argument(..., help="CAT062 recording: raw .ast or pcap/pcapng."),
        lat: float = typer.Option(..., "--lat", help="Latitude of the local frame's origin "
                                                     "(the scenario's origin), degrees."),
        lon: float = typer.Option(..., "--lon", help="Longitude of the frame's origin, "
                                                     "degrees."),
        out: Path = typer.Option(..., "--out", help="tracks.parquet to write (scoreable "
                                                    "with `airpicture score`)."),
        t0_utc_s: float = typer.Option(0.0, "--t0-utc-s", help="UTC (epoch s) of t = 0; "
                                       "times of day resolve near it."),
        edition: str = typer.Option("1.21", "--edition", help="CAT062 edition to read."),
    ) -> None:
        """Read CAT062 system tracks (any system's) into a tracks.parquet table."""
        from airpicture.core.geo import LocalFrame
        from airpicture.io.asterix import cat062
        from airpicture.io.asterix.blocks import max_blocks_for, split_blocks
        from airpicture.io.asterix.layout import editions
        from airpicture.io.asterix.transport import read_any
        from airpicture.io.scenario import write_tracks

        if edition not in editions(62):
            raise UserError(None, f"--edition {edition}: CAT062 editions are {editions(62)}")
        _check_lat_lon(lat, lon)
        check_number(t0_utc_s, "--t0-utc-s")
        check_input_file(file)
        check_output_file(out, "--out")
        counts: Counter[str] = Counter()
        blocks = [b for t, d in read_any(file, counts)
                  for b in split_blocks(d, counts, max_blocks_for(t))]
        decoded = cat062.decode(blocks, counts, edition)
        table = cat062.tracks_table(decoded, LocalFrame(lat, lon), t0_utc_s, counts)
        write_tracks(out, table)
        typer.echo(json.dumps({"rows": table.num_rows, "counts": dict(sorted(counts.items()))}))

    @asterix.command("emit")
    def emit(
        scenario: Path = typer.Argument(..., help="Scenario folder (airpicture-scenario/1)."),
        url: str = typer.Argument(..., help="udp://HOST:PORT to send to."),
        speed: float = typer.Option(1.0, "--speed", help="Times real time (0: as fast as "
                                                         "possible)."),
    ) -> None:
        """Send a scenario's plots as CAT048/CAT034/CAT021 (radar sites from the scenario)."""
        from airpicture.io.asterix.emit import emit_scenario

        check_number(speed, "--speed", 0)
        typer.echo(json.dumps(emit_scenario(scenario, url, speed)))

    @asterix.command("replay")
    def replay(
        file: Path = typer.Argument(..., help="Recording: raw .ast (one datagram per data "
                                              "block, paced by the data's time) or "
                                              "pcap/pcapng (datagrams paced by capture time)."),
        url: str = typer.Argument(..., help="udp://HOST:PORT to send to."),
        speed: float = typer.Option(1.0, "--speed", help="Times real time (0: as fast as "
                                                         "possible)."),
        edition: list[str] = typer.Option([], "--edition", help="CAT=EDITION to find a "
                                          "block's time with, e.g. 48=1.27 (repeatable)."),
    ) -> None:
        """Send a recording to URL as a live source would (blocks over 65,507 bytes are
        skipped and counted); prints what was sent."""
        from airpicture.io.asterix.replay import replay_file

        check_input_file(file)
        check_number(speed, "--speed", 0)
        typer.echo(json.dumps(replay_file(file, url, speed, _editions(edition))))

    @asterix.command("listen")
    def listen(
        url: str = typer.Argument(..., help="udp://HOST:PORT (a 224.0.0.0/4 HOST joins that "
                                            "multicast group)."),
        config: Path | None = typer.Option(None, "--config", help="ASTERIX sources JSON; "
                                           "without it records are dumped, not made plots."),
        seconds: float = typer.Option(0.0, "--seconds", help="Stop after this long (0: "
                                      "until interrupted)."),
    ) -> None:
        """Receive ASTERIX on URL and print records (or, with --config, plot counts)."""
        import asyncio

        from airpicture.io.asterix.listen import run_listener

        check_number(seconds, "--seconds", 0)
        if config is not None:
            check_input_file(config)
        asyncio.run(run_listener(url, config, seconds, typer.echo))
