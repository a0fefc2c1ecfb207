"""Publication: each dataset's named graph in the store, kept in agreement with the database.

The order is always: record in the database what the graph should hold ("pending"), write the
store, record that it holds it ("published"). Each dataset's record carries a digest of the
whole graph content (`{base}/def/graphDigest`), so `reconcile` can ask the store in one query
what it holds and mend whatever a crash between those steps left behind.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.catalogue import catalogue_record, dataset_record
from portal.watch import record_withdrawal
from portal.db import Dataset, Resource, utcnow
from portal.instance import Instance
from portal.steps import DatasetRef, withdraw
from portal.errors import StoreError
from portal.store import GraphContent, select_rows
from vocab.uris import UriScheme

log = logging.getLogger(__name__)

#: The portal term whose value, in a dataset's record, is the digest of its whole graph.
DIGEST_TERM = "graphDigest"


@dataclass(frozen=True)
class Pending:
    """A publication the database has recorded and the store may not hold yet."""

    dataset_id: int
    ref: DatasetRef
    files: tuple[str, ...]  # relative to the instance folder
    digest: str


@dataclass
class Reconciliation:
    """What `reconcile` mended."""

    republished: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the store was written."""
        return bool(self.republished or self.withdrawn)


def _write_once(path: Path, data: bytes) -> None:
    """Write a content-named file whole (beside it, then renamed), unless it is already there."""
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_bytes(data)
    part.replace(path)


def stage_publication(instance: Instance, session: Session, dataset: Dataset) -> Pending:
    """Record, in the caller's transaction, what the dataset's graph should now hold.

    That is its DCAT record (written to ``rdf/<id>/record-<digest>.nt``) and the converted table
    of every resource's published version. Small file writes only: no store, no network.
    """
    lines = sorted(set(dataset_record(instance.uris, dataset).serialize(
        format="nt", encoding="utf-8").splitlines()) - {b""})
    tables = [(r.published_version.rdf_path, r.published_version.triples) for r in dataset.resources
              if r.published_version is not None and r.published_version.rdf_path]
    digest = hashlib.sha256(b"\n".join(lines + [p.encode("utf-8") for p, _ in tables])).hexdigest()
    ref = DatasetRef(dataset.publisher, dataset.slug)
    lines.append(f'<{ref.uri(instance.uris)}> <{instance.uris.portal_term(DIGEST_TERM)}> "{digest}" .'
                 .encode("utf-8"))
    record = instance.rdf_dir / str(dataset.id) / f"record-{digest[:16]}.nt"
    _write_once(record, b"\n".join(lines) + b"\n")
    files = (str(record.relative_to(instance.path)), *(p for p, _ in tables))
    dataset.graph_files, dataset.graph_digest = list(files), digest
    dataset.triples = len(lines) + sum(t for _, t in tables)
    return Pending(dataset.id, ref, files, digest)


def pending_of(dataset: Dataset) -> Pending | None:
    """The dataset's publication when the store may not hold it yet, else None."""
    if dataset.withdrawn or dataset.graph_digest is None or dataset.graph_digest == dataset.published_digest:
        return None
    return Pending(dataset.id, DatasetRef(dataset.publisher, dataset.slug), tuple(dataset.graph_files or ()),
                   dataset.graph_digest)


def record_published(instance: Instance, dataset_id: int, digest: str | None) -> None:
    """Record that the store now holds the dataset's graph with this digest (None: no graph)."""
    with instance.session() as session:
        dataset = session.get(Dataset, dataset_id)
        if dataset is not None and (digest is None or dataset.graph_digest == digest):
            dataset.published_digest = digest


def publish_pending(instance: Instance, pending: Pending) -> bool:
    """Write a recorded publication to the store, then record it published; True if the graph changed."""
    return bool(publish_all(instance, [pending]))


def publish_all(instance: Instance, pendings: Sequence[Pending]) -> set[str]:
    """Write recorded publications to the store in one step, then record them published.

    Returns the graphs that changed. A missing file raises `StoreError` before the store is touched.
    """
    if not pendings:
        return set()
    contents: dict[str, GraphContent] = {}
    for pending in pendings:
        paths = [instance.path / f for f in pending.files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise StoreError(f"cannot publish {pending.ref}: missing file(s) {', '.join(missing)}")
        contents[pending.ref.graph(instance.uris)] = paths
    changed = write_graphs(instance, contents)
    record_all_published(instance, pendings)
    return changed


def write_graphs(instance: Instance, contents: dict[str, GraphContent]) -> set[str]:
    """The store write of a publication step: every graph in one new generation."""
    return instance.store.replace_graphs(contents)


def record_all_published(instance: Instance, pendings: Sequence[Pending]) -> None:
    """Record, in one transaction, that the store holds each of these publications."""
    with instance.session() as session:
        for pending in pendings:
            dataset = session.get(Dataset, pending.dataset_id)
            if dataset is not None and dataset.graph_digest == pending.digest:
                dataset.published_digest = pending.digest


class PublicationBatch:
    """Publications gathered during a harvest and written to the store together.

    Every store write makes a new generation; one per dataset makes a 10,000-dataset harvest
    pay 10,000 checkpoints. A batch is written when it holds `max_datasets` publications or
    `max_bytes` of content, when its oldest waited `max_seconds`, and at the end of the run.
    Each publication is staged in the database before it joins a batch, so a crash before
    the write is mended by `reconcile`.
    """

    def __init__(self, instance: Instance, *, max_datasets: int = 200, max_bytes: int = 64 << 20,
                 max_seconds: float = 30.0) -> None:
        self.instance = instance
        self.max_datasets, self.max_bytes, self.max_seconds = max_datasets, max_bytes, max_seconds
        self.pendings: list[Pending] = []
        self.size, self.since = 0, 0.0
        self.changed: set[str] = set()

    def add(self, pending: Pending) -> None:
        """Join the batch; write it when it is full or old enough."""
        if not self.pendings:
            self.since = time.monotonic()
        self.pendings = [p for p in self.pendings if p.dataset_id != pending.dataset_id] + [pending]
        self.size += sum((self.instance.path / f).stat().st_size for f in pending.files
                         if (self.instance.path / f).is_file())
        if (len(self.pendings) >= self.max_datasets or self.size >= self.max_bytes
                or time.monotonic() - self.since >= self.max_seconds):
            self.flush()

    def flush(self) -> set[str]:
        """Write what the batch holds (nothing when empty); returns the graphs that changed."""
        pendings, self.pendings, self.size = self.pendings, [], 0
        changed = publish_all(self.instance, pendings)
        self.changed |= changed
        return changed


def withdraw_dataset(instance: Instance, dataset_id: int, now: datetime | None = None) -> DatasetRef | None:
    """Withdraw a dataset: recorded withdrawn, its graph dropped, then recorded as having none."""
    with instance.session() as session:
        dataset = session.get(Dataset, dataset_id)
        if dataset is None:
            return None
        dataset.status, dataset.withdrawn_at = "withdrawn", now or utcnow()
        dataset.record_modified = dataset.withdrawn_at
        record_withdrawal(session, dataset, dataset.withdrawn_at)  # its status and alert, in this transaction
        ref = DatasetRef(dataset.publisher, dataset.slug)
    withdraw(instance.store, ref.graph(instance.uris))
    record_published(instance, dataset_id, None)
    return ref


def store_digests(instance: Instance) -> dict[str, str]:
    """The graph digest each dataset graph in the store carries, by graph IRI (one query)."""
    rows = select_rows(instance.store, f"""SELECT ?g ?digest WHERE {{
        GRAPH ?g {{ ?dataset <{instance.uris.portal_term(DIGEST_TERM)}> ?digest }} }}""")
    return {row["g"]: row["digest"] for row in rows}


def reconcile(instance: Instance) -> Reconciliation:
    """Bring the store into agreement with what the database says is published.

    Graphs that differ from the database's record are written again from the files it names;
    graphs of withdrawn datasets are dropped; datasets from before publications were recorded
    get their record staged first. The catalogue graph is replaced when anything changed.
    """
    result = Reconciliation()
    with instance.session() as session:
        unstaged = list(session.scalars(select(Dataset.id).where(
            Dataset.status == "active", Dataset.graph_digest.is_(None))))
    for dataset_id in unstaged:  # made by a Lodestar that did not record publications
        with instance.session() as session:
            dataset = session.scalars(select(Dataset).where(Dataset.id == dataset_id).options(
                selectinload(Dataset.resources).selectinload(Resource.published_version),
                selectinload(Dataset.resources).selectinload(Resource.latest_version))).one()
            stage_publication(instance, session, dataset)
    with instance.session() as session:
        datasets = list(session.scalars(select(Dataset).order_by(Dataset.id)))
    held = store_digests(instance)
    batch = PublicationBatch(instance)
    for dataset in datasets:
        ref = DatasetRef(dataset.publisher, dataset.slug)
        graph = ref.graph(instance.uris)
        if dataset.withdrawn:
            if graph in held or dataset.published_digest is not None:
                withdraw(instance.store, graph)
                record_published(instance, dataset.id, None)
                result.withdrawn.append(str(ref))
        elif dataset.graph_digest is not None and held.get(graph) != dataset.graph_digest:
            files = tuple(dataset.graph_files or ())
            missing = [f for f in files if not (instance.path / f).is_file()]
            if missing:  # the instance folder lost them: only a new version of the data mends it
                result.problems.append(f"{ref}: cannot republish, missing {', '.join(missing)}")
                log.error("cannot republish %s: missing %s", ref, ", ".join(missing))
                continue
            batch.add(Pending(dataset.id, ref, files, dataset.graph_digest))
            result.republished.append(str(ref))
        elif dataset.graph_digest is not None and dataset.published_digest != dataset.graph_digest:
            record_published(instance, dataset.id, dataset.graph_digest)  # the store had it already
            result.confirmed.append(str(ref))
    batch.flush()
    if result.changed:
        publish_catalogue(instance)
    if result.changed or result.confirmed:
        log.warning("reconciled the store with the database: %d republished, %d withdrawn, %d confirmed",
                    len(result.republished), len(result.withdrawn), len(result.confirmed))
    return result


def publish_catalogue(instance: Instance) -> None:
    """Replace the catalogue graph with the list of every dataset that is not withdrawn, and
    keep the shared reference data (districts, countries, EU authority tables) published beside it."""
    with instance.session() as session:
        datasets = list(session.scalars(select(Dataset).where(Dataset.status == "active")
                                        .order_by(Dataset.publisher, Dataset.slug)))
    graph = catalogue_record(instance.uris, datasets, str(instance.settings.site_title))
    instance.store.replace_graph(instance.uris.portal_graph("catalog"),
                                 graph.serialize(format="nt", encoding="utf-8"))
    publish_reference_data(instance)


def publish_reference_data(instance: Instance) -> int:
    """Publish every reference scheme as SKOS in its own graph; unchanged graphs are not written.

    Returns how many graphs were written. Linked cells of every dataset point at these IRIs,
    so they dereference and join across datasets.
    """
    return len(instance.store.replace_graphs(_reference_contents(instance.uris)))


@functools.cache
def _reference_contents(uris: UriScheme) -> dict[str, GraphContent]:
    """Every reference graph's N-Triples under `uris`, built once per process (they are bundled data)."""
    from vocab.reference import reference_graphs

    return dict(reference_graphs(uris))
