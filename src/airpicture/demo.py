"""`airpicture demo`: the main job on the embedded default, end to end.

Simulates the `real-paris` scenario (the shipped real-traffic sample seen by simulated sensors),
draws it, tracks it, scores the tracks against truth, writes the report, then serves the live map
until Ctrl-C.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

DEMO_PRESET = "real-paris"


def run_demo(out: Path, serve: bool, port: int, seed: int) -> None:
    """Run every stage of the demo, printing where each result is."""
    from airpicture.metrics.report import write_report
    from airpicture.metrics.score import score_scenario
    from airpicture.sim.picture import draw_scenario
    from airpicture.sim.presets import simulate_preset
    from airpicture.tracker.run import track_scenario

    out.mkdir(parents=True, exist_ok=True)
    scenario = simulate_preset(DEMO_PRESET, out / DEMO_PRESET, seed=seed)
    typer.echo(f"scenario:  {scenario}")
    picture = draw_scenario(scenario, out / f"{DEMO_PRESET}.png")
    typer.echo(f"picture:   {picture.resolve()}")
    tracks_path = out / "tracks.parquet"
    stats = track_scenario(scenario, tracks_path, progress=True)
    typer.echo(f"tracks:    {tracks_path.resolve()}")
    summary = score_scenario(scenario, tracks_path)
    report = write_report(scenario, tracks_path, out / "report", summary)
    (out / "summary.json").write_text(json.dumps(
        {"tracking": stats, "score": summary.to_json()}, indent=2, default=str))
    figures = summary.to_json()
    typer.echo(
        f"score:     GOSPA {figures['gospa_m']:.0f} m, position RMS {figures['rms_pos_m']:.0f} m, "
        f"{figures['id_changes']} identity changes"
    )
    typer.echo(f"report:    {Path(report).resolve()}")
    if serve:
        from airpicture.service.config import load_config
        from airpicture.service.serve import build_pipeline, run, scenario_source

        typer.echo("live map: serving the same scenario, recording it (Ctrl-C stops)")
        config = load_config(None).with_overrides({
            "server": {"port": port},
            "recording": {"path": str(out / "recording.duckdb")},
            "input": {"kind": "scenario", "scenario": str(scenario)},
        })
        run(build_pipeline(config, scenario_source(config)), config.server.host,
            config.server.port, announce=typer.echo)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo-out"), "--out", "-o", help="Folder for every result."),
        serve: bool = typer.Option(True, "--serve/--no-serve",
                                   help="Serve the live map at the end (until Ctrl-C)."),
        port: int = typer.Option(8080, "--port", help="Port of the live map."),
        seed: int = typer.Option(7, "--seed", help="Random seed of the simulated sensors."),
    ) -> None:
        """Simulate, draw, track and score the real-traffic sample, then serve the live map."""
        from airpicture.core.paths import check_output_dir

        run_demo(check_output_dir(out, "--out"), serve, port, seed)
