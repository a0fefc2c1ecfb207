"""Curated mappings: one CSVW metadata document per bundled Table Schema, to established vocabularies.

`mapping_for(schema_name)` reads `<schema_name>.csv-metadata.json` (or None when there is none);
`vocab.bridge.csvw_metadata(..., mapping=...)` merges it over the bridged metadata. What CSVW
cannot compute is planned here and done by the pre-pass in `derivation.py`:

- `COORDINATES`: which fields hold coordinates, in which CRS, so that WGS84 latitude and
  longitude (from projected ones) and a WKT point are added as the derived columns `LAT`, `LONG`
  and `WKT`;
- `DISTRICT_FIELDS`: which fields name a district or ward, so that a `Linker` (`vocab.linking`)
  over the publisher's district scheme adds the concept's IRI as the derived column
  `<field>_ref` (`ref_column`). Which scheme (Lambeth wards, Köln Stadtbezirke …) depends on the
  publisher, not on the schema, so the caller chooses it.

README.md says which vocabulary terms each mapping uses and why; PROVENANCE.md where they come from.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from portal.errors import MappingError

HERE = Path(__file__).resolve().parent
SUFFIX = ".csv-metadata.json"
#: Derived columns the coordinate pre-pass adds (names are also their header labels).
LAT, LONG, WKT = "wgs84_lat", "wgs84_long", "geometry_wkt"


@dataclass(frozen=True)
class Coordinates:
    """Coordinate fields of a schema (canonical field names), their CRS, or a field naming it per row.

    With `crs_field`, each row's CRS is read from that field (`OSGB36`, `WGS84`, `EPSG:…`, see
    `vocab.geo.crs_code`), and `crs` is used where it is empty.
    """

    x: str
    y: str
    crs: str
    crs_field: str | None = None


#: Coordinate fields of each schema, in order of preference: the first whose fields a table has is
#: used. Projected ones (British National Grid) give WGS84 latitude, longitude and a WKT point;
#: WGS84 ones, which the mapping already maps as wgs84_pos:lat/long, give only the WKT point.
COORDINATES: dict[str, tuple[Coordinates, ...]] = {
    "public-toilets": (Coordinates("X", "Y", "EPSG:27700"),),
    "polling-stations": (Coordinates("easting", "northing", "EPSG:27700"),
                         Coordinates("longitude", "latitude", "EPSG:4326")),
    "schools": (Coordinates("easting", "northing", "EPSG:27700"),
                Coordinates("longitude", "latitude", "EPSG:4326")),
    "building-permits": (Coordinates("longitude", "latitude", "EPSG:4326"),),
    "service-requests": (Coordinates("long", "lat", "EPSG:4326"),),
    "planning-applications": (Coordinates("geo_x", "geo_y", "EPSG:27700", "coordinate_reference_system"),),
}

#: Fields naming a district or ward of the publisher, linked to its reference scheme.
DISTRICT_FIELDS: dict[str, tuple[str, ...]] = {
    "budget": ("district",),
    "building-permits": ("ward",),
    "planning-applications": ("ward",),
    "polling-stations": ("ward",),
    "service-requests": ("ward",),
    "street-trees": ("WARD",),
}


def ref_column(column: str) -> str:
    """The derived column holding the reference IRI linked from `column` (a CSVW column name)."""
    return f"{column}_ref"


def names() -> tuple[str, ...]:
    """The schema names that have a curated mapping, sorted."""
    return tuple(sorted(p.name[: -len(SUFFIX)] for p in HERE.glob("*" + SUFFIX)))


@cache
def _read(name: str) -> dict[str, Any] | None:
    path = HERE / f"{name}{SUFFIX}"
    if "/" in name or "\\" in name or not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MappingError(f"curated mapping {path.name} cannot be read: {exc}") from exc
    if not isinstance(document, dict):
        raise MappingError(f"curated mapping {path.name} is not a JSON object")
    return document


def mapping_for(schema_name: str) -> dict[str, Any] | None:
    """The curated CSVW mapping of a bundled schema (a fresh copy), or None when it has none."""
    document = _read(schema_name)
    return copy.deepcopy(document) if document is not None else None
