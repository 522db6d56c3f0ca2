"""Issue 17 for Mode S inputs: one bad input never stops a feed or the others, and no decoded
value outside its physical range gets through (bad records are counted instead)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from airpicture.sources.decode import DecodeResult, ModeSDecoder, Receiver
from airpicture.sources.framing import FrameBatch
from airpicture.sources.ingest import Ingest, parse_receiver
from airpicture.sources.limits import RANGES, TIME_MAX_S, bad_field
from airpicture.sources.sbs import SbsParser
from airpicture.sources.state import AircraftStates
from airpicture.sources.transports import FeedStatus, parse_source, read_jsonl_frames, run_feed

FRAME = "8d4840d6202cc371c32ce0576098"
HUGE = "1" + "0" * 400
GOOD_T = 1717664319.147975
SBS_HEAD = "MSG,{kind},1,1,4CA2D6,1,2024/06/06,08:58:39.123,2024/06/06,08:58:39.150"


def _sbs(kind: int, alt: str = "", gs: str = "", track: str = "", lat: str = "",
         lon: str = "", vrate: str = "") -> str:
    return (SBS_HEAD.format(kind=kind) + f",,{alt},{gs},{track},{lat},{lon},{vrate},,0,0,0,0")


# --- item 1: malformed JSON-lines times ----------------------------------------------------

@pytest.mark.parametrize("layout", [
    '{{"timestamp":{t},"frame":"{f}"}}',  # jet1090's layout: the block regex
    '{{"frame":"{f}","timestamp":{t}}}',  # other order: json.loads (an int too big for float)
    '{{"timestamp": {t}, "frame": "{f}", "df": "17"}}',  # spaces: the line fast path
])
def test_jsonl_times_out_of_range_are_counted_never_raised_nor_zero(
        tmp_path: Path, layout: str) -> None:
    times = [str(GOOD_T), HUGE, "Infinity", "-Infinity", "1e308", "-5", "NaN", "1e400",
             str(GOOD_T + 1)]
    path = tmp_path / "poisoned.jsonl"
    path.write_text("".join(layout.format(t=t, f=FRAME) + "\n" for t in times))
    frames, bad = read_jsonl_frames(path)
    assert frames.t_s.tolist() == [GOOD_T, GOOD_T + 1]  # none became t = 0
    assert bad["jsonl_bad_time"] == 7 and sum(bad.values()) == 7


def test_decode_command_survives_a_poisoned_jsonl_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from airpicture import cli

    path = tmp_path / "poisoned.jsonl"
    path.write_text(f'{{"frame":"{FRAME}","timestamp":{GOOD_T}}}\n'
                    f'{{"frame":"{FRAME}","timestamp":{HUGE}}}\n')
    monkeypatch.setattr("sys.argv", ["airpicture", "decode", str(path)])
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.err.strip().splitlines()[-1])
    assert summary["bad"] == {"jsonl_bad_time": 1} and summary["frames"] == 1


def test_frames_with_impossible_times_are_counted_by_the_decoder() -> None:
    dec = ModeSDecoder([Receiver("r", 52.0, 4.0)])
    batch = FrameBatch.create([FRAME] * 4, [GOOD_T, math.inf, 1e308, math.nan])
    res = dec.decode(batch)
    assert dec.counters["bad_time"] == 2 and len(res.records) == 2
    assert all(r["timestamp"] <= TIME_MAX_S for r in res.records)


def test_a_feed_that_raises_is_reported_restarted_and_others_keep_running(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception nothing foresaw in one feed: that feed is `failed` with the error, then
    restarted with back-off; a healthy feed beside it keeps delivering."""
    from airpicture.sources import transports

    calls: list[str] = []

    async def fake_once(spec: Any, sink: Any, status: FeedStatus) -> None:
        if spec.where == "bad":
            calls.append("bad")
            raise OverflowError("int too large to convert to float")
        while True:
            status.state = "up"
            status.frames += 1
            await asyncio.sleep(0.01)

    monkeypatch.setattr(transports, "_run_once", fake_once)
    bad_spec = transports.SourceSpec("tcp", "bad", "beast")
    good_spec = transports.SourceSpec("tcp", "good", "beast")
    bad, good = FeedStatus("bad"), FeedStatus("good")

    async def main() -> int:
        tasks = [asyncio.create_task(run_feed(bad_spec, lambda s, i: None, bad, 0.02, 0.05)),
                 asyncio.create_task(run_feed(good_spec, lambda s, i: None, good))]
        await asyncio.sleep(0.3)
        before = good.frames
        await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return good.frames - before

    progress = asyncio.run(main())
    assert bad.state == "failed" and "OverflowError" in bad.last_error
    assert bad.restarts >= 3 and len(calls) in (bad.restarts, bad.restarts + 1)
    assert progress > 0 and good.state == "up"


def test_a_file_feed_that_raises_fails_once_and_is_not_replayed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airpicture.sources import transports

    path = tmp_path / "f.jsonl"
    path.write_text(f'{{"timestamp":{GOOD_T},"frame":"{FRAME}"}}\n')

    def broken(*args: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(transports, "read_file", broken)
    status = FeedStatus("f")
    asyncio.run(run_feed(parse_source(str(path)), lambda s, i: None, status))
    assert status.state == "failed" and "boom" in status.last_error and status.restarts == 0


def test_a_delivery_the_decoder_chokes_on_is_dropped_and_counted_for_its_feed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ingest decodes all feeds in one batch; when that raises, each delivery is decoded
    alone and only the failing one is dropped, on its feed's account."""
    good_file = tmp_path / "good.jsonl"
    good_file.write_text("")
    sbs_file = tmp_path / "x.sbs"
    sbs_file.write_text("")
    specs = [parse_source(str(good_file)), parse_source(str(sbs_file))]
    ing = Ingest(specs, [parse_receiver("r:52.0:4.0", 0)], use_tracker=False)

    process = ing.decoder.process

    def choke(records: list[dict[str, Any]]) -> DecodeResult:
        if any("frame" not in r for r in records):  # the SBS delivery
            raise TypeError("unexpected record")
        return process(records)

    frames = FrameBatch.create([FRAME], [GOOD_T])
    ing.sink(specs[0], frames)
    ing.sink(specs[1], [{"timestamp": GOOD_T, "df": "17", "icao24": "4ca2d6"}])
    monkeypatch.setattr(ing.decoder, "process", choke)
    ing.step()
    sbs_status = ing.statuses[str(sbs_file)]
    assert sbs_status.bad["decode_error"] == 1 and "TypeError" in sbs_status.last_error
    assert ing.statuses[str(good_file)].last_error == ""
    assert ing.decoder.counters["decode_error"] == 1 and ing.decoder.counters["frames"] == 1


# --- item 2: range checks at the boundary --------------------------------------------------

def test_sbs_numbers_outside_their_physical_range_are_bad_records() -> None:
    lines = [_sbs(3, alt="1e300", lat="43.6", lon="1.3"), _sbs(3, alt="200000"),
             _sbs(4, gs="-5"), _sbs(4, gs="99999"), _sbs(4, track="1e20"),
             _sbs(4, vrate="1e6"), _sbs(3, alt=HUGE), _sbs(3, lat="43.6"),
             _sbs(3, alt="36000", lat="43.6", lon="1.3"), _sbs(4, gs="420.5", vrate="-64")]
    parser = SbsParser()
    recs = parser.feed(("\n".join(lines) + "\n").encode())
    assert len(recs) == 2 and recs[0]["altitude"] == 36000
    assert parser.bad["sbs_bad_range"] == 6 and parser.bad["sbs_bad_number"] == 1
    assert parser.bad["sbs_bad_position"] == 1


def test_records_from_any_source_with_absurd_values_are_counted_and_dropped() -> None:
    """The decoder checks every record's values (SBS or rs1090, or any caller's) itself."""
    dec = ModeSDecoder([Receiver("r", 43.6, 1.3)])
    base = {"df": "17", "icao24": "4ca2d6", "source": "sbs", "bds": "05"}
    good = {**base, "timestamp": GOOD_T, "latitude": 43.6, "longitude": 1.3,
            "altitude": 36000}
    bad = [{**good, "altitude": 1e300}, {**good, "timestamp": math.inf},
           {**good, "timestamp": 1e308}, {**good, "latitude": 91.0},
           {**base, "timestamp": GOOD_T, "bds": "09", "groundspeed": 1e9}]
    res = dec.process([good, *bad])
    assert dec.counters["out_of_range"] == 5 and len(res.records) == 1
    assert res.plots.alt_ft.tolist() == [36000.0]
    st = dec.aircraft.by_icao[0x4CA2D6]
    assert st.alt_baro_ft == 36000 and math.isnan(st.gs_kt)


def test_comm_b_values_outside_their_range_are_not_kept() -> None:
    from airpicture.sources.state import AircraftState, _details

    st = AircraftState(1)
    _details({"bds50": {"roll": 1e300, "TAS": 450}, "bds60": {"Mach": math.inf, "IAS": 250},
              "bds40": {"barometric_setting": 5000.0, "selected_mcp": 35000}}, st)
    assert st.tas_kt == 450 and st.ias_kt == 250 and st.nav_altitude_mcp_ft == 35000
    assert math.isnan(st.roll_deg) and math.isnan(st.mach) and math.isnan(st.nav_qnh_hpa)


STATE_RANGES = {"alt_baro_ft": "altitude", "alt_geom_ft": "altitude", "gs_kt": "groundspeed",
                "track_deg": "track", "baro_rate_fpm": "vertical_rate",
                "geom_rate_fpm": "vertical_rate", "lat_deg": "latitude",
                "lon_deg": "longitude", "rssi_dbfs": "rssi", "last_t": "timestamp",
                "pos_t": "timestamp", "nav_qnh_hpa": "barometric_setting",
                "nav_altitude_mcp_ft": "selected_altitude",
                "nav_altitude_fms_ft": "selected_altitude", "roll_deg": "roll",
                "tas_kt": "TAS", "ias_kt": "IAS", "mach": "Mach", "mag_heading_deg": "heading"}
"""AircraftState field -> limits.RANGES key."""


def _within(values: Any, key: str) -> bool:
    arr = np.asarray(values, float)
    lo, hi = RANGES[key]
    return bool((np.isnan(arr) | ((arr >= lo) & (arr <= hi))).all())


def assert_all_in_range(results: list[DecodeResult], states: AircraftStates) -> None:
    """No decoded value anywhere (records, plots, enrichment, per-aircraft state) outside its
    physical range; NaN (unknown) allowed."""
    for res in results:
        for rec in res.records:
            assert bad_field(rec) is None, rec
        p, e = res.plots, res.enrichment
        assert _within(p.t, "timestamp") and np.isfinite(p.t).all()
        assert _within(p.alt_ft, "altitude") and np.isfinite(p.x).all() and np.isfinite(p.y).all()
        assert _within(e.t, "timestamp") and _within(e.alt_ft, "altitude")
        assert ((p.squawk >= -1) & (p.squawk <= 0o7777)).all()
        assert ((e.squawk >= -1) & (e.squawk <= 0o7777)).all()
    for st in states.by_icao.values():
        for name, key in STATE_RANGES.items():
            assert _within(getattr(st, name), key), (name, getattr(st, name))
        assert -1 <= st.squawk <= 0o7777
        assert all(_within(t, "timestamp") for t in st.heard_by.values())
