"""The pre-pass that adds what CSVW cannot compute: WGS84 coordinates and links to reference concepts.

CSVW templates only copy cell values, so a WGS84 point cannot be computed from an easting and a
northing, nor a ward's concept IRI found from its name ("Bishops" → the Lambeth ward E05000416).
`derive` therefore streams the table once, chunk by chunk, and writes a copy (UTF-8, comma
separated, header on line 1) with derived columns appended:

- `wgs84_lat`, `wgs84_long`, `geometry_wkt` from the schema's projected coordinate fields
  (`COORDINATES`), converted a whole chunk per pyproj call (`vocab.geo.to_wgs84`; one call per
  CRS when a column names the CRS row by row); from WGS84 fields only `geometry_wkt`, as the
  mapping already maps them;
- `<column>_ref` for each district field (`DISTRICT_FIELDS`), the IRI a `Linker` finds for the
  cell, empty when it finds none or several (counted in the result's `LinkStats`, never guessed).

The copy then goes to the CSVW converter with `vocab.bridge.dialect()` and
`csvw_metadata(..., derived=result.columns)`, so every IRI is still minted by one CSVW processor,
from one template, and the derived cells become triples like any other cell. Writing the extra
triples beside the converter's output instead would mean re-minting row IRIs outside CSVW.
"""

from __future__ import annotations

import codecs
import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from portal.errors import DataError, MappingError, UsageError
from vocab.bridge import column_name
from vocab.geo import WGS84, crs_code, degrees_text, to_wgs84
from vocab.linking import Linker, LinkStats
from vocab.mappings import COORDINATES, DISTRICT_FIELDS, LAT, LONG, WKT, ref_column

#: Rows converted per pyproj call.
CHUNK_ROWS = 20_000
FIELD_SIZE_LIMIT = 10 * 1024 * 1024


@dataclass
class DerivationResult:
    """What the pre-pass added: derived column names, rows, located rows, link counts per column."""

    columns: list[str] = field(default_factory=list)
    rows: int = 0
    located: int = 0
    unlocated: int = 0
    links: dict[str, LinkStats] = field(default_factory=dict)


def _number(text: str) -> float:
    try:
        value = float(text.strip().replace(",", ""))
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


@dataclass(frozen=True)
class Located:
    """Where a table's coordinates are: x and y labels, CRS (or the label naming it per row)."""

    x: str
    y: str
    crs: str
    crs_label: str | None = None

    @property
    def projected(self) -> bool:
        """Whether WGS84 latitude/longitude columns are derived too (not only the WKT point)."""
        return self.crs_label is not None or crs_code(self.crs) != WGS84


def plan(schema_name: str, fields: Mapping[str, str]) -> tuple[Located | None, dict[str, str]]:
    """For a table's labels → canonical fields: where its coordinates are, and label → ref column."""
    by_field: dict[str, str] = {}
    for label, canonical in fields.items():
        by_field.setdefault(canonical, label)
    located = next((Located(by_field[c.x], by_field[c.y], c.crs,
                            by_field.get(c.crs_field) if c.crs_field else None)
                    for c in COORDINATES.get(schema_name, ()) if c.x in by_field and c.y in by_field), None)
    links = {by_field[f]: ref_column(column_name(f)) for f in DISTRICT_FIELDS.get(schema_name, ())
             if f in by_field}
    return located, links


class _Chunks:
    """Derives the extra cells of rows a chunk at a time and writes them."""

    def __init__(self, labels: list[str], writer: Any, located: Located | None,
                 links: Mapping[str, LinkStats], district: Linker | None, result: DerivationResult) -> None:
        self.width, self.writer, self.located, self.district, self.result = (
            len(labels), writer, located, district, result)
        self.x_at = labels.index(located.x) if located else -1
        self.y_at = labels.index(located.y) if located else -1
        self.crs_at = labels.index(located.crs_label) if located and located.crs_label else -1
        self.link_at = [(labels.index(label), stats) for label, stats in links.items()]

    def write(self, chunk: list[list[str]]) -> None:
        """Pad, derive and write one chunk of rows."""
        if not chunk:
            return
        for row in chunk:
            if len(row) < self.width:
                row.extend([""] * (self.width - len(row)))
        if self.located is not None:
            self._locate(chunk, self.located)
        if self.district is not None:
            link = self.district.link
            for row in chunk:
                for at, stats in self.link_at:
                    found = link(row[at])
                    stats.add(row[at], found)
                    row.append(found.iri or "")
        self.result.rows += len(chunk)
        self.writer.writerows(chunk)

    def _locate(self, chunk: list[list[str]], located: Located) -> None:
        """Convert the chunk's coordinates with one pyproj call per CRS present in it."""
        count = len(chunk)
        xs = np.fromiter((_number(r[self.x_at]) for r in chunk), dtype=np.float64, count=count)
        ys = np.fromiter((_number(r[self.y_at]) for r in chunk), dtype=np.float64, count=count)
        lats, lons = np.full(count, np.nan), np.full(count, np.nan)
        groups: dict[str, list[int]] = {}
        for i, row in enumerate(chunk):
            name = row[self.crs_at].strip() if self.crs_at >= 0 else ""
            groups.setdefault(name or located.crs, []).append(i)
        for name, rows in groups.items():
            at = np.asarray(rows)
            try:
                lats[at], lons[at] = to_wgs84(xs[at], ys[at], name)
            except UsageError:
                continue  # a CRS unknown or not on Earth: those rows stay unlocated
        projected = located.projected
        for row, lat, lon in zip(chunk, degrees_text(lats), degrees_text(lons)):
            if not lat:
                row.extend(("", "", "") if projected else ("",))
                self.result.unlocated += 1
            else:
                point = f"POINT({lon} {lat})"  # CRS84 axis order, like `vocab.geo.wkt_point`
                row.extend((lat, lon, point) if projected else (point,))
                self.result.located += 1


def derive(
    path: str | Path, out: TextIO, *, schema_name: str, fields: Mapping[str, str],
    district: Linker | None = None, encoding: str = "utf-8", delimiter: str = ",",
    quotechar: str = '"', header_row: int = 1,
) -> DerivationResult:
    """Copy the table at `path` to `out` with the derived columns its schema's plan calls for.

    `fields` maps the file's header labels to canonical field names (`Match.mapping`);
    `district` links the district fields (none are linked without it). `out` should be opened
    with `newline=""`. Nothing is derived (a plain copy) when the plan has nothing to add.
    """
    located, links = plan(schema_name, fields)
    if district is None:
        links = {}
    result = DerivationResult()
    if located is not None:
        result.columns += [LAT, LONG, WKT] if located.projected else [WKT]
    result.columns += list(links.values())
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as exc:
        raise MappingError(f"{path}: unknown text encoding {encoding!r}") from exc
    saved = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        with open(path, encoding="utf-8-sig" if codec == "utf-8" else encoding, newline="") as handle:
            for _ in range(header_row - 1):
                handle.readline()
            reader = csv.reader(handle, delimiter=delimiter, quotechar=quotechar)
            writer = csv.writer(out, lineterminator="\r\n")  # quotes cells holding CR or LF
            header = next(reader, None)
            if header is None:
                raise MappingError(f"{path}: no header row at line {header_row}")
            labels = [h.strip() for h in header]
            clash = set(labels) & set(result.columns)
            if clash:
                raise MappingError(f"{path}: already has columns named {sorted(clash)}")
            writer.writerow(header + result.columns)
            for label, column in links.items():
                result.links[column] = LinkStats(column=label, register=district.title if district else "")
            chunks = _Chunks(labels, writer, located,
                             {label: result.links[column] for label, column in links.items()}, district, result)
            chunk: list[list[str]] = []
            for row in reader:
                if not any(row):
                    continue
                chunk.append(row)
                if len(chunk) >= CHUNK_ROWS:
                    chunks.write(chunk)
                    chunk = []
            chunks.write(chunk)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: cannot be read as {encoding}: {exc}") from exc
    except csv.Error as exc:
        raise DataError(f"{path}: malformed CSV near data row {result.rows + 1}: {exc}") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot be read: {exc}") from exc
    finally:
        csv.field_size_limit(saved)
    return result
