"""HDX-style freshness: expected update frequency vs. the last real content change.

A dataset is ``fresh``, ``due``, ``overdue`` or ``delinquent`` depending on how long ago its content
last changed compared with its declared frequency (thresholds from HDX's aging table); ``exempt``
when the frequency promises no schedule (never, irregular, as needed, live); ``unknown`` when no
usable frequency is declared or no content change has been seen yet. The watch (`portal.watch`)
also records ``unpublished`` while none of a dataset's tables has ever validated (nothing of it is
published, so it cannot be fresh) and ``withdrawn`` once its source stops listing it.

"Last change" means evidence, not claims: the last time the content hash of one of the dataset's
resources changed. A publisher's ``dct:modified`` / ``metadata_modified`` is a claim and must not be
passed to `evaluate`. Pure logic: no database, no clock (callers pass ``now``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal.report import Issue, Location, Severity
from vocab.frequencies import Frequency

FRESH = "fresh"
DUE = "due"
OVERDUE = "overdue"
DELINQUENT = "delinquent"
EXEMPT = "exempt"
UNKNOWN = "unknown"
UNPUBLISHED = "unpublished"
WITHDRAWN = "withdrawn"

STATUS_ORDER: tuple[str, ...] = (FRESH, DUE, OVERDUE, DELINQUENT)
"""The ranked statuses, from best to worst; ``exempt`` and ``unknown`` are outside the ranking."""

STATUSES: frozenset[str] = frozenset(STATUS_ORDER + (EXEMPT, UNKNOWN))
"""Every status `evaluate` can return."""

RECORDED_STATUSES: frozenset[str] = STATUSES | {UNPUBLISHED, WITHDRAWN}
"""Every status the watch records: `evaluate`'s, a dataset with no valid table yet, a withdrawn one."""

_ALERTING = (DUE, OVERDUE, DELINQUENT)
_SEVERITY: dict[str, Severity] = {DUE: "warning", OVERDUE: "error", DELINQUENT: "error"}

# HDX aging table, in days: expected update -> (due, overdue, delinquent). All twelve rows are taken
# as-is from OCHA-DAP/hdx-data-freshness @ eb1c7a6a1315160b8c465af6087045c770f39517,
# src/hdx/freshness/app/project_configuration.yaml (`aging`); none is derived. HDX compares with >=
# (datafreshness.py, calculate_freshness), and so do we.
HDX_AGING: tuple[tuple[int, int, int, int], ...] = (
    (1, 1, 2, 3),
    (2, 2, 4, 6),
    (7, 7, 14, 21),
    (14, 14, 21, 28),
    (30, 30, 44, 60),
    (60, 60, 84, 108),
    (90, 90, 120, 150),
    (120, 120, 147, 174),
    (180, 180, 210, 240),
    (300, 300, 342, 384),
    (365, 365, 425, 455),
    (730, 730, 785, 840),
)


@dataclass(frozen=True)
class Thresholds:
    """Ages at which a dataset becomes due, overdue and delinquent."""

    due: timedelta
    overdue: timedelta
    delinquent: timedelta


def _margins(days: float) -> tuple[float, float]:
    """Overdue and delinquent margins beyond ``due`` (in days) for a period of 1–730 days."""
    rows = [(p, o - d, q - d) for p, d, o, q in HDX_AGING]
    for (p0, o0, q0), (p1, o1, q1) in zip(rows, rows[1:]):
        if p0 <= days <= p1:
            share = (days - p0) / (p1 - p0)
            return o0 + share * (o1 - o0), q0 + share * (q1 - q0)
    raise ValueError(f"period of {days} days is outside the HDX table")  # pragma: no cover


def thresholds_for(period: timedelta) -> Thresholds:
    """The due / overdue / delinquent ages for an expected update period.

    Every HDX row has due = period, so due is always the period. A period equal to an HDX row gets
    that row exactly. Between two rows the overdue and delinquent margins (beyond due) are
    interpolated linearly between the rows' margins: taking the next larger row whole would make a
    twice-monthly dataset "due" only after 30 days. Below one day thresholds scale with the period
    (1×, 2×, 3×, as in the daily row); beyond 730 days the 730-day row's margins (55 and 110 days)
    are kept.
    """
    if period <= timedelta(0):
        raise ValueError("an expected update period must be positive")
    day = timedelta(days=1)
    if period <= day:
        return Thresholds(period, 2 * period, 3 * period)
    last_period, last_due, last_overdue, last_delinquent = HDX_AGING[-1]
    overdue: float
    delinquent: float
    if period >= timedelta(days=last_period):
        overdue, delinquent = last_overdue - last_due, last_delinquent - last_due
    else:
        overdue, delinquent = _margins(period / day)
    return Thresholds(
        period,
        period + _whole_hours(overdue * day),
        period + _whole_hours(delinquent * day),
    )


def _whole_hours(span: timedelta) -> timedelta:
    """``span`` rounded to the hour, so interpolated margins print cleanly."""
    return timedelta(hours=round(span / timedelta(hours=1)))


@dataclass(frozen=True)
class FreshnessResult:
    """The freshness of one dataset at one instant, with the dates behind it and a reason."""

    status: str
    frequency: Frequency | None
    last_change: datetime | None
    age: timedelta | None
    due_at: datetime | None
    overdue_at: datetime | None
    delinquent_at: datetime | None
    reason: str


def parse_instant(text: str, what: str = "--now") -> datetime:
    """An ISO 8601 instant as a user gave it (UTC when it names no zone); a bad one is a `UsageError`.

    An offset's "+" sent unencoded in a URL arrives as a space ("…T00:00:00 01:00") and is read back.
    """
    from portal.errors import UsageError

    given = text.replace(" ", "+") if text.count(" ") == 1 and "T" in text else text
    try:
        value = datetime.fromisoformat(given)
    except ValueError:
        raise UsageError(f"{what}: not an ISO 8601 instant such as 2026-03-31T00:00:00Z: {text!r} "
                         "(in a URL, write a + offset as %2B)") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _require_aware(name: str, value: datetime) -> None:
    """Raise ValueError unless ``value`` carries a time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (normalise to UTC first): {value!r}")


def _span_text(age: timedelta) -> str:
    """``3 days``, ``5 hours``, ``1 minute``, ``less than a minute``."""
    seconds = age.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return "less than a minute"


def _when(moment: datetime, fine: bool) -> str:
    """A UTC date, with the time of day when ``fine`` (sub-daily frequencies)."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M UTC") if fine else utc.strftime("%Y-%m-%d")


def last_update(last_change: datetime | None, confirmed: datetime | None) -> datetime | None:
    """The last update that counts: a content change or a publisher's "still current", the later one."""
    if last_change is None or confirmed is None:
        return last_change or confirmed
    return max(last_change, confirmed)


def evaluate(frequency: Frequency | None, last_change: datetime | None, now: datetime, *,
             confirmed: datetime | None = None) -> FreshnessResult:
    """Judge freshness at ``now`` from the declared frequency and the last *content* change.

    ``last_change`` must be the last time a resource's content hash changed, not the publisher's
    ``modified`` date; ``confirmed`` is the last time the publisher confirmed the dataset still
    current, which counts as an update. Age = now − the later of the two; the status is delinquent
    when age ≥ delinquent, overdue when ≥ overdue, due when ≥ due, else fresh. A last update in the
    future (clock skew) counts as age 0. Naive datetimes raise ValueError.
    """
    _require_aware("now", now)
    for name, value in (("last_change", last_change), ("confirmed", confirmed)):
        if value is not None:
            _require_aware(name, value)
    by_confirmation = confirmed is not None and (last_change is None or confirmed > last_change)
    last_change = last_update(last_change, confirmed)
    age = None if last_change is None else max(now - last_change, timedelta(0))

    def result(status: str, reason: str, *marks: datetime | None) -> FreshnessResult:
        due_at, overdue_at, delinquent_at = marks or (None, None, None)
        return FreshnessResult(
            status, frequency, last_change, age, due_at, overdue_at, delinquent_at, reason
        )

    if frequency is None:
        return result(UNKNOWN, "No update frequency declared.")
    declared = f"Declared frequency {frequency.label!r}"
    if frequency.exempt:
        return result(EXEMPT, f"{declared} is exempt from freshness checks.")
    if frequency.period is None:
        return result(UNKNOWN, f"{declared} has no fixed period, so freshness cannot be judged.")
    expected = f"Expected {frequency.label}"
    if last_change is None or age is None:
        return result(UNKNOWN, f"{expected}; no content change recorded yet.")

    limits = thresholds_for(frequency.period)
    start = min(last_change, now)
    due_at, overdue_at, delinquent_at = (
        start + limits.due, start + limits.overdue, start + limits.delinquent
    )
    fine = frequency.period < timedelta(days=1)
    what = "last confirmed still current by its publisher" if by_confirmation else "last content change"
    if last_change > now:
        seen = f"{what} is in the future ({_when(last_change, fine)}), counted as now"
    else:
        seen = f"{what} {_span_text(age)} ago ({_when(last_change, fine)})"
    if age >= limits.delinquent:
        status, tail = DELINQUENT, f"delinquent since {_when(delinquent_at, fine)}"
    elif age >= limits.overdue:
        status, tail = OVERDUE, f"overdue since {_when(overdue_at, fine)}"
    elif age >= limits.due:
        status, tail = DUE, f"due since {_when(due_at, fine)}, overdue from {_when(overdue_at, fine)}"
    else:
        status, tail = FRESH, f"next update due {_when(due_at, fine)}"
    return result(status, f"{expected}; {seen}; {tail}.", due_at, overdue_at, delinquent_at)


def event_kind(old: str | None, new: str) -> str | None:
    """The alert event a change of status from `old` to `new` writes, or None.

    Every change into due, overdue or delinquent is an event of that kind (from any status, also a
    better ranked one); so is a withdrawal; a return to fresh from due, overdue, delinquent or
    withdrawn is a ``fresh`` ("back to fresh") event. Changes among the statuses that promise
    nothing (fresh, exempt, unknown, unpublished) are recorded but alert nobody.
    """
    if old == new:
        return None
    if new in _ALERTING or new == WITHDRAWN:
        return new
    if new == FRESH and old in (*_ALERTING, WITHDRAWN):
        return FRESH
    return None


def is_alert_transition(old: str | None, new: str) -> bool:
    """True when a change of status writes an alert event (see `event_kind`)."""
    return event_kind(old, new) is not None


def transition_issue(dataset: str, old: str | None, new: str, result: FreshnessResult) -> Issue:
    """The `Issue` recording a status change of ``dataset`` (code ``freshness/<new>``)."""
    severity: Severity = _SEVERITY[new] if new in _SEVERITY else "info"
    if new == FRESH and old in (*_ALERTING, WITHDRAWN):
        change = f"Back to {new} from {old}"
    elif old is None:
        change = f"Status is {new}"
    else:
        change = f"Status changed from {old} to {new}"
    return Issue(
        code=f"freshness/{new}",
        severity=severity,
        message=f"{change}. {result.reason}",
        location=Location(file=dataset),
    )
