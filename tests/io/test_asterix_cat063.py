"""CAT063 sensor status and CAT065 SDPS status from our encoders: libasterix and tshark read
the values we meant, in every edition libasterix has."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.io.asterix import cat063, cat065
from airpicture.io.asterix.blocks import Block, split_blocks
from airpicture.io.asterix.layout import editions
from airpicture.io.asterix.transport import write_pcap

CON = cat063.SensorCon


def one_block(data: bytes) -> Block:
    counts: Counter[str] = Counter()
    blocks = split_blocks(data, counts)
    assert len(blocks) == 1 and not counts and len(blocks[0].raw) == len(data)
    return blocks[0]


reports = st.builds(
    cat063.SensorReport, sac=st.integers(0, 255), sic=st.integers(0, 255),
    con=st.sampled_from(list(CON)), psr_nogo=st.booleans(), ssr_nogo=st.booleans(),
    mds_nogo=st.booleans(), ads_nogo=st.booleans(), mlt_nogo=st.booleans(),
    no_plots=st.booleans())


@settings(max_examples=60, deadline=None)
@given(rs=st.lists(reports, min_size=1, max_size=8), t=st.floats(0, 2e9),
       edition=st.sampled_from(editions(63)))
def test_cat063_round_trips_in_libasterix(rs: list[cat063.SensorReport], t: float,
                                          edition: str) -> None:
    block = one_block(cat063.encode_block(rs, 12, 34, 5, t, edition))
    recs = cat063.decode_block(block, edition)
    assert len(recs) == len(rs)
    for r, rec in zip(rs, recs, strict=True):
        assert rec["010"] == {"SAC": 12, "SIC": 34} and rec["015"] == 5
        assert rec["050"] == {"SAC": r.sac, "SIC": r.sic}
        assert rec["030"] == pytest.approx(cat063.time_of_day(t)) and rec["030"] < 86400
        s = rec["060"]
        assert (s["CON"], s["PSR"], s["SSR"], s["MDS"], s["ADS"], s["MLT"], s["NPW"]) == (
            r.con, r.psr_nogo, r.ssr_nogo, r.mds_nogo, r.ads_nogo, r.mlt_nogo, r.no_plots)


@pytest.mark.parametrize("edition", editions(65))
def test_cat065_messages_in_libasterix(edition: str) -> None:
    eob = cat065.decode_block(one_block(cat065.end_of_batch(1, 2, 3, 86399.999, 0, edition)),
                              edition)
    assert eob == [{"010": {"SAC": 1, "SIC": 2}, "000": 2, "015": 3, "030": 0.0, "020": 0}]
    status = cat065.decode_block(one_block(cat065.sdps_status(
        1, 2, 3, 3600.5, cat065.SdpsNogo.DEGRADED, overload=True, edition=edition)),
        edition)
    assert status[0]["000"] == 1 and status[0]["030"] == 3600.5
    assert status[0]["040"] == {"NOGO": 1, "OVL": 1, "TSV": 0, "PSS": 0, "STTN": 0}
    report = cat065.decode_block(one_block(cat065.service_status_report(
        1, 2, 3, 10.0, cat065.ServiceReport.DEGRADATION_ENDED, edition)),
        edition)
    assert report[0]["000"] == 3 and report[0]["050"] == 2


def test_tshark_dissects_our_cat063_and_cat065(tmp_path: Path) -> None:
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark not installed (make debs-test installs it)")
    rs = [cat063.SensorReport(0, 3, CON.NOT_CONNECTED, psr_nogo=True, no_plots=True),
          cat063.SensorReport(7, 11, CON.OPERATIONAL),
          cat063.SensorReport(0, 200, CON.DEGRADED, ads_nogo=True)]
    datagrams = [cat063.encode_block(rs, 9, 4, 1, 45296.25),
                 cat065.end_of_batch(9, 4, 1, 45296.25),
                 cat065.sdps_status(9, 4, 1, 45296.25, cat065.SdpsNogo.DEGRADED),
                 cat065.service_status_report(9, 4, 1, 45296.25,
                                              cat065.ServiceReport.DEGRADATION)]
    pcap = write_pcap(tmp_path / "status.pcap", datagrams, port=8600)
    out = subprocess.run([tshark, "-r", str(pcap), "-d", "udp.port==8600,asterix", "-T", "json"],
                         capture_output=True, text=True, timeout=120, check=True)
    text = out.stdout
    assert len(json.loads(text)) == 4
    assert "_ws.malformed" not in text and "_ws.expert" not in text

    def values(field: str) -> list[str]:
        import re

        return re.findall(rf'"asterix\.{field}": "([^"]*)"', text)

    assert [int(v, 0) for v in values("063_050_SIC")] == [3, 11, 200]
    assert [int(v, 0) for v in values("063_050_SAC")] == [0, 7, 0]
    assert [int(v) for v in values("063_060_CON")] == [3, 0, 1]
    assert [int(v) for v in values("063_060_PSR")] == [1, 0, 0]
    assert [int(v) for v in values("063_060_ADS")] == [0, 0, 1]
    assert [int(v) for v in values("063_060_NPW")] == [1, 0, 0]
    assert [float(v) for v in values("063_030_VALUE")] == [45296.25] * 3
    assert [int(v, 0) for v in values("063_010_SIC")] == [4] * 3
    assert [int(v) for v in values("065_000_VALUE")] == [2, 1, 3]
    assert [int(v) for v in values("065_020_VALUE")] == [0]
    assert [int(v) for v in values("065_040_NOGO")] == [1]
    assert [int(v) for v in values("065_050_VALUE")] == [1]
    assert [float(v) for v in values("065_030_VALUE")] == [45296.25] * 3
