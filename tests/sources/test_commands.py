"""`airpicture decode` and `airpicture ingest` end to end, and their user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from airpicture import cli


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.argv", ["airpicture", *argv])
    try:
        cli.main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_decode_prints_json_lines(shared_data: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    sample = shared_data / "traffic/raw/sample_dump1090.bin"
    assert _run(["decode", str(sample)], monkeypatch) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 239
    # Without a receiver position only the even/odd pair resolves: one aircraft near Toulouse.
    positions = [line for line in lines if "latitude" in line]
    assert len(positions) == 3 and {p["icao24"] for p in positions} == {"48520a"}
    assert all(43.5 < p["latitude"] < 43.8 for p in positions)
    assert not any("speed_check" in line for line in lines)
    assert {line["df"] for line in lines} == {"0", "4", "5", "11", "16", "17", "20", "21"}
    summary = json.loads(err.splitlines()[-1])
    assert summary["items"] == 239 and summary["format"] == "beast"


def test_decode_sbs_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "feed.sbs"
    path.write_text("MSG,3,1,1,4CA2D6,1,2024/06/06,08:58:39.123,2024/06/06,08:58:39.150,,"
                    "36000,,,43.61234,1.36789,,,0,0,0,0\nnot a line\n")
    assert _run(["decode", str(path)], monkeypatch) == 0
    out, err = capsys.readouterr()
    (rec,) = [json.loads(line) for line in out.splitlines()]
    assert rec["icao24"] == "4ca2d6" and rec["latitude"] == pytest.approx(43.61234)
    assert json.loads(err.splitlines()[-1])["bad"] == {"sbs_bad_kind": 1}


def test_ingest_writes_aircraft_json(shared_data: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    rows = (shared_data / "traffic/raw/full_flight_short.jsonl.gz")
    out_json = tmp_path / "aircraft.json"
    plots_out = tmp_path / "plots.parquet"
    code = _run(["ingest", str(rows), "--receiver", "lfpg:49.0097:2.5479",
                 "--aircraft-json", str(out_json), "--no-tracker", "--plots-out",
                 str(plots_out)], monkeypatch)
    assert code == 0
    stats = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert stats["plots"] == 8324 and stats["aircraft"] == 1
    assert stats["plots_written"] == 8324
    table = pq.read_table(plots_out)
    assert table.num_rows == 8324 and set(table.column("icao24").to_pylist()) == {0x393322}
    assert table.column("t").to_pylist() == sorted(table.column("t").to_pylist())
    doc = json.loads(out_json.read_text())
    (ac,) = doc["aircraft"]
    assert ac["hex"] == "393322" and ac["flight"].strip() == "AFR34ZG"
    assert ac["alt_baro"] == "ground" and abs(ac["lat"] - 43.63) < 0.05  # parked at Toulouse


@pytest.mark.parametrize("argv", [
    ["decode", "/nonexistent.bin"],
    ["decode", "/etc/hostname", "--format", "xml"],
    ["decode", "/etc/hostname", "--lat", "123"],
    ["ingest", "tcp://localhost"],
    ["ingest", "/etc/hostname", "--receiver", "nowhere"],
    ["ingest", "/etc/hostname", "--clock", "gps"],
    ["ingest", "/etc/hostname", "--stale-s", "0"],
])
def test_user_errors_exit_2_with_one_line(argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(argv, monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("airpicture: error:") and "\n" not in err
