"""The one pipeline entry point: harvest → validate → upgrade → publish → freshness.

The CLI, the scheduler and the web all call these functions; none repeats step logic. The steps
themselves are in `portal.steps`; a harvest composes them in short database transactions that are
never held across downloads, validation, conversion or store writes:

1. load the source and put the run on record (commit);
2. gather the source's records (network, no transaction);
3. harvest each dataset (`portal.harvesting.harvest_dataset`);
4. withdraw the datasets a complete listing no longer has; end the run (commit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from harvesters import HARVESTERS, HarvestedDataset, harvester_for
from portal.db import Dataset, HarvestRun, Source, utcnow
from portal.errors import DataError, NotFoundError, PortalError, SourceError, UsageError
from portal.harvesting import SourceInfo, harvest_dataset
from portal.instance import Instance
from portal.publication import publish_catalogue, reconcile, withdraw_dataset
from portal.report import Report
from portal.runs import fail_abandoned_runs, failing_run, running_elsewhere, start_run
from portal.watch import evaluate_freshness
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
    datasets_withdrawn: int = 0
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
        return list(session.scalars(select(Source).order_by(Source.name).options(selectinload(Source.runs))))


def _begin(instance: Instance, name: str, now: datetime) -> tuple[SourceInfo, int]:
    """Load the source and put a new run of it on record (its own short transaction)."""
    with instance.session() as session:
        source = session.scalar(select(Source).where(Source.name == name))
        if source is None:
            raise NotFoundError(f"no source named {name!r} (see `lodestar sources list`)")
        fail_abandoned_runs(session)  # a long-lived process may have opened the instance long ago
        busy = running_elsewhere(session, source.id)
        if busy is not None:
            raise UsageError(f"source {name!r} is being harvested right now (run {busy.id}, pid {busy.pid} "
                             f"on {busy.hostname}); wait for that harvest to finish")
        run = start_run(session, source, now)
        session.flush()
        return SourceInfo(source.id, source.name, source.url, source.kind, source.publisher), run.id


def harvest(instance: Instance, name: str, *, now: datetime | None = None) -> HarvestOutcome:
    """Harvest one source end to end, publish what changed and withdraw what it no longer lists.

    However the harvest ends short of success (an error, Ctrl-C, SIGTERM), the run is recorded
    as failed with its reason and the exception goes on.
    """
    now = now or utcnow()
    source, run_id = _begin(instance, name, now)
    outcome = HarvestOutcome(source=name, run_id=run_id, status="running")
    with failing_run(instance, run_id):
        reconcile(instance)  # mend what an earlier crash may have left half-published
        records, broke_off = _gather(instance, source)
        for record in records:
            outcome.datasets_seen += 1
            try:
                result = harvest_dataset(instance, source, record, now)
            except (SourceError, DataError) as exc:
                outcome.problems.append(f"{record.identifier}: {exc}")
                log.warning("dataset %s not harvested: %s", record.identifier, exc)
                continue
            outcome.datasets_changed += result.changed
            outcome.reports += result.reports
            outcome.problems += result.problems
        if broke_off is None:  # only a complete listing says what the source no longer has
            outcome.datasets_withdrawn = _withdraw_unlisted(instance, source, records, now)
        publish_catalogue(instance)
        if broke_off is not None:
            raise broke_off
        evaluate_freshness(instance, now)
        outcome.status = "partial" if outcome.problems else "ok"
        _finish(instance, run_id, outcome)
    return outcome


def _gather(instance: Instance, source: SourceInfo) -> tuple[list[HarvestedDataset], SourceError | None]:
    """Read the source's listing; a listing that broke off gives what came before, and why."""
    harvester = harvester_for(source.kind, timeout=float(instance.settings.http_timeout),
                              max_bytes=int(instance.settings.max_download_bytes), egress=instance.egress)
    records: list[HarvestedDataset] = []
    try:
        for record in harvester.gather(source.url):
            if isinstance(record, HarvestedDataset):  # paging and incremental listings: see the next commit
                records.append(record)
    except SourceError as exc:
        if not records:
            raise
        log.warning("listing of %s broke off after %d datasets: %s", source.name, len(records), exc)
        return records, exc
    return records, None


def _finish(instance: Instance, run_id: int, outcome: HarvestOutcome) -> None:
    with instance.session() as session:
        run = session.get(HarvestRun, run_id)
        assert run is not None
        run.status, run.finished_at = outcome.status, utcnow()
        run.datasets_seen, run.datasets_changed = outcome.datasets_seen, outcome.datasets_changed
        run.message = "; ".join(outcome.problems)[:4000]


def _withdraw_unlisted(instance: Instance, source: SourceInfo, records: list[HarvestedDataset],
                       now: datetime) -> int:
    """Withdraw the source's published datasets that its complete listing no longer has."""
    listed = {record.identifier for record in records}
    with instance.session() as session:
        gone = [dataset_id for dataset_id, identifier in session.execute(
            select(Dataset.id, Dataset.identifier).where(
                Dataset.source_id == source.id, Dataset.status == "active")) if identifier not in listed]
    for dataset_id in gone:
        ref = withdraw_dataset(instance, dataset_id, now)
        log.warning("dataset %s withdrawn: source %s no longer lists it", ref, source.name)
    return len(gone)


def harvest_all(instance: Instance, *, now: datetime | None = None) -> list[HarvestOutcome]:
    """Harvest every registered source in name order; one failing source does not stop the others."""
    with instance.session() as session:
        names = list(session.scalars(select(Source.name).order_by(Source.name)))
    outcomes = []
    for name in names:
        try:
            outcomes.append(harvest(instance, name, now=now))
        except PortalError as exc:
            log.error("harvest of %s failed: %s", name, exc)
            outcomes.append(HarvestOutcome(source=name, run_id=None, status="failed", problems=[str(exc)]))
    return outcomes
