"""Writing alert events, inside the caller's transaction (the one that changes the status)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.alerts.events import kind_severity, new_event_id
from portal.alerts.models import AlertEvent
from portal.db import Dataset


def write_event(session: Session, dataset: Dataset, *, kind: str, previous: str | None, occurred_at: datetime,
                evidence: dict[str, Any] | None = None) -> AlertEvent:
    """Add an alert event for `dataset` to the session (committed with the caller's transaction)."""
    metadata = dataset.metadata_json or {}
    themes = [t for t in metadata.get("themes") or [] if isinstance(t, str)]
    event = AlertEvent(event_id=new_event_id(), dataset_id=dataset.id, publisher=dataset.publisher,
                       dataset_slug=dataset.slug, title=dataset.title or "", kind=kind, previous=previous,
                       severity=kind_severity(kind), occurred_at=occurred_at, themes_json=themes,
                       evidence_json=evidence or {}, fanned_out=False)
    session.add(event)
    return event
