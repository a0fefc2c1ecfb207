"""Which path checks a table: the vectorised fast path when it can, else Frictionless.

`run` tries the fast path (`schemas.fastpath`) when it is installed, covers the schema, and the
header matches the schema; otherwise, or when the fast path cannot read the file exactly as
`csv.reader` does, the frictionless path checks it. Either way the errors go to one
`IssueCollector`, and the report's stats say which path ran and why a fallback happened.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from frictionless import FrictionlessException, Schema

from portal.errors import DataError, PortalError
from portal.report import Report
from schemas import frictionless_path
from schemas.collector import IssueCollector
from schemas.guard import Breach, GuardBreached, Limits, csv_field_limit
from schemas.structure import Structure, analyse

if TYPE_CHECKING:
    from schemas.validation import TableDescription

log = logging.getLogger(__name__)

#: Error types about one cell, located by the field's position.
_CELL_TYPES = frozenset({"type-error", "constraint-error", "unique-error", "missing-cell"})


def fast_path() -> ModuleType | None:
    """The vectorised fast path (`schemas.fastpath`), or None when it is not available."""
    try:
        from schemas import fastpath
    except ImportError:
        return None
    return fastpath


def run(table: TableDescription, new_collector: Callable[[], IssueCollector], limits: Limits,
        deadline: float | None, engine: str, options: dict[str, Any],
        guard: Callable[[], Breach | None] = lambda: None,
        ) -> tuple[IssueCollector, int, bool, Structure | None, dict[str, Any]]:
    """Run the fast path when it can check this table, else the frictionless path.

    `guard` is the whole-file byte scan: it runs before the Frictionless path reads the file
    (raising `GuardBreached`); the fast path's pyarrow reader is bounded by its block size and
    falls back to the Frictionless path for any record it cannot read.
    """
    collector = new_collector()
    reason = _why_not_fast(table, engine, options)
    if reason is None:
        module = fast_path()
        assert module is not None
        with csv_field_limit(limits.max_field_bytes):
            structure = header_structure(table)
        if structure.matches:
            try:
                rows, partial, counts = _run_fast(module, table, collector, limits, deadline,
                                                  options.get("limit_errors"))
                return collector, rows, partial, structure, {
                    "engine": "fast", "engine_reason": None, "fast_counts": counts}
            except (PortalError, FrictionlessException):
                raise
            except Exception as exc:  # the fast path is an optimisation: fall back, and say why
                if not isinstance(exc, getattr(module, "FastPathUnsupported", ())):
                    log.warning("fast path failed on %s: %s", table.path, exc)
                reason = f"the fast path cannot read this file exactly: {exc}"
                collector = new_collector()
        else:
            reason = "the header does not match the schema; the fast path checks matching headers only"
    elif engine == "fast":
        raise DataError(f"the fast path cannot check {table.path}: {reason}")
    breach = guard()
    if breach is not None:
        raise GuardBreached(breach)
    stats = frictionless_path.check(table, collector, limits=limits, deadline=deadline,
                                    declared=options.get("declared"))
    return collector, stats.rows, stats.partial, stats.structure, {
        "engine": "frictionless", "engine_reason": reason}


def _why_not_fast(table: TableDescription, engine: str, options: dict[str, Any]) -> str | None:
    """None when the fast path may check this table, else why not."""
    if engine == "frictionless":
        return "the frictionless path was asked for"
    module = fast_path()
    if module is None:
        return "the fast path is not installed"
    if options.get("pick_errors") or options.get("declared"):
        return "pickErrors and declared bytes/rows/hash are checked by the frictionless path"
    if not table.header_row:
        return "a table without a header row is checked by the frictionless path"
    why: str | None = module.covers(table.schema)
    return why


def header_structure(table: TableDescription) -> Structure:
    """The header's label errors against the schema, read by Frictionless (foreign keys aside)."""
    descriptor = copy.deepcopy(table.schema)
    descriptor.pop("foreignKeys", None)
    resource = frictionless_path.table_resource(table.path, table, Schema.from_descriptor(descriptor))
    with frictionless_path.trusted(table.path):
        try:
            resource.open()
            return analyse(list(resource.labels or []), list(resource.header.errors), table.schema)
        except FrictionlessException:
            return analyse([], [], table.schema)
        finally:
            resource.close()


def _run_fast(module: ModuleType, table: TableDescription, collector: IssueCollector,
              limits: Limits, deadline: float | None, limit_errors: int | None
              ) -> tuple[int, bool, dict[str, int]]:
    """Run the fast path into a scratch report, then feed its issues to the collector."""
    scratch = Report(subject=table.path)
    stats = module.check_table(table, report=scratch, limit_errors=limit_errors,
                               max_rows=limits.max_rows, deadline=deadline,
                               max_record_bytes=min(limits.max_field_bytes, limits.max_line_bytes))
    positions = {f.get("name"): n for n, f in enumerate(table.schema.get("fields", []), start=1)}
    for issue in scratch.issues:
        kind = issue.code.split("/", 1)[-1]
        where = issue.location
        column = where.column
        if column is None and kind in _CELL_TYPES:
            column = positions.get(where.field)
        if issue.severity == "error":
            collector.error(kind, issue.message, row=where.row, field=where.field,
                            column=column, value=issue.value)
        else:
            collector.note(issue.code, issue.severity, issue.message)
    partial = bool(getattr(stats, "partial", False))
    stopped_by = getattr(stats, "stopped_by", None)
    notes = {"limit_errors": ("table/error-limit", f"stopped after {limit_errors} errors"),
             "max_rows": ("table/row-budget", f"stopped after {limits.max_rows} rows (the row budget)"),
             "deadline": ("table/time-budget",
                          f"stopped at the time budget of {limits.max_seconds} s")}
    if partial:
        code, text = notes.get(str(stopped_by), ("table/partial", "stopped early"))
        collector.note(code, "warning", f"{text}: the rest of the file was not checked")
    counts = getattr(stats, "errors", None)
    return int(getattr(stats, "rows", 0)), partial, dict(counts) if isinstance(counts, dict) else {}


def true_counts(report: Report, counts: dict[str, int]) -> None:
    """Raise each code's count to the fast path's true total when it found more than it listed."""
    for kind, total in counts.items():
        code = kind if "/" in kind else f"table/{kind}"
        missing = int(total) - report.counts.get(code, 0)
        if missing > 0:
            report.tally(code, "error", missing)
    report.stats["errors"] = report.totals()["errors"]
