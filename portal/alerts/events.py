"""Alert events: severities, what a subscription's filters let through, and the event as receivers see it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.alerts.models import AlertEvent

#: Severities from least to most severe; a subscription's ``min_severity`` is one of them.
SEVERITIES: tuple[str, ...] = ("info", "notice", "warning", "critical")

#: The severity of each kind of event. A dataset falling due is a notice (its publisher is reminded
#: first); overdue is the public alert; delinquent is critical.
KIND_SEVERITY: dict[str, str] = {
    "due": "notice", "overdue": "warning", "delinquent": "critical", "fresh": "info", "withdrawn": "warning",
}

#: The kinds of event, as they appear in feeds, webhooks and e-mails.
KINDS: tuple[str, ...] = tuple(KIND_SEVERITY)

#: The statuses of a dataset whose expected update is late, from least to most.
LATE: tuple[str, ...] = ("due", "overdue", "delinquent")


def falls_late(kind: str, previous: str | None) -> bool:
    """Whether an event is the dataset's first step into lateness: due, or overdue or delinquent at once
    (when the status skipped "due" between two evaluations) — the moment to remind its publisher."""
    return kind in LATE and previous not in LATE


def new_event_id() -> str:
    """A fresh public event id (``evt_`` and 26 random base32 characters)."""
    return "evt_" + secrets.token_hex(13)


def severity_rank(severity: str) -> int:
    """The rank of a severity (0 = info); unknown severities rank highest, so they are never dropped."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def kind_severity(kind: str) -> str:
    """The severity of an event kind."""
    return KIND_SEVERITY.get(kind, "warning")


@dataclass(frozen=True)
class Filters:
    """What a subscription (webhook endpoint or e-mail address) asked for; None means "any"."""

    publisher: str | None = None
    theme: str | None = None
    dataset: str | None = None  # "publisher/slug"
    min_severity: str = "warning"

    def matches(self, event: EventView) -> bool:
        """True when the event is one this subscription wants.

        A recovery (back to fresh) goes to those who were told of the bad status: it matches when
        the status it recovers from was severe enough for the subscription.
        """
        if self.publisher is not None and event.publisher != self.publisher:
            return False
        if self.dataset is not None and event.dataset != self.dataset:
            return False
        if self.theme is not None and self.theme not in event.themes:
            return False
        floor = severity_rank(self.min_severity)
        if event.kind == "fresh":
            return event.previous is not None and severity_rank(kind_severity(event.previous)) >= floor
        return severity_rank(event.severity) >= floor


@dataclass(frozen=True)
class EventView:
    """An alert event as plain data, detached from the database (what channels send)."""

    event_id: str
    kind: str
    previous: str | None
    severity: str
    publisher: str
    slug: str
    title: str
    occurred_at: datetime
    link: str
    themes: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        """``publisher/slug``."""
        return f"{self.publisher}/{self.slug}"

    @property
    def summary(self) -> str:
        """One line: what happened to which dataset."""
        if self.kind == "withdrawn":
            return f"{self.title or self.dataset} was withdrawn by its source"
        if self.kind == "fresh":
            return f"{self.title or self.dataset} is fresh again (was {self.previous})"
        return f"{self.title or self.dataset} is {self.kind}"

    def payload(self) -> dict[str, Any]:
        """The JSON body receivers get (webhooks) and the JSON feed shows: type, id, timestamp, data."""
        return {
            "type": f"dataset.{self.kind}",
            "id": self.event_id,
            "timestamp": self.occurred_at.isoformat(),
            "data": {
                "event_id": self.event_id, "kind": self.kind, "previous": self.previous,
                "severity": self.severity, "dataset": self.dataset, "publisher": self.publisher,
                "title": self.title, "themes": list(self.themes), "link": self.link,
                "summary": self.summary, "evidence": self.evidence,
            },
        }


def view_of(event: AlertEvent, link: str) -> EventView:
    """The plain view of a stored event; `link` is the dataset's page."""
    return EventView(event.event_id, event.kind, event.previous, event.severity, event.publisher,
                     event.dataset_slug, event.title, event.occurred_at, link,
                     tuple(event.themes_json or ()), dict(event.evidence_json or {}))
