"""The webhook channel: alert events POSTed to receivers' endpoints, signed as Standard Webhooks.

Each request carries ``webhook-id`` (the event id: the same on every retry and re-send, so
receivers dedupe), ``webhook-timestamp`` (the attempt's time, in whole seconds) and
``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body`` under the
endpoint's ``whsec_`` secret; during a rotation the previous secret's signature follows,
space-separated). The body is the event's JSON payload.

One attempt is one POST through the egress client: the address guard is checked at connect
time (DNS can change after the endpoint was registered), the whole attempt is bounded by
`webhook_timeout`, redirects are not followed (a 3xx is a failure) and nothing is retried
inside the attempt: the outbox schedules retries, with backoff honouring ``Retry-After``.
Endpoints whose deliveries keep failing are disabled and their owners told.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import event as orm_event
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from portal.alerts.events import EventView, view_of
from portal.alerts.models import AlertEvent, WebhookEndpoint
from portal.alerts.outbox import Outcome, Outgoing
from portal.alerts.webhook_endpoints import (
    CHANNEL,
    Target,
    cancel_pending,
    filters_of,
    targets,
)
from portal.db import utcnow
from portal.egress import Egress, Reply, retry_after_seconds, user_agent_for
from portal.errors import PortalError, SourceError
from vocab.text import clean_text

if TYPE_CHECKING:
    from portal.instance import Instance

log = logging.getLogger(__name__)

#: 4xx answers that may get better when tried again (RFC 9110 / 6585 / 8470); other 4xx are final.
RETRYABLE_4XX = frozenset({408, 409, 425, 429})
#: Characters of a receiver's answer kept in the delivery log.
EXCERPT_CHARS = 500
_EXCERPT_BYTES = 4 * EXCERPT_CHARS


def body_of(event: EventView) -> bytes:
    """The request body: the event's payload as compact JSON, UTF-8."""
    return json.dumps(event.payload(), separators=(",", ":")).encode("utf-8")


def signed_headers(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt: one ``v1,`` signature per secret, space-separated."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    text = body.decode("utf-8")
    signatures = " ".join(Webhook(secret).sign(message_id, moment, text) for secret in secrets)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signatures,
            "Content-Type": "application/json"}


def outcome_of(status: int, headers: Mapping[str, str], excerpt: str | None, duration_ms: int) -> Outcome:
    """What a receiver's answer means: delivered, worth another try (when), or final."""
    if 200 <= status < 300:
        return Outcome(True, status_code=status, response_excerpt=excerpt, duration_ms=duration_ms)
    if 300 <= status < 400:
        return Outcome(False, status_code=status, response_excerpt=excerpt, duration_ms=duration_ms,
                       error=f"HTTP {status}: a redirect, which webhooks do not follow (register the final URL)")
    final = 400 <= status < 500 and status not in RETRYABLE_4XX
    return Outcome(False, status_code=status, error=f"HTTP {status}", permanent=final,
                   retry_after=None if final else retry_after_seconds(headers.get("Retry-After")),
                   response_excerpt=excerpt, duration_ms=duration_ms)


def _excerpt(reply: Reply) -> str | None:
    """The start of the answer's body, at most `EXCERPT_CHARS` characters (the rest is not read)."""
    taken = bytearray()
    try:
        for chunk in reply.iter_bytes(1024):
            taken += chunk
            if len(taken) >= _EXCERPT_BYTES:
                break
    except PortalError:  # the status is what counts; a body cut short is still an answer
        pass
    # NUL (which a PostgreSQL text column refuses) and other controls shown as U+FFFD, like undecodable bytes
    text = clean_text(taken.decode("utf-8", "replace")[:EXCERPT_CHARS])
    return text or None


def _failure_message(exc: SourceError, url: str) -> str:
    """An egress error as the delivery log shows it."""
    text = str(exc)
    if text.endswith("more than 0 redirects"):
        return (f"{url}: answered with a redirect (3xx), which webhooks do not follow "
                "(register the URL it points to)")
    return text.replace("(http_deadline)", "(webhook_timeout)")


def post(egress: Egress, target: Target, outgoing: Outgoing, body: bytes) -> Outcome:
    """One attempt: sign, POST, and read what the receiver answered (never raises)."""
    headers = signed_headers(target.secrets, outgoing.event.event_id, int(time.time()), body)
    start = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - start) * 1000)

    try:
        with egress.request("POST", target.url, data=body, headers=headers, stream=True) as reply:
            excerpt = _excerpt(reply)
            return outcome_of(reply.status, reply.headers, excerpt, took())
    except SourceError as exc:  # unreachable, timed out, refused by the address guard, redirected
        return Outcome(False, error=_failure_message(exc, target.url), duration_ms=took())
    except Exception as exc:  # a send must give an outcome whatever broke
        log.exception("webhook to %s failed", target.url)
        return Outcome(False, error=f"{type(exc).__name__}: {exc}", duration_ms=took())


class WebhookChannel:
    """Alert events to the enabled webhook endpoints whose filters match, signed, concurrently."""

    name = CHANNEL

    def __init__(self) -> None:
        self._instance: Instance | None = None

    def recipients(self, session: Session, events: Sequence[AlertEvent]) -> dict[int, list[str]]:
        """The enabled endpoints each event matches, by the event's row id."""
        endpoints = [(e.endpoint_id, filters_of(e)) for e in session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id))]
        wanted: dict[int, list[str]] = {}
        for row in events:
            view = view_of(row, "")
            matching = [endpoint_id for endpoint_id, filters in endpoints if filters.matches(view)]
            if matching:
                wanted[row.id] = matching
        return wanted

    def first_attempt(self, session: Session, target: str, event: AlertEvent) -> datetime | None:
        """At once."""
        return None

    def send(self, instance: Instance, outgoing: Sequence[Outgoing]) -> list[Outcome]:
        """POST each delivery to its endpoint, `webhook_workers` at a time; one outcome each, in order."""
        self._instance = instance
        if not outgoing:
            return []
        settings = instance.settings
        # The engine's clock (scenario runs move it) decides whether a rotated-out secret still signs;
        # webhook-timestamp is the wall clock, which receivers check the signature's age against.
        moment = max((o.claimed_at for o in outgoing if o.claimed_at is not None), default=None) or utcnow()
        with instance.session() as session:
            found = targets(session, sorted({o.target for o in outgoing}), moment)
        bodies: dict[str, bytes] = {}
        for item in outgoing:
            if item.event.event_id not in bodies:
                bodies[item.event.event_id] = body_of(item.event)
        timeout = float(settings.webhook_timeout)
        workers = max(1, min(int(settings.webhook_workers), len(outgoing)))
        # No redirects, no retries inside an attempt; the deadline bounds connect, send and answer.
        egress = Egress(connect_timeout=timeout, read_timeout=timeout, deadline=timeout, max_redirects=0,
                        retries=0, max_bytes=None, allow_private_addresses=bool(settings.allow_private_addresses),
                        user_agent=user_agent_for(settings.base_url))

        def one(item: Outgoing) -> Outcome:
            target = found.get(item.target)
            if target is None:
                return Outcome(False, error=f"endpoint {item.target} was removed", permanent=True)
            if not target.enabled:
                return Outcome(False, error=f"endpoint {item.target} is disabled "
                                            f"(`lodestar webhooks enable {item.target}`)", permanent=True)
            return post(egress, target, item, bodies[item.event.event_id])

        # Egress keeps one session (and connection pool) per thread: one per worker here.
        with egress, ThreadPoolExecutor(workers, thread_name_prefix="webhook") as pool:
            return list(pool.map(one, outgoing))

    def record(self, session: Session, results: Sequence[tuple[Outgoing, Outcome, bool]]) -> None:
        """Count each endpoint's deliveries failed in a row; disable those past the limit or gone (410)."""
        involved = {o.target for o, outcome, given_up in results
                    if given_up or outcome.status_code == 410}
        cleared = {o.target for o, outcome, _ in results if outcome.ok} - involved
        if cleared:
            session.execute(update(WebhookEndpoint).where(WebhookEndpoint.endpoint_id.in_(sorted(cleared)),
                                                          WebhookEndpoint.failures_in_row != 0)
                            .values(failures_in_row=0), execution_options={"synchronize_session": False})
        if not involved:
            return
        endpoints = {e.endpoint_id: e for e in session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.endpoint_id.in_(sorted(involved))))}
        limit = int(self._setting("webhook_disable_after", 10))
        notices: list[tuple[str, str, str]] = []
        for outgoing, outcome, given_up in results:
            endpoint = endpoints.get(outgoing.target)
            if endpoint is None or not endpoint.enabled:
                continue
            if outcome.ok:
                endpoint.failures_in_row = 0
                continue
            if given_up:
                endpoint.failures_in_row += 1
            reason = None
            if outcome.status_code == 410:
                reason = "the receiver answered 410 Gone"
            elif endpoint.failures_in_row >= limit:
                reason = (f"{endpoint.failures_in_row} deliveries in a row failed; the last: "
                          f"{outcome.error or outcome.status_code}")
            if reason is not None:
                notice = self._disable(session, endpoint, reason, outgoing.claimed_at or utcnow())
                if notice is not None:
                    notices.append(notice)
        if notices:
            instance = self._instance
            orm_event.listen(session, "after_commit", lambda _: self._notify(instance, notices), once=True)

    def _setting(self, name: str, default: Any) -> Any:
        return getattr(self._instance.settings, name) if self._instance is not None else default

    def _disable(self, session: Session, endpoint: WebhookEndpoint, reason: str,
                 now: datetime) -> tuple[str, str, str] | None:
        """Disable an endpoint and cancel its pending deliveries; returns the owner's notice, if any."""
        endpoint.enabled, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason
        cancelled = cancel_pending(session, endpoint.endpoint_id, "endpoint disabled")
        log.warning("webhook endpoint %s (%s) disabled: %s; %d pending deliveries cancelled",
                    endpoint.endpoint_id, endpoint.url, reason, cancelled)
        if not endpoint.owner_email:
            return None
        site = self._setting("base_url", "") or "Lodestar"
        text = (f"The webhook endpoint {endpoint.endpoint_id} at {endpoint.url} no longer receives freshness "
                f"alerts from {site}.\n\nWhy: {reason}.\n{cancelled} pending deliveries were cancelled.\n\n"
                f"Once the receiver works again, an operator can enable it with\n\n"
                f"    lodestar webhooks enable {endpoint.endpoint_id}\n\n"
                f"and re-send what it missed from the delivery log (`lodestar webhooks log "
                f"{endpoint.endpoint_id}`).\n")
        return endpoint.owner_email, f"Webhook endpoint {endpoint.endpoint_id} disabled", text

    @staticmethod
    def _notify(instance: Instance | None, notices: list[tuple[str, str, str]]) -> None:
        """Tell owners their endpoints were disabled (after the commit: no transaction is open)."""
        if instance is None or not instance.settings.smtp_url:
            for to, subject, _ in notices:
                log.warning("not e-mailing %s (%s): no SMTP server is set (smtp_url)", to, subject)
            return
        try:
            from portal.alerts.mail import send_notice
        except ImportError:
            log.warning("cannot e-mail owners of disabled webhook endpoints: portal.alerts.mail.send_notice "
                        "is not available")
            return
        for to, subject, text in notices:
            try:
                send_notice(instance, to, subject, text)
            except Exception:  # a notice that fails must not break delivery; it is logged
                log.exception("could not e-mail %s that its webhook endpoint was disabled", to)
