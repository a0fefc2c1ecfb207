"""`lodestar schedule`: APScheduler runs harvests, freshness checks and alert deliveries, in its own process.

Each job opens the instance in a `with` block, calls the same pipeline functions as the CLI, and
closes it again, so nothing (store, database connections) is held between jobs.
Nothing here starts at import time; the app factory never starts a scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from portal.config import Settings
from portal.instance import Instance

log = logging.getLogger(__name__)


def harvest_job(settings: Settings) -> None:
    """Harvest every source whose interval has passed; one source failing does not stop the others."""
    from portal.pipeline import harvest_due

    with Instance(settings) as instance:
        for outcome in harvest_due(instance):
            log.info("harvested %s: %s, %d changed", outcome.source, outcome.status, outcome.datasets_changed)


def freshness_job(settings: Settings) -> None:
    """Evaluate every dataset's freshness now and record the changes with their alert events."""
    from portal.watch import evaluate_freshness

    with Instance(settings) as instance:
        evaluation = evaluate_freshness(instance, datetime.now(timezone.utc))
        for row in evaluation.changed:
            outcome = evaluation.outcome(row)
            log.info("%s/%s is now %s", outcome.publisher, outcome.dataset, outcome.result.status)
        from portal.scorecard_graph import refresh_scorecards

        # "who was overdue last quarter" in SPARQL: after this run's changes, and anything left behind
        refresh_scorecards(instance, evaluation.table.now)
    deliver_job(settings)  # tell subscribers at once, not at the next delivery round


def deliver_job(settings: Settings) -> None:
    """Send the alerts that are pending (new events, retries whose time has come, digests at their hour)."""
    from portal.alerts.channels import channels_for
    from portal.alerts.outbox import deliver_pending

    with Instance(settings) as instance:
        tally = deliver_pending(instance, channels_for(instance))
    if tally.created or tally.sent or tally.given_up:
        log.info("alerts: %d delivery(ies) made, %d sent, %d to retry, %d given up", tally.created, tally.sent,
                 tally.retrying, tally.given_up)


JOBS: dict[str, tuple[Callable[[Settings], None], Callable[[Settings], timedelta]]] = {
    "harvest": (harvest_job, lambda s: timedelta(minutes=float(s.harvest_check_minutes))),
    "freshness": (freshness_job, lambda s: timedelta(minutes=float(s.freshness_every_minutes))),
    "deliver": (deliver_job, lambda s: timedelta(minutes=float(s.deliver_every_minutes))),
}


def build_scheduler(settings: Settings) -> BlockingScheduler:
    """A scheduler with the harvest and freshness jobs at their configured intervals (not started)."""
    # One worker: jobs run one after the other, so they never contend for the embedded store.
    scheduler = BlockingScheduler(timezone=timezone.utc, executors={"default": ThreadPoolExecutor(1)})
    for name, (job, every) in JOBS.items():
        scheduler.add_job(job, IntervalTrigger(seconds=every(settings).total_seconds()), args=[settings],
                          id=name, name=name, max_instances=1, coalesce=True,
                          next_run_time=datetime.now(timezone.utc))
    return scheduler


def run_once(settings: Settings) -> None:
    """Run every job once, in order (for cron or a manual catch-up)."""
    for job, _ in JOBS.values():
        job(settings)
