"""The CKAN-compatible Action API: through Flask's test client, and through the real `ckanapi` client
against the portal served by waitress on loopback.

Two catalogues: the bundled demo catalogue served over loopback HTTP and harvested for real, and a
catalogue of a few thousand datasets written straight into the database (paging, filters, how many
queries a page costs).
"""

from __future__ import annotations

import functools
import json
import http.server
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import ckanapi
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, insert, select

from portal.ckan_view import row_id_of
from portal.config import load_settings
from portal.db import Dataset, Resource, Source
from portal.instance import Instance
from portal.pipeline import add_source, harvest
from portal.publication import withdraw_dataset
from portal.web import create_app
from tests.conftest import BASE_URL, DEMO, SHARED, serve_http, serve_wsgi
from tests.test_migrations import postgres, postgres_database  # noqa: F401  (a fixture, and its helper)

API = "/api/3/action"
#: The bulk catalogue: how many datasets, publishers, and which of them are withdrawn.
BULK = 3000
PUBLISHERS = [f"town-{n}" for n in range(7)]
TOPICS = ["trees", "toilets", "budget", "parking", "straße"]
BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


def withdrawn(n: int) -> bool:
    return n % 50 == 7


def changed_late(n: int) -> bool:
    return n % 5 == 0


# --- the catalogues -----------------------------------------------------------------------------

class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Static files, without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def open_instance(folder: Path, **values: Any) -> Instance:
    return Instance(load_settings({"instance": str(folder), "base_url": BASE_URL, "allow_private_addresses": True,
                                   **values}, environ={}))


@pytest.fixture(scope="module")
def demo_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled demo catalogue and its tables served over loopback HTTP; yields the catalogue's URL."""
    root = tmp_path_factory.mktemp("demo-www")
    shutil.copyfile(DEMO / "catalog.ttl", root / "catalog.ttl")
    shutil.copytree(DEMO / "files", root / "files")
    with serve_http(functools.partial(QuietFiles, directory=str(root))) as (url, _):
        yield f"{url}/catalog.ttl"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_catalogue: str) -> Iterator[Instance]:
    """An instance that has harvested the demo catalogue from loopback HTTP (tests only read it)."""
    with open_instance(tmp_path_factory.mktemp("demo") / "instance") as instance:
        add_source(instance, "demo", demo_catalogue)
        assert harvest(instance, "demo").datasets_seen == 5
        yield instance


def fill(instance: Instance) -> None:
    """Write the bulk catalogue straight into the database: datasets, some withdrawn, some with resources."""
    with instance.session() as session:
        source = Source(name="bulk", url="http://bulk.example/catalog.ttl", kind="dcat")
        session.add(source)
        session.flush()
        session.execute(insert(Dataset), [{
            "source_id": source.id, "publisher": PUBLISHERS[n % len(PUBLISHERS)],
            "publisher_name": f"Town {n % len(PUBLISHERS)}", "slug": f"dataset-{n:05d}", "identifier": f"ds-{n}",
            "title": f"Dataset {n} about {TOPICS[n % len(TOPICS)]}", "description": f"Number {n}.",
            "metadata_json": {"keywords": [TOPICS[n % len(TOPICS)], "open data"],
                              "licence": "http://creativecommons.org/licenses/by/4.0/" if n % 2 else None},
            "first_seen": BASE_TIME + timedelta(seconds=n // 10),  # ten datasets share each instant
            "last_seen": BASE_TIME,
            "last_content_change": BASE_TIME + timedelta(days=1) if changed_late(n) else None,
            "record_modified": BASE_TIME + timedelta(days=1) if changed_late(n) else (
                BASE_TIME + timedelta(seconds=n // 10)),
            "status": "withdrawn" if withdrawn(n) else "active",
        } for n in range(BULK)])
        ids = {identifier: row_id for identifier, row_id in session.execute(
            select(Dataset.identifier, Dataset.id))}
        session.execute(insert(Resource), [{
            "dataset_id": ids[f"ds-{n}"], "slug": "table", "url": f"http://bulk.example/{n}.data",
            "title": "Table", "media_type": "text/csv" if n % 3 == 0 else "application/json",
        } for n in range(BULK) if n % 3 != 2])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def bulk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """An instance holding the bulk catalogue, on SQLite and on a real PostgreSQL (tests only read it)."""
    values = {}
    if request.param == "postgresql":
        values["database_url"] = postgres_database(request.getfixturevalue("postgres"), "lodestar_ckan_api")
    with open_instance(tmp_path_factory.mktemp("bulk") / "instance", **values) as instance:
        fill(instance)
        yield instance


def client_of(instance: Instance) -> FlaskClient:
    return create_app({"TESTING": True}, instance=instance).test_client()


def active_numbers() -> list[int]:
    return [n for n in range(BULK) if not withdrawn(n)]


def search(client: FlaskClient, **params: Any) -> dict[str, Any]:
    response = client.get(f"{API}/package_search", query_string=params)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["success"] is True
    result: dict[str, Any] = body["result"]
    return result


def number_of(package: dict[str, Any]) -> int:
    return int(package["name"].rsplit("-", 1)[1])


# --- the envelope and the small actions ----------------------------------------------------------

def test_status_show_in_ckans_envelope(bulk: Instance) -> None:
    body = client_of(bulk).get(f"{API}/status_show").get_json()
    assert set(body) == {"help", "success", "result"}
    assert body["help"] == "http://localhost/api/3/action/help_show?name=status_show"
    assert body["success"] is True
    major, minor, _ = body["result"]["ckan_version"].split(".")
    assert (int(major), int(minor)) >= (2, 9)
    assert body["result"]["site_url"] == BASE_URL
    helped = client_of(bulk).get(body["help"].removeprefix("http://localhost")).get_json()
    assert helped["success"] is True and "CKAN version" in helped["result"]


def test_both_api_paths_answer(bulk: Instance) -> None:
    client = client_of(bulk)
    short = client.get("/api/action/package_list?limit=3").get_json()
    assert short["result"] == client.get(f"{API}/package_list?limit=3").get_json()["result"]
    assert len(short["result"]) == 3
    assert client.get("/api/3").get_json() == {"version": 3}


def test_package_list_is_every_active_name_in_order_with_limit_and_offset(bulk: Instance) -> None:
    client = client_of(bulk)
    names = client.get(f"{API}/package_list").get_json()["result"]
    expected = sorted(f"{PUBLISHERS[n % 7]}--dataset-{n:05d}" for n in active_numbers())
    assert names == expected
    assert client.get(f"{API}/package_list?limit=5&offset=10").get_json()["result"] == expected[10:15]


def test_organization_list_and_show(bulk: Instance) -> None:
    client = client_of(bulk)
    assert client.get(f"{API}/organization_list").get_json()["result"] == PUBLISHERS  # titles sort like names
    orgs = client.get(f"{API}/organization_list?all_fields=true&limit=2&offset=1").get_json()["result"]
    assert [o["name"] for o in orgs] == PUBLISHERS[1:3]
    counts = {p: sum(1 for n in active_numbers() if n % 7 == i) for i, p in enumerate(PUBLISHERS)}
    assert orgs[0]["package_count"] == counts["town-1"] and orgs[0]["title"] == "Town 1"
    shown = client.get(f"{API}/organization_show?id={orgs[0]['id']}&include_datasets=true").get_json()["result"]
    assert shown["name"] == "town-1" and shown["package_count"] == counts["town-1"]
    assert len(shown["packages"]) == counts["town-1"]
    assert {p["organization"]["name"] for p in shown["packages"]} == {"town-1"}
    by_name = client.get(f"{API}/organization_show?id=town-1").get_json()["result"]
    assert "packages" not in by_name and by_name["id"] == orgs[0]["id"]


# --- package_search ------------------------------------------------------------------------------

@pytest.mark.parametrize("sort", [None, "name asc", "metadata_modified desc", "id asc",
                                  "metadata_modified asc, id asc", "title desc", "score desc, metadata_modified desc"])
def test_paging_covers_every_dataset_exactly_once(bulk: Instance, sort: str | None) -> None:
    client = client_of(bulk)
    params = {"sort": sort} if sort else {}
    seen: list[dict[str, Any]] = []
    for start in range(0, BULK, 397):
        page = search(client, rows=397, start=start, **params)
        assert page["count"] == len(active_numbers())
        seen += page["results"]
    assert sorted(number_of(p) for p in seen) == active_numbers()
    assert len({p["id"] for p in seen}) == len(seen)
    if sort == "id asc":
        assert [p["id"] for p in seen] == sorted(p["id"] for p in seen)
    if sort == "name asc":
        assert [p["name"] for p in seen] == sorted(p["name"] for p in seen)
    if sort and sort.startswith("metadata_modified"):
        stamps = [p["metadata_modified"] for p in seen]
        assert stamps == sorted(stamps, reverse=sort.endswith("desc"))


def test_rows_are_capped_at_1000_and_default_to_10(bulk: Instance) -> None:
    client = client_of(bulk)
    assert len(search(client)["results"]) == 10
    assert len(search(client, rows=5000)["results"]) == 1000


def test_organization_filter(bulk: Instance) -> None:
    client = client_of(bulk)
    result = search(client, fq="organization:town-3", rows=1000)
    expected = [n for n in active_numbers() if n % 7 == 3]
    assert result["count"] == len(expected)
    assert sorted(number_of(p) for p in result["results"]) == expected
    assert {p["organization"]["name"] for p in result["results"]} == {"town-3"}
    owner = result["results"][0]["owner_org"]
    assert search(client, fq=f"owner_org:{owner}", rows=0)["count"] == len(expected)
    either = search(client, fq="organization:town-3 OR organization:town-4", rows=0)["count"]
    assert either == len(expected) + sum(1 for n in active_numbers() if n % 7 == 4)
    assert search(client, fq="-organization:town-3", rows=0)["count"] == len(active_numbers()) - len(expected)


def test_free_text_search_over_title_description_name_and_tags(bulk: Instance) -> None:
    client = client_of(bulk)
    toilets = [n for n in active_numbers() if n % 5 == 1]
    result = search(client, q="toilets", rows=1000)
    assert sorted(number_of(p) for p in result["results"]) == toilets
    assert search(client, q="TOILETS dataset", rows=0)["count"] == len(toilets)  # terms side by side: all
    assert search(client, q="toilets trees", rows=0)["count"] == 0
    assert search(client, q="toilets OR trees", rows=0)["count"] == len(toilets) + sum(
        1 for n in active_numbers() if n % 5 == 0)
    assert [number_of(p) for p in search(client, q='"Number 1234."')["results"]] == [1234]
    assert search(client, q="town-2--dataset-00009", rows=0)["count"] == 1  # the name
    assert search(client, q="*:*", rows=0)["count"] == len(active_numbers())
    assert search(client, q="nothing-like-this", rows=0)["count"] == 0


def test_tag_and_format_filters(bulk: Instance) -> None:
    client = client_of(bulk)
    assert search(client, fq="tags:straße", rows=0)["count"] == sum(1 for n in active_numbers() if n % 5 == 4)
    assert search(client, fq='tags:"open data"', rows=0)["count"] == len(active_numbers())
    assert search(client, fq="tags:open", rows=0)["count"] == 0  # a tag is matched whole
    csv = search(client, fq="res_format:CSV", rows=1000)
    assert sorted(number_of(p) for p in csv["results"]) == [n for n in active_numbers() if n % 3 == 0]
    assert all(p["resources"][0]["format"] == "CSV" for p in csv["results"])
    assert search(client, fq="res_format:csv AND tags:trees", rows=0)["count"] == sum(
        1 for n in active_numbers() if n % 15 == 0)


def test_metadata_modified_ranges_as_ckan_harvesters_send_them(bulk: Instance) -> None:
    client = client_of(bulk)
    late = [n for n in active_numbers() if changed_late(n)]
    since = (BASE_TIME + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = search(client, fq=f"metadata_modified:[{since} TO *]", rows=1000, sort="metadata_modified asc, id asc")
    assert sorted(number_of(p) for p in result["results"]) == late
    assert search(client, fq=f"metadata_modified:[* TO {since}]", rows=0)["count"] == len(active_numbers()) - len(late)
    assert search(client, fq=f"metadata_modified:{{{since} TO NOW]", rows=0)["count"] == len(late)
    first = [n for n in active_numbers() if n < 10]  # the first ten share the first instant
    exact = search(client, fq=r"metadata_created:2025-03-01T12\:00\:00Z", rows=100)
    assert sorted(number_of(p) for p in exact["results"]) == first


def test_the_queries_ckanext_harvest_sends(bulk: Instance) -> None:
    """Organization and group filters joined by spaces, a since-range with microseconds, id order, 1000 rows."""
    client = client_of(bulk)
    since = (BASE_TIME + timedelta(hours=11)).isoformat().replace("+00:00", "") + ".000000"
    terms = ["organization:town-1 OR organization:town-2", f"metadata_modified:[{since}Z TO *]"]
    expected = [n for n in active_numbers() if n % 7 in (1, 2) and changed_late(n)]
    seen: list[dict[str, Any]] = []
    for start in range(0, 3000, 1000):
        seen += search(client, fq=" ".join(terms), rows=1000, start=start, sort="id asc")["results"]
    assert sorted(number_of(p) for p in seen) == expected
    excluded = search(client, fq="-organization:town-1 -organization:town-2", rows=0)["count"]
    assert excluded == sum(1 for n in active_numbers() if n % 7 not in (1, 2))
    assert search(client, fq="groups:parks", rows=0)["count"] == 0
    assert search(client, fq="-groups:parks +dataset_type:dataset", rows=0)["count"] == len(active_numbers())


def test_fields_list_and_facets(bulk: Instance) -> None:
    client = client_of(bulk)
    page = search(client, fl="id,name", rows=3, sort="name asc")
    assert [set(p) for p in page["results"]] == [{"id", "name"}] * 3
    faceted = search(client, rows=0, fq="organization:town-0",
                     **{"facet.field": '["organization", "res_format", "tags", "license_id"]'})
    total = faceted["count"]
    assert faceted["facets"]["organization"] == {"town-0": total}
    assert faceted["search_facets"]["organization"]["items"] == [
        {"name": "town-0", "display_name": "Town 0", "count": total}]
    assert faceted["facets"]["tags"]["open data"] == total
    numbers = [n for n in active_numbers() if n % 7 == 0]
    assert faceted["facets"]["res_format"] == {"CSV": sum(1 for n in numbers if n % 3 == 0),
                                               "JSON": sum(1 for n in numbers if n % 3 == 1)}
    assert faceted["facets"]["license_id"] == {"cc-by": sum(1 for n in numbers if n % 2),
                                               "notspecified": sum(1 for n in numbers if not n % 2)}


def test_a_page_costs_a_few_queries_whatever_the_catalogue_size(bulk: Instance) -> None:
    client = client_of(bulk)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(bulk.engine, "before_cursor_execute", count)
    try:
        for rows in (10, 1000):
            statements.clear()
            search(client, rows=rows, start=500, fq="tags:trees", sort="metadata_modified desc")
            assert len(statements) <= 4, statements  # count, page, resources, their latest versions
            [page] = [s for s in statements if s.lstrip().startswith("SELECT datasets.id")]
            assert "LIMIT" in page
    finally:
        event.remove(bulk.engine, "before_cursor_execute", count)


# --- package_show and the demo catalogue ---------------------------------------------------------

def test_package_show_by_id_and_by_name(demo: Instance) -> None:
    client = client_of(demo)
    [found] = search(client, q="toilets")["results"]
    by_name = client.get(f"{API}/package_show?id={found['name']}").get_json()["result"]
    by_id = client.get(f"{API}/package_show", query_string={"id": found["id"]}).get_json()["result"]
    assert by_name == by_id == found
    assert found["name"] == "lambeth--community-toilets" and found["title"] == "Community toilets"
    assert found["organization"]["name"] == "lambeth" and found["owner_org"] == found["organization"]["id"]
    assert found["license_id"] == "uk-ogl" and found["isopen"] is True
    assert {t["name"] for t in found["tags"]} == {"toilets", "public health", "accessibility"}
    extras = {e["key"]: e["value"] for e in found["extras"]}
    assert extras["frequency"] == "http://publications.europa.eu/resource/authority/frequency/ANNUAL"
    assert extras["uri"] == f"{BASE_URL}/dataset/lambeth/community-toilets"
    [resource] = found["resources"]
    assert resource["url"].endswith("/files/lambeth-community-toilets.csv") and resource["format"] == "CSV"
    toilets = (DEMO / "files" / "lambeth-community-toilets.csv").read_bytes()
    assert resource["size"] == len(toilets) and resource["package_id"] == found["id"]
    assert uuid.UUID(found["id"]).version == 8 and row_id_of(found["id"]) is not None
    stamp = datetime.fromisoformat(found["metadata_modified"])
    assert stamp.tzinfo is None and "." in found["metadata_modified"]  # CKAN's spelling: no zone


def test_an_id_that_only_looks_right_is_not_found(demo: Instance) -> None:
    client = client_of(demo)
    [found] = search(client, q="toilets")["results"]
    forged = found["id"][:-4] + ("0000" if not found["id"].endswith("0000") else "1111")
    response = client.get(f"{API}/package_show?id={forged}")
    assert response.status_code == 404


def test_a_withdrawn_dataset_is_not_listed_and_not_found(instance: Instance, source: Path) -> None:
    harvest(instance, "lambeth")
    client = client_of(instance)
    [found] = search(client, q="toilets")["results"]
    with instance.session() as session:
        dataset_id = session.scalar(select(Dataset.id).where(Dataset.slug == "community-toilets"))
    assert dataset_id is not None
    withdraw_dataset(instance, dataset_id, BASE_TIME)
    assert search(client, q="toilets")["count"] == 0
    assert found["name"] not in client.get(f"{API}/package_list").get_json()["result"]
    response = client.get(f"{API}/package_show?id={found['id']}")
    assert response.status_code == 404
    assert response.get_json()["error"] == {
        "__type": "Not Found Error",
        "message": f"Not found: dataset {found['name']} was withdrawn on 2025-03-01: its source no longer lists it"}


# --- errors, POST ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path, status, error_type", [
    (f"{API}/package_show?id=nobody--nothing", 404, "Not Found Error"),
    (f"{API}/organization_show?id=nobody", 404, "Not Found Error"),
    (f"{API}/package_show", 409, "Validation Error"),
    (f"{API}/package_search?rows=many", 409, "Validation Error"),
    (f"{API}/package_search?start=-1", 409, "Validation Error"),
    (f"{API}/package_search?q=title:(unclosed", 400, "Search Query Error"),
    (f"{API}/package_search?fq=colour:blue", 400, "Search Query Error"),
    (f"{API}/package_search?sort=popularity desc", 400, "Search Query Error"),
    (f"{API}/package_search?fq=metadata_modified:[yesterday TO *]", 400, "Search Query Error"),
    (f"{API}/no_such_action", 400, "Bad Request"),
    (f"{API}/package_create", 403, "Authorization Error"),
    (f"{API}/organization_member_delete", 403, "Authorization Error"),
])
def test_errors_in_ckans_shape(bulk: Instance, path: str, status: int, error_type: str) -> None:
    response = client_of(bulk).get(path)
    body = response.get_json()
    assert response.status_code == status
    assert set(body) == {"help", "success", "error"} and body["success"] is False
    assert body["error"]["__type"] == error_type and body["error"]["message"]
    assert body["help"].startswith("http://localhost/api/3/action/help_show?name=")


def test_a_validation_error_names_its_parameter_as_ckan_does(bulk: Instance) -> None:
    error = client_of(bulk).get(f"{API}/package_search?rows=many").get_json()["error"]
    assert error["rows"] == ["Invalid integer"]


def test_post_json_and_form_answer_like_get(bulk: Instance) -> None:
    client = client_of(bulk)
    params = {"fq": "organization:town-5", "rows": 7, "start": 3, "sort": "name asc"}
    got = client.get(f"{API}/package_search", query_string=params).get_json()
    posted = client.post(f"{API}/package_search", json=params).get_json()
    form = client.post(f"{API}/package_search", data=params).get_json()
    assert got == posted == form and got["result"]["count"] > 0
    name = got["result"]["results"][0]["name"]
    assert client.post(f"{API}/package_show", json={"id": name}).get_json()["result"]["name"] == name
    listed = client.post(f"{API}/package_search", json={**params, "fq": "", "fq_list": ["organization:town-5"]})
    assert listed.get_json() == got
    bad = client.post(f"{API}/package_search", data="[1, 2]", content_type="application/json")
    assert bad.status_code == 400 and bad.get_json()["error"]["__type"] == "Bad Request"


# --- the real ckanapi client against the portal on loopback ---------------------------------------

def serve(app: Flask) -> Iterator[str]:
    """`app` served by waitress on a free loopback port in a thread; yields its URL."""
    with serve_wsgi(app) as url:
        yield url


@pytest.fixture
def served_bulk(bulk: Instance) -> Iterator[str]:
    yield from serve(create_app({"TESTING": True}, instance=bulk))


def test_ckanapi_pages_through_every_dataset(served_bulk: str) -> None:
    with ckanapi.RemoteCKAN(served_bulk, user_agent="lodestar-tests") as ckan:
        first = ckan.action.package_search(q="*:*", rows=1000, start=0, sort="id asc")
        seen = list(first["results"])
        while len(seen) < first["count"]:
            seen += ckan.action.package_search(q="*:*", rows=1000, start=len(seen), sort="id asc")["results"]
        assert sorted(number_of(p) for p in seen) == active_numbers()
        assert ckan.action.package_show(id=seen[42]["id"]) == seen[42]
        assert ckan.action.package_show(id=seen[42]["name"])["id"] == seen[42]["id"]
        town = ckan.action.package_search(fq="organization:town-6", rows=0)["count"]
        assert town == sum(1 for n in active_numbers() if n % 7 == 6)
        assert ckan.action.organization_list() == PUBLISHERS
        assert ckan.action.status_show()["site_url"] == BASE_URL


def test_ckanapi_get_only_client_reads_the_same(served_bulk: str) -> None:
    with ckanapi.RemoteCKAN(served_bulk, get_only=True, user_agent="lodestar-tests") as ckan:
        page = ckan.action.package_search(fq="tags:budget", rows=5, sort="name asc")
        assert page["count"] == sum(1 for n in active_numbers() if n % 5 == 2) and len(page["results"]) == 5


def test_ckanapi_raises_its_own_exceptions(served_bulk: str) -> None:
    with ckanapi.RemoteCKAN(served_bulk, user_agent="lodestar-tests") as ckan:
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id="nobody--nothing")
        with pytest.raises(ckanapi.NotAuthorized):
            ckan.action.package_create(name="mine", title="Mine")
        with pytest.raises(ckanapi.ValidationError):
            ckan.action.package_search(rows="many")
        with pytest.raises(ckanapi.SearchQueryError):
            ckan.action.package_search(q="title:(unclosed")
        with pytest.raises(ckanapi.CKANAPIError):
            ckan.call_action("no_such_action")


# --- one Lodestar harvesting another through the CKAN harvester ----------------------------------

def test_harvest_one_lodestar_instance_from_another_through_the_ckan_harvester(
        demo: Instance, tmp_path: Path) -> None:
    other = open_instance(tmp_path / "b", base_url="http://b.lodestar.test")
    try:
        for url in serve(create_app({"TESTING": True}, instance=demo)):
            add_source(other, "lodestar-a", url, kind="ckan")
            outcome = harvest(other, "lodestar-a")
            assert outcome.datasets_seen == 5 and outcome.status == "finished", outcome.problems
            again = harvest(other, "lodestar-a")
            assert again.datasets_changed == 0
        assert catalogue_of(other) == catalogue_of(demo)
    finally:
        other.close()


def catalogue_of(instance: Instance) -> dict[str, tuple[str, str, frozenset[str]]]:
    """Each active dataset by title: its publisher, description and resource URLs."""
    with instance.session() as session:
        datasets = session.scalars(select(Dataset).where(Dataset.status == "active")).all()
        return {d.title: (d.publisher, d.description, frozenset(r.url for r in d.resources)) for d in datasets}


class Chain:
    """Lodestar A (harvesting the Lambeth catalogue on loopback, served on loopback) and Lodestar B
    (harvesting A through the CKAN harvester), each harvest at a chosen instant."""

    def __init__(self, a: Instance, b: Instance, www: Path, start: datetime) -> None:
        self.a, self.b, self.www, self.start = a, b, www, start

    def harvest_a(self, hours: int) -> None:
        assert harvest(self.a, "lambeth", now=self.start + timedelta(hours=hours)).status == "finished"

    def harvest_b(self, hours: int) -> None:
        outcome = harvest(self.b, "lodestar-a", now=self.start + timedelta(hours=hours))
        assert outcome.status == "finished", outcome.problems

    def b_dataset(self) -> tuple[str, str | None]:
        """B's one dataset: its title and the content hash of its table."""
        with self.b.session() as session:
            [dataset] = session.scalars(select(Dataset)).all()
            [resource] = dataset.resources
            latest = resource.latest_version
            return dataset.title, latest.content_hash if latest else None

    def a_hash(self) -> str:
        with self.a.session() as session:
            latest = session.scalars(select(Resource)).one().latest_version
            assert latest is not None
            return latest.content_hash


@pytest.fixture
def chain(instance: Instance, source: Path, tmp_path: Path) -> Iterator[Chain]:
    """A has harvested Lambeth and serves its CKAN API; B has harvested A once, an hour later."""
    start = datetime.now(timezone.utc)
    other = open_instance(tmp_path / "b", base_url="http://b.lodestar.test")
    try:
        chained = Chain(instance, other, source, start)
        chained.harvest_a(0)
        for url in serve(create_app({"TESTING": True}, instance=instance)):
            add_source(other, "lodestar-a", url, kind="ckan")
            chained.harvest_b(1)
            assert chained.b_dataset() == ("Community toilets", chained.a_hash())
            yield chained
    finally:
        other.close()


def test_a_content_change_reaches_the_next_incremental_harvest_of_b(chain: Chain) -> None:
    table = chain.www / "toilets.csv"
    table.write_bytes(b"\n".join(table.read_bytes().splitlines()[:-1]) + b"\n")  # the last toilet closed
    chain.harvest_a(2)
    chain.harvest_b(3)  # lists what changed since B's last complete run (hour 1), less its skew margin
    assert chain.b_dataset() == ("Community toilets", chain.a_hash())


def test_a_record_only_change_reaches_the_next_incremental_harvest_of_b(chain: Chain) -> None:
    catalogue = chain.www / "catalog.ttl"
    catalogue.write_text(catalogue.read_text(encoding="utf-8").replace("Community toilets", "Public toilets"),
                         encoding="utf-8")
    chain.harvest_a(2)
    chain.harvest_b(3)
    assert chain.b_dataset()[0] == "Public toilets"


def test_names_ckan_would_refuse_are_cut_and_still_found(instance: Instance) -> None:
    long_slug = "a-very-long-dataset-slug-" + "x" * 55
    with instance.session() as session:
        source = Source(name="odd", url="http://odd.example/catalog.ttl", kind="dcat")
        session.add(source)
        session.flush()
        for publisher, slug in [("p" * 80, long_slug), ("p" * 80, long_slug + "-2"), ("Stadt Köln", "bäume")]:
            session.add(Dataset(source_id=source.id, publisher=publisher, slug=slug, identifier=slug + publisher,
                                title=f"{publisher} {slug}", metadata_json={}))
    client = client_of(instance)
    names = client.get(f"{API}/package_list").get_json()["result"]
    assert len(set(names)) == 3
    for name in names:
        assert 2 <= len(name) <= 100 and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-_" for c in name), name
        shown = client.get(f"{API}/package_show?id={name}").get_json()
        assert shown["success"] is True and shown["result"]["name"] == name
    assert "stadt-koln--baume-r3" in names
    assert f"{'p' * 80}--a-very-long-dat-r2" in names  # cut to 100 characters, ending in its row id


def test_packages_have_the_fields_real_ckan_packages_have(demo: Instance) -> None:
    """Every field of the recorded demo.ckan.org packages, bar CKAN 2.7's revision bookkeeping."""
    [found] = search(client_of(demo), q="toilets")["results"]
    bookkeeping = {"revision_id", "creator_user_id"}
    for sample in sorted((SHARED / "samples" / "ckan").glob("demo.ckan.org_*-*.json")):
        recorded = json.loads(sample.read_text(encoding="utf-8"))["result"]
        assert set(recorded) - bookkeeping <= set(found), sample.name
        assert set(recorded["resources"][0]) - bookkeeping <= set(found["resources"][0]), sample.name
        organization = recorded["organization"] or {}  # one recorded package has none
        assert set(organization) - bookkeeping - {"created"} <= set(found["organization"]), sample.name
    searched = json.loads((SHARED / "samples" / "ckan" / "envidat.ch_package_search.json").read_text("utf-8"))
    assert set(searched["result"]) == set(search(client_of(demo), rows=0))
