"""CLI commands of this part (registered by airpicture.cli): `airpicture track`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def _track(
    scenario: Path = typer.Argument(..., help="Scenario folder (airpicture-scenario/1)."),
    out: Path = typer.Option(Path("tracks.parquet"), "--out", "-o",
                             help="Where to write tracks.parquet."),
    config_file: Path | None = typer.Option(
        None, "--config", help="TOML or JSON file of tracker settings (keys of TrackerConfig)."),
    slice_s: float | None = typer.Option(None, "--slice-s", help="Time slice length, s."),
    late_window_s: float | None = typer.Option(
        None, "--late-window-s", help="How long to wait for late plots, s."),
    q_cv: float | None = typer.Option(None, "--q-cv", help="CV model noise, m^2/s^3."),
    q_ct: float | None = typer.Option(None, "--q-ct", help="Turn model noise, m^2/s^3."),
    gate_prob: float | None = typer.Option(None, "--gate-prob", help="Chi-square gate prob."),
    confirm_hits_psr: int | None = typer.Option(
        None, "--confirm-hits-psr", help="Hits a primary-only track needs to confirm."),
    stats_json: Path | None = typer.Option(
        None, "--stats-json", help="Also write the run statistics as JSON here."),
    sensors_out: Path | None = typer.Option(
        None, "--sensors-out", help="Also write the sensors as learned from their data "
        "(period, pd, accuracy) as JSON here: {\"sensors\": [{\"id\": ..., ...}]}."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
) -> None:
    """Track a scenario's plots into one system track per aircraft (tracks.parquet)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from airpicture.io.scenario import read_meta
    from airpicture.tracker.config import TrackerConfig, load_config_file
    from airpicture.tracker.run import track_scenario

    meta = read_meta(scenario)
    cfg = TrackerConfig.for_scenario(meta)
    if config_file is not None:
        cfg = load_config_file(config_file, cfg)
    flags: dict[str, Any] = {
        "slice_s": slice_s, "late_window_s": late_window_s, "q_cv": q_cv, "q_ct": q_ct,
        "gate_prob": gate_prob, "confirm_hits_psr": confirm_hits_psr,
    }
    cfg = cfg.with_overrides({k: v for k, v in flags.items() if v is not None}, "command line")
    from airpicture.core.paths import check_output_file  # before the run, not after it

    for path, option in ((out, "--out"), (stats_json, "--stats-json"),
                         (sensors_out, "--sensors-out")):
        if path is not None:
            check_output_file(path, option)
    stats = track_scenario(scenario, out, cfg, progress=not quiet, sensors_out=sensors_out)
    if stats_json is not None:
        slim = {k: v for k, v in stats.items() if k not in ("slice_times_s", "slice_cpu_s")}
        stats_json.write_text(json.dumps(slim, indent=2) + "\n")
    if quiet:
        return
    table = Table(title=f"airpicture track {scenario.name}", show_header=False)
    rows = [
        ("plots in / used / rejected / late", f"{stats['plots_in']:,} / {stats['plots_used']:,}"
         f" / {stats['plots_rejected']:,} / {stats['plots_late']:,}"),
        ("plots that started tracks", f"{stats['plots_initiated']:,}"),
        ("identity mismatches", f"{stats['identity_mismatch']:,}"),
        ("tracks initiated / confirmed", f"{stats['tracks_initiated']:,} / "
         f"{stats['tracks_confirmed']:,}"),
        ("wall time", f"{stats['wall_s']:.2f} s ({stats['real_time_ratio']:.1f}x real time)"),
        ("plots/s", f"{stats['plots_per_s']:,.0f}"),
        ("slice p50 / p99", f"{stats['slice_p50_s'] * 1e3:.1f} / "
         f"{stats['slice_p99_s'] * 1e3:.1f} ms"),
        ("tracks written", f"{stats['track_rows']:,} rows to {out}"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `airpicture` app."""
    app.command("track")(_track)
