"""E-mail alerts through SMTP: subscriptions by double opt-in, alerts one by one or as a daily digest,
RFC 8058 one-click unsubscribe, reminders to a dataset's contact point, and plain notices.

The two channels plug into `portal.alerts.outbox`:

- `EmailChannel` ("email") sends each confirmed subscription the events its filters match — at once,
  or gathered into one digest at ``digest_hour`` (UTC). A delivery is one (event, subscription)
  pair, so each subscription hears of each status change once; an address with several matching
  subscriptions gets it once too (by its first immediate subscription). No floods: more than
  `BUNDLE_OVER` alerts for one subscription in one round (a first evaluation of a big portal) go
  out as one message listing them all.
- `ReminderChannel` ("reminder") tells a dataset's contact point (``contact_email`` in its metadata)
  when the dataset becomes due, before watchdogs are alerted at overdue (bundled the same way).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.alerts import mail_text
from portal.alerts.events import EventView, falls_late, view_of
from portal.alerts.mail_smtp import SmtpServer, build_message, parse_smtp_url, send_all
from portal.alerts.mail_subscriptions import (
    SubscriptionRequest, confirm, contact_address, describe, filters_of, list_subscriptions, pending_confirmation,
    request_subscription, unsubscribe, unsubscribe_address, unsubscribe_key, withdraw_token,
)
from portal.alerts.models import AlertEvent, Delivery, EmailSubscription
from portal.alerts.outbox import Outcome, Outgoing
from portal.alerts.still_current import link_url
from portal.db import Dataset, utcnow
from portal.errors import ConfigError, SourceUnavailableError

if TYPE_CHECKING:
    from portal.instance import Instance

log = logging.getLogger(__name__)

__all__ = [
    "EmailChannel", "ReminderChannel", "SubscriptionRequest", "confirm", "list_subscriptions", "next_digest",
    "pending_confirmation", "send_notice", "start_subscription", "subscribe", "unsubscribe", "unsubscribe_address",
]


def _mail_domain(instance: Instance) -> str:
    """The host of the base URL: the right-hand side of our Message-IDs."""
    return urlsplit(instance.uris.base).hostname or "localhost"


def _server(instance: Instance) -> str:
    url = str(instance.settings.smtp_url or "")
    if not url:
        raise ConfigError("e-mail needs an SMTP server: set smtp_url (LODESTAR_SMTP_URL)")
    return url


def send_notice(instance: Instance, to: str, subject: str, text: str) -> None:
    """Send one plain notice (e.g. to a webhook's owner); SourceUnavailableError when SMTP fails."""
    server = parse_smtp_url(_server(instance))
    message = build_message(str(instance.settings.mail_from), to, subject, text, domain=_mail_domain(instance))
    [outcome] = send_all(server, [message])
    if not outcome.ok:
        raise SourceUnavailableError(f"could not send e-mail to {to}: {outcome.error}")


def start_subscription(instance: Instance, email: str, *, publisher: str | None = None, theme: str | None = None,
                       dataset: str | None = None, min_severity: str = "warning", mode: str = "immediate",
                       now: datetime | None = None) -> SubscriptionRequest:
    """Ask for a subscription and send its confirmation e-mail (when one is due; see `request_subscription`)."""
    server = parse_smtp_url(_server(instance))
    request = request_subscription(instance, email, publisher=publisher, theme=theme, dataset=dataset,
                                   min_severity=min_severity, mode=mode, now=now)
    if request.token is None:
        return request
    subscription = request.subscription
    assert subscription.token_expires is not None
    link = f"{instance.uris.base}/subscribe/confirm/{request.token}"
    text = mail_text.confirmation_text(subscription=describe(filters_of(subscription), subscription.mode),
                                       link=link, expires=subscription.token_expires)
    message = build_message(str(instance.settings.mail_from), subscription.email, mail_text.confirmation_subject(),
                            text, domain=_mail_domain(instance), now=now)
    [outcome] = send_all(server, [message])
    if not outcome.ok:
        withdraw_token(instance, subscription.subscription_id, request.token)
        raise SourceUnavailableError(f"could not send the confirmation e-mail: {outcome.error}")
    return request


def subscribe(instance: Instance, email: str, *, publisher: str | None = None, theme: str | None = None,
              dataset: str | None = None, min_severity: str = "warning", mode: str = "immediate",
              now: datetime | None = None) -> EmailSubscription:
    """Start a double opt-in: a pending subscription and an e-mail with its single-use confirmation link.

    The same request again re-sends a fresh token (the old one stops working) and an active identical
    subscription is left as it is; either way the answer looks the same to the caller.
    """
    return start_subscription(instance, email, publisher=publisher, theme=theme, dataset=dataset,
                              min_severity=min_severity, mode=mode, now=now).subscription


def next_digest(moment: datetime, hour: int, *, strictly_after: bool = False) -> datetime:
    """The first digest time (``hour``:00 UTC) at or after `moment` (or strictly after it)."""
    utc = moment.astimezone(timezone.utc)
    candidate = utc.replace(hour=hour % 24, minute=0, second=0, microsecond=0)
    if candidate < utc or (strictly_after and candidate == utc):
        candidate += timedelta(days=1)
    return candidate


#: More immediate alerts than this for one subscription in one round go out as one message.
BUNDLE_OVER = 5


def digest_slot(occurred_at: datetime, last_digest_at: datetime | None, hour: int) -> datetime:
    """The digest an event belongs to: the first after the event, unless that one already went out."""
    slot = next_digest(occurred_at, hour)
    if last_digest_at is not None and last_digest_at >= slot:
        slot = next_digest(last_digest_at, hour, strictly_after=True)
    return slot


class _Mail:
    """The alert e-mails of one subscription: one event, or several in one message (digest or bundle)."""

    def __init__(self, instance: Instance, subscription: EmailSubscription) -> None:
        self.instance, self.subscription = instance, subscription
        self.sender, self.domain = str(instance.settings.mail_from), _mail_domain(instance)
        key = unsubscribe_key(instance, subscription.subscription_id)
        self.unsubscribe_url = f"{instance.uris.base}/unsubscribe/{key}"
        self.about = describe(filters_of(subscription), subscription.mode)

    def one(self, event: EventView) -> EmailMessage:
        """One alert; its Message-ID is the event's id."""
        text = mail_text.alert_text(event, subscription=self.about, unsubscribe_url=self.unsubscribe_url)
        return build_message(self.sender, self.subscription.email, mail_text.alert_subject(event), text,
                             message_id=f"<{event.event_id}@{self.domain}>", unsubscribe_url=self.unsubscribe_url)

    def several(self, events: Sequence[EventView], *, digest: bool = True) -> EmailMessage:
        """Several alerts in one message; its Message-ID is derived from theirs (stable across retries)."""
        text = mail_text.digest_text(events, subscription=self.about, unsubscribe_url=self.unsubscribe_url,
                                     digest=digest)
        ids = "\n".join(sorted(e.event_id for e in events))
        key = hashlib.sha256(f"{self.subscription.subscription_id}\n{ids}".encode()).hexdigest()[:32]
        return build_message(self.sender, self.subscription.email, mail_text.digest_subject(events, digest=digest),
                             text, message_id=f"<{'digest' if digest else 'alerts'}.{key}@{self.domain}>",
                             unsubscribe_url=self.unsubscribe_url)


class _Messages:
    """The messages of one round and the deliveries each carries. A message whose text cannot be
    composed fails its deliveries for good, and only those: the rest of the round still goes."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.owners: list[list[int]] = []
        self.outcomes: dict[int, Outcome] = {}

    def add(self, make: Callable[[], EmailMessage], indexes: list[int]) -> None:
        try:
            message = make()
        except (ValueError, UnicodeError) as exc:
            log.exception("an e-mail could not be composed")
            failed = Outcome(False, error=f"the e-mail could not be composed: {exc}", permanent=True)
            self.outcomes.update(dict.fromkeys(indexes, failed))
            return
        self.messages.append(message)
        self.owners.append(indexes)

    def send(self, server: SmtpServer, count: int) -> list[Outcome]:
        """Send every message; one outcome per delivery, in the order of the `count` deliveries."""
        for indexes, outcome in zip(self.owners, send_all(server, self.messages) if self.messages else []):
            self.outcomes.update(dict.fromkeys(indexes, outcome))
        return [self.outcomes[index] for index in range(count)]


class EmailChannel:
    """Alerts to confirmed e-mail subscriptions, one by one or as a daily digest (target: subscription id)."""

    name = "email"

    def recipients(self, session: Session, events: Sequence[AlertEvent]) -> dict[int, list[str]]:
        """Each event's matching active subscriptions, one per address (immediate ones first)."""
        subscriptions = list(session.scalars(select(EmailSubscription).where(EmailSubscription.status == "active")
                                             .order_by(EmailSubscription.id)))
        preferred = sorted(subscriptions, key=lambda s: (s.mode != "immediate", s.id))
        targets: dict[int, list[str]] = {}
        for event in events:
            view = view_of(event, "")  # the filters need no link
            chosen: dict[str, str] = {}
            for subscription in preferred:
                if subscription.email not in chosen and filters_of(subscription).matches(view):
                    chosen[subscription.email] = subscription.subscription_id
            if chosen:
                targets[event.id] = list(chosen.values())
        return targets

    def first_attempt(self, session: Session, target: str, event: AlertEvent) -> datetime | None:
        """At once: a digest delivery waits for its hour in `send` (which knows the instance's settings)."""
        return None

    def send(self, instance: Instance, outgoing: Sequence[Outgoing]) -> list[Outcome]:
        """Immediate: one message per delivery. Digest: one message per subscription listing all its
        due events; deliveries whose digest hour has not come yet are deferred to it."""
        server = parse_smtp_url(_server(instance))
        hour = int(instance.settings.digest_hour)
        with instance.session() as session:
            subscriptions = {s.subscription_id: s for s in session.scalars(select(EmailSubscription).where(
                EmailSubscription.subscription_id.in_({o.target for o in outgoing})))}
        batch = _Messages()
        digests: dict[str, list[int]] = {}
        immediate: dict[str, list[int]] = {}
        for index, item in enumerate(outgoing):
            subscription = subscriptions.get(item.target)
            if subscription is None or subscription.status != "active":
                batch.outcomes[index] = Outcome(False, error="the subscription is no longer active", permanent=True)
            elif subscription.mode == "digest":
                moment = item.claimed_at or utcnow()  # the engine's clock (scenario runs move it)
                slot = digest_slot(item.event.occurred_at, subscription.last_digest_at, hour)
                if slot > moment and not item.manual:
                    batch.outcomes[index] = Outcome(False, defer_until=slot)
                else:
                    digests.setdefault(item.target, []).append(index)
            else:
                immediate.setdefault(item.target, []).append(index)
        for target, indexes in immediate.items():
            mail = _Mail(instance, subscriptions[target])
            events = [outgoing[i].event for i in indexes]
            if len(indexes) > BUNDLE_OVER:  # no floods: many alerts at once travel together
                batch.add(lambda: mail.several(events, digest=False), indexes)
            else:
                for index, event in zip(indexes, events):
                    batch.add(lambda: mail.one(event), [index])
        for target, indexes in digests.items():
            mail = _Mail(instance, subscriptions[target])
            batch.add(lambda: mail.several([outgoing[i].event for i in indexes]), indexes)
        return batch.send(server, len(outgoing))

    def record(self, session: Session, results: Sequence[tuple[Outgoing, Outcome, bool]]) -> None:
        """Date each digest that went out (its subscription's `last_digest_at`)."""
        sent = {o.target: o.delivery_id for o, outcome, _ in results if outcome.ok and not o.manual}
        if not sent:
            return
        for subscription in session.scalars(select(EmailSubscription).where(
                EmailSubscription.subscription_id.in_(sent), EmailSubscription.mode == "digest")):
            delivery = session.get(Delivery, sent[subscription.subscription_id])
            moment = delivery.delivered_at if delivery is not None and delivery.delivered_at else utcnow()
            if subscription.last_digest_at is None or moment > subscription.last_digest_at:
                subscription.last_digest_at = moment


class ReminderChannel:
    """Reminders to a dataset's contact point when it becomes due (target: the address, lower-cased).

    A dataset that went from on time to overdue (or delinquent) between two evaluations, skipping
    "due", gets its reminder then: late, but its publisher is still told.
    """

    name = "reminder"

    def recipients(self, session: Session, events: Sequence[AlertEvent]) -> dict[int, list[str]]:
        """The contact address of the dataset of each event that makes it late from on time; datasets
        without one are skipped."""
        due = [e for e in events if falls_late(e.kind, e.previous)]
        if not due:
            return {}
        metadata: dict[int, dict[str, Any] | None] = {
            dataset_id: meta for dataset_id, meta in session.execute(
                select(Dataset.id, Dataset.metadata_json).where(Dataset.id.in_({e.dataset_id for e in due})))}
        targets: dict[int, list[str]] = {}
        for event in due:
            address = contact_address((metadata.get(event.dataset_id) or {}).get("contact_email"))
            if address is not None and len(address) <= 320:
                targets[event.id] = [address]
        return targets

    def first_attempt(self, session: Session, target: str, event: AlertEvent) -> datetime | None:
        """At once."""
        return None

    def send(self, instance: Instance, outgoing: Sequence[Outgoing]) -> list[Outcome]:
        """One reminder per delivery; past `BUNDLE_OVER` for one address at once, one listing them all."""
        server = parse_smtp_url(_server(instance))
        sender, domain = str(instance.settings.mail_from), _mail_domain(instance)
        by_target: dict[str, list[int]] = {}
        for index, item in enumerate(outgoing):
            by_target.setdefault(item.target, []).append(index)
        batch = _Messages()
        for target, indexes in by_target.items():
            events = [outgoing[i].event for i in indexes]
            if len(indexes) > BUNDLE_OVER:
                ids = "\n".join(sorted(e.event_id for e in events))
                key = hashlib.sha256(f"{target}\n{ids}".encode()).hexdigest()[:32]
                links = {e.event_id: link_url(instance, e.event_id) for e in events}
                batch.add(lambda: build_message(sender, target, mail_text.reminders_subject(events),
                                                mail_text.reminders_text(events, links),
                                                message_id=f"<reminders.{key}@{domain}>"), indexes)
                continue
            for index, event in zip(indexes, events):
                batch.add(lambda: build_message(sender, target, mail_text.reminder_subject(event),
                                                mail_text.reminder_text(event, link_url(instance, event.event_id)),
                                                message_id=f"<{event.event_id}.reminder@{domain}>"), [index])
        return batch.send(server, len(outgoing))

    def record(self, session: Session, results: Sequence[tuple[Outgoing, Outcome, bool]]) -> None:
        """Nothing of its own to update."""
