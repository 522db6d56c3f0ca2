"""SBS lines from readsb / dump1090-fa with --gnss: an "H" suffix marks geometric (HAE)
altitude and vertical rate; they are parsed, and kept apart from barometric ones."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from airpicture.sources.decode import ModeSDecoder, Receiver
from airpicture.sources.sbs import SbsParser, parse_sbs_line

TLS = Receiver("tls", 43.6293, 1.3638, sensor_id=1)
HEAD = "MSG,{kind},1,1,4CA2D6,1,2024/06/06,08:58:{s:02d}.000,2024/06/06,08:58:{s:02d}.000,"


def _line(kind: int, s: int, alt: str = "", gs: str = "", track: str = "", lat: str = "",
          lon: str = "", rate: str = "") -> str:
    return (HEAD.format(kind=kind, s=s) + f",{alt},{gs},{track},{lat},{lon},{rate},,0,0,0,0\n")


def test_h_suffixed_altitude_and_rate_are_parsed_as_geometric() -> None:
    rec = parse_sbs_line(_line(3, 39, alt="37025H", lat="43.7", lon="1.4"))
    assert rec["altitude"] == 37025 and rec["altitude_src"] == "GNSS"
    rate = parse_sbs_line(_line(4, 40, gs="420.5", track="91.2", rate="-640H"))
    assert rate["vertical_rate"] == -640.0 and rate["vrate_src"] == "GNSS"
    baro = parse_sbs_line(_line(4, 40, gs="420.5", track="91.2", rate="-640"))
    assert baro["vrate_src"] == "barometric" and "altitude_src" not in baro
    assert "altitude_src" not in parse_sbs_line(_line(3, 39, alt="36000", lat="43.7", lon="1.4"))


def test_a_gnss_stream_is_not_counted_bad_and_keeps_both_altitudes_apart() -> None:
    lines = (_line(3, 39, alt="36000", lat="43.7", lon="1.4")      # barometric
             + _line(3, 40, alt="37025H", lat="43.7", lon="1.41")  # geometric (HAE)
             + _line(4, 41, gs="420.5", track="91.2", rate="-640H")
             + _line(4, 42, gs="420.5", track="91.2", rate="-512")
             + _line(5, 43, alt="36975H"))
    parser = SbsParser()
    records = parser.feed(lines.encode())
    assert len(records) == 5 and not parser.bad
    dec = ModeSDecoder([TLS])
    res = dec.process(records)
    # Plots carry barometric altitude only: the HAE one is not mixed in.
    assert res.plots.alt_ft[0] == 36000.0 and math.isnan(res.plots.alt_ft[1])
    state = dec.aircraft.by_icao[0x4CA2D6]
    assert state.alt_baro_ft == 36000.0 and state.alt_geom_ft == 36975.0
    assert state.geom_rate_fpm == -640.0 and state.baro_rate_fpm == -512.0


@settings(max_examples=200, deadline=None)
@given(alt=st.integers(-1000, 50000), rate=st.integers(-6000, 6000), h_alt=st.booleans(),
       h_rate=st.booleans())
def test_suffix_decides_the_kind_never_the_value(alt: int, rate: int, h_alt: bool,
                                                 h_rate: bool) -> None:
    rec = parse_sbs_line(_line(3, 39, alt=f"{alt}{'H' * h_alt}", lat="43.7", lon="1.4",
                               rate=f"{rate}{'H' * h_rate}"))
    assert rec["altitude"] == alt and rec["vertical_rate"] == rate
    assert (rec.get("altitude_src") == "GNSS") == h_alt
    assert rec["vrate_src"] == ("GNSS" if h_rate else "barometric")
    assert np.isfinite(rec["altitude"])
