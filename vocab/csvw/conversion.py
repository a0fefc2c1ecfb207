"""csv2rdf proper: annotated tables → N-Triples lines, in standard or minimal mode.

Follows W3C "Generating RDF from Tabular Data on the Web" §4-5. Everything that does not change
from row to row (templates, default property IRIs, cell converters) is built once per column in
`ColumnPlan`; the per-row loop only splits, checks nulls and formats terms.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin

from vocab.csvw.context import expand_term
from vocab.csvw.datatypes import Convert, converter, escape, literal
from vocab.csvw.dialect import Row, TableReader
from vocab.csvw.errors import warn
from vocab.csvw.model import Column, Group, Table
from vocab.csvw.templates import Expand, compile_template, parse_template, variables_of
from vocab.csvw.templates import expand as expand_template

CSVW = "http://www.w3.org/ns/csvw#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
TYPE = f"<{RDF}type>"
_SPACE = re.compile(r"[ \t\n\r]+")
_UNNORMAL = re.compile(r"^[ \t\n\r]|[ \t\n\r]$|[\t\n\r]|  ").search
COLUMN_VARIABLES = frozenset({"_column", "_sourceColumn", "_name"})

Write = Callable[[str], Any]


class Terms:
    """Blank node labels for one conversion."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def blank(self) -> str:
        """A fresh blank node."""
        return f"_:b{next(self._counter)}"


class ColumnPlan:
    """What the per-row loop needs for one column, computed once."""

    def __init__(self, column: Column, table: Table) -> None:
        self.column = column
        self.index = column.number - 1
        self.name = column.name
        self.virtual = column.virtual
        self.emit = not column.suppress
        base = table.url
        about, prop, value = column.get("aboutUrl"), column.get("propertyUrl"), column.get("valueUrl")
        self.about: Expand | None = compile_template(about, base) if about is not None else None
        templates = [t for t in (about, prop, value) if t is not None]
        self.column_variables = any(variables_of(t) & COLUMN_VARIABLES for t in templates)
        # Columns that share an aboutUrl without column variables share its expansion in each row.
        self.about_key = about if about is not None and not self.column_variables else None
        self.value: Expand | None = compile_template(value, base) if value is not None else None
        if prop is not None:
            expand = compile_template(prop, base)
            self.property: Expand | str = expand
        else:
            fragment = expand_template(parse_template("{#_name}"), {"_name": column.name})
            self.property = "<" + urljoin(urldefrag(base)[0], fragment) + ">"
        self.nulls = frozenset(column.get("null"))
        self.default = column.get("default")
        self.separator = column.get("separator")
        self.ordered = column.get("ordered")
        self.required = column.get("required")
        datatype = column.datatype
        self.normalise = _whitespace(datatype.base)
        self.strip_items = datatype.base not in ("string", "anyAtomicType")
        lang = column.get("lang")
        self.convert: Convert = converter(datatype, lang)
        # A simple column: no separator, no null tokens but "", no default; its values need at
        # most whitespace normalising, done in the row loop itself.
        self.simple = self.separator is None and self.nulls == {""} and self.default == ""

    def value_of(self, raw: str | None, url: str, row: Row) -> str | list[str] | None:
        """A cell's value: None for null, a list when the column has a separator."""
        if raw is None:
            return None
        text = self.normalise(raw) if self.normalise is not None and _UNNORMAL(raw) else raw
        if text == "":
            text = self.default
        if self.separator is not None:
            if text == "" or text in self.nulls:
                return None
            items = text.split(self.separator)
            if self.normalise is not None:
                items = [self.normalise(item) for item in items]
            if self.strip_items:
                items = [item.strip() for item in items]
            return [item for item in items if item not in self.nulls]
        if text in self.nulls:
            if self.required:
                warn(f"{url}: row {row.source_number}: the required column {self.name} is empty")
            return None
        return text

    def term(self, text: str, url: str, row: Row) -> str:
        """The N-Triples term for one (non-null) value."""
        try:
            return self.convert(text)
        except ValueError as exc:
            return self.invalid(text, exc, url, row)

    def invalid(self, text: str, problem: ValueError, url: str, row: Row) -> str:
        """Warn about a value its datatype refuses, and give it as a plain string."""
        warn(f"{url}: row {row.source_number}, column {self.name}: {problem}")
        return '"' + escape(text) + '"'


def _whitespace(base: str) -> Callable[[str], str] | None:
    if base in ("string", "json", "xml", "html", "anyAtomicType"):
        return None
    if base == "normalizedString":
        return lambda text: text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return lambda text: _SPACE.sub(" ", text).strip()


def iri(value: str) -> str:
    """An N-Triples IRI term (plain text, also for an rdflib `URIRef`, whose ``+`` makes another one)."""
    return f"<{value}>"


def common_triples(subject: str, key: str, value: Any, terms: Terms) -> Iterator[str]:
    """Triples for one common property (or note) of a table group or table."""
    predicate = expand_term(key)
    if predicate is None:
        return
    for item in value if isinstance(value, list) else [value]:
        obj, extra = _json_ld_object(item, terms)
        if obj is None:
            continue
        yield f"{subject} <{predicate}> {obj} .\n"
        yield from extra


def _json_ld_object(value: Any, terms: Terms) -> tuple[str | None, list[str]]:
    if isinstance(value, bool):
        return literal("true" if value else "false", XSD + "boolean"), []
    if isinstance(value, int):
        return literal(str(value), XSD + "integer"), []
    if isinstance(value, float):
        return literal(repr(value), XSD + "double"), []
    if isinstance(value, str):
        return literal(value), []
    if not isinstance(value, dict):
        return None, []
    if "@value" in value:
        inner = value["@value"]
        if not isinstance(inner, str):
            return _json_ld_object(inner, terms)
        if "@type" in value:
            return literal(inner, expand_term(value["@type"])), []
        return literal(inner, None, value.get("@language")), []
    node = iri(value["@id"]) if "@id" in value else terms.blank()
    extra: list[str] = []
    types = value.get("@type", [])
    for kind in types if isinstance(types, list) else [types]:
        extra.append(f"{node} {TYPE} <{expand_term(kind)}> .\n")
    for key, item in value.items():
        if not key.startswith("@"):
            extra.extend(common_triples(node, key, item, terms))
    return node, extra


def convert_group(group: Group, readers: Iterator[tuple[Table, TableReader]], write: Write,
                  minimal: bool) -> None:
    """Write the triples of a whole table group."""
    terms = Terms()
    group_node = ""
    if not minimal:
        group_node = iri(group.description["@id"]) if "@id" in group.description else terms.blank()
        write(f"{group_node} {TYPE} <{CSVW}TableGroup> .\n")
        _annotations(group_node, group.description, terms, write)
    for table, reader in readers:
        if table.suppress:
            for _ in reader.rows():
                pass
            continue
        convert_table(table, reader, write, minimal, terms, group_node)


def _annotations(subject: str, description: Mapping[str, Any], terms: Terms, write: Write) -> None:
    for note in description.get("notes", []):
        write("".join(common_triples(subject, "csvw:note", note, terms)))
    for key, value in description.items():
        if ":" in key:
            write("".join(common_triples(subject, key, value, terms)))


def convert_table(table: Table, reader: TableReader, write: Write, minimal: bool, terms: Terms,
                  group_node: str) -> None:
    """Write the triples of one table."""
    url = table.url
    plans = [ColumnPlan(column, table) for column in table.columns]
    real = [p for p in plans if not p.virtual]
    width = len(real)
    table_node = ""
    if not minimal:
        table_node = iri(table.description["@id"]) if "@id" in table.description else terms.blank()
        write(f"{group_node} <{CSVW}table> {table_node} .\n{table_node} {TYPE} <{CSVW}Table> .\n"
              f"{table_node} <{CSVW}url> <{url}> .\n")
        _annotations(table_node, table.description, terms, write)
    row_titles = table.schema.get("rowTitles", [])
    title_plans = [p for p in plans if p.name in row_titles]
    primary_key = table.schema.get("primaryKey")
    key_plans = [p for p in plans if primary_key and p.name in primary_key]
    seen_keys: set[int] = set()  # hashes: a repeated key is only warned about, and this stays small
    base_url = urldefrag(url)[0]
    # Per-column facts as tuples, so that the per-cell loops unpack instead of looking attributes up.
    readers = [(p.index, p.name, p.virtual, p.simple, p.normalise, p.required, p) for p in plans]
    emitters = [(p.index, p.about, p.about_key, p.property if isinstance(p.property, str) else "",
                 None if isinstance(p.property, str) else p.property, p.value,
                 p.virtual and p.value is not None, p.column_variables, p.convert, p)
                for p in plans if p.emit]
    comments_done = 0
    for row in reader.rows():
        cells = row.cells
        count = len(cells)
        if count != width:
            warn(f"{url}: row {row.source_number} has {count} cells, not {width}")
        values: dict[str, Any] = {"_row": row.number, "_sourceRow": row.source_number}
        cell_values: list[Any] = [None] * len(plans)
        for index, name, virtual, simple, normalise, required, plan in readers:
            if virtual or index >= count:
                continue
            value: Any = cells[index]
            if simple:
                if value and normalise is not None and _UNNORMAL(value):
                    value = normalise(value)
                if not value:
                    if required:
                        warn(f"{url}: row {row.source_number}: the required column {name} is empty")
                    continue
            else:
                value = plan.value_of(value, url, row)
                if value is None:
                    continue
            cell_values[index] = value
            values[name] = value
        if key_plans:
            key = hash(tuple(str(cell_values[p.index]) for p in key_plans))
            if key in seen_keys:
                warn(f"{url}: row {row.source_number} repeats the primary key of an earlier row")
            seen_keys.add(key)
        out: list[str] = []
        default_subject = ""
        subjects: dict[str, None] = {}
        about_memo: dict[str, str] = {}
        for (index, about, about_key, constant_property, expand_property, value_url, virtual_value,
             column_variables, convert, plan) in emitters:
            value = cell_values[index]
            if value is None and not virtual_value:
                continue
            if column_variables:
                values["_column"] = values["_sourceColumn"] = index + 1
                values["_name"] = plan.name
            if about is None:
                if not default_subject:
                    default_subject = terms.blank()
                subject = default_subject
            elif about_key is not None:
                subject = about_memo.get(about_key, "")
                if not subject:
                    subject = about_memo[about_key] = "<" + about(values) + ">"
            else:
                subject = "<" + about(values) + ">"
            subjects[subject] = None
            predicate = constant_property if expand_property is None else "<" + expand_property(values) + ">"
            if value_url is not None:
                out.append(f"{subject} {predicate} <{value_url(values)}> .\n")
            elif value.__class__ is list:
                _list_triples(plan, subject, predicate, value, url, row, terms, out)
            else:
                try:
                    obj = convert(value)
                except ValueError as exc:
                    obj = plan.invalid(value, exc, url, row)
                out.append(f"{subject} {predicate} {obj} .\n")
        if not minimal:
            row_node = terms.blank()
            out.append(f"{table_node} <{CSVW}row> {row_node} .\n{row_node} {TYPE} <{CSVW}Row> .\n"
                       f"{row_node} <{CSVW}rownum> \"{row.number}\"^^<{XSD}integer> .\n"
                       f"{row_node} <{CSVW}url> <{base_url}#row={row.source_number}> .\n")
            for plan in title_plans:
                value = cell_values[plan.index]
                for item in value if isinstance(value, list) else [value] if value is not None else []:
                    out.append(f"{row_node} <{CSVW}title> {_title(plan, item)} .\n")
            out.extend(f"{row_node} <{CSVW}describes> {subject} .\n" for subject in subjects)
        write("".join(out))
        if not minimal and len(reader.comments) > comments_done:
            _comments(table_node, reader.comments[comments_done:], write)
            comments_done = len(reader.comments)
    if not minimal and len(reader.comments) > comments_done:
        _comments(table_node, reader.comments[comments_done:], write)


def _list_triples(plan: ColumnPlan, subject: str, predicate: str, value: list[str], url: str, row: Row,
                  terms: Terms, out: list[str]) -> None:
    objects = [plan.term(item, url, row) for item in value]
    if not plan.ordered:
        out.extend(f"{subject} {predicate} {obj} .\n" for obj in objects)
    elif not objects:
        out.append(f"{subject} {predicate} <{RDF}nil> .\n")
    else:
        nodes = [terms.blank() for _ in objects]
        out.append(f"{subject} {predicate} {nodes[0]} .\n")
        for index, (node, obj) in enumerate(zip(nodes, objects)):
            rest = nodes[index + 1] if index + 1 < len(nodes) else f"<{RDF}nil>"
            out.append(f"{node} <{RDF}first> {obj} .\n{node} <{RDF}rest> {rest} .\n")


def _title(plan: ColumnPlan, value: str) -> str:
    lang = plan.column.get("lang")
    return literal(value, None, None if lang == "und" else lang)


def _comments(table_node: str, comments: list[str], write: Write) -> None:
    write("".join(f"{table_node} <http://www.w3.org/2000/01/rdf-schema#comment> {literal(c)} .\n"
                  for c in comments))
