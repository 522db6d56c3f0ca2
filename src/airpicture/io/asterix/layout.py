"""Record layouts compiled from libasterix's generated specs: where each item starts and ends.

The fast decoders walk records with these layouts (only lengths, no values), so an edition's
structure comes from the same asterix-specs source as libasterix and is never typed by hand.
The walk is as strict as libasterix: FSPEC too long, a bit for a spare item, an extended item
whose last FX is set, an explicit item of length 0, or data running off the end all fail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import asterix.base as ab
import asterix.generated as gen
import numpy as np
import numpy.typing as npt

MAX_RECORDS_PER_BLOCK = 4096
"""More records than this in one data block rejects the block (counted as too_many_records):
a real radar's block holds tens to a few hundred; the cap bounds what one block can cost."""

Skip = Callable[[bytes, int, int], int]
"""skip(buf, offset, end) -> offset just after the item, or -1 when it is malformed."""


class LayoutError(Exception):
    """A spec construct the byte-level walker cannot express (never seen in 021/034/048/062)."""


@dataclass(frozen=True)
class RecordLayout:
    """Per FRN (index 0 = FRN 1): fixed size in bytes (> 0), or 0 with a skip function."""

    category: int
    edition: tuple[int, int]
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    skips: tuple[Skip | None, ...]
    fspec_max_bytes: int
    fspec_table: tuple[tuple[tuple[int, ...], ...], ...]
    """fspec_table[j][byte]: the FRN indices whose bit is set in FSPEC byte j (-1: spare bit)."""

    def frn(self, name: str) -> int:
        """Index (FRN - 1) of item `name`."""
        return self.names.index(name)


def _bits(v: Any) -> int:
    """Bit size of a fixed-size variation, or -1 where it has variable length."""
    v = _concrete(v)
    if issubclass(v, ab.Element | ab.Group):
        return int(v.cv_bit_size)
    return -1


def _concrete(v: Any) -> Any:
    """The variation class behind a rule (context-dependent items parse with their default)."""
    if issubclass(v, ab.RuleVariationContextFree):
        return _concrete(v.cv_variation)
    if issubclass(v, ab.RuleVariationDependent):
        return _concrete(v.cv_default_variation)
    return v


def _extended_skip(v: Any) -> Skip:
    """Skip function of an extended item (groups each ending in an FX bit)."""
    groups: list[tuple[int, bool]] = []
    for grp in v.cv_items_list:
        bits = sum(size for it in grp if it is not None for (_, size) in [it])
        has_fx = grp[-1] is None
        bits += 1 if has_fx else 0
        if bits % 8:
            raise LayoutError("extended group not byte aligned")
        groups.append((bits // 8, has_fx))
    sizes = tuple(groups)

    def skip(buf: bytes, off: int, end: int) -> int:
        for n, has_fx in sizes:
            off += n
            if off > end:
                return -1
            if not has_fx or not (buf[off - 1] & 1):
                return off
        return -1  # the last extent had FX set

    return skip


def _repetitive_skip(v: Any) -> Skip:
    """Skip function of a repetitive item (counted or FX-terminated)."""
    elem_bits = _bits(v.cv_variation)
    if elem_bits < 0:
        raise LayoutError("repetitive of a variable element")
    rep = v.cv_rep_bytes
    if rep is None:
        if (elem_bits + 1) % 8:
            raise LayoutError("FX repetitive not byte aligned")
        k = (elem_bits + 1) // 8

        def skip_fx(buf: bytes, off: int, end: int) -> int:
            while True:
                off += k
                if off > end:
                    return -1
                if not (buf[off - 1] & 1):
                    return off

        return skip_fx
    if elem_bits % 8:
        raise LayoutError("repetitive element not byte aligned")
    e = elem_bits // 8

    def skip_rep(buf: bytes, off: int, end: int) -> int:
        if off + rep > end:
            return -1
        n = int.from_bytes(buf[off:off + rep], "big")
        off += rep + n * e
        return off if off <= end else -1

    return skip_rep


def _explicit_skip(buf: bytes, off: int, end: int) -> int:
    """Skip an explicit item: its first byte is its length (0 is invalid)."""
    if off >= end or buf[off] == 0:
        return -1
    off += buf[off]
    return off if off <= end else -1


def _compound_skip(v: Any) -> Skip:
    """Skip function of a compound item (its own FSPEC, then sub-items)."""
    subs: list[tuple[int, Skip | None] | None] = []
    for nsp in v.cv_items_list:
        subs.append(None if nsp is None else _item(nsp.cv_rule))
    max_bytes = int(v.cv_fspec_max_bytes)

    def skip(buf: bytes, off: int, end: int) -> int:
        flags: list[int] = []
        for j in range(max_bytes):
            if off >= end:
                return -1
            b = buf[off]
            off += 1
            flags.extend(k + 7 * j for k in range(7) if b & (0x80 >> k))
            if not b & 1:
                break
        else:
            return -1  # FSPEC longer than the spec allows
        for k in flags:
            if k >= len(subs) or subs[k] is None:
                return -1
            size, sk = subs[k]  # type: ignore[misc]
            off = off + size if sk is None else sk(buf, off, end)
            if off < 0 or off > end:
                return -1
        return off

    return skip


def _item(rule: Any) -> tuple[int, Skip | None]:
    """(fixed size in bytes, None) or (0, skip function) for one item's rule."""
    v = _concrete(rule)
    bits = _bits(v)
    if bits >= 0:
        if bits % 8:
            raise LayoutError("item not byte aligned")
        return bits // 8, None
    if issubclass(v, ab.Extended):
        return 0, _extended_skip(v)
    if issubclass(v, ab.Repetitive):
        return 0, _repetitive_skip(v)
    if issubclass(v, ab.Explicit):
        return 0, _explicit_skip
    if issubclass(v, ab.Compound):
        return 0, _compound_skip(v)
    raise LayoutError(f"unsupported variation {v.__name__}")


def spec_class(category: int, edition: str) -> Any:
    """libasterix's class for `category` and edition 'major.minor' (raises KeyError if none)."""
    major, minor = (int(p) for p in edition.split("."))
    for cls in _cats().get(category, []):
        if tuple(cls.cv_edition) == (major, minor):
            return cls
    raise KeyError(f"CAT{category:03d} edition {edition} is not in libasterix")


def editions(category: int) -> list[str]:
    """The editions libasterix knows for `category`, as 'major.minor'."""
    return [f"{c.cv_edition[0]}.{c.cv_edition[1]}" for c in _cats().get(category, [])]


def _cats() -> dict[int, list[Any]]:
    """libasterix's category -> edition classes map."""
    cats: dict[int, list[Any]] = gen.manifest["CATS"]  # type: ignore[assignment]
    return cats


@cache
def record_layout(category: int, edition: str) -> RecordLayout:
    """The compiled layout of a single-UAP category edition."""
    cls = spec_class(category, edition)
    record = getattr(cls.cv_uap, "cv_record", None)
    if record is None:
        raise LayoutError(f"CAT{category:03d} {edition} has several UAPs")
    names: list[str] = []
    sizes: list[int] = []
    skips: list[Skip | None] = []
    for u in record.cv_items_list:
        if issubclass(u, ab.UapItem):
            size, sk = _item(u.cv_non_spare.cv_rule)
            names.append(u.cv_non_spare.cv_name)
            sizes.append(size)
            skips.append(sk)
        elif issubclass(u, ab.UapItemSpare):
            names.append("")
            sizes.append(-1)
            skips.append(None)
        else:
            raise LayoutError("random field sequencing is not supported by the fast path")
    max_bytes = int(record.cv_fspec_max_bytes)
    table = []
    for j in range(max_bytes):
        row = []
        for b in range(256):
            frns = []
            for k in range(7):
                if b & (0x80 >> k):
                    i = 7 * j + k
                    frns.append(i if i < len(names) and sizes[i] >= 0 else -1)
            row.append(tuple(frns))
        table.append(tuple(row))
    return RecordLayout(
        category=category, edition=tuple(cls.cv_edition), names=tuple(names),
        sizes=tuple(sizes), skips=tuple(skips), fspec_max_bytes=max_bytes,
        fspec_table=tuple(table),
    )


def walk_records(
    buf: bytes, start: int, end: int, layout: RecordLayout, wanted: tuple[int, ...],
    max_records: int = MAX_RECORDS_PER_BLOCK,
) -> tuple[list[int], list[int]] | str:
    """Split buf[start:end] (a block's records) into records.

    Returns (record start offsets, the offsets of the wanted FRN indices record after record
    in one flat list, len(wanted) a record, -1 where absent: no list per record, so a flood
    of records leaves nothing for the garbage collector), or a short reason string when any
    record is malformed (the block is rejected). Every skip function checks its own bounds,
    so the record end is checked once.
    Stricter than libasterix in two ways that bound the work: a record whose FSPEC sets no
    item (`empty_fspec`: a zero-filled block would be one "record" per byte) and more than
    `max_records` records (`too_many_records`) reject the block.
    """
    slot = [-1] * len(layout.sizes)
    for k, frn in enumerate(wanted):
        slot[frn] = k
    proto = [-1] * len(wanted)
    flat: list[int] = []
    starts: list[int] = []
    sizes, skips, table, max_bytes = layout.sizes, layout.skips, layout.fspec_table, \
        layout.fspec_max_bytes
    first = table[0]
    off = start
    while off < end:
        if len(starts) >= max_records:
            return "too_many_records"
        starts.append(off)
        b = buf[off]
        off += 1
        frns = first[b]
        j = 1
        while b & 1:
            if off >= end:
                return "fspec_truncated"
            if j >= max_bytes:
                return "fspec_too_long"
            b = buf[off]
            off += 1
            frns = frns + table[j][b]
            j += 1
        if not frns:
            return "empty_fspec"
        base = len(flat)
        flat += proto
        for i in frns:
            if i < 0:
                return "spare_item_set"
            s = slot[i]
            if s >= 0:
                flat[base + s] = off
            n = sizes[i]
            if n:
                off += n
            else:
                off = skips[i](buf, off, end)  # type: ignore[misc]
                if off < 0:
                    return "bad_item"
        if off > end:
            return "record_truncated"
    return starts, flat


def walk_blocks(
    buf: bytes, spans: list[tuple[int, int]], layout: RecordLayout, wanted: tuple[int, ...],
    counts: Counter[str], reject_key: str, max_records: int = MAX_RECORDS_PER_BLOCK,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Walk every block of buf: (item offsets, one row per record and a column per wanted
    FRN, -1 where absent; each record's block index). A malformed block is left out whole
    and counted as reject_key:reason; good ones count blocks:/records: for the category."""
    flat: list[int] = []
    block_idx: list[int] = []
    cat = f"{layout.category:03d}"
    for b, (start, end) in enumerate(spans):
        result = walk_records(buf, start, end, layout, wanted, max_records)
        if isinstance(result, str):
            counts[f"{reject_key}{result}"] += 1
            continue
        starts, found = result
        flat += found
        block_idx.extend([b] * len(starts))
        counts[f"records:{cat}"] += len(starts)
        counts[f"blocks:{cat}"] += 1
    offsets = np.asarray(flat, np.int64).reshape(-1, len(wanted))
    return offsets, np.asarray(block_idx, np.int64)


@cache
def quantity_info(category: int, edition: str, item: str, sub: str | None = None
                  ) -> tuple[float, bool]:
    """(lsb, signed) of a quantity (sub-)item in an edition, from the spec (not typed here)."""
    record = spec_class(category, edition).cv_uap.cv_record
    v = _concrete(record.cv_items_dict[item].cv_rule)
    if sub is not None:
        entry = v.cv_items_dict[sub]
        v = _concrete(getattr(entry, "cv_rule", entry))
    rule = v.cv_rule
    content = rule.cv_content if issubclass(rule, ab.RuleContentContextFree) \
        else rule.cv_default_content
    return float(content.cv_lsb), issubclass(content.cv_signedness, ab.Signed)


@cache
def compound_indices(category: int, edition: str, item: str) -> dict[str, int]:
    """Sub-item name -> index (its bit in the item's own FSPEC) of a compound item."""
    v = _concrete(spec_class(category, edition).cv_uap.cv_record.cv_items_dict[item].cv_rule)
    if not issubclass(v, ab.Compound):
        raise LayoutError(f"I{category:03d}/{item} is not compound")
    return {nsp.cv_name: k for k, nsp in enumerate(v.cv_items_list) if nsp is not None}


@cache
def compound_sizes(category: int, edition: str, item: str) -> tuple[tuple[str, int], ...]:
    """A compound item's sub-items in FSPEC bit order: (name, fixed size in bytes, 0 where
    variable), ("", 0) for a spare bit."""
    v = _concrete(spec_class(category, edition).cv_uap.cv_record.cv_items_dict[item].cv_rule)
    if not issubclass(v, ab.Compound):
        raise LayoutError(f"I{category:03d}/{item} is not compound")
    return tuple(("", 0) if nsp is None else (nsp.cv_name, _item(nsp.cv_rule)[0])
                 for nsp in v.cv_items_list)
