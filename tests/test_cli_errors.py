"""Bad paths, input that decodes to nothing and out-of-range values: each is one line on
stderr and exit code 2, before any work is done (issue 16, errors and edge cases)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airpicture.cli import main
from airpicture.core.errors import UserError
from airpicture.core.paths import check_input_file, check_output_dir, check_output_file
from airpicture.core.values import check_number


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The real entry point in-process: exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    captured = capsys.readouterr()
    return int(exc.value.code or 0), captured.out, captured.err


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    """Exit code 2 and a last stderr line 'airpicture: error: ...' naming every word."""
    assert code == 2, err
    assert "Traceback" not in err and "╭" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("airpicture: error: "), err
    for word in words:
        assert word in last, (word, last)


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a_file"
    path.write_text("not a folder\n")
    return path


def test_output_path_helper(tmp_path: Path, a_file: Path) -> None:
    assert check_output_file(tmp_path / "new" / "deeper" / "x.json", "--o").name == "x.json"
    assert check_output_dir(tmp_path / "new" / "folder", "--o").name == "folder"
    assert check_output_dir(tmp_path, "--o") == tmp_path
    with pytest.raises(UserError, match="expects a file name"):
        check_output_file(tmp_path, "--o")
    with pytest.raises(UserError, match="expects a folder"):
        check_output_dir(a_file, "--o")
    with pytest.raises(UserError, match="is a file, not a folder"):
        check_output_file(a_file / "x.json", "--o")
    with pytest.raises(UserError, match="is a file, not a folder"):
        check_output_dir(a_file / "sub", "--o")
    with pytest.raises(UserError, match="is a folder"):
        check_input_file(tmp_path)
    with pytest.raises(UserError, match="no such file"):
        check_input_file(tmp_path / "missing")
    assert not (tmp_path / "new").exists(), "checks must not create anything"


def test_unwritable_folder_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with open(locked / "probe", "w"):
            pytest.skip("running as a user who can write anywhere (root)")
    except PermissionError:
        pass
    with pytest.raises(UserError, match="cannot write"):
        check_output_file(locked / "aircraft.json", "--aircraft-json")


def test_sim_out_is_a_file(a_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["sim", "crossing-2", "--duration", "10", "-o", str(a_file)], capsys)
    assert_one_line_error(code, err, "--out", "expects a folder")


def test_sim_crossing_0_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["sim", "crossing-0", "-o", str(tmp_path / "s")], capsys)
    assert_one_line_error(code, err, "crossing-0", "at least 1")
    assert not (tmp_path / "s").exists()


def test_score_out_is_a_file(tmp_path: Path, a_file: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    tracks = tmp_path / "tracks.parquet"
    tracks.write_bytes(b"")  # refused before it is read
    code, _, err = run_cli(["score", str(tmp_path), str(tracks), "-o", str(a_file)], capsys)
    assert_one_line_error(code, err, "--out", "expects a folder")


def test_score_tracks_is_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["score", str(tmp_path), str(tmp_path)], capsys)
    assert_one_line_error(code, err, "is a folder")


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_ingest_aircraft_json_path(where: str, tmp_path: Path, a_file: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path if where == "folder" else a_file / "aircraft.json"
    code, _, err = run_cli(["ingest", str(a_file), "--aircraft-json", str(out)], capsys)
    assert_one_line_error(code, err, "--aircraft-json")


def test_ingest_names_an_unsupported_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["ingest", "http://example.org:8080/data"], capsys)
    assert_one_line_error(code, err, "http://", "unsupported scheme", "tcp://")


def test_asterix_tracks_out_is_a_folder(tmp_path: Path, a_file: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["asterix", "tracks", str(a_file), "--lat", "45", "--lon", "16",
                            "--out", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "--out", "expects a file name")


def test_asterix_tracks_lat_out_of_range(tmp_path: Path, a_file: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["asterix", "tracks", str(a_file), "--lat", "145", "--lon", "16",
                            "--out", str(tmp_path / "t.parquet")], capsys)
    assert_one_line_error(code, err, "--lat", "145")


def test_asterix_unknown_edition_is_refused(shared_data: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    pcap = shared_data / "croatiacontrol-asterix/cat_034_048.pcap"
    code, out, err = run_cli(["asterix", "dump", str(pcap), "--edition", "48=9.99"], capsys)
    assert_one_line_error(code, err, "48=9.99", "1.32")
    assert out == ""
    code, _, err = run_cli(["asterix", "dump", str(pcap), "--edition", "99=1.0"], capsys)
    assert_one_line_error(code, err, "category 99")


CAT048_BYTES = bytes.fromhex("30000dfd0219c9350d4d000000")
"""A CAT048 data block (SAC/SIC, time of day): what a `.ast` file holds."""


@pytest.mark.parametrize(("name", "content"), [
    ("plots.csv", b"t,x,y\n0.0,1.0,2.0\n1.0,1.5,2.5\n"),
    ("radar.ast", CAT048_BYTES * 20),
    ("noise.bin", bytes(range(256)) * 4),
])
def test_decode_of_nothing_suggests_format(name: str, content: bytes, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run_cli(["decode", str(path)], capsys)
    assert_one_line_error(code, err, name, "nothing decoded", "--format")
    assert out == ""


def test_decode_of_a_folder_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["decode", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "is a folder")


def test_asterix_decode_writes_strict_json(shared_data: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "sources.json"
    cfg.write_text(json.dumps({"radars": [  # one radar heard, one configured but silent
        {"sac": 25, "sic": s, "lat": 45.0, "lon": 16.0, "height_m": 200, "sensor_id": i + 1}
        for i, s in enumerate((11, 99))]}))
    for recording in (shared_data / "croatiacontrol-asterix/cat_034_048.pcap",
                      tmp_path / "empty.ast"):
        if not recording.exists():
            recording.write_bytes(b"")
        code, out, _ = run_cli(["asterix", "decode", str(recording), "--config", str(cfg)],
                               capsys)
        assert code == 0

        def no_constant(name: str) -> None:
            raise AssertionError(f"{name} is not JSON")

        doc = json.loads(out, parse_constant=no_constant)
        assert {r["sic"] for r in doc["radars"]} >= {11, 99}


def test_replay_of_something_else(tmp_path: Path, a_file: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["replay", str(a_file), "--port", "0"], capsys)
    assert_one_line_error(code, err, "a_file", "recording")
    code, _, err = run_cli(["replay", str(tmp_path), "--port", "0"], capsys)
    assert_one_line_error(code, err, "is a folder")


@pytest.mark.parametrize("argv", [
    ["demo", "--no-such-flag"],
    ["no-such-command"],
    ["asterix", "tracks", "x.ast"],
    ["decode", "x.bin", "--lat", "north"],
])
def test_usage_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert_one_line_error(code, err, "--help")


def test_bare_group_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["asterix"], capsys)
    assert code == 2 and "Usage: airpicture asterix" in err and "dump" in err


def test_success_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.startswith("airpicture ")


@pytest.mark.parametrize(("argv", "option"), [
    (["asterix", "emit", "{tmp}", "udp://127.0.0.1:9", "--speed", "-1"], "--speed"),
    (["asterix", "emit", "{tmp}", "udp://127.0.0.1:9", "--speed", "nan"], "--speed"),
    (["asterix", "replay", "{file}", "udp://127.0.0.1:9", "--speed", "inf"], "--speed"),
    (["asterix", "listen", "udp://127.0.0.1:0", "--seconds", "-1"], "--seconds"),
    (["asterix", "dump", "{file}", "--limit", "-1"], "--limit"),
    (["asterix", "tracks", "{file}", "--lat", "1", "--lon", "2", "--out", "{tmp}/t.parquet",
      "--t0-utc-s", "nan"], "--t0-utc-s"),
    (["asterix", "tracks", "{file}", "--lat", "1", "--lon", "200", "--out", "{tmp}/t.parquet"],
     "--lon"),
    (["score", "{tmp}", "{file}", "--t-min", "nan"], "--t-min"),
    (["sim", "crossing-1", "-o", "{tmp}/s", "--emit", "asterix", "udp://127.0.0.1:9",
      "--speed", "inf"], "--speed"),
])
def test_numbers_out_of_range_are_refused(argv: list[str], option: str, tmp_path: Path,
                                          a_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    filled = [a.format(tmp=tmp_path, file=a_file) for a in argv]
    code, out, err = run_cli(filled, capsys)
    assert_one_line_error(code, err, option)
    assert out == "" and not (tmp_path / "s").exists()


@given(value=st.floats(allow_nan=True, allow_infinity=True),
       low=st.none() | st.floats(-1e6, 1e6), span=st.floats(0, 1e6))
def test_check_number_accepts_exactly_finite_values_in_range(
        value: float, low: float | None, span: float) -> None:
    high = None if low is None else low + span
    inside = math.isfinite(value) and (low is None or high is None or low <= value <= high)
    try:
        assert check_number(value, "--x", low, high) == value
        accepted = True
    except UserError as exc:
        accepted = False
        assert "--x" in str(exc) and "\n" not in str(exc)
    assert accepted == inside


NAME = st.text(st.characters(whitelist_categories=("Ll", "Nd"), whitelist_characters="-_."),
               min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@given(parts=st.lists(NAME, min_size=1, max_size=3), folder=st.booleans())
def test_a_checked_output_path_can_be_written(parts: list[str], folder: bool) -> None:
    """Whatever a check accepts can be created; whatever it refuses is one line."""
    import tempfile

    with tempfile.TemporaryDirectory() as root:
        base = Path(root)
        (base / "a_file").write_text("x")
        (base / "a_dir").mkdir()
        path = base.joinpath(*parts)
        try:
            (check_output_dir if folder else check_output_file)(path, "--o")
        except UserError as exc:
            assert "\n" not in str(exc)
            return
        if folder:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("written")


@pytest.mark.parametrize("argv", [
    ["serve", "--config", "{tmp}", "--port", "0"],
    ["sim", "--config", "{tmp}", "-o", "{tmp}/s"],
    ["asterix", "decode", "{file}", "--config", "{tmp}"],
])
def test_a_folder_given_as_config_says_so(argv: list[str], tmp_path: Path, a_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([a.format(tmp=tmp_path, file=a_file) for a in argv], capsys)
    assert_one_line_error(code, err, "is a folder")


@pytest.mark.parametrize("option", ["--out", "--stats-json", "--sensors-out"])
def test_track_output_folder_is_refused_before_the_run(
        option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from airpicture.sim.presets import simulate_preset

    scenario = simulate_preset("crossing-1", tmp_path / "sc", duration_s=10.0)

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tracker ran before the output path was checked")

    monkeypatch.setattr("airpicture.tracker.run.track_scenario", must_not_run)
    argv = ["track", str(scenario), "-q", option, str(tmp_path)]
    if option != "--out":
        argv += ["--out", str(tmp_path / "tracks.parquet")]
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, option, "expects a file name")
