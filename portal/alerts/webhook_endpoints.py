"""Webhook endpoints: registering them (URL and filters checked), listing, removing, rotating secrets.

An endpoint is a receiver's URL with the filters it asked for and a ``whsec_…`` signing secret
(Standard Webhooks). The secret is shown once, when it is made; listings mask it. A rotation
keeps the previous secret signing beside the new one for `ROTATION_GRACE`, so a receiver can
switch without losing a message.
"""

from __future__ import annotations

import base64
import secrets
import socket
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from portal.alerts.events import SEVERITIES, Filters
from portal.alerts.models import Delivery, DeliveryAttempt, WebhookEndpoint
from portal.db import utcnow
from portal.errors import NotFoundError, SourceUnavailableError, UsageError
from portal.netguard import any_address, public_address_refusal, refused_address
from vocab.authority import EU_AUTHORITY
from vocab.authority.match import theme as eu_theme
from vocab.text import first_unprintable
from vocab.uris import slugify

if TYPE_CHECKING:
    from portal.instance import Instance

#: The delivery channel name webhook deliveries carry.
CHANNEL = "webhook"
#: How long a rotated-out secret keeps signing beside the new one.
ROTATION_GRACE = timedelta(hours=24)
SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2000
MAX_DESCRIPTION_LENGTH = 500


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def mask_secret(secret: str | None) -> str | None:
    """A secret as listings show it: the prefix and its last four characters."""
    return None if not secret else f"{SECRET_PREFIX}…{secret[-4:]}"


def check_url(url: str, *, allow_private_addresses: bool) -> str:
    """`url` if it may receive webhooks: http(s), a host, no credentials, an address the guard allows.

    Raises `UsageError` for a malformed or refused URL, `SourceUnavailableError` when its host
    name does not resolve. The egress guard checks the address again at every send.
    """
    text = url.strip()
    if len(text) > MAX_URL_LENGTH:
        raise UsageError(f"webhook URL is longer than {MAX_URL_LENGTH} characters")
    _check_iri_characters(text, "webhook URL")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise UsageError(f"webhook URL {text!r} must be an http or https URL")
    if not parts.hostname:
        raise UsageError(f"webhook URL {text!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise UsageError("webhook URL must not carry credentials (user:password@); receivers verify "
                         "the signature instead")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise UsageError(f"webhook URL {text!r}: {exc}") from None
    policy = any_address if allow_private_addresses else public_address_refusal
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SourceUnavailableError(f"webhook URL {text!r}: cannot resolve {parts.hostname}: {exc}") from exc
    refused = refused_address(infos, policy)
    if refused is not None:
        raise UsageError(f"webhook URL {text!r}: {parts.hostname} is at {refused[0]}, a {refused[1]} address; "
                         "webhooks go to public addresses only (allow_private_addresses lifts this)")
    return text


def _check_iri_characters(text: str, what: str) -> None:
    """Refuse spaces, control characters and noncharacters, which no URL or IRI holds (RFC 3986, 3987)."""
    bad = first_unprintable(text, space=False)
    if bad is not None:
        raise UsageError(f"{what} {text!r} holds {unicodedata.name(bad, f'U+{ord(bad):04X}')}, "
                         "which no URL may (percent-encode it)")


def _check_description(text: str) -> str:
    """A description an owner gives an endpoint: one line of printable text, at most 500 characters."""
    text = text.strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise UsageError(f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")
    if first_unprintable(text) is not None:
        raise UsageError(f"description {text!r} holds control characters; give one line of text")
    return text


def _check_theme(value: str) -> str:
    """A theme filter as the IRI datasets carry: an EU data theme's code, label or IRI, or another IRI."""
    concept = eu_theme(value)
    if concept is not None:
        return concept.uri
    text = value.strip()
    _check_iri_characters(text, "theme")
    parts = urlsplit(text)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        if text.split("://", 1)[1].lower().startswith(f"{EU_AUTHORITY}data-theme/".split("://", 1)[1]):
            raise UsageError(f"theme {text!r} is not in the EU data-theme table")
        return text
    raise UsageError(f"theme {value!r} is neither an EU data theme (a code such as ENVI, or its IRI) nor an IRI")


def _check_slug(value: str, what: str) -> str:
    if not value or slugify(value) != value:
        raise UsageError(f"{what} {value!r} must be a slug such as {slugify(value or '-')!r}")
    return value


def check_filters(*, publisher: str | None = None, theme: str | None = None, dataset: str | None = None,
                  min_severity: str = "warning") -> Filters:
    """The filters of a subscription, checked and normalised (theme codes become IRIs).

    Publishers and datasets need not exist yet (a watchdog may subscribe before a first
    harvest), but must be well-formed: a publisher slug, and ``publisher/slug``.
    """
    if min_severity not in SEVERITIES:
        raise UsageError(f"severity {min_severity!r} is not one of {', '.join(SEVERITIES)}")
    if publisher is not None:
        _check_slug(publisher, "publisher")
    if dataset is not None:
        owner, _, slug = dataset.partition("/")
        if not slug or "/" in slug:
            raise UsageError(f"dataset {dataset!r} must be given as PUBLISHER/SLUG")
        _check_slug(owner, "dataset publisher")
        _check_slug(slug, "dataset slug")
        if publisher is not None and owner != publisher:
            raise UsageError(f"dataset {dataset!r} is not published by {publisher!r}: no event could match")
    return Filters(publisher=publisher, theme=_check_theme(theme) if theme is not None else None,
                   dataset=dataset, min_severity=min_severity)


def _check_email(address: str) -> str:
    try:
        return str(validate_email(address, check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise UsageError(f"owner e-mail {address!r}: {exc}") from None


def filters_of(endpoint: WebhookEndpoint) -> Filters:
    """The filters an endpoint was registered with."""
    return Filters(endpoint.publisher, endpoint.theme, endpoint.dataset, endpoint.min_severity)


def add_endpoint(instance: Instance, url: str, *, publisher: str | None = None, theme: str | None = None,
                 dataset: str | None = None, min_severity: str = "warning", owner_email: str | None = None,
                 description: str = "") -> tuple[str, str]:
    """Register a webhook endpoint; returns its id and its signing secret (shown only this once)."""
    filters = check_filters(publisher=publisher, theme=theme, dataset=dataset, min_severity=min_severity)
    owner = _check_email(owner_email) if owner_email else None
    description = _check_description(description)
    target = check_url(url, allow_private_addresses=bool(instance.settings.allow_private_addresses))
    endpoint_id, secret = "ep_" + secrets.token_hex(12), new_secret()
    with instance.session() as session:
        session.add(WebhookEndpoint(
            endpoint_id=endpoint_id, url=target, secret=secret, publisher=filters.publisher,
            theme=filters.theme, dataset=filters.dataset, min_severity=filters.min_severity,
            owner_email=owner, description=description or "", enabled=True, failures_in_row=0))
    return endpoint_id, secret


def get_endpoint(session: Session, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint with this id, or `NotFoundError`."""
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.endpoint_id == endpoint_id))
    if endpoint is None:
        raise NotFoundError(f"no webhook endpoint {endpoint_id!r}")
    return endpoint


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def endpoint_summary(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> dict[str, Any]:
    """An endpoint as plain data, its secrets masked."""
    rotating = endpoint.previous_secret is not None and endpoint.previous_until is not None and (
        endpoint.previous_until > (now or utcnow()))
    return {
        "id": endpoint.endpoint_id, "url": endpoint.url, "enabled": endpoint.enabled,
        "publisher": endpoint.publisher, "theme": endpoint.theme, "dataset": endpoint.dataset,
        "min_severity": endpoint.min_severity, "owner_email": endpoint.owner_email,
        "description": endpoint.description, "secret": mask_secret(endpoint.secret),
        "previous_secret_until": _iso(endpoint.previous_until) if rotating else None,
        "failures_in_row": endpoint.failures_in_row, "disabled_at": _iso(endpoint.disabled_at),
        "disabled_reason": endpoint.disabled_reason, "created_at": _iso(endpoint.created_at),
    }


def list_endpoints(instance: Instance) -> list[dict[str, Any]]:
    """Every endpoint, oldest first, as plain data with secrets masked."""
    with instance.session() as session:
        rows = session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
        return [endpoint_summary(e) for e in rows]


def cancel_pending(session: Session, endpoint_id: str, reason: str) -> int:
    """Cancel the endpoint's pending deliveries (claimed ones too); returns how many."""
    result = session.execute(
        update(Delivery).where(Delivery.channel == CHANNEL, Delivery.target == endpoint_id,
                               Delivery.status == "pending")
        .values(status="cancelled", claimed_until=None, last_error=reason),
        execution_options={"synchronize_session": "fetch"})
    return int(getattr(result, "rowcount", 0) or 0)


def remove_endpoint(instance: Instance, endpoint_id: str) -> int:
    """Delete an endpoint and cancel its pending deliveries (its delivery log stays); returns them."""
    with instance.session() as session:
        endpoint = get_endpoint(session, endpoint_id)
        cancelled = cancel_pending(session, endpoint_id, "endpoint removed")
        session.delete(endpoint)
    return cancelled


def rotate_secret(instance: Instance, endpoint_id: str, *, now: datetime | None = None) -> str:
    """Give an endpoint a new secret; the current one keeps signing beside it for `ROTATION_GRACE`."""
    moment = now or utcnow()
    with instance.session() as session:
        endpoint = get_endpoint(session, endpoint_id)
        secret = new_secret()
        endpoint.previous_secret, endpoint.previous_until = endpoint.secret, moment + ROTATION_GRACE
        endpoint.secret = secret
    return secret


def enable_endpoint(instance: Instance, endpoint_id: str) -> None:
    """Enable an endpoint again (after its receiver was fixed); its failure count starts afresh."""
    with instance.session() as session:
        endpoint = get_endpoint(session, endpoint_id)
        endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = True, None, None
        endpoint.failures_in_row = 0


@dataclass(frozen=True)
class Target:
    """What sending to one endpoint needs, detached from the database."""

    endpoint_id: str
    url: str
    secrets: tuple[str, ...]  # the current secret first; the previous one during a rotation
    enabled: bool


def targets(session: Session, endpoint_ids: list[str], now: datetime) -> dict[str, Target]:
    """The send targets of these endpoints (missing ids are left out: removed endpoints)."""
    found: dict[str, Target] = {}
    for start in range(0, len(endpoint_ids), 500):
        chunk = endpoint_ids[start:start + 500]
        for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.endpoint_id.in_(chunk))):
            keys = [e.secret]
            if e.previous_secret and e.previous_until is not None and e.previous_until > now:
                keys.append(e.previous_secret)
            found[e.endpoint_id] = Target(e.endpoint_id, e.url, tuple(keys), e.enabled)
    return found


def delivery_log(instance: Instance, endpoint_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """The endpoint's latest deliveries, newest first, each with every attempt (a removed endpoint's too)."""
    with instance.session() as session:
        known = session.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.endpoint_id == endpoint_id))
        deliveries = list(session.scalars(
            select(Delivery).where(Delivery.channel == CHANNEL, Delivery.target == endpoint_id)
            .order_by(Delivery.id.desc()).limit(max(limit, 0)).options(selectinload(Delivery.event))))
        if known is None and not deliveries:
            raise NotFoundError(f"no webhook endpoint {endpoint_id!r}")
        tries: dict[int, list[dict[str, Any]]] = {d.id: [] for d in deliveries}
        for attempt in session.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id.in_(list(tries))).order_by(DeliveryAttempt.id)):
            tries[attempt.delivery_id].append({
                "at": attempt.attempted_at.isoformat(), "status_code": attempt.status_code,
                "duration_ms": attempt.duration_ms, "ok": attempt.ok, "error": attempt.error,
                "manual": attempt.manual, "response_excerpt": attempt.response_excerpt})
        return [{"delivery": d.id, "event": d.event.event_id, "kind": d.event.kind,
                 "dataset": f"{d.event.publisher}/{d.event.dataset_slug}", "status": d.status,
                 "created_at": _iso(d.created_at), "next_attempt_at": _iso(d.next_attempt_at),
                 "delivered_at": _iso(d.delivered_at), "last_error": d.last_error, "attempts": tries[d.id]}
                for d in deliveries]
