"""Problems found in data, as records: `Issue` collected in a `Report`.

Codes are stable kebab-case strings such as ``table/type-error`` or ``freshness/overdue``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Location:
    """Where an issue was found: file (or URL), 1-based row number, field name."""

    file: str | None = None
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [self.file or ""]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Issue:
    """One problem found in data."""

    code: str
    severity: Severity
    message: str
    location: Location = field(default_factory=Location)

    def __str__(self) -> str:
        where = str(self.location)
        return f"{where}: {self.severity}: {self.message} [{self.code}]" if where else (
            f"{self.severity}: {self.message} [{self.code}]"
        )


@dataclass
class Report:
    """The issues found while checking one subject, plus counts worth keeping."""

    subject: str
    issues: list[Issue] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Issue]:
        """Issues of severity ``error``."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def valid(self) -> bool:
        """True when no issue is an error."""
        return not self.errors

    def add(self, code: str, severity: Severity, message: str, **where: Any) -> Issue:
        """Record one issue and return it."""
        issue = Issue(code, severity, message, Location(**where))
        self.issues.append(issue)
        return issue

    def located_at(self, file: str) -> Report:
        """The same report about `file` (a URL, say) instead of the local copy that was checked."""
        return Report(subject=file, stats=dict(self.stats), issues=[
            replace(i, location=replace(i.location, file=file)) for i in self.issues])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form of the report."""
        return {
            "subject": self.subject,
            "valid": self.valid,
            "stats": dict(self.stats),
            "issues": [asdict(i) for i in self.issues],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """Rebuild a report from `to_dict` output."""
        return cls(
            subject=data["subject"],
            stats=dict(data.get("stats", {})),
            issues=[
                Issue(i["code"], i["severity"], i["message"], Location(**i.get("location", {})))
                for i in data.get("issues", [])
            ],
        )
