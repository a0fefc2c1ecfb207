"""Harvesting one dataset of a source: its rows, its resources' new versions, its publication.

Short transactions only: upsert the rows and read what the fetch needs as plain values
(commit); fetch, validate and convert with no transaction open; record the new versions and
stage the publication (commit); publish to the store; record it published (commit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from harvesters import HarvestedDataset, HarvestedResource
from harvesters.fetch import Fetched, fetch
from portal.db import Dataset, Resource, ResourceVersion
from portal.errors import DataError, NotFoundError, SourceError
from portal.instance import Instance
from portal.publication import Pending, PublicationBatch, pending_of, publish_pending, stage_publication
from portal.report import Report
from portal.steps import DatasetRef, UpgradeResult, upgrade, validate
from schemas.matching import Match, match_table
from schemas.loader import bundled_schemas
from schemas.resolve import BUNDLED_PREFIX, resolve_schema_ref
from vocab.uris import RESERVED_PUBLISHERS, slugify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceInfo:
    """A source as plain values, read in the run's first transaction."""

    id: int
    name: str
    url: str
    kind: str
    publisher: str | None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DatasetResult:
    """What harvesting one dataset did: whether its publication changed, its tables' reports, its problems."""

    changed: bool = False
    reports: list[Report] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ResourcePlan:
    """What fetching one resource needs to know, read from the database as plain values."""

    id: int
    url: str
    slug: str
    media_type: str
    schema_ref: str | None
    rdf_namespace: str | None
    latest_hash: str | None
    latest_etag: str | None
    latest_last_modified: str | None = None
    latest_fetched_at: datetime | None = None
    table_schema: Any = None  # a frictionless.Schema the source carries for this file (Data Package)
    dialect: Any = None  # a frictionless.Dialect the source declares for this file


@dataclass
class DatasetPlan:
    """One dataset about to be refreshed: its identity, its resources, and whether its record changed."""

    id: int
    ref: DatasetRef
    changed: bool
    namespaces_taken: set[str]
    resources: list[ResourcePlan]
    publisher_names: tuple[str, ...] = ()  # how the source names the publisher: links districts to its registers


@dataclass(frozen=True)
class Refreshed:
    """What fetching (and, for a changed table, validating and converting) one resource gave."""

    resource_id: int
    fetched: Fetched | None  # None when the content is unchanged
    report: Report | None = None
    converted: UpgradeResult | None = None
    namespace: str | None = None


def _publisher_slug(instance: Instance, source: SourceInfo, record: HarvestedDataset) -> str:
    if source.publisher:
        return source.publisher
    if record.publisher_id or record.publisher_name:
        slug = slugify(record.publisher_id or record.publisher_name)
        return f"{slug}-org" if slug in RESERVED_PUBLISHERS else slug
    return str(instance.settings.publisher)


def _dataset_row(session: Session, source: SourceInfo, record: HarvestedDataset, publisher: str,
                 now: datetime) -> Dataset:
    dataset = session.scalar(select(Dataset).where(
        Dataset.source_id == source.id, Dataset.identifier == record.identifier))
    if dataset is None:
        base = slugify(record.identifier.rstrip("/").rsplit("/", 1)[-1])
        slug, n = base, 1
        while session.scalar(select(Dataset.id).where(Dataset.publisher == publisher, Dataset.slug == slug)):
            n += 1
            slug = f"{base}-{n}"
        dataset = Dataset(source_id=source.id, publisher=publisher, slug=slug, identifier=record.identifier,
                          first_seen=now)
        session.add(dataset)
    return dataset


def _metadata(record: HarvestedDataset) -> dict[str, object]:
    return {
        "uri": record.uri, "publisher_uri": record.publisher_uri, "landing_page": record.landing_page,
        "licence": record.licence, "themes": record.themes, "keywords": record.keywords,
        "languages": record.languages,
        "issued": record.issued.isoformat() if record.issued else None,
        "modified_claimed": record.modified.isoformat() if record.modified else None,
        "contact_email": record.contact_email,
        "spatial": record.spatial, "temporal": record.temporal, "access_rights": record.access_rights,
        "rights": record.rights,
        "resources": [{"url": r.url, "title": r.title, "format": r.format, "media_type": r.media_type,
                       "description": r.description, "licence": r.licence, "byte_size": r.byte_size,
                       "access_url": r.access_url, "is_download": r.is_download, "rights": r.rights,
                       "extras": _plain(r.extras)} for r in record.resources],
        "extras": _plain(record.extras), "original": _plain(record.original),
    }


def _plain(value: Any) -> Any:
    """A value as JSON can keep it: mappings and sequences walked, dates as ISO text, the rest as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _resource_row(session: Session, dataset: Dataset, harvested: HarvestedResource) -> Resource:
    for resource in dataset.resources:
        if resource.url == harvested.url:
            break
    else:
        name = harvested.title or harvested.url.rstrip("/").rsplit("/", 1)[-1]
        base = slugify(name)
        taken = {r.slug for r in dataset.resources}
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        resource = Resource(dataset=dataset, slug=slug, url=harvested.url)
        session.add(resource)
    resource.title = harvested.title
    resource.media_type = harvested.media_type
    resource.schema_ref = harvested.schema
    return resource


def _upsert(instance: Instance, source: SourceInfo, record: HarvestedDataset, now: datetime) -> DatasetPlan:
    """Bring the dataset's and its resources' rows up to date; return what fetching needs."""
    with instance.session() as session:
        dataset = _dataset_row(session, source, record, _publisher_slug(instance, source, record), now)
        metadata = _metadata(record)
        changed = dataset.id is None or metadata != dataset.metadata_json or (
            dataset.title, dataset.description, dataset.frequency) != (
            record.title, record.description, record.frequency)
        if dataset.withdrawn:  # listed again: published again
            dataset.status, dataset.withdrawn_at, changed = "active", None, True
        dataset.publisher_name = record.publisher_name
        dataset.title, dataset.description = record.title, record.description
        dataset.frequency, dataset.metadata_json = record.frequency, metadata
        dataset.claimed_modified, dataset.last_seen = record.modified, now
        if changed:
            dataset.record_modified = now
        resources = [_resource_row(session, dataset, harvested) for harvested in record.resources]
        session.flush()
        plans = [ResourcePlan(r.id, r.url, r.slug, r.media_type, r.schema_ref, r.rdf_namespace,
                              latest.content_hash if latest else None, latest.etag if latest else None,
                              latest.last_modified if latest else None, latest.fetched_at if latest else None,
                              harvested.table_schema, harvested.dialect)
                 for r, harvested in zip(resources, record.resources)
                 for latest in [r.latest_version]]
        taken = {r.rdf_namespace for r in dataset.resources if r.rdf_namespace}
        names = tuple(n for n in (record.publisher_name, record.publisher_id, dataset.publisher) if n)
        return DatasetPlan(dataset.id, DatasetRef(dataset.publisher, dataset.slug), changed, taken, plans, names)


def harvest_dataset(instance: Instance, source: SourceInfo, record: HarvestedDataset,
                    now: datetime, batch: PublicationBatch | None = None) -> DatasetResult:
    """Bring one dataset up to date and publish it when what it publishes changed.

    A resource that cannot be fetched or read is a problem of the result; the rest of the
    dataset goes on and what was published of that resource stays. With `batch`, the
    publication joins it (written with others); without, it is written at once.
    """
    result = DatasetResult()
    plan = _upsert(instance, source, record, now)
    refreshed = []
    for resource in plan.resources:
        try:
            refreshed.append(_refresh(instance, source, plan, resource, result))
        except (SourceError, DataError) as exc:
            result.problems.append(f"{record.identifier}: {exc}")
            log.warning("resource %s not refreshed: %s", resource.url, exc)
    result.changed = plan.changed or any(r.fetched is not None for r in refreshed)
    pending = _record(instance, plan, refreshed, now, result.changed)
    if pending is not None:
        if batch is not None:
            batch.add(pending)
        else:
            publish_pending(instance, pending)
    return result


def _check_local_reference(source: SourceInfo, url: str) -> None:
    """Only a catalogue read from this machine may point at files on this machine.

    Otherwise a remote catalogue could make the portal read and publish any local file.
    """
    if url.lower().startswith("file:") and not source.url.lower().startswith("file:"):
        raise SourceError(f"{url}: a remote catalogue may not point at local files")


def _is_table(resource: ResourcePlan, fetched_type: str) -> bool:
    kinds = {resource.media_type.lower(), fetched_type.lower()}
    return "text/csv" in kinds or resource.url.lower().split("?")[0].endswith(".csv")


def _namespace(plan: DatasetPlan, resource: ResourcePlan) -> str:
    """The URI namespace of a table's rows and columns, fixed the first time the table is converted.

    The first table of a dataset mints under the dataset (`/id/{publisher}/{dataset}/{key}`);
    any further table under `{dataset}.{resource}` so that row keys of two tables never collide.
    """
    if resource.rdf_namespace is not None:
        return resource.rdf_namespace
    slug = plan.ref.slug
    namespace = slug if slug not in plan.namespaces_taken else f"{slug}.{resource.slug}"
    plan.namespaces_taken.add(namespace)
    return namespace


def _refresh(instance: Instance, source: SourceInfo, plan: DatasetPlan, resource: ResourcePlan,
             result: DatasetResult) -> Refreshed:
    """Fetch a resource; when its content changed and it is a table, validate it and, if valid, convert it.

    No database transaction is open here.
    """
    _check_local_reference(source, resource.url)
    fetched = fetch(resource.url, instance.downloads, max_bytes=int(instance.settings.max_download_bytes),
                    etag=resource.latest_etag, last_modified=resource.latest_last_modified,
                    seen_at=resource.latest_fetched_at, egress=instance.egress)
    if resource.latest_hash is not None and (fetched.not_modified or fetched.sha256 == resource.latest_hash):
        return Refreshed(resource.id, None)
    assert fetched.path is not None and fetched.sha256 is not None
    if not _is_table(resource, fetched.media_type):
        return Refreshed(resource.id, fetched)
    if resource.table_schema is not None:  # carried by the source as a Frictionless object
        schema = resource.table_schema
    else:
        if resource.schema_ref:
            _check_local_reference(source, resource.schema_ref)
        schema = resolve_schema_ref(resource.schema_ref, egress=instance.egress)
    matched = _matched_schema(fetched.path) if schema is None else None
    if matched is not None:
        schema = matched[1]
    checked, table = validate(fetched.path, schema, resource.dialect)
    checked.stats["schema"] = table.schema  # kept with the version: inferred ones too, shown as such
    if matched is not None:  # no schema was declared: the best-fitting bundled one was used
        checked.stats["schema_source"] = f"matched:{matched[0].schema}"
        checked.stats["schema_match"] = matched[0].to_dict()
    report = checked.located_at(resource.url)  # the officer knows the URL, not our download
    result.reports.append(report)
    try:
        if not report.valid:
            return Refreshed(resource.id, fetched, report)
        namespace = _namespace(plan, resource)
        out_path = instance.rdf_dir / str(plan.id) / f"{resource.slug}-{fetched.sha256[:16]}.nt"
        bundled = _bundled_name(resource.schema_ref) if resource.table_schema is None else None
        converted = upgrade(table.path, table, uris=instance.uris, publisher=plan.ref.publisher,
                            dataset_namespace=namespace, out_path=out_path,
                            schema_name=matched[0].schema if matched is not None else bundled,
                            fields=matched[0].mapping if matched is not None else None,
                            municipalities=plan.publisher_names, report=report)
        _note_conversion(report, converted)
        return Refreshed(resource.id, fetched, report, converted, namespace)
    finally:
        if table.decoded_from is not None:  # a gzip'd or zipped table was checked from a decoded copy
            Path(table.path).unlink(missing_ok=True)


def _bundled_name(ref: str | None) -> str | None:
    """The bundled schema a `dct:conformsTo` reference names, if it names one."""
    if ref and ref.startswith(BUNDLED_PREFIX) and ref[len(BUNDLED_PREFIX):] in bundled_schemas():
        return ref[len(BUNDLED_PREFIX):]
    return None


def _note_conversion(report: Report, converted: UpgradeResult) -> None:
    """Keep what the upgrade did with the table's report: its mapping, link counts and warnings."""
    report.stats["mapping"] = converted.mapping
    report.stats["links"] = converted.links
    if converted.warnings:
        report.add("mapping/cell-kept-as-text", "warning",
                   f"{converted.warnings:,} cell(s) could not be typed as their column's datatype in RDF and "
                   f"were kept as text; for example: {'; '.join(converted.warning_examples[:3])}",
                   count=converted.warnings)


def _matched_schema(path: Path) -> tuple[Match, dict[str, Any]] | None:
    """The bundled schema that best fits a table with no declared schema, adapted to its header."""
    try:
        return match_table(path)
    except (DataError, NotFoundError):  # not a table: validation says so, located
        return None


def _record(instance: Instance, plan: DatasetPlan, refreshed: list[Refreshed], now: datetime,
            changed: bool) -> Pending | None:
    """Record new versions and stage the dataset's publication; returns what must go to the store."""
    with instance.session() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.id == plan.id).options(
            selectinload(Dataset.resources).selectinload(Resource.latest_version),
            selectinload(Dataset.resources).selectinload(Resource.published_version))).one()
        resources = {r.id: r for r in dataset.resources}
        for result in refreshed:
            resource = resources[result.resource_id]
            if result.fetched is None:
                if resource.latest_version is not None:
                    resource.latest_version.checked_at = now
                continue
            fetched = result.fetched
            assert fetched.sha256 is not None
            version = ResourceVersion(resource=resource, url=resource.url, content_hash=fetched.sha256,
                                      size=fetched.size, fetched_at=now, checked_at=now, etag=fetched.etag,
                                      last_modified=fetched.last_modified)
            session.add(version)
            resource.latest_version = version
            if result.report is not None:
                version.valid, version.report_json = result.report.valid, result.report.to_dict()
            if result.converted is not None:
                version.rdf_path = str(result.converted.path.relative_to(instance.path))
                version.triples = result.converted.triples
                resource.rdf_namespace = resource.rdf_namespace or result.namespace
                resource.published_version = version
                dataset.publication_state = "published"
            elif result.report is not None and dataset.publication_state is None:
                dataset.publication_state = "unpublished"  # a table was checked; none has validated yet
            dataset.last_content_change = dataset.record_modified = now
        if changed or dataset.graph_digest is None:
            session.flush()
            stage_publication(instance, session, dataset)
        return pending_of(dataset)
