"""E-mail alerts against a real SMTP server on loopback (aiosmtpd): double opt-in, one-click unsubscribe
(RFC 8058), immediate and digest delivery, filters, publisher reminders, failures and the web pages."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from portal.alerts.mail import EmailChannel, ReminderChannel, confirm, send_notice, start_subscription, subscribe
from portal.alerts.mail_smtp import parse_smtp_url
from portal.alerts.models import AlertEvent, Delivery, DeliveryAttempt, EmailSubscription
from portal.alerts.outbox import deliver_pending
from portal.alerts.webhook_endpoints import list_endpoints
from portal.alerts.record import write_event
from portal.config import load_settings
from portal.db import Dataset, Source
from portal.errors import ConfigError, NotFoundError, SourceUnavailableError, UsageError
from portal.instance import Instance
from portal.web import create_app
from tests.conftest import free_port
from tests.mail_fixtures import Inbox, Received, dripping_server, running_inbox, smtp_server  # noqa: F401

BASE = "https://alerts.lodestar.test"
ENVI = "http://publications.europa.eu/resource/authority/data-theme/ENVI"
TRAN = "http://publications.europa.eu/resource/authority/data-theme/TRAN"
T0 = datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
CHANNELS = (EmailChannel(), ReminderChannel())


def open_instance(tmp_path: Path, smtp_url: str, name: str = "instance") -> Instance:
    """An instance whose mail goes to `smtp_url`, under an https base URL (RFC 8058 wants https links)."""
    return Instance(load_settings({"instance": str(tmp_path / name), "base_url": BASE,
                                   "allow_private_addresses": True, "smtp_url": smtp_url,
                                   "mail_from": "Lodestar alerts <alerts@lodestar.example>",
                                   "alert_retry_base_seconds": 60}, environ={}))


@pytest.fixture
def mailer(tmp_path: Path, smtp_server: Inbox) -> Iterator[Instance]:
    instance = open_instance(tmp_path, smtp_server.url)
    yield instance
    instance.close()


def add_dataset(instance: Instance, publisher: str, slug: str, *, themes: tuple[str, ...] = (),
                contact: str | None = None) -> None:
    with instance.session() as session:
        source = session.scalar(select(Source).where(Source.name == "s")) or Source(name="s", url="http://x",
                                                                                    kind="dcat")
        metadata: dict[str, Any] = {"themes": list(themes)}
        if contact:
            metadata["contact_email"] = contact
        session.add(Dataset(source=source, publisher=publisher, slug=slug, identifier=slug,
                            title=slug.replace("-", " ").title(), frequency="daily", metadata_json=metadata))


def evidence(changed: datetime) -> dict[str, Any]:
    """Evidence shaped as the freshness watch records it: a daily dataset last changed at `changed`."""
    return {"status": "due", "expected_frequency": {"key": "daily", "label": "daily", "period_days": 1.0},
            "declared_frequency": "daily", "last_content_change": changed.isoformat(),
            "claimed_modified": (changed + timedelta(days=3)).isoformat(),
            "claim": "claims updated 5 Mar 2026; content unchanged since 1 Mar 2026",
            "thresholds": {"due_at": (changed + timedelta(days=1)).isoformat(),
                           "overdue_at": (changed + timedelta(days=2)).isoformat(),
                           "delinquent_at": (changed + timedelta(days=3)).isoformat()},
            "reason": "Expected daily; last content change 1 day ago."}


def add_event(instance: Instance, publisher: str, slug: str, kind: str, at: datetime,
              previous: str | None = None) -> str:
    with instance.session() as session:
        dataset = session.scalar(select(Dataset).where(Dataset.publisher == publisher, Dataset.slug == slug))
        assert dataset is not None
        event = write_event(session, dataset, kind=kind, previous=previous, occurred_at=at,
                            evidence=evidence(at - timedelta(days=1)))
        return event.event_id


def confirmation_token(received: Received) -> str:
    """The token in a confirmation e-mail's link (the one line that is that link)."""
    prefix = f"{BASE}/subscribe/confirm/"
    [line] = [line.strip() for line in received.text.splitlines() if line.strip().startswith(prefix)]
    return line[len(prefix):]


def subscribed(instance: Instance, inbox: Inbox, address: str, now: datetime = T0, **filters: Any) -> str:
    """Subscribe and confirm through the real e-mail; returns the subscription id."""
    before = len(inbox.messages)
    subscribe(instance, address, now=now, **filters)
    [message] = inbox.messages[before:]
    return confirm(instance, confirmation_token(message), now=now).subscription_id


def alerts_to(inbox: Inbox, address: str) -> list[Received]:
    """The alerts and digests one address got (not its confirmation e-mails)."""
    return [m for m in inbox.to(address) if m.message["List-Unsubscribe"] is not None]


def deliveries(instance: Instance, channel: str) -> list[Delivery]:
    with instance.session() as session:
        return list(session.scalars(select(Delivery).where(Delivery.channel == channel).order_by(Delivery.id)))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def app_client(instance: Instance) -> FlaskClient:
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret"}, instance=instance).test_client()


# ---- double opt-in ----------------------------------------------------------------------------------


def test_double_opt_in_end_to_end(mailer: Instance, smtp_server: Inbox) -> None:
    subscription = subscribe(mailer, "Watch@NGO.example", publisher="leeds", theme="ENVI")
    [message] = smtp_server.messages
    assert message.rcpt_tos == ["watch@ngo.example"]
    assert message.message["From"].addresses[0].addr_spec == "alerts@lodestar.example"
    token = confirmation_token(message)
    with mailer.session() as session:
        row = session.scalar(select(EmailSubscription))
        assert row is not None and row.status == "pending" and (row.theme, row.publisher) == (ENVI, "leeds")
        assert row.token_hash == sha256(token)  # only the hash is kept
        assert token not in json.dumps([str(v) for v in vars(row).values()])
    client = app_client(mailer)
    page = client.get(f"/subscribe/confirm/{token}")  # what a mail scanner's prefetch does
    assert page.status_code == 200 and b"watch@ngo.example" in page.data and b"<form method=\"post\"" in page.data
    with mailer.session() as session:
        assert session.scalar(select(EmailSubscription.status)) == "pending"  # GET confirmed nothing
    done = client.post(f"/subscribe/confirm/{token}")
    assert done.status_code == 200 and b"You are subscribed" in done.data
    with mailer.session() as session:
        row = session.scalar(select(EmailSubscription))
        assert row is not None and row.status == "active" and row.token_hash is None
        assert row.subscription_id == subscription.subscription_id
    again = client.post(f"/subscribe/confirm/{token}", headers={"Accept": "application/json"})
    assert again.status_code == 404 and again.get_json()["error"]["code"] == "portal/not-found"
    with pytest.raises(NotFoundError):
        confirm(mailer, token)


def test_an_expired_token_fails(mailer: Instance, smtp_server: Inbox) -> None:
    subscribe(mailer, "late@ngo.example", now=T0)
    token = confirmation_token(smtp_server.messages[0])
    hours = float(mailer.settings.confirm_token_hours)
    with pytest.raises(UsageError, match="expired"):
        confirm(mailer, token, now=T0 + timedelta(hours=hours, seconds=1))
    answer = app_client(mailer).post(f"/subscribe/confirm/{token}", headers={"Accept": "application/json"})
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "portal/usage"
    assert confirm(mailer, token, now=T0 + timedelta(hours=hours - 1)).status == "active"  # still in time


def test_subscribing_again_resends_a_fresh_token_and_never_duplicates(mailer: Instance, smtp_server: Inbox) -> None:
    subscribe(mailer, "twice@ngo.example", dataset="leeds/trees", now=T0)
    subscribe(mailer, "twice@ngo.example", dataset="leeds/trees", now=T0 + timedelta(hours=2))
    first, second = (confirmation_token(m) for m in smtp_server.messages)
    assert first != second
    with pytest.raises(NotFoundError):
        confirm(mailer, first, now=T0 + timedelta(hours=2))  # the old token stopped working
    confirm(mailer, second, now=T0 + timedelta(hours=2))
    subscribe(mailer, "twice@ngo.example", dataset="leeds/trees", now=T0 + timedelta(hours=5))
    assert len(smtp_server.messages) == 2  # already active: nothing sent, nothing added
    with mailer.session() as session:
        assert [s.status for s in session.scalars(select(EmailSubscription))] == ["active"]


def test_confirmation_mails_are_limited_per_address(mailer: Instance, smtp_server: Inbox) -> None:
    reasons = [start_subscription(mailer, "target@ngo.example", publisher=p, now=T0 + timedelta(minutes=i)).reason
               for i, p in enumerate(("a", "b", "c", "d"))]
    assert reasons == ["sent", "sent", "sent", "rate-limited"]
    assert start_subscription(mailer, "target@ngo.example", publisher="a",
                              now=T0 + timedelta(minutes=30)).reason == "rate-limited"
    assert len(smtp_server.to("target@ngo.example")) == 3
    assert start_subscription(mailer, "target@ngo.example", publisher="d",
                              now=T0 + timedelta(minutes=61)).reason == "sent"  # the hour has passed


def test_invalid_addresses_and_filters_are_usage_errors(mailer: Instance, smtp_server: Inbox) -> None:
    for address in ("not-an-address", "a@b@ngo.example", "someone@localhost"):
        with pytest.raises(UsageError):
            subscribe(mailer, address)
    with pytest.raises(UsageError):
        subscribe(mailer, "ok@ngo.example", min_severity="catastrophic")
    with pytest.raises(UsageError):
        subscribe(mailer, "ok@ngo.example", dataset="no-slash")
    with pytest.raises(UsageError):
        subscribe(mailer, "ok@ngo.example", mode="hourly")
    assert smtp_server.messages == []


# ---- delivery ---------------------------------------------------------------------------------------


def test_one_click_unsubscribe_per_rfc_8058(mailer: Instance, smtp_server: Inbox) -> None:
    add_dataset(mailer, "leeds", "trees")
    subscription_id = subscribed(mailer, smtp_server, "reader@ngo.example", publisher="leeds")
    event_id = add_event(mailer, "leeds", "trees", "overdue", T0, previous="due")
    deliver_pending(mailer, CHANNELS, now=T0)
    [alert] = smtp_server.messages[1:]
    message = alert.message
    assert message["Message-ID"] == f"<{event_id}@alerts.lodestar.test>"
    assert alert.raw_headers("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    [link] = alert.raw_headers("List-Unsubscribe")  # as sent: no RFC 2047 encoding a client would not parse
    assert link.startswith("<") and link.endswith(">") and link.count("<") == 1  # exactly one URI: https
    url = urlsplit(link[1:-1])
    assert (url.scheme, url.netloc) == ("https", "alerts.lodestar.test") and url.path.startswith("/unsubscribe/")
    assert "overdue" in alert.text and "https://alerts.lodestar.test/dataset/leeds/trees" in alert.text
    client = app_client(mailer)
    assert client.get(url.path).status_code == 200  # GET shows a button and changes nothing
    with mailer.session() as session:
        assert session.scalar(select(EmailSubscription.status)) == "active"
    one_click = {"data": "List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"}
    assert client.post(url.path, **one_click).status_code == 200
    assert client.post(url.path, **one_click).status_code == 200  # idempotent
    with mailer.session() as session:
        assert session.scalar(select(EmailSubscription.status)) == "unsubscribed"
        key = url.path.rsplit("/", 1)[1]
        assert session.scalar(select(EmailSubscription.unsubscribe_hash)) == sha256(key)
    add_event(mailer, "leeds", "trees", "delinquent", T0 + timedelta(days=1), previous="overdue")
    deliver_pending(mailer, CHANNELS, now=T0 + timedelta(days=1))
    assert len(smtp_server.messages) == 2 and subscription_id
    assert client.post("/unsubscribe/not-a-key").status_code == 404


def test_immediate_and_digest_delivery(mailer: Instance, smtp_server: Inbox) -> None:
    add_dataset(mailer, "leeds", "trees")
    add_dataset(mailer, "leeds", "bins")
    subscribed(mailer, smtp_server, "now@ngo.example", now=T0 - timedelta(days=1))
    subscribed(mailer, smtp_server, "daily@ngo.example", now=T0 - timedelta(days=1), mode="digest")
    first = add_event(mailer, "leeds", "trees", "overdue", T0, previous="due")  # 05:00
    second = add_event(mailer, "leeds", "bins", "delinquent", T0 + timedelta(minutes=30), previous="overdue")
    deliver_pending(mailer, CHANNELS, now=T0 + timedelta(minutes=45))
    assert len(alerts_to(smtp_server, "now@ngo.example")) == 2
    assert alerts_to(smtp_server, "daily@ngo.example") == []
    deliver_pending(mailer, CHANNELS, now=T0.replace(hour=6))
    assert alerts_to(smtp_server, "daily@ngo.example") == []
    deliver_pending(mailer, CHANNELS, now=T0.replace(hour=7))
    [digest] = alerts_to(smtp_server, "daily@ngo.example")
    assert first in digest.text and second in digest.text
    assert digest.raw_headers("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    [link] = digest.raw_headers("List-Unsubscribe")
    assert link.startswith(f"<{BASE}/unsubscribe/") and link.endswith(">")
    assert "2 freshness alerts" in digest.message["Subject"]
    late = add_event(mailer, "leeds", "bins", "fresh", T0.replace(hour=6, minute=30), previous="delinquent")
    deliver_pending(mailer, CHANNELS, now=T0.replace(hour=7, minute=30))  # written after its digest went out
    with mailer.session() as session:
        assert session.scalar(select(EmailSubscription.last_digest_at).where(
            EmailSubscription.email == "daily@ngo.example")) == T0.replace(hour=7)
    third = add_event(mailer, "leeds", "trees", "fresh", T0.replace(hour=8), previous="overdue")
    deliver_pending(mailer, CHANNELS, now=T0.replace(hour=8))
    deliver_pending(mailer, CHANNELS, now=T0.replace(hour=23))
    assert len(alerts_to(smtp_server, "daily@ngo.example")) == 1 and len(alerts_to(smtp_server, "now@ngo.example")) == 4
    deliver_pending(mailer, CHANNELS, now=T0.replace(hour=7) + timedelta(days=1))
    latest = alerts_to(smtp_server, "daily@ngo.example")[-1]
    assert len(alerts_to(smtp_server, "daily@ngo.example")) == 2 and "2 freshness alerts" in latest.message["Subject"]
    assert third in latest.text and late in latest.text and first not in latest.text


def test_a_title_with_line_breaks_cannot_add_headers(mailer: Instance, smtp_server: Inbox) -> None:
    add_dataset(mailer, "leeds", "trees", contact="officer@leeds.example")
    with mailer.session() as session:  # a remote catalogue's title, as harvested
        session.execute(update(Dataset).values(title="Trees\r\nBcc: evil@attacker.example\u2028X-Evil: 1"))
    subscribed(mailer, smtp_server, "now@ngo.example", now=T0 - timedelta(days=1), min_severity="notice")
    add_event(mailer, "leeds", "trees", "due", T0, previous="fresh")
    deliver_pending(mailer, CHANNELS, now=T0)
    [alert] = alerts_to(smtp_server, "now@ngo.example")
    [reminder] = smtp_server.to("officer@leeds.example")
    for message in (alert, reminder):
        assert message.message["Bcc"] is None and message.message["X-Evil"] is None
        assert "Trees Bcc: evil@attacker.example X-Evil: 1" in message.message["Subject"]
    assert smtp_server.to("evil@attacker.example") == []
    assert {d.status for d in deliveries(mailer, "email")} | {d.status for d in deliveries(mailer, "reminder")} == {
        "delivered"}


def test_a_message_that_cannot_be_composed_fails_alone(mailer: Instance, smtp_server: Inbox,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from portal.alerts import mail_text

    add_dataset(mailer, "leeds", "trees")
    add_dataset(mailer, "leeds", "bins")
    subject = mail_text.alert_subject

    def unwritable(event: Any) -> str:  # what a text no e-mail can carry does to the message
        if event.slug == "bins":
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return subject(event)

    monkeypatch.setattr(mail_text, "alert_subject", unwritable)
    subscribed(mailer, smtp_server, "now@ngo.example", now=T0 - timedelta(days=1))
    good = add_event(mailer, "leeds", "trees", "overdue", T0, previous="due")
    add_event(mailer, "leeds", "bins", "overdue", T0, previous="due")
    deliver_pending(mailer, CHANNELS, now=T0)
    [alert] = alerts_to(smtp_server, "now@ngo.example")
    assert good in alert.text
    with mailer.session() as session:
        statuses = {slug: (status, attempts) for slug, status, attempts in session.execute(
            select(AlertEvent.dataset_slug, Delivery.status, Delivery.attempts)
            .join(AlertEvent, AlertEvent.id == Delivery.event_id).where(Delivery.channel == "email"))}
    assert statuses == {"trees": ("delivered", 1), "bins": ("failed", 1)}  # final: not tried again


def test_filters_choose_the_recipients(mailer: Instance, smtp_server: Inbox) -> None:
    add_dataset(mailer, "leeds", "trees", themes=(ENVI,))
    add_dataset(mailer, "leeds", "buses", themes=(TRAN,))
    add_dataset(mailer, "york", "bins", themes=(ENVI,))
    day = timedelta(days=1)
    wants = {"leeds@ngo.example": {"publisher": "leeds"}, "envi@ngo.example": {"theme": "ENVI"},
             "bins@ngo.example": {"dataset": "york/bins"}, "worst@ngo.example": {"min_severity": "critical"},
             "notice@ngo.example": {"min_severity": "notice", "publisher": "york"}}
    for address, filters in wants.items():
        subscribed(mailer, smtp_server, address, now=T0 - day, **filters)
    # one address, two subscriptions matching the same events: still one e-mail per event
    subscribed(mailer, smtp_server, "both@ngo.example", now=T0 - 3 * day, publisher="york")
    subscribed(mailer, smtp_server, "both@ngo.example", now=T0 - 2 * day, theme="ENVI")
    confirmations = len(smtp_server.messages)
    events = [("leeds", "trees", "overdue", "due"), ("leeds", "buses", "delinquent", "overdue"),
              ("york", "bins", "due", "fresh"), ("york", "bins", "overdue", "due"),
              ("leeds", "trees", "fresh", "overdue")]
    ids = [add_event(mailer, p, s, kind, T0 + i * timedelta(minutes=1), previous)
           for i, (p, s, kind, previous) in enumerate(events)]
    deliver_pending(mailer, CHANNELS, now=T0 + timedelta(hours=1))
    got = {address: sorted(ids.index(m.message["Message-ID"][1:].split("@")[0])
                           for m in alerts_to(smtp_server, address))
           for address in [*wants, "both@ngo.example"]}
    assert got == {"leeds@ngo.example": [0, 1, 4], "envi@ngo.example": [0, 3, 4], "bins@ngo.example": [3],
                   "worst@ngo.example": [1], "notice@ngo.example": [2, 3], "both@ngo.example": [0, 3, 4]}
    assert len(smtp_server.messages) - confirmations == sum(len(v) for v in got.values())


def test_many_alerts_at_once_come_in_one_email(mailer: Instance, smtp_server: Inbox) -> None:
    slugs = [f"set-{n}" for n in range(7)]
    for slug in slugs:
        add_dataset(mailer, "leeds", slug)
    subscribed(mailer, smtp_server, "all@ngo.example", now=T0 - timedelta(days=1))
    subscribed(mailer, smtp_server, "two@ngo.example", now=T0 - timedelta(days=1), dataset="leeds/set-0")
    subscribed(mailer, smtp_server, "two@ngo.example", now=T0 - timedelta(days=2), dataset="leeds/set-1")
    ids = [add_event(mailer, "leeds", slug, "overdue", T0, previous="due") for slug in slugs]
    deliver_pending(mailer, CHANNELS, now=T0)
    [bundle] = alerts_to(smtp_server, "all@ngo.example")
    assert bundle.message["Subject"] == "[Lodestar] 7 freshness alerts at once"
    assert all(event_id in bundle.text for event_id in ids)
    assert bundle.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sorted(m.message["Message-ID"] for m in alerts_to(smtp_server, "two@ngo.example")) == sorted(
        f"<{event_id}@alerts.lodestar.test>" for event_id in ids[:2])
    assert {d.status for d in deliveries(mailer, "email")} == {"delivered"} and len(deliveries(mailer, "email")) == 9


def test_no_duplicates_across_two_delivery_rounds(mailer: Instance, smtp_server: Inbox) -> None:
    add_dataset(mailer, "leeds", "trees")
    subscribed(mailer, smtp_server, "once@ngo.example")
    add_event(mailer, "leeds", "trees", "overdue", T0, previous="due")
    deliver_pending(mailer, CHANNELS, now=T0)
    deliver_pending(mailer, CHANNELS, now=T0 + timedelta(hours=1))
    with mailer.session() as session:
        session.execute(update(AlertEvent).values(fanned_out=False))  # a fan-out repeated after a crash
    deliver_pending(mailer, CHANNELS, now=T0 + timedelta(hours=2))
    assert len(alerts_to(smtp_server, "once@ngo.example")) == 1
    assert [d.status for d in deliveries(mailer, "email")] == ["delivered"]


def test_reminders_go_to_the_contact_point_on_due_only(mailer: Instance, smtp_server: Inbox) -> None:
    add_dataset(mailer, "leeds", "trees", contact="mailto:Officer@Leeds.example")
    add_dataset(mailer, "leeds", "bins")  # no contact point: no reminder
    due = add_event(mailer, "leeds", "trees", "due", T0, previous="fresh")
    add_event(mailer, "leeds", "bins", "due", T0, previous="fresh")
    deliver_pending(mailer, CHANNELS, now=T0)
    add_event(mailer, "leeds", "trees", "overdue", T0 + timedelta(days=1), previous="due")
    deliver_pending(mailer, CHANNELS, now=T0 + timedelta(days=1))
    [reminder] = smtp_server.messages
    assert reminder.rcpt_tos == ["officer@leeds.example"]
    assert [d.target for d in deliveries(mailer, "reminder")] == ["officer@leeds.example"]
    text = reminder.text
    overdue_at = T0 + timedelta(days=1)  # evidence(): last change a day before the event, overdue two days after it
    assert f"publicly overdue on {overdue_at:%Y-%m-%d %H:%M} UTC" in text
    assert f"{BASE}/still-current/{due}/" in text and f"{BASE}/dataset/leeds/trees" in text
    assert "claims updated 5 Mar 2026" in text and "daily" in text and due in text
    assert reminder.message["Message-ID"] == f"<{due}.reminder@alerts.lodestar.test>"


def test_a_dataset_that_skipped_due_still_reminds_its_publisher_once(mailer: Instance, smtp_server: Inbox) -> None:
    add_dataset(mailer, "leeds", "trees", contact="officer@leeds.example")
    late = add_event(mailer, "leeds", "trees", "overdue", T0, previous="fresh")  # due fell between two checks
    deliver_pending(mailer, CHANNELS, now=T0)
    add_event(mailer, "leeds", "trees", "delinquent", T0 + timedelta(days=1), previous="overdue")
    deliver_pending(mailer, CHANNELS, now=T0 + timedelta(days=1))
    [reminder] = [m for m in smtp_server.messages if m.message["Message-ID"].endswith(".reminder@alerts.lodestar.test>")]
    assert reminder.rcpt_tos == ["officer@leeds.example"] and late in reminder.text
    assert reminder.message["Subject"] == "[Lodestar] Overdue for an update: Trees (leeds/trees)"
    assert "is now overdue for an update" in reminder.text and "alerted now" in reminder.text
    assert "becomes publicly overdue on" not in reminder.text


def test_the_contact_point_confirms_still_current_with_the_reminders_link(mailer: Instance, smtp_server: Inbox) -> None:
    from portal.alerts.models import FreshnessConfirmation
    from portal.alerts.still_current import BY_LINK, link_url

    add_dataset(mailer, "leeds", "trees", contact="officer@leeds.example")
    now = datetime.now(timezone.utc)
    with mailer.session() as session:  # harvested two days ago, judged due since an hour ago
        session.execute(update(Dataset).values(last_content_change=now - timedelta(days=2), publication_state="published",
                                               freshness_status="due", freshness_since=now - HOUR))
    due = add_event(mailer, "leeds", "trees", "due", now - HOUR, previous="fresh")
    deliver_pending(mailer, CHANNELS, now=now)
    [reminder] = smtp_server.to("officer@leeds.example")
    [link] = [line.strip() for line in reminder.text.splitlines() if "/still-current/" in line]
    assert link.startswith(f"{BASE}/still-current/{due}/") and "lodestar confirm-current" not in reminder.text
    path = urlsplit(link).path
    client = app_client(mailer)

    page = client.get(path)  # a mail scanner's prefetch changes nothing
    assert page.status_code == 200 and b"Yes, the data is still current" in page.data
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    with mailer.session() as session:
        assert session.scalar(select(func.count()).select_from(FreshnessConfirmation)) == 0

    done = client.post(path)
    assert done.status_code == 200 and b"confirmed as still current" in done.data
    with mailer.session() as session:
        [confirmation] = session.scalars(select(FreshnessConfirmation)).all()
        assert (confirmation.confirmed_by, confirmation.note) == (BY_LINK, f"reminder {due}")
        assert session.scalar(select(Dataset.freshness_status)) == "fresh"
        kinds = [k for k, in session.execute(select(AlertEvent.kind).order_by(AlertEvent.id))]
    assert kinds == ["due", "fresh"]  # back to fresh, told to whoever follows it

    again = client.post(path, headers={"Accept": "application/json"})
    assert again.get_json() == {"dataset": "leeds/trees", "status": "fresh", "confirmed": True, "refusal": "used"}
    assert b"Already confirmed" in client.get(path).data
    forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(forged).status_code == 404 and client.post(forged).status_code == 404
    other = add_event(mailer, "leeds", "trees", "due", now, previous="fresh")  # its key is not this one's
    assert client.post(path.replace(due, other)).status_code == 404
    fresh = client.post(urlsplit(link_url(mailer, other)).path)  # a right key, but the dataset is not late now
    assert fresh.status_code == 200 and b"Nothing to confirm" in fresh.data
    with mailer.session() as session:
        session.execute(update(Dataset).values(freshness_status="overdue"))
    old = add_event(mailer, "leeds", "trees", "overdue", now - timedelta(days=61), previous="due")
    expired = client.post(urlsplit(link_url(mailer, old)).path)
    assert expired.status_code == 200 and b"expired" in expired.data and b"lodestar confirm-current leeds/trees" in expired.data
    with mailer.session() as session:
        assert session.scalar(select(func.count()).select_from(FreshnessConfirmation)) == 1


def test_many_reminders_at_once_come_in_one_email(mailer: Instance, smtp_server: Inbox) -> None:
    slugs = [f"set-{n}" for n in range(6)]
    for slug in slugs:
        add_dataset(mailer, "leeds", slug, contact="officer@leeds.example")
    ids = [add_event(mailer, "leeds", slug, "due", T0, previous="fresh") for slug in slugs]
    deliver_pending(mailer, CHANNELS, now=T0)
    [reminder] = smtp_server.messages
    assert reminder.message["Subject"] == "[Lodestar] 6 datasets due for an update"
    assert all(f"Still current? {BASE}/still-current/{event}/" in reminder.text for event in ids)
    assert reminder.text.count(f"Overdue from {T0 + timedelta(days=1):%Y-%m-%d %H:%M} UTC") == len(ids)
    assert [d.status for d in deliveries(mailer, "reminder")] == ["delivered"] * 6


# ---- failures ---------------------------------------------------------------------------------------


def test_smtp_server_down_is_retried_later(tmp_path: Path, smtp_server: Inbox) -> None:
    port = free_port()
    instance = open_instance(tmp_path, f"smtp://127.0.0.1:{port}?timeout=5")
    try:
        add_dataset(instance, "leeds", "trees", contact="officer@leeds.example")
        add_event(instance, "leeds", "trees", "due", T0, previous="fresh")
        round_one = deliver_pending(instance, CHANNELS, now=T0)
        [delivery] = deliveries(instance, "reminder")
        assert (round_one.retrying, delivery.status, delivery.attempts) == (1, "pending", 1)
        assert "unavailable" in (delivery.last_error or "") and delivery.next_attempt_at > T0
        with running_inbox(port) as inbox:
            deliver_pending(instance, CHANNELS, now=T0 + timedelta(hours=1))
            assert [m.rcpt_tos for m in inbox.messages] == [["officer@leeds.example"]]
        [delivery] = deliveries(instance, "reminder")
        assert (delivery.status, delivery.attempts) == ("delivered", 2)
    finally:
        instance.close()


def test_5xx_is_permanent_and_4xx_transient(mailer: Instance, smtp_server: Inbox) -> None:
    add_dataset(mailer, "leeds", "trees", contact="gone@leeds.example")
    add_dataset(mailer, "leeds", "bins", contact="busy@leeds.example")
    smtp_server.refuse = {"gone@leeds.example": "550 5.1.1 no such user",
                          "busy@leeds.example": "452 4.2.2 mailbox full"}
    add_event(mailer, "leeds", "trees", "due", T0, previous="fresh")
    add_event(mailer, "leeds", "bins", "due", T0, previous="fresh")
    tally = deliver_pending(mailer, CHANNELS, now=T0)
    assert (tally.given_up, tally.retrying) == (1, 1)
    by_target = {d.target: d for d in deliveries(mailer, "reminder")}
    assert by_target["gone@leeds.example"].status == "failed"
    assert "550" in (by_target["gone@leeds.example"].last_error or "")
    assert by_target["busy@leeds.example"].status == "pending"
    with mailer.session() as session:
        codes = sorted(code or 0 for code in session.scalars(select(DeliveryAttempt.status_code)))
    assert codes == [452, 550]


def test_send_notice(mailer: Instance, smtp_server: Inbox, tmp_path: Path) -> None:
    send_notice(mailer, "owner@ngo.example", "Your webhook was disabled", "It failed 10 times in a row.")
    [notice] = smtp_server.messages
    assert notice.message["Subject"] == "Your webhook was disabled"
    assert notice.text.strip() == "It failed 10 times in a row." and notice.message["List-Unsubscribe"] is None
    smtp_server.data_reply = "554 5.7.1 rejected"
    with pytest.raises(SourceUnavailableError, match="554"):
        send_notice(mailer, "owner@ngo.example", "again", "text")
    down = open_instance(tmp_path, f"smtp://127.0.0.1:{free_port()}", name="down")
    try:
        with pytest.raises(SourceUnavailableError):
            send_notice(down, "owner@ngo.example", "s", "t")
    finally:
        down.close()
    nothing = open_instance(tmp_path, "", name="nothing")
    try:
        with pytest.raises(ConfigError):
            send_notice(nothing, "owner@ngo.example", "s", "t")
    finally:
        nothing.close()


def test_a_conversation_has_an_overall_deadline(tmp_path: Path) -> None:
    with dripping_server() as url:
        instance = open_instance(tmp_path, url + "?timeout=0.5")
        try:
            with pytest.raises(SourceUnavailableError, match="did not answer within 0.5 s"):
                send_notice(instance, "owner@ngo.example", "s", "t")
        finally:
            instance.close()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # loopback only
def test_smtp_url_parsing_and_percent_decoded_login(tmp_path: Path) -> None:
    server = parse_smtp_url("smtp://us%40er:p%3Ass%20w@mail.example:2525?starttls=1&timeout=7")
    assert (server.host, server.port, server.tls, server.username, server.password, server.timeout) == (
        "mail.example", 2525, "starttls", "us@er", "p:ss w", 7.0)
    assert (parse_smtp_url("smtps://mail.example").port, parse_smtp_url("smtps://mail.example").tls) == (465, "ssl")
    assert parse_smtp_url("smtp://mail.example").port == 25
    for bad in ("http://mail.example", "smtp://", "smtps://h?starttls=1", "smtp://h?timeout=x", "smtp://h?tls=1"):
        with pytest.raises(ConfigError):
            parse_smtp_url(bad)
    with running_inbox(credentials=("us@er", "p:ss w")) as inbox:
        instance = open_instance(tmp_path, f"smtp://us%40er:p%3Ass%20w@127.0.0.1:{inbox.port}")
        try:
            send_notice(instance, "owner@ngo.example", "hello", "text")
            assert inbox.logins == [("us@er", "p:ss w")] and len(inbox.messages) == 1
        finally:
            instance.close()


def test_starttls_and_smtps_verify_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller

    from portal.alerts.mail_smtp import build_message, send_all

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    message = build_message("alerts@lodestar.example", "tls@ngo.example", "s", "t")
    starttls = Inbox()
    plain = Controller(starttls, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True)
    implicit_inbox = Inbox()
    implicit = Controller(implicit_inbox, hostname="127.0.0.1", port=free_port(), ssl_context=context)
    plain.start()
    implicit.start()
    try:
        untrusted = send_all(parse_smtp_url(f"smtp://localhost:{plain.port}?starttls=1"), [message])
        assert not untrusted[0].ok and "CERTIFICATE_VERIFY_FAILED" in (untrusted[0].error or "")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now our test CA is trusted
        assert send_all(parse_smtp_url(f"smtp://localhost:{plain.port}?starttls=1"), [message])[0].ok
        refused = send_all(parse_smtp_url(f"smtp://localhost:{plain.port}"), [message])[0]  # no STARTTLS
        assert (refused.ok, refused.status_code, refused.permanent) == (False, 530, False)
        assert send_all(parse_smtp_url(f"smtps://localhost:{implicit.port}"), [message])[0].ok
        assert len(starttls.messages) == 1 and len(implicit_inbox.messages) == 1
    finally:
        plain.stop()
        implicit.stop()


# ---- CLI --------------------------------------------------------------------------------------------


def test_cli_subscribe_list_and_unsubscribe(cli_env: Path, smtp_server: Inbox, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from portal.cli import main

    assert main(["subscribe", "nobody"]) == 2  # no SMTP server configured
    monkeypatch.setenv("LODESTAR_SMTP_URL", smtp_server.url)
    assert main(["subscribe", "not an address"]) == 2
    assert main(["subscribe", "cli@ngo.example", "--publisher", "leeds", "--digest"]) == 0
    assert "confirmation e-mail was sent to cli@ngo.example" in capsys.readouterr().out
    assert smtp_server.to("cli@ngo.example")
    assert main(["subscriptions", "list", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["email"], row["status"], row["mode"], row["publisher"]) == ("cli@ngo.example", "pending", "digest",
                                                                          "leeds")
    assert main(["unsubscribe", "CLI@ngo.example"]) == 0
    assert "1 subscription of CLI@ngo.example cancelled" in capsys.readouterr().out
    assert main(["subscriptions", "list"]) == 0
    assert re.search(r"sub_\w+\s+unsubscribed\s+cli@ngo.example", capsys.readouterr().out)


# ---- web --------------------------------------------------------------------------------------------


def test_subscribe_page_and_its_json_twin(mailer: Instance) -> None:
    add_dataset(mailer, "leeds", "trees", themes=(ENVI,))
    client = app_client(mailer)
    page = client.get("/subscribe?publisher=leeds")
    assert page.status_code == 200 and b"Environment" in page.data and b'name="csrf_token"' in page.data
    assert f"{BASE}/alerts.atom?publisher=leeds".encode() in page.data
    twin = client.get("/subscribe.json?publisher=leeds&theme=ENVI&dataset=leeds/trees").get_json()
    assert [f["url"] for f in twin["feeds"]] == [
        f"{BASE}/alerts.atom", f"{BASE}/alerts.atom?publisher=leeds",
        f"{BASE}/alerts.atom?theme=http%3A%2F%2Fpublications.europa.eu%2Fresource%2Fauthority%2Fdata-theme%2FENVI",
        f"{BASE}/alerts.atom?dataset=leeds%2Ftrees"]
    assert twin["publishers"] == ["leeds"] and twin["themes"] == [{"iri": ENVI, "label": "Environment"}]
    bad = client.get("/subscribe.json?min_severity=loud")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "portal/usage"


def csrf_token(client: FlaskClient, form: str) -> str:
    html = client.get("/subscribe").get_data(as_text=True)
    action = f'action="/subscribe/{form}"'
    section = html[html.index(action):]
    return section.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_email_form_answers_alike_for_new_and_known_addresses(mailer: Instance, smtp_server: Inbox) -> None:
    subscribed(mailer, smtp_server, "known@ngo.example", now=datetime.now(timezone.utc) - timedelta(days=1))
    client = app_client(mailer)
    token = csrf_token(client, "email")
    answers = [client.post("/subscribe/email", data={"csrf_token": token, "email": address, "min_severity": "warning"})
               for address in ("known@ngo.example", "new@ngo.example")]
    assert [a.status_code for a in answers] == [202, 202] and answers[0].data == answers[1].data
    assert len(smtp_server.to("new@ngo.example")) == 1 and len(smtp_server.to("known@ngo.example")) == 1
    forged = client.post("/subscribe/email", data={"email": "victim@ngo.example"},
                         headers={"Accept": "application/json"})
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "http/403"
    bad = client.post("/subscribe/email", json={"email": "nope"}, headers={"Accept": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "portal/usage"
    assert client.post("/subscribe/email", json={"email": "api@ngo.example", "mode": "digest"}).status_code == 202
    assert smtp_server.to("api@ngo.example") and smtp_server.to("victim@ngo.example") == []


def test_email_form_without_smtp_is_404(tmp_path: Path) -> None:
    instance = open_instance(tmp_path, "")
    try:
        client = app_client(instance)
        assert b"This portal sends no e-mail" in client.get("/subscribe").data
        answer = client.post("/subscribe/email", json={"email": "a@ngo.example"},
                             headers={"Accept": "application/json"})
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "portal/not-found"
    finally:
        instance.close()


def test_webhook_form_shows_the_secret_once(mailer: Instance) -> None:
    from standardwebhooks.webhooks import Webhook

    client = app_client(mailer)
    token = csrf_token(client, "webhook")
    page = client.post("/subscribe/webhook", data={"csrf_token": token, "url": "http://127.0.0.1:9/hook",
                                                   "publisher": "leeds", "min_severity": "warning"})
    assert page.status_code == 201 and page.headers["Cache-Control"] == "no-store"
    secret = page.get_data(as_text=True).split('<code class="secret">', 1)[1].split("<", 1)[0]
    Webhook(secret)  # a well-formed whsec_ secret
    assert secret.startswith("whsec_")
    api = client.post("/subscribe/webhook", json={"url": "http://127.0.0.1:9/other", "theme": "TRAN"})
    assert api.status_code == 201 and api.get_json()["endpoint_id"].startswith("ep_")
    assert client.post("/subscribe/webhook", json={"url": "ftp://x.example/"}).status_code == 400
    assert client.post("/subscribe/webhook", data={"url": "http://127.0.0.1:9/h"}).status_code == 403


def test_hostile_subscription_fields_are_refused_and_nothing_is_added(mailer: Instance, smtp_server: Inbox) -> None:
    client = app_client(mailer)
    hook = "http://127.0.0.1:9/hook"
    for body in ({"url": hook + "\u0000x"}, {"url": "http://127.0.0.1:9/a b"}, {"url": [hook]},
                 {"url": hook, "owner_email": {"x": 1}}, {"url": hook, "publisher": ["leeds"]},
                 {"url": hook, "description": "line\u0000"}, {"url": hook, "description": "x" * 501},
                 {"url": hook, "theme": "http://themes.example/\u0007"}, {"url": hook, "min_severity": 3}):
        answer = client.post("/subscribe/webhook", json=body)  # NUL is refused before the form is read
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] in ("portal/usage", "http/400"), body
    assert list_endpoints(mailer) == []
    for body in ({"email": ["a@ngo.example"]}, {"email": "a@ngo.example", "mode": "weekly"},
                 {"email": "a@ngo.example\u0000"}, {"email": "a@ngo.example", "dataset": {"leeds": "trees"}}):
        answer = client.post("/subscribe/email", json=body)
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] in ("portal/usage", "http/400"), body
    assert smtp_server.messages == []
