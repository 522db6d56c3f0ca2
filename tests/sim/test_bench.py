"""The simulator's bench rows."""

from __future__ import annotations

from airpicture.sim.bench import run_bench


def test_quick_bench_rows() -> None:
    rows = run_bench(quick=True)
    assert len(rows) == 1
    row = rows[0]
    assert set(row) == {"name", "value", "unit", "peer", "peer_value", "ratio", "notes"}
    assert row["unit"] == "s" and row["value"] > 0
    assert int(row["notes"].split()[0]) > 1000
