"""Thin helpers over libasterix: strict parse of a block, and records as plain Python values."""

from __future__ import annotations

from collections import Counter
from typing import Any

import asterix.base as ab

from airpicture.io.asterix.blocks import Block
from airpicture.io.asterix.layout import (
    MAX_RECORDS_PER_BLOCK,
    LayoutError,
    record_layout,
    spec_class,
    walk_records,
)

BOUND_REASONS = ("empty_fspec", "too_many_records")
"""Walker rejections libasterix itself does not make; checked before its (slow) parse."""


def within_bounds(block: Block, edition: str, counts: Counter[str],
                  max_records: int = MAX_RECORDS_PER_BLOCK) -> bool:
    """False (counted as blocks_rejected:catNNN_<reason>) when the byte walker finds a record
    with an empty FSPEC or more than max_records records: libasterix would take seconds over
    a 64 KB zero-filled block (one "record" per byte). True where the walker cannot say."""
    try:
        layout = record_layout(block.category, edition)
    except (KeyError, LayoutError):
        return True
    walked = walk_records(block.buf, block.start, block.end, layout, (), max_records)
    if isinstance(walked, str) and walked in BOUND_REASONS:
        counts[f"blocks_rejected:cat{block.category:03d}_{walked}"] += 1
        return False
    return True


def parse_block(block: Block, edition: str, counts: Counter[str],
                max_records: int = MAX_RECORDS_PER_BLOCK) -> list[Any] | None:
    """libasterix records of a block, or None (counted) when the edition does not parse it
    or the block is out of bounds (`within_bounds`)."""
    cat = block.category
    try:
        cls = spec_class(cat, edition)
    except KeyError:
        counts[f"blocks_rejected:cat{cat:03d}_unknown_edition"] += 1
        return None
    if not within_bounds(block, edition, counts, max_records):
        return None
    try:
        recs = cls.cv_uap.parse(ab.Bits.from_bytes(block.buf[block.start:block.end]))
    except Exception:  # libasterix raises on a few malformed inputs instead of returning
        recs = ValueError("exception")
    if isinstance(recs, ValueError):
        counts[f"blocks_rejected:cat{cat:03d}_libasterix"] += 1
        return None
    counts[f"blocks:{cat:03d}"] += 1
    counts[f"records:{cat:03d}"] += len(recs)
    return list(recs)


def sub(item: Any, *names: str) -> Any:
    """Nested sub-item by names, or None where an item along the way is absent."""
    for name in names:
        if item is None:
            return None
        item = item.variation.get_item(name)
    return item


def quantity(item: Any, unit: str) -> float:
    """A quantity item's value in `unit` (NaN where the item is absent)."""
    if item is None:
        return float("nan")
    return float(item.variation.content.as_quantity(unit))


def uint(item: Any, default: int = -1) -> int:
    """An item's raw unsigned value (`default` where absent)."""
    return default if item is None else int(item.as_uint())


def variation_value(v: Any) -> Any:
    """A libasterix variation as plain JSON-able values (quantities scaled, strings decoded)."""
    if isinstance(v, ab.Element):
        return _element_value(v)
    if isinstance(v, ab.Group):
        return {i.arg.cv_name: _rule_value(i.arg.arg) for i in v.arg if isinstance(i, ab.Item)}
    if isinstance(v, ab.Extended):
        return {i.arg.cv_name: _rule_value(i.arg.arg)
                for grp in v.arg for i in grp if isinstance(i, ab.Item)}
    if isinstance(v, ab.Repetitive):
        return [variation_value(e) for e in v.arg]
    if isinstance(v, ab.Compound):
        return {name: _rule_value(nsp.arg) for name, nsp in v.arg.items()}
    if isinstance(v, ab.Explicit):
        return v.get_bytes().hex()
    return v.unparse().to_bytes().hex()


def _rule_value(rule: Any) -> Any:
    """A rule variation's value (context-dependent ones as raw hex)."""
    if isinstance(rule, ab.RuleVariationContextFree):
        return variation_value(rule.arg)
    return rule.unparse().to_bytes().hex()


def _element_value(v: Any) -> Any:
    """An element as a quantity, string, signed integer or raw value."""
    rule = v._get_rule()
    if not isinstance(rule, ab.RuleContentContextFree):
        return v.as_uint()
    c = rule._get_content()
    if isinstance(c, ab.ContentQuantity):
        return round(c._as_quantity(), 9)
    if isinstance(c, ab.ContentString):
        return c.as_string()
    if isinstance(c, ab.ContentInteger):
        return c.as_integer()
    return c.as_uint()


def record_value(rec: Any) -> dict[str, Any]:
    """A libasterix record as {item name: value}."""
    return {name: _rule_value(nsp.arg) for name, nsp in rec.items_regular.items()}
