"""The one pipeline entry point: harvest → validate → upgrade → publish → freshness.

The CLI, the scheduler and the web all call these functions; none repeats step logic. The steps
themselves are in `portal.steps`; a harvest composes them in short database transactions that are
never held across downloads, validation, conversion or store writes:

1. take the source's lock, load it and put the run on record (commit);
2. gather the source's listing (network, no transaction): records, unchanged datasets, problems;
3. normalise and harvest each dataset (`portal.harvesting.harvest_dataset`);
4. withdraw the datasets a complete listing no longer has; end the run (commit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from harvesters import HarvestedDataset, ListingProblem, StillListed, harvester_for
from harvesters.normalise import normalise
from portal.db import Dataset, HarvestRun, Source, utcnow
from portal.errors import DataError, NotFoundError, PortalError, SourceError, UsageError
from portal.harvesting import SourceInfo, harvest_dataset
from portal.instance import Instance
from portal.publication import PublicationBatch, publish_catalogue, reconcile, withdraw_dataset
from portal.report import Report
from portal.runs import fail_abandoned_runs, failing_run, running_elsewhere, source_lock, start_run
from portal.sources import add_source, is_due, list_sources
from portal.scorecard_graph import publish_scorecards, refresh_scorecards
from portal.watch import evaluate_freshness

log = logging.getLogger(__name__)

#: Per-dataset errors a run keeps on record (the message says how many there were in all).
MAX_RECORDED_ERRORS = 1000

__all__ = ["HarvestOutcome", "Listing", "add_source", "harvest", "harvest_all", "harvest_due", "list_sources"]


@dataclass
class HarvestOutcome:
    """What one harvest of one source did."""

    source: str
    run_id: int | None
    status: str  # finished | partial | failed
    datasets_seen: int = 0
    datasets_changed: int = 0
    datasets_withdrawn: int = 0
    listing_complete: bool = False
    reports: list[Report] = field(default_factory=list)
    #: What failed: one entry per dataset or listing page, {"dataset"|"page": …, "message": …}.
    errors: list[dict[str, str]] = field(default_factory=list)
    #: Why datasets the source no longer lists were not withdrawn, when they were not.
    withdrawal_held: str | None = None

    @property
    def problems(self) -> list[str]:
        """The errors as lines of text."""
        return [f"{e.get('dataset') or e.get('page') or self.source}: {e['message']}" for e in self.errors]

    @property
    def has_data_errors(self) -> bool:
        """True when some table failed validation or some dataset could not be harvested."""
        return bool(self.errors) or any(not r.valid for r in self.reports)

    @property
    def failed(self) -> bool:
        """True when the source (or the store) could not be reached at all."""
        return self.status == "failed"


@dataclass
class Listing:
    """What a source's listing gave: records to harvest, datasets still listed unchanged, its problems."""

    records: list[HarvestedDataset] = field(default_factory=list)
    still_listed: set[str] = field(default_factory=set)
    problems: list[ListingProblem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every page was read: only then may the listing withdraw anything."""
        return not self.problems

    @property
    def identifiers(self) -> set[str]:
        """Every dataset the source lists."""
        return {record.identifier for record in self.records} | self.still_listed


def _source_id(instance: Instance, name: str) -> int:
    with instance.session() as session:
        source_id = session.scalar(select(Source.id).where(Source.name == name))
    if source_id is None:
        raise NotFoundError(f"no source named {name!r} (see `lodestar sources list`)")
    return source_id


def _begin(instance: Instance, name: str, now: datetime) -> tuple[SourceInfo, int, datetime | None]:
    """Load the source and put a new run of it on record (its own short transaction).

    Also returns the start of the source's last run that read its whole listing: incremental
    sources list only what changed since then.
    """
    with instance.session() as session:
        source = session.scalar(select(Source).where(Source.name == name))
        if source is None:
            raise NotFoundError(f"no source named {name!r} (see `lodestar sources list`)")
        fail_abandoned_runs(session)  # a long-lived process may have opened the instance long ago
        busy = running_elsewhere(session, source.id)
        if busy is not None:
            raise UsageError(f"source {name!r} is being harvested right now (run {busy.id}, pid {busy.pid} "
                             f"on {busy.hostname}); wait for that harvest to finish")
        since = session.scalar(select(HarvestRun.started_at).where(
            HarvestRun.source_id == source.id, HarvestRun.listing_complete.is_(True),
            HarvestRun.status.in_(("finished", "partial"))).order_by(HarvestRun.id.desc()).limit(1))
        run = start_run(session, source, now)
        session.flush()
        info = SourceInfo(source.id, source.name, source.url, source.kind, source.publisher,
                          dict(source.options_json or {}))
        return info, run.id, since


def harvest(instance: Instance, name: str, *, now: datetime | None = None,
            confirm_withdrawals: bool = False, full: bool = False) -> HarvestOutcome:
    """Harvest one source end to end, publish what changed and withdraw what it no longer lists.

    One bad dataset or page never fails the run: it ends `partial` with the reasons on record.
    Only a complete listing withdraws, and never more than `withdraw_max_share` of the source's
    datasets (nor all of them, on an empty answer) unless `confirm_withdrawals`. With `full`, an
    incremental source lists everything rather than what changed since its last complete run.
    However the harvest ends short of success (an error, Ctrl-C, SIGTERM), the run is recorded
    as failed with its reason and the exception goes on.
    """
    now = now or utcnow()
    with source_lock(instance, _source_id(instance, name), name):
        source, run_id, since = _begin(instance, name, now)
        outcome = HarvestOutcome(source=name, run_id=run_id, status="running")
        with failing_run(instance, run_id):
            reconcile(instance)  # mend what an earlier crash may have left half-published
            listing = _gather(instance, source, None if full else since)
            outcome.listing_complete = listing.complete
            outcome.errors += [{"page": p.where, "message": p.message} for p in listing.problems]
            _harvest_records(instance, source, listing, now, outcome)
            _keep_still_listed(instance, source, listing, now)
            if listing.complete:  # only a complete listing says what the source no longer has
                _withdraw_unlisted(instance, source, listing, now, outcome, confirm_withdrawals)
            publish_catalogue(instance)
            evaluate_freshness(instance, now)
            if outcome.datasets_changed or outcome.datasets_withdrawn:  # MQA scores may have moved too
                publish_scorecards(instance, now)
            else:
                refresh_scorecards(instance, now)  # status periods, as SPARQL sees them, when any changed
            outcome.status = "partial" if outcome.errors or outcome.withdrawal_held else "finished"
            _finish(instance, run_id, outcome)
    return outcome


def _harvest_records(instance: Instance, source: SourceInfo, listing: Listing, now: datetime,
                     outcome: HarvestOutcome) -> None:
    """Harvest each listed record; a dataset that fails is an error of the run, the rest go on.

    Publications are written to the store in batches (`PublicationBatch`), the last at the end.
    """
    batch = PublicationBatch(instance)
    for record in listing.records:
        outcome.datasets_seen += 1
        try:
            normalise(record)
            result = harvest_dataset(instance, source, record, now, batch)
        except (SourceError, DataError) as exc:
            outcome.errors.append({"dataset": record.identifier, "message": str(exc)})
            log.warning("dataset %s not harvested: %s", record.identifier, exc)
            continue
        outcome.datasets_changed += result.changed
        outcome.reports += result.reports
        outcome.errors += [{"dataset": record.identifier, "message": p} for p in result.problems]
    batch.flush()
    outcome.datasets_seen += len(listing.still_listed)


def _gather(instance: Instance, source: SourceInfo, since: datetime | None) -> Listing:
    """Read the source's listing; a listing that breaks off keeps what came before, and why."""
    harvester = harvester_for(source.kind, timeout=float(instance.settings.http_timeout),
                              max_bytes=int(instance.settings.max_download_bytes), egress=instance.egress)
    listing = Listing()
    try:
        for item in harvester.gather(source.url, options=source.options, since=since):
            if isinstance(item, ListingProblem):
                log.warning("listing of %s: %s: %s", source.name, item.where, item.message)
                listing.problems.append(item)
            elif isinstance(item, StillListed):
                listing.still_listed.add(item.identifier)
            else:
                listing.records.append(item)
    except SourceError as exc:
        if not listing.records and not listing.still_listed:
            raise
        log.warning("listing of %s broke off after %d datasets: %s", source.name, len(listing.records), exc)
        listing.problems.append(ListingProblem(source.url, f"the listing broke off: {exc}"))
    return listing


def _keep_still_listed(instance: Instance, source: SourceInfo, listing: Listing, now: datetime) -> None:
    """Datasets an incremental listing names as unchanged were seen now; nothing else is touched."""
    if not listing.still_listed:
        return
    with instance.session() as session:
        session.execute(update(Dataset).where(
            Dataset.source_id == source.id, Dataset.identifier.in_(listing.still_listed),
            Dataset.status == "active").values(last_seen=now))


def _finish(instance: Instance, run_id: int, outcome: HarvestOutcome) -> None:
    with instance.session() as session:
        run = session.get(HarvestRun, run_id)
        assert run is not None
        run.status, run.finished_at = outcome.status, utcnow()
        run.datasets_seen, run.datasets_changed = outcome.datasets_seen, outcome.datasets_changed
        run.datasets_withdrawn, run.listing_complete = outcome.datasets_withdrawn, outcome.listing_complete
        run.errors_json = outcome.errors[:MAX_RECORDED_ERRORS]
        lines = ([outcome.withdrawal_held] if outcome.withdrawal_held else []) + outcome.problems
        if len(outcome.errors) > MAX_RECORDED_ERRORS:
            lines.insert(0, f"{len(outcome.errors)} errors, the first {MAX_RECORDED_ERRORS} on record")
        run.message = "; ".join(lines)[:4000]


def _withdraw_unlisted(instance: Instance, source: SourceInfo, listing: Listing, now: datetime,
                       outcome: HarvestOutcome, confirmed: bool) -> None:
    """Withdraw the source's published datasets that its complete listing no longer has.

    A listing that would withdraw every dataset (an empty answer) or more than the set share
    withdraws nothing unless confirmed: a source that broke in a way that still looks like a
    valid answer must not empty the portal.
    """
    listed = listing.identifiers
    with instance.session() as session:
        active = list(session.execute(select(Dataset.id, Dataset.identifier).where(
            Dataset.source_id == source.id, Dataset.status == "active")))
    gone = [dataset_id for dataset_id, identifier in active if identifier not in listed]
    if not gone:
        return
    share = float(instance.settings.withdraw_max_share)
    if not confirmed and (not listed or len(gone) > share * len(active)):
        what = ("the source listed no datasets" if not listed else
                f"{len(gone)} of its {len(active)} datasets are no longer listed (more than {share:.0%})")
        outcome.withdrawal_held = (f"withdrew nothing: {what}; if that is right, run `lodestar harvest "
                                   f"{source.name} --confirm-withdrawals`")
        log.warning("%s: %s", source.name, outcome.withdrawal_held)
        return
    for dataset_id in gone:
        ref = withdraw_dataset(instance, dataset_id, now)
        log.warning("dataset %s withdrawn: source %s no longer lists it", ref, source.name)
    outcome.datasets_withdrawn = len(gone)


def _harvest_each(instance: Instance, names: list[str], now: datetime | None) -> list[HarvestOutcome]:
    outcomes = []
    for name in names:
        try:
            outcomes.append(harvest(instance, name, now=now))
        except PortalError as exc:
            log.error("harvest of %s failed: %s", name, exc)
            outcomes.append(HarvestOutcome(source=name, run_id=None, status="failed",
                                           errors=[{"message": str(exc)}]))
    return outcomes


def harvest_all(instance: Instance, *, now: datetime | None = None) -> list[HarvestOutcome]:
    """Harvest every registered source in name order; one failing source does not stop the others."""
    with instance.session() as session:
        names = list(session.scalars(select(Source.name).order_by(Source.name)))
    return _harvest_each(instance, names, now)


def harvest_due(instance: Instance, *, now: datetime | None = None) -> list[HarvestOutcome]:
    """Harvest the sources whose interval has passed since their last run (the scheduler's job)."""
    checked_at = now or utcnow()
    default_hours = float(instance.settings.harvest_every_hours)
    with instance.session() as session:
        sources = session.scalars(select(Source).order_by(Source.name).options(selectinload(Source.runs)))
        names = [s.name for s in sources if is_due(s, checked_at, default_hours)]
    return _harvest_each(instance, names, now)
