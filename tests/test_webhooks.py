"""Signed alert webhooks against a real receiver on loopback that checks every signature itself.

The receiver verifies with `standardwebhooks.Webhook(secret).verify` (the reference library, not
Lodestar's signing code) and records what arrived; expectations are written out by hand.
"""

from __future__ import annotations

import email.utils
import http.server
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from portal.alerts.models import Delivery, DeliveryAttempt, WebhookEndpoint
from portal.alerts.outbox import _claim, deliver_pending, fan_out, resend
from portal.alerts.record import write_event
from portal.alerts.webhook_endpoints import (
    add_endpoint,
    enable_endpoint,
    list_endpoints,
    remove_endpoint,
    rotate_secret,
)
from portal.alerts.webhooks import WebhookChannel
from portal.cli import main
from portal.config import load_settings
from portal.db import Dataset, Source, utcnow
from portal.errors import SourceUnavailableError, UsageError
from portal.instance import Instance
from tests.conftest import BASE_URL, serve_http
from tests.mail_fixtures import Inbox, smtp_server  # noqa: F401  (a fixture)
from tests.test_migrations import postgres, postgres_database  # noqa: F401  (a fixture, and its helper)

EU_THEME = "http://publications.europa.eu/resource/authority/data-theme/"


# -- the receiver -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What the receiver answers one request with."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    stall: float = 0.0  # seconds to wait (until released) before answering


@dataclass(frozen=True)
class Hit:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    def verify(self, secret: str) -> dict[str, Any]:
        """The payload, if the reference library accepts the signature under `secret` (else it raises)."""
        data: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return data


class Receiver:
    """Records requests; `rule(path, payload, earlier hits on the path)` decides each answer."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.rule: Callable[[str, dict[str, Any], int], Answer] = lambda path, payload, n: Answer()

    def on(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    earlier = sum(1 for h in receiver.hits if h.path == self.path)
                    receiver.hits.append(Hit(self.path, dict(self.headers.items()), body))
                answer = receiver.rule(self.path, json.loads(body or b"{}"), earlier)
                if answer.stall:
                    receiver.release.wait(answer.stall)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):  # the sender gave up waiting (timeout test)
                    self.close_connection = True

            do_GET = do_POST  # a followed redirect would arrive as a GET: it is recorded too

        return Handler


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    """A receiver on loopback: (base URL, receiver)."""
    recorder = Receiver()
    try:
        with serve_http(recorder.handler()) as (url, _):
            yield url, recorder
            recorder.release.set()
    finally:
        recorder.release.set()


# -- instances, datasets, events ----------------------------------------------------------------------

@pytest.fixture
def make_instance(tmp_path: Path) -> Iterator[Callable[..., Instance]]:
    """Open an instance (the same folder each time) with settings overridden; all closed at the end."""
    opened: list[Instance] = []

    def make(**overrides: Any) -> Instance:
        settings = load_settings({"instance": str(tmp_path / "instance"), "base_url": BASE_URL,
                                  "allow_private_addresses": True, **overrides}, environ={})
        opened.append(Instance(settings))
        return opened[-1]

    yield make
    for instance in opened:
        instance.close()


def add_dataset(instance: Instance, publisher: str, slug: str, themes: list[str]) -> int:
    """A dataset row (and its source); returns its id."""
    with instance.session() as session:
        source = session.scalar(select(Source).where(Source.name == "s"))
        if source is None:
            source = Source(name="s", url="http://x", kind="dcat")
            session.add(source)
        dataset = Dataset(source=source, publisher=publisher, slug=slug, identifier=slug,
                          title=f"{publisher} {slug}", frequency="daily",
                          metadata_json={"themes": themes, "contact_email": f"officer@{publisher}.example"})
        session.add(dataset)
        session.flush()
        return dataset.id


def add_event(instance: Instance, dataset_id: int, kind: str, previous: str | None = None,
              when: datetime | None = None) -> str:
    """An alert event about the dataset; returns its public id."""
    with instance.session() as session:
        event = write_event(session, session.get_one(Dataset, dataset_id), kind=kind, previous=previous,
                            occurred_at=when or utcnow())
        session.flush()
        return event.event_id


def deliveries(instance: Instance, endpoint_id: str) -> list[Delivery]:
    """The endpoint's deliveries, oldest first."""
    with instance.session() as session:
        return list(session.scalars(select(Delivery).where(Delivery.target == endpoint_id).order_by(Delivery.id)))


def attempts(instance: Instance, delivery_id: int) -> list[DeliveryAttempt]:
    """A delivery's attempts, oldest first."""
    with instance.session() as session:
        return list(session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == delivery_id)
                                    .order_by(DeliveryAttempt.id)))


def endpoint(instance: Instance, endpoint_id: str) -> WebhookEndpoint:
    """The endpoint row."""
    with instance.session() as session:
        return session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.endpoint_id == endpoint_id)).one()


def deliver(instance: Instance, now: datetime) -> None:
    """One delivery round by the webhook channel alone."""
    deliver_pending(instance, [WebhookChannel()], now=now)


# -- filters ------------------------------------------------------------------------------------------

def test_each_endpoint_gets_the_events_its_filters_let_through(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    instance = make_instance()
    trees = add_dataset(instance, "leeds", "trees", [EU_THEME + "TRAN"])
    bins = add_dataset(instance, "york", "bins", [EU_THEME + "ENVI"])
    added = {
        "all": add_endpoint(instance, f"{url}/all", min_severity="info"),
        "leeds": add_endpoint(instance, f"{url}/leeds", publisher="leeds"),
        "envi": add_endpoint(instance, f"{url}/envi", theme="ENVI", min_severity="notice"),
        "trees": add_endpoint(instance, f"{url}/trees", dataset="leeds/trees", min_severity="critical"),
        "york": add_endpoint(instance, f"{url}/york", publisher="york"),
    }
    t0 = utcnow()
    add_event(instance, trees, "overdue", "fresh")          # warning
    add_event(instance, bins, "due", "fresh")               # notice
    add_event(instance, trees, "delinquent", "overdue")     # critical
    add_event(instance, trees, "fresh", "delinquent")       # recovery from a critical status
    add_event(instance, bins, "fresh", "due")               # recovery from a notice
    deliver(instance, t0)

    expected = {
        "all": {("dataset.overdue", "leeds/trees"), ("dataset.due", "york/bins"),
                ("dataset.delinquent", "leeds/trees"), ("dataset.fresh", "leeds/trees"),
                ("dataset.fresh", "york/bins")},
        "leeds": {("dataset.overdue", "leeds/trees"), ("dataset.delinquent", "leeds/trees"),
                  ("dataset.fresh", "leeds/trees")},
        "envi": {("dataset.due", "york/bins"), ("dataset.fresh", "york/bins")},
        "trees": {("dataset.delinquent", "leeds/trees"), ("dataset.fresh", "leeds/trees")},
        "york": set(),
    }
    for name, wanted in expected.items():
        endpoint_id, secret = added[name]
        got = [(p["type"], p["data"]["dataset"]) for p in (h.verify(secret) for h in hits.on(f"/{name}"))]
        assert len(got) == len(set(got)) and set(got) == wanted, name
        assert [d.status for d in deliveries(instance, endpoint_id)] == ["delivered"] * len(wanted)
    # The theme given as a code is kept as the IRI datasets carry.
    assert endpoint(instance, added["envi"][0]).theme == EU_THEME + "ENVI"


def test_filters_are_checked_when_an_endpoint_is_added(make_instance: Callable[..., Instance]) -> None:
    instance = make_instance()
    good = "http://127.0.0.1:9/hook"
    for bad in (dict(min_severity="urgent"), dict(publisher="Leeds City"), dict(dataset="leeds"),
                dict(dataset="leeds/trees/x"), dict(publisher="york", dataset="leeds/trees"),
                dict(theme="Not a theme at all"), dict(theme=EU_THEME + "NOPE"),
                dict(owner_email="not an address")):
        with pytest.raises(UsageError):
            add_endpoint(instance, good, **bad)
    # A publisher that has published nothing yet may be watched; a theme may be a label or an IRI.
    endpoint_id, _ = add_endpoint(instance, good, publisher="not-harvested-yet", theme="Environment")
    assert endpoint(instance, endpoint_id).theme == EU_THEME + "ENVI"
    other, _ = add_endpoint(instance, good, theme="https://themes.example/parks")
    assert endpoint(instance, other).theme == "https://themes.example/parks"


def test_urls_are_checked_when_an_endpoint_is_added(make_instance: Callable[..., Instance]) -> None:
    instance = make_instance()
    for bad in ("ftp://hooks.example/x", "hooks.example/x", "http:///x", "https://user:pw@127.0.0.1/x",
                "http://127.0.0.1:99999/x"):
        with pytest.raises(UsageError):
            add_endpoint(instance, bad)
    with pytest.raises(SourceUnavailableError):
        add_endpoint(instance, "https://hooks.invalid/x")
    guarded = make_instance(allow_private_addresses=False)
    for private in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://10.1.2.3/x", "http://[::1]/x"):
        with pytest.raises(UsageError, match="address"):
            add_endpoint(guarded, private)
    with guarded.session() as session:
        assert session.scalars(select(WebhookEndpoint)).all() == []


# -- signatures ---------------------------------------------------------------------------------------

def test_signatures_verify_and_both_secrets_sign_during_a_rotation(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    instance = make_instance()
    trees = add_dataset(instance, "leeds", "trees", [])
    endpoint_id, first = add_endpoint(instance, f"{url}/hook")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", first)
    event_one = add_event(instance, trees, "overdue", "fresh")
    deliver(instance, utcnow())
    [hit] = hits.on("/hook")
    assert hit.verify(first)["id"] == event_one
    assert hit.headers["webhook-id"] == event_one and hit.headers["Content-Type"] == "application/json"
    assert hit.headers["User-Agent"].startswith("Lodestar/") and BASE_URL in hit.headers["User-Agent"]
    assert hit.headers["webhook-timestamp"].isdigit()
    assert abs(int(hit.headers["webhook-timestamp"]) - utcnow().timestamp()) < 300
    assert hit.headers["webhook-signature"].count("v1,") == 1

    second = rotate_secret(instance, endpoint_id)
    assert second != first
    add_event(instance, trees, "delinquent", "overdue")
    deliver(instance, utcnow())
    rotated = hits.on("/hook")[1]
    assert rotated.headers["webhook-signature"].count("v1,") == 2
    assert rotated.verify(second)["type"] == "dataset.delinquent"
    assert rotated.verify(first)["type"] == "dataset.delinquent"  # the receiver may not have switched yet

    later = utcnow() + timedelta(hours=24, minutes=1)  # the grace period is over
    add_event(instance, trees, "fresh", "delinquent", when=later)
    deliver(instance, later)
    last = hits.on("/hook")[2]
    assert last.verify(second)["type"] == "dataset.fresh"
    with pytest.raises(WebhookVerificationError):
        last.verify(first)


# -- answers and retries ------------------------------------------------------------------------------

def test_a_503_is_retried_no_sooner_than_its_retry_after(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    hits.rule = lambda path, payload, n: Answer(503, {"Retry-After": "600"}) if n == 0 else Answer()
    instance = make_instance()
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook")
    event_id = add_event(instance, add_dataset(instance, "leeds", "trees", []), "overdue")
    t0 = utcnow()
    deliver(instance, t0)
    [delivery] = deliveries(instance, endpoint_id)
    # Without Retry-After the first wait is at most alert_retry_base_seconds (30 s).
    assert delivery.status == "pending" and delivery.next_attempt_at >= t0 + timedelta(seconds=600)
    deliver(instance, t0 + timedelta(seconds=300))
    assert len(hits.on("/hook")) == 1
    deliver(instance, delivery.next_attempt_at)
    assert [h.headers["webhook-id"] for h in hits.on("/hook")] == [event_id, event_id]
    [delivery] = deliveries(instance, endpoint_id)
    assert delivery.status == "delivered"
    assert [(a.status_code, a.ok) for a in attempts(instance, delivery.id)] == [(503, False), (200, True)]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_hostile_answer_is_logged_and_retried(database: str, make_instance: Callable[..., Instance],
                                                receiver: tuple[str, Receiver], request: pytest.FixtureRequest) -> None:
    url, hits = receiver
    hostile = Answer(500, {"Retry-After": "²"}, b"oops\x00\xff\xfe" + b"\x00" * 5000)
    hits.rule = lambda path, payload, n: hostile if n == 0 else Answer()
    overrides = {}
    if database == "postgresql":  # whose text columns refuse NUL
        overrides["database_url"] = postgres_database(request.getfixturevalue("postgres"), "lodestar_webhooks")
    instance = make_instance(**overrides)
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook")
    add_event(instance, add_dataset(instance, "leeds", "trees", []), "overdue")
    t0 = utcnow()
    deliver(instance, t0)
    [delivery] = deliveries(instance, endpoint_id)
    [first] = attempts(instance, delivery.id)
    assert (first.status_code, first.ok) == (500, False) and delivery.status == "pending"
    assert first.response_excerpt is not None and first.response_excerpt.startswith("oops\ufffd\ufffd")
    assert "\x00" not in first.response_excerpt and len(first.response_excerpt) <= 500
    assert t0 < delivery.next_attempt_at <= t0 + timedelta(seconds=60)  # the odd Retry-After is ignored
    deliver(instance, delivery.next_attempt_at)
    assert deliveries(instance, endpoint_id)[0].status == "delivered"


def test_a_429_with_an_http_date_is_retried_after_that_date(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    later = email.utils.format_datetime(utcnow() + timedelta(seconds=240), usegmt=True)
    hits.rule = lambda path, payload, n: Answer(429, {"Retry-After": later}, b"slow down")
    instance = make_instance()
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook")
    add_event(instance, add_dataset(instance, "leeds", "trees", []), "overdue")
    t0 = utcnow()
    deliver(instance, t0)
    [delivery] = deliveries(instance, endpoint_id)
    assert delivery.status == "pending" and delivery.next_attempt_at >= t0 + timedelta(seconds=200)
    [attempt] = attempts(instance, delivery.id)
    assert (attempt.status_code, attempt.ok, attempt.response_excerpt) == (429, False, "slow down")


def test_a_receiver_slower_than_webhook_timeout_is_cut_off_and_retried(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    hits.rule = lambda path, payload, n: Answer(stall=20)
    instance = make_instance(webhook_timeout=0.5)
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook")
    add_event(instance, add_dataset(instance, "leeds", "trees", []), "overdue")
    deliver(instance, utcnow())
    hits.release.set()
    [delivery] = deliveries(instance, endpoint_id)
    [attempt] = attempts(instance, delivery.id)
    assert delivery.status == "pending" and attempt.status_code is None and not attempt.ok
    assert "webhook_timeout" in (attempt.error or "") or "timed out" in (attempt.error or "")


def test_a_500_then_success_on_the_next_round(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    hits.rule = lambda path, payload, n: Answer(500, body=b"x" * 2000) if n == 0 else Answer(204, body=b"")
    instance = make_instance()
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook")
    add_event(instance, add_dataset(instance, "leeds", "trees", []), "overdue")
    t0 = utcnow()
    deliver(instance, t0)
    [delivery] = deliveries(instance, endpoint_id)
    assert delivery.status == "pending" and delivery.last_error == "HTTP 500"
    assert endpoint(instance, endpoint_id).failures_in_row == 0  # a retried attempt is not a failed delivery
    deliver(instance, t0 + timedelta(hours=1))
    [delivery] = deliveries(instance, endpoint_id)
    tried = attempts(instance, delivery.id)
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert [(a.status_code, a.ok) for a in tried] == [(500, False), (204, True)]
    assert tried[0].response_excerpt == "x" * 500
    assert len({h.headers["webhook-id"] for h in hits.on("/hook")}) == 1 and len(hits.on("/hook")) == 2


@pytest.mark.parametrize("status", [400, 410])
def test_final_answers_are_not_retried_and_410_disables(
        status: int, make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    hits.rule = lambda path, payload, n: Answer(status)
    instance = make_instance()
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook")
    add_event(instance, add_dataset(instance, "leeds", "trees", []), "overdue")
    t0 = utcnow()
    deliver(instance, t0)
    deliver(instance, t0 + timedelta(hours=2))
    assert len(hits.on("/hook")) == 1
    [delivery] = deliveries(instance, endpoint_id)
    assert delivery.status == "failed" and delivery.attempts == 1
    row = endpoint(instance, endpoint_id)
    if status == 410:
        assert not row.enabled and "410" in (row.disabled_reason or "")
    else:
        assert row.enabled and row.failures_in_row == 1


@pytest.mark.parametrize("location", [True, False])
def test_redirects_are_not_followed(location: bool, make_instance: Callable[..., Instance],
                                    receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    redirect = Answer(302, {"Location": f"{url}/elsewhere"}) if location else Answer(300, body=b"choose")
    hits.rule = lambda path, payload, n: redirect if path == "/hook" else Answer()
    instance = make_instance()
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook")
    add_event(instance, add_dataset(instance, "leeds", "trees", []), "overdue")
    deliver(instance, utcnow())
    assert len(hits.on("/hook")) == 1 and hits.on("/elsewhere") == []
    [delivery] = deliveries(instance, endpoint_id)
    [attempt] = attempts(instance, delivery.id)
    assert delivery.status == "pending" and not attempt.ok and "redirect" in (attempt.error or "")


# -- disabling, removing, the guard at send time ------------------------------------------------------

def test_an_endpoint_failing_delivery_after_delivery_is_disabled_and_its_owner_told(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver], smtp_server: Inbox,
        caplog: pytest.LogCaptureFixture) -> None:
    url, hits = receiver
    inbox = smtp_server
    # bins: 500 (retried later); trees: 400 (given up at once); parks: fine.
    status = {"leeds/bins": 500, "leeds/trees": 400, "leeds/parks": 200}
    hits.rule = lambda path, payload, n: Answer(status[payload["data"]["dataset"]])
    instance = make_instance(webhook_disable_after=2, smtp_url=inbox.url)
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook", owner_email="ngo@watchdog.example")
    bins, trees, parks = (add_dataset(instance, "leeds", s, []) for s in ("bins", "trees", "parks"))
    t0 = utcnow()
    add_event(instance, bins, "overdue")
    deliver(instance, t0)  # bins: pending, next try 15-30 s later
    add_event(instance, trees, "overdue")
    deliver(instance, t0 + timedelta(seconds=1))  # failed delivery 1
    assert endpoint(instance, endpoint_id).enabled and inbox.messages == []
    add_event(instance, trees, "delinquent")
    with caplog.at_level(logging.WARNING, logger="portal.alerts.webhooks"):
        deliver(instance, t0 + timedelta(seconds=2))  # failed delivery 2: disabled
    row = endpoint(instance, endpoint_id)
    assert not row.enabled and row.disabled_at is not None and "2 deliveries in a row" in (row.disabled_reason or "")
    assert any("disabled" in r.getMessage() and endpoint_id in r.getMessage() for r in caplog.records)
    assert [d.status for d in deliveries(instance, endpoint_id)] == ["cancelled", "failed", "failed"]
    [notice] = inbox.messages
    assert notice.rcpt_tos == ["ngo@watchdog.example"] and endpoint_id in str(notice.message["Subject"])
    assert f"lodestar webhooks enable {endpoint_id}" in notice.text and f"{url}/hook" in notice.text

    before = len(hits.hits)
    add_event(instance, parks, "overdue")
    deliver(instance, t0 + timedelta(hours=3))
    assert len(hits.hits) == before and len(deliveries(instance, endpoint_id)) == 3

    enable_endpoint(instance, endpoint_id)
    add_event(instance, parks, "delinquent")
    deliver(instance, t0 + timedelta(hours=4))
    assert [h.payload["type"] for h in hits.hits[before:]] == ["dataset.delinquent"]
    assert endpoint(instance, endpoint_id).failures_in_row == 0


def test_removed_endpoints_get_nothing_and_their_pending_deliveries_are_cancelled(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    hits.rule = lambda path, payload, n: Answer(500) if path == "/gone" else Answer()
    instance = make_instance()
    kept, _ = add_endpoint(instance, f"{url}/kept")
    gone, _ = add_endpoint(instance, f"{url}/gone")
    dataset = add_dataset(instance, "leeds", "trees", [])
    add_event(instance, dataset, "overdue")
    t0 = utcnow()
    deliver(instance, t0)
    assert [d.status for d in deliveries(instance, gone)] == ["pending"]
    assert remove_endpoint(instance, gone) == 1
    assert [d.status for d in deliveries(instance, gone)] == ["cancelled"]
    add_event(instance, dataset, "delinquent")
    deliver(instance, t0 + timedelta(hours=1))
    assert len(hits.on("/gone")) == 1 and len(hits.on("/kept")) == 2
    assert [e["id"] for e in list_endpoints(instance)] == [kept]


def test_the_address_guard_is_checked_again_at_send_time(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    permissive = make_instance()
    endpoint_id, _ = add_endpoint(permissive, f"{url}/hook")  # accepted while loopback was allowed
    add_event(permissive, add_dataset(permissive, "leeds", "trees", []), "overdue")
    guarded = make_instance(allow_private_addresses=False)  # the same instance, guard on
    deliver(guarded, utcnow())
    assert hits.hits == []
    [delivery] = deliveries(guarded, endpoint_id)
    [attempt] = attempts(guarded, delivery.id)
    assert delivery.status == "pending" and "refused to connect" in (attempt.error or "")


# -- at least once, without duplicates ----------------------------------------------------------------

def test_no_duplicates_across_rounds_and_one_more_attempt_after_a_crash(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    instance = make_instance()
    endpoint_id, _ = add_endpoint(instance, f"{url}/hook")
    dataset = add_dataset(instance, "leeds", "trees", [])
    add_event(instance, dataset, "overdue")
    t0 = utcnow()
    deliver(instance, t0)
    deliver(instance, t0 + timedelta(hours=1))
    assert len(hits.on("/hook")) == 1

    crashed = add_event(instance, dataset, "delinquent")
    channel = WebhookChannel()
    fan_out(instance, [channel], now=t0)
    claimed = _claim(instance, channel.name, t0, 100)
    channel.send(instance, claimed)  # sent, then the sender "dies" before recording anything
    deliver(instance, t0 + timedelta(minutes=1))  # the lease still holds
    assert len(hits.on("/hook")) == 2
    deliver(instance, t0 + timedelta(minutes=6))  # the lease ran out
    assert [h.headers["webhook-id"] for h in hits.on("/hook")[1:]] == [crashed, crashed]
    delivery = deliveries(instance, endpoint_id)[1]
    assert delivery.status == "delivered" and len(attempts(instance, delivery.id)) == 1


def test_a_manual_resend_goes_out_again_and_is_logged_as_manual(
        make_instance: Callable[..., Instance], receiver: tuple[str, Receiver]) -> None:
    url, hits = receiver
    instance = make_instance()
    endpoint_id, secret = add_endpoint(instance, f"{url}/hook")
    event_id = add_event(instance, add_dataset(instance, "leeds", "trees", []), "overdue")
    deliver(instance, utcnow())
    [delivery] = deliveries(instance, endpoint_id)
    outcome = resend(instance, delivery.id, [WebhookChannel()])
    assert outcome.ok and outcome.status_code == 200
    assert [h.verify(secret)["id"] for h in hits.on("/hook")] == [event_id, event_id]
    assert [a.manual for a in attempts(instance, delivery.id)] == [False, True]


# -- the command line ---------------------------------------------------------------------------------

def test_cli_round_trip(cli_env: Path, receiver: tuple[str, Receiver], capsys: pytest.CaptureFixture[str]) -> None:
    url, hits = receiver
    assert main(["webhooks", "add", f"{url}/hook", "--publisher", "leeds", "--theme", "ENVI",
                 "--owner", "ngo@watchdog.example", "--description", "NGO watch"]) == 0
    out = capsys.readouterr().out
    [secret] = re.findall(r"whsec_[A-Za-z0-9+/=]+", out)
    [endpoint_id] = re.findall(r"ep_[0-9a-f]+", out)
    assert "only once" in out

    assert main(["webhooks", "list"]) == 0
    listed = capsys.readouterr().out
    assert endpoint_id in listed and secret not in listed and "whsec_…" + secret[-4:] in listed
    assert main(["webhooks", "list", "--format", "json"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert shown["id"] == endpoint_id and shown["secret"] == "whsec_…" + secret[-4:]
    assert shown["theme"] == EU_THEME + "ENVI" and shown["publisher"] == "leeds"

    with Instance.open() as instance:
        event_id = add_event(instance, add_dataset(instance, "leeds", "trees", [EU_THEME + "ENVI"]), "overdue")
        from portal.alerts.channels import channels_for

        deliver_pending(instance, channels_for(instance))
    assert hits.on("/hook")[0].verify(secret)["id"] == event_id

    assert main(["webhooks", "log", endpoint_id]) == 0
    log_text = capsys.readouterr().out
    assert event_id in log_text and "HTTP 200" in log_text and "delivered" in log_text
    assert main(["webhooks", "log", endpoint_id, "--format", "json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["event"] == event_id and [a["status_code"] for a in entry["attempts"]] == [200]

    assert main(["webhooks", "resend", str(entry["delivery"])]) == 0
    assert "delivered" in capsys.readouterr().out
    assert main(["webhooks", "log", endpoint_id]) == 0
    assert "(manual)" in capsys.readouterr().out
    assert len(hits.on("/hook")) == 2

    assert main(["webhooks", "rotate", endpoint_id]) == 0
    [new_secret] = re.findall(r"whsec_[A-Za-z0-9+/=]+", capsys.readouterr().out)
    assert new_secret != secret

    assert main(["webhooks", "add", "ftp://hooks.example/x"]) == 2
    assert main(["webhooks", "add", f"{url}/x", "--min-severity", "urgent"]) == 2
    assert main(["webhooks", "add", "https://hooks.invalid/x"]) == 3
    assert main(["webhooks", "enable", "ep_nope"]) == 2
    capsys.readouterr()

    assert main(["webhooks", "remove", endpoint_id]) == 0
    assert "removed" in capsys.readouterr().out
    assert main(["webhooks", "list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    # The delivery log outlives the endpoint; a re-send to a removed endpoint fails (exit 3).
    assert main(["webhooks", "log", endpoint_id, "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["webhooks", "resend", str(entry["delivery"])]) == 3


def test_the_fan_out_benchmark_runs_and_its_receiver_checks_what_arrived(tmp_path: Path) -> None:
    from bench.webhooks import SAMPLE_EVERY, measure, section

    result = measure(60, 1, 1, 2, tmp_path, slow_count=10, slow_ms=5)
    assert result["problems"] == []
    assert result["fast"]["sample"] == len(range(0, 60, SAMPLE_EVERY)) and result["slow"]["count"] == 10
    assert section(result)[0] == "## Webhook fan-out"
