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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from portal.db import Dataset
from portal.freshness import (
    DELINQUENT, DUE, EXEMPT, FRESH, OVERDUE, UNKNOWN, UNPUBLISHED, FreshnessResult, evaluate, thresholds_for,
)
from vocab.frequencies import Frequency, normalise_frequency


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
    plain: list[Any] = []
    for value in values:
        if value is None:
            plain.append("NaT")
        elif isinstance(value, datetime):
            plain.append(value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value)
        else:
            plain.append(value)
    return np.array(plain, dtype="datetime64[us]")


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
            return FreshnessResult(UNKNOWN, None, _aware(self.last_change[row]), None, None, None, None,
                                   f"Declared frequency {self.frequencies[row]!r} could not be read, so "
                                   "freshness cannot be judged (nothing is guessed).")
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

    def rows(self, publisher: str | None = None) -> Iterator[int]:
        """Row numbers, optionally of one publisher."""
        return (row for row, name in enumerate(self.publishers) if publisher is None or name == publisher)


def _judge(schedules: list[_Schedule], states: list[str | None], last: np.ndarray, now: datetime) -> np.ndarray:
    """Status codes from the schedules, publication states and last updates, all at once."""
    count = len(schedules)
    due = np.fromiter((s.due for s in schedules), dtype=np.int64, count=count)
    overdue = np.fromiter((s.overdue for s in schedules), dtype=np.int64, count=count)
    delinquent = np.fromiter((s.delinquent for s in schedules), dtype=np.int64, count=count)
    exempt = np.fromiter((s.exempt for s in schedules), dtype=bool, count=count)
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


def evaluate_all(session: Session, now: datetime) -> FreshnessTable:
    """Judge every active dataset at `now` (one query; no per-dataset Python beyond reading columns)."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    raw = type_coerce  # timestamps come back as the driver gives them, parsed below in one go
    rows = session.execute(select(
        Dataset.id, Dataset.publisher, Dataset.slug, Dataset.title, Dataset.frequency,
        raw(Dataset.last_content_change, String), raw(Dataset.confirmed_at, String),
        raw(Dataset.claimed_modified, String), Dataset.publication_state, Dataset.freshness_status,
        raw(Dataset.freshness_since, String),
    ).where(Dataset.status == "active").order_by(Dataset.publisher, Dataset.slug)).all()
    columns = list(zip(*rows)) if rows else [()] * 11
    ids, publishers, slugs, titles, frequencies, changes, confirmations, claims, states, recorded, since = columns
    last_change, confirmed = _instants(changes), _instants(confirmations)
    last = np.fmax(last_change, confirmed)  # NaT only where both are missing
    codes = _judge([_schedule(text) for text in frequencies], list(states), last, now)
    return FreshnessTable(now, np.array(ids, dtype=np.int64), list(publishers), list(slugs), list(titles),
                          list(frequencies), codes, last_change, confirmed, _instants(claims), list(recorded),
                          _instants(since))
