"""The portal through Flask's test client, over a real instance harvested from loopback HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.instance import Instance
from portal.pipeline import harvest
from portal.web import create_app
from portal.web.sparql import close_query_pool
from tests.conftest import BASE_URL
from tests.test_migrations import postgres  # noqa: F401  (a fixture)

GRAPH = f"{BASE_URL}/graph/lambeth/community-toilets"


def validation_verdicts(html: str) -> list[str]:
    """The word each resource's "Validation:" line shows on a dataset page ("valid" or "invalid")."""
    return re.findall(r"Validation:\s*<span[^>]*>(\w+)</span>", html)


@pytest.fixture
def app(instance: Instance, source: Path) -> Iterator[Flask]:
    harvest(instance, "lambeth")
    app = create_app({"TESTING": True}, instance=instance)
    yield app
    close_query_pool(app)  # the query workers its /sparql requests started


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_home_and_its_json_twin(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and b"Community toilets" in page.data
    [dataset] = client.get("/datasets.json").get_json()["datasets"]
    assert (dataset["publisher"], dataset["slug"]) == ("lambeth", "community-toilets")
    assert dataset["freshness"]["status"] == "fresh"
    assert dataset["validation"] == {"valid": 1, "invalid": 0}


def test_dataset_page_and_its_json_twin(client: FlaskClient) -> None:
    detail = client.get("/dataset/lambeth/community-toilets.json").get_json()
    assert detail["graph"] == GRAPH
    assert detail["resources"][0]["validation"]["valid"] is True
    page = client.get("/dataset/lambeth/community-toilets")
    assert page.status_code == 200
    assert GRAPH.encode() in page.data
    assert validation_verdicts(page.get_data(as_text=True)) == ["valid"]


def test_one_error_shape_for_json_endpoints(client: FlaskClient) -> None:
    for path in ("/dataset/nobody/nothing.json", "/sparql?query=SELEC"):
        response = client.get(path)
        body = response.get_json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"status", "code", "message"}
        assert body["error"]["status"] == response.status_code
    assert client.get("/dataset/nobody/nothing.json").status_code == 404
    assert client.get("/sparql?query=SELEC").status_code == 400


def test_missing_page_is_html_for_browsers(client: FlaskClient) -> None:
    response = client.get("/dataset/nobody/nothing", headers={"Accept": "text/html"})
    assert response.status_code == 404 and b"no dataset nobody/nothing" in response.data


@pytest.mark.parametrize("accept, media_type", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("*/*", "application/sparql-results+json"),
])
def test_sparql_select_formats(client: FlaskClient, accept: str, media_type: str) -> None:
    response = client.get("/sparql", query_string={"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"},
                          headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_sparql_post_forms(client: FlaskClient) -> None:
    query = f"ASK {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"
    direct = client.post("/sparql", data=query, content_type="application/sparql-query")
    form = client.post("/sparql", data={"query": query})
    assert direct.get_json()["boolean"] is True and form.get_json()["boolean"] is True
    wrong = client.post("/sparql", data=query, content_type="text/plain")
    assert wrong.status_code == 400


def test_sparql_construct_formats(client: FlaskClient) -> None:
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3"
    assert client.get("/sparql", query_string={"query": query}).mimetype == "text/turtle"
    nt = client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/n-triples"})
    assert nt.mimetype == "application/n-triples" and nt.data.count(b" .\n") == 3


def test_sparql_without_query_shows_the_form_to_people(client: FlaskClient) -> None:
    assert b"<form" in client.get("/sparql", headers={"Accept": "text/html"}).data
    assert client.get("/sparql", headers={"Accept": "application/json"}).status_code == 400


def test_catalogue_lists_the_dataset(client: FlaskClient) -> None:
    import rdflib
    from rdflib.namespace import DCAT

    response = client.get("/catalog")
    graph = rdflib.Graph().parse(data=response.data, format="turtle")
    dataset = rdflib.URIRef(f"{BASE_URL}/dataset/lambeth/community-toilets")
    assert (rdflib.URIRef(f"{BASE_URL}/catalog"), DCAT.dataset, dataset) in graph
    assert (dataset, rdflib.RDF.type, DCAT.Dataset) in graph
    assert len(list(graph.objects(dataset, DCAT.distribution))) == 1


@pytest.mark.parametrize("suffix, rdflib_format, media_type", [
    ("ttl", "turtle", "text/turtle"),
    ("jsonld", "json-ld", "application/ld+json"),
    ("nt", "nt", "application/n-triples"),
    ("rdf", "xml", "application/rdf+xml"),
])
def test_dataset_record_twins_and_content_negotiation(client: FlaskClient, suffix: str, rdflib_format: str,
                                                      media_type: str) -> None:
    import rdflib
    from rdflib.namespace import DCAT, DCTERMS

    dataset = rdflib.URIRef(f"{BASE_URL}/dataset/lambeth/community-toilets")
    by_suffix = client.get(f"/dataset/lambeth/community-toilets.{suffix}")
    by_accept = client.get("/dataset/lambeth/community-toilets", headers={"Accept": media_type})
    for response in (by_suffix, by_accept):
        assert response.status_code == 200 and response.mimetype == media_type
        graph = rdflib.Graph().parse(data=response.data, format=rdflib_format)
        assert (dataset, rdflib.RDF.type, DCAT.Dataset) in graph
        assert str(graph.value(dataset, DCTERMS.title)) == "Community toilets"
    assert client.get("/dataset/nobody/nothing.ttl").status_code == 404


@pytest.mark.parametrize("accept", ["application/n-quads", "application/trig", "image/png", "*/*;q=0"])
def test_pages_offer_only_the_document_formats(client: FlaskClient, accept: str) -> None:
    """An RDF format the pages do not offer, or none at all, gets the HTML page rather than an error."""
    response = client.get("/dataset/lambeth/community-toilets", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == "text/html"


def test_sparql_construct_as_json_ld(client: FlaskClient) -> None:
    response = client.get("/sparql", query_string={"query": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3"},
                          headers={"Accept": "application/ld+json"})
    assert response.mimetype == "application/ld+json"
    assert len(response.get_json()) >= 1


def test_issue_summary_groups_by_code_and_field() -> None:
    from portal.listing import issue_summary

    def issue(code: str, row: int, field: str) -> dict[str, object]:
        return {"code": code, "severity": "error", "message": "m",
                "location": {"file": "f.csv", "row": row, "field": field}}

    report = {"issues": [issue("table/type-error", r, "X") for r in (3, 4, 9, 12, 15, 20)]
              + [issue("table/missing-cell", 7, "Y")]}
    assert issue_summary(report) == [
        {"code": "table/type-error", "field": "X", "severity": "error", "count": 6, "rows": [3, 4, 9, 12, 15]},
        {"code": "table/missing-cell", "field": "Y", "severity": "error", "count": 1, "rows": [7]},
    ]
    assert issue_summary(None) == []


@pytest.mark.parametrize("path, headers, rdflib_format, media_type", [
    ("/catalog.rdf", {}, "xml", "application/rdf+xml"),
    ("/catalog.nt", {}, "nt", "application/n-triples"),
    ("/catalog", {"Accept": "application/ld+json"}, "json-ld", "application/ld+json"),
    ("/catalog", {"Accept": "text/html"}, "turtle", "text/turtle"),
])
def test_catalogue_formats(client: FlaskClient, path: str, headers: dict[str, str], rdflib_format: str,
                           media_type: str) -> None:
    import rdflib
    from rdflib.namespace import DCAT

    response = client.get(path, headers=headers)
    assert response.status_code == 200 and response.mimetype == media_type
    graph = rdflib.Graph().parse(data=response.data, format=rdflib_format)
    assert (rdflib.URIRef(f"{BASE_URL}/catalog"), DCAT.dataset,
            rdflib.URIRef(f"{BASE_URL}/dataset/lambeth/community-toilets")) in graph


NUL_REQUESTS = [  # every kind of route: lookups by path, filters, searches, the CKAN API, forms and JSON
    ("GET", "/dataset/{bad}/x", None), ("GET", "/dataset/lambeth/{bad}.json", None),
    ("GET", "/dataset/lambeth/{bad}.ttl", None), ("GET", "/publisher/{bad}/scorecard", None),
    ("GET", "/publisher/{bad}/scorecard.json", None), ("GET", "/alert/{bad}", None), ("GET", "/source/{bad}", None),
    ("GET", "/source/{bad}.json", None), ("GET", "/alerts.atom?publisher={bad}", None),
    ("GET", "/api/3/action/package_search?q={bad}", None), ("GET", "/api/3/action/package_search?fq=tags:{bad}", None),
    ("GET", "/api/3/action/organization_show?id={bad}", None), ("GET", "/api/3/action/package_show?id={bad}", None),
    ("GET", "/?q={bad}", None), ("GET", "/sparql?query={bad}", None),
    ("POST", "/api/3/action/package_search", {"q": "\x00"}), ("POST", "/api/3/action/package_show", {"id": "a\x00"}),
    ("POST", "/subscribe/webhook", {"url": "http://127.0.0.1:9/h", "description": "a\x00"}),
]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_nul_anywhere_in_a_request_is_a_400(database: str, tmp_path: Path, file_server: tuple[str, Path],
                                            request: pytest.FixtureRequest) -> None:
    from portal.config import load_settings
    from portal.pipeline import add_source
    from tests.conftest import serve_lambeth
    from tests.test_migrations import postgres_database

    values = {"instance": str(tmp_path / "i"), "base_url": BASE_URL, "allow_private_addresses": True}
    if database == "postgresql":  # whose queries fail on NUL
        values["database_url"] = postgres_database(request.getfixturevalue("postgres"), "lodestar_nul")
    with Instance(load_settings(values, environ={})) as instance:
        add_source(instance, "lambeth", serve_lambeth(file_server))
        harvest(instance, "lambeth")
        client = create_app(instance=instance).test_client()
        for bad in ("%00", "a%00b"):
            for method, path, body in NUL_REQUESTS:
                url = path.replace("{bad}", bad)
                answer = client.open(url, method=method, json=body, headers={"Accept": "application/json"})
                assert answer.status_code == 400, (url, answer.status_code)
                assert "NUL" in answer.get_data(as_text=True), url
        form = client.post("/sparql", data={"query": "ASK {}\x00"}, headers={"Accept": "application/json"})
        assert form.status_code == 400
        assert client.get("/dataset/lambeth/community-toilets.json").status_code == 200  # the rest still works
