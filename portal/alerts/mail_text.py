"""The words of Lodestar's e-mails: alerts, daily digests, confirmation requests and publisher reminders.

Plain text, short lines, every fact from the event's evidence (what the freshness watch recorded
when the status changed): expected frequency, last content change, the publisher's own claim, and
the thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from portal.alerts.events import EventView


def when(value: datetime | str | None) -> str:
    """A moment as people read it (``2026-03-01 07:00 UTC``); "not recorded" for none."""
    if value is None or value == "":
        return "not recorded"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def frequency_text(evidence: Mapping[str, Any]) -> str:
    """The expected frequency, and what the publisher declared when it was said otherwise."""
    expected = evidence.get("expected_frequency")
    label = expected.get("label") if isinstance(expected, Mapping) else expected
    declared = evidence.get("declared_frequency")
    if not label:
        return f"unknown (declared: {declared!r})" if declared else "not declared"
    if declared and str(declared).strip().lower() != str(label).strip().lower():
        return f"{label} (declared as {declared!r})"
    return str(label)


def threshold(evidence: Mapping[str, Any], name: str) -> str | None:
    """One threshold instant (``due_at``, ``overdue_at``, ``delinquent_at``) from the evidence."""
    thresholds = evidence.get("thresholds")
    value = thresholds.get(name) if isinstance(thresholds, Mapping) else None
    return value or evidence.get(name)


def evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    """The evidence behind a status, one fact a line."""
    lines = [f"Expected update frequency: {frequency_text(evidence)}",
             f"Last content change seen:  {when(evidence.get('last_content_change'))}"]
    if evidence.get("confirmed_current_at"):
        lines.append(f"Confirmed still current:   {when(evidence['confirmed_current_at'])}")
    claimed = evidence.get("claimed_modified")
    claim = f"modified {when(claimed)}" if claimed else "no modification date"
    if evidence.get("claim"):
        claim += f" ({evidence['claim']})"
    lines.append(f"The publisher's metadata:  {claim}")
    for name, label in (("overdue_at", "Overdue from:"), ("delinquent_at", "Delinquent from:")):
        if threshold(evidence, name):
            lines.append(f"{label:<27}{when(threshold(evidence, name))}")
    if evidence.get("reason"):
        lines.append(f"Reason: {evidence['reason']}")
    return lines


def _footer(subscription: str, unsubscribe_url: str) -> list[str]:
    return ["", "--", f"You get this because you subscribed to Lodestar alerts for {subscription}.",
            f"Unsubscribe with one click: {unsubscribe_url}"]


def alert_subject(event: EventView) -> str:
    """The subject of one alert."""
    return f"[Lodestar] {event.summary} ({event.dataset})"


def alert_text(event: EventView, *, subscription: str, unsubscribe_url: str) -> str:
    """One alert: what happened, the evidence, the link, the event id."""
    lines = [f"{event.summary}.", "",
             f"Dataset:   {event.title or event.dataset} ({event.dataset})",
             f"Status:    {event.kind}" + (f" (was {event.previous})" if event.previous else ""),
             f"Severity:  {event.severity}",
             f"Changed:   {when(event.occurred_at)}",
             f"Page:      {event.link}", ""]
    lines += evidence_lines(event.evidence)
    lines += ["", f"Event id: {event.event_id}"]
    return "\n".join(lines + _footer(subscription, unsubscribe_url)) + "\n"


def digest_subject(events: Sequence[EventView], *, digest: bool = True) -> str:
    """The subject of a daily digest, or of many alerts sent at once."""
    count = len(events)
    alerts = f"{count} freshness alert{'s' if count != 1 else ''}"
    return f"[Lodestar] Daily digest: {alerts}" if digest else f"[Lodestar] {alerts} at once"


def digest_text(events: Sequence[EventView], *, subscription: str, unsubscribe_url: str, digest: bool = True) -> str:
    """Several events of one subscription in one message, oldest first: a daily digest, or a bundle of
    alerts that came at once (so that a first evaluation of a big portal does not flood an inbox)."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    changes = f"{len(ordered)} change{'s' if len(ordered) != 1 else ''} of freshness"
    lines = [f"{changes} since the last digest:" if digest else f"{changes} at once, in one e-mail:", ""]
    for number, event in enumerate(ordered, 1):
        lines += [f"{number}. {event.summary} - {event.severity}, {when(event.occurred_at)}",
                  f"   {event.link}",
                  f"   Expected: {frequency_text(event.evidence)}; last content change: "
                  f"{when(event.evidence.get('last_content_change'))}",
                  f"   Event id: {event.event_id}", ""]
    return "\n".join(lines[:-1] + _footer(subscription, unsubscribe_url)) + "\n"


def confirmation_subject() -> str:
    """The subject of a double opt-in request."""
    return "[Lodestar] Confirm your subscription to freshness alerts"


def confirmation_text(*, subscription: str, link: str, expires: datetime) -> str:
    """The double opt-in request: what was asked, the link, when it expires, and what to do if not you."""
    return "\n".join([
        "Someone - we hope you - asked to receive Lodestar freshness alerts at this address for:",
        f"  {subscription}", "",
        "To confirm, open this link and press the button on the page:",
        f"  {link}", "",
        f"The link works once, until {when(expires)}.",
        "If you did not ask for this, ignore this e-mail: nothing will be sent to you.", ""])


_REMINDER_FOOTER = ("", "--",
                    "You get this because this address is the dataset's contact point in its published metadata.",
                    "To change who is reminded, change the contact point in the metadata.", "")


def reminder_subject(event: EventView) -> str:
    """The subject of a publisher reminder."""
    state = "Due for an update" if event.kind == "due" else f"{event.kind.capitalize()} for an update"
    return f"[Lodestar] {state}: {event.title or event.dataset} ({event.dataset})"


def _public_from(event: EventView) -> str:
    """When watchdogs hear of it: at "overdue", or already (a dataset that skipped "due")."""
    if event.kind != "due":
        return ("It went past its due date between two checks, so this notice comes late: watchdogs "
                "subscribed to this dataset are alerted now.")
    overdue = threshold(event.evidence, "overdue_at")
    if overdue:
        return f"It becomes publicly overdue on {when(overdue)}: watchdogs subscribed to this dataset are alerted then."
    return "If it is not updated, it becomes publicly overdue and subscribed watchdogs are alerted."


def reminder_text(event: EventView, still_current: str) -> str:
    """A reminder to a dataset's contact point: what is due, the evidence, when watchdogs hear of it,
    and how to update it or confirm that it is still current (at `still_current`, a one-click link)."""
    evidence = event.evidence
    lines = [
        "Hello,", "",
        f"The dataset \"{event.title or event.dataset}\" ({event.dataset}), for which this address is the",
        f"contact point, is now {event.kind} for an update (since {when(event.occurred_at)}).", "",
        *evidence_lines(evidence), "",
        _public_from(event),
        "", "To keep it current, either:",
        "  - publish the new data at its usual address; the next harvest sees the changed content; or",
        "  - if the data is still current, confirm it (this counts as an update) with this link:",
        f"      {still_current}", "",
        f"Dataset page: {event.link}",
        f"Event id: {event.event_id}", *_REMINDER_FOOTER]
    return "\n".join(lines)


def reminders_subject(events: Sequence[EventView]) -> str:
    """The subject of one reminder about several datasets."""
    late = "due" if all(e.kind == "due" for e in events) else "due or late"
    return f"[Lodestar] {len(events)} datasets {late} for an update"


def reminders_text(events: Sequence[EventView], still_current: Mapping[str, str]) -> str:
    """One reminder listing several datasets that became due at once (no flood of reminders); each
    with its one-click "still current" link from `still_current` (by event id)."""
    opening = (
        [f"{len(events)} datasets for which this address is the contact point are now due for an update.",
         "Each becomes publicly overdue on the date shown: subscribed watchdogs are alerted then."]
        if all(e.kind == "due" for e in events) else
        [f"{len(events)} datasets for which this address is the contact point are now due for an update,",
         "or late already. Each becomes publicly overdue on the date shown, when subscribed watchdogs are",
         "alerted; one that is late already went past its due date between two checks: they are alerted now."])
    lines = ["Hello,", "", *opening, ""]
    for number, event in enumerate(sorted(events, key=lambda e: e.dataset), 1):
        evidence = event.evidence
        overdue = when(threshold(evidence, "overdue_at"))
        lines += [f"{number}. {event.title or event.dataset} ({event.dataset})",
                  f"   Expected {frequency_text(evidence)}; last content change "
                  f"{when(evidence.get('last_content_change'))}",
                  f"   Overdue from {overdue}" if event.kind == "due" else f"   {event.kind.capitalize()}: "
                  f"overdue since {overdue}",
                  f"   {event.link}",
                  f"   Still current? {still_current[event.event_id]}", ""]
    lines += ["To keep a dataset current, publish its new data at the usual address (the next harvest sees",
              "the changed content), or, if it is still current, confirm it with its link (this counts as",
              "an update).", *_REMINDER_FOOTER]
    return "\n".join(lines)
