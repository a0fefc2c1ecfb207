"""Assessing every dataset, reading unchanged ones from the `DatasetQuality` cache so that no page runs SHACL.

A cached assessment is reused while its digest holds: the digest covers the dataset's record
(`Dataset.graph_digest`, the digest of its staged publication, else a hash of the record built
now), whether each of its files answered at the last harvest, and `MQA_VERSION`. A stale one
is scored again; SHACL runs only when the record itself changed (the cache keeps the compliance
result with the hash of the record it checked), so a file that stops answering costs a re-score,
not a validation.

Transactions stay short: one reads plain digests; one loads the stale datasets and builds their
records; SHACL and scoring run with none open; one writes the results.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from rdflib import Graph
from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal import mqa_shacl
from portal.alerts.models import DatasetQuality
from portal.catalogue import dataset_record
from portal.db import Dataset, Resource, ResourceVersion
from portal.instance import Instance
from portal.mqa_scoring import DatasetMqa, assess_dataset, reachable
from portal.mqa_shacl import Compliance

log = logging.getLogger(__name__)

#: Bumped when the scoring changes, so that every cached assessment is made again.
MQA_VERSION = "1"
_CHUNK = 500  # datasets loaded per query when many are stale


@dataclass(frozen=True)
class _Seen:
    """A dataset as the first (cheap) read sees it."""

    id: int
    graph_digest: str | None
    reach: str  # "slug:1,slug:0" — which files answered at the last harvest


@dataclass
class _Stale:
    """A dataset to score again: its rows (detached, loaded), its record and the digests it is kept under."""

    dataset: Dataset
    record: Graph
    record_digest: str
    digest: str
    compliance: Compliance | None  # the cached result, if it checked this very record


def record_digest(record: Graph) -> str:
    """A stable hash of a record (sorted N-Triples; records use no blank nodes)."""
    lines = sorted(set(record.serialize(format="nt", encoding="utf-8").splitlines()) - {b""})
    return hashlib.sha256(b"\n".join(lines)).hexdigest()


def _digest(basis: str, reach: str) -> str:
    return hashlib.sha256(f"mqa {MQA_VERSION}\n{basis}\n{reach}".encode()).hexdigest()


def _active(publisher: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Dataset.status == "active"]
    if publisher is not None:
        conditions.append(Dataset.publisher == publisher)
    return conditions


def _survey(instance: Instance, publisher: str | None) -> tuple[list[_Seen], dict[int, DatasetQuality]]:
    """Plain digests of the datasets and their cached assessments, in one short transaction."""
    where = _active(publisher)
    with instance.session() as session:
        rows = session.execute(select(Dataset.id, Dataset.graph_digest, Dataset.last_seen).where(*where)
                               .order_by(Dataset.publisher, Dataset.slug)).all()
        files: dict[int, list[str]] = {}
        for dataset_id, slug, checked_at, last_seen in session.execute(
                select(Resource.dataset_id, Resource.slug, ResourceVersion.checked_at, Dataset.last_seen)
                .join(Dataset, Dataset.id == Resource.dataset_id)
                .outerjoin(ResourceVersion, ResourceVersion.id == Resource.latest_version_id)
                .where(*where).order_by(Resource.dataset_id, Resource.id)):
            files.setdefault(dataset_id, []).append(f"{slug}:{int(reachable(last_seen, checked_at))}")
        cached = {row.dataset_id: row for row in session.scalars(
            select(DatasetQuality).join(Dataset, Dataset.id == DatasetQuality.dataset_id).where(*where))}
    return [_Seen(i, g, ",".join(files.get(i, []))) for i, g, _ in rows], cached


def _fresh(row: DatasetQuality | None, digest: str) -> DatasetMqa | None:
    if row is None or row.digest != digest or (row.mqa_json or {}).get("version") != MQA_VERSION:
        return None
    try:
        return DatasetMqa.from_dict(row.mqa_json["mqa"])
    except (KeyError, TypeError, ValueError):  # written by another version of the code: score again
        return None


def _load(instance: Instance, seen: Sequence[_Seen], cached: dict[int, DatasetQuality],
          refresh: bool) -> list[_Stale]:
    """Load the stale datasets whole and build their records (a transaction per chunk, no SHACL)."""
    stale: list[_Stale] = []
    by_id = {s.id: s for s in seen}
    ids = [s.id for s in seen]
    for start in range(0, len(ids), _CHUNK):
        with instance.session() as session:
            datasets = session.scalars(select(Dataset).where(Dataset.id.in_(ids[start:start + _CHUNK])).options(
                selectinload(Dataset.resources).selectinload(Resource.latest_version),
                selectinload(Dataset.resources).selectinload(Resource.published_version))).all()
            for dataset in datasets:
                record = dataset_record(instance.uris, dataset)
                record_hash = record_digest(record)
                info = by_id[dataset.id]
                prior = (cached[dataset.id].mqa_json or {}) if dataset.id in cached else {}
                compliance = (Compliance.from_dict(prior["compliance"])
                              if not refresh and prior.get("record") == record_hash and "compliance" in prior
                              else None)
                stale.append(_Stale(dataset, record, record_hash,
                                    _digest(info.graph_digest or record_hash, info.reach), compliance))
    return stale


def _save(instance: Instance, results: Iterable[tuple[_Stale, Compliance, DatasetMqa]]) -> None:
    """Keep the new assessments (one short transaction; a row another process wrote meanwhile is replaced)."""
    rows = [DatasetQuality(dataset_id=s.dataset.id, digest=s.digest, assessed_at=score.assessed_at,
                           mqa_json={"version": MQA_VERSION, "record": s.record_digest,
                                     "compliance": compliance.to_dict(), "mqa": score.to_dict()})
            for s, compliance, score in results]
    for attempt in (1, 2):
        try:
            with instance.session() as session:
                for row in rows:
                    session.merge(row)
            return
        except IntegrityError:  # another process inserted the same row first: merge again, as an update
            if attempt == 2:
                raise
            log.info("MQA cache written concurrently; writing again")


def assess_all(instance: Instance, publisher: str | None = None, *, refresh: bool = False) -> list[DatasetMqa]:
    """The MQA of every active dataset (of one publisher, if given), from the cache where it still holds.

    With `refresh`, everything is assessed again, SHACL included.
    """
    seen, cached = _survey(instance, publisher)
    found: dict[int, DatasetMqa] = {}
    todo: list[_Seen] = []
    for info in seen:
        hit = None
        if not refresh and info.graph_digest is not None:
            hit = _fresh(cached.get(info.id), _digest(info.graph_digest, info.reach))
        if hit is not None:
            found[info.id] = hit
        else:
            todo.append(info)
    stale = _load(instance, todo, cached, refresh) if todo else []
    results = []
    now = datetime.now(timezone.utc)
    for item in stale:
        row = cached.get(item.dataset.id)
        if not refresh and (hit := _fresh(row, item.digest)) is not None:  # unstaged record, unchanged
            found[item.dataset.id] = hit
            continue
        compliance = item.compliance or mqa_shacl.check_compliance(item.record)
        score = assess_dataset(instance.uris, item.dataset, item.dataset.resources, compliance=compliance,
                               record=item.record, assessed_at=now)
        found[item.dataset.id] = score
        results.append((item, compliance, score))
    if results:
        _save(instance, results)
    return [found[info.id] for info in seen if info.id in found]


__all__ = ["MQA_VERSION", "assess_all", "record_digest"]
