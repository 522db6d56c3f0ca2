"""`airpicture decode` prints CRC-verified addresses only (as readsb); phantoms from bit
errors come out only with --unverified, flagged."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from airpicture import cli
from airpicture.sources.framing import BeastParser, mode_s_remainder

DF17 = bytes.fromhex("8d4840d6202cc371c32ce0576098")


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> tuple[list[dict[str, object]], dict[str, int]]:
    monkeypatch.setattr("sys.argv", ["airpicture", *argv])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert not exc.value.code
    out, err = capsys.readouterr()
    return [json.loads(line) for line in out.splitlines()], json.loads(err.splitlines()[-1])


def test_remainder_is_zero_for_intact_messages_and_large_for_address_errors(
        shared_data: Path) -> None:
    assert mode_s_remainder(DF17) == 0
    frames = BeastParser().feed((shared_data / "traffic/raw/sample_dump1090.bin").read_bytes())
    df11 = [bytes.fromhex(h) for h in frames.hex if int(h[:2], 16) >> 3 == 11]
    assert df11 and all(mode_s_remainder(m) < 0x80 for m in df11)  # the interrogator code
    for msg in df11[:5]:
        for bit in range(32):  # DF, CA, AA: an error anywhere there makes another address
            damaged = bytearray(msg)
            damaged[bit // 8] ^= 0x80 >> (bit % 8)
            assert mode_s_remainder(bytes(damaged)) >= 0x80, bit


def _damaged(shared_data: Path, path: Path) -> set[str]:
    """The sample, four times over, one random bit flipped in every frame (AVR text); the
    addresses of the clean sample."""
    frames = BeastParser().feed((shared_data / "traffic/raw/sample_dump1090.bin").read_bytes())
    rng = random.Random(7)
    lines = []
    for _ in range(4):
        for h in frames.hex:
            msg = bytearray(bytes.fromhex(h))
            bit = rng.randrange(8 * len(msg))
            msg[bit // 8] ^= 0x80 >> (bit % 8)
            lines.append(f"*{msg.hex()};")
    path.write_text("\n".join(lines) + "\n")
    return set(frames.hex)


def test_damaged_stream_prints_no_phantom_addresses(
        shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    clean, _ = _run(["decode", str(shared_data / "traffic/raw/sample_dump1090.bin")],
                    monkeypatch, capsys)
    real = {str(r["icao24"]) for r in clean}
    assert len(clean) == 239 and len(real) == 4  # an intact stream: nothing is held back
    damaged = tmp_path / "damaged.avr"
    _damaged(shared_data, damaged)
    shown, summary = _run(["decode", str(damaged)], monkeypatch, capsys)
    printed = {str(r["icao24"]) for r in shown}
    assert printed and printed <= real, sorted(printed - real)
    assert summary["unverified_hidden"] > 0 and not any("address_verified" in r for r in shown)
    every, summary_all = _run(["decode", str(damaged), "--unverified"], monkeypatch, capsys)
    phantoms = {str(r["icao24"]) for r in every} - real
    assert len(phantoms) > 50  # what `decode` printed before, unflagged
    flagged = [r for r in every if r.get("address_verified") is False]
    assert len(flagged) == summary_all["unverified_printed"] == summary["unverified_hidden"]
    assert {str(r["icao24"]) for r in flagged} >= phantoms
    assert len(every) == len(shown) + len(flagged)
