"""The validation step: how a CSV file is written, and whether it fits its Table Schema.

`describe_table` finds the encoding, the delimiter, the header row and the schema (given or
inferred); `validate_table` runs Frictionless over the whole file and turns each problem into an
`Issue` coded ``table/<frictionless error type>``, located by file, row and field.
"""

from __future__ import annotations

import codecs
import copy
import csv
import io
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from frictionless import (
    Detector,
    Dialect,
    FrictionlessException,
    Schema,
    formats,
    system,
)
from frictionless.helpers import is_safe_path
from frictionless.resources import TableResource

from portal.errors import DataError, NotFoundError
from portal.report import Report
from schemas.loader import load_schema

#: Bytes read from the start of a file to find its dialect and header row.
SAMPLE_BYTES = 256 * 1024
#: Data rows Frictionless looks at to infer a schema.
INFER_ROWS = 1000
#: Records before the header that may be a preamble (title, report parameters, blank lines).
MAX_PREAMBLE = 20
#: Delimiters tried, in order of preference when equally plausible.
DELIMITERS = (",", ";", "\t", "|")

_MAGIC = {
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or an XLSX/ODS spreadsheet)",
    b"\xd0\xcf\x11\xe0": "an OLE2 document (e.g. an XLS spreadsheet)",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}


@dataclass(frozen=True)
class TableDescription:
    """How to read a CSV: encoding, dialect, header row, and its Table Schema.

    To read the file as validated::

        with open(table.path, encoding=table.encoding, newline="") as f:
            rows = csv.reader(f, **table.csv_options())
            for _ in range(table.header_row - 1):
                next(rows)                   # preamble records
            header = next(rows)              # data rows follow

    ``header_row`` counts *records* as `csv.reader` yields them (blank lines count as empty
    records); it equals the physical line number unless a preamble record spans lines. Row
    numbers in issues count the same way, so the first data row of a plain CSV is row 2.
    Frictionless compares header labels with field names after stripping surrounding spaces.
    """

    path: str
    encoding: str
    delimiter: str
    quotechar: str
    header_row: int
    schema: dict[str, Any]
    schema_source: str

    def csv_options(self) -> dict[str, Any]:
        """Keyword arguments for `csv.reader` that parse the file exactly as it was validated."""
        return {"delimiter": self.delimiter, "quotechar": self.quotechar, "doublequote": True,
                "skipinitialspace": False, "strict": False}


@dataclass(frozen=True)
class _Layout:
    """What sniffing a file found, before any schema is chosen."""

    encoding: str
    delimiter: str
    quotechar: str
    header_row: int


def describe_table(path: str | Path, schema: str | Path | dict[str, Any] | None = None
                   ) -> TableDescription:
    """Detect how a CSV file is written and pick its schema (load the given one, or infer one).

    Raises `NotFoundError` for a missing file and `DataError` for a file that is not a table.
    """
    layout = _sniff(Path(path))
    return _with_schema(str(path), layout, schema)


def validate_table(path: str | Path, schema: str | Path | dict[str, Any] | None = None, *,
                   limit_errors: int = 1000) -> tuple[Report, TableDescription]:
    """Validate a CSV file against a Table Schema (bundled name, file or dict) or an inferred one.

    Problems in the file are issues in the returned `Report`, never exceptions; a file that is
    not a table at all gives one ``table/unreadable`` error. A missing file raises
    `NotFoundError`, an unusable schema `DataError`.
    """
    where = str(path)
    report = Report(subject=where)
    try:
        layout = _sniff(Path(path))
    except NotFoundError:
        raise
    except DataError as exc:
        table = _with_schema(where, _Layout("utf-8", ",", '"', 1), schema, infer=False)
        report.add("table/unreadable", "error", str(exc), file=where)
        _set_stats(report, table, {}, truncated=False)
        report.stats.update(encoding=None, delimiter=None, header_row=None)
        return report, table
    try:
        table = _with_schema(where, layout, schema)
    except DataError as exc:  # nothing to infer from: no header row, or unparsable
        if schema is not None:
            raise
        table = _with_schema(where, layout, None, infer=False)
        report.add("table/unreadable", "error", str(exc), file=where)
        _set_stats(report, table, {}, truncated=False)
        return report, table

    result = _frictionless_validate(table, limit_errors)
    if table.schema_source == "inferred":
        table, result = _widen_until_typed(table, result, limit_errors, report)
    _add_issues(report, table, result)
    task = result.tasks[0] if result.tasks else None
    truncated = task is not None and any("error limit" in w for w in task.warnings)
    if truncated:
        report.add("table/error-limit", "warning",
                   f"stopped after {limit_errors} errors: the rest of the file was not checked",
                   file=where)
    _set_stats(report, table, task.stats if task is not None else {}, truncated=truncated)
    return report, table


def _set_stats(report: Report, table: TableDescription, stats: dict[str, Any], *,
               truncated: bool) -> None:
    """Record the counts and the detected layout in the report."""
    report.stats.update(rows=stats.get("rows", 0), fields=len(table.schema.get("fields", [])),
                        errors=len(report.errors), encoding=table.encoding,
                        delimiter=table.delimiter, header_row=table.header_row,
                        schema_source=table.schema_source, truncated=truncated)


# --- sniffing ------------------------------------------------------------------------------


def _sniff(path: Path) -> _Layout:
    """Encoding, delimiter and header row of a file; DataError when it is not a CSV table."""
    if not path.exists():
        raise NotFoundError(f"table file {path} does not exist")
    if not path.is_file():
        raise DataError(f"{path} is not a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(SAMPLE_BYTES)
            truncated = bool(fh.read(1))
        encoding = _detect_encoding(path, head)
    except OSError as exc:
        raise DataError(f"{path} cannot be read: {exc}") from exc
    _refuse_non_table(path, head, encoding)
    text = head.decode(encoding, errors="replace")
    if truncated:
        text = text[: text.rfind("\n") + 1] or text
    delimiter = _detect_delimiter(text, truncated)
    records = _records(text, delimiter, truncated)
    return _Layout(encoding, delimiter, '"', _detect_header_row(records))


def _detect_encoding(path: Path, head: bytes) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes strictly, else cp1252 or latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        try:
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8" and head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return encoding
    return "latin-1"


def _refuse_non_table(path: Path, head: bytes, encoding: str) -> None:
    """Raise DataError for empty files, binary files, HTML and XML documents."""
    if not head.strip():
        raise DataError(f"{path} is empty")
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"{path} is {kind}, not a CSV table")
    if encoding != "utf-16" and b"\x00" in head[:8192]:
        raise DataError(f"{path} holds binary data (NUL bytes), not a CSV table")
    start = head[:1024].decode(encoding, errors="replace").lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html")) or ("<head" in start and "<" == start[:1]):
        raise DataError(f"{path} is an HTML page, not a CSV table")
    if start.startswith("<?xml"):
        raise DataError(f"{path} is an XML document, not a CSV table")


def _records(text: str, delimiter: str, truncated: bool, limit: int = 200) -> list[list[str]]:
    """The first records of a sample, dropping the last one when the sample was cut short."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"',
                        strict=False)
    rows: list[list[str]] = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > limit:
                break
    except csv.Error:
        pass
    if truncated and rows:
        rows.pop()
    return rows[:limit]


def _detect_delimiter(text: str, truncated: bool) -> str:
    """The delimiter that splits most sample records into the same number (≥ 2) of cells.

    Among delimiters within 0.1 of the best consistency, the one giving the most columns wins,
    so a comma file with a few ragged rows is not mistaken for a two-column semicolon file.
    """
    scored: list[tuple[float, int, str]] = []
    for delimiter in DELIMITERS:
        widths = [len(r) for r in _records(text, delimiter, truncated) if any(c.strip() for c in r)]
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width >= 2:
            scored.append((count / len(widths), width, delimiter))
    if not scored:
        return ","
    best = max(share for share, _, _ in scored)
    plausible = [s for s in scored if s[0] >= best - 0.1]
    return max(plausible, key=lambda s: (s[1], s[0], -DELIMITERS.index(s[2])))[2]


def _detect_header_row(records: list[list[str]]) -> int:
    """1-based record number of the header: the first record with two or more non-blank cells.

    Blank records and one-cell title lines before it (a report preamble) are skipped; a table
    with a single column has its header on the first non-blank record.
    """
    for number, row in enumerate(records[: MAX_PREAMBLE + 1], start=1):
        if sum(1 for cell in row if cell.strip()) >= 2:
            return number
    for number, row in enumerate(records[: MAX_PREAMBLE + 1], start=1):
        if any(cell.strip() for cell in row):
            return number
    return 1


# --- schema --------------------------------------------------------------------------------


def _with_schema(where: str, layout: _Layout, schema: str | Path | dict[str, Any] | None, *,
                 infer: bool = True) -> TableDescription:
    """Attach the given schema (loaded and checked) or an inferred one to a layout."""
    if schema is not None:
        descriptor = load_schema(schema)
        if isinstance(schema, dict):
            label = str(descriptor.get("name") or descriptor.get("title") or "descriptor")
        else:
            label = str(schema)
        source = f"given:{label}"
    elif infer:
        descriptor, source = _infer_schema(where, layout), "inferred"
    else:
        descriptor, source = {"fields": []}, "inferred"
    return TableDescription(where, layout.encoding, layout.delimiter, layout.quotechar,
                            layout.header_row, descriptor, source)


def _infer_schema(where: str, layout: _Layout) -> dict[str, Any]:
    """Infer a schema from the first `INFER_ROWS` data rows; zero-padded numbers stay strings."""
    resource = _resource(where, layout, None)
    try:
        with _trust(where):
            resource.infer()
    except FrictionlessException as exc:
        raise DataError(f"{where}: cannot read the table: {exc.error.message}") from exc
    descriptor: dict[str, Any] = resource.schema.to_descriptor()
    fields = descriptor.get("fields", [])
    for index, field in enumerate(fields):
        if field.get("type") in ("integer", "number", "year"):
            cells = (row[index] for row in resource.fragment if index < len(row))
            if any(_zero_padded(cell) for cell in cells):
                field["type"] = "string"
                field.pop("format", None)
    if not fields:
        raise DataError(f"{where}: no header row with column names was found")
    return descriptor


def _zero_padded(cell: Any) -> bool:
    """True for a numeric-looking cell whose leading zero would be lost, like ``05``."""
    text = str(cell).strip().lstrip("+-")
    return len(text) > 1 and text[0] == "0" and text[1].isdigit()


def _widen_until_typed(table: TableDescription, result: Any, limit_errors: int,
                       report: Report) -> tuple[TableDescription, Any]:
    """Re-read fields of an inferred schema as strings while later rows break their type."""
    for _ in range(3):
        broken = {e.field_name for task in result.tasks for e in task.errors
                  if e.type == "type-error"}
        if not broken:
            break
        schema = copy.deepcopy(table.schema)
        for field in schema.get("fields", []):
            if field.get("name") in broken:
                report.add("schema/widened", "info",
                           f"inferred type {field.get('type')!r} of field {field['name']!r} "
                           "does not fit every row; the field is read as a string",
                           file=table.path, field=field["name"])
                field["type"] = "string"
                field.pop("format", None)
        table = replace(table, schema=schema)
        result = _frictionless_validate(table, limit_errors)
    return table, result


# --- frictionless --------------------------------------------------------------------------


def _resource(where: str, layout: _Layout | TableDescription,
              schema: Schema | None) -> TableResource:
    """A Frictionless resource that reads the file with exactly the detected dialect."""
    control = formats.CsvControl()
    # Assigning after construction marks each option as set, so Frictionless' own sniffer
    # (which runs on every read) cannot override what we detected and report.
    control.delimiter = layout.delimiter
    control.quote_char = layout.quotechar
    control.double_quote = True
    control.skip_initial_space = False
    dialect = Dialect(header_rows=[layout.header_row], controls=[control])
    path = Path(where)
    options: dict[str, Any] = {"format": "csv", "encoding": layout.encoding, "dialect": dialect,
                               "detector": Detector(sample_size=INFER_ROWS, field_confidence=1.0)}
    if schema is not None:
        options["schema"] = schema
    if is_safe_path(path.name):
        return TableResource(path=path.name, basepath=str(path.resolve().parent), **options)
    return TableResource(path=str(path.resolve()), **options)


def _trust(where: str) -> Any:
    """Context in which Frictionless reads a local file whose name it would call unsafe."""
    return system.use_context(trusted=None if is_safe_path(Path(where).name) else True)


def _frictionless_validate(table: TableDescription, limit_errors: int) -> Any:
    """Run Frictionless validation of the whole file; returns its report."""
    schema = Schema.from_descriptor(copy.deepcopy(table.schema))
    resource = _resource(table.path, table, schema)
    with _trust(table.path):
        return resource.validate(limit_errors=limit_errors)


def _add_issues(report: Report, table: TableDescription, result: Any) -> None:
    """Turn every Frictionless error into an `Issue` coded ``table/<error type>``."""
    key = table.schema.get("primaryKey")
    key_field = key if isinstance(key, str) else None
    if isinstance(key, list) and len(key) == 1:
        key_field = key[0]
    errors = list(result.errors) + [e for task in result.tasks for e in task.errors]
    for error in errors:
        row = getattr(error, "row_number", None)
        if row is None:
            numbers = getattr(error, "row_numbers", None)
            row = numbers[0] if numbers else None
        field = getattr(error, "field_name", None)
        if field is None and error.type == "primary-key":
            field = key_field
        report.add(f"table/{error.type}", "error", error.message, file=table.path, row=row,
                   field=field)
