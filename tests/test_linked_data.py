"""Dereferenceable URIs: 303 from things to their descriptions, content negotiation, term definitions."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib
from flask.testing import FlaskClient

from portal.instance import Instance
from portal.pipeline import harvest
from portal.web import create_app
from tests.conftest import BASE_URL, TOILETS

ROW = f"{BASE_URL}/id/lambeth/community-toilets/1"
NAME = rdflib.URIRef(f"{BASE_URL}/def/lambeth/community-toilets/name")


@pytest.fixture
def client(instance: Instance, source: Path) -> FlaskClient:
    harvest(instance, "lambeth")
    return create_app({"TESTING": True}, instance=instance).test_client()


def first_name() -> str:
    import csv

    with TOILETS.open(encoding="utf-8", newline="") as fh:
        return next(csv.DictReader(fh))["NAME"].strip()


def test_a_thing_redirects_to_its_document(client: FlaskClient) -> None:
    response = client.get("/id/lambeth/community-toilets/1")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/doc/lambeth/community-toilets/1")
    assert client.get("/id/lambeth/community-toilets/1.ttl").headers["Location"].endswith(
        "/doc/lambeth/community-toilets/1.ttl")


@pytest.mark.parametrize("accept, rdflib_format", [
    ("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
    ("application/n-triples", "nt"), ("application/rdf+xml", "xml"),
])
def test_the_document_negotiates_rdf(client: FlaskClient, accept: str, rdflib_format: str) -> None:
    response = client.get("/doc/lambeth/community-toilets/1", headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    graph = rdflib.Graph().parse(data=response.data, format=rdflib_format)
    assert str(graph.value(rdflib.URIRef(ROW), rdflib.URIRef("http://schema.org/name"))) == first_name()


def test_the_document_in_html_links_its_formats(client: FlaskClient) -> None:
    page = client.get("/doc/lambeth/community-toilets/1", headers={"Accept": "text/html"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert first_name().replace("'", "&#39;") in text and "/doc/lambeth/community-toilets/1.ttl" in text


def test_column_terms_are_defined(client: FlaskClient) -> None:
    response = client.get("/def/lambeth/community-toilets/name.ttl")
    graph = rdflib.Graph().parse(data=response.data, format="turtle")
    assert (NAME, rdflib.RDF.type, rdflib.RDF.Property) in graph
    assert str(graph.value(NAME, rdflib.RDFS.label))
    assert str(graph.value(NAME, rdflib.URIRef("http://www.w3.org/ns/csvw#name"))) == "NAME"


def test_unknown_things_are_404(client: FlaskClient) -> None:
    assert client.get("/doc/lambeth/community-toilets/99999.ttl").status_code == 404
    assert client.get("/doc/lambeth/nothing/1", headers={"Accept": "text/html"}).status_code == 404
    # A path trying to break out of the IRI is encoded, not injected into the query.
    assert client.get("/doc/x/y/a%3E%20%3Fp%20%3Fo%20%7D%20%23.ttl").status_code == 404
