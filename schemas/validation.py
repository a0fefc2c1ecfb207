"""The validation step: how a CSV file is written, and whether it fits its Table Schema.

`describe_table` finds the encoding, the delimiter, the header row and the schema (given or
inferred); `validate_table` checks the whole file and turns each problem into an `Issue` coded
``table/<frictionless error type>``, located by file, row, field and column, with the cell's
value. In order:

1. guard-rails, before any parser (`schemas.guard`): a gzip'd or zipped table is decoded with a
   byte budget; line length, cell size and cells per record are capped;
2. sniffing (`schemas.sniff`) and the schema (given, or inferred from the first rows);
3. a checking path: the vectorised fast path (`schemas.fastpath`) when it covers the schema and
   the header matches, else Frictionless (`schemas.frictionless_path`); the report says which,
   and why;
4. shaping (`schemas.collector`): structure first and once, cascades collapsed, a cap per type,
   true totals.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from frictionless import FrictionlessException

from portal.errors import DataError, NotFoundError
from portal.report import Report
from schemas import checking, frictionless_path
from schemas.collector import IssueCollector
from schemas.guard import (
    Breach,
    GuardBreached,
    Limits,
    compression_of,
    csv_field_limit,
    decompress,
    restore_csv_field_limit,
    scan,
)
from schemas.loader import load_schema
from schemas.sniff import EmptySource, Layout, sniff
from schemas.structure import Structure

# Importing frictionless raised the csv module's field limit for the whole process.
restore_csv_field_limit()

#: Data rows Frictionless looks at to infer a schema.
INFER_ROWS = frictionless_path.INFER_ROWS
#: Lines after the header that the byte scan checks before inference and the header check read
#: the head of the file (more than either reads); the whole file is scanned before Frictionless.
HEAD_ROWS = 2 * INFER_ROWS
#: How many times an inferred type that later rows break is widened to string.
_WIDEN_ROUNDS = 3


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
    records); it equals the physical line number unless a preamble record spans lines. It is 0
    for a table declared to have no header. Row numbers in issues count the same way, so the
    first data row of a plain CSV is row 2. Frictionless compares header labels with field names
    after stripping surrounding spaces. A compressed file is read from its decoded copy:
    ``path`` is that copy and ``decoded_from`` the file given.
    """

    path: str
    encoding: str
    delimiter: str
    quotechar: str
    header_row: int
    schema: dict[str, Any]
    schema_source: str
    decoded_from: str | None = None

    def csv_options(self) -> dict[str, Any]:
        """Keyword arguments for `csv.reader` that parse the file exactly as it was validated."""
        return {"delimiter": self.delimiter, "quotechar": self.quotechar, "doublequote": True,
                "skipinitialspace": False, "strict": False}


def describe_table(path: str | Path, schema: str | Path | dict[str, Any] | None = None
                   ) -> TableDescription:
    """Detect how a CSV file is written and pick its schema (load the given one, or infer one).

    Raises `NotFoundError` for a missing file and `DataError` for a file that is not a table.
    """
    return _with_schema(str(path), sniff(Path(path)), schema)


def validate_table(path: str | Path, schema: str | Path | dict[str, Any] | None = None, *,
                   limit_errors: int | None = None, pick_errors: list[str] | None = None,
                   header: bool = True, declared: dict[str, Any] | None = None,
                   limits: Limits | None = None, engine: str = "auto"
                   ) -> tuple[Report, TableDescription]:
    """Validate a CSV file against a Table Schema (bundled name, file or dict) or an inferred one.

    Problems in the file are issues in the returned `Report`, never exceptions: a file that is
    not a table gives one ``table/unreadable`` error, an empty one ``table/source-error``, a
    schema that is not a valid Table Schema ``table/schema-error``, a broken guard-rail its own
    code. A missing file or an unknown bundled schema raises `NotFoundError`.

    `limit_errors` and `pick_errors` are Frictionless' ``limitErrors`` and ``pickErrors``;
    `header=False` reads a table without a header row; `declared` holds a Data Resource's
    ``bytes``, ``rows`` and ``hash`` to check; `limits` sets the guard-rails and the row and time
    budgets; `engine` is ``auto``, ``fast`` or ``frictionless``. A gzip'd or zipped table is
    checked from a decoded copy: when ``decoded_from`` is set, the caller deletes ``table.path``.
    """
    where = str(path)
    limits = limits or Limits()
    deadline = limits.deadline()
    report = Report(subject=where)
    source = Path(path)
    if not source.exists():
        raise NotFoundError(f"table file {source} does not exist")
    read_path, decoded_from = source, None
    if source.is_file() and compression_of(source):
        decoded, breach = decompress(source, limits)
        if decoded is None:
            assert breach is not None
            return _refused(report, where, schema, breach.code, breach.message)
        read_path, decoded_from = decoded, where
    try:
        return _validate(report, where, read_path, decoded_from, schema, limits, deadline, engine,
                         header=header, limit_errors=limit_errors, pick_errors=pick_errors,
                         declared=declared)
    except BaseException:
        if decoded_from is not None:
            read_path.unlink(missing_ok=True)
        raise


def _validate(report: Report, where: str, read_path: Path, decoded_from: str | None,
              schema: str | Path | dict[str, Any] | None, limits: Limits, deadline: float | None,
              engine: str, *, header: bool, limit_errors: int | None,
              pick_errors: list[str] | None, declared: dict[str, Any] | None
              ) -> tuple[Report, TableDescription]:
    """`validate_table` once the file to read is known (the given one, or its decoded copy)."""
    def refused(code: str, message: str, layout: Layout | None = None, **kw: Any
                ) -> tuple[Report, TableDescription]:
        if decoded_from is not None:
            read_path.unlink(missing_ok=True)
        return _refused(report, where, kw.pop("schema", schema), code, message, layout, **kw)

    try:
        layout = sniff(read_path)
    except EmptySource:
        return refused("table/source-error", "the source is empty")
    except NotFoundError:
        raise
    except DataError as exc:
        return refused("table/unreadable", str(exc).replace(str(read_path), where))
    if not header:
        layout = replace(layout, header_row=0)
    # The byte scan runs before any Python parser reads a line: here over the head that inference
    # and the header check read, and over the whole file before the Frictionless path
    # (`checking.run`). The fast path's pyarrow reader is bounded by its own block size.
    def guard(lines: int | None = None) -> Breach | None:
        return scan(read_path, limits, encoding=layout.encoding, delimiter=layout.delimiter,
                    quotechar=layout.quotechar, lines=lines)

    breach = guard(layout.header_row + HEAD_ROWS)
    if breach is not None:
        return refused(breach.code, breach.message, layout)
    try:
        with csv_field_limit(limits.max_field_bytes):  # inference reads the first rows
            table = _with_schema(str(read_path), layout, schema)
    except NotFoundError:
        raise
    except DataError as exc:
        if schema is not None:
            return refused("table/schema-error", str(exc), layout, schema=None, given=schema)
        return refused("table/unreadable", str(exc), layout, schema=None)
    table = replace(table, decoded_from=decoded_from)

    options = {"limit_errors": limit_errors, "pick_errors": pick_errors, "declared": declared}
    for round_ in range(_WIDEN_ROUNDS + 1):
        try:
            collector, rows, partial, structure, engine_used = checking.run(
                table, lambda: IssueCollector(where, pick=pick_errors, limit_errors=limit_errors),
                limits, deadline, engine, options, guard)
        except GuardBreached as exc:
            return refused(exc.breach.code, exc.breach.message, layout)
        broken = collector.type_error_fields if table.schema_source == "inferred" else set()
        if not broken or round_ == _WIDEN_ROUNDS:
            break
        table = _widen(table, broken, report)
    collector.finish(report)
    _set_stats(report, table, rows=rows, partial=partial, structure=structure, **engine_used)
    if engine_used.get("fast_counts"):
        checking.true_counts(report, engine_used.pop("fast_counts"))
    return report, table


def _refused(report: Report, where: str, schema: Any, code: str, message: str,
             layout: Layout | None = None, *, given: Any = None) -> tuple[Report, TableDescription]:
    """A report with one issue about why the table was not checked at all."""
    layout = layout or Layout("utf-8", ",", '"', 1)
    try:
        table = _with_schema(where, layout, schema, infer=False)
    except DataError:
        table = _with_schema(where, layout, None, infer=False)
    if given is not None:
        table = replace(table, schema_source=f"given:{_label(given)}")
    kind = code.split("/", 1)[1]
    report.add(code, "error", message, file=where)
    _set_stats(report, table, rows=0, partial=False, structure=None, engine="none",
               engine_reason=f"not checked: {kind}")
    if code in ("table/unreadable", "table/source-error"):
        report.stats.update(encoding=None, delimiter=None, header_row=None)
    return report, table


def _set_stats(report: Report, table: TableDescription, *, rows: int, partial: bool,
               structure: Structure | None, engine: str, engine_reason: str | None = None,
               **_: Any) -> None:
    """Record the counts, the path that checked the table, and the detected layout."""
    report.stats.update(rows=rows, fields=len(table.schema.get("fields", [])),
                        errors=report.totals()["errors"], encoding=table.encoding,
                        delimiter=table.delimiter, header_row=table.header_row,
                        schema_source=table.schema_source, partial=partial, engine=engine,
                        engine_reason=engine_reason)
    if structure is not None and not structure.matches:
        report.stats["header"] = structure.to_dict()


# --- schema -----------------------------------------------------------------------------------


def _label(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("name") or schema.get("title") or "descriptor")
    return str(schema)


def _with_schema(where: str, layout: Layout, schema: str | Path | dict[str, Any] | None, *,
                 infer: bool = True) -> TableDescription:
    """Attach the given schema (loaded and checked) or an inferred one to a layout."""
    if schema is not None:
        descriptor = load_schema(schema)
        source = f"given:{_label(descriptor if isinstance(schema, dict) else schema)}"
    elif infer:
        descriptor, source = _infer_schema(where, layout), "inferred"
    else:
        descriptor, source = {"fields": []}, "inferred"
    return TableDescription(where, layout.encoding, layout.delimiter, layout.quotechar,
                            layout.header_row, descriptor, source)


def _infer_schema(where: str, layout: Layout) -> dict[str, Any]:
    """Infer a schema from the first `INFER_ROWS` data rows; zero-padded numbers stay strings."""
    resource = frictionless_path.table_resource(where, layout, None)
    try:
        with frictionless_path.trusted(where):
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


def _widen(table: TableDescription, broken: set[str], report: Report) -> TableDescription:
    """Read fields of an inferred schema that later rows break as strings (an info issue each)."""
    schema = copy.deepcopy(table.schema)
    for field in schema.get("fields", []):
        if field.get("name") in broken:
            report.add("schema/widened", "info",
                       f"inferred type {field.get('type')!r} of field {field['name']!r} "
                       "does not fit every row; the field is read as a string",
                       file=report.subject, field=field["name"])
            field["type"] = "string"
            field.pop("format", None)
    return replace(table, schema=schema)
