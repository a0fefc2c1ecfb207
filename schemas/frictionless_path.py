"""The frictionless path: Frictionless reads and checks the table, row by row, into a collector.

It covers every Table Schema feature (foreign keys included) and is the reference the fast path
is measured against. Rows are streamed: errors go to an `IssueCollector` as they are found, so
neither the rows nor the errors are held. Budgets (rows, time) and ``limitErrors`` stop it with
the report marked partial. Per-row errors that a broken header causes are reported as
Frictionless 5.19 did (an extra cell or a missing cell in every row), so that a collapsed
cascade still carries its true count; 5.20+ reports only the label.
"""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frictionless import Detector, Dialect, FrictionlessException, Schema, formats, system
from frictionless.helpers import is_safe_path
from frictionless.resources import TableResource

from schemas.collector import IssueCollector
from schemas.guard import Limits, csv_field_limit
from schemas.structure import Structure, analyse

if TYPE_CHECKING:
    from schemas.validation import TableDescription

#: Data rows Frictionless looks at to infer a schema.
INFER_ROWS = 1000
#: Rows between two looks at the clock.
_CLOCK_EVERY = 1000


@dataclass(frozen=True)
class PathStats:
    """What a checking path did: rows read, whether it stopped early, the header's analysis."""

    rows: int
    partial: bool
    structure: Structure | None


def table_resource(where: str, layout: Any, schema: Schema | None) -> TableResource:
    """A Frictionless resource that reads the file with exactly the detected dialect.

    `layout` has ``encoding``, ``delimiter``, ``quotechar`` and ``header_row`` (0: no header).
    """
    control = formats.CsvControl()
    # Assigning after construction marks each option as set, so Frictionless' own sniffer
    # (which runs on every read) cannot override what we detected and report.
    control.delimiter = layout.delimiter
    control.quote_char = layout.quotechar
    control.double_quote = True
    control.skip_initial_space = False
    if layout.header_row:
        dialect = Dialect(header_rows=[layout.header_row], controls=[control])
    else:
        dialect = Dialect(header=False, controls=[control])
    path = Path(where)
    options: dict[str, Any] = {"format": "csv", "encoding": layout.encoding, "dialect": dialect,
                               "detector": Detector(sample_size=INFER_ROWS, field_confidence=1.0)}
    if schema is not None:
        options["schema"] = schema
    if is_safe_path(path.name):
        return TableResource(path=path.name, basepath=str(path.resolve().parent), **options)
    return TableResource(path=str(path.resolve()), **options)


def trusted(where: str) -> Any:
    """Context in which Frictionless reads a local file whose name it would call unsafe."""
    return system.use_context(trusted=None if is_safe_path(Path(where).name) else True)


def check(table: TableDescription, collector: IssueCollector, *, limits: Limits,
          deadline: float | None = None, declared: dict[str, Any] | None = None) -> PathStats:
    """Check every row of `table` against its schema with Frictionless, into `collector`."""
    schema = Schema.from_descriptor(copy.deepcopy(table.schema))
    resource = table_resource(table.path, table, schema)
    with trusted(table.path):
        return check_resource(resource, collector, header_row=table.header_row,
                              schema=table.schema, path=Path(table.path), limits=limits,
                              deadline=deadline, declared=declared)


def check_resource(resource: TableResource, collector: IssueCollector, *, header_row: int,
                   schema: dict[str, Any], path: Path | None, limits: Limits,
                   deadline: float | None = None, declared: dict[str, Any] | None = None
                   ) -> PathStats:
    """Check a Frictionless table resource (alone, or in its package) into `collector`."""
    with csv_field_limit(limits.max_field_bytes):
        try:
            resource.open()
        except FrictionlessException as exc:
            resource.close()
            for error in exc.to_errors():
                collector.structural(error.type, error.message)
            return PathStats(0, False, None)
        try:
            structure = _header(resource, header_row, schema, collector)
            rows, partial = _rows(resource, structure, collector, limits, deadline)
        finally:
            resource.close()
    if not partial and declared and path is not None:
        _declared_stats(path, rows, declared, collector)
    return PathStats(rows, partial, structure)


def _header(resource: TableResource, header_row: int, schema: dict[str, Any],
            collector: IssueCollector) -> Structure:
    """Report the label errors, explained, and tell the collector which fields cascade."""
    errors = list(resource.header.errors) if header_row else []
    structure = analyse(list(resource.labels or []) if header_row else [], errors, schema)
    collector.cascade_fields.update(structure.cascade_fields)
    collector.cascade_columns.update(structure.cascade_columns)
    for issue in structure.issues:
        collector.structural(issue.type, issue.message, row=header_row or None,
                             column=issue.column, field=issue.field, value=issue.label)
    return structure


def _rows(resource: TableResource, structure: Structure, collector: IssueCollector,
          limits: Limits, deadline: float | None) -> tuple[int, bool]:
    """Stream the rows into the collector; returns (rows read, stopped early)."""
    rows = 0
    stream = resource.row_stream
    while True:
        try:
            row = next(stream)
        except FrictionlessException as exc:
            collector.structural(exc.error.type, exc.error.message)
            if collector.stopped:
                break
            continue
        except StopIteration:
            return rows, False
        rows += 1
        blank = False
        for error in row.errors:
            blank = blank or error.type == "blank-row"
            field = getattr(error, "field_name", None) or None
            if field is None and error.type == "primary-key":
                key = resource.schema.primary_key
                field = key[0] if len(key) == 1 else None
            collector.error(error.type, error.message, row=error.row_number, field=field,
                            column=getattr(error, "field_number", None),
                            value=getattr(error, "cell", None))
        if not blank:
            _header_cascade(row.row_number, row.cells, structure, collector)
        if collector.stopped:
            collector.note("table/error-limit", "warning",
                           f"stopped after {collector.limit_errors} errors: the rest of the file was "
                           "not checked")
            return rows, True
        if limits.max_rows is not None and rows >= limits.max_rows:
            collector.note("table/row-budget", "warning",
                           f"stopped after {rows:,} rows (the row budget): the rest of the file was "
                           "not checked")
            return rows, True
        if deadline is not None and rows % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
            collector.note("table/time-budget", "warning",
                           f"stopped after {rows:,} rows (the time budget of {limits.max_seconds} s): "
                           "the rest of the file was not checked")
            return rows, True
    return rows, True


def _header_cascade(row_number: int, cells: list[Any], structure: Structure,
                    collector: IssueCollector) -> None:
    """The per-row errors a broken header causes, which Frictionless 5.20+ no longer reports."""
    width = len(cells)
    for column in structure.cascade_columns:
        if column <= width:
            collector.error("extra-cell", f"row {row_number} has a cell in column {column}, which "
                            "has no field", row=row_number, column=column,
                            value=str(cells[column - 1]))
    for column, spec in structure.missing_fields:
        if column <= width:
            continue
        name = str(spec.get("name"))
        if (spec.get("constraints") or {}).get("required"):
            collector.error("constraint-error", f"row {row_number} has no value for the required "
                            f"field {name!r}", row=row_number, field=name, column=column)
        collector.error("missing-cell", f"row {row_number} has no cell for field {name!r}",
                        row=row_number, field=name, column=column)


def _declared_stats(path: Path, rows: int, declared: dict[str, Any],
                    collector: IssueCollector) -> None:
    """Compare the Data Resource's declared ``bytes``, ``hash`` and ``rows`` with the file."""
    if declared.get("hash"):
        algorithm, _, expected = str(declared["hash"]).rpartition(":")
        algorithm = algorithm or "md5"
        if algorithm in ("md5", "sha256"):
            digest = hashlib.new(algorithm)
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            if digest.hexdigest() != expected:
                collector.error("hash-count", f"the file's {algorithm} hash does not match the "
                                f'declared one: expected is "{expected}" and actual is '
                                f'"{digest.hexdigest()}"')
    if declared.get("bytes"):
        size = path.stat().st_size
        if int(declared["bytes"]) != size:
            collector.error("byte-count", "the file's size does not match the declared bytes: "
                            f'expected is "{declared["bytes"]}" and actual is "{size}"')
    if declared.get("rows"):
        if int(declared["rows"]) != rows:
            collector.error("row-count", "the number of rows does not match the declared rows: "
                            f'expected is "{declared["rows"]}" and actual is "{rows}"')
