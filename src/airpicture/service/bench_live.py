"""Live equals offline (issue 15): a scenario sent as ASTERIX over UDP into a real `serve`
subprocess, configured as an operator would, its CAT062 read back and scored against truth
beside `airpicture track` on the same scenario.

`python -m airpicture.service.bench_live SCENARIO [--clock data] [--speed 10]` prints the
figures as JSON (GOSPA, RMS, identity changes, tracks, CAT062 track numbers, CST=1 fraction);
`simulate_two_mode_s` makes the issue's kind of scenario (real traffic, two Mode S radars
with 8 s and 5 s scans).  `tests/service/test_live_acceptance.py` runs it on 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np


def simulate_two_mode_s(out: Path, duration_s: float, seed: int = 7) -> Path:
    """The shipped real-traffic sample around Paris seen by two Mode S radars (8 s at
    Roissy-CDG, 5 s at Orly), simulated into the scenario folder `out`."""
    from airpicture.sim.commands import simulate_config

    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = out.parent / f"{out.name}-two-mode-s.json"
    cfg.write_text(json.dumps({
        "name": "paris-two-mode-s", "seed": seed, "origin": {"lat": 48.95, "lon": 2.45},
        "duration_s": duration_s, "targets": {"kind": "real"},
        "sensors": [
            {"id": 1, "kind": "ssr", "x": 7000.0, "y": 6600.0, "period_s": 8.0, "pd": 0.97,
             "sigma_range_m": 30.0, "sigma_azimuth_deg": 0.06, "max_range_m": 250000.0,
             "name": "Mode S CDG", "mode_s": True},
            {"id": 2, "kind": "ssr", "x": -5000.0, "y": -25000.0, "period_s": 5.0,
             "pd": 0.97, "sigma_range_m": 30.0, "sigma_azimuth_deg": 0.06,
             "max_range_m": 250000.0, "name": "Mode S Orly", "mode_s": True,
             "start_azimuth_deg": 90.0}]}))
    return simulate_config(cfg, out, None, None)


def radars_json(scenario: Path, path: Path) -> Path:
    """The operator's ASTERIX configuration of the scenario's radars in today's format (sites
    and accuracy by SAC/SIC as `asterix emit` sends them; no scan periods, no pd)."""
    from airpicture.io.asterix.config import AsterixConfig
    from airpicture.io.scenario import read_meta

    meta = read_meta(scenario)
    cfg = AsterixConfig.from_scenario(meta)
    path.write_text(json.dumps({
        "origin": {"lat": meta.origin_lat_deg, "lon": meta.origin_lon_deg},
        "radars": [{"sac": r.sac, "sic": r.sic, "lat": r.lat_deg, "lon": r.lon_deg,
                    "sensor_id": r.ssr_sensor_id, "sigma_range_m": r.sigma_range_m,
                    "sigma_azimuth_deg": r.sigma_azimuth_deg, "name": r.name}
                   for r in cfg.radars.values()]}, indent=1))
    return path


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def serve_cat062(scenario: Path, work: Path, clock: str = "data", speed: float = 10.0
                 ) -> tuple[Path, float, dict[str, Any]]:
    """Run `airpicture serve` with the operator's ASTERIX configuration (a UDP source,
    radars.json, `clock`, a CAT062 file output) and send the scenario to it at `speed`.
    Returns the CAT062 file, t0 (UTC s of scenario time 0) and, from the end of the run,
    /api/feeds with /api/health under "health" and /api/sensors' list under "sensors"."""
    from airpicture.io.asterix.emit import emit_scenario
    from airpicture.io.scenario import read_meta

    udp, http = _free_port(socket.SOCK_DGRAM), _free_port(socket.SOCK_STREAM)
    out = work / "out.ast"
    config = work / "serve.toml"
    config.write_text(f"""
[server]
port = {http}
[input]
kind = "asterix"
sources = ["udp://127.0.0.1:{udp}"]
asterix_config = "{radars_json(scenario, work / 'radars.json')}"
clock = "{clock}"
[[output.cat062]]
url = "file://{out}"
""")
    src = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(src), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.Popen([sys.executable, "-m", "airpicture", "serve", "--config",
                             str(config)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{http}"
    duration_s = read_meta(scenario).duration_s
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if _get(base + "/api/feeds")["feeds"][0]["state"] == "listening":
                    break
            except (OSError, LookupError):
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"airpicture serve exited ({proc.returncode})")
            time.sleep(0.2)
        t0 = float(int(time.time()))
        emit_scenario(scenario, f"udp://127.0.0.1:{udp}", speed, t0_utc_s=t0)
        deadline = time.monotonic() + 10  # the last ticks' CAT062
        while (time.monotonic() < deadline
               and _get(base + "/api/health")["t"] < t0 + duration_s - 2):
            time.sleep(0.1)
        feeds: dict[str, Any] = _get(base + "/api/feeds")
        feeds["health"] = _get(base + "/api/health")
        feeds["sensors"] = _get(base + "/api/sensors")["sensors"]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out, t0, feeds


def score_cat062(scenario: Path, path: Path, t0_utc_s: float) -> dict[str, Any]:
    """A CAT062 file scored against the scenario's truth, with its track numbers and the
    fraction of confirmed, not ended records that are coasting (CST=1)."""
    from airpicture.io.asterix import cat062
    from airpicture.io.asterix.blocks import max_blocks_for, split_blocks
    from airpicture.io.scenario import read_meta
    from airpicture.metrics.score import score_scenario

    counts: Counter[str] = Counter()
    blocks = split_blocks(path.read_bytes(), counts, max_blocks_for(None))  # a file
    records = cat062.decode(blocks, counts)
    table = cat062.tracks_table(records, read_meta(scenario).frame, t0_utc_s)
    shown = [r for r in records if r.cnf == 0 and r.tse == 0]
    return {**_figures(score_scenario(scenario, table)),
            "cat062_track_numbers": len({r.track_number for r in records}),
            "cat062_records": len(records),
            "cst_fraction": float(np.mean([r.cst for r in shown])) if shown else None}


def _figures(summary: Any) -> dict[str, Any]:
    """The figures compared, from a ScoreSummary."""
    return {"gospa_m": summary.gospa_m, "rms_pos_m": summary.rms_pos_m,
            "id_changes": summary.id_changes, "n_tracks": summary.n_tracks,
            "missed_per_time": summary.mean_missed_per_time,
            "false_per_time": summary.mean_false_per_time}


def live_vs_offline(scenario: Path, work: Path, clock: str = "data",
                    speed: float = 10.0) -> dict[str, Any]:
    """`airpicture track`'s figures and the live service's on the same scenario."""
    from airpicture.metrics.score import score_scenario
    from airpicture.tracker.run import track_scenario

    track_scenario(scenario, work / "tracks.parquet")
    offline = _figures(score_scenario(scenario, work / "tracks.parquet"))
    out, t0, feeds = serve_cat062(scenario, work, clock, speed)
    return {"offline": offline, "live": score_cat062(scenario, out, t0), "clock": clock,
            "speed": speed, "feeds": feeds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", type=Path, nargs="?", help="scenario folder (default: "
                        "20 minutes of two Mode S radars, simulated into a temporary folder)")
    parser.add_argument("--clock", default="data", choices=["data", "wall"])
    parser.add_argument("--speed", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        scenario = args.scenario or simulate_two_mode_s(work / "scenario", 1200.0)
        result = live_vs_offline(scenario, work, args.clock, args.speed)
    result.pop("feeds")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
