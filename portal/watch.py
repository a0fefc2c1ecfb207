"""The freshness watch: evaluate every dataset at an instant, keep the history, publish it as RDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rdflib import Graph, Literal, URIRef
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import Dataset, FreshnessStatus
from portal.freshness import FreshnessResult, evaluate, is_alert_transition
from portal.instance import Instance
from vocab.frequencies import normalise_frequency
from vocab.namespaces import DQV, PROV, RDF, XSD


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

    @property
    def alert(self) -> bool:
        """True when the change of status is one watchdogs are told about."""
        return is_alert_transition(self.previous, self.result.status)


def latest_statuses(session: Session) -> dict[int, FreshnessStatus]:
    """The newest freshness status of every dataset that has one, by dataset id (one query)."""
    newest = select(func.max(FreshnessStatus.id)).group_by(FreshnessStatus.dataset_id)
    return {status.dataset_id: status
            for status in session.scalars(select(FreshnessStatus).where(FreshnessStatus.id.in_(newest)))}


def evaluate_freshness(instance: Instance, now: datetime, *, record: bool = True) -> list[FreshnessOutcome]:
    """Evaluate all datasets (but withdrawn ones) at `now` from their real content changes.

    With `record`, status changes enter the history and the statuses are published as RDF;
    without it the evaluation is a what-if that leaves no trace (``lodestar freshness --now``).
    """
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    outcomes = []
    with instance.session() as session:
        datasets = list(session.scalars(select(Dataset).where(Dataset.status == "active")
                                        .order_by(Dataset.publisher, Dataset.slug)))
        last_statuses = latest_statuses(session)
        for dataset in datasets:
            result = evaluate(normalise_frequency(dataset.frequency), dataset.last_content_change, now)
            last = last_statuses.get(dataset.id)
            previous = last.status if last else None
            if record and (last is None or last.status != result.status):
                session.add(FreshnessStatus(
                    dataset_id=dataset.id, evaluated_at=now, status=result.status, previous=previous,
                    due_at=result.due_at, overdue_at=result.overdue_at, reason=result.reason))
            since = last.evaluated_at if last is not None and last.status == result.status else now
            outcomes.append(FreshnessOutcome(dataset.publisher, dataset.slug, dataset.title, result,
                                             previous, since))
    if record:
        publish_freshness(instance, outcomes, now)
    return outcomes


def publish_freshness(instance: Instance, outcomes: list[FreshnessOutcome], now: datetime) -> None:
    """Replace the freshness graph with one DQV measurement per dataset.

    Each measurement is dated by when the dataset took its status, so an evaluation that changes
    no status leaves the graph as it was (and the store unwritten).
    """
    graph = Graph()
    measure = URIRef(instance.uris.portal_term("freshness"))
    for outcome in outcomes:
        dataset = instance.uris.dataset(outcome.publisher, outcome.dataset)
        node = URIRef(f"{dataset}#freshness")
        graph.add((URIRef(dataset), DQV.hasQualityMeasurement, node))
        graph.add((node, RDF.type, DQV.QualityMeasurement))
        graph.add((node, DQV.isMeasurementOf, measure))
        graph.add((node, DQV.value, Literal(outcome.result.status)))
        taken = outcome.since or now
        graph.add((node, PROV.generatedAtTime, Literal(taken.isoformat(), datatype=XSD.dateTime)))
    instance.store.replace_graph(instance.uris.portal_graph("freshness"),
                                 graph.serialize(format="nt", encoding="utf-8"))
