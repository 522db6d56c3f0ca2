"""CLI commands of this part (registered by airpicture.cli): `airpicture sim`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from airpicture.core.errors import UserError
from airpicture.core.paths import check_input_file, check_output_dir, check_output_file
from airpicture.core.schema import FRAME_LOCAL_ENU, SCENARIO_FORMAT
from airpicture.core.values import check_number


def simulate_config(config: Path, out_dir: Path, seed: int | None,
                    duration_s: float | None) -> Path:
    """Simulate a scenario.json the user wrote (sensors plus a "targets" object) into out_dir."""
    from airpicture.io.scenario import ScenarioMeta
    from airpicture.sim.build import simulate_meta

    check_input_file(config)
    try:
        obj = json.loads(config.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(config, f"invalid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise UserError(config, "expected a JSON object")
    obj.setdefault("format", SCENARIO_FORMAT)
    obj.setdefault("frame", FRAME_LOCAL_ENU)
    obj.setdefault("duration_s", 0.0)
    targets = obj.get("targets")
    if isinstance(targets, dict) and isinstance(targets.get("path"), str):
        targets["path"] = str(config.parent / targets["path"])  # relative to the config file
    if seed is not None:
        obj["seed"] = seed
    if duration_s is not None:
        obj["duration_s"] = duration_s
    meta = ScenarioMeta.from_json(obj, str(config))
    return simulate_meta(meta, out_dir, where=str(config))


def emit(scenario_dir: Path, url: str, speed: float) -> None:
    """Send the scenario's plots as ASTERIX to url (the io.asterix part provides the sender)."""
    try:
        from airpicture.io.asterix.emit import emit_scenario
    except ImportError:
        raise UserError(None, "--emit asterix is not available in this installation "
                              "(airpicture.io.asterix.emit missing)") from None
    emit_scenario(scenario_dir, url, speed)


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `airpicture` app."""

    @app.command("sim")
    def sim(
        preset: str | None = typer.Argument(
            None, help="Preset: crossing-N, multi-sensor-N (N targets) or real-paris. "
                       "Leave out with --config."),
        out: Path = typer.Option(..., "--out", "-o", help="Scenario folder to write."),
        seed: int | None = typer.Option(None, "--seed",
                                        help="Random seed (default 7, or the config's seed)."),
        duration: float | None = typer.Option(
            None, "--duration", help="Duration in seconds (default: the preset's or config's)."),
        config: Path | None = typer.Option(
            None, "--config", help="Simulate this scenario.json (sensors and a 'targets' "
                                   "object) instead of a preset."),
        picture: Path | None = typer.Option(
            None, "--picture", help="Also draw truth and plots to this PNG."),
        emit_to: tuple[str, str] | None = typer.Option(
            None, "--emit", help="After simulating, send the plots: --emit asterix URL "
                                 "(e.g. udp://127.0.0.1:8600)."),
        speed: float = typer.Option(1.0, "--speed",
                                    help="Replay speed factor for --emit (1 = real time)."),
    ) -> None:
        """Simulate a scenario (truth and sensor plots) into an airpicture-scenario/1 folder."""
        from airpicture.sim.presets import simulate_preset

        if emit_to is not None and emit_to[0] != "asterix":
            raise UserError(None, f"--emit: unknown format {emit_to[0]!r}, expected 'asterix'")
        check_output_dir(out, "--out")
        check_number(speed, "--speed", 0)
        if picture is not None:
            check_output_file(picture, "--picture")
        started = time.perf_counter()
        if config is not None:
            if preset is not None:
                raise UserError(None, "give either a PRESET or --config, not both")
            folder = simulate_config(config, out, seed, duration)
        elif preset is None:
            raise UserError(None, "give a PRESET (crossing-N, multi-sensor-N, real-paris) "
                                  "or --config scenario.json")
        else:
            folder = simulate_preset(preset, out, 7 if seed is None else seed, duration)
        typer.echo(f"scenario: {folder} ({time.perf_counter() - started:.2f} s)")
        if picture is not None:
            from airpicture.sim.picture import draw_scenario

            typer.echo(f"picture:  {draw_scenario(folder, picture).resolve()}")
        if emit_to is not None:
            emit(folder, emit_to[1], speed)
