"""The alert tables: events, webhook endpoints, e-mail subscriptions, deliveries and their attempts.

An `AlertEvent` is written in the same transaction as the freshness status it reports, so a
status never changes without its event and an event never exists without its status. Fanning
an event out to the subscriptions that match it makes one `Delivery` per (event, channel,
target) — unique, so fanning out twice delivers nothing twice — and every try of a delivery is
a `DeliveryAttempt`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, Dataset, UtcDateTime, utcnow


class AlertEvent(Base):
    """A change of a dataset's freshness status (or its withdrawal), as watchdogs are told it."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_fanned_out", "fanned_out"),
                      Index("ix_alert_events_publisher", "publisher"))
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The stable public id (``evt_…``): the Atom entry id, the webhook-id, the e-mail's Message-ID.
    event_id: Mapped[str] = mapped_column(String(40), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    publisher: Mapped[str] = mapped_column(String(100))
    dataset_slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(Text, default="")
    #: due | overdue | delinquent | fresh (back to fresh) | withdrawn
    kind: Mapped[str] = mapped_column(String(20))
    previous: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(20))
    #: The instant the status changed (the evaluation's `now`).
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: Theme IRIs of the dataset when the event was written (subscriptions filter on them).
    themes_json: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    #: Frequency, last content change, claimed modification, thresholds, reason.
    evidence_json: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    #: True once the deliveries the event needs have been made (see `portal.alerts.outbox`).
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)
    dataset: Mapped[Dataset] = relationship()


class WebhookEndpoint(Base):
    """A receiver of signed alert webhooks (Standard Webhooks), with its filters and signing secret."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(String(40), unique=True)  # ep_…
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(100))  # whsec_…
    #: After a rotation the old secret still signs (beside the new one) until `previous_until`.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    publisher: Mapped[str | None] = mapped_column(String(100))
    theme: Mapped[str | None] = mapped_column(Text)
    dataset: Mapped[str | None] = mapped_column(String(201))  # publisher/slug
    min_severity: Mapped[str] = mapped_column(String(20), default="warning")
    owner_email: Mapped[str | None] = mapped_column(String(320))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    #: Deliveries that failed in a row (reset by a success); past a limit the endpoint is disabled.
    failures_in_row: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class EmailSubscription(Base):
    """An e-mail address that asked for alerts, confirmed by double opt-in."""

    __tablename__ = "email_subscriptions"
    __table_args__ = (Index("ix_email_subscriptions_email", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String(40), unique=True)  # sub_…
    email: Mapped[str] = mapped_column(String(320))
    publisher: Mapped[str | None] = mapped_column(String(100))
    theme: Mapped[str | None] = mapped_column(Text)
    dataset: Mapped[str | None] = mapped_column(String(201))
    min_severity: Mapped[str] = mapped_column(String(20), default="warning")
    mode: Mapped[str] = mapped_column(String(20), default="immediate")  # immediate | digest
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | active | unsubscribed
    #: SHA-256 of the single-use confirmation token (the token itself is only in the e-mail).
    token_hash: Mapped[str | None] = mapped_column(String(64))
    token_expires: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The secret in one-click unsubscribe links (RFC 8058), SHA-256 hashed.
    unsubscribe_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: When the last digest went out (digest mode).
    last_digest_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Delivery(Base):
    """One event to one target on one channel: pending until delivered, given up or cancelled."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel", "target"),
                      Index("ix_deliveries_status_next", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id"))
    channel: Mapped[str] = mapped_column(String(20))  # webhook | email | reminder
    #: endpoint_id, subscription_id, or the contact address of a publisher reminder
    target: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed | cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    #: A sender holds a delivery until this instant (a lease), so two senders never send it at once.
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    event: Mapped[AlertEvent] = relationship()


class DeliveryAttempt(Base):
    """One try of a delivery: when, how long, what the receiver answered."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"))
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    #: True when an operator asked for it (`alerts resend`), not the retry schedule.
    manual: Mapped[bool] = mapped_column(Boolean, default=False)


class FreshnessConfirmation(Base):
    """A publisher's "still current": counts as an update of the dataset, and is kept as such."""

    __tablename__ = "freshness_confirmations"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    confirmed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    confirmed_by: Mapped[str] = mapped_column(String(320), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class DatasetQuality(Base):
    """A dataset's metadata quality assessment (data.europa.eu MQA), kept for the record digest it scored."""

    __tablename__ = "dataset_quality"
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(80))
    assessed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    mqa_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
