"""`airpicture track`: the operator's picture of a scenario, or with `--policy FILE
--consumer NAME` that consumer's picture (tracked from its class's cleared sensors only, then
masked).  The command sits above the tracker and the policy; the tracker knows no policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from airpicture.core.errors import UserError
from airpicture.core.paths import check_output_file

if TYPE_CHECKING:
    from airpicture.io.scenario import ScenarioMeta
    from airpicture.tracker.config import TrackerConfig


def track_for_consumer(scenario_dir: Path, out_path: Path, policy_path: Path, consumer: str,
                       configure: Callable[[ScenarioMeta], TrackerConfig] | None = None,
                       progress: bool = False, sensors_out: Path | None = None
                       ) -> dict[str, Any]:
    """Write `consumer`'s picture of a scenario as tracks.parquet; returns run stats.

    One tracker for the consumer's release class, fed only the plots of the class's cleared
    sensors and configured for that sensor mix (`configure`, default
    TrackerConfig.for_scenario); its reports then pass the policy's gate."""
    from airpicture.commands.picture import (
        cleared_scenario,
        consumer_release,
        policy_egress,
        release_reports,
    )
    from airpicture.io.scenario import read_meta, read_plots, write_tracks
    from airpicture.policy.release import load_policy
    from airpicture.tracker.config import TrackerConfig
    from airpicture.tracker.run import concat_tables, track_plots, write_sensors_json

    loaded = load_policy(policy_path)
    release = consumer_release(loaded, consumer)
    meta = read_meta(scenario_dir)
    sub_meta, sub_plots = cleared_scenario(meta, read_plots(scenario_dir, meta),
                                           release.sensors)
    cfg = (configure or TrackerConfig.for_scenario)(sub_meta)
    tracker, stats = track_plots(sub_meta, sub_plots, cfg, progress)
    reports = release_reports(tracker.reports, meta, policy_egress(loaded, meta), consumer)
    table = concat_tables(reports)
    write_tracks(out_path, table)
    if sensors_out is not None:
        write_sensors_json(sensors_out, tracker.learned_sensors())
    stats.update({"track_rows": table.num_rows, "out": str(out_path), "consumer": consumer,
                  "release_class": release.class_id, "sensors": list(release.sensors)})
    return stats


def _track(
    scenario: Path = typer.Argument(..., help="Scenario folder (airpicture-scenario/1)."),
    out: Path = typer.Option(Path("tracks.parquet"), "--out", "-o",
                             help="Where to write tracks.parquet."),
    policy: Path | None = typer.Option(
        None, "--policy", help="Release policy file: write the picture of --consumer."),
    consumer: str | None = typer.Option(
        None, "--consumer", help="Consumer of --policy whose picture to write."),
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

    from airpicture.io.scenario import read_meta
    from airpicture.tracker.config import TrackerConfig, load_config_file
    from airpicture.tracker.run import track_scenario

    if (policy is None) != (consumer is None):
        raise UserError(None, "--policy and --consumer go together")
    for path, option in ((out, "--out"), (stats_json, "--stats-json"),
                         (sensors_out, "--sensors-out")):
        if path is not None:
            check_output_file(path, option)  # before the run, not after it
    flags: dict[str, Any] = {
        "slice_s": slice_s, "late_window_s": late_window_s, "q_cv": q_cv, "q_ct": q_ct,
        "gate_prob": gate_prob, "confirm_hits_psr": confirm_hits_psr,
    }

    def configure(meta: ScenarioMeta) -> TrackerConfig:
        cfg = TrackerConfig.for_scenario(meta)
        if config_file is not None:
            cfg = load_config_file(config_file, cfg)
        return cfg.with_overrides({k: v for k, v in flags.items() if v is not None},
                                  "command line")

    if policy is not None and consumer is not None:
        stats = track_for_consumer(scenario, out, policy, consumer, configure,
                                   progress=not quiet, sensors_out=sensors_out)
    else:
        stats = track_scenario(scenario, out, configure(read_meta(scenario)),
                               progress=not quiet, sensors_out=sensors_out)
    if stats_json is not None:
        slim = {k: v for k, v in stats.items() if k not in ("slice_times_s", "slice_cpu_s")}
        stats_json.write_text(json.dumps(slim, indent=2) + "\n")
    if not quiet:
        _print_summary(scenario, out, stats)


def _print_summary(scenario: Path, out: Path, stats: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"airpicture track {scenario.name}", show_header=False)
    rows = []
    if "consumer" in stats:
        rows.append(("consumer / release class", f"{stats['consumer']} / "
                     f"{stats['release_class']} (sensors {stats['sensors']})"))
    rows += [
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
    """Add `airpicture track` to the app."""
    app.command("track")(_track)
