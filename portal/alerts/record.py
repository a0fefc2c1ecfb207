"""Writing alert events, inside the caller's transaction (the one that changes the status)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.alerts.models import AlertEvent
from portal.db import Dataset


def write_event(session: Session, dataset: Dataset, *, kind: str, previous: str | None, occurred_at: datetime,
                evidence: dict[str, Any] | None = None) -> AlertEvent:
    """Add an alert event for `dataset` to the session (committed with the caller's transaction)."""
    from portal.watch import event_row  # the one place an event's values are made

    event = AlertEvent(**event_row(dataset.id, dataset.publisher, dataset.slug, dataset.title, kind, previous,
                                   occurred_at, dataset.metadata_json, evidence or {}))
    session.add(event)
    return event
