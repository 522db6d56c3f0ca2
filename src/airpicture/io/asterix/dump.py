"""Records as readable values: one JSON object (or text line) per record, for `asterix dump`.

Every block is parsed with libasterix at the configured edition of its category (the newest
libasterix knows for categories without one); a block that does not parse gives one line
saying so and why, and counts. I048/250 Comm-B registers are decoded.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

from airpicture.io.asterix.blocks import max_blocks_for, split_blocks
from airpicture.io.asterix.comm_b import decode_mb
from airpicture.io.asterix.config import DEFAULT_EDITIONS
from airpicture.io.asterix.fields import peek_sac_sic
from airpicture.io.asterix.layout import editions
from airpicture.io.asterix.libx import parse_block, record_value
from airpicture.io.asterix.transport import Datagram


def _edition(category: int, chosen: dict[int, str]) -> str | None:
    """The edition to dump a category with: chosen, default, else libasterix's newest."""
    if category in chosen:
        return chosen[category]
    known = editions(category)
    return DEFAULT_EDITIONS.get(category, known[-1] if known else None)


def dump_records(
    datagrams: list[Datagram], chosen: dict[int, str] | None = None,
    counts: Counter[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Per record {'t', 'cat', 'edition', 'sac_sic', 'items'}; per bad block {'error'}."""
    chosen = chosen or {}
    counts = Counter() if counts is None else counts
    for t, datagram in datagrams:
        for block in split_blocks(datagram, counts, max_blocks_for(t)):
            cat = block.category
            edition = _edition(cat, chosen)
            if edition is None:
                counts[f"skipped_category:{cat:03d}"] += 1
                yield {"t": t, "cat": cat, "error": "category not known to libasterix",
                       "hex": block.raw.hex()}
                continue
            recs = parse_block(block, edition, counts)
            if recs is None:
                yield {"t": t, "cat": cat, "edition": edition,
                       "error": f"does not parse as CAT{cat:03d} {edition}",
                       "hex": block.raw.hex()}
                continue
            for rec in recs:
                try:
                    items = record_value(rec)
                except Exception as exc:  # a value libasterix parsed but cannot render
                    counts["records_unreadable"] += 1
                    yield {"t": t, "cat": cat, "edition": edition,
                           "error": f"unreadable record: {exc!r}"[:200],
                           "hex": rec.unparse().to_bytes().hex()}
                    continue
                if cat == 48 and isinstance(items.get("250"), list):
                    items["250"] = [decode_mb(r["BDS1"], r["BDS2"], r["MBDATA"])
                                    for r in items["250"]]
                yield {"t": t, "cat": cat, "edition": edition,
                       "sac_sic": peek_sac_sic(block), "items": items}


def as_text(row: dict[str, Any]) -> str:
    """One record on one line: CATnnn edition, then item=value pairs."""
    if "error" in row:
        return f"CAT{row['cat']:03d} ERROR {row['error']}: {row['hex']}"
    items = " ".join(f"{k}={json.dumps(v, separators=(',', ':'))}"
                     for k, v in row["items"].items())
    return f"CAT{row['cat']:03d} {row['edition']} {items}"
