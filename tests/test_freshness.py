"""Tests for portal.freshness: HDX thresholds, statuses at exact boundaries, and alert transitions."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from portal.freshness import (
    STATUS_ORDER,
    STATUSES,
    FreshnessResult,
    Thresholds,
    evaluate,
    is_alert_transition,
    thresholds_for,
    transition_issue,
)
from vocab.frequencies import FREQUENCIES, normalise_frequency

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NOTES = SHARED / "reference" / "portals.md"

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
T0 = datetime(2026, 11, 21, tzinfo=timezone.utc)

# The HDX `aging` table as published upstream (OCHA-DAP/hdx-data-freshness @ eb1c7a6a13,
# src/hdx/freshness/app/project_configuration.yaml), typed out here independently of the module:
# expected update → due / overdue / delinquent, in days.
HDX_UPSTREAM = {
    1: (1, 2, 3), 2: (2, 4, 6), 7: (7, 14, 21), 14: (14, 21, 28), 30: (30, 44, 60),
    60: (60, 84, 108), 90: (90, 120, 150), 120: (120, 147, 174), 180: (180, 210, 240),
    300: (300, 342, 384), 365: (365, 425, 455), 730: (730, 785, 840),
}


def _days(triple: tuple[int, int, int]) -> Thresholds:
    """Thresholds from a (due, overdue, delinquent) triple of days."""
    return Thresholds(*(n * DAY for n in triple))


@pytest.fixture(scope="module")
def notes_rows() -> dict[int, tuple[int, int, int]]:
    """HDX rows as written in the team's notes: the aging table and the "numbers" bullet."""
    if not NOTES.exists():
        pytest.fail(f"reference notes not found at {NOTES}")
    text = NOTES.read_text(encoding="utf-8")
    section = text[text.index("### 4. HDX data freshness") :]
    section = section[: section.index("\n### ")]
    rows = {
        int(m[0]): (int(m[1]), int(m[2]), int(m[3]))
        for m in re.findall(r"^\| (\d+)[^|]*\| (\d+) \| (\d+) \| (\d+) \|$", section, re.MULTILINE)
    }
    bullet = text[text.index("**HDX freshness thresholds**") :]
    bullet = bullet[: bullet.index("\n- ")]
    for due, overdue, delinquent in re.findall(r"(\d+)/(\d+)/(\d+)", bullet):
        rows.setdefault(int(due), (int(due), int(overdue), int(delinquent)))
    return rows


def test_notes_rows_agree_with_upstream(notes_rows: dict[int, tuple[int, int, int]]) -> None:
    assert {1, 7, 14, 30, 90, 180, 365, 730} <= set(notes_rows)
    for days, triple in notes_rows.items():
        assert HDX_UPSTREAM[days] == triple


def test_thresholds_reproduce_the_notes(notes_rows: dict[int, tuple[int, int, int]]) -> None:
    for days, triple in notes_rows.items():
        assert thresholds_for(days * DAY) == _days(triple), days


@pytest.mark.parametrize(("days", "triple"), sorted(HDX_UPSTREAM.items()))
def test_thresholds_reproduce_every_upstream_row(days: int, triple: tuple[int, int, int]) -> None:
    assert thresholds_for(days * DAY) == _days(triple)


def test_between_rows_due_is_the_period_and_margins_interpolate() -> None:
    # 22 days sits halfway between the 14 (+7/+14) and 30 (+14/+30) rows: margins 10.5 and 22 days.
    assert thresholds_for(22 * DAY) == Thresholds(22 * DAY, 32.5 * DAY, 44 * DAY)
    # 3.5 days (semiweekly) sits between 2 (+2/+4) and 7 (+7/+14): margins 3.5 and 7 days.
    assert thresholds_for(3.5 * DAY) == Thresholds(3.5 * DAY, 7 * DAY, 10.5 * DAY)


def test_sub_daily_thresholds_scale() -> None:
    hour = timedelta(hours=1)
    assert thresholds_for(hour) == Thresholds(hour, 2 * hour, 3 * hour)
    assert thresholds_for(15 * 60 * SECOND) == Thresholds(*(n * 15 * 60 * SECOND for n in (1, 2, 3)))


def test_beyond_the_table_keeps_the_last_margins() -> None:
    assert thresholds_for(1095 * DAY) == _days((1095, 1150, 1205))


def test_thresholds_are_ordered_and_monotonic() -> None:
    previous = Thresholds(timedelta(0), timedelta(0), timedelta(0))
    for hours in list(range(1, 48)) + list(range(48, 24 * 4000, 37)):
        limits = thresholds_for(timedelta(hours=hours))
        assert limits.due < limits.overdue < limits.delinquent
        assert limits.due > previous.due and limits.overdue >= previous.overdue
        assert limits.delinquent >= previous.delinquent
        previous = limits


@pytest.mark.parametrize("bad", [timedelta(0), -DAY])
def test_thresholds_need_a_positive_period(bad: timedelta) -> None:
    with pytest.raises(ValueError):
        thresholds_for(bad)


@pytest.mark.parametrize(("code", "days"), [("DAILY", 1), ("WEEKLY", 7), ("MONTHLY", 30), ("ANNUAL", 365)])
def test_statuses_at_the_exact_boundaries(code: str, days: int) -> None:
    due, overdue, delinquent = (n * DAY for n in HDX_UPSTREAM[days])
    frequency = FREQUENCIES[code]
    expectations = [
        (timedelta(0), "fresh"), (due - SECOND, "fresh"), (due, "due"), (overdue - SECOND, "due"),
        (overdue, "overdue"), (delinquent - SECOND, "overdue"), (delinquent, "delinquent"),
        (10 * delinquent, "delinquent"),
    ]
    for age, status in expectations:
        result = evaluate(frequency, T0, T0 + age)
        assert (result.status, result.age) == (status, age), (code, age)
        assert (result.due_at, result.overdue_at, result.delinquent_at) == (
            T0 + due, T0 + overdue, T0 + delinquent
        )


def test_same_dataset_two_instants() -> None:
    weekly = normalise_frequency("R/P1W")
    assert evaluate(weekly, T0, T0 + 3 * DAY).status == "fresh"
    assert evaluate(weekly, T0, T0 + 15 * DAY).status == "overdue"


def test_reason_names_frequency_age_and_dates() -> None:
    result = evaluate(FREQUENCIES["DAILY"], T0, T0 + 3 * DAY + timedelta(hours=2))
    assert result.status == "delinquent"
    assert result.reason == (
        "Expected daily; last content change 3 days ago (2026-11-21); delinquent since 2026-11-24."
    )
    overdue = evaluate(FREQUENCIES["DAILY"], T0, T0 + 2 * DAY)
    assert overdue.reason.endswith("overdue since 2026-11-23.")
    hourly = evaluate(FREQUENCIES["HOURLY"], T0, T0 + timedelta(minutes=30))
    assert hourly.status == "fresh" and "2026-11-21 01:00 UTC" in hourly.reason


def test_custom_frequency_is_judged() -> None:
    result = evaluate(normalise_frequency("every 3 days"), T0, T0 + 4 * DAY)
    assert result.status == "due" and result.reason.startswith("Expected every 3 days;")


def test_other_time_zones_count_the_same_instant() -> None:
    plus_two = timezone(timedelta(hours=2))
    result = evaluate(FREQUENCIES["DAILY"], T0.astimezone(plus_two), (T0 + 2 * DAY).astimezone(plus_two))
    assert result.status == "overdue" and result.age == 2 * DAY


def test_future_change_counts_as_now() -> None:
    result = evaluate(FREQUENCIES["DAILY"], T0 + DAY, T0)
    assert (result.status, result.age, result.due_at) == ("fresh", timedelta(0), T0 + DAY)
    assert "future" in result.reason


@pytest.mark.parametrize(
    ("last_change", "now"),
    [(datetime(2026, 11, 21), T0), (T0, datetime(2026, 11, 24)), (None, datetime(2026, 11, 24))],
)
def test_naive_datetimes_are_refused(last_change: datetime | None, now: datetime) -> None:
    with pytest.raises(ValueError):
        evaluate(FREQUENCIES["DAILY"], last_change, now)


@pytest.mark.parametrize("code", ["NEVER", "IRREG", "AS_NEEDED", "NOT_PLANNED", "CONT", "UPDATE_CONT"])
def test_exempt_frequencies_are_never_stale(code: str) -> None:
    result = evaluate(FREQUENCIES[code], T0 - 4000 * DAY, T0)
    assert result.status == "exempt" and result.due_at is None
    assert result.age == 4000 * DAY


@pytest.mark.parametrize(
    ("frequency", "last_change"),
    [(None, T0), (FREQUENCIES["OTHER"], T0), (FREQUENCIES["UNKNOWN"], T0), (FREQUENCIES["DAILY"], None)],
)
def test_unknown_status(frequency: object, last_change: datetime | None) -> None:
    result = evaluate(frequency, last_change, T0 + 30 * DAY)  # type: ignore[arg-type]
    assert result.status == "unknown" and result.due_at is None and result.reason


def test_status_vocabulary() -> None:
    assert STATUS_ORDER == ("fresh", "due", "overdue", "delinquent")
    assert STATUSES == set(STATUS_ORDER) | {"exempt", "unknown"}


@pytest.mark.parametrize(
    ("old", "new", "alert"),
    [
        (None, "fresh", False), (None, "due", True), ("fresh", "due", True), ("due", "overdue", True),
        ("overdue", "delinquent", True), ("fresh", "delinquent", True), ("unknown", "due", True),
        ("exempt", "overdue", True), ("overdue", "fresh", True), ("delinquent", "fresh", True),
        ("due", "fresh", True), ("delinquent", "overdue", True), ("overdue", "due", True),
        ("withdrawn", "fresh", True), ("fresh", "withdrawn", True), ("withdrawn", "unknown", False),
        ("fresh", "unpublished", False), ("unpublished", "fresh", False),
        ("fresh", "fresh", False), ("overdue", "overdue", False), ("overdue", "exempt", False),
        ("delinquent", "unknown", False), ("fresh", "exempt", False), (None, "unknown", False),
    ],
)
def test_alert_transitions(old: str | None, new: str, alert: bool) -> None:
    assert is_alert_transition(old, new) is alert


@pytest.mark.parametrize(
    ("old", "new", "severity"),
    [("fresh", "due", "warning"), ("due", "overdue", "error"), ("overdue", "delinquent", "error"),
     ("overdue", "fresh", "info"), (None, "due", "warning"), ("withdrawn", "fresh", "info")],
)
def test_transition_issue(old: str | None, new: str, severity: str) -> None:
    result = FreshnessResult(new, FREQUENCIES["DAILY"], T0, DAY, None, None, None, "Because.")
    issue = transition_issue("lambeth/community-toilets", old, new, result)
    assert (issue.code, issue.severity) == (f"freshness/{new}", severity)
    assert issue.location.file == "lambeth/community-toilets"
    assert issue.message.endswith("Because.") and new in issue.message
