"""A watchdog in a real browser: headless Chromium (Debian's, driven by Selenium through its
ChromeDriver) against the portal served by waitress on loopback, with a real SMTP server (aiosmtpd)
and a real webhook receiver.

It finds the overdue datasets on /freshness, subscribes from a dataset's page by e-mail (double
opt-in, the confirmation link followed in the browser) and by webhook (the secret read off the
page), receives one signed webhook and one e-mail when the status changes, unsubscribes from the
e-mail's link, and reads the scorecard's charts.
"""

from __future__ import annotations

import http.server
import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait
from standardwebhooks.webhooks import Webhook

from portal.alerts.channels import channels_for
from portal.alerts.outbox import deliver_pending
from portal.config import load_settings
from portal.instance import Instance
from portal.pipeline import add_source, harvest
from portal.watch import evaluate_freshness
from portal.web import create_app
from tests.conftest import free_port, serve_http, serve_lambeth, serve_wsgi
from tests.mail_fixtures import Inbox, smtp_server  # noqa: F401  (a fixture)

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium with a fresh profile and no background traffic (the network is loopback only)."""
    assert CHROMIUM and CHROMEDRIVER, "Chromium is missing: run scripts/system-packages"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def portal(tmp_path: Path, file_server: tuple[str, Path], smtp_server: Inbox) -> Iterator[tuple[str, Instance]]:
    """The portal with Lambeth's monthly dataset harvested, served by waitress on its own base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    instance = Instance(load_settings({"instance": str(tmp_path / "instance"), "base_url": base,
                                       "allow_private_addresses": True, "smtp_url": smtp_server.url}, environ={}))
    add_source(instance, "lambeth", serve_lambeth(file_server))
    assert harvest(instance, "lambeth").status == "finished"
    try:
        with serve_wsgi(create_app(instance=instance), port=port):
            yield base, instance
    finally:
        instance.close()


def _click(driver: WebDriver, text: str) -> None:
    """Press the button (or follow the link) with this text, and wait for the next page."""
    old = driver.find_element(By.TAG_NAME, "html")
    target = driver.find_element(By.XPATH, f"//button[normalize-space()='{text}'] | //a[normalize-space()='{text}']")
    target.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(old))


def _form(driver: WebDriver, action: str) -> Any:
    return driver.find_element(By.CSS_SELECTOR, f"form[action='{action}']")


def test_a_watchdog_follows_a_dataset_in_a_browser(browser: WebDriver, portal: tuple[str, Instance],
                                                   smtp_server: Inbox) -> None:
    base, instance = portal
    _Receiver.received = []
    with serve_http(_Receiver) as (hook_url, _):
        # The dataset page leads to the subscribe page with the dataset chosen.
        browser.get(f"{base}/dataset/lambeth/community-toilets")
        _click(browser, "webhook or e-mail")
        assert browser.current_url.startswith(f"{base}/subscribe?dataset=lambeth/community-toilets")
        assert f"{base}/alerts.atom?dataset=lambeth%2Fcommunity-toilets" in browser.page_source

        # E-mail: double opt-in, the confirmation link opened in the browser, the button pressed.
        email_form = _form(browser, "/subscribe/email")
        email_form.find_element(By.NAME, "email").send_keys("watch@ngo.example")
        email_form.find_element(By.NAME, "min_severity").send_keys("notice")
        _click(browser, "Subscribe by e-mail")
        assert "a confirmation message is on its way" in browser.page_source
        [confirmation] = smtp_server.to("watch@ngo.example")
        [link] = [line.strip() for line in confirmation.text.splitlines() if "/subscribe/confirm/" in line]
        browser.get(link)
        _click(browser, "Yes, subscribe me")
        assert browser.find_element(By.TAG_NAME, "h1").text == "You are subscribed"

        # A webhook: the signing secret is shown once, on the page.
        browser.get(f"{base}/subscribe?dataset=lambeth/community-toilets")
        hook_form = _form(browser, "/subscribe/webhook")
        hook_form.find_element(By.NAME, "url").send_keys(f"{hook_url}/hook")
        hook_form.find_element(By.NAME, "min_severity").send_keys("notice")
        _click(browser, "Add webhook")
        secret = browser.find_element(By.CSS_SELECTOR, "code.secret").text
        assert secret.startswith("whsec_")

        # Fifty days on, the monthly dataset is overdue: one signed webhook, one e-mail.
        later = datetime.now(timezone.utc) + timedelta(days=50)
        assert evaluate_freshness(instance, later).events == 1
        deliver_pending(instance, channels_for(instance))
        [(headers, body)] = _Receiver.received
        payload = Webhook(secret).verify(body, headers)
        assert payload["type"] == "dataset.overdue" and payload["data"]["dataset"] == "lambeth/community-toilets"
        [alert] = [m for m in smtp_server.to("watch@ngo.example") if m.message["List-Unsubscribe"]]
        assert json.loads(body)["id"] in alert.text

    # /freshness, filtered to the overdue datasets by clicking the count.
    browser.get(f"{base}/freshness")
    _click(browser, "overdue 1")
    assert "status=overdue" in browser.current_url
    rows = browser.find_elements(By.CSS_SELECTOR, "table.datasets tbody tr")
    assert len(rows) == 1 and "lambeth/community-toilets" in rows[0].text

    # The e-mail's unsubscribe link, in the browser: one press.
    unsubscribe = alert.raw_headers("List-Unsubscribe")[0].strip("<>")
    browser.get(unsubscribe)
    _click(browser, "Unsubscribe")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Unsubscribed"

    # The scorecard's charts are drawn (server-side SVG), with the alert feed announced for readers.
    browser.get(f"{base}/publisher/lambeth/scorecard")
    charts = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg")
    assert len(charts) == 2 and all(c.size["width"] > 100 and c.size["height"] > 50 for c in charts)
    feeds = browser.find_elements(By.CSS_SELECTOR, "link[rel=alternate][type='application/atom+xml']")
    assert [f.get_attribute("href") for f in feeds] == [f"{base}/alerts.atom?publisher=lambeth"]
