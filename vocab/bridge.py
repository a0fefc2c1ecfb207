"""The bridge from a Frictionless Table Schema to CSVW metadata, so every table reaches four stars.

`csvw_metadata(schema, ...)` describes one table for the CSVW converter (`vocab.csvw`):

- one column per field, titled with the file's header label (the converter checks the header
  against the titles) and named with a URI-template-safe `column_name`;
- datatypes from the field's type and format (`datatype_for`; constraints are validation's), `null` from its
  missing values;
- rows minted as `{base}/id/{publisher}/{dataset}/{key}`: the key is the primary key, its values
  percent-encoded by the URI template (several key fields join with `,`, which the template
  encodes inside values, so the join is unambiguous). A table without a primary key falls back to
  the data row number `_row`. That is NOT a stable identity: a row inserted above shifts every
  later IRI on re-publication. CSVW cannot compute a hash of a row's cells, and a pre-pass that
  adds one would change IRIs whenever any cell is corrected, so the row number is used and the
  caller's `Report` gets a `mapping/unstable-row-identity` warning saying what the next step is
  (declare a primary key);
- properties `{base}/def/{publisher}/{dataset}/{term}`, the same terms `vocab.csv2rdf` defines,
  unless a curated mapping (`vocab.mappings.mapping_for`) names an established one.

A curated mapping is itself a CSVW metadata document whose columns are named after the canonical
schema fields (`column_name(field)`). Its propertyUrl, valueUrl, datatype, aboutUrl, lang,
separator and suppressOutput win over the bridged ones; its virtual columns are appended (unless a
template needs a column the table lacks, or a column named by its `dc:requires` is absent), and so
are its derived columns (columns that are no schema field: values a pre-pass such as
`vocab.mappings.derivation` added to the table) when the caller says the table has them.
Mapping templates may use these placeholders, filled here before the converter sees them:

    {+base}    the portal's base URI
    {+things}  {base}/id/{publisher}/{dataset}      (things of this dataset)
    {+terms}   {base}/def/{publisher}/{dataset}     (terms of this dataset)
    {+ref}     {base}/id/ref                        (shared reference concepts)
    {+dataset} {base}/dataset/{publisher}/{dataset} (the dataset, e.g. for qb:dataSet)
    {+row}     the row's aboutUrl template          (e.g. `{+row}#geometry`)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from portal.errors import MappingError
from portal.report import Report
from vocab.csv2rdf import ROW_CLASS, column_terms
from vocab.csvw.templates import variables_of
from vocab.uris import UriScheme, slugify

CSVW_CONTEXT = "http://www.w3.org/ns/csvw"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
#: Name of the virtual column typing every row as the dataset's row class.
ROW_CLASS_COLUMN = "row_class"
#: Column properties a curated mapping overrides.
CURATED = ("propertyUrl", "valueUrl", "datatype", "aboutUrl", "lang", "separator", "suppressOutput")
_TEMPLATES = ("aboutUrl", "propertyUrl", "valueUrl")

# Table Schema type → CSVW base datatype, where no format or constraint changes it.
_TYPES = {
    "string": "string", "integer": "integer", "number": "decimal", "boolean": "boolean",
    "date": "date", "datetime": "dateTime", "time": "time", "year": "gYear",
    "yearmonth": "gYearMonth", "duration": "duration", "object": "json", "array": "json",
    "geojson": "json", "geopoint": "string", "list": "string",
}
# Table Schema string formats with a CSVW datatype of their own.
_STRING_FORMATS = {"uri": "anyURI", "binary": "base64Binary"}
# strptime directives → Unicode (UAX #35) date field patterns that CSVW accepts.
_STRPTIME = {"d": "dd", "m": "MM", "Y": "yyyy", "y": "yy", "H": "HH", "M": "mm", "S": "ss", "%": "%"}
_DEFAULT_TRUE = {"true", "True", "TRUE", "1"}
_DEFAULT_FALSE = {"false", "False", "FALSE", "0"}


def column_name(field: str) -> str:
    """A CSVW column name for a field name: a lowercase `_`-joined slug, never starting with `_`."""
    return slugify(field).replace("-", "_")


def dialect(*, encoding: str = "utf-8", delimiter: str = ",", quotechar: str = '"',
            header_row: int = 1) -> dict[str, Any]:
    """A CSVW dialect description for a table read as the portal reads it (`TableDescription`)."""
    if header_row < 1:
        raise MappingError(f"header_row must be 1 or more, not {header_row}")
    return {"encoding": encoding, "delimiter": delimiter, "quoteChar": quotechar,
            "skipRows": header_row - 1, "headerRowCount": 1, "trim": True}


def _strptime_pattern(fmt: str) -> str | None:
    """The UAX #35 pattern of a strptime format, or None when it uses a directive CSVW lacks."""
    out, i = [], 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%":
            if i + 1 >= len(fmt) or fmt[i + 1] not in _STRPTIME or fmt[i + 1] == "%":
                return None
            out.append(_STRPTIME[fmt[i + 1]])
            i += 2
            continue
        if char.isalpha() or char == "'":
            return None  # a literal letter would be read as a pattern field
        out.append(char)
        i += 1
    return "".join(out)


def _boolean_format(field: Mapping[str, Any]) -> str | None:
    """`true|false` values for a CSVW boolean: the first of each list, unless they are the defaults.

    CSVW reads one true and one false spelling; Table Schema lists several. The first of each
    is kept, so the other spellings become invalid cells (plain strings, with a warning).
    """
    trues = [str(v) for v in field.get("trueValues", [])]
    falses = [str(v) for v in field.get("falseValues", [])]
    if (not trues or set(trues) <= _DEFAULT_TRUE) and (not falses or set(falses) <= _DEFAULT_FALSE):
        return None
    true, false = (trues or ["true"])[0], (falses or ["false"])[0]
    if "|" in true or "|" in false:
        return None
    return f"{true}|{false}"


def datatype_for(field: Mapping[str, Any]) -> str | dict[str, Any]:
    """The CSVW datatype of a Table Schema field: its base type and format.

    Constraints (minimum, maximum, lengths, pattern) are not restated: a table is converted only
    after validation against its Table Schema has enforced them, and restating them would check
    every cell a second time, off the converter's bulk path.
    """
    kind = str(field.get("type") or "string")
    fmt = field.get("format")
    base = _TYPES.get(kind, "string")
    description: dict[str, Any] = {}
    if kind == "string" and isinstance(fmt, str) and fmt in _STRING_FORMATS:
        base = _STRING_FORMATS[fmt]
    elif kind in ("date", "datetime", "time") and isinstance(fmt, str) and fmt not in ("default", "any"):
        pattern = _strptime_pattern(fmt)
        if pattern is not None:
            description["format"] = pattern
    elif kind == "boolean":
        pattern = _boolean_format(field)
        if pattern is not None:
            description["format"] = pattern
    elif kind == "number":
        decimal, group = field.get("decimalChar", "."), field.get("groupChar")
        if decimal != "." or group:
            description["format"] = {"decimalChar": decimal, **({"groupChar": group} if group else {})}
    if not description:
        return base
    return {"base": base, **description}


def _null(schema: Mapping[str, Any], field: Mapping[str, Any]) -> list[str]:
    """The cell strings that mean "no value" for a field (field-level missingValues win)."""
    values = field.get("missingValues", schema.get("missingValues", [""]))
    return [str(v) for v in values]


def _key_fields(schema: Mapping[str, Any]) -> list[str]:
    key = schema.get("primaryKey") or []
    return [key] if isinstance(key, str) else [str(k) for k in key]


def row_template(things: str, key_columns: Sequence[str]) -> str:
    """The aboutUrl of a row: `{things}/{k1,k2…}` over key columns, or `{things}/{_row}`."""
    variables = ",".join(key_columns) if key_columns else "_row"
    return f"{things}/{{{variables}}}"


def _fill(template: str, values: Mapping[str, str]) -> str:
    for placeholder, value in values.items():
        template = template.replace("{+" + placeholder + "}", value)
    return template


def _mapping_columns(mapping: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if mapping is None:
        return []
    schema = mapping.get("tableSchema")
    if not isinstance(schema, Mapping):
        tables = mapping.get("tables")
        schema = tables[0].get("tableSchema") if isinstance(tables, list) and tables else None
    if not isinstance(schema, Mapping) or not isinstance(schema.get("columns"), list):
        raise MappingError("a curated mapping must be a CSVW table with tableSchema.columns")
    columns = [dict(c) for c in schema["columns"]]
    if any(not isinstance(c.get("name"), str) for c in columns):
        raise MappingError("every column of a curated mapping must have a name")
    return columns


def csvw_metadata(
    schema: Mapping[str, Any], *, table_url: str, uris: UriScheme, publisher: str, dataset: str,
    mapping: Mapping[str, Any] | None = None, dialect: Mapping[str, Any] | None = None,
    fields: Mapping[str, str] | None = None, derived: Sequence[str] = (),
    report: Report | None = None,
) -> dict[str, Any]:
    """CSVW metadata describing the table at `table_url` with `schema`, merged with a curated `mapping`.

    `fields` maps a schema field's name (the file's label, as `schemas.matching.adapt_schema`
    leaves it) to its canonical field name in the bundled schema (`Match.mapping`); without it
    the field names are taken as canonical. `derived` names the columns a pre-pass appended after
    the schema's fields, in order (`DerivationResult.columns`): the mapping's description of each
    is used, and one it lacks becomes a string-valued term of the dataset. Problems that
    lower the rating (no stable row identity) are added to `report`.
    """
    if hasattr(schema, "to_descriptor"):  # a frictionless Schema object
        schema = schema.to_descriptor()
    raw_fields = schema.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise MappingError(f"{table_url}: a table schema must have a list of fields")
    labels = [str(f.get("name", "")) for f in raw_fields]
    canonical = [(fields or {}).get(label, label) for label in labels]
    terms = column_terms(labels)

    things = uris.thing_prefix(publisher, dataset).rstrip("/")
    placeholders = {"base": uris.base, "things": things, "dataset": uris.dataset(publisher, dataset),
                    "terms": uris.term(publisher, dataset, "").rstrip("/"),
                    "ref": uris.reference("").rstrip("/")}

    curated = {c["name"]: c for c in _mapping_columns(mapping)}
    used: set[str] = set()
    columns: list[dict[str, Any]] = []
    by_label: dict[str, str] = {}
    for field, label, name, term in zip(raw_fields, labels, canonical, terms):
        wanted = column_name(name)
        column_id, n = wanted, 2
        while column_id in used:
            column_id, n = f"{wanted}_{n}", n + 1
        used.add(column_id)
        by_label[label] = column_id
        column: dict[str, Any] = {
            "name": column_id, "titles": label.strip() or label,
            "propertyUrl": uris.term(publisher, dataset, term),
            "datatype": datatype_for(field), "null": _null(schema, field),
        }
        if (field.get("constraints") or {}).get("required"):
            column["required"] = True
        if field.get("description"):
            column["dc:description"] = str(field["description"])
        extra = curated.get(wanted)
        if extra is not None:
            column.update({k: copy.deepcopy(extra[k]) for k in CURATED if k in extra})
            if wanted != column_id and "valueUrl" in extra:  # a repeated field: its own cell
                column["valueUrl"] = extra["valueUrl"].replace("{" + wanted + "}", "{" + column_id + "}")
        columns.append(column)

    for name in derived:  # in the order the pre-pass appended them
        if name in used:
            raise MappingError(f"{table_url}: derived column {name!r} clashes with a schema field")
        used.add(name)
        extra = curated.get(name)
        if extra is None or extra.get("virtual"):  # not curated: a term of the dataset, as a string
            columns.append({"name": name, "titles": name,
                            "propertyUrl": uris.term(publisher, dataset, slugify(name))})
        else:
            columns.append({"titles": name, **copy.deepcopy(extra), "name": name})

    key_columns = []
    for key in _key_fields(schema):
        if key not in by_label:
            raise MappingError(f"{table_url}: primary key field {key!r} is not in the schema")
        key_columns.append(by_label[key])
    about = row_template(things, key_columns)
    if not key_columns and report is not None:
        report.add("mapping/unstable-row-identity", "warning",
                   "the table has no primary key, so its rows are numbered: a row inserted on "
                   "re-publication shifts the IRIs of the rows after it; declare a primary key")
    placeholders = {"row": about, **placeholders}

    virtual = [{"name": ROW_CLASS_COLUMN, "virtual": True, "propertyUrl": RDF_TYPE,
                "valueUrl": uris.term(publisher, dataset, ROW_CLASS)}]
    present = used | {ROW_CLASS_COLUMN}
    for name, extra in curated.items():
        if not extra.get("virtual"):
            continue
        needs = {v for key in _TEMPLATES if isinstance(extra.get(key), str)
                 for v in variables_of(_fill(extra[key], placeholders))}
        requires = extra.get("dc:requires", [])
        needs |= {requires} if isinstance(requires, str) else set(requires)
        if any(not v.startswith("_") and v not in present for v in needs):
            continue  # it describes derived values this table does not have
        if name in present:
            raise MappingError(f"{table_url}: virtual column {name!r} clashes with another column")
        present.add(name)
        virtual.append(copy.deepcopy(extra))

    for column in columns + virtual:
        for key in _TEMPLATES:
            if isinstance(column.get(key), str):
                column[key] = _fill(column[key], placeholders)

    table_schema: dict[str, Any] = {"aboutUrl": about, "columns": columns + virtual}
    if key_columns:
        table_schema["primaryKey"] = key_columns
    metadata: dict[str, Any] = {"@context": CSVW_CONTEXT, "url": table_url, "tableSchema": table_schema}
    if dialect is not None:
        metadata["dialect"] = dict(dialect)
    return metadata
