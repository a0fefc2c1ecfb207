"""The annotated table model: tables and columns with inherited properties resolved, ready to convert.

`bind_columns` joins a table description with the titles its CSV file embeds: it builds columns
from the header when the metadata has none, and otherwise checks that the two are compatible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vocab.csvw.datatypes import Datatype, datatype_from
from vocab.csvw.errors import CsvwError, warn

INHERITED_DEFAULTS: dict[str, Any] = {
    "null": [""], "default": "", "lang": "und", "datatype": None, "separator": None, "ordered": False,
    "textDirection": "inherit", "required": False, "aboutUrl": None, "propertyUrl": None, "valueUrl": None}


@dataclass
class Column:
    """One column: its number, name, titles and the inherited annotations that apply to it."""

    number: int
    name: str
    titles: dict[str, list[str]]
    virtual: bool = False
    suppress: bool = False
    props: dict[str, Any] = field(default_factory=dict)
    datatype: Datatype = field(default_factory=Datatype)
    explicit: bool = False  # named in its description (not derived from titles)

    def get(self, key: str) -> Any:
        """An inherited property's value for this column."""
        return self.props.get(key, INHERITED_DEFAULTS[key])


@dataclass
class Table:
    """One table of a group: its description, and columns once bound to its file."""

    url: str
    description: dict[str, Any]
    inherited: dict[str, Any]
    dialect: dict[str, Any] | None
    columns: list[Column] = field(default_factory=list)
    embedded: bool = False  # described only by its own header (no metadata document)
    language: str = "und"  # the metadata's default language

    @property
    def schema(self) -> dict[str, Any]:
        """The table's schema description (empty when it has none)."""
        schema: dict[str, Any] = self.description.get("tableSchema") or {}
        return schema

    @property
    def suppress(self) -> bool:
        """Whether the table is left out of the output."""
        return bool(self.description.get("suppressOutput", False))


@dataclass
class Group:
    """A table group: its description and its tables."""

    description: dict[str, Any]
    tables: list[Table]


def _inherited(description: dict[str, Any]) -> dict[str, Any]:
    return {key: description[key] for key in INHERITED_DEFAULTS if key in description}


def group_from(normalised: dict[str, Any]) -> Group:
    """The group a normalised metadata document describes."""
    group_inherited = _inherited(normalised)
    tables = []
    for description in normalised["tables"]:
        if "tableSchema" not in description and "tableSchema" in normalised:
            description = {**description, "tableSchema": normalised["tableSchema"]}
        inherited = {**group_inherited, **_inherited(description)}
        dialect = description.get("dialect", normalised.get("dialect"))
        tables.append(Table(description["url"], description, inherited, dialect,
                            embedded=bool(normalised.get("_embedded")),
                            language=normalised.get("_language") or "und"))
    return Group(normalised, tables)


def _column_name(titles: dict[str, list[str]], number: int, language: str) -> str:
    if titles.get(language):
        return "".join(c if c.isascii() and (c.isalnum() or c in "_.") else
                       "".join(f"%{byte:02X}" for byte in c.encode("utf-8")) for c in titles[language][0])
    return f"_col.{number}"


def bind_columns(table: Table, embedded: list[list[str]]) -> None:
    """Give `table` its columns from its schema and the titles embedded in its file."""
    schema, language = table.schema, table.language
    inherited = {**table.inherited, **_inherited(schema)}
    described = schema.get("columns")
    columns: list[Column] = []
    if table.embedded:
        for index, titles in enumerate(embedded, 1):
            title_map = {language: titles} if titles else {}
            columns.append(Column(index, _column_name(title_map, index, language), title_map, props=dict(inherited)))
    else:
        seen_virtual = False
        for index, description in enumerate(described or [], 1):
            virtual = bool(description.get("virtual", False))
            if seen_virtual and not virtual:
                raise CsvwError(f"{table.url}: a virtual column comes before a non-virtual one")
            seen_virtual = seen_virtual or virtual
            titles = description.get("titles", {})
            name = description.get("name") or _column_name(titles, index, table.language)
            props = {**inherited, **_inherited(description)}
            columns.append(Column(index, name, titles, virtual, bool(description.get("suppressOutput", False)),
                                  props, explicit="name" in description))
        _check_compatible(table.url, columns, embedded, inherited.get("lang", "und"))
        real = sum(1 for c in columns if not c.virtual)
        if real < len(embedded):
            if any(c.virtual for c in columns):
                raise CsvwError(f"{table.url}: the file has more columns than its metadata describes")
            for index in range(real + 1, len(embedded) + 1):
                columns.append(Column(index, f"_col.{index}", {}, props=dict(inherited)))
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise CsvwError(f"{table.url}: column names are not unique: {names}")
    for column in columns:
        column.datatype = datatype_from(column.get("datatype"))
    table.columns = columns
    _check_references(table)


def _languages_match(one: str, other: str) -> bool:
    if "und" in (one, other):
        return True
    size = min(len(one.split("-")), len(other.split("-")))
    return one.lower().split("-")[:size] == other.lower().split("-")[:size]


def _check_compatible(url: str, columns: list[Column], embedded: list[list[str]], language: str) -> None:
    real = [c for c in columns if not c.virtual]
    if embedded and len(embedded) != len(real):
        warn(f"{url}: the file has {len(embedded)} columns, its metadata {len(real)}")
    for column, titles in zip(real, embedded):
        if not titles or not column.titles:
            continue
        described = {t for lang, values in column.titles.items() for t in values
                     if _languages_match(lang, language)}
        if not described & set(titles):
            warn(f"{url}: column {column.number} is titled {titles!r} in the file, "
                 f"{sorted(described)!r} in its metadata")


def _check_references(table: Table) -> None:
    names = {c.name for c in table.columns if c.explicit or table.embedded}
    schema = table.schema
    for key in ("primaryKey", "rowTitles"):
        missing = [n for n in schema.get(key, []) if n not in names]
        if missing:
            warn(f"{table.url}: {key} names unknown columns {missing}: ignored")
            schema.pop(key)
    for foreign_key in schema.get("foreignKeys", []):
        missing = [n for n in foreign_key["columnReference"] if n not in names]
        if missing:
            raise CsvwError(f"{table.url}: a foreign key names unknown columns {missing}")
