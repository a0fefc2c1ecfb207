"""The one pipeline entry point: harvest → validate → upgrade → publish → freshness.

The CLI, the scheduler and the web all call these functions; none repeats step logic.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from harvesters import HARVESTERS, HarvestedDataset, HarvestedResource, harvester_for
from harvesters.fetch import fetch
from portal.catalogue import catalogue_record, dataset_record, published_version
from portal.db import Dataset, HarvestRun, Resource, ResourceVersion, Source, utcnow
from portal.errors import DataError, NotFoundError, PortalError, SourceError, UsageError
from portal.instance import Instance
from portal.report import Report
from portal.watch import evaluate_freshness
from schemas.resolve import resolve_schema_ref
from schemas.validation import validate_table
from vocab.csv2rdf import columns_to_ntriples, table_to_ntriples
from vocab.uris import slugify

log = logging.getLogger(__name__)


@dataclass
class HarvestOutcome:
    """What one harvest of one source did."""

    source: str
    run_id: int | None
    status: str  # ok | partial | failed
    datasets_seen: int = 0
    datasets_changed: int = 0
    reports: list[Report] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def has_data_errors(self) -> bool:
        """True when some table failed validation or some dataset could not be harvested."""
        return bool(self.problems) or any(not r.valid for r in self.reports)

    @property
    def failed(self) -> bool:
        """True when the source (or the store) could not be reached at all."""
        return self.status == "failed"


def add_source(instance: Instance, name: str, url: str, kind: str = "dcat",
               publisher: str | None = None) -> Source:
    """Register a harvest source under a unique name."""
    if kind not in HARVESTERS:
        raise UsageError(f"unknown source kind {kind!r}; known: {', '.join(sorted(HARVESTERS))}")
    if not slugify(name) == name:
        raise UsageError(f"source name {name!r} must be a slug such as {slugify(name)!r}")
    if urlparse(url).scheme.lower() not in ("http", "https", "file") or not urlparse(url).path:
        raise UsageError(f"source URL {url!r} must be an http(s) or file URL of a catalogue")
    with instance.session() as session:
        if session.scalar(select(Source).where(Source.name == name)) is not None:
            raise UsageError(f"a source named {name!r} already exists")
        source = Source(name=name, url=url, kind=kind, publisher=publisher)
        session.add(source)
    return source


def list_sources(instance: Instance) -> list[Source]:
    """Every registered source with its runs loaded."""
    with instance.session() as session:
        sources = list(session.scalars(select(Source).order_by(Source.name)))
        for source in sources:
            _ = source.runs
        return sources


def harvest(instance: Instance, name: str, *, now: datetime | None = None) -> HarvestOutcome:
    """Harvest one source end to end and publish what changed."""
    now = now or utcnow()
    with instance.session() as session:
        source = session.scalar(select(Source).where(Source.name == name))
        if source is None:
            raise NotFoundError(f"no source named {name!r} (see `lodestar sources list`)")
        run = HarvestRun(source=source, started_at=now)
        session.add(run)
        session.commit()  # the run is on record even if every dataset fails
        outcome = HarvestOutcome(source=name, run_id=run.id, status="running")
        harvester = harvester_for(source.kind, timeout=float(instance.settings.http_timeout),
                                  max_bytes=int(instance.settings.max_download_bytes))
        try:
            for record in harvester.gather(source.url):
                outcome.datasets_seen += 1
                try:
                    if _harvest_dataset(instance, session, source, record, now, outcome):
                        outcome.datasets_changed += 1
                    session.commit()
                except (SourceError, DataError) as exc:
                    session.rollback()
                    outcome.problems.append(f"{record.identifier}: {exc}")
                    log.warning("dataset %s not harvested: %s", record.identifier, exc)
        except PortalError as exc:  # the source itself, or the store, failed: the run failed
            session.rollback()
            run.status, run.message, run.finished_at = "failed", str(exc), utcnow()
            session.commit()
            raise
        outcome.status = "partial" if outcome.problems else "ok"
        run.status, run.finished_at = outcome.status, utcnow()
        run.datasets_seen, run.datasets_changed = outcome.datasets_seen, outcome.datasets_changed
        run.message = "; ".join(outcome.problems)[:4000]
    publish_catalogue(instance)
    evaluate_freshness(instance, now)
    return outcome


def _publisher_slug(instance: Instance, source: Source, record: HarvestedDataset) -> str:
    if source.publisher:
        return source.publisher
    if record.publisher_id or record.publisher_name:
        return slugify(record.publisher_id or record.publisher_name)
    return str(instance.settings.publisher)


def _dataset_row(session: Session, source: Source, record: HarvestedDataset, publisher: str,
                 now: datetime) -> Dataset:
    dataset = session.scalar(select(Dataset).where(
        Dataset.source_id == source.id, Dataset.identifier == record.identifier))
    if dataset is None:
        base = slugify(record.identifier.rstrip("/").rsplit("/", 1)[-1])
        slug, n = base, 1
        while session.scalar(select(Dataset).where(Dataset.publisher == publisher, Dataset.slug == slug)):
            n += 1
            slug = f"{base}-{n}"
        dataset = Dataset(source=source, publisher=publisher, slug=slug, identifier=record.identifier,
                          first_seen=now)
        session.add(dataset)
    return dataset


def _metadata(record: HarvestedDataset) -> dict[str, object]:
    return {
        "uri": record.uri, "publisher_uri": record.publisher_uri, "landing_page": record.landing_page,
        "licence": record.licence, "themes": record.themes, "keywords": record.keywords,
        "issued": record.issued.isoformat() if record.issued else None,
        "modified_claimed": record.modified.isoformat() if record.modified else None,
        "contact_email": record.contact_email,
        "resources": [r.url for r in record.resources],
    }


def _harvest_dataset(instance: Instance, session: Session, source: Source, record: HarvestedDataset,
                     now: datetime, outcome: HarvestOutcome) -> bool:
    """Bring one dataset up to date; returns True when its published graph changed."""
    publisher = _publisher_slug(instance, source, record)
    dataset = _dataset_row(session, source, record, publisher, now)
    metadata = _metadata(record)
    changed = dataset.id is None or metadata != dataset.metadata_json or (
        dataset.title, dataset.description, dataset.frequency) != (
        record.title, record.description, record.frequency)
    dataset.publisher_name = record.publisher_name
    dataset.title, dataset.description = record.title, record.description
    dataset.frequency, dataset.metadata_json = record.frequency, metadata
    dataset.claimed_modified, dataset.last_seen = record.modified, now
    session.flush()
    for harvested in record.resources:
        resource = _resource_row(session, dataset, harvested)
        try:
            refreshed = _refresh_resource(instance, resource, harvested, now, outcome)
        except (SourceError, DataError) as exc:
            # The rest of the dataset goes on; what was published of this resource stays.
            outcome.problems.append(f"{record.identifier}: {exc}")
            log.warning("resource %s not refreshed: %s", harvested.url, exc)
            continue
        if refreshed:
            changed = True
            dataset.last_content_change = now
    if changed:
        session.flush()
        session.refresh(dataset)
        publish_dataset(instance, dataset)
    return changed


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


def _is_table(resource: Resource, fetched_type: str) -> bool:
    kinds = {resource.media_type.lower(), fetched_type.lower()}
    return "text/csv" in kinds or resource.url.lower().split("?")[0].endswith(".csv")


def _check_local_reference(source: Source, url: str) -> None:
    """Only a catalogue read from this machine may point at files on this machine.

    Otherwise a remote catalogue could make the portal read and publish any local file.
    """
    if url.lower().startswith("file:") and not source.url.lower().startswith("file:"):
        raise SourceError(f"{url}: a remote catalogue may not point at local files")


def _refresh_resource(instance: Instance, resource: Resource, harvested: HarvestedResource,
                      now: datetime, outcome: HarvestOutcome) -> bool:
    """Fetch a resource; when its content changed, validate and convert it. True if it changed."""
    _check_local_reference(resource.dataset.source, harvested.url)
    latest = resource.latest
    fetched = fetch(harvested.url, instance.downloads, timeout=float(instance.settings.http_timeout),
                    max_bytes=int(instance.settings.max_download_bytes),
                    etag=latest.etag if latest else None)
    if latest is not None and (fetched.not_modified or fetched.sha256 == latest.content_hash):
        latest.checked_at = now
        return False
    assert fetched.path is not None and fetched.sha256 is not None
    version = ResourceVersion(url=harvested.url, content_hash=fetched.sha256, size=fetched.size,
                              fetched_at=now, checked_at=now, etag=fetched.etag,
                              last_modified=fetched.last_modified)
    resource.versions.append(version)
    if _is_table(resource, fetched.media_type):
        _upgrade_table(instance, resource, version, fetched.path, outcome)
    return True


def _table_namespace(resource: Resource) -> str:
    """The URI namespace of a table's rows and columns, fixed the first time the table is converted.

    The first table of a dataset mints under the dataset (`/id/{publisher}/{dataset}/{key}`);
    any further table under `{dataset}.{resource}` so that row keys of two tables never collide.
    """
    if resource.rdf_namespace is None:
        dataset = resource.dataset
        taken = {r.rdf_namespace for r in dataset.resources if r is not resource}
        resource.rdf_namespace = (dataset.slug if dataset.slug not in taken
                                  else f"{dataset.slug}.{resource.slug}")
    return resource.rdf_namespace


def _upgrade_table(instance: Instance, resource: Resource, version: ResourceVersion, path: Path,
                   outcome: HarvestOutcome) -> None:
    """Validate a table; when valid, convert it to N-Triples kept beside the instance."""
    dataset = resource.dataset
    if resource.schema_ref:
        _check_local_reference(dataset.source, resource.schema_ref)
    schema = resolve_schema_ref(resource.schema_ref, timeout=float(instance.settings.http_timeout))
    checked, table = validate_table(path, schema)
    report = checked.located_at(resource.url)  # the officer knows the URL, not our download
    outcome.reports.append(report)
    version.valid, version.report_json = report.valid, report.to_dict()
    if not report.valid:
        return
    out_dir = instance.rdf_dir / str(resource.dataset_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    rdf_path = out_dir / f"{resource.slug}-{version.content_hash[:16]}.nt"
    tmp = rdf_path.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as out:
        namespace = _table_namespace(resource)
        vocabulary = columns_to_ntriples(table.schema, uris=instance.uris, publisher=dataset.publisher,
                                         dataset=namespace)
        out.write(vocabulary)
        stats = table_to_ntriples(
            path, schema=table.schema, encoding=table.encoding, delimiter=table.delimiter,
            quotechar=table.quotechar, header_row=table.header_row, uris=instance.uris,
            publisher=dataset.publisher, dataset=namespace, out=out)
    tmp.replace(rdf_path)
    version.rdf_path = str(rdf_path.relative_to(instance.path))
    version.triples = stats.triples + vocabulary.count("\n")


def publish_dataset(instance: Instance, dataset: Dataset) -> int:
    """Replace the dataset's named graph with its record plus its published rows; returns triples."""
    record = dataset_record(instance.uris, dataset).serialize(format="nt", encoding="utf-8")
    parts = [record]
    triples = record.count(b"\n")
    for resource in dataset.resources:
        version = published_version(resource)
        if version is not None and version.rdf_path:
            parts.append((instance.path / version.rdf_path).read_bytes())
            triples += version.triples
    instance.store.replace_graph(instance.uris.graph(dataset.publisher, dataset.slug), b"".join(parts))
    dataset.triples = triples
    return triples


def publish_catalogue(instance: Instance) -> None:
    """Replace the catalogue graph with the list of every dataset."""
    with instance.session() as session:
        datasets = list(session.scalars(select(Dataset).order_by(Dataset.publisher, Dataset.slug)))
        graph = catalogue_record(instance.uris, datasets, str(instance.settings.site_title))
    instance.store.replace_graph(instance.uris.portal_graph("catalog"),
                                 graph.serialize(format="nt", encoding="utf-8"))


def harvest_all(instance: Instance, *, now: datetime | None = None) -> list[HarvestOutcome]:
    """Harvest every registered source in name order; one failing source does not stop the others."""
    outcomes = []
    for source in list_sources(instance):
        try:
            outcomes.append(harvest(instance, source.name, now=now))
        except PortalError as exc:
            log.error("harvest of %s failed: %s", source.name, exc)
            outcomes.append(HarvestOutcome(source=source.name, run_id=None, status="failed",
                                           problems=[str(exc)]))
    return outcomes
