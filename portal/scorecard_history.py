"""The freshness history as status periods: what every dataset's status was at any instant.

`FreshnessStatus` keeps one row per status *change* of a dataset, so a dataset's status at an
instant t is the last row evaluated at or before t, and each row opens a period that the next row
closes. Everything here is read in two queries (the datasets, then all their rows), whatever the
number of instants asked about: the scorecards' trends are computed in memory from the periods.
Months and quarters are calendar months and quarters in UTC.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction

from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from portal.db import Dataset, FreshnessStatus
from portal.freshness import (
    DELINQUENT, DUE, EXEMPT, FRESH, OVERDUE, STATUS_ORDER, UNKNOWN, UNPUBLISHED, WITHDRAWN,
)
from portal.instance import Instance
from vocab.frequencies import Frequency, normalise_frequency

NOT_EVALUATED = "not-evaluated"
"""The status of a dataset that has no history row at or before the instant asked about."""

JUDGED: tuple[str, ...] = STATUS_ORDER
"""The statuses that judge a dataset against its schedule; the share fresh is taken over these."""

LATE: frozenset[str] = frozenset({DUE, OVERDUE, DELINQUENT})
"""The judged statuses in which a dataset has a lag (its next update was due and has not come)."""

STATUS_COLUMNS: tuple[str, ...] = (FRESH, DUE, OVERDUE, DELINQUENT, EXEMPT, UNKNOWN, UNPUBLISHED, WITHDRAWN,
                                   NOT_EVALUATED)
"""Every status a scorecard counts, in the order pages and JSON show them."""


@dataclass(frozen=True)
class Period:
    """A stretch of time during which a dataset kept one status; `end` is None while it lasts."""

    status: str
    start: datetime
    end: datetime | None
    due_at: datetime | None
    reason: str


@dataclass
class DatasetHistory:
    """One dataset's record facts and its status periods, oldest first."""

    id: int
    publisher: str
    publisher_name: str
    slug: str
    title: str
    frequency: str | None
    first_seen: datetime
    last_content_change: datetime | None
    claimed_modified: datetime | None
    confirmed_at: datetime | None
    withdrawn: bool
    periods: list[Period] = field(default_factory=list)
    _starts: list[datetime] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._starts = [period.start for period in self.periods]

    def period_at(self, at: datetime) -> Period | None:
        """The period holding `at`: the one opened by the last row evaluated at or before it."""
        index = bisect.bisect_right(self._starts, at)
        return self.periods[index - 1] if index else None

    def status_at(self, at: datetime) -> str:
        """The status at `at` (`NOT_EVALUATED` when no row was evaluated by then)."""
        period = self.period_at(at)
        return period.status if period is not None else NOT_EVALUATED

    def exists_at(self, at: datetime) -> bool:
        """True once the dataset was first seen, or had a status, at or before `at`."""
        return self.first_seen <= at or (bool(self._starts) and self._starts[0] <= at)

    @property
    def expected(self) -> Frequency | None:
        """The declared update frequency, normalised (None when it cannot be read)."""
        return normalise_frequency(self.frequency)


def periods_of(rows: Sequence[FreshnessStatus]) -> list[Period]:
    """One dataset's history rows (in order) as periods: each row lasts until the next one."""
    ends: list[datetime | None] = [row.evaluated_at for row in rows[1:]]
    ends.append(None)
    return [Period(row.status, row.evaluated_at, end, row.due_at, row.reason) for row, end in zip(rows, ends)]


def load_histories(instance: Instance, publisher: str | None = None) -> list[DatasetHistory]:
    """Every dataset (of one publisher, or all) with its status periods, in two queries."""
    datasets = select(Dataset).order_by(Dataset.publisher, Dataset.slug)
    statuses = (select(FreshnessStatus).join(Dataset, FreshnessStatus.dataset_id == Dataset.id)
                .order_by(FreshnessStatus.dataset_id, FreshnessStatus.evaluated_at, FreshnessStatus.id))
    if publisher is not None:
        datasets = datasets.where(Dataset.publisher == publisher)
        statuses = statuses.where(Dataset.publisher == publisher)
    with instance.session() as session:
        found = list(session.scalars(datasets))
        rows: dict[int, list[FreshnessStatus]] = {}
        for row in session.scalars(statuses):
            rows.setdefault(row.dataset_id, []).append(row)
    return [DatasetHistory(d.id, d.publisher, d.publisher_name or "", d.slug, d.title or "", d.frequency,
                           d.first_seen, d.last_content_change, d.claimed_modified, d.confirmed_at,
                           d.withdrawn, periods_of(rows.get(d.id, [])))
            for d in found]


@dataclass(frozen=True)
class Snapshot:
    """How many of a set of datasets held each status at one instant."""

    at: datetime
    counts: dict[str, int]

    @property
    def judged(self) -> int:
        """Datasets with a judged status (fresh, due, overdue, delinquent)."""
        return sum(self.counts[status] for status in JUDGED)

    @property
    def share_fresh(self) -> Fraction | None:
        """Fresh datasets over judged ones, exactly; None when none is judged."""
        return Fraction(self.counts[FRESH], self.judged) if self.judged else None

    @property
    def datasets(self) -> int:
        """Datasets that existed and were not withdrawn."""
        return sum(self.counts.values()) - self.counts[WITHDRAWN]


def snapshot(histories: Iterable[DatasetHistory], at: datetime) -> Snapshot:
    """The status counts of the datasets that existed at `at`."""
    counts = dict.fromkeys(STATUS_COLUMNS, 0)
    for history in histories:
        if history.exists_at(at):
            status = history.status_at(at)
            counts[status if status in counts else UNKNOWN] += 1
    return Snapshot(at, counts)


def percent(share: Fraction | None) -> float | None:
    """A share as a percentage with one decimal (None stays None)."""
    return None if share is None else round(float(share) * 100, 1)


def month_start(at: datetime) -> datetime:
    """The first instant (UTC) of the calendar month holding `at`."""
    utc = at.astimezone(timezone.utc)
    return utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_ends(now: datetime, count: int = 12) -> list[datetime]:
    """The last `count` month ends strictly before `now`, oldest first.

    A month's end is the first instant of the next month (UTC), so the month holding `now` is not
    among them (nor, when `now` is exactly a month's end, that month: `now` stands for it).
    """
    latest = month_start(now)
    if latest == now:
        latest -= relativedelta(months=1)
    return [latest - relativedelta(months=back) for back in range(count - 1, -1, -1)]


def months_before(now: datetime, months: int) -> datetime:
    """The same instant `months` calendar months earlier (the day clipped to the shorter month)."""
    return now - relativedelta(months=months)


def last_quarter(now: datetime) -> tuple[datetime, datetime]:
    """The calendar quarter (UTC) before the one holding `now`: its first instant and the next quarter's."""
    start = month_start(now)
    current = start.replace(month=3 * ((start.month - 1) // 3) + 1)
    return current - relativedelta(months=3), current
