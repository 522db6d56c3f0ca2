"""Cut the shipped real-traffic sample (src/airpicture/data/) out of `traffic`'s quickstart.

Reads ../shared/data/traffic/trajectories/quickstart.json.gz (MIT, `traffic` by Xavier Olive),
keeps 30 minutes of airborne flights around Paris and writes them compactly as Parquet.
Run: .venv/bin/python scripts/make_traffic_sample.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "traffic" / "trajectories" / "quickstart.json.gz"
TARGET = ROOT / "src" / "airpicture" / "data" / "quickstart_paris_30min.parquet"
START_MS = 1633614300000  # 2021-10-07 13:45:00 UTC
WINDOW_MS = 30 * 60 * 1000


def squawk_code(values: pd.Series) -> np.ndarray:
    """Squawk as written in the source (four octal digits as a decimal number) -> integer code."""
    out = np.full(len(values), -1, np.int16)
    ok = values.notna().to_numpy()
    digits = values[ok].astype(int).astype(str).str.zfill(4)
    valid = digits.str.fullmatch("[0-7]{4}").to_numpy()
    codes = np.array([int(d, 8) for d in digits[valid]], dtype=np.int16)
    idx = np.flatnonzero(ok)[valid]
    out[idx] = codes
    return out


def main() -> None:
    """Cut, clean and write the sample."""
    df = pd.read_json(SOURCE, dtype={"icao24": str})
    ms = df["timestamp"].astype("datetime64[ms]").astype(np.int64).to_numpy()
    keep = (ms >= START_MS) & (ms < START_MS + WINDOW_MS) & ~df["onground"].to_numpy(bool)
    keep &= df[["latitude", "longitude", "altitude"]].notna().all(axis=1).to_numpy()
    df = df[keep]
    ms = ms[keep]
    table = pa.table({
        "timestamp_ms": pa.array(ms, pa.int64()),
        "icao24": pa.array(df["icao24"].to_numpy(str)),
        "callsign": pa.array(df["callsign"].fillna("").to_numpy(str)),
        "latitude": pa.array(df["latitude"].to_numpy(float)),
        "longitude": pa.array(df["longitude"].to_numpy(float)),
        "altitude_ft": pa.array(df["altitude"].to_numpy(float), pa.float32()),
        "groundspeed_kt": pa.array(df["groundspeed"].to_numpy(float), pa.float32()),
        "track_deg": pa.array(df["track"].to_numpy(float), pa.float32()),
        "vertical_rate_fpm": pa.array(df["vertical_rate"].to_numpy(float), pa.float32()),
        "squawk": pa.array(squawk_code(df["squawk"]), pa.int16()),
    })
    order = np.lexsort((table["timestamp_ms"].to_numpy(), table["icao24"].to_numpy()))
    table = table.take(pa.array(order))
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, TARGET, compression="zstd", compression_level=19)
    print(f"{TARGET}: {table.num_rows} rows, "
          f"{len(set(table['icao24'].to_pylist()))} aircraft, {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main()
