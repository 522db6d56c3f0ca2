"""Privacy lists (LADD / PIA-like): aircraft whose identity and history only consumers with
the right may see.  A text file, one entry a line: a 24-bit address as 6 hex digits, or a
callsign; `#` starts a comment.  The list rereads itself when the file changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from airpicture.core.errors import UserError

_ADDRESS = re.compile(r"[0-9A-Fa-f]{6}")
_CALLSIGN = re.compile(r"[A-Z0-9]{1,8}")


def parse_privacy_text(text: str, where: str | Path) -> tuple[frozenset[int], frozenset[str]]:
    """Addresses and callsigns of a privacy list; a malformed line is a UserError naming it.

    A 6-character entry of hex digits is an address (write a callsign of 6 hex-looking
    characters with a leading `callsign:`)."""
    addresses: set[int] = set()
    callsigns: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        if entry.lower().startswith("callsign:"):
            name = entry.split(":", 1)[1].strip().upper()
            if not _CALLSIGN.fullmatch(name):
                raise UserError(where, f"line {number}: {name!r} is not a callsign")
            callsigns.add(name)
        elif _ADDRESS.fullmatch(entry):
            addresses.add(int(entry, 16))
        elif _CALLSIGN.fullmatch(entry.upper()):
            callsigns.add(entry.upper())
        else:
            raise UserError(where, f"line {number}: {entry!r} is neither a 24-bit address "
                                   "(6 hex digits) nor a callsign")
    return frozenset(addresses), frozenset(callsigns)


@dataclass
class PrivacyList:
    """The aircraft of a privacy list; `path` None: an empty list."""

    path: Path | None = None
    addresses: frozenset[int] = frozenset()
    callsigns: frozenset[str] = frozenset()
    _mtime_ns: int = field(default=-1, repr=False)

    @classmethod
    def load(cls, path: Path | None) -> PrivacyList:
        """Read the list (UserError when missing or malformed)."""
        out = cls(path)
        out.reload_if_changed()
        return out

    def reload_if_changed(self) -> bool:
        """Reread the file when it changed; a bad file raises UserError and the old list
        stays.  True when the list was reread."""
        if self.path is None:
            return False
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            raise UserError(self.path, "privacy list not found") from None
        if mtime == self._mtime_ns:
            return False
        addresses, callsigns = parse_privacy_text(self.path.read_text(), self.path)
        self.addresses, self.callsigns, self._mtime_ns = addresses, callsigns, mtime
        return True

    def listed(self, icao24: npt.ArrayLike, callsign: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True for rows whose address or callsign is on the list."""
        addr = np.asarray(icao24, np.int64)
        hit = np.isin(addr, self._address_array) & (addr != 0)
        if self.callsigns:
            names = np.char.upper(np.char.strip(np.asarray(callsign, dtype=object).astype(str)))
            hit |= np.isin(names, self._callsign_array)
        return hit

    @property
    def _address_array(self) -> npt.NDArray[np.int64]:
        return np.fromiter(sorted(self.addresses), np.int64, len(self.addresses))

    @property
    def _callsign_array(self) -> npt.NDArray[np.str_]:
        return np.asarray(sorted(self.callsigns), dtype=str)
