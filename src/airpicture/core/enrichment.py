"""Mode S replies without a position (DF0/4/5/16/20/21): what they tell the tracker.

A Mode S radar or a 1090 receiver hears these replies far more often than positions.  They
carry no position, so they cannot be plots, but they keep a track's altitude, squawk and
identity current.  The tracker may attach them to the track with the same `icao24` (and only
where its address is verified: an address recovered from the parity of a DF4/5/20/21 reply is
trusted only when the same address was heard in a DF11/17/18, whose CRC checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt


@dataclass
class ModeSEnrichment:
    """Structure-of-arrays, one row per reply.

    t: seconds (same clock as the plots); icao24: 24-bit address; df: downlink format
    (df -1: a per-aircraft summary row, not one reply, from `AircraftStates.summary`);
    alt_ft: barometric altitude (NaN unknown); squawk: Mode A code as an integer of its four
    octal digits (-1 unknown); callsign: identity from Comm-B BDS 2,0 ("" unknown);
    sensor_id: the receiver's sensor.
    """

    t: npt.NDArray[np.float64]
    icao24: npt.NDArray[np.int64]
    df: npt.NDArray[np.int8]
    alt_ft: npt.NDArray[np.float64]
    squawk: npt.NDArray[np.int16]
    callsign: npt.NDArray[np.object_]
    sensor_id: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @classmethod
    def empty(cls) -> ModeSEnrichment:
        return cls(t=np.empty(0), icao24=np.empty(0, np.int64), df=np.empty(0, np.int8),
                   alt_ft=np.empty(0), squawk=np.empty(0, np.int16),
                   callsign=np.empty(0, object), sensor_id=np.empty(0, np.int32))

    @staticmethod
    def concat(parts: list[ModeSEnrichment]) -> ModeSEnrichment:
        if not parts:
            return ModeSEnrichment.empty()
        return ModeSEnrichment(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                                  for f in fields(ModeSEnrichment)})

    def take(self, index: npt.ArrayLike) -> ModeSEnrichment:
        idx = np.asarray(index)
        return ModeSEnrichment(**{f.name: getattr(self, f.name)[idx]
                                  for f in fields(ModeSEnrichment)})
