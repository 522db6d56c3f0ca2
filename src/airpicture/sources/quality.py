"""ADS-B quality figures: combined NIC from its parts, and position uncertainty from NACp.

rs1090 gives the parts of NIC but not NIC itself: the type code of the position message, the
NIC supplement-B bit of an airborne position (`NICb`), and from the operational status message
(BDS 6,5) the ADS-B version and NIC supplement-A (`NICa`, in version 1 the single `NICs` bit).
NIC is then DO-260B table 2-70 (airborne) and 2-69 (surface), looked up per message:

- version 2: airborne NIC from (type code, NICa, NICb); surface from (type code, NICa, NICc).
  rs1090 does not expose NICc, so it is taken as 0, which can only under-state NIC.
- version 1: the one supplement bit stands for both (DO-260A).
- version 0 (or version unknown): no supplements, the lower NIC of each type code.
Combinations the standard leaves undefined get the lower NIC of the type code.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_AIRBORNE_NIC: dict[int, dict[tuple[int, int], int] | int] = {
    9: 11, 10: 10, 11: {(1, 1): 9, (0, 0): 8}, 12: 7,
    13: {(0, 1): 6, (0, 0): 6, (1, 1): 6, (1, 0): 6}, 14: 5, 15: 4,
    16: {(1, 1): 3, (0, 0): 2}, 17: 1, 18: 0, 20: 11, 21: 10, 22: 0,
}
_SURFACE_NIC: dict[int, dict[tuple[int, int], int] | int] = {
    5: 11, 6: 10, 7: {(1, 0): 9, (0, 0): 8}, 8: {(1, 1): 7, (1, 0): 6, (0, 1): 6, (0, 0): 0},
}


def _table(spec: dict[int, dict[tuple[int, int], int] | int]) -> npt.NDArray[np.int8]:
    """Lookup table [type code, supplement A, supplement B/C] -> NIC, -1 where no position."""
    out = np.full((32, 2, 2), -1, np.int8)
    for tc, value in spec.items():
        if isinstance(value, int):
            out[tc] = value
        else:
            out[tc] = min(value.values())
            for (a, b), nic in value.items():
                out[tc, a, b] = nic
    return out


AIRBORNE_NIC = _table(_AIRBORNE_NIC)
SURFACE_NIC = _table(_SURFACE_NIC)

NACP_EPU_M = np.array([18520.0, 18520.0, 7408.0, 3704.0, 1852.0, 926.0, 555.6, 185.2, 92.6,
                       30.0, 10.0, 3.0, 3.0, 3.0, 3.0, 3.0])
"""NACp -> 95 % horizontal accuracy bound EPU (DO-260B 2.2.5.1.35); 0 (unknown) as 10 NM."""
NUCP_HPL_M = np.array([18520.0, 37040.0, 18520.0, 3704.0, 1852.0, 926.0, 370.4, 185.2, 25.0,
                       7.5])
"""NUCp -> horizontal protection limit (DO-260): a fallback bound when NACp is not known."""
EPU_TO_SIGMA = 2.448
"""95 % radius of a circular 2-D Gaussian is 2.448 sigma: per-axis sigma = EPU / 2.448."""


def combined_nic(tc: npt.ArrayLike, surface: npt.ArrayLike, version: npt.ArrayLike,
                 nic_a: npt.ArrayLike, nic_b: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """NIC per message from its parts (see the module docstring); -1 where no position TC."""
    tc_arr = np.clip(np.asarray(tc, np.int64), 0, 31)
    ver = np.asarray(version, np.int64)
    a = np.clip(np.asarray(nic_a, np.int64), 0, 1)
    b = np.clip(np.asarray(nic_b, np.int64), 0, 1)
    a = np.where(ver >= 1, a, 0)
    b = np.where(ver >= 2, b, np.where(ver == 1, a, 0))
    is_surface = np.asarray(surface, bool)
    c = np.zeros_like(b)
    return np.where(is_surface, SURFACE_NIC[tc_arr, a, c], AIRBORNE_NIC[tc_arr, a, b])


def sigma_m(nacp: npt.ArrayLike, nucp: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Per-axis position standard deviation from NACp, or from NUCp where NACp is unknown."""
    nacp_arr = np.asarray(nacp, np.int64)
    nucp_arr = np.clip(np.asarray(nucp, np.int64), 0, 9)
    epu = np.where(nacp_arr >= 0, NACP_EPU_M[np.clip(nacp_arr, 0, 15)], NUCP_HPL_M[nucp_arr])
    return np.asarray(epu / EPU_TO_SIGMA, float)
