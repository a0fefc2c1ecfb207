"""The freshness watch: evaluate every dataset at an instant, record status changes with their alert
events, and publish the statuses as RDF.

Recording is one transaction: the new statuses, their history rows and the alert events they
raise are committed together or not at all, so a crash can neither lose an event nor leave a
status changed without one (`portal.alerts.outbox` then delivers them at least once).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from portal.alerts.events import kind_severity, new_event_id
from portal.alerts.models import AlertEvent, FreshnessConfirmation
from portal.db import Dataset, FreshnessStatus, InstanceInfo
from portal.errors import NotFoundError, UsageError
from portal.evaluation import FreshnessTable, evaluate_all
from portal.freshness import WITHDRAWN, FreshnessResult, event_kind
from portal.instance import Instance
from vocab.frequencies import Frequency

log = logging.getLogger(__name__)

#: The `InstanceInfo` key of the instant of the last recorded evaluation.
LAST_EVALUATION = "freshness_evaluated_at"
#: Rows written per statement when many statuses change at once (the first evaluation of a big portal).
_CHUNK = 5000


@dataclass(frozen=True)
class FreshnessOutcome:
    """One dataset's status at the evaluated instant, and the one before it."""

    publisher: str
    dataset: str
    title: str
    result: FreshnessResult
    previous: str | None
    #: When the dataset took this status (the evaluation that recorded the change).
    since: datetime | None = None
    claimed_modified: datetime | None = None
    confirmed_at: datetime | None = None
    last_content_change: datetime | None = None
    declared_frequency: str | None = None

    @property
    def alert(self) -> bool:
        """True when the change of status writes an alert event."""
        return event_kind(self.previous, self.result.status) is not None

    def evidence(self) -> dict[str, Any]:
        """What the status rests on: frequency, last content change, the publisher's claim, thresholds."""
        return evidence_of(self.result, last_content_change=self.last_content_change,
                           claimed=self.claimed_modified, confirmed=self.confirmed_at,
                           given_frequency=self.declared_frequency)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _frequency(frequency: Frequency | None) -> dict[str, Any] | None:
    if frequency is None:
        return None
    period = frequency.period
    return {"key": frequency.key, "uri": frequency.uri or None, "label": frequency.label,
            "period_days": None if period is None else round(period.total_seconds() / 86400, 4),
            "exempt": frequency.exempt}


def claim_text(claimed: datetime | None, last_change: datetime | None) -> str | None:
    """The publisher's claim set beside the evidence: "claims updated 3 May 2026; content unchanged since
    12 Jan 2026" — only when the claim is later than the content's last change (by more than a day)."""
    if claimed is None or last_change is None or (claimed - last_change).total_seconds() <= 86400:
        return None
    return (f"claims updated {claimed.day} {claimed:%b %Y}; "
            f"content unchanged since {last_change.day} {last_change:%b %Y}")


def evidence_of(result: FreshnessResult, *, last_content_change: datetime | None, claimed: datetime | None,
                confirmed: datetime | None, given_frequency: str | None = None) -> dict[str, Any]:
    """The evidence of a judgement as plain data (JSON, alert payloads)."""
    return {
        "status": result.status,
        "expected_frequency": _frequency(result.frequency),
        "declared_frequency": given_frequency,
        "last_content_change": _iso(last_content_change),
        "last_update": _iso(result.last_change),
        "confirmed_current_at": _iso(confirmed),
        "claimed_modified": _iso(claimed),
        "claim": claim_text(claimed, last_content_change),
        "thresholds": {"due_at": _iso(result.due_at), "overdue_at": _iso(result.overdue_at),
                       "delinquent_at": _iso(result.delinquent_at)},
        "reason": result.reason,
    }


@dataclass
class Evaluation:
    """Every active dataset's freshness at one instant: the columns, and the rows whose status changed."""

    table: FreshnessTable
    changed: list[int] = field(default_factory=list)
    events: int = 0
    recorded: bool = False  # whether the changes entered the history

    def outcome(self, row: int) -> FreshnessOutcome:
        """One row as an outcome, with its reason in words."""
        table = self.table
        return FreshnessOutcome(table.publishers[row], table.slugs[row], table.titles[row], table.result(row),
                                table.recorded[row], table.since(row), table.claimed_at(row),
                                table.confirmed_at(row), table.last_change_at(row), table.frequencies[row])

    def __iter__(self) -> Iterator[FreshnessOutcome]:
        """Every dataset's outcome, by publisher and then dataset."""
        return (self.outcome(row) for row in self.table.rows())

    def __len__(self) -> int:
        return len(self.table)


def latest_statuses(session: Session) -> dict[int, FreshnessStatus]:
    """The newest freshness status of every dataset that has one, by dataset id (one query)."""
    newest = select(func.max(FreshnessStatus.id)).group_by(FreshnessStatus.dataset_id)
    return {status.dataset_id: status
            for status in session.scalars(select(FreshnessStatus).where(FreshnessStatus.id.in_(newest)))}


def evaluate_freshness(instance: Instance, now: datetime, *, record: bool = True,
                       refuse_earlier: bool = False) -> Evaluation:
    """Evaluate all datasets (but withdrawn ones) at `now` from their real content changes.

    With `record`, status changes enter the history with their alert events (one transaction) and
    the statuses are published as RDF; without it the evaluation is a what-if that leaves no trace
    (``lodestar freshness --now``).

    The history only moves forward: an evaluation at an instant before the last recorded one (after
    a what-if recorded ahead with ``--record``) would turn statuses back and alert watchdogs falsely,
    so it is not recorded — a `UsageError` with `refuse_earlier`, else a what-if and a warning.
    """
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    with instance.session() as session:
        if record and (last := _last_evaluation(session)) is not None and now < last:
            if refuse_earlier:
                raise UsageError(f"cannot record an evaluation at {now.isoformat()}: one is recorded at "
                                 f"{last.isoformat()}, and the history only moves forward (leave out --record "
                                 "for a what-if)")
            log.warning("freshness at %s not recorded: an evaluation is recorded at %s, later", now, last)
            record = False
        evaluation = Evaluation(evaluate_all(session, now))
        evaluation.changed = evaluation.table.changed_rows()
        evaluation.recorded = record
        if record:
            session.merge(InstanceInfo(key=LAST_EVALUATION, value=now.isoformat()))
        if record and evaluation.changed:
            evaluation.events = _record(session, evaluation, now)
    if record and evaluation.changed:
        publish_freshness(instance, evaluation, now)
    return evaluation


def _record(session: Session, evaluation: Evaluation, now: datetime) -> int:
    """Write the changed statuses, their history and their events in the caller's transaction."""
    table, events = evaluation.table, 0
    for start in range(0, len(evaluation.changed), _CHUNK):
        rows = evaluation.changed[start:start + _CHUNK]
        ids = [int(table.ids[row]) for row in rows]
        metadata: dict[int, Any] = {
            dataset_id: meta for dataset_id, meta in session.execute(
                select(Dataset.id, Dataset.metadata_json).where(Dataset.id.in_(ids)))}
        history, status_updates, new_events = [], [], []
        for row, dataset_id in zip(rows, ids):
            outcome = evaluation.outcome(row)
            result = outcome.result
            previous = table.recorded[row]
            history.append({"dataset_id": dataset_id, "evaluated_at": now, "status": result.status,
                            "previous": previous, "due_at": result.due_at, "overdue_at": result.overdue_at,
                            "reason": result.reason})
            status_updates.append({"id": dataset_id, "freshness_status": result.status, "freshness_since": now})
            kind = event_kind(previous, result.status)
            if kind is not None:
                evidence = outcome.evidence()
                new_events.append(event_row(dataset_id, table.publishers[row], table.slugs[row],
                                            table.titles[row], kind, previous, now, metadata.get(dataset_id),
                                            evidence))
        session.execute(insert(FreshnessStatus), history)
        session.execute(update(Dataset), status_updates)  # bulk UPDATE by primary key
        if new_events:
            session.execute(insert(AlertEvent), new_events)
            events += len(new_events)
    return events


def event_row(dataset_id: int, publisher: str, slug: str, title: str, kind: str, previous: str | None,
              occurred_at: datetime, metadata: dict[str, Any] | None, evidence: dict[str, Any]) -> dict[str, Any]:
    """The values of one alert event row (for a bulk insert)."""
    themes = [t for t in (metadata or {}).get("themes") or [] if isinstance(t, str)]
    return {"event_id": new_event_id(), "dataset_id": dataset_id, "publisher": publisher, "dataset_slug": slug,
            "title": title or "", "kind": kind, "previous": previous, "severity": kind_severity(kind),
            "occurred_at": occurred_at, "recorded_at": occurred_at, "themes_json": themes,
            "evidence_json": evidence, "fanned_out": False}


def record_withdrawal(session: Session, dataset: Dataset, now: datetime) -> None:
    """Record a dataset's withdrawal as its status, with its alert event (the caller's transaction)."""
    previous = dataset.freshness_status
    if previous == WITHDRAWN:
        return
    session.add(FreshnessStatus(dataset_id=dataset.id, evaluated_at=now, status=WITHDRAWN, previous=previous,
                                reason="Its source no longer lists it."))
    dataset.freshness_status, dataset.freshness_since = WITHDRAWN, now
    evidence = {"status": WITHDRAWN, "reason": "Its source no longer lists it; its data is no longer published.",
                "previous": previous, "claimed_modified": _iso(dataset.claimed_modified),
                "last_content_change": _iso(dataset.last_content_change)}
    session.execute(insert(AlertEvent), [event_row(dataset.id, dataset.publisher, dataset.slug, dataset.title,
                                                   WITHDRAWN, previous, now, dataset.metadata_json, evidence)])


def _literal(text: str) -> str:
    """An N-Triples string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def publish_freshness(instance: Instance, evaluation: Evaluation, now: datetime) -> None:
    """Replace the freshness graph with one DQV measurement per dataset (written as N-Triples directly).

    Each measurement is dated by when the dataset took its status, so the graph only changes when a
    status does.
    """
    table = evaluation.table
    measure = f"<{instance.uris.portal_term('freshness')}>"
    rdf, dqv, prov, xsd = ("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "http://www.w3.org/ns/dqv#",
                           "http://www.w3.org/ns/prov#", "http://www.w3.org/2001/XMLSchema#")
    changed = set(evaluation.changed)
    lines = []
    for row in range(len(table)):
        dataset = instance.uris.dataset(table.publishers[row], table.slugs[row])
        node = f"<{dataset}#freshness>"
        taken = now if row in changed else (table.since(row) or now)
        lines += [f"<{dataset}> <{dqv}hasQualityMeasurement> {node} .",
                  f"{node} <{rdf}type> <{dqv}QualityMeasurement> .",
                  f"{node} <{dqv}isMeasurementOf> {measure} .",
                  f"{node} <{dqv}value> {_literal(table.status(row))} .",
                  f"{node} <{prov}generatedAtTime> \"{taken.isoformat()}\"^^<{xsd}dateTime> ."]
    body = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    instance.store.replace_graph(instance.uris.portal_graph("freshness"), body)


def confirm_current(instance: Instance, publisher: str, slug: str, *, by: str = "", note: str = "",
                    now: datetime) -> Evaluation:
    """Record a publisher's "still current" for a dataset (it counts as an update), then re-evaluate.

    The confirmation is kept (who, when, why) and the dataset's status is recorded at once, so a due
    or overdue dataset goes back to fresh with its alert event.
    """
    with instance.session() as session:
        dataset = session.scalar(select(Dataset).where(Dataset.publisher == publisher, Dataset.slug == slug))
        if dataset is None or dataset.withdrawn:
            raise NotFoundError(f"no active dataset {publisher}/{slug}")
        session.add(FreshnessConfirmation(dataset_id=dataset.id, confirmed_at=now, confirmed_by=by, note=note))
        dataset.confirmed_at = now if dataset.confirmed_at is None else max(dataset.confirmed_at, now)
    return evaluate_freshness(instance, now)


def _last_evaluation(session: Session) -> datetime | None:
    info = session.get(InstanceInfo, LAST_EVALUATION)
    return datetime.fromisoformat(info.value) if info is not None else None


def last_recorded_evaluation(instance: Instance) -> datetime | None:
    """The instant of the last recorded evaluation (None before the first)."""
    with instance.session() as session:
        return _last_evaluation(session)
