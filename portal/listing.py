"""Dataset summaries as plain dicts: what the pages show and their JSON twins serve."""

from __future__ import annotations

from typing import Any

from rdflib import Graph
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.catalogue import dataset_record
from portal.db import Dataset, FreshnessStatus, Resource, ResourceVersion
from portal.errors import NotFoundError
from portal.instance import Instance
from portal.stars import dataset_stars
from portal.watch import claim_text, latest_statuses
from vocab.frequencies import normalise_frequency
from vocab.namespaces import PREFIXES


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _frequency_label(declared: str | None) -> str | None:
    frequency = normalise_frequency(declared)
    return frequency.label if frequency is not None else None


def _freshness(last: FreshnessStatus | None) -> dict[str, Any] | None:
    if last is None:
        return None
    return {"status": last.status, "since": _iso(last.evaluated_at), "reason": last.reason,
            "due_at": _iso(last.due_at), "overdue_at": _iso(last.overdue_at)}


def issue_summary(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Issues grouped by code and field, most occurrences first, with their first few rows.

    Counts are true occurrences: a listed issue that stands for many (a collapsed cascade)
    counts as many, so the numbers agree with the report's totals, the CLI and the page.
    """
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for issue in (report or {}).get("issues", []):
        where = issue.get("location", {})
        key = (issue["code"], where.get("field") or "")
        group = groups.setdefault(key, {"code": key[0], "field": key[1], "severity": issue["severity"],
                                         "count": 0, "rows": []})
        group["count"] += int(issue.get("count", 1))
        rows = list(issue.get("rows") or ()) or ([where["row"]] if where.get("row") is not None else [])
        group["rows"].extend(rows[:5 - len(group["rows"])])
    return sorted(groups.values(), key=lambda g: (-g["count"], g["code"], g["field"]))


def _resource(resource: Resource) -> dict[str, Any]:
    latest = resource.latest_version
    published = resource.published_version
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


def _validation_counts(session: Session) -> dict[int, dict[str, int]]:
    """How many tables of each dataset passed and failed validation in their latest version (one query)."""
    counts: dict[int, dict[str, int]] = {}
    for dataset_id, valid in session.execute(
            select(Resource.dataset_id, ResourceVersion.valid)
            .join(ResourceVersion, Resource.latest_version_id == ResourceVersion.id)
            .where(ResourceVersion.valid.is_not(None))):
        tally = counts.setdefault(dataset_id, {"valid": 0, "invalid": 0})
        tally["valid" if valid else "invalid"] += 1
    return counts


def _summary(instance: Instance, dataset: Dataset, last_status: FreshnessStatus | None,
             validation: dict[str, int] | None) -> dict[str, Any]:
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
        "freshness": _freshness(last_status),
        "validation": validation or {"valid": 0, "invalid": 0},
    }


def list_datasets(instance: Instance) -> list[dict[str, Any]]:
    """Every dataset that is not withdrawn, ordered by publisher and title.

    Three queries whatever the number of datasets and versions: the datasets, their newest
    freshness statuses, and the validity of their resources' latest versions.
    """
    with instance.session() as session:
        datasets = list(session.scalars(select(Dataset).where(Dataset.status == "active")
                                        .order_by(Dataset.publisher, Dataset.title)))
        statuses = latest_statuses(session)
        validation = _validation_counts(session)
        return [_summary(instance, d, statuses.get(d.id), validation.get(d.id)) for d in datasets]


def _find(session: Session, publisher: str, slug: str) -> Dataset:
    """The dataset named so; a withdrawn one is not found (it is out of the catalogue and the store)."""
    dataset = session.scalar(select(Dataset).where(Dataset.publisher == publisher, Dataset.slug == slug))
    if dataset is None:
        raise NotFoundError(f"no dataset {publisher}/{slug}")
    if dataset.withdrawn:
        when = f" on {dataset.withdrawn_at:%Y-%m-%d}" if dataset.withdrawn_at else ""
        raise NotFoundError(f"dataset {publisher}/{slug} was withdrawn{when}: its source no longer lists it")
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
        resources = list(session.scalars(select(Resource).where(Resource.dataset_id == dataset.id)
                                         .order_by(Resource.id).options(
            selectinload(Resource.latest_version), selectinload(Resource.published_version))))
        validation = {"valid": 0, "invalid": 0}
        for resource in resources:
            if resource.latest_version is not None and resource.latest_version.valid is not None:
                validation["valid" if resource.latest_version.valid else "invalid"] += 1
        detail = _summary(instance, dataset, dataset.statuses[-1] if dataset.statuses else None, validation)
        detail.update({
            "identifier": dataset.identifier,
            "description": dataset.description,
            "metadata": dataset.metadata_json,
            "claimed_modified": _iso(dataset.claimed_modified),
            "claim": claim_text(dataset.claimed_modified, dataset.last_content_change),
            "confirmed_current_at": _iso(dataset.confirmed_at),
            "first_seen": _iso(dataset.first_seen),
            "last_seen": _iso(dataset.last_seen),
            "source": dataset.source.name,
            "resources": [_resource(r) for r in resources],
            "stars": dataset_stars(instance.uris, dataset, resources),
            "freshness_history": [
                {"status": s.status, "previous": s.previous, "evaluated_at": _iso(s.evaluated_at),
                 "reason": s.reason} for s in dataset.statuses],
        })
        return detail
