"""Publisher scorecards, the league table, their charts and JSON, and the DQV history through SPARQL.

The scenario inserts datasets and freshness statuses at chosen instants; the expected figures are
computed here from the scenario's own lists (a linear scan, not the portal's periods), or written
out by hand where the arithmetic is short.
"""

from __future__ import annotations

import statistics
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import lxml.html
import pytest
from flask.testing import FlaskClient
from rdflib import Graph, Literal, URIRef

from portal.db import Dataset, FreshnessStatus, InstanceInfo, Source
from portal.errors import NotFoundError
from portal.instance import Instance
from portal.mqa import assess_all, publisher_mqa
from portal.scorecard_graph import history_graph, overdue_query, publish_scorecards
from portal.scorecard_history import last_quarter, month_ends
from portal.scorecards import LEAGUE, league_table, scorecard
from portal.store import select_rows
from portal.web import create_app
from portal.web.sparql import close_query_pool
from vocab import namespaces
from vocab.namespaces import DQV, PROV


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


NOW = utc(2026, 3, 15, 12)
JUDGED = ("fresh", "due", "overdue", "delinquent")


@dataclass
class Planned:
    """A dataset of the scenario: its record facts and its status changes (instant, status, due date)."""

    publisher: str
    slug: str
    frequency: str | None
    first_seen: datetime
    changes: list[tuple[datetime, str, datetime | None]]
    last_content_change: datetime | None = None
    withdrawn_at: datetime | None = None
    title: str = ""
    keywords: list[str] = field(default_factory=list)


SCENARIO = [
    # leeds: at NOW trees fresh, bins overdue, old delinquent (never updated), parks exempt → 1 of 3 fresh
    Planned("leeds", "trees", "monthly", utc(2025, 1, 1), [
        (utc(2025, 1, 10), "fresh", utc(2025, 2, 9)),
        (utc(2026, 1, 5), "due", utc(2026, 1, 5)),
        (utc(2026, 1, 20), "overdue", utc(2026, 1, 5)),
        (utc(2026, 2, 10), "fresh", utc(2026, 3, 12)),
    ], last_content_change=utc(2026, 2, 9), title="Street trees"),
    Planned("leeds", "bins", "weekly", utc(2025, 5, 30), [
        (utc(2025, 6, 1), "fresh", utc(2025, 6, 7)),
        (utc(2026, 3, 1), "overdue", utc(2026, 2, 20)),
    ], last_content_change=utc(2026, 2, 13), title="Bin collections"),
    Planned("leeds", "old", "monthly", utc(2025, 1, 1), [
        (utc(2025, 2, 1), "due", utc(2025, 1, 31)),
        (utc(2025, 4, 1), "delinquent", utc(2025, 1, 31)),
    ], last_content_change=utc(2025, 1, 1), title="Old register"),
    Planned("leeds", "parks", "irregular", utc(2025, 4, 1), [(utc(2025, 5, 1), "exempt", None)],
            title="Parks"),
    # york: roads fresh, lights due → 1 of 2; keywords give it a better MQA than hull's
    Planned("york", "roads", "daily", utc(2025, 1, 1), [(utc(2025, 2, 1), "fresh", utc(2025, 2, 2))],
            last_content_change=utc(2026, 3, 15), title="Roads", keywords=["roads"]),
    Planned("york", "lights", "monthly", utc(2025, 1, 1), [
        (utc(2025, 1, 15), "fresh", utc(2025, 2, 14)),
        (utc(2025, 12, 20), "due", utc(2025, 12, 20)),
    ], last_content_change=utc(2025, 11, 20), title="Street lights", keywords=["lighting"]),
    # hull: h1 and h2 fresh, h3 and h4 overdue → 2 of 4 (ties with york)
    Planned("hull", "h1", "weekly", utc(2025, 1, 1), [
        (utc(2025, 1, 2), "fresh", None),
        (utc(2025, 11, 1), "overdue", utc(2025, 10, 20)),   # overdue inside Q4 2025
        (utc(2025, 11, 20), "fresh", None),
    ], last_content_change=utc(2025, 11, 19)),
    Planned("hull", "h2", "weekly", utc(2025, 1, 1), [(utc(2025, 1, 2), "fresh", None)],
            last_content_change=utc(2026, 3, 14)),
    Planned("hull", "h3", "weekly", utc(2025, 1, 1), [
        (utc(2025, 1, 2), "fresh", None),
        (utc(2026, 1, 1), "overdue", utc(2025, 12, 20)),     # begins exactly when Q4 ends
    ], last_content_change=utc(2025, 12, 10)),
    Planned("hull", "h4", "weekly", utc(2025, 1, 1), [
        (utc(2025, 1, 2), "fresh", None),
        (utc(2025, 8, 1), "overdue", utc(2025, 7, 20)),
        (utc(2025, 10, 1), "fresh", None),                   # ends exactly when Q4 begins
        (utc(2026, 2, 1), "overdue", utc(2026, 1, 20)),
    ], last_content_change=utc(2025, 9, 30)),
    # kent: like hull in share fresh (1 of 2) and in metadata, so in rank
    Planned("kent", "k1", "weekly", utc(2025, 1, 1), [(utc(2025, 1, 2), "fresh", None)],
            last_content_change=utc(2026, 3, 14)),
    Planned("kent", "k2", "weekly", utc(2025, 1, 1), [
        (utc(2025, 1, 2), "fresh", None),
        (utc(2026, 2, 1), "overdue", utc(2026, 1, 20)),
    ], last_content_change=utc(2026, 1, 13)),
    # bath: nothing judged (unknown, and a withdrawn dataset that was delinquent in Q4)
    Planned("bath", "mystery", None, utc(2025, 2, 1), [(utc(2025, 3, 1), "unknown", None)]),
    Planned("bath", "gone", "monthly", utc(2025, 1, 1), [
        (utc(2025, 3, 1), "fresh", None),
        (utc(2025, 9, 1), "delinquent", utc(2025, 7, 1)),
        (utc(2025, 11, 1), "withdrawn", None),
    ], withdrawn_at=utc(2025, 11, 1)),
    # a publisher whose only dataset is not judged yet and only appears later
    Planned("zeal", "late", "monthly", utc(2026, 1, 10), []),
]


def build(instance: Instance, plan: list[Planned] = SCENARIO) -> None:
    with instance.session() as session:
        source = Source(name="scenario", url="http://scenario.example", kind="dcat")
        session.add(source)
        for item in plan:
            dataset = Dataset(source=source, publisher=item.publisher, slug=item.slug, identifier=item.slug,
                              title=item.title, frequency=item.frequency, first_seen=item.first_seen,
                              last_seen=NOW, last_content_change=item.last_content_change,
                              publisher_name=f"{item.publisher.title()} Council",
                              status="withdrawn" if item.withdrawn_at else "active",
                              withdrawn_at=item.withdrawn_at, metadata_json={"keywords": item.keywords})
            session.add(dataset)
            session.flush()
            previous = None
            for at, status, due in item.changes:
                session.add(FreshnessStatus(dataset_id=dataset.id, evaluated_at=at, status=status,
                                            previous=previous, due_at=due, reason=f"{status} at {at:%Y-%m-%d}"))
                previous = status


# -- the expectations, from the scenario's lists ------------------------------------------------------

def status_of(item: Planned, at: datetime) -> str | None:
    """The last change at or before `at` (a linear scan); None when there is none."""
    found = None
    for when, status, _due in item.changes:
        if when <= at:
            found = status
    return found


def exists(item: Planned, at: datetime) -> bool:
    return item.first_seen <= at or any(when <= at for when, _s, _d in item.changes)


def share(publisher: str, at: datetime) -> float | None:
    statuses = [status_of(i, at) for i in SCENARIO if i.publisher == publisher and exists(i, at)]
    judged = [s for s in statuses if s in JUDGED]
    return round(100 * judged.count("fresh") / len(judged), 1) if judged else None


def lags(publisher: str, at: datetime) -> dict[str, float]:
    found = {}
    for item in SCENARIO:
        if item.publisher != publisher or not exists(item, at):
            continue
        last = [c for c in item.changes if c[0] <= at]
        if last and last[-1][1] == "fresh":
            found[item.slug] = 0.0
        elif last and last[-1][1] in JUDGED:
            due = last[-1][2]
            assert due is not None
            found[item.slug] = (at - due).total_seconds() / 86400
    return found


# -- tests -------------------------------------------------------------------------------------------

@pytest.fixture
def scenario(instance: Instance) -> Instance:
    build(instance)
    return instance


@pytest.fixture
def client(scenario: Instance) -> FlaskClient:
    return create_app({"TESTING": True}, instance=scenario).test_client()


def test_scorecard_figures_at_now(scenario: Instance) -> None:
    card = scorecard(scenario, "leeds", NOW)
    data = card.to_dict()
    assert data["share_fresh"] == share("leeds", NOW) == 33.3
    assert data["counts"]["fresh"] == 1 and data["counts"]["overdue"] == 1
    assert data["counts"]["delinquent"] == 1 and data["counts"]["exempt"] == 1
    assert data["judged"] == 3 and data["datasets"] == 4
    expected = lags("leeds", NOW)
    assert expected["bins"] == 23.5  # 15 Mar 12:00 − 20 Feb 00:00
    assert data["median_lag_days"] == round(statistics.median(expected.values()), 2) == 23.5
    assert data["worst_lag"] == {"dataset": "old", "title": "Old register",
                                 "days": round(max(expected.values()), 2)}
    assert data["publisher_name"] == "Leeds Council"
    rows = {row["slug"]: row for row in data["per_dataset"]}
    assert rows["bins"]["status"] == "overdue" and rows["bins"]["lag_days"] == 23.5
    assert rows["bins"]["since"] == utc(2026, 3, 1).isoformat()
    assert rows["parks"]["lag_days"] is None
    assert [row["slug"] for row in data["per_dataset"]][:3] == ["old", "bins", "trees"]  # worst first
    assert set(data["definitions"]) >= {"status", "share_fresh", "lag", "never_updated", "trend", "mqa"}


def test_never_updated(scenario: Instance) -> None:
    assert [d["slug"] for d in scorecard(scenario, "leeds", NOW).to_dict()["never_updated"]] == ["old"]
    # york/lights changed after it was first seen; hull's datasets too; bath/gone is withdrawn
    assert scorecard(scenario, "bath", NOW).to_dict()["never_updated"] == []
    # zeal/late: never changed, but first seen 64 days before NOW, more than its monthly (30-day) period
    assert [d["slug"] for d in scorecard(scenario, "zeal", NOW).to_dict()["never_updated"]] == ["late"]
    # ... and not yet 30 days after it was first seen
    assert scorecard(scenario, "zeal", utc(2026, 2, 5)).to_dict()["never_updated"] == []


def test_trend_points_and_changes(scenario: Instance) -> None:
    data = scorecard(scenario, "leeds", NOW).to_dict()
    points = data["trend"]["points"]
    instants = [utc(2025, month, 1) for month in range(4, 13)] + [utc(2026, month, 1) for month in (1, 2, 3)]
    assert [p["at"] for p in points] == [i.isoformat() for i in instants] + [NOW.isoformat()]
    assert [p["share_fresh"] for p in points] == [share("leeds", i) for i in instants + [NOW]]
    assert points[0]["label"] == "Mar 2025" and points[-2]["label"] == "Feb 2026"
    assert points[-1]["counts"] == data["counts"]
    # end of Jan 2026: trees overdue, bins fresh, old delinquent → 1 of 3
    assert points[-3]["share_fresh"] == 33.3 and points[-3]["counts"]["overdue"] == 1
    three = data["trend"]["change_3m"]
    assert three["since"] == utc(2025, 12, 15, 12).isoformat()
    assert three["share_fresh_then"] == share("leeds", utc(2025, 12, 15, 12)) == 66.7
    assert three["points"] == round(100 / 3 - 200 / 3, 1) == -33.3 and three["arrow"] == "▼"
    twelve = data["trend"]["change_12m"]
    # 15 Mar 2025: trees fresh, old due, bins not yet seen → 1 of 2
    assert twelve["share_fresh_then"] == 50.0 and twelve["points"] == round(100 / 3 - 50, 1)
    york = scorecard(scenario, "york", NOW).to_dict()["trend"]
    assert york["change_12m"]["points"] == 50.0 - 100.0 and york["change_12m"]["arrow"] == "▼"
    bath = scorecard(scenario, "bath", NOW).to_dict()
    assert bath["share_fresh"] is None and bath["trend"]["change_3m"]["arrow"] == ""
    assert bath["counts"]["withdrawn"] == 1 and bath["counts"]["unknown"] == 1 and bath["datasets"] == 1


def test_month_ends_and_quarters() -> None:
    assert month_ends(utc(2026, 3, 1))[-1] == utc(2026, 2, 1)  # the month ending at `now` is `now`'s point
    assert month_ends(utc(2026, 1, 31, 23))[0] == utc(2025, 2, 1)
    assert last_quarter(NOW) == (utc(2025, 10, 1), utc(2026, 1, 1))
    assert last_quarter(utc(2026, 10, 1)) == (utc(2026, 7, 1), utc(2026, 10, 1))


def test_scorecard_at_an_earlier_instant_and_unknown_publisher(scenario: Instance) -> None:
    earlier = scorecard(scenario, "leeds", utc(2025, 12, 15, 12)).to_dict()
    assert earlier["share_fresh"] == 66.7
    assert {row["slug"] for row in earlier["per_dataset"]} == {"trees", "bins", "old", "parks"}
    before_bins = scorecard(scenario, "leeds", utc(2025, 5, 1)).to_dict()
    assert "bins" not in {row["slug"] for row in before_bins["per_dataset"]}  # first seen later
    with pytest.raises(NotFoundError):
        scorecard(scenario, "nobody", NOW)


PUBLISHERS = ("bath", "hull", "kent", "leeds", "york", "zeal")


def ranked(instance: Instance, at: datetime) -> list[tuple[int, str]]:
    """Competition ranking by share fresh then MQA mean (both descending, missing last), from the scenario
    and the MQA assessments: publishers equal on both share a rank."""
    means = {p: publisher_mqa(scores).total for p in PUBLISHERS
             if (scores := assess_all(instance, p))}
    keys = {p: (share(p, at) if share(p, at) is not None else -1, means.get(p, -1))
            for p in PUBLISHERS if any(i.publisher == p and exists(i, at) for i in SCENARIO)}
    return sorted(((1 + sum(other > key for other in keys.values()), p) for p, key in keys.items()))


def test_league_table_ranks_and_ties(scenario: Instance) -> None:
    rows = [row.to_dict() for row in league_table(scenario, NOW)]
    # york and hull are both 1 of 2 fresh, york's metadata is better; kent is hull's twin
    assert [(r["rank"], r["publisher"]) for r in rows] == ranked(scenario, NOW) == [
        (1, "york"), (2, "hull"), (2, "kent"), (4, "leeds"), (5, "bath"), (5, "zeal")]
    shares = {r["publisher"]: r["share_fresh"] for r in rows}
    assert shares == {p: share(p, NOW) for p in PUBLISHERS}
    york = next(r for r in rows if r["publisher"] == "york")
    assert york["worst_lag"]["dataset"] == "lights"
    assert york["median_lag_days"] == round(statistics.median(lags("york", NOW).values()), 2)
    # a year earlier zeal did not exist yet; all but leeds were all fresh
    earlier = [(r.rank, r.card.publisher) for r in league_table(scenario, utc(2025, 3, 15))]
    assert earlier == ranked(scenario, utc(2025, 3, 15)) == [
        (1, "york"), (2, "hull"), (2, "kent"), (4, "bath"), (5, "leeds")]


# -- pages and their JSON twins ----------------------------------------------------------------------

def _text(node: Any) -> str:
    return " ".join(node.text_content().split())


def test_league_page_and_json_agree(client: FlaskClient) -> None:
    data = client.get(f"/publishers.json?now={NOW:%Y-%m-%dT%H:%M:%SZ}").get_json()
    page = client.get(f"/publishers?now={NOW:%Y-%m-%dT%H:%M:%SZ}")
    assert page.status_code == 200
    tree = lxml.html.fromstring(page.get_data(as_text=True))
    shown = tree.xpath("//table[contains(@class,'league')]/tbody/tr")
    assert [tr.get("data-publisher") for tr in shown] == [r["publisher"] for r in data["publishers"]]
    for tr, row in zip(shown, data["publishers"]):
        cells = tr.xpath("./td|./th")
        assert _text(cells[0]) == str(row["rank"])
        assert _text(cells[2]) == str(row["datasets"])
        expected_share = "none judged" if row["share_fresh"] is None else f"{row['share_fresh']:.1f} %"
        assert expected_share in _text(cells[3])
        if row["change_12m"]["points"] is not None:
            assert f"{row['change_12m']['arrow']} {row['change_12m']['points']:+.1f} pts" == _text(cells[8])
    assert data["ask"]["quarter"] == {"start": utc(2025, 10, 1).isoformat(), "end": utc(2026, 1, 1).isoformat()}


def _charts(html: str) -> list[str]:
    """The inline SVG elements of a page, as served (cut at their figure tags, not parsed as HTML)."""
    found, rest = [], html
    while '<figure class="chart">' in rest:
        rest = rest.split('<figure class="chart">', 1)[1]
        chart, rest = rest.split("</figure>", 1)
        found.append(chart)
    return found


def test_scorecard_page_json_and_charts(client: FlaskClient) -> None:
    data = client.get("/publisher/leeds/scorecard.json?now=2026-03-15T12:00:00Z").get_json()
    page = client.get("/publisher/leeds/scorecard?now=2026-03-15T12:00:00")  # no offset: UTC
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    tree = lxml.html.fromstring(html)
    assert f"{data['share_fresh']:.1f} %" in _text(tree.xpath("//dd[@class='share-fresh']")[0])
    assert _text(tree.xpath("//dd[@class='median-lag']")[0]) == f"{data['median_lag_days']:.2f} d"
    assert data["worst_lag"]["title"] in _text(tree.xpath("//dd[@class='worst-lag']")[0])
    assert _text(tree.xpath("//dd[@class='datasets']")[0]) == str(data["datasets"])
    shown = {tr.get("data-slug"): tr.xpath("./td/span[starts-with(@class,'status ')]")[0].text
             for tr in tree.xpath("//table[contains(@class,'per-dataset')]/tbody/tr")}
    assert shown == {row["slug"]: row["status"] for row in data["per_dataset"]}
    trend_rows = tree.xpath("//table[contains(@class,'trend-table')]/tbody/tr")
    assert len(trend_rows) == len(data["trend"]["points"]) == 13
    for tr, point in zip(trend_rows, data["trend"]["points"]):
        assert _text(tr.xpath("./th")[0]) == point["label"]
        expected = "none judged" if point["share_fresh"] is None else f"{point['share_fresh']:.1f} %"
        assert expected in _text(tr.xpath("./td")[0])
    assert "never-updated" in html and "Old register" in _text(tree.xpath("//section[@id='never-updated']")[0])
    charts = _charts(html)
    assert len(charts) == 2
    svg = "{http://www.w3.org/2000/svg}"
    for chart in charts:
        root = ET.fromstring(chart)  # well-formed XML
        assert root.tag == f"{svg}svg" and root.get("role") == "img"
        title, desc = root.find(f"{svg}title"), root.find(f"{svg}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert root.find(f".//{svg}script") is None and "<script" not in chart
    share_desc = ET.fromstring(charts[0]).find(f"{svg}desc")
    assert share_desc is not None and f"now ({NOW:%Y-%m-%d}): 33.3 %" in (share_desc.text or "")
    assert "Ask it yourself" in html and "prov:startedAtTime" in html


def test_bad_instant_and_unknown_publisher(client: FlaskClient) -> None:
    for url in ("/publisher/leeds/scorecard.json?now=yesterday", "/publishers.json?now=2026-13-01"):
        response = client.get(url)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "portal/usage"
        assert response.get_json()["error"]["status"] == 400
    assert client.get("/publisher/leeds/scorecard?now=nope").status_code == 400
    missing = client.get("/publisher/nobody/scorecard.json")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "portal/not-found"
    assert client.get("/publisher/nobody/scorecard").status_code == 404


# -- metadata quality (portal.mqa) -------------------------------------------------------------------

def test_mqa_on_the_scorecard_and_in_the_league(scenario: Instance) -> None:
    york = scorecard(scenario, "york", NOW).to_dict()
    hull = scorecard(scenario, "hull", NOW).to_dict()
    assert york["mqa"] == publisher_mqa(assess_all(scenario, "york")).to_dict()
    # the only difference between york's records and hull's is the keywords: 30 points (Findability)
    assert york["mqa"]["total"] - hull["mqa"]["total"] == 30
    assert york["mqa"]["dimensions"]["findability"]["points"] - hull["mqa"]["dimensions"]["findability"]["points"] == 30
    assert sum(d["max"] for d in york["mqa"]["dimensions"].values()) == york["mqa"]["max"] == 405
    assert "keyword-availability" in {f["key"] for f in hull["mqa"]["fix_first"]}
    assert "keyword-availability" not in {f["key"] for f in york["mqa"]["fix_first"]}
    totals = {score.slug: score.total for score in assess_all(scenario, "york")}
    assert {row["slug"]: row["mqa_total"] for row in york["per_dataset"]} == totals
    first = {row["slug"]: row["mqa_fix_first"]["key"] for row in hull["per_dataset"]}
    assert first == {score.slug: score.fix_first[0].key for score in assess_all(scenario, "hull")}
    bath = {row["slug"]: row for row in scorecard(scenario, "bath", NOW).to_dict()["per_dataset"]}
    assert bath["gone"]["mqa_total"] is None and bath["mystery"]["mqa_total"] is not None  # withdrawn: not assessed
    league = {row.card.publisher: row.to_dict() for row in league_table(scenario, NOW)}
    assert league["york"]["mqa_total"] == york["mqa"]["total"]
    assert league["york"]["mqa_rating"] == york["mqa"]["rating"]


def test_mqa_panel_shows_the_json_figures(client: FlaskClient) -> None:
    data = client.get("/publisher/hull/scorecard.json").get_json()["mqa"]
    tree = lxml.html.fromstring(client.get("/publisher/hull/scorecard").get_data(as_text=True))
    panel = tree.xpath("//section[@id='mqa']")[0]
    assert f"{data['total']:.1f}" in _text(panel.xpath(".//span[@class='mqa-publisher']")[0])
    assert data["rating"] in _text(panel.xpath(".//span[@class='mqa-publisher']")[0])
    rows = panel.xpath(".//tr[@data-dimension]")
    assert {tr.get("data-dimension"): (_text(tr.xpath("./td")[0]), _text(tr.xpath("./td")[1])) for tr in rows} == {
        name: (f"{d['points']:.1f}", str(d["max"])) for name, d in data["dimensions"].items()}
    assert len(rows) == 5
    fixes = panel.xpath(".//ol[@class='fix-first']/li")
    assert [li.get("data-key") for li in fixes] == [f["key"] for f in data["fix_first"]]
    for li, fix in zip(fixes, data["fix_first"]):
        assert _text(li.xpath("./span[@class='gain']")[0]) == f"+{fix['gain'] / data['datasets']:.1f}"


# -- DQV through SPARQL ------------------------------------------------------------------------------

def overlapping(start: datetime, end: datetime) -> dict[str, int]:
    """Publishers with datasets overdue or delinquent at some time in [start, end), from the scenario."""
    found: dict[str, set[str]] = {}
    for item in SCENARIO:
        for index, (begins, status, _due) in enumerate(item.changes):
            ends = item.changes[index + 1][0] if index + 1 < len(item.changes) else None
            if status in ("overdue", "delinquent") and begins < end and (ends is None or ends > start):
                found.setdefault(item.publisher, set()).add(item.slug)
    return {publisher: len(slugs) for publisher, slugs in found.items()}


def test_history_graph_has_one_measurement_per_period(scenario: Instance) -> None:
    graph = history_graph(scenario)
    periods = list(graph.subjects(DQV.isMeasurementOf, None))
    assert len(periods) == sum(len(item.changes) for item in SCENARIO)
    open_periods = [p for p in periods if graph.value(p, PROV.endedAtTime) is None]
    assert len(open_periods) == sum(1 for item in SCENARIO if item.changes)


def test_the_league_page_serves_the_table_kept_at_the_last_publication(scenario: Instance,
                                                                        client: FlaskClient) -> None:
    live = client.get("/publishers.json").get_json()  # nothing published yet: computed at this instant
    assert live["basis"] == "computed"
    assert datetime.fromisoformat(live["at"]) > NOW + timedelta(days=200)
    publish_scorecards(scenario, NOW)
    kept = client.get("/publishers.json").get_json()
    assert kept["basis"] == "published" and kept["at"] == NOW.isoformat()
    assert kept["publishers"] == [row.to_dict() for row in league_table(scenario, NOW)]
    assert kept["ask"]["quarter"]["start"] == utc(2025, 10, 1).isoformat()
    page = lxml.html.fromstring(client.get("/publishers").get_data(as_text=True))
    assert [tr.get("data-publisher") for tr in page.xpath("//table[contains(@class,'league')]/tbody/tr")] == \
        [row["publisher"] for row in kept["publishers"]]
    assert "as published after the last harvest" in _text(page.xpath("//main")[0])
    later = NOW + timedelta(days=40)
    publish_scorecards(scenario, later)  # the next evaluation: the kept table moves with it
    moved = client.get("/publishers.json").get_json()
    assert moved["at"] == later.isoformat()
    assert moved["publishers"] == [row.to_dict() for row in league_table(scenario, later)] != kept["publishers"]
    asked = client.get(f"/publishers.json?now={NOW:%Y-%m-%dT%H:%M:%SZ}").get_json()  # ?now= computes
    assert asked["basis"] == "computed" and asked["publishers"] == kept["publishers"]


def test_a_kept_league_table_that_cannot_be_read_is_computed_again(scenario: Instance,
                                                                   client: FlaskClient) -> None:
    with scenario.session() as session:
        session.merge(InstanceInfo(key=LEAGUE, value="{not json"))
    data = client.get("/publishers.json").get_json()
    assert data["basis"] == "computed" and {row["publisher"] for row in data["publishers"]} >= {"leeds", "york"}


def test_overdue_last_quarter_through_sparql(scenario: Instance) -> None:
    assert publish_scorecards(scenario, NOW) is True
    assert publish_scorecards(scenario, NOW) is False  # nothing changed: nothing written
    assert publish_scorecards(scenario, NOW + timedelta(days=2)) is False  # nor later in the same month
    text = scenario.store.graph_ntriples(scenario.uris.portal_graph("scorecards")).decode("utf-8")
    lines = text.splitlines()  # written as text: each line one well-formed triple, none twice
    parsed = Graph().parse(data=text, format="nt")
    assert len(parsed) == len(lines) == len(set(lines))
    assert all(isinstance(o, Literal) or isinstance(o, URIRef) for o in parsed.objects())
    values = [o for o in parsed.objects(predicate=DQV.value) if isinstance(o, Literal)]
    assert values and all(o.datatype in (namespaces.XSD.decimal, None) for o in values)
    start, end = last_quarter(NOW)
    query = overdue_query(scenario.uris, start, end)
    rows = select_rows(scenario.store, query)
    answer = {row["publisher"].rsplit("/", 1)[-1]: int(row["datasets"]) for row in rows}
    # leeds/old delinquent from April; hull/h1 overdue in November; bath/gone delinquent until withdrawn
    # in November. Not hull/h3 (from the quarter's end) nor hull/h4 (until its start); york only due.
    assert answer == overlapping(start, end) == {"leeds": 1, "hull": 1, "bath": 1}
    assert [row["publisher"] for row in rows][0] in {scenario.uris.publisher(p) for p in answer}
    # the quarter before: hull/h4 was overdue (August–September), bath/gone delinquent from September
    earlier = {row["publisher"].rsplit("/", 1)[-1]: int(row["datasets"])
               for row in select_rows(scenario.store, overdue_query(scenario.uris, *last_quarter(start)))}
    assert earlier == overlapping(*last_quarter(start)) == {"leeds": 1, "hull": 1, "bath": 1}
    monthly = select_rows(scenario.store, f"""
        PREFIX dqv: <http://www.w3.org/ns/dqv#> PREFIX dct: <http://purl.org/dc/terms/>
        SELECT ?date ?value WHERE {{ GRAPH <{scenario.uris.portal_graph('scorecards')}> {{
          ?m dqv:computedOn <{scenario.uris.publisher('leeds')}> ; dqv:value ?value ; dct:date ?date }} }}
        ORDER BY ?date""")
    assert [float(row["value"]) for row in monthly] == [share("leeds", at) for at in month_ends(NOW)]
    roads = select_rows(scenario.store, f"""
        PREFIX dqv: <http://www.w3.org/ns/dqv#>
        SELECT ?value WHERE {{ GRAPH <{scenario.uris.portal_graph('scorecards')}> {{
          ?m dqv:computedOn <{scenario.uris.dataset('york', 'roads')}> ;
             dqv:isMeasurementOf <{scenario.uris.portal_term('mqa-score')}> ; dqv:value ?value }} }}""")
    assert [float(row["value"]) for row in roads] == [
        next(s.total for s in assess_all(scenario, "york") if s.slug == "roads")]


def test_the_page_query_runs_on_the_sparql_endpoint(scenario: Instance) -> None:
    publish_scorecards(scenario, NOW)
    app = create_app({"TESTING": True}, instance=scenario)
    try:
        client = app.test_client()
        ask = client.get("/publisher/hull/scorecard.json?now=2026-03-15T12:00:00Z").get_json()["ask"]
        response = client.get("/sparql", query_string={"query": ask["query"]},
                              headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        publishers = {b["publisher"]["value"] for b in response.get_json()["results"]["bindings"]}
        assert publishers == {scenario.uris.publisher(p) for p in overlapping(*last_quarter(NOW))}
    finally:
        close_query_pool(app)


def test_a_publication_left_behind_is_made_up_by_the_next_freshness_run(scenario: Instance) -> None:
    from sqlalchemy import select

    from portal.scheduler import freshness_job
    from portal.scorecard_graph import refresh_scorecards, scorecards_behind

    assert scorecards_behind(scenario, NOW)  # never published
    assert refresh_scorecards(scenario, NOW) is True
    assert not scorecards_behind(scenario, NOW)
    assert refresh_scorecards(scenario, NOW) is False  # current: nothing to do
    assert scorecards_behind(scenario, NOW + timedelta(days=20))  # a new month: its measurement is due
    freshness_job(scenario.settings)  # today's statuses recorded, and published with them
    today = datetime.now(timezone.utc)
    assert not scorecards_behind(scenario, today)
    with scenario.session() as session:  # a status recorded by a path that did not publish (or crashed)
        dataset = session.scalars(select(Dataset).where(Dataset.slug == "roads")).one()
        session.add(FreshnessStatus(dataset_id=dataset.id, evaluated_at=today, status=dataset.freshness_status,
                                    previous=dataset.freshness_status))
    assert scorecards_behind(scenario, today)
    freshness_job(scenario.settings)  # nothing changes in this run, yet it publishes what was left behind
    assert not scorecards_behind(scenario, datetime.now(timezone.utc))
