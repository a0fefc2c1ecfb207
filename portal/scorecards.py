"""Publisher scorecards and the league table: freshness now and over a year, and metadata quality.

Watchdogs compare publishers; a municipal officer reads their own scorecard, with the score the
European portal's Metadata Quality Assessment (MQA, `portal.mqa`) will give them and what to fix
first. Every figure is defined in `DEFINITIONS`, which the pages and the JSON carry. The freshness
figures come from the status history (`portal.scorecard_history`), read in two queries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from itertools import groupby
from typing import Any

from portal.db import InstanceInfo
from portal.errors import NotFoundError
from portal.freshness import DELINQUENT, DUE, FRESH, OVERDUE, WITHDRAWN
from portal.instance import Instance
from portal.mqa import DatasetMqa, PublisherMqa, assess_all, publisher_mqa
from portal.scorecard_history import (
    JUDGED, LATE, DatasetHistory, Snapshot, load_histories, month_ends, months_before, percent, snapshot,
)
from vocab.uris import UriScheme

DEFINITIONS: dict[str, str] = {
    "status": "A dataset's status at an instant t is the one recorded by the last freshness evaluation at or "
              "before t (the history keeps one row per change of status); with none yet it is "
              "'not-evaluated'. Datasets first seen after t are left out.",
    "share_fresh": "Fresh datasets divided by the datasets with a judged status (fresh, due, overdue or "
                   "delinquent), in percent with one decimal. Exempt, unknown, unpublished, withdrawn and "
                   "not-evaluated datasets are not judged: they count neither way, and their numbers are given "
                   "beside it.",
    "datasets": "Datasets that existed at t and were not withdrawn.",
    "lag": "How long a dataset's update has been awaited at t: t minus its due date for due, overdue and "
           "delinquent datasets, 0 for fresh ones; the median and the worst are over the publisher's judged "
           "datasets, in days (two decimals).",
    "never_updated": "Datasets not withdrawn whose content never changed after Lodestar first fetched it (no "
                     "content change recorded, or only the first fetch) and that were first seen longer ago "
                     "than their expected update period. Datasets whose frequency sets no period (exempt, "
                     "unknown) are not listed. Judged on the record as it is now; ?now= only moves the age.",
    "trend": "The share fresh and the status counts at the end of each of the last 12 calendar months (UTC) "
             "and at t. The 3- and 12-month changes compare t with the same instant 3 and 12 months "
             "earlier, in percentage points (▲ better, ▼ worse).",
    "mqa": "Metadata quality by the data.europa.eu Metadata Quality Assessment: five dimensions "
           "(findability 100, accessibility 100, interoperability 110, reusability 75, contextuality 20 "
           "points: 405 in all) and its rating bands (excellent 351-405, good 221-350, sufficient 121-220, "
           "bad 0-120). A publisher's score is the mean over its datasets; 'fix first' lists the fixes that "
           "gain the most points across them. Assessed on the records as they are now, whatever ?now= says.",
    "rank": "Publishers ranked by share fresh (none judged: last), then MQA total, both highest first; "
            "publishers equal on both share a rank and are listed by name.",
}

#: The `InstanceInfo` key of the league table kept at the last publication of the scorecards.
LEAGUE = "scorecards_league"

#: The order of the per-dataset table: the statuses to act on first.
_ATTENTION = {DELINQUENT: 0, OVERDUE: 1, DUE: 2, FRESH: 3}
_DAY = timedelta(days=1)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _days(span: timedelta) -> float:
    return round(span / _DAY, 2)


@dataclass(frozen=True)
class Change:
    """The change of the share fresh between an earlier instant and t."""

    since: datetime
    then: Fraction | None
    now: Fraction | None

    @property
    def points(self) -> float | None:
        """The difference in percentage points (one decimal); None unless both shares exist."""
        if self.then is None or self.now is None:
            return None
        return round(float(self.now - self.then) * 100, 1)

    @property
    def arrow(self) -> str:
        """▲ up, ▼ down, = unchanged, empty when it cannot be told."""
        points = self.points
        if points is None:
            return ""
        return "▲" if points > 0 else "▼" if points < 0 else "="

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"since": self.since.isoformat(), "share_fresh_then": percent(self.then),
                "share_fresh_now": percent(self.now), "points": self.points, "arrow": self.arrow}


@dataclass(frozen=True)
class Lag:
    """A dataset's lag at t."""

    slug: str
    title: str
    days: float

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        return {"dataset": self.slug, "title": self.title, "days": self.days}


def _fix(mqa: DatasetMqa | None) -> dict[str, Any] | None:
    """The dataset's first fix: the unmet MQA indicator that gains the most points."""
    if mqa is None or not mqa.fix_first:
        return None
    first = mqa.fix_first[0]
    return {"key": first.key, "label": first.label, "gain": first.gain, "advice": first.advice}


@dataclass(frozen=True)
class DatasetLine:
    """One dataset as its publisher's scorecard lists it."""

    history: DatasetHistory
    uri: str
    status: str
    since: datetime | None
    reason: str
    due_at: datetime | None
    lag: timedelta | None
    never_updated: bool
    mqa: DatasetMqa | None

    def to_dict(self) -> dict[str, Any]:
        """As JSON."""
        h = self.history
        return {"slug": h.slug, "title": h.title, "uri": self.uri, "status": self.status,
                "since": _iso(self.since), "reason": self.reason, "due_at": _iso(self.due_at),
                "lag_days": None if self.lag is None else _days(self.lag),
                "frequency": h.frequency, "frequency_label": _label(h),
                "first_seen": _iso(h.first_seen), "last_content_change": _iso(h.last_content_change),
                "claimed_modified": _iso(h.claimed_modified), "confirmed_at": _iso(h.confirmed_at),
                "never_updated": self.never_updated,
                "mqa_total": None if self.mqa is None else self.mqa.total,
                "mqa_rating": None if self.mqa is None else self.mqa.rating,
                "mqa_fix_first": _fix(self.mqa)}


@dataclass(frozen=True)
class Scorecard:
    """One publisher's figures at an instant t."""

    publisher: str
    publisher_name: str
    uri: str
    at: datetime
    now: Snapshot
    lines: list[DatasetLine]
    median_lag: timedelta | None
    worst_lag: Lag | None
    trend: list[Snapshot]
    change_3m: Change
    change_12m: Change
    mqa: PublisherMqa | None

    @property
    def share_fresh(self) -> Fraction | None:
        """Fresh over judged at t, exactly."""
        return self.now.share_fresh

    @property
    def never_updated(self) -> list[DatasetLine]:
        """The datasets never updated since first fetched, though older than their period."""
        return [line for line in self.lines if line.never_updated]

    def to_dict(self) -> dict[str, Any]:
        """The scorecard as JSON: the same figures as its page, with their definitions."""
        return {
            "publisher": self.publisher, "publisher_name": self.publisher_name, "uri": self.uri,
            "at": self.at.isoformat(), "definitions": DEFINITIONS,
            "datasets": self.now.datasets, "judged": self.now.judged, "counts": self.now.counts,
            "share_fresh": percent(self.share_fresh),
            "median_lag_days": None if self.median_lag is None else _days(self.median_lag),
            "worst_lag": None if self.worst_lag is None else self.worst_lag.to_dict(),
            "never_updated": [{"slug": line.history.slug, "title": line.history.title,
                               "first_seen": _iso(line.history.first_seen),
                               "frequency_label": _label(line.history),
                               "confirmed_at": _iso(line.history.confirmed_at)} for line in self.never_updated],
            "trend": {"points": [_point(s, s is self.trend[-1]) for s in self.trend],
                      "change_3m": self.change_3m.to_dict(), "change_12m": self.change_12m.to_dict()},
            "mqa": None if self.mqa is None else self.mqa.to_dict(),
            "per_dataset": [line.to_dict() for line in self.lines],
        }


def _label(history: DatasetHistory) -> str | None:
    expected = history.expected
    return expected.label if expected is not None else None


def _point(taken: Snapshot, last: bool) -> dict[str, Any]:
    """One point of the trend: the month it ends (or "now"), the counts and the share fresh."""
    label = f"now ({taken.at:%Y-%m-%d})" if last else f"{taken.at - timedelta(microseconds=1):%b %Y}"
    return {"at": taken.at.isoformat(), "label": label, "counts": taken.counts, "judged": taken.judged,
            "datasets": taken.datasets, "share_fresh": percent(taken.share_fresh)}


def _never_updated(history: DatasetHistory, at: datetime) -> bool:
    """Not withdrawn, content unchanged since first fetched, and older than its expected period."""
    expected = history.expected
    if history.withdrawn or expected is None or expected.period is None:
        return False
    unchanged = history.last_content_change is None or history.last_content_change == history.first_seen
    return unchanged and at - history.first_seen > expected.period


def _line(uris: UriScheme, history: DatasetHistory, at: datetime, mqa: DatasetMqa | None) -> DatasetLine:
    period = history.period_at(at)
    status = history.status_at(at)
    lag: timedelta | None = None
    if status == FRESH:
        lag = timedelta(0)
    elif status in LATE and period is not None and period.due_at is not None:
        lag = max(timedelta(0), at - period.due_at)
    return DatasetLine(history, uris.dataset(history.publisher, history.slug), status,
                       period.start if period else None, period.reason if period else "",
                       period.due_at if period else None, lag, _never_updated(history, at), mqa)


def _median(spans: Sequence[timedelta]) -> timedelta | None:
    """The middle span, or the mean of the two middle ones; None for none."""
    ordered = sorted(spans)
    middle = len(ordered) // 2
    if not ordered:
        return None
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _worst(lines: Sequence[DatasetLine]) -> Lag | None:
    judged = [line for line in lines if line.lag is not None and line.status in JUDGED]
    if not judged:
        return None
    worst = min(judged, key=lambda line: (-(line.lag or timedelta(0)), line.history.slug))
    return Lag(worst.history.slug, worst.history.title, _days(worst.lag or timedelta(0)))


def _card(uris: UriScheme, publisher: str, histories: Sequence[DatasetHistory], at: datetime,
          scores: Sequence[DatasetMqa]) -> Scorecard:
    """A publisher's scorecard from its datasets' histories and MQA scores."""
    present = [h for h in histories if h.exists_at(at)]
    by_slug = {score.slug: score for score in scores}
    lines = sorted((_line(uris, h, at, by_slug.get(h.slug)) for h in present),
                   key=lambda line: (_ATTENTION.get(line.status, 4), -(line.lag or timedelta(0)),
                                     line.history.slug))
    lags = [line.lag for line in lines if line.lag is not None and line.status in JUDGED]
    median = _median(lags)
    instants = [*month_ends(at), at]
    trend = [snapshot(histories, when) for when in instants]
    current = trend[-1]
    changes = [Change(since, snapshot(histories, since).share_fresh, current.share_fresh)
               for since in (months_before(at, 3), months_before(at, 12))]
    name = next((h.publisher_name for h in histories if h.publisher_name), publisher)
    return Scorecard(publisher, name, uris.publisher(publisher), at, current, lines, median, _worst(lines),
                     trend, changes[0], changes[1], publisher_mqa(scores) if scores else None)


def scorecard(instance: Instance, publisher: str, now: datetime) -> Scorecard:
    """The scorecard of `publisher` at `now` (NotFoundError when it has no dataset at all)."""
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    histories = load_histories(instance, publisher)
    if not histories:
        raise NotFoundError(f"no publisher {publisher!r}: it has no dataset in this portal")
    return _card(instance.uris, publisher, histories, now, assess_all(instance, publisher))


@dataclass(frozen=True)
class LeagueRow:
    """One publisher in the league table."""

    rank: int
    card: Scorecard

    def to_dict(self) -> dict[str, Any]:
        """As JSON: the same figures as the table's row."""
        card = self.card
        return {"rank": self.rank, "publisher": card.publisher, "publisher_name": card.publisher_name,
                "datasets": card.now.datasets, "judged": card.now.judged, "counts": card.now.counts,
                "share_fresh": percent(card.share_fresh),
                "median_lag_days": None if card.median_lag is None else _days(card.median_lag),
                "worst_lag": None if card.worst_lag is None else card.worst_lag.to_dict(),
                "mqa_total": None if card.mqa is None else card.mqa.total,
                "mqa_rating": None if card.mqa is None else card.mqa.rating,
                "change_3m": card.change_3m.to_dict(), "change_12m": card.change_12m.to_dict()}


def _rank_key(card: Scorecard) -> tuple[Fraction, float]:
    """Higher is better on both; a missing figure ranks below any figure."""
    share = card.share_fresh if card.share_fresh is not None else Fraction(-1)
    return share, round(card.mqa.total, 1) if card.mqa is not None else -1.0


def league_table(instance: Instance, now: datetime, *, histories: Sequence[DatasetHistory] | None = None,
                 assessments: Sequence[DatasetMqa] | None = None) -> list[LeagueRow]:
    """Every publisher with a dataset at `now`, ranked (see DEFINITIONS["rank"]); ties share a rank.

    `histories` and `assessments` (every dataset's, as `load_histories` and `assess_all` give them)
    save reading them again when the caller has them.
    """
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    if histories is None:
        histories = load_histories(instance)
    scores: dict[str, list[DatasetMqa]] = {}
    for score in assess_all(instance) if assessments is None else assessments:
        scores.setdefault(score.publisher, []).append(score)
    cards = [_card(instance.uris, publisher, list(group), now, scores.get(publisher, []))
             for publisher, group in groupby(histories, key=lambda h: h.publisher)]
    cards = [card for card in cards if card.lines]
    cards.sort(key=lambda card: card.publisher)
    cards.sort(key=_rank_key, reverse=True)
    rows: list[LeagueRow] = []
    for position, card in enumerate(cards, start=1):
        tied = bool(rows) and _rank_key(rows[-1].card) == _rank_key(card)
        rows.append(LeagueRow(rows[-1].rank if tied else position, card))
    return rows


def save_league(instance: Instance, now: datetime, rows: Sequence[LeagueRow]) -> None:
    """Keep the league table at `now` for the pages, which then need not assess every dataset per request."""
    value = json.dumps({"at": now.isoformat(), "publishers": [row.to_dict() for row in rows]})
    with instance.session() as session:
        session.merge(InstanceInfo(key=LEAGUE, value=value))


def saved_league(instance: Instance) -> dict[str, Any] | None:
    """The league table kept by the last `save_league` ({"at", "publishers"}), or None."""
    with instance.session() as session:
        info = session.get(InstanceInfo, LEAGUE)
        value = None if info is None else info.value
    if value is None:
        return None
    try:
        kept = json.loads(value)
    except ValueError:  # written by something else: the pages compute it instead
        return None
    return kept if isinstance(kept, dict) and {"at", "publishers"} <= kept.keys() else None
