"""The ASTERIX benchmark runs and reports the agreed row keys (figures are not asserted)."""

from __future__ import annotations

from airpicture.io.asterix.bench import run_bench


def test_run_bench_quick_rows():
    rows = run_bench(quick=True)
    names = [r["name"] for r in rows]
    assert "cat048 decode, synthetic Mode S" in names and "cat062 encode" in names
    for r in rows:
        assert set(r) == {"name", "value", "unit", "peer", "peer_value", "ratio", "notes"}
        assert r["value"] > 0
    peer_rows = [r for r in rows if r["peer"] == "libasterix"]
    assert peer_rows and all(r["peer_value"] > 0 and r["ratio"] > 0 for r in peer_rows)
