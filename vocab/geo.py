"""Projected coordinates (British National Grid and other CRSs) to WGS84 latitude/longitude and WKT.

CSVW cannot compute, so coordinates are converted before the converter runs: the table pre-pass
(`vocab.mappings.derivation`) reads easting/northing columns a chunk at a time, converts each chunk
with one call of a pyproj `Transformer` (built once per CRS and kept), and appends latitude,
longitude and a GeoSPARQL WKT point as derived columns that the CSVW metadata then maps.

The EPSG:27700 → EPSG:4326 transformation is PROJ's best available one: with the OSTN15 grid
installed it is exact to centimetres; without it (as here, no network grids) PROJ uses the
published 7-parameter Helmert transformation, good to a few metres — enough to place a toilet on a
map, and the reason tests allow a few metres.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from portal.errors import UsageError

WGS84 = "EPSG:4326"
BRITISH_NATIONAL_GRID = "EPSG:27700"
#: GeoSPARQL's WKT literal datatype; a WKT literal without a CRS IRI is in CRS84 (longitude first).
WKT_LITERAL = "http://www.opengis.net/ont/geosparql#wktLiteral"
#: Decimal places kept in degrees: 1e-6° is about 0.1 m, finer than a metre grid.
DEGREE_PLACES = 6

# Names that data files use for a CRS (the LGA CoordinateReferenceSystem code list) → EPSG codes.
_CRS_NAMES = {"osgb36": BRITISH_NATIONAL_GRID, "bng": BRITISH_NATIONAL_GRID,
              "british national grid": BRITISH_NATIONAL_GRID, "wgs84": WGS84, "wgs 84": WGS84}


def crs_code(name: str) -> str:
    """The EPSG code for a CRS as data files name it (`OSGB36`, `WGS84`, `EPSG:27700` …)."""
    text = name.strip()
    known = _CRS_NAMES.get(text.casefold())
    if known:
        return known
    try:
        authority = CRS.from_user_input(text).to_authority()
    except (CRSError, ProjError) as exc:
        raise UsageError(f"unknown coordinate reference system {name!r}") from exc
    if authority is None:
        raise UsageError(f"coordinate reference system {name!r} has no EPSG code")
    return f"{authority[0]}:{authority[1]}"


@cache
def transformer(crs: str) -> Transformer:
    """The (cached) transformer from `crs` to WGS84, longitude/latitude order in and out."""
    try:
        return Transformer.from_crs(crs_code(crs), WGS84, always_xy=True)
    except (CRSError, ProjError) as exc:  # e.g. a CRS of another celestial body
        raise UsageError(f"cannot transform {crs!r} to WGS84: {exc}") from exc


def to_wgs84(x: Sequence[float] | NDArray[np.float64], y: Sequence[float] | NDArray[np.float64],
             crs: str = BRITISH_NATIONAL_GRID) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Latitudes and longitudes (degrees) of the points `x`, `y` in `crs`; NaN where not convertible.

    For a projected CRS, x is the easting and y the northing. NaN inputs give NaN outputs.
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape:
        raise UsageError(f"x and y differ in length ({xs.size} and {ys.size})")
    if xs.size == 0:
        return np.empty(0), np.empty(0)
    lon, lat = transformer(crs).transform(xs, ys, errcheck=False)
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    bad = ~(np.isfinite(lat) & np.isfinite(lon)) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    lat[bad] = np.nan
    lon[bad] = np.nan
    return lat, lon


def degrees(value: float) -> str:
    """A coordinate in degrees as a decimal lexical form (`DEGREE_PLACES` places, no exponent)."""
    text = f"{value:.{DEGREE_PLACES}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def degrees_text(values: NDArray[np.float64]) -> list[str]:
    """`degrees` of every value of an array (NaN gives ""), rounding once for the whole array."""
    out = []
    for value in np.round(values, DEGREE_PLACES).tolist():
        if value != value:  # NaN
            out.append("")
            continue
        text = repr(value)  # shortest round-trip form: fast, and exact after rounding
        out.append(degrees(value) if "e" in text else text)
    return out


def wkt_point(lat: float, lon: float) -> str:
    """The WKT literal of a WGS84 point: `POINT(lon lat)` (CRS84 axis order, as GeoSPARQL reads it)."""
    return f"POINT({degrees(lon)} {degrees(lat)})"
