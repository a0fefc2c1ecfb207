"""One daily dataset goes due, overdue, delinquent and back: the Atom feed, a webhook receiver on loopback
(signatures checked by the reference library) and an aiosmtpd inbox each get exactly one alert per change,
with a restart of the portal's processes in between; the publisher's contact is reminded at due."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from portal.alerts.channels import channels_for
from portal.alerts.mail import subscribe
from portal.alerts.mail_subscriptions import confirm
from portal.alerts.outbox import deliver_pending
from portal.alerts.webhook_endpoints import add_endpoint
from portal.config import load_settings
from portal.instance import Instance
from portal.pipeline import add_source, harvest
from portal.watch import evaluate_freshness
from portal.web import create_app
from tests.conftest import BASE_URL, TOILETS, serve_http
from tests.mail_fixtures import Inbox, smtp_server  # noqa: F401  (a fixture)
from tests.test_alerts import ATOM, DAY, HOUR, T0, write_catalogue

CONTACT = "opendata@lambeth.example"


class Receiver:
    """A webhook receiver that keeps what it got (after checking the signature) and answers 204."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                payload = Webhook(receiver.secret).verify(body, headers)  # raises on a bad signature
                with receiver.lock:
                    receiver.received.append({"id": headers["webhook-id"], "payload": payload})
                self.send_response(204)
                self.end_headers()

        return Handler


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    recorder = Receiver()
    with serve_http(recorder.handler()) as (url, _):
        yield url, recorder


def with_contact(root: Path) -> None:
    """Give the served dataset a contact point (the address reminders go to)."""
    text = (root / "catalog.ttl").read_text(encoding="utf-8")
    text = text.replace('  dct:identifier "community-toilets" ;',
                        f'  dct:identifier "community-toilets" ;\n  dcat:contactPoint [ a <http://www.w3.org/2006/vcard/ns#Kind> ; '
                        f'<http://www.w3.org/2006/vcard/ns#hasEmail> <mailto:{CONTACT}> ] ;')
    (root / "catalog.ttl").write_text(text, encoding="utf-8")


def test_every_channel_gets_one_alert_per_change_across_a_restart(
        tmp_path: Path, file_server: tuple[str, Path], receiver: tuple[str, Receiver], smtp_server: Inbox) -> None:
    url, root = file_server
    write_catalogue(root)
    with_contact(root)
    shutil.copyfile(TOILETS, root / "toilets.csv")
    settings = load_settings({"instance": str(tmp_path / "instance"), "base_url": BASE_URL,
                              "allow_private_addresses": True, "smtp_url": smtp_server.url}, environ={})
    hook_url, hooks = receiver

    def portal_process() -> Instance:
        """A fresh process's view of the instance (nothing carried over in memory)."""
        return Instance(settings)

    instance = portal_process()
    add_source(instance, "lambeth", f"{url}/catalog.ttl")
    harvest(instance, "lambeth", now=T0)
    endpoint_id, hooks.secret = add_endpoint(instance, f"{hook_url}/lodestar", publisher="lambeth",
                                             min_severity="notice")
    subscribe(instance, "watchdog@ngo.example", publisher="lambeth", min_severity="notice")
    [confirmation] = smtp_server.to("watchdog@ngo.example")
    token = confirmation.text.split("/subscribe/confirm/")[1].split()[0]
    confirm(instance, token)

    moments = [T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY]
    for number, moment in enumerate(moments):
        evaluate_freshness(instance, moment)
        deliver_pending(instance, channels_for(instance))
        if number == 1:  # the portal's processes stop and start again between two changes
            instance.close()
            instance = portal_process()
    # back to fresh: the content changed
    lines = (root / "toilets.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (root / "toilets.csv").write_text("".join(lines[:-1]), encoding="utf-8")
    harvest(instance, "lambeth", now=T0 + 3 * DAY + HOUR)
    deliver_pending(instance, channels_for(instance))
    instance.close()
    instance = portal_process()
    deliver_pending(instance, channels_for(instance))  # a second round after the restart sends nothing new

    changes = ["due", "overdue", "delinquent", "fresh"]
    feed = ET.fromstring(create_app(instance=instance).test_client().get("/alerts.atom?publisher=lambeth").data)
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}category").get("term") for e in reversed(entries)] == changes
    ids = [e.findtext(f"{ATOM}id").rsplit("/", 1)[-1] for e in reversed(entries)]

    assert [h["payload"]["data"]["kind"] for h in hooks.received] == changes
    assert [h["id"] for h in hooks.received] == ids  # webhook-id is the event id, as in the feed
    assert [h["payload"]["type"] for h in hooks.received] == [f"dataset.{k}" for k in changes]

    alerts = [m for m in smtp_server.to("watchdog@ngo.example") if m is not confirmation]
    assert len(alerts) == len(changes)
    for message, event_id, kind in zip(alerts, ids, changes):
        assert event_id in message.message["Message-ID"] and kind in message.message["Subject"].lower()
        assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    reminders = smtp_server.to(CONTACT)
    assert len(reminders) == 1 and "due" in reminders[0].message["Subject"].lower()  # at due, before overdue
    assert f"{BASE_URL}/still-current/{ids[0]}/" in reminders[0].text  # the due event's one-click link
    instance.close()
    log = json.dumps([h["payload"] for h in hooks.received])
    assert endpoint_id and "evidence" in log
