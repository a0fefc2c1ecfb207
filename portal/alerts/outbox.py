"""The outbox: events fanned out to deliveries, deliveries sent by their channel, every attempt kept.

Delivery is at least once and idempotent:

- an event is written with its status change (one transaction), so none is lost;
- fanning out makes one `Delivery` per (event, channel, target) — the pair is unique — and marks
  the event fanned out in the same transaction, so a crash in between only repeats the fan-out;
- a sender first *claims* due deliveries for a while (a lease in the database), sends with no
  transaction open, then records the outcome; a sender that dies leaves the lease to run out and
  the delivery is sent again later — receivers dedupe by the event id, which every channel sends.

Channels (`portal.alerts.channels`) say who wants an event and how to send it.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, selectinload

from portal.alerts.events import EventView, view_of
from portal.alerts.models import AlertEvent, Delivery, DeliveryAttempt
from portal.db import utcnow
from portal.errors import NotFoundError

if TYPE_CHECKING:
    from portal.instance import Instance

log = logging.getLogger(__name__)

#: How long a sender holds the deliveries it claimed; past it another sender may take them.
LEASE = timedelta(minutes=5)
#: Events fanned out per transaction, deliveries claimed per round.
FAN_OUT_BATCH = 500
CLAIM_BATCH = 2000
#: Longest wait between two attempts of one delivery.
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class Outgoing:
    """A claimed delivery, ready for its channel: what to send, to whom, and how often it was tried."""

    delivery_id: int
    channel: str
    target: str
    attempts: int
    event: EventView
    manual: bool = False
    #: The engine's clock when it claimed the delivery (scenario runs move it with `now=`).
    claimed_at: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to. ``permanent`` failures are not retried (a 4xx other than 408/429, say)."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False
    response_excerpt: str | None = None
    duration_ms: int = 0
    #: For a delivery that is not due yet after all (a digest waiting for its hour): try again then.
    defer_until: datetime | None = None


class Channel(Protocol):
    """A way alerts go out: webhooks, e-mail, publisher reminders."""

    name: str

    def recipients(self, session: Session, events: Sequence[AlertEvent]) -> dict[int, list[str]]:
        """The targets that want each event, by the event's row id (fan-out)."""
        ...

    def first_attempt(self, session: Session, target: str, event: AlertEvent) -> datetime | None:
        """When a new delivery should first be tried (None: at once; a digest: at its hour)."""
        ...

    def send(self, instance: Instance, outgoing: Sequence[Outgoing]) -> list[Outcome]:
        """Send claimed deliveries (no transaction is open); one outcome each, in order."""
        ...

    def record(self, session: Session, results: Sequence[tuple[Outgoing, Outcome, bool]]) -> None:
        """Update the channel's own rows after attempts, in the transaction that records them.

        Each result is (outgoing, outcome, given_up): ``given_up`` when the delivery failed for good.
        """
        ...


@dataclass
class DeliveryRound:
    """What `deliver_pending` did: deliveries made, sent, failed for now, given up."""

    fanned_out: int = 0
    created: int = 0
    sent: int = 0
    retrying: int = 0
    given_up: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def fan_out(instance: Instance, channels: Sequence[Channel], *, now: datetime | None = None) -> tuple[int, int]:
    """Make the deliveries of every event not fanned out yet; returns (events, deliveries made)."""
    events_done = made = 0
    while True:
        with instance.session() as session:
            events = list(session.scalars(select(AlertEvent).where(AlertEvent.fanned_out.is_(False))
                                          .order_by(AlertEvent.id).limit(FAN_OUT_BATCH)))
            if not events:
                return events_done, made
            ids = [e.id for e in events]
            existing = {(event_id, channel_name, target) for event_id, channel_name, target in session.execute(
                select(Delivery.event_id, Delivery.channel, Delivery.target).where(Delivery.event_id.in_(ids)))}
            by_id = {e.id: e for e in events}
            for channel in channels:
                for event_id, targets in channel.recipients(session, events).items():
                    for target in dict.fromkeys(targets):
                        if (event_id, channel.name, target) in existing:
                            continue
                        first = channel.first_attempt(session, target, by_id[event_id])
                        session.add(Delivery(event_id=event_id, channel=channel.name, target=target,
                                             next_attempt_at=first or now or utcnow()))
                        existing.add((event_id, channel.name, target))
                        made += 1
            for event in events:
                event.fanned_out = True
            events_done += len(events)


def backoff(attempts: int, *, base_seconds: float, retry_after: float | None = None,
            rng: random.Random | None = None) -> timedelta:
    """The wait before the next attempt: exponential in the attempts made, with full jitter on its
    upper half, never less than what the receiver asked for (Retry-After) and at most `MAX_BACKOFF`."""
    ceiling = min(base_seconds * 2 ** max(attempts - 1, 0), MAX_BACKOFF.total_seconds())
    wait = ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
    if retry_after is not None:
        wait = max(wait, min(retry_after, MAX_BACKOFF.total_seconds()))
    return timedelta(seconds=wait)


def _claim(instance: Instance, channel: str, now: datetime, limit: int) -> list[Outgoing]:
    """Take a lease on the channel's due deliveries and return them (short transaction)."""
    with instance.session() as session:
        due = and_(Delivery.channel == channel, Delivery.status == "pending", Delivery.next_attempt_at <= now,
                   or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now))
        ids = list(session.scalars(select(Delivery.id).where(due).order_by(Delivery.id).limit(limit)))
        if not ids:
            return []
        # The lease is taken by an UPDATE that re-checks the condition, so two senders racing for the
        # same rows cannot both win: the loser's UPDATE matches nothing for the rows it lost.
        lease = now + LEASE
        session.execute(update(Delivery).where(Delivery.id.in_(ids), due).values(claimed_until=lease),
                        execution_options={"synchronize_session": False})
        rows = list(session.scalars(select(Delivery).where(Delivery.id.in_(ids), Delivery.claimed_until == lease)
                                    .options(selectinload(Delivery.event))))
        return [_outgoing(instance, d, claimed_at=now) for d in rows]


def _outgoing(instance: Instance, delivery: Delivery, manual: bool = False, *,
              claimed_at: datetime | None = None) -> Outgoing:
    """The plain form of a claimed delivery (its event loaded)."""
    event = delivery.event
    return Outgoing(delivery.id, delivery.channel, delivery.target, delivery.attempts,
                    view_of(event, instance.uris.dataset(event.publisher, event.dataset_slug)), manual, claimed_at)


def _settle(instance: Instance, channel: Channel, pairs: Sequence[tuple[Outgoing, Outcome]], now: datetime,
            tally: DeliveryRound) -> None:
    """Record the attempts and move each delivery on: delivered, retried later, deferred or given up."""
    settings = instance.settings
    max_attempts = int(settings.alert_max_attempts)
    base = float(settings.alert_retry_base_seconds)
    results: list[tuple[Outgoing, Outcome, bool]] = []
    with instance.session() as session:
        rows = {d.id: d for d in session.scalars(select(Delivery).where(
            Delivery.id.in_([o.delivery_id for o, _ in pairs])))}
        for outgoing, outcome in pairs:
            delivery = rows[outgoing.delivery_id]
            delivery.claimed_until = None
            if outcome.defer_until is not None:
                delivery.next_attempt_at = outcome.defer_until
                tally.deferred += 1
                continue
            delivery.attempts += 1
            session.add(DeliveryAttempt(
                delivery_id=delivery.id, attempted_at=now, duration_ms=outcome.duration_ms,
                status_code=outcome.status_code, ok=outcome.ok, error=outcome.error,
                response_excerpt=outcome.response_excerpt, manual=outgoing.manual))
            given_up = False
            if outcome.ok:
                delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
                tally.sent += 1
            else:
                delivery.last_error = outcome.error or f"HTTP {outcome.status_code}"
                if outcome.permanent or delivery.attempts >= max_attempts:
                    delivery.status, given_up = "failed", True
                    tally.given_up += 1
                else:
                    delivery.next_attempt_at = now + backoff(delivery.attempts, base_seconds=base,
                                                             retry_after=outcome.retry_after)
                    tally.retrying += 1
            results.append((outgoing, outcome, given_up))
        channel.record(session, results)


def deliver_pending(instance: Instance, channels: Sequence[Channel], *, now: datetime | None = None,
                    rounds: int = 1000) -> DeliveryRound:
    """Fan out new events, then send every delivery that is due, once each; returns what happened.

    Failed attempts are scheduled again with backoff; this call does not wait for them (`lodestar
    schedule` runs it continuously, `lodestar alerts deliver` once).
    """
    tally = DeliveryRound()
    tally.fanned_out, tally.created = fan_out(instance, channels, now=now)
    for channel in channels:
        seen: set[int] = set()
        for _ in range(rounds):
            moment = now or utcnow()
            claimed = [o for o in _claim(instance, channel.name, moment, CLAIM_BATCH) if o.delivery_id not in seen]
            if not claimed:
                break
            seen.update(o.delivery_id for o in claimed)
            try:
                outcomes = channel.send(instance, claimed)
            except Exception as exc:  # a channel that breaks must not leave leases or lose the round
                log.exception("channel %s failed", channel.name)
                tally.errors.append(f"{channel.name}: {exc}")
                outcomes = [Outcome(False, error=f"{type(exc).__name__}: {exc}") for _ in claimed]
            _settle(instance, channel, list(zip(claimed, outcomes)), now or utcnow(), tally)
    return tally


def resend(instance: Instance, delivery_id: int, channels: Sequence[Channel], *,
           now: datetime | None = None) -> Outcome:
    """Send one delivery again at once (delivered, failed or pending alike), logged as a manual attempt.

    A delivery that was given up is pending again when this attempt fails, on the usual schedule.
    """
    moment = now or utcnow()
    with instance.session() as session:
        delivery = session.get(Delivery, delivery_id, options=[selectinload(Delivery.event)])
        if delivery is None:
            raise NotFoundError(f"no delivery {delivery_id}")
        by_name = {c.name: c for c in channels}
        if delivery.channel not in by_name:
            raise NotFoundError(f"delivery {delivery_id} goes by {delivery.channel}, which is not configured")
        delivery.status, delivery.claimed_until = "pending", moment + LEASE
        delivery.attempts = min(delivery.attempts, int(instance.settings.alert_max_attempts) - 1)
        outgoing = _outgoing(instance, delivery, manual=True, claimed_at=moment)
    channel = by_name[outgoing.channel]
    outcome = channel.send(instance, [outgoing])[0]
    _settle(instance, channel, [(outgoing, outcome)], moment, DeliveryRound())
    return outcome


def pending_count(session: Session) -> dict[str, int]:
    """Pending deliveries per channel."""
    counts: dict[str, int] = defaultdict(int)
    for channel in session.scalars(select(Delivery.channel).where(Delivery.status == "pending")):
        counts[channel] += 1
    return dict(counts)
