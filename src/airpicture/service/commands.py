"""CLI commands of this part (registered by airpicture.cli): serve, replay, serve-config."""

from __future__ import annotations

from pathlib import Path

import typer

from airpicture.core.paths import check_input_file, check_output_file


def _overrides(host: str | None, port: int | None, record: Path | None,
               speed: float | None) -> dict[str, dict[str, object]]:
    return {"server": {"host": host, "port": port},
            "recording": {"path": str(record) if record else None},
            "input": {"speed": speed}}


def serve(
    config: Path = typer.Option(None, "--config", help="TOML or YAML (.yaml, .yml) "
                                "configuration file (see `airpicture serve-config` for every "
                                "key)."),
    host: str = typer.Option(None, "--host", help="Address to listen on [127.0.0.1]."),
    port: int = typer.Option(None, "--port", help="Port to listen on [8080]; 0 picks one."),
    record: Path = typer.Option(None, "--record", help="Record plots and tracks to this "
                                "DuckDB file."),
    speed: float = typer.Option(None, "--speed", help="Replay speed of the input [1.0]."),
    scenario: Path = typer.Option(None, "--scenario", help="Replay this scenario folder "
                                  "instead of the embedded default."),
    cat062: list[str] = typer.Option(None, "--cat062", help="Also send CAT062 (with CAT063, "
                                     "CAT065) to this URL: udp://HOST:PORT, "
                                     "udp://GROUP:PORT?iface=ADDR or file:///PATH.ast; "
                                     "repeatable; the other keys of [[output.cat062]] take "
                                     "their defaults."),
) -> None:
    """Run the live air picture: web map, WebSocket and REST APIs, until Ctrl-C."""
    from airpicture.service.config import load_config
    from airpicture.service.serve import build_pipeline, class_factory, run, scenario_source

    if config is not None:
        check_input_file(config)
    if record is not None:
        check_output_file(record, "--record")
    cfg = load_config(config).with_overrides(_overrides(host, port, record, speed))
    if cat062:
        cfg = cfg.with_overrides({"output": {"cat062": [{"url": u} for u in cat062]}})
    if scenario is not None:
        cfg = cfg.with_overrides({"input": {"kind": "scenario", "scenario": str(scenario)}})
    classes = class_factory(cfg)  # [policy]: one tracker per release class
    pipeline = build_pipeline(cfg, scenario_source(cfg, classes) if classes else
                              scenario_source(cfg), classes=classes)
    run(pipeline, cfg.server.host, cfg.server.port, announce=typer.echo)


def replay(
    recording: Path = typer.Argument(..., help="DuckDB recording made by `serve --record`."),
    speed: float = typer.Option(1.0, "--speed", help="Replay speed (10: ten times faster)."),
    config: Path = typer.Option(None, "--config", help="TOML or YAML (.yaml, .yml) "
                                "configuration file."),
    host: str = typer.Option(None, "--host", help="Address to listen on [127.0.0.1]."),
    port: int = typer.Option(None, "--port", help="Port to listen on [8080]; 0 picks one."),
    loop: bool = typer.Option(False, "--loop/--no-loop", help="Start again at the end "
                              "(without it the replay ends: tracks age out, /api/health "
                              "says 'ended')."),
    session: int = typer.Option(None, "--session", help="Recording session to replay "
                                "(each `serve --record` run into the file is one; "
                                "default: the latest)."),
) -> None:
    """Replay a recording through the service (map, APIs), until Ctrl-C."""
    from airpicture.service.config import load_config
    from airpicture.service.serve import replay_pipeline, run

    check_input_file(recording)
    if config is not None:
        check_input_file(config)
    cfg = load_config(config).with_overrides(_overrides(host, port, None, speed))
    pipeline = replay_pipeline(cfg, recording, loop, session)
    run(pipeline, cfg.server.host, cfg.server.port, announce=typer.echo)


def serve_config(
    fmt: str = typer.Option("toml", "--format", help="toml or yaml: the same keys, defaults "
                            "and comments."),
) -> None:
    """Print the documented example configuration of `airpicture serve`."""
    from airpicture.service.config import example_config_text

    typer.echo(example_config_text(fmt), nl=False)


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `airpicture` app."""
    app.command("serve")(serve)
    app.command("replay")(replay)
    app.command("serve-config")(serve_config)
