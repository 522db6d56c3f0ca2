"""`airpicture score`: summary table, summary.json and report.html; bad input exits 2."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airpicture.metrics.report import write_report
from airpicture.metrics.score import score_scenario
from tests.metrics.helpers import static_truth, tracks_table, write_folder

TIMES = [float(t) for t in range(20)]


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    truth = static_truth({1: (0.0, 0.0), 2: (20_000.0, 5_000.0)}, TIMES)
    tracks = tracks_table(
        [(t, 1, 100.0, 0.0, 0.0, 0.0, t >= 3) for t in TIMES]
        + [(t, 2, 20_000.0, 5_300.0, 1.0, 0.0, True) for t in TIMES if t >= 8]
    ).sort_by("t")
    return write_folder(tmp_path / "sc", truth, [0.0, 1.0, 5.0], [1, -1, 2], tracks)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "airpicture", "score", *args],
                          capture_output=True, text=True)


def _run_here(args: list[str], capsys: pytest.CaptureFixture[str],
              monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """The CLI entry point in this process (fast): exit code, stdout, stderr."""
    from airpicture.cli import main

    monkeypatch.setattr(sys, "argv", ["airpicture", "score", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_score_writes_summary_and_report(scenario: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run(str(scenario), str(scenario / "tracks.parquet"), "-o", str(out),
                  "--t-min", "2", "--step", "2")
    assert result.returncode == 0, result.stderr
    assert "GOSPA" in result.stdout and "SIAP completeness" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_times"] == 9 and summary["t_min_s"] == 2.0
    # Track 1 (100 m off) at t = 4..18, track 2 (300 m off) at t = 8..18.
    assert summary["rms_pos_m"] == pytest.approx(((8 * 100.0**2 + 6 * 300.0**2) / 14) ** 0.5)
    page = (out / "report.html").read_text()
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(images) == 3
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    for name in ("gospa.png", "map.png", "errors.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG")


def test_default_out_dir_is_beside_tracks(
    scenario: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = _run_here([str(scenario), str(scenario / "tracks.parquet")], capsys,
                             monkeypatch)
    assert code == 0, err
    assert (scenario / "summary.json").exists() and (scenario / "report.html").exists()


@pytest.mark.parametrize("problem", ["missing-tracks", "missing-column", "no-scenario", "step"])
def test_bad_input_exits_2_with_one_line(
    scenario: Path, tmp_path: Path, problem: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracks = scenario / "tracks.parquet"
    args = [str(scenario), str(tracks)]
    if problem == "missing-tracks":
        args[1] = str(tmp_path / "none.parquet")
    elif problem == "missing-column":
        import pyarrow.parquet as pq

        pq.write_table(pq.read_table(tracks).drop_columns(["vx"]), tmp_path / "bad.parquet")
        args[1] = str(tmp_path / "bad.parquet")
    elif problem == "no-scenario":
        args[0] = str(tmp_path / "nowhere")
    else:
        args += ["--step", "-1"]
    code, _, err = _run_here(args, capsys, monkeypatch)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err


def test_report_recomputes_details_when_missing(scenario: Path, tmp_path: Path) -> None:
    summary = score_scenario(scenario, scenario / "tracks.parquet")
    summary.details = None
    page = write_report(scenario, scenario / "tracks.parquet", tmp_path / "r", summary)
    assert page.name == "report.html" and "SIAP ambiguity" in page.read_text()


def test_map_tracks_pass_the_egress_gate(scenario: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from airpicture.core.tracks import TrackTable
    from airpicture.policy.egress import Consumer, Egress

    seen: list[int] = []
    release = Egress.tracks

    def spy(self: Egress, tracks: TrackTable, consumer: Consumer) -> TrackTable:
        seen.append(len(tracks))
        return release(self, tracks, consumer)

    monkeypatch.setattr(Egress, "tracks", spy)
    summary = score_scenario(scenario, scenario / "tracks.parquet")
    write_report(scenario, scenario / "tracks.parquet", tmp_path / "r", summary)
    assert seen == [17 + 12]  # the confirmed rows of both tracks
