"""Real trajectories (the `traffic` library's format) as 1 s truth in the local ENU frame.

Positions are projected with pymap3d (LocalFrame), velocities come from groundspeed and track
rotated into the ENU axes, and each flight is split into separate targets at gaps > `max_gap_s`.
Stale positions are dropped first: OpenSky-style state vectors repeat the last position when no
new one came, so a moving aircraft would freeze for seconds and then jump.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from airpicture.core.errors import UserError
from airpicture.core.geo import KT_TO_MPS, LocalFrame
from airpicture.sim.truth import Truth

SAMPLE_NAME = "quickstart_paris_30min.parquet"
MAX_GAP_S = 60.0
STALE_MIN_GS_KT = 30.0
"""A position repeated exactly while the aircraft moves faster than this is stale."""


def sample_path() -> Path:
    """The real-traffic sample shipped inside the package (30 min of `traffic`'s quickstart)."""
    return Path(str(resources.files("airpicture").joinpath("data", SAMPLE_NAME)))


def load_sample(path: Path | None = None) -> pd.DataFrame:
    """The shipped sample (or a file cut alike), columns as `read_traffic_json` gives them."""
    p = path or sample_path()
    if not p.exists():
        raise UserError(p, "real-traffic sample not found")
    return pq.read_table(p).to_pandas()


def read_traffic_json(path: Path) -> pd.DataFrame:
    """A `traffic` trajectory file (.json or .json.gz) in the sample's column layout."""
    try:
        df = pd.read_json(path, dtype={"icao24": str})
    except (ValueError, OSError) as exc:
        raise UserError(path, f"cannot read traffic JSON ({exc})") from None
    for col in ("timestamp", "icao24", "latitude", "longitude", "altitude", "groundspeed",
                "track"):
        if col not in df.columns:
            raise UserError(path, f"missing field {col!r}")
    if "onground" in df.columns:
        df = df.loc[~df["onground"].astype(bool).to_numpy()]
    return pd.DataFrame({
        "timestamp_ms": df["timestamp"].astype("datetime64[ms]").astype(np.int64),
        "icao24": df["icao24"].astype(str),
        "callsign": df.get("callsign", pd.Series("", index=df.index)).fillna("").astype(str),
        "latitude": df["latitude"].astype(float),
        "longitude": df["longitude"].astype(float),
        "altitude_ft": df["altitude"].astype(float),
        "groundspeed_kt": df["groundspeed"].astype(float),
        "track_deg": df["track"].astype(float),
        "squawk": np.full(len(df), -1, np.int16),
    })


def north_angle_rad(frame: LocalFrame, lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Angle from the ENU y axis to true north at each point (meridian convergence), radians."""
    e0, n0, _ = frame.to_enu(lat_deg, lon_deg)
    e1, n1, _ = frame.to_enu(lat_deg + 1e-4, lon_deg)
    return np.arctan2(e1 - e0, n1 - n0)


def _segments(icao: np.ndarray, t_s: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Segment index of each row (rows sorted by icao24 then time): new at a new aircraft or gap."""
    new = np.ones(t_s.size, bool)
    new[1:] = (icao[1:] != icao[:-1]) | (np.diff(t_s) > max_gap_s)
    return np.cumsum(new) - 1


def fresh_positions(icao: np.ndarray, lat_deg: np.ndarray, lon_deg: np.ndarray,
                    gs_kt: np.ndarray, min_gs_kt: float = STALE_MIN_GS_KT) -> np.ndarray:
    """False for rows (sorted by icao24 then time) that repeat the previous row's exact
    position while the aircraft flies faster than min_gs_kt: a stale, repeated report."""
    fresh = np.ones(icao.size, bool)
    fresh[1:] = ~((icao[1:] == icao[:-1]) & (lat_deg[1:] == lat_deg[:-1])
                  & (lon_deg[1:] == lon_deg[:-1]) & (gs_kt[1:] > min_gs_kt))
    return fresh


def real_truth(df: pd.DataFrame, frame: LocalFrame, t0_ms: int | None = None,
               duration_s: float | None = None, max_gap_s: float = MAX_GAP_S,
               rng: np.random.Generator | None = None) -> tuple[Truth, int]:
    """Project and interpolate to 1 s truth; returns the truth and the epoch (ms) of t = 0."""
    cols = ["latitude", "longitude", "altitude_ft", "groundspeed_kt", "track_deg"]
    df = df[df[cols].notna().all(axis=1)]
    if df.empty:
        raise UserError(None, "no usable trajectory rows (all positions missing)")
    t0 = int(df["timestamp_ms"].min()) if t0_ms is None else int(t0_ms)
    t_s = (df["timestamp_ms"].to_numpy(np.int64) - t0) / 1000.0
    icao = df["icao24"].to_numpy(str)
    order = np.lexsort((t_s, icao))
    order = order[fresh_positions(icao[order], df["latitude"].to_numpy(float)[order],
                                  df["longitude"].to_numpy(float)[order],
                                  df["groundspeed_kt"].to_numpy(float)[order])]
    t_s, icao = t_s[order], icao[order]
    lat = df["latitude"].to_numpy(float)[order]
    lon = df["longitude"].to_numpy(float)[order]
    x, y, _ = frame.to_enu(lat, lon)
    bearing = np.deg2rad(df["track_deg"].to_numpy(float)[order]) + north_angle_rad(frame, lat, lon)
    gs = df["groundspeed_kt"].to_numpy(float)[order] * KT_TO_MPS
    vx, vy = gs * np.sin(bearing), gs * np.cos(bearing)
    alt = df["altitude_ft"].to_numpy(float)[order]
    seg = _segments(icao, t_s, max_gap_s)
    n_seg = int(seg[-1]) + 1
    end_s = float(t_s.max()) if duration_s is None else float(duration_s)
    if end_s < 0:
        raise UserError(None, "no trajectory data after the scenario start (t0)")
    n_times = int(np.floor(end_s)) + 1
    grid = np.arange(n_times, dtype=np.float64)
    first = np.searchsorted(seg, np.arange(n_seg), side="left")
    last = np.searchsorted(seg, np.arange(n_seg), side="right") - 1
    lo, hi = np.ceil(t_s[first]), np.floor(t_s[last])
    alive = (grid[None, :] >= lo[:, None]) & (grid[None, :] <= hi[:, None])
    span = n_times + 10.0
    key = seg * span + t_s
    # Outside its segment a target holds its first / last state (finite, but not alive there).
    held = np.clip(grid[None, :], t_s[first][:, None], t_s[last][:, None])
    gkey = (np.arange(n_seg)[:, None] * span + held).ravel()

    def interp(values: np.ndarray) -> np.ndarray:
        return np.interp(gkey, key, values).reshape(n_seg, n_times)

    codes = np.array([_hex24(c) for c in icao[first]], dtype=np.int64)
    callsign = _first_nonblank(df["callsign"].to_numpy(str)[order], seg, n_seg)
    squawk = df["squawk"].to_numpy(np.int16)[order][first] if "squawk" in df.columns \
        else np.full(n_seg, -1, np.int16)
    gen = rng or np.random.default_rng(0)
    truth = Truth(dt_s=1.0, x_m=interp(x), y_m=interp(y), vx_mps=interp(vx), vy_mps=interp(vy),
                  alt_ft=interp(alt), alive=alive, icao24=codes, callsign=callsign,
                  squawk=squawk.astype(np.int16), equip_u=gen.random(n_seg))
    keep = np.asarray(alive.any(axis=1), bool)
    return _subset(truth, keep), t0


def _hex24(text: str) -> int:
    """A 24-bit address from its hex text; 0 (unknown) when it is not one."""
    try:
        value = int(text, 16)
    except ValueError:
        return 0
    return value if 0 < value < 1 << 24 else 0


def _first_nonblank(values: np.ndarray, seg: np.ndarray, n_seg: int) -> np.ndarray:
    """Each segment's first non-empty callsign ("" if none)."""
    out = np.full(n_seg, "", dtype=object)
    stripped = np.char.strip(values.astype(str))
    rows = np.flatnonzero(stripped != "")
    seg_rows = seg[rows]
    uniq, first = np.unique(seg_rows, return_index=True)
    out[uniq] = stripped[rows[first]]
    return out


def _subset(truth: Truth, keep: np.ndarray) -> Truth:
    """Only the targets where `keep` is true (segments too short to cover a grid second go)."""
    return Truth(dt_s=truth.dt_s, x_m=truth.x_m[keep], y_m=truth.y_m[keep],
                 vx_mps=truth.vx_mps[keep], vy_mps=truth.vy_mps[keep], alt_ft=truth.alt_ft[keep],
                 alive=truth.alive[keep], icao24=truth.icao24[keep],
                 callsign=truth.callsign[keep], squawk=truth.squawk[keep],
                 equip_u=truth.equip_u[keep])
