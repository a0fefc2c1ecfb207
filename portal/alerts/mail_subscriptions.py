"""E-mail subscriptions: double opt-in with single-use expiring tokens, one-click unsubscribe keys, and
a limit on confirmation e-mails so the form cannot be used to mail-bomb anyone.

Only hashes are stored: the confirmation token (random, in the e-mail only) and the unsubscribe key.
The unsubscribe key goes into every alert's links, so it is derived — an HMAC of the subscription id
under a random secret kept in the instance folder (``mail-secret.key``), not in the database, so a
copy of the database alone unsubscribes nobody. The same secret can key the web session
(`session_secret`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.alerts.events import SEVERITIES, Filters
from portal.alerts.models import Delivery, EmailSubscription
from portal.db import utcnow
from portal.errors import ConfigError, NotFoundError, UsageError
from vocab.authority import table

if TYPE_CHECKING:
    from portal.instance import Instance

MODES: tuple[str, ...] = ("immediate", "digest")
#: Confirmation e-mails one address may be sent in `RATE_WINDOW`.
RATE_LIMIT = 3
RATE_WINDOW = timedelta(hours=1)
SECRET_FILE = "mail-secret.key"


@dataclass(frozen=True)
class SubscriptionRequest:
    """What asking to subscribe did: the subscription, the token sent (None: no e-mail) and why not."""

    subscription: EmailSubscription
    token: str | None
    reason: str  # "sent" | "already-active" | "rate-limited"


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token or key is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_address(text: str) -> str:
    """The address in its normal form, lower-cased (UsageError when it is not one)."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise UsageError(f"not an e-mail address: {text!r} ({exc})") from None
    return checked.normalized.lower()


def contact_address(value: object) -> str | None:
    """A dataset's contact point as an address (a ``mailto:`` IRI or a plain address), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:"):].split("?", 1)[0]
    try:
        return normalise_address(text)
    except UsageError:
        return None


def theme_label(iri: str) -> str:
    """A theme IRI's English label (the IRI itself when it is not an EU data theme)."""
    concept = table("data-theme").by_uri(iri)
    if concept is None:
        return iri
    return (concept.labels.get("en") or (concept.code,))[0]


def check_filters(publisher: str | None = None, theme: str | None = None, dataset: str | None = None,
                  min_severity: str = "warning") -> Filters:
    """Filters from what a subscriber typed (blank means "any"), checked exactly as a webhook's are:
    well-formed slugs (publishers need not exist yet), theme codes or labels expanded to IRIs."""
    from portal.alerts.webhook_endpoints import check_filters as check_subscription_filters

    def given(value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    return check_subscription_filters(publisher=given(publisher), theme=given(theme), dataset=given(dataset),
                                      min_severity=min_severity.strip())


def filters_of(subscription: EmailSubscription) -> Filters:
    """The filters a stored subscription asked for."""
    return Filters(subscription.publisher, subscription.theme, subscription.dataset, subscription.min_severity)


def describe(filters: Filters, mode: str = "immediate") -> str:
    """A subscription in words: "publisher leeds, theme Environment; warning and worse; daily digest"."""
    parts = []
    if filters.publisher:
        parts.append(f"publisher {filters.publisher}")
    if filters.theme:
        parts.append(f"theme {theme_label(filters.theme)}")
    if filters.dataset:
        parts.append(f"dataset {filters.dataset}")
    what = ", ".join(parts) or "every dataset"
    worse = SEVERITIES[SEVERITIES.index(filters.min_severity):]
    level = filters.min_severity if len(worse) == 1 else f"{filters.min_severity} and worse"
    return f"{what}; {level}; {'daily digest' if mode == 'digest' else 'one e-mail per alert'}"


def instance_secret(folder: Path) -> bytes:
    """The instance's random secret (``mail-secret.key``), made on first use (written aside, then linked:
    never half a file, and two processes racing agree on one)."""
    path = folder / SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            temporary.unlink()
    return bytes.fromhex(path.read_text().strip())


def unsubscribe_key(instance: Instance, subscription_id: str) -> str:
    """The secret in a subscription's one-click unsubscribe link (stable; only its hash is stored)."""
    message = f"unsubscribe:{subscription_id}".encode()
    digest = hmac.new(instance_secret(instance.path), message, hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def session_secret(folder: Path) -> str:
    """A key for the web app's signed session cookie, derived from the instance secret."""
    return hmac.new(instance_secret(folder), b"flask-session", hashlib.sha256).hexdigest()


def _issued_at(subscription: EmailSubscription, hours: float) -> datetime | None:
    """When the subscription's last confirmation e-mail went out (its token's expiry minus its life)."""
    if subscription.token_expires is None:
        return None
    return subscription.token_expires - timedelta(hours=hours)


def request_subscription(instance: Instance, email: str, *, publisher: str | None = None, theme: str | None = None,
                         dataset: str | None = None, min_severity: str = "warning", mode: str = "immediate",
                         now: datetime | None = None) -> SubscriptionRequest:
    """Record a pending subscription (or find the same one) and issue a fresh confirmation token.

    No token is issued for a subscription already active, nor past the address's limit: `RATE_LIMIT`
    confirmation e-mails per `RATE_WINDOW`, one of them per subscription (so each subscription's last
    token tells when its last e-mail went, and the limit is exact). The caller sends the e-mail.
    """
    if not instance.settings.smtp_url:
        raise ConfigError("e-mail alerts need an SMTP server: set smtp_url (LODESTAR_SMTP_URL)")
    address = normalise_address(email)
    filters = check_filters(publisher, theme, dataset, min_severity)
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    moment = now or utcnow()
    hours = float(instance.settings.confirm_token_hours)
    with instance.session() as session:
        rows = list(session.scalars(select(EmailSubscription).where(EmailSubscription.email == address)
                                    .order_by(EmailSubscription.id)))
        same = next((r for r in rows if filters_of(r) == filters and r.mode == mode), None)
        if same is not None and same.status == "active":
            return SubscriptionRequest(same, None, "already-active")
        recent = [r for r in rows if (issued := _issued_at(r, hours)) is not None and issued > moment - RATE_WINDOW]
        if same is None:
            same = EmailSubscription(subscription_id="sub_" + secrets.token_hex(12), email=address,
                                     publisher=filters.publisher, theme=filters.theme, dataset=filters.dataset,
                                     min_severity=filters.min_severity, mode=mode, status="pending",
                                     created_at=moment)
            session.add(same)
            session.flush()
            same.unsubscribe_hash = token_hash(unsubscribe_key(instance, same.subscription_id))
        if same in recent or len(recent) >= RATE_LIMIT:
            return SubscriptionRequest(same, None, "rate-limited")
        token = secrets.token_urlsafe(32)
        same.status = "pending"
        same.token_hash, same.token_expires = token_hash(token), moment + timedelta(hours=hours)
        return SubscriptionRequest(same, token, "sent")


def withdraw_token(instance: Instance, subscription_id: str, token: str) -> None:
    """Forget a token whose e-mail could not be sent (so it counts against no limit)."""
    with instance.session() as session:
        session.execute(update(EmailSubscription).where(
            EmailSubscription.subscription_id == subscription_id,
            EmailSubscription.token_hash == token_hash(token)).values(token_hash=None, token_expires=None))


def _by_token(session: Session, token: str, moment: datetime) -> EmailSubscription:
    """The subscription a live confirmation token belongs to; NotFoundError/UsageError otherwise."""
    row = session.scalar(select(EmailSubscription).where(EmailSubscription.token_hash == token_hash(token)))
    if row is None:
        raise NotFoundError("this confirmation link is unknown or was already used; subscribe again if needed")
    if row.token_expires is None or row.token_expires <= moment:
        raise UsageError("this confirmation link has expired; subscribe again to get a new one")
    return row


def pending_confirmation(instance: Instance, token: str, now: datetime | None = None) -> EmailSubscription:
    """The subscription a confirmation link would confirm, without confirming it (GET pages)."""
    with instance.session() as session:
        return _by_token(session, token, now or utcnow())


def confirm(instance: Instance, token: str, now: datetime | None = None) -> EmailSubscription:
    """Make the subscription active; the token works once and only before it expires."""
    moment = now or utcnow()
    with instance.session() as session:
        row = _by_token(session, token, moment)
        row.token_hash = None  # single use; token_expires stays: it dates the last e-mail (rate limit)
        row.status, row.confirmed_at, row.unsubscribed_at = "active", moment, None
        if row.unsubscribe_hash is None:
            row.unsubscribe_hash = token_hash(unsubscribe_key(instance, row.subscription_id))
        return row


def _end(session: Session, rows: list[EmailSubscription], moment: datetime) -> None:
    """Unsubscribe the rows and cancel their pending deliveries."""
    for row in rows:
        if row.status != "unsubscribed":
            row.status, row.unsubscribed_at, row.token_hash = "unsubscribed", moment, None
    if rows:
        session.execute(update(Delivery).where(
            Delivery.channel == "email", Delivery.status == "pending",
            Delivery.target.in_([r.subscription_id for r in rows])).values(status="cancelled"))


def _by_key(session: Session, key: str) -> EmailSubscription:
    """The subscription an unsubscribe key belongs to; NotFoundError otherwise."""
    row = session.scalar(select(EmailSubscription).where(EmailSubscription.unsubscribe_hash == token_hash(key)))
    if row is None:
        raise NotFoundError("this unsubscribe link is unknown")
    return row


def subscription_for_key(instance: Instance, key: str) -> EmailSubscription:
    """The subscription an unsubscribe link names, unchanged (GET pages)."""
    with instance.session() as session:
        return _by_key(session, key)


def unsubscribe(instance: Instance, key: str, now: datetime | None = None) -> EmailSubscription:
    """One-click unsubscribe by the key in the link (idempotent); NotFoundError for an unknown key."""
    with instance.session() as session:
        row = _by_key(session, key)
        _end(session, [row], now or utcnow())
        return row


def unsubscribe_address(instance: Instance, email: str, now: datetime | None = None) -> int:
    """Cancel every subscription of an address (operator command); returns how many were live."""
    address = normalise_address(email)
    with instance.session() as session:
        rows = list(session.scalars(select(EmailSubscription).where(EmailSubscription.email == address)))
        live = sum(1 for r in rows if r.status != "unsubscribed")
        _end(session, rows, now or utcnow())
        return live


def list_subscriptions(instance: Instance) -> list[EmailSubscription]:
    """Every subscription, oldest first."""
    with instance.session() as session:
        return list(session.scalars(select(EmailSubscription).order_by(EmailSubscription.id)))
