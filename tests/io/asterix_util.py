"""Helpers for the ASTERIX tests: read the shared recordings and their reference decode."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from airpicture.io.asterix.blocks import Block, split_blocks
from airpicture.io.asterix.transport import read_any

PCAP_034_048 = "croatiacontrol-asterix/cat_034_048.pcap"


def blocks_of(path: Path, category: int | None = None) -> list[Block]:
    counts: Counter[str] = Counter()
    out = [b for _, d in read_any(path, counts) for b in split_blocks(d, counts)]
    return [b for b in out if category is None or b.category == category]


_PATTERNS: dict[str, tuple[str, Any]] = {
    "sac": (r"System Area Code: (\d+)", int),
    "sic": (r"System Identification Code: (\d+)", int),
    "tod_s": (r"Time [Oo]f [Dd]ay: \d+ \(([\d.]+) s\)", float),
    "rho_nm": (r"RHO: \d+ \(([\d.]+) NM\)", float),
    "theta_deg": (r"THETA: \d+ \(([\d.]+) deg\)", float),
    "mode3a": (r"Mode-3/A reply code: (\d+)", lambda s: int(s, 8)),
    "fl": (r"FlightLevel: -?\d+ \((-?[\d.]+) FL\)", float),
    "icao24": (r"AircraftAddress: ([0-9A-F]+)", lambda s: int(s, 16)),
    "callsign": (r"target identification: (.*)$", lambda s: s.rstrip()),
    "message_type": (r"Message Type: (\d+)", int),
    "sector_deg": (r"Antenna azimuth: \d+ \(([\d.]+) deg\)", float),
    "typ": (r"TYP: (\d+)", int),
}


def reference_records(text_path: Path) -> list[dict[str, Any]]:
    """The CroatiaControl text decode: per record its category, record hex and values."""
    out: list[dict[str, Any]] = []
    category = -1
    for chunk in re.split(r"^-{10,}\n", text_path.read_text(), flags=re.M):
        m = re.search(r"^Category: (\d+)", chunk, flags=re.M)
        if m and "Data Block" in chunk:
            category = int(m.group(1))
            continue
        if not chunk.startswith("Data Record"):
            continue
        rec: dict[str, Any] = {"cat": category}
        hx = re.search(r"^HexData: ([0-9A-F]+)", chunk, flags=re.M)
        rec["hex"] = hx.group(1) if hx else ""
        for name, (pattern, conv) in _PATTERNS.items():
            found = re.search(pattern, chunk, flags=re.M)
            if found:
                rec[name] = conv(found.group(1))
        out.append(rec)
    return out


def _variation_strategy(v: Any) -> Any:
    """A hypothesis strategy of creation arguments for a libasterix variation class."""
    import asterix.base as ab
    from hypothesis import strategies as st

    if issubclass(v, ab.RuleVariationContextFree):
        return _variation_strategy(v.cv_variation)
    if issubclass(v, ab.RuleVariationDependent):
        return _variation_strategy(v.cv_default_variation)
    if issubclass(v, ab.Element | ab.Group):
        return st.integers(0, (1 << v.cv_bit_size) - 1)
    if issubclass(v, ab.Extended):
        groups = []
        for grp in v.cv_items_list:
            bits = sum(size for it in grp if it is not None for (_, size) in [it])
            groups.append(st.integers(0, (1 << bits) - 1))
        return st.integers(1, len(groups)).flatmap(
            lambda k: st.tuples(*groups[:k]))
    if issubclass(v, ab.Repetitive):
        return st.lists(_variation_strategy(v.cv_variation), min_size=1, max_size=3)
    if issubclass(v, ab.Explicit):
        return st.binary(min_size=1, max_size=6)
    if issubclass(v, ab.Compound):
        subs = {n.cv_name: _variation_strategy(n.cv_rule) for n in v.cv_items_list if n}
        return st.dictionaries(st.sampled_from(sorted(subs)), st.nothing(), max_size=0).flatmap(
            lambda _: st.fixed_dictionaries({}, optional=subs)).filter(bool)
    raise TypeError(v)


def record_strategy(spec: Any, names: list[str] | None = None) -> Any:
    """Strategy of libasterix records (random items, random values) of a category edition."""
    import asterix.base as ab
    from hypothesis import strategies as st

    record = spec.cv_uap.cv_record
    items = {u.cv_non_spare.cv_name: u.cv_non_spare for u in record.cv_items_list
             if issubclass(u, ab.UapItem)}
    chosen = {n: _variation_strategy(items[n].cv_rule) for n in (names or sorted(items))}
    return st.fixed_dictionaries({}, optional=chosen).map(record.create)


def block_bytes(spec: Any, records: list[Any]) -> bytes:
    return bytes(spec.create(records).unparse().to_bytes())
