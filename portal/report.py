"""Problems found in data, as records: `Issue` collected in a `Report`.

Codes are stable kebab-case strings such as ``table/type-error`` or ``freshness/overdue``.

A report keeps the true number of occurrences of every code in `Report.counts`, even when only
the first few issues of a code are listed, or when many occurrences are collapsed into one issue
(``count`` > 1, with its first ``rows``). Every count shown anywhere (CLI text, JSON, dataset
page) comes from `Report.totals` and `Report.summary`, so they all agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True)
class Location:
    """Where an issue was found: file (or URL), 1-based row number, field name, 1-based column."""

    file: str | None = None
    row: int | None = None
    field: str | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file or ""]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field:
            parts.append(f"field {self.field!r}")
        elif self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Issue:
    """One problem found in data; `count` > 1 when it stands for that many collapsed occurrences."""

    code: str
    severity: Severity
    message: str
    location: Location = field(default_factory=Location)
    value: str | None = None
    count: int = 1
    rows: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = str(self.location)
        text = f"{self.severity}: {self.message} [{self.code}]"
        if self.count > 1:
            first = ", ".join(str(r) for r in self.rows)
            more = ", …" if len(self.rows) < self.count else ""
            text += f" ×{self.count:,}" + (f" (rows {first}{more})" if first else "")
        return f"{where}: {text}" if where else text


@dataclass
class Report:
    """The issues found while checking one subject, the true count of each code, and stats."""

    subject: str
    issues: list[Issue] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    #: code → true number of occurrences, listed or not.
    counts: dict[str, int] = field(default_factory=dict)
    #: code → its severity (one severity per code).
    severities: dict[str, Severity] = field(default_factory=dict)

    @property
    def errors(self) -> list[Issue]:
        """Listed issues of severity ``error`` (see `totals` for how many there are in all)."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def valid(self) -> bool:
        """True when no occurrence of any error code was found."""
        return self.totals()["errors"] == 0 and not self.errors

    def add(self, code: str, severity: Severity, message: str, *, value: str | None = None,
            count: int = 1, rows: tuple[int, ...] = (), **where: Any) -> Issue:
        """Record one listed issue (standing for `count` occurrences) and return it."""
        issue = Issue(code, severity, message, Location(**where), value, count, tuple(rows))
        self.issues.append(issue)
        self.tally(code, severity, count)
        return issue

    def tally(self, code: str, severity: Severity, count: int = 1) -> None:
        """Count occurrences of a code that are not listed (beyond a cap)."""
        self.counts[code] = self.counts.get(code, 0) + count
        self.severities.setdefault(code, severity)

    def totals(self) -> dict[str, int]:
        """True number of occurrences per severity: ``{"errors": …, "warnings": …, "info": …}``."""
        totals = {"errors": 0, "warnings": 0, "info": 0}
        keys = {"error": "errors", "warning": "warnings", "info": "info"}
        for code, count in self.counts.items():
            totals[keys[self.severities.get(code, "error")]] += count
        return totals

    def summary(self) -> list[dict[str, Any]]:
        """Per code: severity, true count and how many issues list it; errors first, most frequent first."""
        listed: dict[str, int] = {}
        for issue in self.issues:
            listed[issue.code] = listed.get(issue.code, 0) + 1
        rows = [{"code": code, "severity": self.severities.get(code, "error"), "count": count,
                 "listed": listed.get(code, 0)} for code, count in self.counts.items()]
        return sorted(rows, key=lambda r: (SEVERITIES.index(r["severity"]), -r["count"], r["code"]))

    def located_at(self, file: str) -> Report:
        """The same report about `file` (a URL, say) instead of the local copy that was checked."""
        return Report(subject=file, stats=dict(self.stats), counts=dict(self.counts),
                      severities=dict(self.severities), issues=[
                          replace(i, location=replace(i.location, file=file)) for i in self.issues])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the report: its verdict, totals, per-code summary, stats and issues."""
        return {
            "subject": self.subject,
            "valid": self.valid,
            "totals": self.totals(),
            "summary": self.summary(),
            "stats": dict(self.stats),
            "issues": [_issue_dict(i) for i in self.issues],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a report from `to_dict` output (older stored reports have no summary)."""
        report = cls(subject=data["subject"], stats=dict(data.get("stats", {})))
        for i in data.get("issues", []):
            report.issues.append(Issue(
                i["code"], i["severity"], i["message"],
                Location(**i.get("location", {}), column=i.get("column")),
                i.get("value"), int(i.get("count", 1)), tuple(i.get("rows", ()))))
        if "summary" in data:
            for row in data["summary"]:
                report.tally(row["code"], row["severity"], int(row["count"]))
        else:
            for issue in report.issues:
                report.tally(issue.code, issue.severity, issue.count)
        return report


def _issue_dict(issue: Issue) -> dict[str, Any]:
    """An issue as JSON: code, severity, message, location (file, row, field), column, value,
    count and rows (the first rows of a collapsed issue).

    The column sits beside the location, which keeps the shape stored reports always had.
    """
    data = asdict(issue)
    data["column"] = data["location"].pop("column")
    data["rows"] = list(issue.rows)
    return data
