"""Every active dataset's freshness at one instant, evaluated as columns.

`evaluate_all` reads the facts the judgement needs in one query (declared frequency, last
content change, last "still current" confirmation, publication state, last recorded status) and
judges every dataset at once with numpy: each distinct frequency text is read once (and its HDX
thresholds computed once), ages are array arithmetic. The per-dataset `FreshnessResult`, with its
reason in words, is made only for the datasets someone looks at (`FreshnessTable.result`): the
same `portal.freshness.evaluate` then explains what the columns decided — and a test holds the
two to the same verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import Dataset
from portal.freshness import (
    DELINQUENT, DUE, EXEMPT, FRESH, OVERDUE, UNKNOWN, UNPUBLISHED, FreshnessResult, evaluate, thresholds_for,
)
from vocab.frequencies import Frequency, normalise_frequency, read_frequency


#: Status codes in the arrays, and their names.
_NAMES: tuple[str, ...] = (FRESH, DUE, OVERDUE, DELINQUENT, EXEMPT, UNKNOWN, UNPUBLISHED)
_CODE = {name: code for code, name in enumerate(_NAMES)}


@dataclass(frozen=True)
class _Schedule:
    """What a frequency text means for the columns: exempt, or thresholds in microseconds, or neither."""

    frequency: Frequency | None
    exempt: bool
    due: int
    overdue: int
    delinquent: int


@lru_cache(maxsize=8192)
def _schedule(text: str | None) -> _Schedule:
    """The schedule of one declared frequency text (each distinct text is read once)."""
    frequency = normalise_frequency(text)
    if frequency is None or frequency.exempt or frequency.period is None:
        return _Schedule(frequency, bool(frequency and frequency.exempt), -1, -1, -1)
    limits = thresholds_for(frequency.period)
    return _Schedule(frequency, False, *(int(span / timedelta(microseconds=1))
                                         for span in (limits.due, limits.overdue, limits.delinquent)))


def _instants(values: Sequence[Any]) -> np.ndarray:
    """Database timestamps (SQLite text, or naive/aware datetimes from other drivers) as UTC datetime64[us]."""
    plain = ["NaT" if value is None else value for value in values]  # numpy parses "NaT" fast, None slowly
    try:  # ISO text (SQLite) and naive datetimes (stored as UTC) convert in one go
        return np.array(plain, dtype="datetime64[us]")
    except (TypeError, ValueError):
        pass
    return np.array([value.astimezone(timezone.utc).replace(tzinfo=None)
                     if isinstance(value, datetime) and value.tzinfo else value for value in plain],
                    dtype="datetime64[us]")


def _aware(value: np.datetime64) -> datetime | None:
    """A datetime64 as an aware UTC datetime (None for NaT)."""
    if np.isnat(value):
        return None
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=int(value.astype("int64")))


@dataclass
class FreshnessTable:
    """The freshness of every active dataset at `now`, as columns (one row per dataset)."""

    now: datetime
    ids: np.ndarray
    publishers: list[str]
    slugs: list[str]
    titles: list[str]
    frequencies: list[str | None]
    codes: np.ndarray
    last_change: np.ndarray
    confirmed: np.ndarray
    claimed: np.ndarray
    recorded: list[str | None]
    recorded_since: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def status(self, row: int) -> str:
        """The status of one row."""
        return _NAMES[int(self.codes[row])]

    def statuses(self) -> list[str]:
        """Every row's status."""
        return [_NAMES[code] for code in self.codes.tolist()]

    def changed_rows(self) -> list[int]:
        """The rows whose status differs from the last recorded one."""
        names = self.statuses()
        return [row for row, (new, old) in enumerate(zip(names, self.recorded)) if new != old]

    def result(self, row: int) -> FreshnessResult:
        """The full judgement of one row, with its reason in words."""
        schedule = _schedule(self.frequencies[row])
        if self.codes[row] == _CODE[UNPUBLISHED]:
            return FreshnessResult(UNPUBLISHED, schedule.frequency, _aware(self.last_change[row]), None, None,
                                   None, None, "None of its tables has validated yet, so nothing of it is "
                                   "published; it is judged once a table is.")
        frequency = schedule.frequency
        if frequency is None and self.frequencies[row]:
            problem = read_frequency(self.frequencies[row]).problem or f"{self.frequencies[row]!r} is unreadable"
            return FreshnessResult(UNKNOWN, None, _aware(self.last_change[row]), None, None, None, None,
                                   f"{problem}, so freshness cannot be judged (nothing is guessed).")
        return evaluate(frequency, _aware(self.last_change[row]), self.now, confirmed=_aware(self.confirmed[row]))

    def since(self, row: int) -> datetime | None:
        """When the row took its status: the recorded instant if unchanged, else `now`."""
        if self.recorded[row] == self.status(row):
            return _aware(self.recorded_since[row]) or self.now
        return self.now

    def recorded_since_at(self, row: int) -> datetime | None:
        """When the recorded status of one row was taken (None if none is recorded)."""
        return _aware(self.recorded_since[row])

    def claimed_at(self, row: int) -> datetime | None:
        """The publisher's claimed modification date of one row."""
        return _aware(self.claimed[row])

    def last_change_at(self, row: int) -> datetime | None:
        """The last content change of one row (evidence: a content hash changed)."""
        return _aware(self.last_change[row])

    def confirmed_at(self, row: int) -> datetime | None:
        """The publisher's last "still current" confirmation of one row."""
        return _aware(self.confirmed[row])

    def rows(self, publisher: str | None = None) -> list[int]:
        """Row numbers in the order people read them (publisher, then dataset), optionally of one publisher."""
        chosen = [row for row, name in enumerate(self.publishers) if publisher is None or name == publisher]
        return sorted(chosen, key=lambda row: (self.publishers[row], self.slugs[row]))


def _judge(frequencies: Sequence[str | None], states: Sequence[str | None], last: np.ndarray,
           now: datetime) -> np.ndarray:
    """Status codes from the frequencies, publication states and last updates, all at once.

    Each distinct frequency text is read once; its thresholds are gathered for every row by index.
    """
    count = len(frequencies)
    distinct: dict[str | None, int] = {}
    index = np.fromiter((distinct.setdefault(text, len(distinct)) for text in frequencies), dtype=np.int64,
                        count=count)
    schedules = [_schedule(text) for text in distinct]
    due, overdue, delinquent = (np.array([getattr(s, name) for s in schedules] or [0], dtype=np.int64)[index]
                                for name in ("due", "overdue", "delinquent"))
    exempt = np.array([s.exempt for s in schedules] or [False], dtype=bool)[index]
    unpublished = np.fromiter((state == UNPUBLISHED for state in states), dtype=bool, count=count)
    moment = np.datetime64(now.astimezone(timezone.utc).replace(tzinfo=None), "us")
    missing = np.isnat(last)
    elapsed = (moment - np.where(missing, moment, last)).astype("timedelta64[us]").astype(np.int64)
    age = np.maximum(elapsed, 0)
    periodic = (due >= 0) & ~missing
    codes = np.full(count, _CODE[UNKNOWN], dtype=np.int8)
    codes[periodic] = _CODE[FRESH]
    codes[periodic & (age >= due)] = _CODE[DUE]
    codes[periodic & (age >= overdue)] = _CODE[OVERDUE]
    codes[periodic & (age >= delinquent)] = _CODE[DELINQUENT]
    codes[exempt] = _CODE[EXEMPT]
    codes[unpublished] = _CODE[UNPUBLISHED]
    return codes


def _fetch(session: Session) -> list[tuple[Any, ...]]:
    """The facts of every active dataset, straight from the driver (no per-row ORM work).

    On SQLite the status index is bypassed: nearly every dataset is active, and reading the table
    in order beats one index look-up per row (twice as fast at 100,000 datasets).
    """
    statement = select(
        Dataset.id, Dataset.publisher, Dataset.slug, Dataset.title, Dataset.frequency,
        Dataset.last_content_change, Dataset.confirmed_at, Dataset.claimed_modified,
        Dataset.publication_state, Dataset.freshness_status, Dataset.freshness_since,
    ).where(Dataset.status == "active").with_hint(Dataset, "NOT INDEXED", dialect_name="sqlite")
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def evaluate_all(session: Session, now: datetime) -> FreshnessTable:
    """Judge every active dataset at `now` (one query; no per-dataset Python beyond reading columns)."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    rows = _fetch(session)
    columns = list(zip(*rows)) if rows else [()] * 11
    ids, publishers, slugs, titles, frequencies, changes, confirmations, claims, states, recorded, since = columns
    last_change, confirmed = _instants(changes), _instants(confirmations)
    last = np.fmax(last_change, confirmed)  # NaT only where both are missing
    codes = _judge(frequencies, states, last, now)
    return FreshnessTable(now, np.array(ids, dtype=np.int64), list(publishers), list(slugs), list(titles),
                          list(frequencies), codes, last_change, confirmed, _instants(claims), list(recorded),
                          _instants(since))
