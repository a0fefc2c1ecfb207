"""The converter's entry points: csv2rdf to an rdflib Graph, and csv2rdf_stream to N-Triples bytes."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from rdflib import Graph

from vocab.csvw.context import is_absolute
from vocab.csvw.conversion import ColumnPlan, convert_group
from vocab.csvw.dialect import TableReader, dialect_from
from vocab.csvw.discovery import Fetcher, locate
from vocab.csvw.errors import CsvwError
from vocab.csvw.loaders import file_loader, file_url
from vocab.csvw.metadata import Loader
from vocab.csvw.model import Group, Table, bind_columns, group_from


def as_url(source: str) -> str:
    """A URL as it is; a local path (no scheme) as its absolute `file:` URL."""
    return source if is_absolute(source) and len(source.split(":", 1)[0]) > 1 else file_url(source)


def _open(table: Table, fetch: Fetcher) -> TableReader:
    data, headers = fetch.table(table.url)
    reader = TableReader(data, dialect_from(table.dialect, headers), table.url)
    bind_columns(table, reader.titles)
    return reader


def _readers(group: Group, fetch: Fetcher) -> Iterator[tuple[Table, TableReader]]:
    for table in group.tables:
        yield table, _open(table, fetch)


def prepare(url: str, metadata: str | Mapping[str, Any] | None, loader: Loader) -> tuple[Group, Fetcher]:
    """Locate and read the metadata for `url`, and check its foreign keys against the data."""
    fetch = Fetcher(loader)
    group = group_from(locate(url, metadata, fetch))
    if any(table.schema.get("foreignKeys") for table in group.tables):
        _check_foreign_keys(group, fetch)
    return group, fetch


def csv2rdf_stream(url: str, out: BinaryIO, *, metadata: str | Mapping[str, Any] | None = None,
                   minimal: bool = False, loader: Loader = file_loader, columnar: bool = True) -> None:
    """Convert a tabular file (or a metadata document's tables) to N-Triples written to `out`.

    `columnar` takes the polars fast path (vocab/csvw/vectorised.py) for the tables within its subset;
    False forces the row path for everything. Both write the same triples.
    """
    group, fetch = prepare(as_url(url), as_url(metadata) if isinstance(metadata, str) else metadata, loader)
    if columnar:
        from vocab.csvw.vectorised import convert_group_columnar

        convert_group_columnar(group, fetch, out, minimal)
        return
    text = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=False)
    try:
        convert_group(group, _readers(group, fetch), text.write, minimal)
    finally:
        text.flush()
        text.detach()


def csv2rdf(url: str, *, metadata: str | Mapping[str, Any] | None = None, minimal: bool = False,
            loader: Loader = file_loader) -> Graph:
    """Convert a tabular file (or a metadata document's tables) to an rdflib Graph."""
    buffer = io.BytesIO()
    csv2rdf_stream(url, buffer, metadata=metadata, minimal=minimal, loader=loader)
    graph = Graph()
    graph.parse(data=buffer.getvalue().decode("utf-8"), format="nt")
    return graph


def _check_foreign_keys(group: Group, fetch: Fetcher) -> None:
    """Every foreign key must name a table and columns that exist, and every reference must resolve."""
    for table in group.tables:
        _open(table, fetch)  # binds its columns
    for table in group.tables:
        for foreign_key in table.schema.get("foreignKeys", []):
            reference = foreign_key["reference"]
            target = _referenced_table(group, reference)
            names = [c.name for c in target.columns]
            missing = [n for n in reference["columnReference"] if n not in names]
            if missing:
                raise CsvwError(f"{table.url}: a foreign key refers to unknown columns {missing}")
            if len(reference["columnReference"]) != len(foreign_key["columnReference"]):
                raise CsvwError(f"{table.url}: a foreign key's column lists differ in length")
            keys = set(_keys(target, reference["columnReference"], fetch))
            for key in _keys(table, foreign_key["columnReference"], fetch):
                if key not in keys:
                    raise CsvwError(f"{table.url}: the foreign key {key} matches no row of {target.url}")


def _referenced_table(group: Group, reference: Mapping[str, Any]) -> Table:
    for table in group.tables:
        if "resource" in reference and table.url == reference["resource"]:
            return table
        if "schemaReference" in reference and table.schema.get("@id") == reference["schemaReference"]:
            return table
    raise CsvwError(f"a foreign key refers to a table that is not in the group: {dict(reference)}")


def _keys(table: Table, names: list[str], fetch: Fetcher) -> Iterator[tuple[str, ...]]:
    reader = _open(table, fetch)
    plans = [ColumnPlan(next(c for c in table.columns if c.name == name), table) for name in names]
    for row in reader.rows():
        values = []
        for plan in plans:
            raw = row.cells[plan.index] if plan.index < len(row.cells) else None
            values.append(plan.value_of(raw, table.url, row))
        if all(v is not None for v in values):
            yield tuple(str(v) for v in values)
