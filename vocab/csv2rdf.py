"""CSV → RDF in the spirit of CSVW csv2rdf minimal mode, streamed as N-Triples.

One subject per row (`UriScheme.thing`, keyed by the primary key or the row number), typed as the
dataset's `Row` class and numbered with `csvw:rownum`; one triple per non-missing cell, its predicate
a term of the dataset named after the column, its object a literal typed from the Table Schema.
A cell that does not parse as its declared type becomes a plain string (and is counted): reporting
it is the validation step's job, not a reason to stop.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from rdflib import Graph

from portal.errors import DataError, MappingError
from vocab.literals import (
    DATATYPES,
    JSON_TYPES,
    STRING_TYPES,
    Convert,
    converter_for,
    needs_escape,
    string_literal,
)
from vocab.namespaces import CSVW, RDF, RDFS, XSD
from vocab.uris import UriScheme, encode_segment, slugify

ROW_CLASS = "Row"  # term name of the class every row is an instance of
FIELD_SIZE_LIMIT = 10 * 1024 * 1024  # characters in one cell; a bigger cell means a broken file
_FLUSH_LINES = 20_000  # N-Triples lines buffered before one write to `out`


@dataclass
class ConversionStats:
    """What one conversion produced."""

    rows: int = 0
    triples: int = 0
    type_fallbacks: int = 0


# --- tables -----------------------------------------------------------------------------------

def column_terms(names: Iterable[str]) -> list[str]:
    """Term names for columns, in order: their slugs, with `-2`, `-3` … added where slugs collide."""
    used: set[str] = set()
    terms = []
    for name in names:
        term = base = slugify(name)
        n = 2
        while term in used:
            term, n = f"{base}-{n}", n + 1
        used.add(term)
        terms.append(term)
    return terms


def _check_header(header: list[str] | None, names: Sequence[str], label: str, line: int) -> None:
    """Raise MappingError unless the header row names the schema's fields, in order."""
    if header is None:
        raise MappingError(f"{label}: no header row at line {line}")
    for i in range(max(len(header), len(names))):
        found = header[i] if i < len(header) else None
        wanted = names[i] if i < len(names) else None
        # Like Frictionless, compare labels without surrounding spaces ("  PERMIT_TYPE").
        if found is not None and wanted is not None and found.strip() == wanted.strip():
            continue
        if wanted is None:
            detail = f"has column {found!r} that the schema lacks"
        elif found is None:
            detail = f"lacks the schema's field {wanted!r}"
        else:
            detail = f"names column {found!r} where the schema has field {wanted!r}"
        raise MappingError(f"{label}: header (line {line}, column {i + 1}) {detail}; "
                           f"{len(header)} columns in the file, {len(names)} fields in the schema")


class _Table:
    """The per-column plan of one conversion: names, converters, missing values, primary key."""

    def __init__(self, schema: Any, label: str) -> None:
        if hasattr(schema, "to_descriptor"):  # a frictionless Schema object
            schema = schema.to_descriptor()
        if not isinstance(schema, Mapping) or not isinstance(schema.get("fields"), list):
            raise MappingError(f"{label}: table schema must be a descriptor with a list of fields")
        fields = schema["fields"]
        self.names = [str(f.get("name", "")) for f in fields]
        self.converters: list[Convert] = []
        for f in fields:
            try:
                self.converters.append(converter_for(f))
            except ValueError as exc:
                raise MappingError(f"{label}: field {f.get('name')!r}: {exc}") from exc
        default_missing = schema.get("missingValues", [""])
        self.missing = [frozenset(f.get("missingValues", default_missing)) for f in fields]
        self.typed = [(f.get("type") or "string") not in STRING_TYPES | JSON_TYPES for f in fields]
        key = schema.get("primaryKey") or []
        key = [key] if isinstance(key, str) else list(key)
        for name in key:
            if name not in self.names:
                raise MappingError(f"{label}: primary key field {name!r} is not in the schema")
        self.key_columns = [self.names.index(name) for name in key]

    def key(self, row: list[str], label: str, rownum: int) -> str:
        """The row's key: its primary-key values (canonical where typed) joined with `-`."""
        parts = []
        for i in self.key_columns:
            value = row[i]
            if value == "" or value in self.missing[i]:
                raise MappingError(f"{label}: data row {rownum} has no value in primary key field "
                                   f"{self.names[i]!r}; keys become URIs and must not be empty")
            if self.typed[i]:
                try:  # typed lexical forms hold no quotes or escapes
                    term = self.converters[i](value)
                    value = term[1:term.rindex('"^^<')]
                except ValueError:
                    pass
            parts.append(value)
        return "-".join(parts)


def _reader_encoding(encoding: str, label: str) -> str:
    """The codec to read with; UTF-8 is read so that a byte-order mark is dropped."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as exc:
        raise MappingError(f"{label}: unknown text encoding {encoding!r}") from exc
    return "utf-8-sig" if name == "utf-8" else encoding


def table_to_ntriples(
    path: str | Path, *, schema: Mapping[str, Any], encoding: str, delimiter: str,
    quotechar: str = '"', header_row: int = 1, uris: UriScheme, publisher: str, dataset: str,
    out: TextIO, source_label: str | None = None,
) -> ConversionStats:
    """Write the table at `path` to `out` as N-Triples; `source_label` names it in error messages."""
    label = source_label or str(path)
    if header_row < 1:
        raise MappingError(f"{label}: header_row must be 1 or more, not {header_row}")
    table = _Table(schema, label)
    names, width, key_columns = table.names, len(table.names), table.key_columns
    term = lambda name: "<" + uris.term(publisher, dataset, name) + ">"  # noqa: E731
    columns = [(i, term(t) + " ", None if table.converters[i] is string_literal
                else table.converters[i], table.missing[i])
               for i, t in enumerate(column_terms(names))]
    prefix = "<" + uris.thing_prefix(publisher, dataset)
    type_po = f"<{RDF.type}> {term(ROW_CLASS)} .\n"
    rownum_p, rownum_dt = f'<{CSVW.rownum}> "', f'"^^<{XSD.integer}> .\n'

    seen: set[str] = set()
    rownum = triples = fallbacks = 0
    saved_limit = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        with open(path, encoding=_reader_encoding(encoding, label), newline="") as handle:
            for _ in range(header_row - 1):
                handle.readline()
            reader = csv.reader(handle, delimiter=delimiter, quotechar=quotechar)
            _check_header(next(reader, None), names, label, header_row)
            lines: list[str] = []
            append = lines.append
            for row in reader:
                if not any(row):
                    continue  # a blank line is no row (CSVW skipBlankRows)
                rownum += 1
                if len(row) < width:
                    row += [""] * (width - len(row))
                if key_columns:
                    key = table.key(row, label, rownum)
                    if key in seen:
                        raise MappingError(
                            f"{label}: data row {rownum} (line {reader.line_num}) repeats key "
                            f"{key!r} of primary key {[names[i] for i in key_columns]}; "
                            f"keys become URIs and must be unique")
                    seen.add(key)
                else:
                    key = str(rownum)
                subject = prefix + encode_segment(key) + "> "
                append(subject + type_po)
                append(f"{subject}{rownum_p}{rownum}{rownum_dt}")
                triples += 2
                for i, predicate, convert, missing in columns:
                    value = row[i]
                    if value in missing:
                        continue
                    if convert is None:
                        obj = string_literal(value) if needs_escape(value) else f'"{value}"'
                    else:
                        try:
                            obj = convert(value)
                        except ValueError:
                            obj = string_literal(value)
                            fallbacks += 1
                    append(f"{subject}{predicate}{obj} .\n")
                    triples += 1
                if len(lines) >= _FLUSH_LINES:
                    out.write("".join(lines))
                    lines.clear()
            out.write("".join(lines))
    except UnicodeDecodeError as exc:
        raise DataError(f"{label}: cannot be read as {encoding}: {exc}") from exc
    except csv.Error as exc:
        raise DataError(f"{label}: malformed CSV near data row {rownum + 1}: {exc}") from exc
    except OSError as exc:
        raise DataError(f"{label}: cannot be read: {exc}") from exc
    finally:
        csv.field_size_limit(saved_limit)
    return ConversionStats(rows=rownum, triples=triples, type_fallbacks=fallbacks)


def columns_to_ntriples(schema: Mapping[str, Any], *, uris: UriScheme, publisher: str, dataset: str) -> str:
    """The dataset's own small vocabulary, so its term URIs dereference to something useful.

    The row class and one `rdf:Property` per column, labelled from the schema's title (or name),
    commented from its description, with the row class as domain and the literal datatype as range.
    """
    row_class = uris.term(publisher, dataset, ROW_CLASS)
    defined_by = f"<{uris.dataset(publisher, dataset)}>"
    lines = [f"<{row_class}> <{RDF.type}> <{RDFS.Class}> .",
             f"<{row_class}> <{RDFS.label}> {string_literal(f'Row of {dataset}')} .",
             f"<{row_class}> <{RDFS.isDefinedBy}> {defined_by} ."]
    fields = list(schema.get("fields", []))
    for field, term in zip(fields, column_terms(str(f.get("name", "")) for f in fields)):
        iri = f"<{uris.term(publisher, dataset, term)}>"
        lines += [f"{iri} <{RDF.type}> <{RDF.Property}> .",
                  f"{iri} <{RDFS.label}> {string_literal(str(field.get('title') or field.get('name', '')))} .",
                  f"{iri} <{RDFS.domain}> <{row_class}> .",
                  f"{iri} <{RDFS.isDefinedBy}> {defined_by} .",
                  f"{iri} <{CSVW.name}> {string_literal(str(field.get('name', '')))} ."]
        if field.get("description"):
            lines.append(f"{iri} <{RDFS.comment}> {string_literal(str(field['description']))} .")
        datatype = DATATYPES.get(str(field.get("type") or "string"))
        if datatype:
            lines.append(f"{iri} <{RDFS.range}> <{datatype}> .")
    return "\n".join(lines) + "\n"


def table_to_graph(
    path: str | Path, *, schema: Mapping[str, Any], encoding: str, delimiter: str,
    quotechar: str = '"', header_row: int = 1, uris: UriScheme, publisher: str, dataset: str,
    source_label: str | None = None,
) -> Graph:
    """Convert a (small) table into an rdflib Graph holding what `table_to_ntriples` writes."""
    buffer = io.StringIO()
    table_to_ntriples(path, schema=schema, encoding=encoding, delimiter=delimiter,
                      quotechar=quotechar, header_row=header_row, uris=uris, publisher=publisher,
                      dataset=dataset, out=buffer, source_label=source_label)
    return Graph().parse(data=buffer.getvalue(), format="nt")
