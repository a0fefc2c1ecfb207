"""Gathering a table's problems into a report that leads with the cause.

An `IssueCollector` receives every problem a checking path finds, in stream order, and keeps
memory bounded: structural problems first and once; per-row errors caused by the header (a
cascade) collapsed into one issue per field and type, with a true count and the first rows; other
errors listed up to a cap per type, every occurrence still counted. `pick` and `limit_errors`
behave as Frictionless' ``pickErrors`` and ``limitErrors``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from portal.report import Report, Severity

#: Issues listed per code (the rest are counted).
PER_CODE_LIMIT = 100
#: Rows named by a collapsed issue.
FIRST_ROWS = 10

#: Frictionless tags of each error type, for ``pickErrors`` by tag.
_TAGS = {
    "blank-label": ("#table", "#header", "#label"), "duplicate-label": ("#table", "#header", "#label"),
    "extra-label": ("#table", "#header", "#label"), "missing-label": ("#table", "#header", "#label"),
    "incorrect-label": ("#table", "#header", "#label"), "blank-header": ("#table", "#header"),
    "blank-row": ("#table", "#row"), "primary-key": ("#table", "#row"),
    "foreign-key": ("#table", "#row"), "extra-cell": ("#table", "#row", "#cell"),
    "missing-cell": ("#table", "#row", "#cell"), "type-error": ("#table", "#row", "#cell"),
    "constraint-error": ("#table", "#row", "#cell"), "unique-error": ("#table", "#row", "#cell"),
    "hash-count": ("#file",), "byte-count": ("#file",), "row-count": ("#table",),
    "field-count": ("#table",),
}


@dataclass
class _Group:
    """Collapsed occurrences of one error type in one cascade field or column."""

    code: str
    field_name: str | None
    column: int | None
    reason: str
    first_message: str
    first_value: str | None
    count: int = 0
    rows: list[int] = field(default_factory=list)


class IssueCollector:
    """Receives a table's problems and writes them, shaped, into a `Report` on `finish`."""

    def __init__(self, where: str, *, pick: Collection[str] | None = None,
                 limit_errors: int | None = None, per_code: int = PER_CODE_LIMIT,
                 cascade_fields: dict[str, str] | None = None,
                 cascade_columns: dict[int, str] | None = None) -> None:
        self.where = where
        self.pick = set(pick) if pick else None
        self.limit_errors = limit_errors
        self.per_code = per_code
        self.cascade_fields = dict(cascade_fields or {})
        self.cascade_columns = dict(cascade_columns or {})
        self.stopped = False
        self.errors_seen = 0
        self.type_error_fields: set[str] = set()
        self._structural: list[tuple[str, str, int | None, str | None, str | None, int | None]] = []
        self._groups: dict[tuple[str, str | None, int | None], _Group] = {}
        self._listed: list[tuple[str, Severity, str, int | None, str | None, int | None, str | None]] = []
        self._listed_per_code: dict[str, int] = {}
        self._unlisted: dict[str, int] = {}
        self._notes: list[tuple[str, Severity, str]] = []

    def picked(self, kind: str) -> bool:
        """True when errors of this Frictionless type are reported under ``pickErrors``."""
        if self.pick is None:
            return True
        return kind in self.pick or any(tag in self.pick for tag in _TAGS.get(kind, ()))

    def structural(self, kind: str, message: str, *, row: int | None = None,
                   column: int | None = None, field: str | None = None,
                   value: str | None = None) -> None:
        """A header or file problem: listed first, once."""
        if self._admit(kind):
            self._structural.append((f"table/{kind}", message, row, field, value, column))

    def error(self, kind: str, message: str, *, row: int | None = None, field: str | None = None,
              column: int | None = None, value: str | None = None) -> None:
        """One per-row error of a Frictionless type (``type-error``, ``missing-cell`` …)."""
        if not self._admit(kind):
            return
        if kind == "type-error" and field:
            self.type_error_fields.add(field)
        reason = self._cascade_reason(field, column)
        code = f"table/{kind}"
        if reason is not None and row is not None:
            key = (code, field, column if not field else None)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(code, field, column, reason, message, value)
            group.count += 1
            if len(group.rows) < FIRST_ROWS:
                group.rows.append(row)
            return
        if self._listed_per_code.get(code, 0) < self.per_code:
            self._listed_per_code[code] = self._listed_per_code.get(code, 0) + 1
            self._listed.append((code, "error", message, row, field, column, value))
        else:
            self._unlisted[code] = self._unlisted.get(code, 0) + 1

    def note(self, code: str, severity: Severity, message: str) -> None:
        """A warning or piece of information about the check itself (a budget reached, say)."""
        self._notes.append((code, severity, message))

    def _admit(self, kind: str) -> bool:
        """Apply ``pickErrors`` and ``limitErrors``: False when this error is not reported."""
        if self.stopped or not self.picked(kind):
            return False
        self.errors_seen += 1
        if self.limit_errors is not None and self.errors_seen >= self.limit_errors:
            self.stopped = True
        return True

    def _cascade_reason(self, field: str | None, column: int | None) -> str | None:
        if field and field in self.cascade_fields:
            return self.cascade_fields[field]
        if not field and column is not None and column in self.cascade_columns:
            return self.cascade_columns[column]
        return None

    def finish(self, report: Report) -> None:
        """Write the collected problems into `report`: structure, cascades, rows, notes."""
        for code, message, row, field_name, value, column in self._structural:
            report.add(code, "error", message, value=value, file=self.where, row=row,
                       field=field_name, column=column)
        for group in self._groups.values():
            where = f"field {group.field_name!r}" if group.field_name else f"column {group.column}"
            message = (f"{group.count:,} row(s) with {group.code.split('/', 1)[1]} in {where} because "
                       f"{group.reason}; first: {group.first_message}")
            report.add(group.code, "error", message, value=group.first_value, count=group.count,
                       rows=tuple(group.rows), file=self.where, row=group.rows[0],
                       field=group.field_name, column=group.column)
        for code, severity, message, row, field_name, column, value in self._listed:
            report.add(code, severity, message, value=value, file=self.where, row=row,
                       field=field_name, column=column)
        for code, count in self._unlisted.items():
            report.tally(code, "error", count)
            report.add("table/not-listed", "info",
                       f"{count:,} more {code} issue(s) were counted but not listed "
                       f"(at most {self.per_code} of each type are listed)", file=self.where)
        for code, severity, message in self._notes:
            report.add(code, severity, message, file=self.where)
