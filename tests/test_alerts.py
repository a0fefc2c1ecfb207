"""Freshness alerts driven by `--now`: a daily dataset goes due, overdue, delinquent and back; the events,
the Atom feed, `/freshness.json` and the CLI agree, and a metadata-only edit resets nothing."""

from __future__ import annotations

import json
import random
import shutil
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from portal.alerts.models import AlertEvent
from portal.cli import main
from portal.db import Dataset, FreshnessStatus, Source
from portal.evaluation import evaluate_all
from portal.freshness import evaluate
from portal.instance import Instance
from portal.pipeline import add_source, harvest
from portal.watch import confirm_current, evaluate_freshness
from portal.web import create_app
from tests.conftest import TOILETS
from vocab.frequencies import normalise_frequency

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
ATOM = "{http://www.w3.org/2005/Atom}"

CATALOGUE = """
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
<> a dcat:Catalog ; dcat:dataset <https://lambeth.example/dataset/toilets> .
<https://lambeth.example/dataset/toilets> a dcat:Dataset ;
  dct:identifier "community-toilets" ;
  dct:title "{title}"@en ;
  dct:modified "{claimed}"^^xsd:dateTime ;
  dcat:theme <http://publications.europa.eu/resource/authority/data-theme/HEAL> ;
  dct:publisher [ a foaf:Agent ; dct:identifier "lambeth" ; foaf:name "London Borough of Lambeth" ] ;
  dct:accrualPeriodicity <{frequency}> ;
  dcat:distribution [ a dcat:Distribution ;
    dcat:downloadURL <toilets.csv> ;
    dcat:mediaType <https://www.iana.org/assignments/media-types/text/csv> ;
    dct:conformsTo <urn:lodestar:schema:public-toilets> ] .
"""
DAILY = "http://publications.europa.eu/resource/authority/frequency/DAILY"


def write_catalogue(root: Path, *, title: str = "Community toilets", claimed: datetime = T0,
                    frequency: str = DAILY) -> None:
    text = CATALOGUE.replace("{title}", title).replace("{claimed}", claimed.isoformat())
    (root / "catalog.ttl").write_text(text.replace("{frequency}", frequency), encoding="utf-8")


@pytest.fixture
def daily(instance: Instance, file_server: tuple[str, Path]) -> Path:
    """A daily dataset served over HTTP and harvested at T0; returns the served folder."""
    url, root = file_server
    write_catalogue(root)
    shutil.copyfile(TOILETS, root / "toilets.csv")
    add_source(instance, "lambeth", f"{url}/catalog.ttl")
    harvest(instance, "lambeth", now=T0)
    return root


def events(instance: Instance) -> list[tuple[str, str | None]]:
    with instance.session() as session:
        return [(e.kind, e.previous) for e in session.scalars(select(AlertEvent).order_by(AlertEvent.id))]


def feed_entries(client: Any, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/alerts.atom{query}")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    return [{"id": e.findtext(f"{ATOM}id"), "title": e.findtext(f"{ATOM}title"),
             "kind": e.find(f"{ATOM}category").get("term"),
             "links": sorted((link.get("rel"), link.get("type"), link.get("href"))
                             for link in e.findall(f"{ATOM}link"))}
            for e in root.findall(f"{ATOM}entry")]


def test_a_daily_dataset_goes_due_overdue_delinquent_and_back(instance: Instance, daily: Path) -> None:
    assert events(instance) == []  # harvested fresh: nothing to tell
    for moment in (T0 + 12 * HOUR, T0 + DAY, T0 + DAY + HOUR, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 3 * DAY + HOUR):
        evaluate_freshness(instance, moment)
    assert events(instance) == [("due", "fresh"), ("overdue", "due"), ("delinquent", "overdue")]

    # A metadata-only edit (new title, a newer claimed date) is no update: still delinquent, no event.
    write_catalogue(daily, title="Public toilets", claimed=T0 + 3 * DAY)
    harvest(instance, "lambeth", now=T0 + 3 * DAY + 2 * HOUR)
    assert events(instance)[-1] == ("delinquent", "overdue") and len(events(instance)) == 3
    with instance.session() as session:
        dataset = session.scalar(select(Dataset))
        assert dataset is not None and dataset.last_content_change == T0 and dataset.freshness_status == "delinquent"
        assert dataset.title == "Public toilets"

    # A content change is: back to fresh, one event, in the same run.
    lines = (daily / "toilets.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (daily / "toilets.csv").write_text("".join(lines[:-1]), encoding="utf-8")
    harvest(instance, "lambeth", now=T0 + 3 * DAY + 3 * HOUR)
    assert events(instance)[-1] == ("fresh", "delinquent") and len(events(instance)) == 4
    with instance.session() as session:
        statuses = [s.status for s in session.scalars(select(FreshnessStatus).order_by(FreshnessStatus.id))]
    assert statuses == ["fresh", "due", "overdue", "delinquent", "fresh"]


def test_each_status_change_writes_its_event_in_the_same_transaction(
        instance: Instance, daily: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import portal.watch as watch

    def broken(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("crash while writing the event")

    monkeypatch.setattr(watch, "event_row", broken)
    with pytest.raises(RuntimeError):
        evaluate_freshness(instance, T0 + DAY)
    with instance.session() as session:  # neither the status nor the history moved without the event
        assert session.scalar(select(Dataset.freshness_status)) == "fresh"
        assert session.scalar(select(func.count()).select_from(FreshnessStatus)) == 1
    monkeypatch.undo()
    evaluate_freshness(instance, T0 + DAY)  # after the "restart" the change is recorded, once
    evaluate_freshness(instance, T0 + DAY + HOUR)
    assert events(instance) == [("due", "fresh")]


def test_the_atom_feed_has_stable_entries_filters_and_conditional_get(instance: Instance, daily: Path) -> None:
    for moment in (T0 + DAY, T0 + 2 * DAY):
        evaluate_freshness(instance, moment)
    client = create_app(instance=instance).test_client()
    first = feed_entries(client)
    assert [e["kind"] for e in first] == ["overdue", "due"]  # newest first
    assert all(e["id"].startswith("http://") and "/alert/evt_" in e["id"] for e in first)
    # one typed alternate per media type (RFC 4287 §4.1.1): the dataset's page and the event as JSON
    assert first[0]["links"] == [("alternate", "application/json", first[0]["id"] + ".json"),
                                 ("alternate", "text/html", first[0]["id"].split("/alert/")[0] + "/dataset/lambeth/community-toilets")]
    instance.close()
    reopened = Instance(instance.settings)  # a restart: the same entries, the same ids
    client = create_app(instance=reopened).test_client()
    assert feed_entries(client) == first
    assert feed_entries(client, "?publisher=lambeth") == first
    assert feed_entries(client, "?dataset=lambeth/community-toilets") == first
    assert feed_entries(client, "?theme=HEAL") == first
    assert feed_entries(client, "?theme=http://publications.europa.eu/resource/authority/data-theme/HEAL") == first
    assert feed_entries(client, "?publisher=leeds") == []
    assert feed_entries(client, "?theme=ENVI") == []

    response = client.get("/alerts.atom")
    etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
    assert client.get("/alerts.atom", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/alerts.atom", headers={"If-Modified-Since": modified}).status_code == 304
    evaluate_freshness(reopened, T0 + 3 * DAY)
    changed = client.get("/alerts.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    for bad in ("?theme=NOT-A-THEME", "?dataset=no-slash", "?kind=exploded", "?before=x", "?publisher=%00",
                "?publisher=a%01b", "?dataset=lambeth/%EF%BF%BF", "?publisher=a%20b"):
        answer = client.get(f"/alerts.atom{bad}", headers={"Accept": "application/json"})
        assert answer.status_code == 400 and answer.get_json()["error"], bad
    entry = first[0]["id"].rsplit("/", 1)[-1]
    page = client.get(f"/alert/{entry}.json").get_json()
    assert page["id"] == entry and page["data"]["kind"] == "overdue"
    assert client.get("/alert/evt_nope").status_code == 404
    reopened.close()


def test_an_empty_feed_is_dated_when_watching_began(instance: Instance, daily: Path) -> None:
    client = create_app(instance=instance).test_client()
    root = ET.fromstring(client.get("/alerts.atom?publisher=leeds").data)
    assert root.findall(f"{ATOM}entry") == []
    with instance.session() as session:
        began = session.scalar(select(func.min(Source.created_at)))
    assert began is not None and datetime.fromisoformat(root.findtext(f"{ATOM}updated") or "") == began


def test_freshness_json_shows_the_recorded_evaluation_or_a_what_if(instance: Instance, daily: Path) -> None:
    evaluate_freshness(instance, T0 + 3 * HOUR)
    client = create_app(instance=instance).test_client()
    recorded = client.get("/freshness.json").get_json()
    assert recorded["recorded"] is True and recorded["evaluated_at"] == (T0 + 3 * HOUR).isoformat()
    [entry] = recorded["datasets"]
    assert entry["status"] == "fresh" and entry["last_content_change"] == T0.isoformat()
    assert entry["expected_frequency"]["key"] == "DAILY"
    assert entry["thresholds"]["due_at"] == (T0 + DAY).isoformat()
    assert entry["thresholds"]["overdue_at"] == (T0 + 2 * DAY).isoformat()
    assert entry["claimed_modified"] == T0.isoformat()
    what_if = client.get(f"/freshness.json?now={(T0 + 5 * DAY).isoformat()}").get_json()
    assert what_if["recorded"] is False and what_if["datasets"][0]["status"] == "delinquent"
    assert client.get("/freshness.json").get_json()["datasets"][0]["status"] == "fresh"  # nothing recorded
    assert client.get("/freshness.json?now=yesterday").status_code == 400
    assert client.get("/freshness").status_code == 200


def test_the_claim_is_shown_beside_the_evidence(instance: Instance, daily: Path) -> None:
    write_catalogue(daily, claimed=datetime(2026, 5, 3, tzinfo=timezone.utc))
    harvest(instance, "lambeth", now=T0 + 2 * HOUR)
    [outcome] = evaluate_freshness(instance, T0 + 5 * DAY)
    assert outcome.evidence()["claim"] == "claims updated 3 May 2026; content unchanged since 2 Mar 2026"


def test_confirming_still_current_counts_as_an_update(instance: Instance, daily: Path) -> None:
    evaluate_freshness(instance, T0 + 2 * DAY)
    confirm_current(instance, "lambeth", "community-toilets", by="officer@lambeth.example", note="no change",
                    now=T0 + 2 * DAY + HOUR)
    assert events(instance) == [("overdue", "fresh"), ("fresh", "overdue")]
    [outcome] = evaluate_freshness(instance, T0 + 2 * DAY + 2 * HOUR)
    assert outcome.result.status == "fresh" and "confirmed still current" in outcome.result.reason
    [later] = evaluate_freshness(instance, T0 + 3 * DAY + 2 * HOUR, record=False)
    assert later.result.status == "due"  # the confirmation dates the update, like a content change


def test_a_dataset_whose_tables_never_validated_is_unpublished_not_fresh(
        instance: Instance, file_server: tuple[str, Path]) -> None:
    url, root = file_server
    write_catalogue(root)
    (root / "toilets.csv").write_text("NAME,LAT\nA,not-a-number\n", encoding="utf-8")
    add_source(instance, "lambeth", f"{url}/catalog.ttl")
    harvest(instance, "lambeth", now=T0)
    [outcome] = evaluate_freshness(instance, T0 + HOUR)
    assert outcome.result.status == "unpublished" and "validated" in outcome.result.reason
    shutil.copyfile(TOILETS, root / "toilets.csv")
    harvest(instance, "lambeth", now=T0 + 2 * HOUR)
    [outcome] = evaluate_freshness(instance, T0 + 3 * HOUR)
    assert outcome.result.status == "fresh"
    assert events(instance) == []  # unpublished → fresh alerts nobody


def test_withdrawal_writes_an_event(instance: Instance, daily: Path) -> None:
    (daily / "catalog.ttl").write_text(CATALOGUE.split("<https://lambeth")[0].replace(
        "; dcat:dataset", ".\n#").replace("{title}", ""), encoding="utf-8")
    outcome = harvest(instance, "lambeth", now=T0 + HOUR, confirm_withdrawals=True)
    assert outcome.datasets_withdrawn == 1
    assert events(instance) == [("withdrawn", "fresh")]


def test_the_columns_agree_with_evaluate_on_random_datasets(instance: Instance) -> None:
    from portal.db import Source

    texts = ["daily", "R/P1W", "monthly", "P3D", "irregular", None, "every full moon", "annual", "PT6H",
             "http://publications.europa.eu/resource/authority/frequency/QUARTERLY", "hourly", "never"]
    rng = random.Random(7)
    now = T0 + 100 * DAY
    with instance.session() as session:
        source = Source(name="s", url="http://x.example", kind="dcat")
        session.add(source)
        for n in range(400):
            change = None if rng.random() < 0.1 else now - timedelta(seconds=rng.randrange(0, 400 * 86400))
            confirmed = now - timedelta(seconds=rng.randrange(0, 90 * 86400)) if rng.random() < 0.2 else None
            state = rng.choice([None, "published", "published", "unpublished"])
            session.add(Dataset(source=source, publisher="p", slug=f"d{n:03}", identifier=str(n), title="",
                                frequency=rng.choice(texts), last_content_change=change, confirmed_at=confirmed,
                                publication_state=state))
    with instance.session() as session:
        table = evaluate_all(session, now)
        rows = {d.slug: d for d in session.scalars(select(Dataset))}
    assert len(table) == 400
    for row in range(len(table)):
        dataset = rows[table.slugs[row]]
        expected = evaluate(normalise_frequency(dataset.frequency), dataset.last_content_change, now,
                            confirmed=dataset.confirmed_at).status
        if dataset.publication_state == "unpublished":
            expected = "unpublished"
        assert table.status(row) == expected == table.result(row).status, dataset.slug


def test_the_cli_records_lists_and_explains(instance: Instance, daily: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LODESTAR_INSTANCE", str(instance.settings.instance_path))
    monkeypatch.setenv("LODESTAR_BASE_URL", instance.settings.base_url)
    instance.close()
    assert main(["freshness", "--now", (T0 + 2 * DAY).isoformat(), "--format", "json"]) == 0
    what_if = json.loads(capsys.readouterr().out)
    assert what_if["recorded"] is False and what_if["datasets"][0]["status"] == "overdue"
    assert main(["alerts", "list", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["freshness", "--now", (T0 + 2 * DAY).isoformat(), "--record"]) == 0
    assert "1 alert event(s) written" in capsys.readouterr().out
    assert main(["alerts", "list", "--format", "json"]) == 0
    [alert] = json.loads(capsys.readouterr().out)
    assert alert["type"] == "dataset.overdue" and alert["data"]["dataset"] == "lambeth/community-toilets"
    assert main(["alerts", "list", "--theme", "BOGUS"]) == 2
    assert main(["confirm-current", "lambeth/community-toilets", "--by", "me", "--now",
                 (T0 + 2 * DAY + HOUR).isoformat()]) == 0
    assert "now fresh" in capsys.readouterr().out
    assert main(["confirm-current", "lambeth/nope"]) == 2
    assert "no active dataset lambeth/nope" in capsys.readouterr().err


def test_the_history_only_moves_forward(instance: Instance, daily: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    evaluate_freshness(instance, T0 + 2 * DAY)  # overdue, recorded
    assert events(instance) == [("overdue", "fresh")]
    earlier = evaluate_freshness(instance, T0 + HOUR)  # a harvest or a clock behind it: a what-if, no false "fresh"
    assert earlier.recorded is False and events(instance) == [("overdue", "fresh")]
    with instance.session() as session:
        assert session.scalar(select(Dataset.freshness_status)) == "overdue"
    monkeypatch.setenv("LODESTAR_INSTANCE", str(instance.settings.instance_path))
    monkeypatch.setenv("LODESTAR_BASE_URL", instance.settings.base_url)
    instance.close()
    assert main(["freshness", "--now", (T0 + DAY).isoformat(), "--record"]) == 2
    assert "the history only moves forward" in capsys.readouterr().err
    assert main(["freshness", "--now", (T0 + DAY).isoformat()]) == 0  # a what-if is still fine
    assert "what-if" in capsys.readouterr().out
    assert main(["freshness", "--now", (T0 + 3 * DAY).isoformat(), "--record"]) == 0
    assert "1 alert event(s) written" in capsys.readouterr().out  # delinquent


class _HeadLinks(HTMLParser):
    """The <link rel="alternate"> elements of a page, as a feed reader discovers them."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "link" and dict(attrs).get("rel") == "alternate":
            self.links.append(dict(attrs))


def discovered_feeds(client: Any, page: str) -> list[str]:
    response = client.get(page)
    assert response.status_code == 200, page
    parser = _HeadLinks()
    parser.feed(response.get_data(as_text=True))
    assert all(link.get("type") for link in parser.links), parser.links  # every alternate says what it is
    return [str(link["href"]) for link in parser.links if link.get("type") == "application/atom+xml"]


def test_pages_lead_feed_readers_to_their_alerts(instance: Instance, daily: Path) -> None:
    evaluate_freshness(instance, T0 + DAY)
    client = create_app(instance=instance).test_client()
    every = feed_entries(client)
    assert len(every) == 1
    for page in ("/", "/freshness", "/alerts", "/dataset/lambeth/community-toilets",
                 "/publisher/lambeth/scorecard"):
        (feed,) = discovered_feeds(client, page)
        assert feed_entries(client, feed.removeprefix("/alerts.atom")) == every, page
    assert discovered_feeds(client, "/dataset/lambeth/community-toilets") == [
        "/alerts.atom?dataset=lambeth/community-toilets"]
    assert discovered_feeds(client, "/publisher/lambeth/scorecard") == ["/alerts.atom?publisher=lambeth"]


def test_last_modified_is_never_in_the_future(instance: Instance, daily: Path) -> None:
    from email.utils import parsedate_to_datetime

    evaluate_freshness(instance, datetime.now(timezone.utc) + 400 * DAY)  # a what-if recorded ahead of time
    client = create_app(instance=instance).test_client()
    response = client.get("/alerts.atom")
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert modified <= parsedate_to_datetime(response.headers["Date"]) + timedelta(seconds=1)
    assert client.get("/alerts.atom", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_freshness_listings_filter_and_page(instance: Instance) -> None:
    from bench.freshness import NOW, populate

    populate(instance, 600, seed=3)  # 600 datasets of 250 publishers, every status
    evaluate_freshness(instance, NOW)
    client = create_app(instance=instance).test_client()
    everything = client.get("/freshness.json?limit=10000").get_json()
    assert everything["total"] == 600 == len(everything["datasets"]) and everything["next"] is None
    by_status = {s: [d["dataset"] for d in everything["datasets"] if d["status"] == s] for s in everything["counts"]}
    assert {s: len(names) for s, names in by_status.items()} == everything["counts"]

    pages, url = [], "/freshness.json?limit=250&status=overdue,delinquent"
    while url:  # follow `next` as a client would
        page = client.get(url).get_json()
        pages.append(page)
        url = page["next"] and page["next"].removeprefix("http://localhost")
    listed = [d["dataset"] for page in pages for d in page["datasets"]]
    assert listed == sorted(by_status["overdue"] + by_status["delinquent"]) and len(pages) == -(-len(listed) // 250)
    assert all(page["counts"] == everything["counts"] for page in pages)  # counts ignore the status filter

    town = client.get("/freshness.json?publisher=town-007").get_json()
    assert {d["dataset"].split("/")[0] for d in town["datasets"]} == {"town-007"} and town["total"] == len(
        [d for d in everything["datasets"] if d["dataset"].startswith("town-007/")])
    one = everything["datasets"][17]["dataset"]
    assert [d["dataset"] for d in client.get(f"/freshness.json?dataset={one}").get_json()["datasets"]] == [one]
    what_if = client.get("/freshness.json?now=2027-06-01T00:00:00Z&limit=1").get_json()
    assert what_if["next"] is not None and "now=2027-06-01" in what_if["next"] and "offset=1" in what_if["next"]
    html = client.get("/freshness?status=due&publisher=town-001")
    assert html.status_code == 200 and b"every status" in html.data
    for bad in ("status=stale", "limit=0", "limit=10001", "offset=-1", "limit=1e3", "publisher=a%20b",
                "dataset=no-slash"):
        answer = client.get(f"/freshness.json?{bad}")
        assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "portal/usage", bad


def test_the_alerts_page_form_with_fields_left_empty(instance: Instance, daily: Path) -> None:
    client = create_app(instance=instance).test_client()
    empty = client.get("/alerts?publisher=&theme=&dataset=")  # what the page's own filter form sends
    assert empty.status_code == 200 and b"No alerts yet" in empty.data
    html = empty.get_data(as_text=True)  # its what-if link works too
    what_if = html.split('href="/freshness?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "dataset=" not in what_if and client.get(f"/freshness?{what_if}").status_code == 200
    assert client.get("/alerts.atom?publisher=&kind=").status_code == 200
    evaluate_freshness(instance, T0 + 2 * DAY)
    assert feed_entries(client, "?publisher=lambeth&theme=&dataset=") == feed_entries(client)
    narrowed = client.get("/alerts?publisher=lambeth&theme=&dataset=")
    assert narrowed.status_code == 200 and b"lambeth/community-toilets" in narrowed.data
