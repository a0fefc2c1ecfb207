"""Dataset summaries as plain dicts: what the pages show and their JSON twins serve."""

from __future__ import annotations

from typing import Any

from rdflib import Graph
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogue import dataset_record, published_version
from portal.db import Dataset, Resource
from portal.errors import NotFoundError
from portal.instance import Instance
from vocab.frequencies import normalise_frequency
from vocab.namespaces import PREFIXES


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _frequency_label(declared: str | None) -> str | None:
    frequency = normalise_frequency(declared)
    return frequency.label if frequency is not None else None


def _freshness(dataset: Dataset) -> dict[str, Any] | None:
    if not dataset.statuses:
        return None
    last = dataset.statuses[-1]
    return {"status": last.status, "since": _iso(last.evaluated_at), "reason": last.reason,
            "due_at": _iso(last.due_at), "overdue_at": _iso(last.overdue_at)}


def issue_summary(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Issues grouped by code and field, most frequent first, with their first few rows."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for issue in (report or {}).get("issues", []):
        where = issue.get("location", {})
        key = (issue["code"], where.get("field") or "")
        group = groups.setdefault(key, {"code": key[0], "field": key[1], "severity": issue["severity"],
                                         "count": 0, "rows": []})
        group["count"] += 1
        if where.get("row") is not None and len(group["rows"]) < 5:
            group["rows"].append(where["row"])
    return sorted(groups.values(), key=lambda g: (-g["count"], g["code"], g["field"]))


def _resource(resource: Resource) -> dict[str, Any]:
    latest = resource.latest
    published = published_version(resource)
    report = latest.report_json if latest is not None else None
    return {
        "slug": resource.slug,
        "title": resource.title,
        "url": resource.url,
        "media_type": resource.media_type,
        "schema": resource.schema_ref,
        "content_hash": latest.content_hash if latest else None,
        "size": latest.size if latest else None,
        "fetched_at": _iso(latest.fetched_at) if latest else None,
        "checked_at": _iso(latest.checked_at) if latest else None,
        "valid": latest.valid if latest else None,
        "validation": report,
        "issue_summary": issue_summary(report),
        "published_triples": published.triples if published else 0,
        "published_version": published.content_hash if published else None,
    }


def _validation_counts(dataset: Dataset) -> dict[str, int]:
    """How many of the dataset's tables passed and failed validation in their latest version."""
    latest = [r.latest for r in dataset.resources]
    checked = [v for v in latest if v is not None and v.valid is not None]
    return {"valid": sum(1 for v in checked if v.valid), "invalid": sum(1 for v in checked if not v.valid)}


def _summary(instance: Instance, dataset: Dataset) -> dict[str, Any]:
    uris = instance.uris
    return {
        "publisher": dataset.publisher,
        "publisher_name": dataset.publisher_name,
        "slug": dataset.slug,
        "title": dataset.title,
        "uri": uris.dataset(dataset.publisher, dataset.slug),
        "graph": uris.graph(dataset.publisher, dataset.slug),
        "frequency": dataset.frequency,
        "frequency_label": _frequency_label(dataset.frequency),
        "last_content_change": _iso(dataset.last_content_change),
        "triples": dataset.triples,
        "freshness": _freshness(dataset),
        "validation": _validation_counts(dataset),
    }


def list_datasets(instance: Instance) -> list[dict[str, Any]]:
    """Every dataset, ordered by publisher and title."""
    with instance.session() as session:
        datasets = session.scalars(select(Dataset).order_by(Dataset.publisher, Dataset.title))
        return [_summary(instance, d) for d in datasets]


def _find(session: Session, publisher: str, slug: str) -> Dataset:
    dataset = session.scalar(select(Dataset).where(Dataset.publisher == publisher, Dataset.slug == slug))
    if dataset is None:
        raise NotFoundError(f"no dataset {publisher}/{slug}")
    return dataset


def dataset_record_graph(instance: Instance, publisher: str, slug: str) -> Graph:
    """The DCAT-AP record of one dataset, built by the same function that publishes it."""
    with instance.session() as session:
        dataset = _find(session, publisher, slug)
        graph = dataset_record(instance.uris, dataset)
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def dataset_detail(instance: Instance, publisher: str, slug: str) -> dict[str, Any]:
    """One dataset with its metadata, resources, validation and freshness."""
    with instance.session() as session:
        dataset = _find(session, publisher, slug)
        detail = _summary(instance, dataset)
        detail.update({
            "identifier": dataset.identifier,
            "description": dataset.description,
            "metadata": dataset.metadata_json,
            "claimed_modified": _iso(dataset.claimed_modified),
            "first_seen": _iso(dataset.first_seen),
            "last_seen": _iso(dataset.last_seen),
            "source": dataset.source.name,
            "resources": [_resource(r) for r in dataset.resources],
            "freshness_history": [
                {"status": s.status, "previous": s.previous, "evaluated_at": _iso(s.evaluated_at),
                 "reason": s.reason} for s in dataset.statuses],
        })
        return detail
